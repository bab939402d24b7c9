# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""kill -9 during save, save_async and overwrite.

A "zygote" process imports ocpx and JAX once; each scenario runs in a child
forked from it (before any JAX backend or thread exists in the zygote, so the
fork is safe), which the test kills with SIGKILL:

* at a random time (`run_random`), or
* exactly before or after the n-th call of one of the commit steps
  (`run_step`): every rename/exchange of a directory, every durable file
  write, the tree fsync and the removal of the old checkpoint.

The child appends "done <version>" to a progress file after each save, so
the test knows which versions must have survived.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from typing import Optional

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
# The directory holding the `ocpx` package this test process imports (the
# source tree with PYTHONPATH=python, or site-packages after `pip install .`):
# child processes import the same one.
OCPX_ROOT = pathlib.Path(
    importlib.util.find_spec("ocpx").origin).resolve().parent.parent

ZYGOTE = r"""
import json, os, sys
sys.path[:0] = [{python!r}, {tests!r}]
os.environ["JAX_PLATFORMS"] = "cpu"
os.environ.pop("XLA_FLAGS", None)
import jax, jax.numpy, numpy
import ocpx
from ocpx._src import path as path_lib, recovery, saving
from reliability import trees

STEPS = {{
    "rename": (os, "rename"),
    "exchange": (recovery, "_exchange"),
    "remove_old": (recovery, "remove_tree"),
    "write_file": (path_lib, "write_file_durably"),
    "fsync_tree": (path_lib, "fsync_tree"),
}}

def scenario(req):
  log = os.open(req["progress"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
  def note(s):
    os.write(log, (s + "\n").encode())
  if req.get("fallback"):
    recovery._exchange = lambda a, b: False  # the two-rename commit
  armed = [False]
  calls = [0]
  die = req.get("die")  # {{"n": k, "when": "before"|"after", "steps": [...]}}
  def wrap(name, fn):
    def wrapped(*a, **k):
      counted = die is not None and name in die.get("steps", STEPS)
      if armed[0] and counted:
        calls[0] += 1
        if calls[0] == die["n"] and die["when"] == "before":
          note(f"kill before {{name}}")
          os.kill(os.getpid(), 9)
      out = fn(*a, **k)
      if armed[0] and counted and calls[0] == die["n"] and die["when"] == "after":
        note(f"kill after {{name}}")
        os.kill(os.getpid(), 9)
      return out
    return wrapped
  for name, (mod, attr) in STEPS.items():
    setattr(mod, attr, wrap(name, getattr(mod, attr)))
  root = req["root"]
  for v in range(req["first"], req["first"] + req["count"]):
    armed[0] = v >= req.get("arm_at", 0)
    tree = trees.make_tree(v)
    if req["mode"] == "overwrite":
      ocpx.save(os.path.join(root, "ck"), tree, overwrite=True)
    elif req["mode"] == "save":
      ocpx.save(os.path.join(root, f"ck{{v}}"), tree)
    else:
      ocpx.save_async(os.path.join(root, f"ck{{v}}"), tree).result()
    note(f"done {{v}}")
  note("finished")

import signal
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children reap themselves
print("ready", flush=True)
for line in sys.stdin:
  req = json.loads(line)
  pid = os.fork()
  if pid == 0:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    code = 0
    try:
      scenario(req)
    except BaseException as e:
      with open(req["progress"], "a") as f:
        f.write(f"error {{type(e).__name__}}: {{e}}\n")
      code = 1
    os._exit(code)
  print(pid, flush=True)
"""


class Zygote:
  """Forks scenario children from one pre-imported process."""

  def __init__(self):
    env = dict(os.environ)
    self.proc = subprocess.Popen(
        [sys.executable, "-c", ZYGOTE.format(python=str(OCPX_ROOT),
                                             tests=str(REPO / "tests"))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    line = self.proc.stdout.readline()
    if line.strip() != "ready":
      self.close()
      raise RuntimeError("kill zygote did not start")

  def spawn(self, req: dict) -> int:
    self.proc.stdin.write(json.dumps(req) + "\n")
    self.proc.stdin.flush()
    return int(self.proc.stdout.readline())

  def close(self):
    if self.proc.poll() is None:
      self.proc.stdin.close()
      self.proc.wait(30)


def wait_child(pid: int, timeout: float) -> Optional[int]:
  """Waits for a (grand)child of the zygote to be gone; we are not its
  parent, so poll /proc.  The zygote ignores SIGCHLD, so the kernel reaps
  the child once its last thread has exited (a leader thread shown as a
  zombie may still have threads holding files and locks).  Returns None on
  timeout."""
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline:
    if not os.path.exists(f"/proc/{pid}"):
      return 0
    time.sleep(0.01)
  return None


def kill(pid: int) -> None:
  try:
    os.kill(pid, signal.SIGKILL)
  except ProcessLookupError:
    pass


def progress(path: pathlib.Path) -> tuple[int, list[str]]:
  """(last version reported done, all lines)."""
  lines = path.read_text().splitlines() if path.exists() else []
  done = [int(l.split()[1]) for l in lines if l.startswith("done ")]
  return (done[-1] if done else -1), lines


def leftovers(root: pathlib.Path) -> list[str]:
  from ocpx._src import path as path_lib  # pylint: disable=g-import-not-at-top
  from ocpx._src import recovery  # pylint: disable=g-import-not-at-top
  return sorted(n for n in os.listdir(root)
                if path_lib.TMP_SUFFIX in n or recovery.OLD_MARKER in n)
