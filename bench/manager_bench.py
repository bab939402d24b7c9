# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Step-manager workload: ocpx.CheckpointManager vs Orbax's, side by side.

    .venv/bin/python bench/manager_bench.py            # full sizes
    .venv/bin/python bench/manager_bench.py --quick    # smoke run

Cases (each run in a fresh subprocess per library, local disk, warm cache):
  list     2,000 committed steps (each a real tiny checkpoint): time of a
           step listing (`find_all` of the standard name format), of
           `CheckpointManager(dir)` init, and of `reload()`; min of 3 each.
  delete   `save()` blocking time while an old, large step (many files) is
           being deleted by retention (max_to_keep=1), against the same save
           with nothing to delete; min of 3 fresh directories.
  rss      RSS after 100 async saves of a 16 MiB tree (max_to_keep=2),
           relative to the RSS after the first save.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
REPEATS = 3  # timings in the list case: min (and median) of this many
REPO = HERE.parent


def _lib(name):
  if name == "ocpx":
    import ocpx as ocp  # pylint: disable=g-import-not-at-top
  else:
    import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
  return ocp


def _rss_mib() -> float:
  with open("/proc/self/status") as f:
    for line in f:
      if line.startswith("VmRSS:"):
        return int(line.split()[1]) / 1024
  return float("nan")


def case_list(lib, root: pathlib.Path, n: int) -> dict:
  ocp = _lib(lib)
  template = root / "template"
  steps = root / "steps"
  if not steps.exists():
    import numpy as np  # pylint: disable=g-import-not-at-top
    with ocp.CheckpointManager(template) as m:
      m.save(0, args=ocp.args.StandardSave({"x": np.arange(4)}))
    steps.mkdir()
    for s in range(n):
      shutil.copytree(template / "0", steps / str(s))
  out = {}
  lists, inits, reloads = [], [], []
  for _ in range(REPEATS):
    t = time.perf_counter()
    found = list(ocp.step.standard_name_format().find_all(steps))
    lists.append(time.perf_counter() - t)
    assert len(found) == n, len(found)
  for _ in range(REPEATS):
    t = time.perf_counter()
    m = ocp.CheckpointManager(steps, options=ocp.CheckpointManagerOptions(
        read_only=True))
    inits.append(time.perf_counter() - t)
    assert len(m.all_steps()) == n
    m.close()
  m = ocp.CheckpointManager(steps, options=ocp.CheckpointManagerOptions(
      read_only=True))
  for _ in range(REPEATS):
    t = time.perf_counter()
    m.reload()
    reloads.append(time.perf_counter() - t)
  t = time.perf_counter()
  latest = m.latest_step()
  out["latest_s"] = time.perf_counter() - t
  assert latest == n - 1
  # Min of REPEATS (the machine is shared); the median is kept in the JSON.
  for key, vals in (("list_s", lists), ("init_s", inits),
                    ("reload_s", reloads)):
    out[key] = min(vals)
    out[key.replace("_s", "_median_s")] = sorted(vals)[len(vals) // 2]
  m.close()
  return out


def case_delete(lib, root: pathlib.Path, files: int) -> dict:
  import numpy as np  # pylint: disable=g-import-not-at-top
  ocp = _lib(lib)
  tree = {"x": np.ones((256, 256), np.float32)}
  out = {}
  for label, junk in (("nothing_to_delete", 0), ("deleting_old_step", files)):
    rounds = []
    for r in range(REPEATS):
      d = root / f"{label}-{r}"
      o = ocp.CheckpointManagerOptions(max_to_keep=1)
      with ocp.CheckpointManager(d, options=o) as m:
        m.save(0, args=ocp.args.StandardSave(tree))
        m.wait_until_finished()
        big = d / "0" / "extra_files"
        big.mkdir()
        for i in range(junk):
          (big / str(i)).write_bytes(b"x" * 64)
        blocking = []
        for s in (1, 2, 3):
          t = time.perf_counter()
          m.save(s, args=ocp.args.StandardSave(tree))
          blocking.append(time.perf_counter() - t)
        m.wait_until_finished()
      rounds.append(blocking)
    # save(1) starts the old step's deletion after its commit; save(2) is the
    # one a training loop feels (it waits for the previous save first).
    # Min (and median) over REPEATS fresh directories.
    out[label] = {}
    for k in range(3):
      vals = sorted(b[k] for b in rounds)
      out[label][f"save_{k + 1}_s"] = vals[0]
      out[label][f"save_{k + 1}_median_s"] = vals[len(vals) // 2]
  return out


def case_rss(lib, root: pathlib.Path, saves: int) -> dict:
  import numpy as np  # pylint: disable=g-import-not-at-top
  ocp = _lib(lib)
  tree = {f"l{i}": np.random.default_rng(i).standard_normal(
      (1024, 256)).astype(np.float32) for i in range(16)}  # 16 MiB
  o = ocp.CheckpointManagerOptions(max_to_keep=2)
  rss = []
  with ocp.CheckpointManager(root / "rss", options=o) as m:
    for s in range(saves):
      m.save(s, args=ocp.args.StandardSave(tree))
      if s == 0:
        m.wait_until_finished()
        rss.append(_rss_mib())
    m.wait_until_finished()
    rss.append(_rss_mib())
  return {"rss_after_first_mib": rss[0], "rss_after_all_mib": rss[1],
          "growth_mib": rss[1] - rss[0]}


def _child(args):
  root = pathlib.Path(args.dir)
  fn = {"list": lambda: case_list(args.lib, root, args.steps),
        "delete": lambda: case_delete(args.lib, root, args.files),
        "rss": lambda: case_rss(args.lib, root, args.saves)}[args.case]
  print(json.dumps(fn()))


def _run(lib, case, tmp, extra) -> dict:
  env = dict(os.environ, PYTHONPATH=str(REPO / "python"), JAX_PLATFORMS="cpu")
  cmd = [sys.executable, __file__, "--child", "--lib", lib, "--case", case,
         "--dir", tmp, *extra]
  r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                     timeout=3600)
  if r.returncode != 0:
    raise RuntimeError(f"{lib} {case} failed:\n{r.stderr[-3000:]}")
  return json.loads(r.stdout.strip().splitlines()[-1])


def main():
  ap = argparse.ArgumentParser(description=__doc__,
                               formatter_class=argparse.RawTextHelpFormatter)
  ap.add_argument("--quick", action="store_true")
  ap.add_argument("--child", action="store_true")
  ap.add_argument("--lib", default="ocpx")
  ap.add_argument("--case", default="list")
  ap.add_argument("--dir", default=None)
  ap.add_argument("--steps", type=int, default=2000)
  ap.add_argument("--files", type=int, default=20000)
  ap.add_argument("--saves", type=int, default=100)
  ap.add_argument("--tmp", default="/tmp")
  ap.add_argument("--out", default=None, help="write results JSON here")
  args = ap.parse_args()
  if args.child:
    _child(args)
    return
  if args.quick:
    args.steps, args.files, args.saves = 200, 2000, 10
  extra = ["--steps", str(args.steps), "--files", str(args.files),
           "--saves", str(args.saves)]
  results = {}
  for case in ("list", "delete", "rss"):
    shared = tempfile.mkdtemp(prefix=f"mgrbench-{case}-", dir=args.tmp)
    try:
      for lib in ("ocpx", "orbax"):
        tmp = os.path.join(shared, lib) if case != "list" else shared
        if case == "list":
          # Both libraries list the same directory (written by ocpx once).
          pass
        results.setdefault(case, {})[lib] = _run(lib, case, tmp, extra)
        print(case, lib, json.dumps(results[case][lib]), flush=True)
    finally:
      shutil.rmtree(shared, ignore_errors=True)
  print()
  print(report(results, args))
  if args.out:
    pathlib.Path(args.out).write_text(json.dumps(results, indent=1))


def report(results, args) -> str:
  def ms(d, k):
    # "min (median)" where the case repeats, else the single figure.
    med = d.get(k.replace("_s", "_median_s"))
    text = f"{d[k] * 1e3:.1f} ms"
    return text if med is None else f"{text} ({med * 1e3:.1f})"
  rows = ["| measure | ocpx | orbax 0.12.8 |", "|---|---|---|"]
  lo, lx = results["list"]["ocpx"], results["list"]["orbax"]
  for k, label in (("list_s", f"list {args.steps} steps (find_all)"),
                   ("init_s", f"CheckpointManager init, {args.steps} steps"),
                   ("reload_s", "reload()"), ("latest_s", "latest_step()")):
    rows.append(f"| {label} | {ms(lo, k)} | {ms(lx, k)} |")
  do, dx = results["delete"]["ocpx"], results["delete"]["orbax"]
  for label, what in (("nothing_to_delete", "nothing to delete"),
                      ("deleting_old_step",
                       f"deleting an old step of {args.files} files")):
    for k in ("save_1_s", "save_2_s", "save_3_s"):
      rows.append(f"| save blocking, {k[:6]}, {what} | "
                  f"{ms(do[label], k)} | {ms(dx[label], k)} |")
  ro, rx = results["rss"]["ocpx"], results["rss"]["orbax"]
  rows.append(f"| RSS after 1 save / after {args.saves} async saves "
              f"(16 MiB tree) | {ro['rss_after_first_mib']:.0f} / "
              f"{ro['rss_after_all_mib']:.0f} MiB | "
              f"{rx['rss_after_first_mib']:.0f} / "
              f"{rx['rss_after_all_mib']:.0f} MiB |")
  return "\n".join(rows)

if __name__ == "__main__":
  main()
