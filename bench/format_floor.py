"""The floor of a workload's save and load in Orbax's format, without ocpx.

`raw1` (bench/worker.py) writes a tree's bytes as they are into one file and
reads them back into numpy arrays.  A checkpoint in Orbax's format (what
ocpx and Orbax both write) must also compress every chunk with zstd (level
3, the codec the format records), and a JAX load must hand back one
jax.Array per leaf.  This measures those three costs together with plain
calls and no checkpointing library, on this machine:

  save  every leaf compressed with `zstandard` (level 3) on a pool of one
        thread per CPU (the GIL is released), each frame appended to ONE
        file with os.write as soon as it is ready (while the next ones are
        compressed), then fsync of the file, its directory and the parent;
  load  with the page cache dropped: every frame read (os.pread) and
        decompressed by a task of the same pool into a 64-byte-aligned
        buffer (so the CPU backend can adopt it without a copy), and one
        `jax.device_put` per leaf on the caller's thread as its frame is
        ready (JAX warmed up first).

Nothing else: no metadata files, no index, no checksums, no OCDBT.  So it
is below what any Orbax-format library can reach.

The load's peak RSS is measured as `worker.py` measures a library's: VmHWM
reset right before the load, then VmHWM minus VmRSS at the start, so it
includes the tree it returns.  Its excess over the tree is what one
jax.Array per leaf and the decompression cost with no library at all (the
save's peak is not a floor: `pool.map` may hold every compressed frame).

  python bench/format_floor.py --workload many [--reps 5]

Prints one JSON line: min and median seconds of save and load, and the
load's median peak RSS in bytes.
"""

import argparse
import concurrent.futures
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workloads  # noqa: E402
from layout_floor import _fsync, drop_caches  # noqa: E402
from worker import _status, reset_peak  # noqa: E402

import zstandard  # noqa: E402  (a dependency of ocpx; any libzstd would do)

LEVEL = 3  # what Orbax's (and ocpx's) zarr metadata records


def _leaves(tree):
  import jax  # pylint: disable=g-import-not-at-top
  return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


def save(path, leaves, pool):
  os.makedirs(path)
  t = time.perf_counter()
  local = threading.local()  # a (not thread-safe) compressor per thread

  def compress(a):
    if not hasattr(local, "cctx"):
      local.cctx = zstandard.ZstdCompressor(level=LEVEL)
    return local.cctx.compress(memoryview(
        np.ascontiguousarray(a).reshape(-1).view(np.uint8)))

  data = os.path.join(path, "data")
  fd = os.open(data, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
  sizes = []
  try:
    # Each frame is written as soon as it is compressed (in order), while
    # the pool compresses the next ones.
    for f in pool.map(compress, leaves):
      sizes.append(len(f))
      mv = memoryview(f)
      while mv:
        mv = mv[os.write(fd, mv):]
    os.fsync(fd)
  finally:
    os.close(fd)
  _fsync(path, os.O_RDONLY | os.O_DIRECTORY)
  _fsync(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY)
  return time.perf_counter() - t, sizes


def _aligned(nbytes, align=64):
  raw = np.empty(nbytes + align, np.uint8)
  off = (-raw.ctypes.data) % align
  return raw[off:off + nbytes]


def load(path, pool):
  """One cold load of the checkpoint at `path`: (seconds, peak RSS bytes).

  Run in a fresh process (`--load`), as `worker.py` runs a library's load:
  memory an earlier save or load of this process freed would otherwise be
  reused and hide part of the load's peak."""
  import jax  # pylint: disable=g-import-not-at-top
  jax.block_until_ready(jax.device_put(np.zeros(16, np.float32)))  # warm
  with open(os.path.join(path, "index.json")) as f:
    index = json.load(f)
  leaves = [(tuple(e["shape"]), jax.numpy.dtype(e["dtype"])) for e in index]
  sizes = [e["size"] for e in index]
  offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
  dropped = drop_caches()
  reset_peak()
  before = _status()["VmRSS"]
  t = time.perf_counter()
  fd = os.open(os.path.join(path, "data"), os.O_RDONLY)
  local = threading.local()

  def decompress(i):
    if not hasattr(local, "dctx"):
      local.dctx = zstandard.ZstdDecompressor()
    shape, dtype = leaves[i]
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    out = _aligned(nbytes)
    # Each task reads its own frame, so reads overlap decompression.
    frame = os.pread(fd, offsets[i + 1] - offsets[i], offsets[i])
    # Straight into the aligned buffer: no intermediate bytes object.
    with local.dctx.stream_reader(frame) as reader:
      mv, done = memoryview(out), 0
      while done < nbytes:
        n = reader.readinto(mv[done:])
        if n == 0:
          raise ValueError(f"leaf {i}: frame decompressed short")
        done += n
    return out.view(dtype).reshape(shape)

  try:
    arrays = [jax.device_put(x)
              for x in pool.map(decompress, range(len(leaves)))]
    jax.block_until_ready(arrays)
    dt = time.perf_counter() - t
  finally:
    os.close(fd)
  return {"time_s": dt, "peak_rss": _status()["VmHWM"] - before,
          "dropped_caches": dropped}


def main():
  ap = argparse.ArgumentParser(description=__doc__,
                               formatter_class=argparse.RawTextHelpFormatter)
  ap.add_argument("--workload", default="many")
  ap.add_argument("--reps", type=int, default=5)
  ap.add_argument("--tmp", default="/tmp")
  ap.add_argument("--load", metavar="PATH",
                  help="(internal) one cold load in this process; prints "
                  "its time and peak RSS as JSON")
  args = ap.parse_args()
  pool = concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1)
  if args.load:
    print(json.dumps(load(args.load, pool)))
    return
  leaves = _leaves(workloads.build(args.workload))
  saves, loads, peaks = [], [], []
  dropped = True
  for _ in range(args.reps):
    parent = tempfile.mkdtemp(prefix="ocpx-format-floor-", dir=args.tmp)
    try:
      path = os.path.join(parent, "ckpt")
      dt, sizes = save(path, leaves, pool)
      saves.append(dt)
      with open(os.path.join(path, "index.json"), "w") as f:
        json.dump([{"shape": list(a.shape), "dtype": a.dtype.name,
                    "size": n} for a, n in zip(leaves, sizes)], f)
      out = json.loads(subprocess.run(
          [sys.executable, os.path.abspath(__file__), "--load", path],
          check=True, capture_output=True, text=True).stdout)
      dropped = out["dropped_caches"] and dropped
      loads.append(out["time_s"])
      peaks.append(out["peak_rss"])
    finally:
      shutil.rmtree(parent)
  print(json.dumps({
      "workload": args.workload, "leaves": len(leaves),
      "bytes": int(sum(a.nbytes for a in leaves)),
      "compressed_bytes": int(sum(sizes)),
      "save_s": {"min": min(saves), "median": statistics.median(saves)},
      "load_s": {"min": min(loads), "median": statistics.median(loads),
                 "dropped_caches": dropped,
                 "peak_rss_median": int(statistics.median(peaks))},
  }))


if __name__ == "__main__":
  main()
