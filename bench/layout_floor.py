"""The floor of Orbax's on-disk layout for a tiny checkpoint, on this disk.

`raw` writes a 4 KiB leaf as one file; a checkpoint in Orbax's layout (what
ocpx and Orbax both write) is 9 files in 6 directories.  This measures, with
plain system calls and no checkpointing library, what that layout costs on
this machine: every file of a real checkpoint copied (same names, sizes and
directories) into a temporary directory with os.write, all fsynced at once on
a thread pool (as ocpx's save does), every directory fsynced, the rename
into place and the parent's fsync; then, with the page cache dropped, the
reads a load must make in their dependency order (metadata, the OCDBT
manifest, the B+tree node, the data file).

  python bench/layout_floor.py CHECKPOINT [--reps 20]

Prints one JSON line: min and median seconds for the durable write and the
cold read, and the number of files and directories.
"""

import argparse
import concurrent.futures
import json
import os
import shutil
import statistics
import tempfile
import time


def _files_and_dirs(root):
  files, dirs = [], []
  for d, subdirs, names in os.walk(root):
    rel = os.path.relpath(d, root)
    dirs.append(rel)
    for n in names:
      p = os.path.join(d, n)
      with open(p, "rb") as f:
        files.append((os.path.normpath(os.path.join(rel, n)), f.read()))
    subdirs.sort()
  return files, dirs


def _fsync(path, flags=os.O_RDONLY):
  fd = os.open(path, flags)
  try:
    os.fsync(fd)
  finally:
    os.close(fd)


def durable_write(files, dirs, parent, pool):
  tmp = os.path.join(parent, "ckpt.tmp")
  final = os.path.join(parent, "ckpt")
  t = time.perf_counter()
  for d in dirs:
    os.makedirs(os.path.join(tmp, d), exist_ok=True)

  def write(item):
    rel, data = item
    fd = os.open(os.path.join(tmp, rel), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
      os.write(fd, data)
      os.fsync(fd)
    finally:
      os.close(fd)

  list(pool.map(write, files))
  list(pool.map(lambda d: _fsync(os.path.join(tmp, d)), dirs))
  os.rename(tmp, final)
  _fsync(parent)
  return time.perf_counter() - t, final


def drop_caches() -> bool:
  try:
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
      f.write("3\n")
    return True
  except OSError:
    return False


def cold_read(final, order):
  t = time.perf_counter()
  for rel in order:
    with open(os.path.join(final, rel), "rb") as f:
      f.read()
  return time.perf_counter() - t


def main():
  ap = argparse.ArgumentParser(description=__doc__,
                               formatter_class=argparse.RawTextHelpFormatter)
  ap.add_argument("checkpoint")
  ap.add_argument("--reps", type=int, default=20)
  args = ap.parse_args()
  files, dirs = _files_and_dirs(args.checkpoint)
  # The reads of a load, in the order each one needs the previous: the
  # step and PyTree metadata, the root manifest, its B+tree node(s), then
  # the data file the node points to.
  def rank(rel):
    name = os.path.basename(rel)
    if name in ("_CHECKPOINT_METADATA", "_METADATA", "_sharding"):
      return 0
    if name == "manifest.ocdbt" and os.path.dirname(rel).count(os.sep) == 0:
      return 1
    if "ocdbt.process_" not in rel and os.sep + "d" + os.sep in rel:
      return 2
    if "ocdbt.process_" in rel and os.sep + "d" + os.sep in rel:
      return 3
    return None
  order = sorted((r for r, _ in files if rank(r) is not None), key=rank)
  pool = concurrent.futures.ThreadPoolExecutor(16)
  writes, reads = [], []
  dropped = True
  for _ in range(args.reps):
    parent = tempfile.mkdtemp(prefix="ocpx-floor-", dir="/tmp")
    try:
      dt, final = durable_write(files, dirs, parent, pool)
      writes.append(dt)
      dropped = drop_caches() and dropped
      reads.append(cold_read(final, order))
    finally:
      shutil.rmtree(parent)
  print(json.dumps({
      "files": len(files), "directories": len(dirs),
      "durable_write_s": {"min": min(writes),
                          "median": statistics.median(writes)},
      "cold_read_s": {"min": min(reads), "median": statistics.median(reads),
                      "files_read": len(order), "dropped_caches": dropped},
  }))


if __name__ == "__main__":
  main()
