"""ocpx vs orbax-checkpoint 0.12.8 (v1 API) vs raw I/O, in one run.

  tools/devbuild bench
  .venv/bin/python bench/run.py --out bench/results.md            # full
  .venv/bin/python bench/run.py --quick --out /tmp/quick.md       # minutes

Every measurement is a fresh process (bench/worker.py); see bench/README.md
for the method.  Writes the markdown report to --out and the raw
measurements next to it (same name, .json).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import workloads  # noqa: E402  (numpy only; no jax in this process)

LIBS = ("ocpx", "orbax", "raw", "raw1")
# The baselines (bench/worker.py): `raw` one file per shard, `raw1` one file.
RAW_LIBS = ("raw", "raw1")
# The v0 API (StandardCheckpointer) of each library: `--libs ocpx_v0,orbax_v0`.
V0_LIBS = ("ocpx_v0", "orbax_v0")
ALL_LIBS = LIBS + V0_LIBS
MiB = 1 << 20
# The memory-limits case (`--ops ...,limits`): ocpx with
# MemoryOptions(write_concurrent_bytes=read_concurrent_bytes=--limit-mib),
# on these workloads.
LIMIT_WORKLOADS = ("big", "sharded")
LIMIT_LIBS = ("ocpx",)


def log(msg):
  print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Runner:

  def __init__(self, args):
    self.args = args
    self.results: list[dict] = []
    self.tmp = tempfile.mkdtemp(prefix="ocpx-bench-", dir=args.tmp)
    self.env = dict(os.environ)
    pp = [args.pythonpath] if args.pythonpath else []
    self.env["PYTHONPATH"] = os.pathsep.join(pp + [HERE])
    self.env["JAX_PLATFORMS"] = "cpu"
    self.env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

  def worker(self, lib, workload, op, path, *, cold=False, verify=False,
             keep_cache=False, limit=None):
    env = dict(self.env)
    n = workloads.DEVICES.get(workload, 1)
    if n > 1:
      env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") +
                          f" --xla_force_host_platform_device_count={n}")
    scratch = os.path.join(self.tmp, "scratch")
    os.makedirs(scratch, exist_ok=True)
    cmd = [sys.executable, os.path.join(HERE, "worker.py"), "--lib", lib,
           "--workload", workload, "--op", op, "--path", path,
           "--scratch", scratch]
    if cold:
      cmd.append("--cold")
    if verify:
      cmd.append("--verify")
    if keep_cache:
      cmd.append("--keep-cache")
    if limit:
      cmd += ["--limit", str(limit)]
    if op.startswith("save"):
      # Flush what the harness itself left dirty (the previous repetition's
      # deleted checkpoint, the scratch directory) so that a save's own
      # syncs do not commit it: every library starts from a clean disk, as
      # every load starts from a dropped cache.
      os.sync()
    t = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True,
                       timeout=self.args.timeout)
    wall = time.perf_counter() - t
    shutil.rmtree(scratch, ignore_errors=True)
    res = None
    for line in reversed(p.stdout.splitlines()):
      if line.startswith("{"):
        res = json.loads(line)
        break
    if p.returncode != 0 or res is None:
      res = {"lib": lib, "workload": workload, "op": op, "cold": cold,
             "keep_cache": keep_cache,
             "error": (p.stderr or p.stdout)[-3000:]}
      log(f"  FAILED {lib} {workload} {op}: {res['error'][-600:]}")
    else:
      short = {k: (round(v, 4) if isinstance(v, float) else v)
               for k, v in res.items()
               if k in ("time_s", "return_s", "peak_rss", "files",
                        "import_lib", "verified")}
      log(f"  {lib:5s} {workload:7s} {op:13s} {short} (process {wall:.1f}s)")
    self.results.append(res)
    return res

  def floor(self, workload, op, cmd):
    """Runs a floor script (bench/layout_floor.py, format_floor.py) and
    records its JSON line as the result of lib "floor"."""
    p = subprocess.run([sys.executable] + cmd, env=self.env,
                       capture_output=True, text=True,
                       timeout=self.args.timeout)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if p.returncode != 0 or not lines:
      res = {"lib": "floor", "workload": workload, "op": op,
             "error": (p.stderr or p.stdout)[-3000:]}
      log(f"  FAILED floor {workload} {op}: {res['error'][-600:]}")
    else:
      res = {"lib": "floor", "workload": workload, "op": op,
             **json.loads(lines[-1])}
      log(f"  floor {workload:7s} {op:13s} {lines[-1][:200]}")
    self.results.append(res)

  def case(self, workload, lib):
    reps = self.args.reps
    # The memory-limits case: each save / load repetition is paired with the
    # same call with write_concurrent_bytes / read_concurrent_bytes set, in
    # alternating order, so both see the same disk and machine load (the
    # first load after a save is often slowed by the disk still writing).
    limits = ("limits" in self.args.ops and workload in LIMIT_WORKLOADS
              and lib in LIMIT_LIBS)
    limit = self.args.limit_mib * MiB

    def paired(r, unlimited, limited):
      calls = [unlimited, limited] if limits else [unlimited]
      for call in (calls if r % 2 == 0 else calls[::-1]):
        call()

    fixture = os.path.join(self.tmp, f"{workload}-{lib}-ckpt")
    for r in range(reps):
      path = os.path.join(self.tmp, f"{workload}-{lib}-save{r}")
      lpath = os.path.join(self.tmp, f"{workload}-{lib}-limited{r}")

      def save(r=r, path=path):
        self.worker(lib, workload, "save", path)
        if r == reps - 1 and os.path.isdir(path):
          os.rename(path, fixture)
        shutil.rmtree(path, ignore_errors=True)

      def save_limited(lpath=lpath):
        self.worker(lib, workload, "save_limited", lpath, limit=limit)
        shutil.rmtree(lpath, ignore_errors=True)
      paired(r, save, save_limited)
    if os.path.isdir(fixture):
      ops = ["load"]
      if workload == "sharded" and lib not in RAW_LIBS:
        ops.append("load_reshard")
      for op in ops:
        for r in range(reps):
          if op != "load":
            self.worker(lib, workload, op, fixture, verify=(r == 0))
            continue
          paired(r,
                 lambda r=r: self.worker(lib, workload, "load", fixture,
                                         verify=(r == 0)),
                 lambda r=r: self.worker(lib, workload, "load_limited",
                                         fixture, verify=(r == 0),
                                         limit=limit))
      if workload == "tiny":  # a latency target: software overhead only
        for r in range(reps):
          self.worker(lib, workload, "load", fixture, keep_cache=True)
      if "floors" in self.args.ops and lib == "ocpx" and workload == "tiny":
        # The same files and directories written and read with plain system
        # calls: what Orbax's layout costs on this disk, in this run.
        self.floor(workload, "layout_floor",
                   [os.path.join(HERE, "layout_floor.py"), fixture,
                    "--reps", str(max(10, 3 * reps))])
    shutil.rmtree(fixture, ignore_errors=True)
    if "floors" in self.args.ops and lib == "ocpx" and workload == "many":
      # Orbax's format (zstd per leaf, one jax.Array per leaf) and nothing
      # else: the least any library writing this format can take.
      self.floor(workload, "format_floor",
                 [os.path.join(HERE, "format_floor.py"), "--workload",
                  workload, "--reps", str(reps), "--tmp", self.tmp])
    if "save_async" not in self.args.ops:
      return
    for r in range(reps):
      path = os.path.join(self.tmp, f"{workload}-{lib}-async{r}")
      self.worker(lib, workload, "save_async", path)
      shutil.rmtree(path, ignore_errors=True)
    if workload == "tiny" and "first_call" in self.args.ops:
      # First call in a fresh process: no warm-up.
      for r in range(reps):
        path = os.path.join(self.tmp, f"{workload}-{lib}-cold{r}")
        self.worker(lib, workload, "save", path, cold=True)
        if os.path.isdir(path):
          self.worker(lib, workload, "load", path, cold=True)
        shutil.rmtree(path, ignore_errors=True)

  def run(self):
    info = machine_info(self.args)
    log(f"tmp dir {self.tmp}; {info['disk_free']}")
    try:
      for lib in ("ocpx", "orbax"):
        for _ in range(max(self.args.reps, 5)):
          self.worker(lib, "-", "import", "-")
      for w in self.args.workloads:
        for lib in self.args.libs:
          log(f"{w} / {lib}")
          self.case(w, lib)
    finally:
      shutil.rmtree(self.tmp, ignore_errors=True)
    info["loadavg_end"] = os.getloadavg()
    info["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
    return info


def machine_info(args):
  cpu = "?"
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("model name"):
          cpu = line.split(":", 1)[1].strip()
          break
  except OSError:
    pass
  with open("/proc/meminfo") as f:
    mem = int(f.readline().split()[1]) * 1024
  st = shutil.disk_usage(args.tmp)
  m = re.search(r"ocpx-bench-src/([0-9a-f]+)/", args.pythonpath or "")
  if m:
    rev = m.group(1)  # a committed revision staged by bench/stage_rev.sh
  else:
    try:
      rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True).stdout.strip()
      rev += " + working tree"
    except OSError:
      rev = "?"
  versions = subprocess.run(
      [sys.executable, "-c",
       "import jax, orbax.checkpoint as o; print(jax.__version__, "
       "o.__version__)"], capture_output=True, text=True).stdout.split()
  return {
      "started": datetime.datetime.now().isoformat(timespec="seconds"),
      "cpus": os.cpu_count(), "cpu": cpu, "mem_gib": round(mem / 2**30, 1),
      "kernel": platform.release(), "python": platform.python_version(),
      "jax": versions[0] if versions else "?",
      "orbax": versions[1] if len(versions) > 1 else "?",
      "git": rev, "tmp": args.tmp,
      "disk_free": f"{st.free / 2**30:.0f} GiB free on {args.tmp}",
      "loadavg_start": os.getloadavg(),
      "reps": args.reps, "workloads": list(args.workloads),
      "limit_bytes": args.limit_mib * MiB,
  }


# ---------------------------------------------------------------------------
# Report

def _vals(results, workload, lib, op, key, cold=False, keep_cache=False):
  return [r[key] for r in results
          if r.get("workload") == workload and r.get("lib") == lib
          and r.get("op") == op and r.get("cold", False) == cold
          and r.get("keep_cache", False) == keep_cache and key in r]


def _stat(vals, f):
  return f(vals) if vals else None


def fmt_t(v):
  if v is None:
    return "–"
  if v < 1e-3:
    return f"{v * 1e6:.0f} µs"
  if v < 1:
    return f"{v * 1e3:.1f} ms"
  return f"{v:.2f} s"


def fmt_mm(vals):
  if not vals:
    return "–"
  mn, md = min(vals), statistics.median(vals)
  if len(vals) == 1:
    return fmt_t(mn)
  return f"{fmt_t(mn)} / {fmt_t(md)}"


def fmt_b(n):
  if n is None:
    return "–"
  if n >= 2**30:
    return f"{n / 2**30:.2f} GiB"
  if n >= MiB:
    return f"{n / MiB:.1f} MiB"
  if n >= 1024:
    return f"{n / 1024:.1f} KiB"
  return f"{n} B"


def fmt_rss(vals, tree):
  if not vals:
    return "–"
  v = statistics.median(vals)
  return f"{fmt_b(max(v, 0))} ({100 * v / tree:.0f}%)"


def ratio(a, b):
  if not a or not b:
    return "–"
  return f"{min(a) / min(b):.2f}×"


def report(results, info) -> str:
  out = []
  w = out.append
  w("## Results\n")
  w(f"Run {info['started']} – {info['finished']}; ocpx at git "
    f"`{info['git']}`; "
    f"{info['cpus']} CPUs ({info['cpu']}), {info['mem_gib']} GiB RAM, CPU "
    f"only; Linux {info['kernel']}, Python {info['python']}, jax "
    f"{info['jax']}, orbax-checkpoint {info['orbax']}; checkpoints in "
    f"`{info['tmp']}` ({info['disk_free']} at start); {info['reps']} "
    f"repetition(s) per figure, each a fresh process.  Load average "
    f"{info['loadavg_start'][0]:.1f} at start, {info['loadavg_end'][0]:.1f} "
    "at the end (the machine is shared with other engineers' builds).\n")
  dropped = [r.get("dropped_caches") for r in results
             if r.get("op", "").startswith("load")
             and not r.get("keep_cache") and "error" not in r]
  w("Times are **min / median**.  Saves start after a `sync` (nothing the "
    "harness wrote is left dirty).  Loads run with a cold page cache "
    f"({'dropped before every load' if dropped and all(dropped) else 'NOT dropped: no permission'}"
    ").  Peak RSS is VmHWM − VmRSS just before the call (VmHWM reset via "
    "/proc/self/clear_refs), median, and in parentheses as a share of the "
    "tree's bytes.\n")
  w("| workload | lib | save | save_async return | save_async total | "
    "load | load, resharded | peak RSS save | peak RSS load | on disk | "
    "files |")
  w("|---|---|---|---|---|---|---|---|---|---|---|")
  for wl in info["workloads"]:
    tree = workloads.logical_bytes(wl)
    for lib in ALL_LIBS:
      rows = [r for r in results
              if r.get("workload") == wl and r.get("lib") == lib]
      if not rows:
        continue
      errs = sorted({r["op"] for r in rows if "error" in r})
      g = lambda op, k: _vals(results, wl, lib, op, k)  # noqa: E731
      files = g("save", "files")
      nbytes = g("save", "bytes")
      w(f"| {wl} | {lib}{' (failed: ' + ', '.join(errs) + ')' if errs else ''}"
        f" | {fmt_mm(g('save', 'time_s'))} "
        f"| {fmt_mm(g('save_async', 'return_s'))} "
        f"| {fmt_mm(g('save_async', 'time_s'))} "
        f"| {fmt_mm(g('load', 'time_s'))} "
        f"| {fmt_mm(g('load_reshard', 'time_s'))} "
        f"| {fmt_rss(g('save', 'peak_rss'), tree)} "
        f"| {fmt_rss(g('load', 'peak_rss'), tree)} "
        f"| {fmt_b(nbytes[-1]) if nbytes else '–'} "
        f"| {files[-1] if files else '–'} |")
  w("")
  w("Tree sizes: " + ", ".join(
      f"{wl} {fmt_b(workloads.logical_bytes(wl))} in "
      f"{workloads.num_leaves(wl)} leaves" for wl in info["workloads"]) + ".\n")

  w("### Ratios (min over min)\n")
  w("`raw` writes one file per shard, `raw1` all shards into one file; "
    "\"load, resharded\" is compared with their plain load.\n")
  w("| workload | figure | ocpx / orbax | ocpx / raw | ocpx / raw1 |")
  w("|---|---|---|---|---|")
  for wl in info["workloads"]:
    for op, key, label in (("save", "time_s", "save"),
                           ("save_async", "return_s", "save_async return"),
                           ("save_async", "time_s", "save_async total"),
                           ("load", "time_s", "load"),
                           ("load_reshard", "time_s", "load, resharded")):
      o = _vals(results, wl, "ocpx", op, key)
      if not o:
        continue
      raw_op = "load" if op == "load_reshard" else op
      w(f"| {wl} | {label} | {ratio(o, _vals(results, wl, 'orbax', op, key))}"
        f" | {ratio(o, _vals(results, wl, 'raw', raw_op, key))}"
        f" | {ratio(o, _vals(results, wl, 'raw1', raw_op, key))} |")
  w("")
  if any(r.get("lib") in V0_LIBS for r in results):
    w("### v0 API ratios (StandardCheckpointer; min over min)\n")
    w("| workload | figure | ocpx_v0 / orbax_v0 | ocpx_v0 / ocpx (v1) |")
    w("|---|---|---|---|")
    for wl in info["workloads"]:
      for op, key, label in (("save", "time_s", "save"),
                             ("save_async", "return_s", "save_async return"),
                             ("save_async", "time_s", "save_async total"),
                             ("load", "time_s", "load"),
                             ("load_reshard", "time_s", "load, resharded")):
        o = _vals(results, wl, "ocpx_v0", op, key)
        if not o:
          continue
        w(f"| {wl} | {label} "
          f"| {ratio(o, _vals(results, wl, 'orbax_v0', op, key))} "
          f"| {ratio(o, _vals(results, wl, 'ocpx', op, key))} |")
    w("")

  if "tiny" in info["workloads"]:
    w("### tiny: latency\n")
    w("`warm` = after a warm-up call in the same process (the figure in the "
      "main table); `warm, cached` = the same with the page cache left warm; "
      "`first call` = no warm-up, the first save/load in a fresh process.\n")
    w("| lib | save, warm | save, first call | load, warm | "
      "load, warm, cached | load, first call |")
    w("|---|---|---|---|---|---|")
    for lib in LIBS:
      if not any(r.get("workload") == "tiny" and r.get("lib") == lib
                 for r in results):
        continue
      g = lambda op, **kw: fmt_mm(_vals(results, "tiny", lib, op,  # noqa: E731
                                        "time_s", **kw))
      w(f"| {lib} | {g('save')} | {g('save', cold=True)} | {g('load')} | "
        f"{g('load', keep_cache=True)} | {g('load', cold=True)} |")
    w("")

  w("### Import time (fresh process; min / median)\n")
  w("| | `import jax` | library on top of jax |")
  w("|---|---|---|")
  for lib in ("ocpx", "orbax"):
    w(f"| {lib} | {fmt_mm(_vals(results, '-', lib, 'import', 'import_jax'))}"
      f" | {fmt_mm(_vals(results, '-', lib, 'import', 'import_lib'))} |")
  w("")
  lim = limits_table(results, info)
  if lim:
    w(lim)
  w(targets(results, info))
  return "\n".join(out)


LIMIT_SLACK = 64 * MiB   # peak RSS with a limit set: <= limit + this
LIMIT_SLOWDOWN = 1.15    # time with a limit set: <= this x unlimited


def _limit(results, info):
  v = [r["limit"] for r in results if r.get("limit")]
  return v[0] if v else info.get("limit_bytes")


def fmt_limit(n):
  return f"{n // MiB} MiB" if n % MiB == 0 and n < 2**30 else fmt_b(n)


def limits_table(results, info) -> str:
  """ocpx with write_concurrent_bytes / read_concurrent_bytes set, against
  the same workload's unlimited ocpx save and load of the same run."""
  limit = _limit(results, info)
  wls = [wl for wl in info["workloads"] if wl in LIMIT_WORKLOADS
         and any(r.get("workload") == wl and r.get("op", "").endswith(
             "_limited") for r in results)]
  if not limit or not wls:
    return ""
  out = [
      f"### Memory limits (`write_concurrent_bytes` = `read_concurrent_bytes`"
      f" = {fmt_limit(limit)})\n",
      "ocpx's save and cold load as in the main table, but inside "
      "`ocp.Context(memory_options=ocp.options.MemoryOptions("
      "write_concurrent_bytes=L, read_concurrent_bytes=L))`, the way an Orbax "
      "v1 user sets them.  Issue 17: the peak stays under the limit plus "
      f"{fmt_limit(LIMIT_SLACK)}, and throughput falls by no more than the limit "
      "forces.  ocpx's default pipeline never holds more than about two "
      f"128 MiB chunks, so a {fmt_limit(limit)} limit forces no slowdown: the "
      f"time target is ≤ {LIMIT_SLOWDOWN:.2f}× the same workload's unlimited "
      "ocpx time of this run (min over min; the margin is run-to-run noise).  "
      "A load's peak includes the loaded tree, so its target is the tree "
      f"plus limit plus {fmt_limit(LIMIT_SLACK)}.  Peak RSS is the median.\n",
      "| workload | op | time, limited | time, unlimited | limited / "
      "unlimited | peak RSS, limited | peak RSS, unlimited | peak target |",
      "|---|---|---|---|---|---|---|---|",
  ]
  for wl in wls:
    tree = workloads.logical_bytes(wl)
    for op, base in (("save_limited", "save"), ("load_limited", "load")):
      for lib in LIMIT_LIBS:
        lim_t = _vals(results, wl, lib, op, "time_s")
        if not lim_t:
          continue
        base_t = _vals(results, wl, lib, base, "time_s")
        cap = limit + LIMIT_SLACK + (tree if base == "load" else 0)
        out.append(
            f"| {wl} | {lib} {base} | {fmt_mm(lim_t)} | {fmt_mm(base_t)} "
            f"| {ratio(lim_t, base_t)} "
            f"| {fmt_rss(_vals(results, wl, lib, op, 'peak_rss'), tree)} "
            f"| {fmt_rss(_vals(results, wl, lib, base, 'peak_rss'), tree)} "
            f"| ≤ {fmt_limit(cap)} |")
  return "\n".join(out) + "\n"


def targets(results, info) -> str:
  """One row per target of issue 17 (its table, then its sentence on memory
  limits), plus two extra rows marked as not in the issue.  Ratios are min
  over min, peak RSS the median, all from this run."""
  rows = []

  def add(name, value, limit, ok):
    status = ("not measured" if value is None else
              "–" if ok is None else "met" if ok else "**missed**")
    rows.append(f"| {name} | {'–' if value is None else value} | {limit} "
                f"| {status} |")

  def mn(wl, lib, op, key="time_s", **kw):
    v = _vals(results, wl, lib, op, key, **kw)
    return min(v) if v else None

  def med(wl, lib, op, key, **kw):
    v = _vals(results, wl, lib, op, key, **kw)
    return statistics.median(v) if v else None

  def floor(wl, op):
    """The floor script's result in this run (`Runner.floor`), if any."""
    rows = [r for r in results if r.get("lib") == "floor"
            and r.get("workload") == wl and r.get("op") == op
            and "error" not in r]
    return rows[-1] if rows else None

  def vs(name, wl, op, base_lib, lim, base_op=None, also=(), note=None):
    """ocpx's op at most `lim` x base_lib's base_op (min over min)."""
    o, b = mn(wl, "ocpx", op), mn(wl, base_lib, base_op or op)
    if not (o and b):
      add(name, None, f"{lim}×", None)
      return
    q = o / b
    # A third decimal where two would print the limit itself.
    text = f"{q:.3f}×" if f"{q:.2f}" == f"{lim:.2f}" else f"{q:.2f}×"
    extra = [f"{o / mn(wl, lib, base_op or op):.2f}× `{lib}`" for lib in also
             if mn(wl, lib, base_op or op)]
    floor_text = note(b) if note else ""
    if floor_text:
      extra.append(floor_text)
    if extra:
      text += f" ({'; '.join(extra)})"
    add(name, text, f"{lim}×", q <= lim)

  def latency(name, wl, op, lim, key="time_s", note=None, **kw):
    o = mn(wl, "ocpx", op, key, **kw)
    text = fmt_t(o) if o else None
    floor_text = note() if note else ""
    if text and floor_text:
      text += f" ({floor_text})"
    add(name, text, fmt_t(lim), (o <= lim) if o else None)

  def floor_note(wl, op, key, what):
    """A note for a row: the floor's min in this run and, given the row's
    base figure, the floor's ratio to it."""
    f = floor(wl, op)
    v = f[key]["min"] if f and key in f else None

    def note(base=None):
      if v is None:
        return ""
      text = f"{what} floor {fmt_t(v)}"
      return text + (f" = {v / base:.2f}×" if base else "")
    return note

  def save_async_return(wl):
    ret = mn(wl, "ocpx", "save_async", "return_s")
    mc = mn(wl, "ocpx", "save_async", "memcpy_s")
    name = f"{wl}: save_async returns ≤ 2× memcpy + 5 ms"
    if ret is None or mc is None:
      add(name, None, "2× memcpy + 5 ms", None)
      return
    lim = 2 * mc + 5e-3
    add(name, f"{fmt_t(ret)} (memcpy {fmt_t(mc)})", fmt_t(lim), ret <= lim)

  def peak_rss(wl):
    tree = workloads.logical_bytes(wl)
    v = med(wl, "ocpx", "save", "peak_rss")
    add(f"{wl}: peak RSS save ≤ 10% of tree",
        None if v is None else f"{fmt_b(max(v, 0))} ({100 * v / tree:.0f}%)",
        fmt_b(tree // 10), None if v is None else v <= tree / 10)
    v = med(wl, "ocpx", "load", "peak_rss")
    f = floor(wl, "format_floor")
    fl = f["load_s"].get("peak_rss_median") if f else None
    note = f"; format floor {fl / tree:.2f}×" if fl else ""
    add(f"{wl}: peak RSS load ≤ 1.1× tree",
        None if v is None else f"{fmt_b(max(v, 0))} ({v / tree:.2f}×{note})",
        fmt_b(int(1.1 * tree)), None if v is None else v <= 1.1 * tree)

  # The table, row by row (workload), cell by cell (figure).
  vs("big: save ≤ 1.2× durable write (`raw`)", "big", "save", "raw", 1.2)
  vs("big: load ≤ 1.1× cold read (`raw`)", "big", "load", "raw", 1.1)
  save_async_return("big")
  peak_rss("big")
  vs("many: save ≤ 1.5× one-file durable write (`raw1`)", "many", "save",
     "raw1", 1.5, also=("raw",),
     note=floor_note("many", "format_floor", "save_s", "format"))
  vs("many: load ≤ 1.5× one-file cold read (`raw1`)", "many", "load", "raw1",
     1.5, also=("raw",),
     note=floor_note("many", "format_floor", "load_s", "format"))
  save_async_return("many")
  peak_rss("many")
  vs("sharded: save ≤ 1.3× `raw`", "sharded", "save", "raw", 1.3)
  vs("sharded: load ≤ 1.3× `raw`", "sharded", "load", "raw", 1.3)
  vs("sharded: load, resharded ≤ 1.5× `raw` (its plain load)", "sharded",
     "load_reshard", "raw", 1.5, base_op="load")
  o, b = mn("sharded", "ocpx", "load_reshard"), mn("sharded", "orbax",
                                                   "load_reshard")
  add("sharded: load, resharded faster than Orbax's",
      f"{o / b:.2f}× Orbax ({fmt_t(o)} vs {fmt_t(b)})" if o and b else None,
      "< 1×", (o < b) if o and b else None)
  save_async_return("sharded")
  peak_rss("sharded")
  latency("tiny: save ≤ 3 ms (warm)", "tiny", "save", 3e-3,
          note=floor_note("tiny", "layout_floor", "durable_write_s",
                          "layout"))
  latency("tiny: load ≤ 2 ms (warm, page cache dropped)", "tiny", "load",
          2e-3, note=floor_note("tiny", "layout_floor", "cold_read_s",
                                "layout (serial reads)"))
  latency("tiny: save_async returns ≤ 2 ms", "tiny", "save_async", 2e-3,
          key="return_s")

  # "With write_concurrent_bytes / read_concurrent_bytes set, the peak stays
  # under the limit plus 64 MiB, and throughput falls by no more than the
  # limit forces."  (bench/run.py --ops ...,limits; see limits_table)
  limit = _limit(results, info) or 256 * MiB
  for wl in LIMIT_WORKLOADS:
    tree = workloads.logical_bytes(wl)
    for op, base, opt in (("save_limited", "save", "write_concurrent_bytes"),
                          ("load_limited", "load", "read_concurrent_bytes")):
      pre = f"{wl}: {base} with {opt} = {fmt_limit(limit)}"
      v = med(wl, "ocpx", op, "peak_rss")
      if base == "save":
        cap, what = limit + LIMIT_SLACK, "limit + 64 MiB"
      else:
        cap, what = tree + limit + LIMIT_SLACK, "tree + limit + 64 MiB"
      add(f"{pre}: peak RSS ≤ {what}",
          None if v is None else fmt_b(max(v, 0)), fmt_limit(cap),
          None if v is None else v <= cap)
      vs(f"{pre}: time ≤ {LIMIT_SLOWDOWN:.2f}× unlimited (the limit forces "
         "no slowdown)", wl, op, "ocpx", LIMIT_SLOWDOWN, base_op=base)

  # Not in issue 17.
  latency("tiny: load ≤ 2 ms (warm, page cache warm) (not in issue 17)",
          "tiny", "load", 2e-3, keep_cache=True)
  v = mn("-", "ocpx", "import", "import_lib")
  add("`import ocpx` on top of `import jax` ≤ 50 ms (not in issue 17)",
      fmt_t(v) if v else None, "50 ms", (v <= 0.05) if v else None)
  return ("### Targets (issue 17; ocpx defaults unless a limit is named)\n\n"
          "Ratios are min over min within this run; peak RSS is the median.  "
          "`raw` is the durable write / cold read of one file per shard, "
          "`raw1` of one file.\n\n"
          "| target | measured | limit | |\n"
          "|---|---|---|---|\n" + "\n".join(rows) + "\n")


def main():
  ap = argparse.ArgumentParser(description=__doc__,
                               formatter_class=argparse.RawTextHelpFormatter)
  ap.add_argument("--out", default=os.path.join(HERE, "results.md"))
  ap.add_argument("--quick", action="store_true",
                  help="tiny + many, 1 repetition")
  ap.add_argument("--reps", type=int, default=None)
  ap.add_argument("--workloads", default=None,
                  help=f"comma-separated subset of {','.join(workloads.WORKLOADS)}")
  ap.add_argument("--libs", default=",".join(ALL_LIBS))
  ap.add_argument("--ops",
                  default="save,load,save_async,first_call,limits,floors",
                  help="which measurements: save and load always run; "
                  "save_async, first_call (tiny), limits (ocpx save and "
                  "load of " + " and ".join(LIMIT_WORKLOADS) + " with "
                  "write_concurrent_bytes / read_concurrent_bytes set to "
                  "--limit-mib) and floors (layout_floor.py on ocpx's tiny "
                  "checkpoint, format_floor.py for many, in the same run) "
                  "may be left out, e.g. for the scaling runs "
                  f"(--workloads {','.join(workloads.SCALING)} "
                  "--ops save,load)")
  ap.add_argument("--limit-mib", type=int, default=256,
                  help="the byte limit of the limits case, in MiB")
  ap.add_argument("--tmp", default="/tmp")
  ap.add_argument("--timeout", type=float, default=3600)
  ap.add_argument("--pythonpath",
                  default=os.path.join(ROOT, "build", "dev-bench", "stage"),
                  help="where ocpx is imported from ('' = the venv's)")
  args = ap.parse_args()
  if args.workloads:
    args.workloads = args.workloads.split(",")
  else:
    args.workloads = ["tiny", "many"] if args.quick else list(
        workloads.WORKLOADS)
  if args.reps is None:
    args.reps = 1 if args.quick else 3
  args.libs = args.libs.split(",")
  args.ops = set(args.ops.split(","))
  unknown = args.ops - {"save", "load", "save_async", "first_call", "limits",
                        "floors"}
  if unknown:
    ap.error(f"unknown --ops {sorted(unknown)}")
  unknown = [l for l in args.libs if l not in ALL_LIBS]
  if unknown:
    ap.error(f"unknown --libs {unknown}; choose from {list(ALL_LIBS)}")
  if args.pythonpath and not os.path.isdir(args.pythonpath):
    ap.error(f"{args.pythonpath} does not exist; run tools/devbuild bench")
  runner = Runner(args)
  info = runner.run()
  text = report(runner.results, info)
  with open(args.out, "w") as f:
    f.write(text)
  with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
    json.dump({"info": info, "results": runner.results}, f, indent=1)
  print(text)


if __name__ == "__main__":
  main()
