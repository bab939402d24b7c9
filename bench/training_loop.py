"""A training loop with an async save every N steps: does the save slow the
steps down, and how long does its background work hold the GIL?

  python bench/training_loop.py --lib ocpx|orbax [--steps 1000] [--every 10]
      [--state-mib 256] [--device-ms 20] [--out result.json]

The loop stands in for training on an accelerator: each step dispatches a
small jitted computation from Python (as a real step does) and then waits
`--device-ms` for the "device" (a sleep, which releases the GIL and uses no
CPU, as waiting on a GPU or TPU does).  On this CPU-only machine a step that
really computed would compete with the save's compression for the two cores,
which says nothing about the library; waiting instead isolates what the
library does to the training thread: time in the call itself, and the GIL
its background threads hold.

Every `--every` steps the loop starts `save_async` of a state of
`--state-mib` MiB (16 float32 arrays) to a new directory (the previous save
is waited for first, as a step manager does; that wait counts toward the
step).  Reported, for steps with a save in flight and steps without:
median / p95 step time, and their ratio; the median time `save_async` takes
to return; and a GIL probe: a thread that sleeps 0.5 ms in a loop and
records how late it wakes up.  Waking up needs the GIL, so its lateness
while a save runs (p99, max) bounds how long the save's threads hold the
GIL at a time (Python's switch interval, 5 ms, is the floor for a thread
running Python code).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time

import numpy as np


def _lib(name):
  if name == "ocpx":
    from ocpx import v1 as ocp
    return ocp.save_async
  if name == "orbax":
    import orbax.checkpoint.experimental.v1 as ocp_orbax
    return ocp_orbax.save_async
  raise ValueError(name)


class GilProbe(threading.Thread):
  """Sleeps `period` in a loop; records how late each wake-up is, tagged
  with whether a save was in flight."""

  def __init__(self, period: float, in_flight: threading.Event):
    super().__init__(daemon=True, name="gil-probe")
    self.period = period
    self.in_flight = in_flight
    self.late = {True: [], False: []}
    self.stop = threading.Event()

  def run(self):
    while not self.stop.is_set():
      flag = self.in_flight.is_set()
      t = time.perf_counter()
      time.sleep(self.period)
      self.late[flag].append(time.perf_counter() - t - self.period)


def _pct(xs, q):
  if not xs:
    return float("nan")
  xs = sorted(xs)
  return xs[min(len(xs) - 1, int(q * len(xs)))]


def main():
  ap = argparse.ArgumentParser()
  ap.add_argument("--lib", required=True)
  ap.add_argument("--steps", type=int, default=1000)
  ap.add_argument("--every", type=int, default=10)
  ap.add_argument("--state-mib", type=int, default=256)
  ap.add_argument("--device-ms", type=float, default=20.0)
  ap.add_argument("--tmp", default=None)
  ap.add_argument("--out", default=None)
  args = ap.parse_args()

  import jax
  import jax.numpy as jnp

  save_async = _lib(args.lib)
  n = 16
  per = args.state_mib * 2**20 // 4 // n
  rng = np.random.default_rng(0)
  state = {f"layer_{i}": jnp.asarray(rng.standard_normal(per, np.float32))
           for i in range(n)}
  x = jnp.ones((256, 256), jnp.float32)
  step_fn = jax.jit(lambda a: jnp.tanh(a @ a * 1e-3))
  step_fn(x).block_until_ready()

  root = tempfile.mkdtemp(prefix="ocpx-train-", dir=args.tmp)
  # Warm-up save (imports, thread pools) outside the measurement.
  save_async(os.path.join(root, "warmup"), state).result()
  shutil.rmtree(os.path.join(root, "warmup"))

  in_flight = threading.Event()
  probe = GilProbe(0.0005, in_flight)
  probe.start()
  # Full garbage collections hold the GIL for as long as the heap takes to
  # scan (~0.1 s with JAX loaded), whichever thread triggers them; they are
  # reported apart, with the thread that ran them.
  gc_pauses: list = []
  gc_start: dict = {}

  def on_gc(phase, info):
    me = threading.get_ident()
    if phase == "start":
      gc_start[me] = time.perf_counter()
    elif me in gc_start and info["generation"] == 2:
      gc_pauses.append({"s": time.perf_counter() - gc_start.pop(me),
                        "thread": threading.current_thread().name,
                        "save_in_flight": in_flight.is_set()})

  gc.callbacks.append(on_gc)
  watcher = None
  errors: list = []
  kept: list[str] = []
  times = {True: [], False: []}
  returns = []
  device = args.device_ms / 1e3

  def watch(response, directory):
    try:
      response.result()
    except BaseException as e:  # pylint: disable=broad-except
      errors.append(e)
    kept.append(directory)
    in_flight.clear()

  for step in range(args.steps):
    t0 = time.perf_counter()
    if step % args.every == 0 and step > 0:
      if watcher is not None:  # one save at a time, as a step manager
        watcher.join()
        if errors:
          raise errors[0]
        while len(kept) > 2:
          shutil.rmtree(kept.pop(0), ignore_errors=True)
      directory = os.path.join(root, str(step))
      in_flight.set()
      ts = time.perf_counter()
      response = save_async(directory, state)
      returns.append(time.perf_counter() - ts)
      watcher = threading.Thread(target=watch, args=(response, directory),
                                 daemon=True)
      watcher.start()
    y = step_fn(x)
    time.sleep(device)
    y.block_until_ready()
    # A step counts as "with a save" if the save was running when it ended.
    times[in_flight.is_set()].append(time.perf_counter() - t0)
  if watcher is not None:
    watcher.join()
  probe.stop.set()
  probe.join()
  gc.callbacks.remove(on_gc)
  shutil.rmtree(root, ignore_errors=True)
  if errors:
    raise errors[0]

  base = statistics.median(times[False]) if times[False] else float("nan")
  busy = statistics.median(times[True]) if times[True] else float("nan")
  result = {
      "lib": args.lib, "steps": args.steps, "every": args.every,
      "state_mib": args.state_mib, "device_ms": args.device_ms,
      "steps_with_save": len(times[True]),
      "step_median_s": {"no_save": base, "save_in_flight": busy},
      "step_p95_s": {"no_save": _pct(times[False], 0.95),
                     "save_in_flight": _pct(times[True], 0.95)},
      "slowdown": busy / base - 1 if times[True] and times[False] else None,
      "save_async_return_median_s": statistics.median(returns) if returns
                                    else None,
      "full_gc_pauses": gc_pauses,
      "gil_probe_late_s": {
          str(k): {"p50": _pct(v, 0.5), "p99": _pct(v, 0.99),
                   "max": max(v) if v else float("nan"), "n": len(v)}
          for k, v in (("save_in_flight", probe.late[True]),
                       ("no_save", probe.late[False]))},
  }
  text = json.dumps(result, indent=1)
  print(text)
  if args.out:
    with open(args.out, "w") as f:
      f.write(text)


if __name__ == "__main__":
  sys.exit(main())
