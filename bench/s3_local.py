# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The `s3-local` workload: ocpx saving to and loading from a local S3
server (moto, 127.0.0.1), against the same operation on local disk.

  .venv/bin/python bench/s3_local.py --out /tmp/s3-local.md            # many, big
  .venv/bin/python bench/s3_local.py --workloads tiny --reps 1 --out /tmp/smoke.md

Each measurement is one `bench/worker.py` process (same method as run.py:
warm-up on a 4 KiB tree first, on the same store; peak RSS of the client).
The server runs as its own process (`moto_server`), so its CPU time is not
the client's, but on a small machine both share the cores: the figures
bound the overhead of the remote path (TensorStore's s3 driver, HTTP,
OCDBT over objects), not a network's.  moto keeps objects in memory: the
`big` case needs ~2.5 GiB of RAM for the server.

orbax-checkpoint 0.12.8 cannot address s3:// paths at all (docs/remote.md),
so its column reads "n/a".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import workloads  # noqa: E402


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


class MotoServer:
  """`moto_server` in a child process on 127.0.0.1."""

  def __init__(self):
    self.port = _free_port()
    self.endpoint = f"http://127.0.0.1:{self.port}"
    self._proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
         str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while True:
      try:
        urllib.request.urlopen(self.endpoint, timeout=1).read()
        break
      except OSError:
        if time.time() > deadline or self._proc.poll() is not None:
          self.stop()
          raise RuntimeError("moto_server did not start") from None
        time.sleep(0.2)

  def create_bucket(self, name: str) -> None:
    urllib.request.urlopen(urllib.request.Request(
        f"{self.endpoint}/{name}", method="PUT"), timeout=10).read()

  def stop(self) -> None:
    self._proc.terminate()
    try:
      self._proc.wait(10)
    except subprocess.TimeoutExpired:
      self._proc.kill()
      self._proc.wait()


def run_worker(args, env, workload, op, path, scratch) -> dict:
  cmd = [sys.executable, os.path.join(HERE, "worker.py"), "--lib", "ocpx",
         "--workload", workload, "--op", op, "--path", path,
         "--scratch", scratch, "--keep-cache"]
  if op == "load":
    cmd.append("--verify")
  p = subprocess.run(cmd, env=env, capture_output=True, text=True,
                     timeout=args.timeout)
  if p.returncode != 0:
    raise RuntimeError(f"{' '.join(cmd)} failed (exit {p.returncode}):\n"
                       f"{p.stdout[-2000:]}\n{p.stderr[-4000:]}")
  return json.loads(p.stdout.strip().splitlines()[-1])


def main():
  ap = argparse.ArgumentParser()
  ap.add_argument("--out", default=os.path.join(HERE, "s3_local.md"))
  ap.add_argument("--workloads", default="many,big")
  ap.add_argument("--reps", type=int, default=3)
  ap.add_argument("--tmp", default="/tmp")
  ap.add_argument("--timeout", type=float, default=3600)
  ap.add_argument("--pythonpath", default=os.path.join(ROOT, "python"),
                  help="where ocpx is imported from")
  args = ap.parse_args()
  wls = args.workloads.split(",")
  server = MotoServer()
  bucket = f"ocpx-bench-{uuid.uuid4().hex[:8]}"
  server.create_bucket(bucket)
  env = dict(os.environ)
  env.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
             AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
             AWS_ENDPOINT_URL_S3=server.endpoint, JAX_PLATFORMS="cpu",
             PYTHONPATH=args.pythonpath + os.pathsep + env.get(
                 "PYTHONPATH", ""))
  results = []
  try:
    for wl in wls:
      for rep in range(args.reps):
        for store in ("local", "s3"):
          tag = f"{wl}-{rep}-{uuid.uuid4().hex[:6]}"
          if store == "local":
            base = tempfile.mkdtemp(prefix="ocpx-s3bench-", dir=args.tmp)
            path, scratch = os.path.join(base, "ckpt"), os.path.join(
                base, "scratch")
            os.makedirs(scratch)
          else:
            base = None
            path = f"s3://{bucket}/{tag}/ckpt"
          try:
            for op in ("save", "load"):
              if store == "s3":
                scratch = f"s3://{bucket}/{tag}/scratch-{op}"
              r = run_worker(args, env, wl, op, path, scratch)
              r["store"] = store
              results.append(r)
              print(f"{wl} {store} {op} rep {rep}: {r['time_s']:.3f} s",
                    file=sys.stderr, flush=True)
          finally:
            if base:
              shutil.rmtree(base, ignore_errors=True)
  finally:
    server.stop()
  with open(args.out + ".json", "w") as f:
    json.dump(results, f, indent=1)
  with open(args.out, "w") as f:
    f.write(report(results, wls))
  print(report(results, wls))


def report(results, wls) -> str:
  def med(wl, store, op, key):
    v = [r[key] for r in results if r["workload"] == wl and r["store"] == store
         and r["op"] == op and key in r]
    return statistics.median(v) if v else None

  lines = ["# s3-local: ocpx on a local S3 server (moto) vs local disk", "",
           "Median of the repetitions; GB/s of the tree's logical bytes; "
           "peak RSS is the client's.  orbax-checkpoint 0.12.8: n/a (it "
           "cannot address s3://, see docs/remote.md).", "",
           "| workload | op | local disk | s3-local | s3 / local | s3 peak RSS | orbax |",
           "|---|---|---|---|---|---|---|"]
  for wl in wls:
    nbytes = workloads.logical_bytes(wl)
    for op in ("save", "load"):
      lo, s3 = med(wl, "local", op, "time_s"), med(wl, "s3", op, "time_s")
      rss = med(wl, "s3", op, "peak_rss")
      fmt = lambda t: ("-" if t is None else  # noqa: E731
                       f"{t:.3f} s ({nbytes / t / 1e9:.2f} GB/s)")
      lines.append(
          f"| {wl} | {op} | {fmt(lo)} | {fmt(s3)} | "
          f"{'-' if not lo or not s3 else f'{s3 / lo:.1f}x'} | "
          f"{'-' if rss is None else f'{rss / 2**20:.0f} MiB'} | n/a |")
  return "\n".join(lines) + "\n"


if __name__ == "__main__":
  main()
