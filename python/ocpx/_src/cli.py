# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The `ocpx` command-line tool: inspect, verify and export checkpoints.

Everything is read through the C++ reader (`ocpx._core.CheckpointReader`),
so no JAX arrays or Orbax code are involved in reading, and this module
imports neither JAX nor the Python API layer (numpy only where arrays are
handled), which keeps `ocpx --help` instant:

  ocpx inspect PATH                 the tree: shapes, dtypes, bytes, sharding
  ocpx verify PATH                  decode every chunk, checking every CRC
                                    (and saying which arrays have none)
  ocpx export PATH --to safetensors OUT.safetensors
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import sys
import time
from typing import Iterator, Optional, Sequence

# Bytes read per request by verify/export (a slab of whole chunks).
DEFAULT_BUFFER_BYTES = 64 << 20

def _json_loads(text: str, where: str):
  """json.loads; deep nesting or bad JSON is a ValueError naming `where`.
  (The reader already refuses files nested deeper than 512 levels; this
  module stays free of the API layer's imports.)"""
  try:
    return json.loads(text)
  except RecursionError as e:
    raise ValueError(f"{where}: JSON nested too deeply") from e
  except ValueError as e:
    raise ValueError(f"{where}: not valid JSON: {e}") from e


def _core():
  from ocpx import _core  # pylint: disable=g-import-not-at-top
  return _core


def _is_remote(path) -> bool:
  return str(path).startswith(("gs://", "s3://"))


def _open(path: str, checkpointable: Optional[str]):
  if _is_remote(path):  # gs://, s3://: TensorStore, not the C++ reader
    from ocpx._src.remote import reader  # pylint: disable=g-import-not-at-top
    return reader.RemoteCheckpointReader(
        path, "AUTO" if checkpointable is None else checkpointable)
  return _core().CheckpointReader(
      path, "AUTO" if checkpointable is None else checkpointable)


def human_bytes(n: float) -> str:
  if n < 1024:
    return f"{n} B"
  for unit in ("KiB", "MiB", "GiB", "TiB"):
    n /= 1024.0
    if n < 1024 or unit == "TiB":
      return f"{n:.1f} {unit}"
  return f"{n} B"


def _shape_str(shape) -> str:
  return "[" + ",".join(str(d) for d in shape) + "]"


def sharding_summary(text: Optional[str]) -> str:
  if not text:
    return ""
  try:
    d = _json_loads(text, "sharding")
  except ValueError:
    return "sharding: (unreadable)"
  if not isinstance(d, dict):
    return "sharding: (unreadable)"
  kind = d.get("sharding_type")
  if kind == "NamedSharding":
    mesh = ",".join(f"{a}={s}" for a, s in zip(d.get("axis_names", []),
                                               d.get("shape", [])))
    spec = ",".join("None" if p is None else
                    ("(" + ",".join(p) + ")" if isinstance(p, list) else str(p))
                    for p in d.get("partition_spec", []))
    return f"NamedSharding(mesh[{mesh}], P({spec}))"
  if kind == "SingleDeviceSharding":
    return f"SingleDeviceSharding({d.get('device_str')})"
  return str(kind)


def _format_ns(ns) -> str:
  if ns is None:
    return "-"
  return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ns / 1e9))


# ---------------------------------------------------------------------------
# Box iteration


def _odometer(counts: Sequence[int]) -> Iterator[tuple]:
  """Every index tuple below `counts` in C order, generated lazily: a claimed
  shape of 2^53 must not materialize the index space (reading stops at the
  first missing or bad chunk)."""
  if any(c <= 0 for c in counts):
    return
  idx = [0] * len(counts)
  while True:
    yield tuple(idx)
    k = len(counts) - 1
    while k >= 0:
      idx[k] += 1
      if idx[k] < counts[k]:
        break
      idx[k] = 0
      k -= 1
    if k < 0:
      return


def iter_boxes(shape: Sequence[int], chunk: Sequence[int], itemsize: int,
               budget: int) -> Iterator[tuple[tuple, tuple]]:
  """Boxes (origin, shape) covering `shape`, each a union of whole chunks.

  Every chunk is in exactly one box, and a box holds at most `budget` bytes
  unless a single chunk is larger.  Boxes are whole rows of chunks along the
  leading axes where possible, so that few requests are made.
  """
  rank = len(shape)
  if rank == 0:
    yield (), ()
    return
  if any(d == 0 for d in shape):
    return
  chunk = [max(1, min(c, d)) for c, d in zip(chunk, shape)]
  # Smallest split axis k: box = chunk along axes < k, m chunks along k,
  # the full extent along axes > k.
  k = rank
  unit = 0
  for axis in range(rank):
    unit = math.prod(chunk[:axis + 1]) * math.prod(shape[axis + 1:]) * itemsize
    if unit <= budget:
      k = axis
      break
  if k == rank:
    step = list(chunk)
  else:
    m = max(1, budget // max(unit, 1))
    step = list(chunk[:k]) + [chunk[k] * m] + list(shape[k + 1:])
  counts = [math.ceil(d / s) for d, s in zip(shape, step)]
  for idx in _odometer(counts):
    origin = tuple(i * s for i, s in zip(idx, step))
    box = tuple(min(s, d - o) for s, d, o in zip(step, shape, origin))
    yield origin, box


def iter_row_slabs(shape: Sequence[int], chunk: Sequence[int], itemsize: int,
                   budget: int) -> Iterator[tuple[tuple, tuple]]:
  """C-order-contiguous slabs: whole chunk rows along axis 0."""
  if not shape:
    yield (), ()
    return
  if any(d == 0 for d in shape):
    return
  row = math.prod(shape[1:]) * itemsize
  c0 = max(1, min(chunk[0], shape[0]))
  rows = c0 * max(1, budget // max(row * c0, 1))
  for r in range(0, shape[0], rows):
    n = min(rows, shape[0] - r)
    yield (r,) + (0,) * (len(shape) - 1), (n,) + tuple(shape[1:])


# ---------------------------------------------------------------------------
# Progress


class Progress:
  """A progress bar on stderr, drawn only for runs longer than `delay` s."""

  def __init__(self, total: int, enabled: bool, delay: float = 1.0):
    self.total = max(total, 1)
    self.done = 0
    self.enabled = enabled
    self.start = time.monotonic()
    self.delay = delay
    self.last = 0.0
    self.drawn = False

  def update(self, nbytes: int, label: str) -> None:
    self.done += nbytes
    if not self.enabled:
      return
    now = time.monotonic()
    if now - self.start < self.delay or now - self.last < 0.1:
      return
    self.last = now
    frac = min(1.0, self.done / self.total)
    bar = "#" * int(frac * 30)
    rate = self.done / max(now - self.start, 1e-9)
    sys.stderr.write(
        f"\r[{bar:<30}] {frac * 100:5.1f}% {human_bytes(self.done)}/"
        f"{human_bytes(self.total)} {human_bytes(int(rate))}/s {label[:40]:<40}")
    sys.stderr.flush()
    self.drawn = True

  def close(self) -> None:
    if self.drawn:
      sys.stderr.write("\n")
      sys.stderr.flush()


# ---------------------------------------------------------------------------
# inspect


def _tree_lines(leaves: list) -> list[str]:
  lines = []
  printed: tuple = ()
  rows = []
  for leaf in leaves:
    names = tuple(k for k, _ in leaf["key_path"]) or ("<root>",)
    common = 0
    while (common < len(printed) and common < len(names) - 1
           and printed[common] == names[common]):
      common += 1
    for depth in range(common, len(names) - 1):
      rows.append(("  " * depth + names[depth], None))
    printed = names[:-1]
    rows.append(("  " * (len(names) - 1) + names[-1], leaf))
  width = max(len(label) for label, _ in rows) + 2
  for label, leaf in rows:
    if leaf is None:
      lines.append(label)
      continue
    kind = leaf["kind"]
    if kind in ("array", "scalar"):
      desc = (f"{leaf['dtype_name']}{_shape_str(leaf['shape'])}".ljust(24) +
              human_bytes(leaf["nbytes"]).rjust(10) + "  " +
              leaf["value_type"])
      extra = []
      if leaf["shape"]:
        extra.append(f"chunk {_shape_str(leaf['chunk_shape'])}")
      s = sharding_summary(leaf["sharding"])
      if s:
        extra.append(s)
      if extra:
        desc += "  " + "  ".join(extra)
    elif kind == "string":
      desc = "string"
    else:
      desc = leaf["value_type"]
    lines.append(label.ljust(width) + desc)
  return lines


def cmd_inspect(args) -> int:
  reader = _open(args.path, args.checkpointable)
  leaves = reader.leaves()
  if args.json:
    out = {
        "path": reader.path,
        "layout": reader.layout,
        "checkpointable": reader.checkpointable,
        "metadata_inferred": reader.metadata_inferred,
        "checkpoint_metadata": _json_loads(
            reader.step_metadata_json() or "null",
            f"{reader.path}/_CHECKPOINT_METADATA"),
        "leaves": [{
            "name": l["name"],
            "key_path": [list(k) for k in l["key_path"]],
            "value_type": l["value_type"],
            "kind": l["kind"],
            "shape": list(l["shape"]) if l["shape"] is not None else None,
            "dtype": l["dtype_name"],
            "chunk_shape": (list(l["chunk_shape"])
                            if l["chunk_shape"] is not None else None),
            "nbytes": l["nbytes"],
            "zarr_format": l["zarr_format"],
            "chunk_checksums": l["chunk_checksums"],
            "sharding": (_json_loads(l["sharding"], f"{l['name']}: _sharding")
                         if l["sharding"] else None),
        } for l in leaves],
    }
    print(json.dumps(out, indent=1))
    return 0
  total = sum(l["nbytes"] for l in leaves)
  name = reader.checkpointable or "<root>"
  print(f"{reader.path}: {reader.layout} layout, checkpointable {name!r}, "
        f"{len(leaves)} leaves, {human_bytes(total)}"
        + (" (tree rebuilt: _METADATA missing)"
           if reader.metadata_inferred else ""))
  meta = reader.step_metadata_json()
  if meta is not None:
    m = _json_loads(meta, f"{reader.path}/_CHECKPOINT_METADATA")
    if not isinstance(m, dict):
      raise ValueError(f"{reader.path}/_CHECKPOINT_METADATA: not a JSON object")
    print(f"  saved {_format_ns(m.get('init_timestamp_nsecs'))}, committed "
          f"{_format_ns(m.get('commit_timestamp_nsecs'))}")
    if m.get("custom_metadata"):
      print(f"  custom_metadata: {json.dumps(m['custom_metadata'])}")
  for line in _tree_lines(leaves):
    print("  " + line)
  return 0


# ---------------------------------------------------------------------------
# verify


def _pytree_names(path: str, first: str) -> list[str]:
  """The resolved checkpointable plus every other PyTree checkpointable (the
  C++ reader's rule, `pytree_checkpointable_names`)."""
  if first == "":
    return [first]
  if _is_remote(path):
    from ocpx._src import layout  # pylint: disable=g-import-not-at-top
    from ocpx._src.remote import rpath  # pylint: disable=g-import-not-at-top
    source = layout.path_source(rpath.RemotePath(path))
  else:
    source = str(pathlib.Path(path))
  names = _core().pytree_checkpointable_names(source)
  return [first] + [n for n in names if n != first]


def cmd_verify(args) -> int:
  first = _open(args.path, args.checkpointable)
  names = ([first.checkpointable] if args.checkpointable is not None else
           _pytree_names(args.path, first.checkpointable))
  readers = []
  bad: list[tuple[str, str]] = []
  for n in names:
    try:
      readers.append(first if n == first.checkpointable else _open(args.path, n))
    except (OSError, ValueError, RuntimeError, MemoryError) as e:
      bad.append((n, str(e)))
  total = sum(l["nbytes"] for r in readers for l in r.leaves())
  show = args.progress if args.progress is not None else sys.stderr.isatty()
  progress = Progress(total, show)
  checked = 0
  chunks = 0
  unchecked: list[str] = []  # arrays whose chunk data has no checksum
  for r in readers:
    prefix = f"{r.checkpointable}/" if len(readers) > 1 else ""
    for leaf in r.leaves():
      key = prefix + leaf["name"]
      try:
        if leaf["kind"] == "string":
          r.read_string(leaf["name"])
        elif leaf["kind"] in ("array", "scalar"):
          if not leaf.get("chunk_checksums"):
            unchecked.append(key)
          itemsize = leaf["dtype"].itemsize
          for origin, box in iter_boxes(leaf["shape"], leaf["grid_chunk_shape"],
                                        itemsize, args.buffer_bytes):
            r.read(leaf["name"], list(origin), list(box))
            chunks += 1
            progress.update(math.prod(box) * itemsize, key)
        checked += 1
      except (OSError, ValueError, RuntimeError, MemoryError) as e:
        bad.append((key, str(e)))
        progress.update(0, key)
  progress.close()
  if unchecked:
    print(_unchecked_note(unchecked), file=sys.stderr)
  if bad:
    for key, msg in bad:
      print(f"CORRUPT {key}: {msg}", file=sys.stderr)
    print(f"verify: FAILED: {len(bad)} bad leaves: "
          + ", ".join(k for k, _ in bad), file=sys.stderr)
    return 1
  what = ("decoded and checked" if not unchecked else
          "decoded; chunk data checksummed for "
          f"{_num_arrays(readers) - len(unchecked)} arrays, "
          f"NOT for {len(unchecked)}")
  print(f"verify: OK: {checked} leaves, {chunks} reads, "
        f"{human_bytes(total)} {what} ({args.path})")
  return 0


def _num_arrays(readers) -> int:
  """Number of array and scalar leaves of `readers`."""
  return sum(1 for r in readers for l in r.leaves()
             if l["kind"] in ("array", "scalar"))


def _unchecked_note(keys: list[str]) -> str:
  """What verify cannot check for arrays stored without chunk checksums."""
  shown = ", ".join(keys[:5]) + (f", ... ({len(keys)} in all)"
                                 if len(keys) > 5 else "")
  return (
      f"verify: NOTE: {len(keys)} arrays have no checksum on their chunk "
      f"data ({shown}).  They were written by Orbax, as zarr2, or with "
      "ArrayOptions.Saving(enable_chunk_checksums=False).  Their chunks were "
      "read and decoded, and whatever checksums their format has (OCDBT "
      "nodes, zarr3 shard indexes) were checked, but a corrupted byte inside "
      "their chunk data can decode to wrong values without any error: verify "
      "cannot detect that for these arrays.")


# ---------------------------------------------------------------------------
# export

_SAFETENSORS_DTYPES = {
    "bool": "BOOL", "uint8": "U8", "int8": "I8", "uint16": "U16",
    "int16": "I16", "float16": "F16", "bfloat16": "BF16", "uint32": "U32",
    "int32": "I32", "float32": "F32", "uint64": "U64", "int64": "I64",
    "float64": "F64", "float8_e4m3fn": "F8_E4M3", "float8_e5m2": "F8_E5M2",
}


def export_safetensors(reader, out: pathlib.Path, *, skip_unsupported: bool,
                       buffer_bytes: int, progress: Progress) -> list[str]:
  """Writes every array/scalar leaf; returns the names skipped."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  header = {}
  order = []
  skipped = []
  offset = 0
  for leaf in reader.leaves():
    if leaf["kind"] not in ("array", "scalar"):
      skipped.append(leaf["name"])
      continue
    st = _SAFETENSORS_DTYPES.get(leaf["dtype_name"])
    if st is None:
      if skip_unsupported:
        skipped.append(leaf["name"])
        continue
      raise ValueError(
          f"{reader.path}: leaf {leaf['name']!r} has dtype "
          f"{leaf['dtype_name']}, which safetensors cannot hold (pass "
          "--skip-unsupported to leave it out)")
    if leaf["name"] in header:
      raise ValueError(f"{reader.path}: duplicate param name {leaf['name']!r}")
    header[leaf["name"]] = {"dtype": st, "shape": list(leaf["shape"]),
                            "data_offsets": [offset, offset + leaf["nbytes"]]}
    offset += leaf["nbytes"]
    order.append(leaf)
  header["__metadata__"] = {"format": "np", "source": "ocpx export",
                            "checkpoint": str(reader.path)}
  text = json.dumps(header, separators=(",", ":")).encode("utf-8")
  text += b" " * (-len(text) % 8)
  tmp = out.with_name(out.name + ".tmp")
  try:
    with open(tmp, "wb") as f:
      f.write(len(text).to_bytes(8, "little"))
      f.write(text)
      for leaf in order:
        itemsize = leaf["dtype"].itemsize
        for origin, box in iter_row_slabs(leaf["shape"],
                                          leaf["grid_chunk_shape"], itemsize,
                                          buffer_bytes):
          data = reader.read(leaf["name"], list(origin), list(box))
          data = np.ascontiguousarray(data)
          if data.dtype.byteorder == ">":
            data = data.byteswap()
          f.write(data.reshape(-1).view(np.uint8).data)
          progress.update(data.nbytes, leaf["name"])
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, out)
  finally:
    if tmp.exists():
      tmp.unlink()
  return skipped


def cmd_export(args) -> int:
  if args.to != "safetensors":
    print(f"ocpx export: unsupported format {args.to!r}", file=sys.stderr)
    return 2
  reader = _open(args.path, args.checkpointable)
  total = sum(l["nbytes"] for l in reader.leaves())
  show = args.progress if args.progress is not None else sys.stderr.isatty()
  progress = Progress(total, show)
  try:
    skipped = export_safetensors(reader, pathlib.Path(args.out),
                                 skip_unsupported=args.skip_unsupported,
                                 buffer_bytes=args.buffer_bytes,
                                 progress=progress)
  finally:
    progress.close()
  if skipped:
    print(f"ocpx export: left out non-tensor leaves: {', '.join(skipped)}",
          file=sys.stderr)
  print(f"wrote {args.out}")
  return 0


# ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(
      prog="ocpx", description="Inspect, verify and export Orbax checkpoints "
      "(read by ocpx's C++ reader).")
  sub = p.add_subparsers(dest="command", required=True)

  def common(sp):
    sp.add_argument("path", help="checkpoint directory")
    sp.add_argument("--checkpointable", default=None,
                    help="checkpointable to read (default: AUTO, as ocp.load; "
                    "'' for a v0 flat PyTree at the root)")

  def io_opts(sp):
    sp.add_argument("--buffer-bytes", type=int, default=DEFAULT_BUFFER_BYTES,
                    help="bytes read per request (memory bound; default "
                    "64 MiB, or one chunk row if larger)")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--progress", dest="progress", action="store_true",
                   default=None, help="always show a progress bar on stderr")
    g.add_argument("--no-progress", dest="progress", action="store_false",
                   help="never show the progress bar")

  sp = sub.add_parser("inspect", help="print the tree with shapes, dtypes, "
                      "bytes and sharding")
  common(sp)
  sp.add_argument("--json", action="store_true", help="machine-readable output")
  sp.set_defaults(func=cmd_inspect)

  sp = sub.add_parser("verify", help="read and decode every chunk of every "
                      "array, checking every checksum")
  common(sp)
  io_opts(sp)
  sp.set_defaults(func=cmd_verify)

  sp = sub.add_parser("export", help="write the arrays to another format")
  common(sp)
  sp.add_argument("--to", required=True, choices=["safetensors"])
  sp.add_argument("out", help="output file")
  sp.add_argument("--skip-unsupported", action="store_true",
                  help="leave out arrays whose dtype the format cannot hold")
  io_opts(sp)
  sp.set_defaults(func=cmd_export)
  return p


def main(argv: Optional[Sequence[str]] = None) -> int:
  args = build_parser().parse_args(argv)
  try:
    return args.func(args)
  except (OSError, ValueError, RuntimeError, MemoryError) as e:
    print(f"ocpx {args.command}: error: {e}", file=sys.stderr)
    return 1
  except KeyboardInterrupt:
    return 130
