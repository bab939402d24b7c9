"""One measurement in a fresh process; prints one JSON line on stdout.

  python bench/worker.py --lib ocpx|orbax|raw|raw1|ocpx_v0|orbax_v0 --workload W --op OP --path P

OPs:
  save        blocking save of the tree to P
  save_async  save_async: time to return, and to completion; then the time of
              a plain host copy (memcpy) of the same tree in the same process
  load        load P with the abstract tree (same shardings as saved)
  load_reshard  load P into a different sharding (workload `sharded`)
  save_limited, load_limited
              save / load as above inside a v1 `Context` whose MemoryOptions
              set write_concurrent_bytes and read_concurrent_bytes to --limit
              (ocpx and orbax only)
  import      import time of jax, then of the library on top of it

Method (see bench/README.md): the tree is built first; then, unless --cold,
one warm-up operation of the same kind runs on a 4 KiB tree in a scratch
directory (lazy imports, thread pools), so the measured figure is the
steady-state cost of the call.  Peak RSS: after the tree is built (and the
warm-up), VmHWM is reset by writing "5" to /proc/self/clear_refs, VmRSS is
read, the operation runs, and the figure is VmHWM - VmRSS(before).  For loads
the page cache is dropped (sync; echo 3 > /proc/sys/vm/drop_caches) right
before the timed call when permitted; the JSON says whether it was.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workloads  # noqa: E402


def _status():
  out = {}
  with open("/proc/self/status") as f:
    for line in f:
      k, v = line.split(":", 1)
      if k in ("VmHWM", "VmRSS"):
        out[k] = int(v.split()[0]) * 1024
  return out


def reset_peak() -> bool:
  try:
    with open("/proc/self/clear_refs", "w") as f:
      f.write("5")
    return True
  except OSError:
    return False


def drop_caches() -> bool:
  os.sync()
  try:
    with open("/proc/sys/vm/drop_caches", "w") as f:
      f.write("3")
    return True
  except OSError:
    return False


def disk_usage(path):
  files, nbytes = 0, 0
  for root, _, names in os.walk(path):
    for n in names:
      files += 1
      nbytes += os.lstat(os.path.join(root, n)).st_size
  return files, nbytes


def block(tree):
  import jax
  for x in jax.tree_util.tree_leaves(tree):
    if isinstance(x, jax.Array):
      x.block_until_ready()


# ---------------------------------------------------------------------------
# raw: the same bytes with plain writes + fsync per file and of the directory;
# read back with np.fromfile plus one memcpy.
# raw1: the same bytes written one after the other into ONE file (fsync of the
# file, the directory and its parent); read back with one np.fromfile of the
# whole file plus one memcpy per leaf/shard.

def _unique_shards(tree):
  """[(file name, numpy view)] of the bytes a checkpoint must hold: replica 0
  of every shard of every leaf (zero-copy views on the CPU backend)."""
  import jax
  out = []
  leaves = jax.tree_util.tree_leaves_with_path(tree)
  for i, (kp, x) in enumerate(leaves):
    if isinstance(x, jax.Array):
      for j, s in enumerate(x.addressable_shards):
        if s.replica_id == 0:
          out.append((f"{i:05d}.{j:03d}", np.asarray(s.data)))
    else:
      out.append((f"{i:05d}.000", np.asarray(x)))
  return out


def _write_all(fd, arr):
  mv = memoryview(np.ascontiguousarray(arr).reshape(-1).view(np.uint8))
  while mv:
    n = os.write(fd, mv)
    mv = mv[n:]


def _write_file(dirpath, name, arr):
  fd = os.open(os.path.join(dirpath, name),
               os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
  try:
    _write_all(fd, arr)
    os.fsync(fd)
  finally:
    os.close(fd)


def _fsync_dir(path):
  fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
  try:
    os.fsync(fd)
  finally:
    os.close(fd)


def _write_index(path, index):
  with open(os.path.join(path, "index.json"), "w") as f:
    json.dump(index, f)
    f.flush()
    os.fsync(f.fileno())


def _raw_write(path, shards):
  """raw: one file per shard, each fsynced; index.json; the directory and
  its parent fsynced."""
  os.makedirs(path)
  index = []
  for name, arr in shards:
    _write_file(path, name, arr)
    index.append([name, arr.dtype.name, list(arr.shape)])
  _write_index(path, index)
  _fsync_dir(path)
  _fsync_dir(os.path.dirname(path))


RAW1_DATA = "data"


def _raw1_write(path, shards):
  """raw1: every shard appended to the one file `data` with os.write (no
  padding), one fsync of it; index.json (name, dtype, shape, offset, bytes);
  the directory and its parent fsynced."""
  os.makedirs(path)
  index = []
  offset = 0
  fd = os.open(os.path.join(path, RAW1_DATA),
               os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
  try:
    for name, arr in shards:
      _write_all(fd, arr)
      index.append([name, arr.dtype.name, list(arr.shape), offset,
                    arr.nbytes])
      offset += arr.nbytes
    os.fsync(fd)
  finally:
    os.close(fd)
  _write_index(path, index)
  _fsync_dir(path)
  _fsync_dir(os.path.dirname(path))


def raw_save(path, tree):
  _raw_write(path, _unique_shards(tree))


def raw1_save(path, tree):
  _raw1_write(path, _unique_shards(tree))


class _RawAsync:
  def __init__(self, path, tree, write=_raw_write):
    # Host copies first (what any async checkpointer must do), then a thread.
    self._copies = [(n, a.copy()) for n, a in _unique_shards(tree)]
    self._path = path
    self._write = write
    self._t = threading.Thread(target=self._run)
    self._t.start()

  def _run(self):
    self._write(self._path, self._copies)

  def result(self):
    self._t.join()


def _dtype(name):
  try:
    return np.dtype(name)
  except TypeError:
    import ml_dtypes
    return np.dtype(getattr(ml_dtypes, name))


def raw_load(path, abstract_unused):
  del abstract_unused
  with open(os.path.join(path, "index.json")) as f:
    index = json.load(f)
  out = []
  for name, dt, shape in index:
    a = np.fromfile(os.path.join(path, name), dtype=_dtype(dt))
    dst = np.empty(shape, dtype=a.dtype)
    np.copyto(dst, a.reshape(shape))
    out.append(dst)
  return out


def raw1_load(path, abstract_unused):
  del abstract_unused
  with open(os.path.join(path, "index.json")) as f:
    index = json.load(f)
  buf = np.fromfile(os.path.join(path, RAW1_DATA), dtype=np.uint8)
  out = []
  for _, dt, shape, offset, nbytes in index:
    dst = np.empty(shape, dtype=_dtype(dt))
    dst.reshape(-1).view(np.uint8)[:] = buf[offset:offset + nbytes]
    out.append(dst)
  return out


# ---------------------------------------------------------------------------

def _v1(ocp, limit):
  """save, save_async, load of a v1 API; with `limit`, each call runs inside
  a Context setting the memory limits, as an Orbax v1 user sets them."""
  if limit is None:
    return (lambda p, t: ocp.save(p, t),
            lambda p, t: ocp.save_async(p, t),
            lambda p, a: ocp.load(p, a))
  ctx = ocp.Context(memory_options=ocp.options.MemoryOptions(
      write_concurrent_bytes=limit, read_concurrent_bytes=limit))

  def save(p, t):
    with ctx:
      return ocp.save(p, t)

  def save_async(p, t):
    with ctx:
      return ocp.save_async(p, t)

  def load(p, a):
    with ctx:
      return ocp.load(p, a)
  return save, save_async, load


def library(lib, limit=None):
  if limit is not None and lib not in ("ocpx", "orbax"):
    raise ValueError(f"memory limits: ocpx and orbax only, not {lib}")
  if lib == "ocpx":
    from ocpx import v1 as ocp
    return _v1(ocp, limit)
  if lib == "orbax":
    import orbax.checkpoint.experimental.v1 as ocp_orbax
    return _v1(ocp_orbax, limit)
  if lib in ("ocpx_v0", "orbax_v0"):
    # The v0 API: StandardCheckpointer (AsyncCheckpointer over the
    # PyTree-based StandardCheckpointHandler), as most existing code uses it.
    if lib == "ocpx_v0":
      import ocpx as v0
    else:
      import orbax.checkpoint as v0
    ckptr = v0.StandardCheckpointer()

    def v0_save(p, t):
      ckptr.save(p, t)
      ckptr.wait_until_finished()

    def v0_save_async(p, t):
      ckptr.save(p, t)
      return _V0Pending(ckptr)
    return v0_save, v0_save_async, lambda p, a: ckptr.restore(p, a)
  if lib == "raw":
    return raw_save, _RawAsync, raw_load
  if lib == "raw1":
    return (raw1_save, lambda p, t: _RawAsync(p, t, write=_raw1_write),
            raw1_load)
  raise ValueError(lib)


class _V0Pending:
  """`.result()` of a v0 async save: waits for the checkpointer."""

  def __init__(self, ckptr):
    self._ckptr = ckptr

  def result(self):
    self._ckptr.wait_until_finished()


def memcpy_time(tree) -> float:
  t = time.perf_counter()
  copies = [a.copy() for _, a in _unique_shards(tree)]
  dt = time.perf_counter() - t
  del copies
  return dt


RAW_LIBS = ("raw", "raw1")


def verify_raw(workload, loaded):
  """raw/raw1 load a flat list of replica-0 shards.  Where every leaf is one
  shard (all workloads but `sharded`), that list is the leaves in order:
  check each one's dtype, shape and bytes.  `sharded`: not checked (the
  baselines keep no shard index)."""
  if workloads.DEVICES.get(workload, 1) > 1:
    return True
  expected = workloads.expected_leaves(workload)
  if len(loaded) != len(expected):
    raise AssertionError(f"{len(loaded)} arrays loaded, {len(expected)} leaves")
  for got, (path, exp) in zip(loaded, expected):
    want = np.asarray(workloads.materialize(exp))
    if isinstance(exp, tuple):  # an array leaf: exact dtype and bytes
      if got.dtype != want.dtype or not np.array_equal(got, want):
        raise AssertionError(f"{path}: wrong data")
    elif got.shape != () or got.item() != want.item():
      raise AssertionError(f"{path}: {got!r} != {want!r}")
  return True


def verify(workload, loaded, lib, resharded):
  import jax
  if lib in RAW_LIBS:
    return verify_raw(workload, loaded)
  abstract = workloads.abstract(workload, resharded)
  for path, exp in workloads.expected_leaves(workload):
    got = workloads.get(loaded, path)
    want = workloads.materialize(exp)
    if isinstance(got, jax.Array):
      a = workloads.get(abstract, path)
      if got.sharding != a.sharding and not got.sharding.is_equivalent_to(
          a.sharding, len(a.shape)):
        raise AssertionError(f"{path}: sharding {got.sharding} != {a.sharding}")
      got = np.asarray(got)
    if isinstance(want, np.ndarray):
      if got.dtype != want.dtype or not np.array_equal(got, want):
        raise AssertionError(f"{path}: wrong data")
    elif got != want:
      raise AssertionError(f"{path}: {got!r} != {want!r}")
  return True


def main():
  ap = argparse.ArgumentParser()
  ap.add_argument("--lib", required=True)
  ap.add_argument("--workload", required=True)
  ap.add_argument("--op", required=True)
  ap.add_argument("--path", required=True)
  ap.add_argument("--scratch", required=True)
  ap.add_argument("--cold", action="store_true")
  ap.add_argument("--verify", action="store_true")
  ap.add_argument("--keep-cache", action="store_true",
                  help="load: do not drop the page cache")
  ap.add_argument("--limit", type=int, default=None,
                  help="bytes: write_concurrent_bytes and "
                  "read_concurrent_bytes for save_limited / load_limited")
  args = ap.parse_args()
  res = {"lib": args.lib, "workload": args.workload, "op": args.op,
         "cold": args.cold, "keep_cache": args.keep_cache}
  op = args.op
  limit = None
  if op in ("save_limited", "load_limited"):
    if not args.limit:
      ap.error(f"--op {op} needs --limit BYTES")
    op = op[:-len("_limited")]
    limit = res["limit"] = args.limit

  if args.op == "import":
    t0 = time.perf_counter()
    import jax  # noqa: F401
    t1 = time.perf_counter()
    library(args.lib)
    t2 = time.perf_counter()
    res.update(import_jax=t1 - t0, import_lib=t2 - t1)
    print(json.dumps(res))
    return

  import logging
  logging.getLogger().setLevel(logging.WARNING)
  try:
    from absl import logging as absl_logging
    absl_logging.set_verbosity(absl_logging.WARNING)
  except ImportError:
    pass
  save, save_async, load = library(args.lib, limit)

  if op in ("save", "save_async"):
    t = time.perf_counter()
    tree = workloads.build(args.workload)
    res["build_s"] = time.perf_counter() - t
    if not args.cold:
      warm = workloads.build("tiny")
      p = os.path.join(args.scratch, "warm")
      if op == "save":
        save(p, warm)
      else:
        save_async(p, warm).result()
      shutil.rmtree(p, ignore_errors=True)
      del warm
    res["peak_reset"] = reset_peak()
    before = _status()["VmRSS"]
    if op == "save":
      t = time.perf_counter()
      save(args.path, tree)
      res["time_s"] = time.perf_counter() - t
    else:
      t = time.perf_counter()
      r = save_async(args.path, tree)
      res["return_s"] = time.perf_counter() - t
      r.result()
      res["time_s"] = time.perf_counter() - t
    res["peak_rss"] = _status()["VmHWM"] - before
    res["files"], res["bytes"] = disk_usage(args.path)
    if op == "save_async":
      res["memcpy_s"] = min(memcpy_time(tree) for _ in range(3))
  elif op in ("load", "load_reshard"):
    resharded = op == "load_reshard"
    abstract = workloads.abstract(args.workload, resharded)
    if not args.cold:
      p = os.path.join(args.scratch, "warm")
      save(p, workloads.build("tiny"))
      block(load(p, workloads.abstract("tiny")))
      shutil.rmtree(p, ignore_errors=True)
    res["dropped_caches"] = False if args.keep_cache else drop_caches()
    res["peak_reset"] = reset_peak()
    before = _status()["VmRSS"]
    t = time.perf_counter()
    out = load(args.path, abstract)
    block(out)
    res["time_s"] = time.perf_counter() - t
    res["peak_rss"] = _status()["VmHWM"] - before
    if args.verify:
      res["verified"] = verify(args.workload, out, args.lib, resharded)
  else:
    raise ValueError(args.op)
  print(json.dumps(res))


if __name__ == "__main__":
  main()
