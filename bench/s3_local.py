# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The `s3-local` workload: ocpx saving to and loading from a local S3
server (moto, 127.0.0.1), against the same operation on local disk, and
ocpx beside orbax-checkpoint 0.12.8 on a local GCS emulator.

  .venv/bin/python bench/s3_local.py --out /tmp/s3-local.md            # many, big
  .venv/bin/python bench/s3_local.py --workloads tiny --reps 1 --out /tmp/smoke.md
  .venv/bin/python bench/s3_local.py --stores local,s3 ...             # no GCS

Each measurement is one `bench/worker.py` process (same method as run.py:
warm-up on a 4 KiB tree first, on the same store; peak RSS of the client).
The server runs as its own process (`moto_server`), so its CPU time is not
the client's, but on a small machine both share the cores: the figures
bound the overhead of the remote path (TensorStore's s3 driver, HTTP,
OCDBT over objects), not a network's.  moto keeps objects in memory: the
`big` case needs ~2.5 GiB of RAM for the server.

orbax-checkpoint 0.12.8 cannot address s3:// paths at all (docs/remote.md),
so the side-by-side comparison with Orbax runs on GCS instead:
gcp-storage-emulator (in memory, 127.0.0.1, patched as in the remote tests:
tests/object_store_servers.py) serves both libraries, TensorStore reaching
it through TENSORSTORE_GCS_HTTP_URL and Orbax's gcsfs through
STORAGE_EMULATOR_HOST.  Both servers are single Python processes: their CPU
time, reported beside each figure, bounds what a local run can show.
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


class GcsServer:
  """gcp-storage-emulator (patched as in the tests) in a child process on
  127.0.0.1, with GCS's default page size."""

  def __init__(self):
    code = (
        "import sys, time\n"
        f"sys.path.insert(0, {os.path.join(ROOT, 'tests')!r})\n"
        "import object_store_servers as s\n"
        "s.GCS_PAGE_SIZE = 1000\n"
        "srv = s.GcsServer()\n"
        "print(srv.endpoint, flush=True)\n"
        "while True: time.sleep(3600)\n")
    self._proc = subprocess.Popen([sys.executable, "-c", code],
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
    line = self._proc.stdout.readline().strip()
    if not line.startswith("http://127.0.0.1:"):
      self.stop()
      raise RuntimeError("gcp-storage-emulator did not start")
    self.endpoint = line

  def create_bucket(self, name: str) -> None:
    req = urllib.request.Request(
        f"{self.endpoint}/storage/v1/b?project=test",
        data=json.dumps({"name": name}).encode(), method="POST",
        headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()

  def stop(self) -> None:
    MotoServer.stop(self)  # type: ignore[arg-type]


def _cpu_s(pid: int) -> float:
  """User + system CPU seconds of process `pid` so far."""
  with open(f"/proc/{pid}/stat") as f:
    fields = f.read().rsplit(")", 1)[1].split()
  return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_worker(args, env, workload, op, path, scratch, lib="ocpx",
               server=None) -> dict:
  cmd = [sys.executable, os.path.join(HERE, "worker.py"), "--lib", lib,
         "--workload", workload, "--op", op, "--path", path,
         "--scratch", scratch, "--keep-cache"]
  if op == "load":
    cmd.append("--verify")
  cpu0 = _cpu_s(server._proc.pid) if server else None
  p = subprocess.run(cmd, env=env, capture_output=True, text=True,
                     timeout=args.timeout)
  if p.returncode != 0:
    raise RuntimeError(f"{' '.join(cmd)} failed (exit {p.returncode}):\n"
                       f"{p.stdout[-2000:]}\n{p.stderr[-4000:]}")
  r = json.loads(p.stdout.strip().splitlines()[-1])
  r["lib"] = lib
  if server:  # the whole worker, warm-up included: an upper bound
    r["server_cpu_s"] = _cpu_s(server._proc.pid) - cpu0
  return r


def main():
  ap = argparse.ArgumentParser()
  ap.add_argument("--out", default=os.path.join(HERE, "s3_local.md"))
  ap.add_argument("--workloads", default="many,big")
  ap.add_argument("--stores", default="local,s3,gcs",
                  help="local (disk), s3 (moto), gcs (emulator, with Orbax)")
  ap.add_argument("--reps", type=int, default=3)
  ap.add_argument("--tmp", default="/tmp")
  ap.add_argument("--timeout", type=float, default=3600)
  ap.add_argument("--pythonpath", default=os.path.join(ROOT, "python"),
                  help="where ocpx is imported from")
  args = ap.parse_args()
  wls = args.workloads.split(",")
  stores = args.stores.split(",")
  env = dict(os.environ)
  env.update(JAX_PLATFORMS="cpu",
             PYTHONPATH=args.pythonpath + os.pathsep + env.get(
                 "PYTHONPATH", ""))
  servers: dict = {}
  bucket = f"ocpx-bench-{uuid.uuid4().hex[:8]}"
  results = []
  try:
    if "s3" in stores:
      servers["s3"] = MotoServer()
      servers["s3"].create_bucket(bucket)
      env.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                 AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
                 AWS_ENDPOINT_URL_S3=servers["s3"].endpoint)
    if "gcs" in stores:
      servers["gcs"] = GcsServer()
      servers["gcs"].create_bucket(bucket)
      env.update(TENSORSTORE_GCS_HTTP_URL=servers["gcs"].endpoint,
                 GOOGLE_AUTH_TOKEN_FOR_TESTING="bench",
                 STORAGE_EMULATOR_HOST=servers["gcs"].endpoint)
    runs = [(store, "ocpx") for store in stores]
    if "gcs" in stores:
      runs.append(("gcs", "orbax"))
    for wl in wls:
      for rep in range(args.reps):
        for store, lib in runs:
          tag = f"{wl}-{lib}-{rep}-{uuid.uuid4().hex[:6]}"
          base = None
          if store == "local":
            base = tempfile.mkdtemp(prefix="ocpx-s3bench-", dir=args.tmp)
            path, scratch = os.path.join(base, "ckpt"), os.path.join(
                base, "scratch")
            os.makedirs(scratch)
          else:
            scheme = "s3" if store == "s3" else "gs"
            path = f"{scheme}://{bucket}/{tag}/ckpt"
          try:
            for op in ("save", "load"):
              if store != "local":
                scratch = f"{path.rsplit('/', 1)[0]}/scratch-{op}"
              r = run_worker(args, env, wl, op, path, scratch, lib,
                             servers.get(store))
              r["store"] = store
              results.append(r)
              print(f"{wl} {store} {lib} {op} rep {rep}: "
                    f"{r['time_s']:.3f} s", file=sys.stderr, flush=True)
          finally:
            if base:
              shutil.rmtree(base, ignore_errors=True)
  finally:
    for server in servers.values():
      server.stop()
  with open(args.out + ".json", "w") as f:
    json.dump(results, f, indent=1)
  with open(args.out, "w") as f:
    f.write(report(results, wls))
  print(report(results, wls))


def report(results, wls) -> str:
  def med(wl, store, lib, op, key):
    v = [r[key] for r in results if r["workload"] == wl
         and r["store"] == store and r.get("lib", "ocpx") == lib
         and r["op"] == op and key in r]
    return statistics.median(v) if v else None

  lines = ["# Object stores: ocpx on local S3 (moto) and GCS (emulator) "
           "servers vs local disk; Orbax beside it on GCS", "",
           "Median of the repetitions; GB/s of the tree's logical bytes; "
           "peak RSS is the client's; server CPU is the local server "
           "process's CPU time during the worker (warm-up included).  "
           "orbax-checkpoint 0.12.8 cannot address s3:// (docs/remote.md), "
           "so it is compared on GCS.", "",
           "| workload | op | local disk | s3-local (ocpx) | s3 / local | "
           "s3 peak RSS | gcs-local (ocpx) | gcs-local (orbax) | "
           "orbax / ocpx on gcs |",
           "|---|---|---|---|---|---|---|---|---|"]
  for wl in wls:
    nbytes = workloads.logical_bytes(wl)

    def fmt(t, cpu=None):
      if t is None:
        return "-"
      out = f"{t:.3f} s ({nbytes / t / 1e9:.2f} GB/s)"
      return out if cpu is None else f"{out}, server CPU {cpu:.1f} s"

    for op in ("save", "load"):
      lo = med(wl, "local", "ocpx", op, "time_s")
      s3 = med(wl, "s3", "ocpx", op, "time_s")
      gx = med(wl, "gcs", "ocpx", op, "time_s")
      go = med(wl, "gcs", "orbax", op, "time_s")
      rss = med(wl, "s3", "ocpx", op, "peak_rss")
      lines.append(
          f"| {wl} | {op} | {fmt(lo)} | "
          f"{fmt(s3, med(wl, 's3', 'ocpx', op, 'server_cpu_s'))} | "
          f"{'-' if not lo or not s3 else f'{s3 / lo:.1f}x'} | "
          f"{'-' if rss is None else f'{rss / 2**20:.0f} MiB'} | "
          f"{fmt(gx, med(wl, 'gcs', 'ocpx', op, 'server_cpu_s'))} | "
          f"{fmt(go, med(wl, 'gcs', 'orbax', op, 'server_cpu_s'))} | "
          f"{'-' if not gx or not go else f'{go / gx:.1f}x'} |")
  return "\n".join(lines) + "\n"


if __name__ == "__main__":
  main()
