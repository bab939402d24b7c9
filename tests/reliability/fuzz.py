# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Corruption fuzzer: damage one file of a saved checkpoint, load it in a
worker process and classify what happened.

Every case is named by (variant, seed): the seed picks the file and the
mutation, so a failing case is replayed exactly (see REGRESSIONS in
test_reliability.py, where failures found once are kept).

The worker runs cases one after another (importing JAX once); the parent
treats a worker that dies by a signal as a crash and one that does not answer
within the per-case timeout as a hang, restarting it either way.  Before each
case the worker resets its peak RSS (/proc/self/clear_refs) and reports how
far the case raised it.
"""

from __future__ import annotations

import collections
import dataclasses
import importlib.util
import json
import os
import pathlib
import random
import select
import shutil
import subprocess
import sys
import time
from typing import Any, Optional

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
# The directory holding the `ocpx` package this test process imports (the
# source tree with PYTHONPATH=python, or site-packages after `pip install .`):
# child processes import the same one.
OCPX_ROOT = pathlib.Path(
    importlib.util.find_spec("ocpx").origin).resolve().parent.parent

# Values a hostile or damaged JSON file may hold where a number, string or
# list is expected.
HOSTILE_NUMBERS = [0, -1, 1, 2**31, 2**31 - 1, 2**32, 2**53, 2**62, 2**63,
                   2**64, -2**63, 1.5, 1e308]
HOSTILE_VALUES = HOSTILE_NUMBERS + [
    None, True, False, "", "x" * 300, "\udcff" if False else "\u00ff",
    [], {}, [2**32, 2**32], [2**31] * 3, [0], [0, 0], [-1], [[1]], {"a": 1},
    "float32", "uint32", "int64", "bfloat16", "little", "big", ["x"],
]


def _paths(doc: Any, prefix=()) -> list[tuple]:
  """Every path (key/index tuple) into a JSON document."""
  out = [prefix]
  if isinstance(doc, dict):
    for k, v in doc.items():
      out.extend(_paths(v, prefix + (k,)))
  elif isinstance(doc, list):
    for i, v in enumerate(doc):
      out.extend(_paths(v, prefix + (i,)))
  return out


def _set(doc: Any, path: tuple, value: Any) -> Any:
  if not path:
    return value
  parent = doc
  for p in path[:-1]:
    parent = parent[p]
  parent[path[-1]] = value
  return doc


def _delete(doc: Any, path: tuple) -> Any:
  if not path:
    return {}
  parent = doc
  for p in path[:-1]:
    parent = parent[p]
  del parent[path[-1]]
  return doc


def mutate_json(rng: random.Random, data: bytes) -> tuple[bytes, str]:
  """A structural mutation of a JSON file: a value replaced by one of another
  type or a hostile size, a key removed, or the document nested deeply."""
  doc = json.loads(data)
  op = rng.choice(["replace", "replace", "replace", "delete", "deep",
                   "grow"])
  if op == "deep":
    depth = rng.choice([600, 5000, 200_000])
    return (b"[" * depth + b"]" * depth), f"json:deep{depth}"
  paths = _paths(doc)
  path = rng.choice(paths)
  if op == "delete" and path:
    return json.dumps(_delete(doc, path)).encode(), f"json:delete{path!r}"
  if op == "grow":
    # Scale one number up to a hostile size.
    nums = [p for p in paths if p and isinstance(_get(doc, p), int)
            and not isinstance(_get(doc, p), bool)]
    if nums:
      p = rng.choice(nums)
      v = rng.choice([2**31, 2**32, 2**40, 2**53, 2**62])
      return json.dumps(_set(doc, p, v)).encode(), f"json:grow{p!r}={v}"
  value = rng.choice(HOSTILE_VALUES)
  return (json.dumps(_set(doc, path, value)).encode(),
          f"json:replace{path!r}={value!r:.40}")


def _get(doc, path):
  for p in path:
    doc = doc[p]
  return doc


def mutate_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
  """A byte-level mutation."""
  n = len(data)
  op = rng.choice(["flip", "flip", "set", "truncate", "insert", "zero",
                   "empty", "garbage"])
  if n == 0:
    op = rng.choice(["insert", "garbage"])
  if op == "flip":
    i = rng.randrange(n)
    b = bytearray(data)
    b[i] ^= 1 << rng.randrange(8)
    return bytes(b), f"flip@{i}"
  if op == "set":
    i = rng.randrange(n)
    b = bytearray(data)
    b[i] = rng.choice([0x00, 0xff, 0x7f, 0x80, ord("9"), ord("[")])
    return bytes(b), f"set@{i}"
  if op == "truncate":
    i = rng.randrange(n)
    return data[:i], f"truncate@{i}"
  if op == "insert":
    i = rng.randrange(n + 1)
    junk = bytes(rng.randrange(256) for _ in range(rng.choice([1, 4, 64])))
    return data[:i] + junk + data[i:], f"insert@{i}+{len(junk)}"
  if op == "zero":
    i = rng.randrange(n)
    k = min(n - i, rng.choice([1, 8, 64, 4096]))
    return data[:i] + bytes(k) + data[i + k:], f"zero@{i}+{k}"
  if op == "empty":
    return b"", "empty"
  junk = bytes(rng.randrange(256) for _ in range(rng.choice([16, 512])))
  return junk, "garbage"


def is_data(rel: str) -> bool:
  """Files whose bytes are (or contain) the saved values themselves: chunk
  data (OCDBT data files, zarr chunk files; a scalar's chunk is named "c")
  and the string leaves in `_strings.json`.  Without checksums a change
  there can be another valid value, which no reader can tell from the truth;
  those outcomes are counted separately ("undetected-data")."""
  parts = rel.split("/")
  return ("d" in parts[:-1] or "c" in parts[:-1] or parts[-1] == "c"
          or parts[-1] == "_strings.json")


def mutate(rng: random.Random, ckpt: pathlib.Path) -> tuple[str, str]:
  """Applies one seeded mutation to one file of `ckpt`; returns
  (relative file, description)."""
  files = sorted(str(p.relative_to(ckpt)) for p in ckpt.rglob("*")
                 if p.is_file())
  rel = rng.choice(files)
  f = ckpt / rel
  if rng.random() < 0.05:
    f.unlink()
    return rel, "delete-file"
  data = f.read_bytes()
  desc = None
  if rng.random() < 0.6:
    try:
      new, desc = mutate_json(rng, data)
    except (ValueError, UnicodeDecodeError):
      desc = None
  if desc is None:
    new, desc = mutate_bytes(rng, data)
  f.write_bytes(new)
  return rel, desc


# ---------------------------------------------------------------------------
# Worker side

WORKER = r"""
import json, os, sys, traceback
sys.path[:0] = [{python!r}, {tests!r}]
os.environ.setdefault("JAX_PLATFORMS", "cpu")
import numpy as np
import ocpx
from ocpx._src import cli
from reliability import trees

def hwm():
  with open("/proc/self/status") as f:
    for line in f:
      if line.startswith("VmHWM:"):
        return int(line.split()[1]) * 1024
  return 0

def rss():
  with open("/proc/self/status") as f:
    for line in f:
      if line.startswith("VmRSS:"):
        return int(line.split()[1]) * 1024
  return 0

reference = trees.make_tree(0)
print(json.dumps({{"ready": True}}), flush=True)
for line in sys.stdin:
  req = json.loads(line)
  path, op = req["path"], req["op"]
  try:
    with open("/proc/self/clear_refs", "w") as f:
      f.write("5")
  except OSError:
    pass
  base = rss()
  out = {{"case": req["case"]}}
  try:
    if op == "load":
      got = ocpx.load(path)
    elif op == "load_abstract":
      got = ocpx.load(path, trees.make_tree(0))
    elif op == "verify":
      import contextlib, io
      buf = io.StringIO()
      with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        # verify reads slabs of up to --buffer-bytes: that is the data it
        # requests, so the memory rule is judged against a small slab.
        rc = cli.main(["verify", "--buffer-bytes", str(4 << 20), path])
      got = None
      out["verify_rc"] = rc
      text = buf.getvalue()
      out["message"] = text if len(text) < 1200 else text[:600] + text[-600:]
    if op != "verify":
      out["outcome"] = "equal" if trees.trees_equal(got, reference) else "different"
    else:
      out["outcome"] = "verify-ok" if rc == 0 else "verify-failed"
    del got
  except BaseException as e:
    out["outcome"] = "error"
    out["type"] = type(e).__name__
    out["mro"] = [c.__name__ for c in type(e).__mro__]
    text = str(e)
    out["message"] = text if len(text) < 1200 else text[:600] + text[-600:]
    out["traceback"] = traceback.format_exc()[-1500:]
  out["hwm_delta"] = max(0, hwm() - base)
  print(json.dumps(out), flush=True)
"""


class Worker:
  """A long-lived fuzz worker process."""

  def __init__(self, as_limit: Optional[int] = None):
    script = WORKER.format(python=str(OCPX_ROOT),
                           tests=str(REPO / "tests"))
    if as_limit:
      # A ceiling on address space, so that a runaway allocation fails in
      # the worker rather than taking the machine down.
      script = (f"import resource\nresource.setrlimit(resource.RLIMIT_AS, "
                f"({int(as_limit)}, {int(as_limit)}))\n" + script)

    env = dict(os.environ)
    env["JAX_PLATFORMS"] = "cpu"
    env.pop("XLA_FLAGS", None)
    self.proc = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    ready = self._read(120)
    if ready is None or not ready.get("ready"):
      err = self.proc.stderr.read() if self.proc.poll() is not None else ""
      self.close()
      raise RuntimeError(f"fuzz worker did not start: {err[-2000:]}")

  def _read(self, timeout: float) -> Optional[dict]:
    deadline = time.monotonic() + timeout
    while True:
      left = deadline - time.monotonic()
      if left <= 0:
        return None
      r, _, _ = select.select([self.proc.stdout], [], [], left)
      if not r:
        return None
      line = self.proc.stdout.readline()
      if not line:
        return None  # died
      try:
        return json.loads(line)
      except ValueError:
        continue  # stray output

  def run(self, case: str, path: str, op: str, timeout: float) -> dict:
    try:
      self.proc.stdin.write(json.dumps({"case": case, "path": path,
                                        "op": op}) + "\n")
      self.proc.stdin.flush()
    except BrokenPipeError:
      pass
    got = self._read(timeout)
    if got is not None:
      return got
    if self.proc.poll() is None:
      self.proc.kill()
      self.proc.wait()
      return {"case": case, "outcome": "hang"}
    rc = self.proc.returncode
    err = self.proc.stderr.read()[-2000:]
    return {"case": case, "outcome": "crash", "returncode": rc,
            "message": err}

  @property
  def alive(self) -> bool:
    return self.proc.poll() is None

  def close(self):
    if self.proc.poll() is None:
      self.proc.kill()
    self.proc.wait()


@dataclasses.dataclass
class Result:
  variant: str
  seed: int
  op: str
  file: str
  mutation: str
  outcome: str
  verdict: str  # "ok" or a failure kind
  detail: dict


def judge(r: dict, ckpt: str, rel: str, mutation: str, requested: int,
          mem_slack: int) -> str:
  """"ok", or why the case fails the suite's rules."""
  outcome = r["outcome"]
  if outcome in ("crash", "hang"):
    return outcome
  if r.get("hwm_delta", 0) > 2 * requested + mem_slack:
    return "memory"
  if outcome == "different":
    if is_data(rel):
      return "undetected-data"
    if rel.endswith(("zarr.json", ".zarray")) and any(
        f"'{k}'{tail}=" in mutation for k in ("endian", "data_type")
        for tail in (")", ",)")):
      # Another valid byte order or data type of the same size describes
      # the same bytes differently; nothing else in the format records
      # either, so no reader can tell (Orbax and TensorStore neither).
      return "undetectable-metadata"
    if rel.endswith("_METADATA") and "delete-file" in mutation:
      # Loading without _METADATA rebuilds the tree from the stored arrays
      # and logs a warning (a documented fallback, not a silent one).
      return "metadata-rebuilt"
    return "silent-wrong"
  if outcome == "verify-ok":
    return "ok"  # verify cannot know the true values; loads are judged
  if outcome == "verify-failed":
    return "ok" if ckpt in r.get("message", "") or "CORRUPT" in r.get(
        "message", "") else "unclear-error"
  if outcome == "error":
    mro = r.get("mro", [])
    if not ({"ValueError", "OSError", "KeyError", "MemoryError",
             "NotImplementedError"} & set(mro)):
      return "wrong-type"
    if ckpt not in r.get("message", ""):
      return "unnamed-path"
  return "ok"


def run_cases(tmp: pathlib.Path, variants: list[str], seeds: list[int],
              **kwargs) -> list[Result]:
  """Runs every (variant, seed) case; returns one Result per case."""
  return run_pairs(tmp, [(v, s) for v in variants for s in seeds], **kwargs)


def run_pairs(tmp: pathlib.Path, pairs: list[tuple[str, int]], *,
              ops=("load", "load_abstract", "verify"), timeout: float = 60.0,
              mem_slack: int = 64 << 20,
              as_limit: Optional[int] = 16 << 30) -> list[Result]:
  """Runs the (variant, seed) cases `pairs` in one worker."""
  variants = sorted({v for v, _ in pairs})
  from reliability import trees  # pylint: disable=g-import-not-at-top
  pristine = {}
  for v in variants:
    p = tmp / f"pristine-{v}"
    if not p.exists():
      trees.save_variant(p, v)
    pristine[v] = p
  requested = trees.data_bytes(trees.make_tree(0))
  worker = Worker(as_limit)
  results = []
  try:
    for variant, seed in pairs:
      rng = random.Random(f"{variant}:{seed}")
      case = tmp / f"case-{variant}-{seed}"
      shutil.copytree(pristine[variant], case)
      rel, desc = mutate(rng, case)
      op = ops[seed % len(ops)]
      if not worker.alive:
        worker = Worker(as_limit)
      r = worker.run(f"{variant}:{seed}", str(case), op, timeout)
      verdict = judge(r, str(case), rel, desc, requested, mem_slack)
      results.append(Result(variant, seed, op, rel, desc, r["outcome"],
                            verdict, r))
      if r["outcome"] in ("crash", "hang"):
        worker.close()
        worker = Worker(as_limit)
      shutil.rmtree(case, ignore_errors=True)
  finally:
    worker.close()
  return results


def summarize(results: list[Result]) -> dict:
  return dict(collections.Counter(r.verdict for r in results))
