# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Loading HuggingFace safetensors checkpoints (`CheckpointLayout.SAFETENSORS`).

A safetensors file is an 8-byte little-endian header length, a JSON header
(`name -> {dtype, shape, data_offsets}` plus an optional `__metadata__` dict
of strings) and the tensors' row-major bytes.  A checkpoint is one
`.safetensors` file or a directory of them (a sharded model); tensor names
are unique across the files.

As in orbax-checkpoint 0.12.8:
  * `load(path)` returns a flat dict `name -> np.ndarray`, every tensor read
    in full (single process only);
  * `load(path, abstract)` takes a flat dict `name -> abstract array`; each
    leaf's sharding (replicated on all devices if it has none) decides which
    bytes this process reads, and the result holds `jax.Array`s of the
    abstract dtype;
  * `metadata(path)` gives `name -> jax.ShapeDtypeStruct`, the files'
    `__metadata__` as custom metadata and the newest file's mtime (seconds)
    as commit timestamp;
  * saving, `load_checkpointables` and `checkpointables_metadata` raise
    NotImplementedError.

`SafetensorsOptions.max_over_read_ratio` bounds how many bytes may be read
for the bytes needed when neighbouring byte runs of one file are merged into
one read; `read_chunk_bytes` is the size of one ranged read, and no more than
`min(read_chunk_bytes, MemoryOptions.read_concurrent_bytes)` bytes of a file
are staged in memory at once.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import json
import os
import pathlib
from typing import Any, Callable

import jax
import ml_dtypes
import numpy as np

from ocpx._src import sharding as sharding_lib

SUFFIX = ".safetensors"
_HEADER_LEN_BYTES = 8
_MAX_HEADER_BYTES = 100 * 1024 * 1024  # the safetensors library's own limit
_DEFAULT_READ_CHUNK_BYTES = 128 * 1024 * 1024
_DEFAULT_IN_FLIGHT_BYTES = 2 * 1024 * 1024 * 1024
_MIN_COALESCE_GAP = 4096  # runs this close are always read together
_AUTO_MAX_READS_PER_FILE = 1024

_DTYPES = {
    "BOOL": np.dtype(np.bool_), "U8": np.dtype(np.uint8),
    "I8": np.dtype(np.int8), "U16": np.dtype(np.uint16),
    "I16": np.dtype(np.int16), "U32": np.dtype(np.uint32),
    "I32": np.dtype(np.int32), "U64": np.dtype(np.uint64),
    "I64": np.dtype(np.int64), "F16": np.dtype(np.float16),
    "F32": np.dtype(np.float32), "F64": np.dtype(np.float64),
    "BF16": np.dtype(ml_dtypes.bfloat16),
    "F8_E5M2": np.dtype(ml_dtypes.float8_e5m2),
    "F8_E4M3": np.dtype(ml_dtypes.float8_e4m3fn),
}


class _LayoutError(ValueError):
  """Stands in for InvalidLayoutError (defined by the layout module)."""


def _invalid_layout_error():
  try:
    from ocpx._src import layout  # pylint: disable=g-import-not-at-top
    return layout.InvalidLayoutError
  except (ImportError, AttributeError):
    return _LayoutError


def is_safetensors(path) -> bool:
  """True for a `.safetensors` file or a directory holding such files."""
  p = pathlib.Path(path)
  if p.is_file():
    return p.suffix == SUFFIX
  if p.is_dir():
    return any(c.suffix == SUFFIX and c.is_file() for c in p.iterdir())
  return False


def validate(path) -> pathlib.Path:
  """Raises InvalidLayoutError unless `path` is a safetensors checkpoint."""
  p = pathlib.Path(path)
  error = _invalid_layout_error()
  if p.is_file():
    if p.suffix != SUFFIX:
      raise error(
          f"Failed to interpret path {p} as a SafeTensors checkpoint: a "
          f"SafeTensors checkpoint is a file with the '{SUFFIX}' suffix or a "
          "directory of such files.")
  elif p.is_dir():
    if not any(c.suffix == SUFFIX for c in p.iterdir()):
      raise error(f"Directory {p} does not contain any '{SUFFIX}' files.")
  else:
    raise error(f"Path {p} is neither a file nor a directory or does not "
                "exist.")
  return p


@dataclasses.dataclass(frozen=True)
class _Tensor:
  name: str
  file: pathlib.Path
  shape: tuple
  dtype: np.dtype
  offset: int  # absolute byte offset of the first element in `file`
  nbytes: int


def _files(path: pathlib.Path) -> list[pathlib.Path]:
  if path.is_dir():
    return sorted(c for c in path.iterdir()
                  if c.suffix == SUFFIX and c.is_file())
  return [path]


def _read_header(f: pathlib.Path) -> tuple[dict, int, int]:
  """(header, data start, file size); ValueError naming the file if bad."""
  size = f.stat().st_size
  with open(f, "rb") as fh:
    raw = fh.read(_HEADER_LEN_BYTES)
    if len(raw) != _HEADER_LEN_BYTES:
      raise ValueError(f"Could not read header size from {f}.")
    n = int.from_bytes(raw, "little")
    if n > min(_MAX_HEADER_BYTES, size - _HEADER_LEN_BYTES):
      raise ValueError(
          f"Could not read header content from {f}: it declares a "
          f"{n}-byte header in a {size}-byte file.")
    text = fh.read(n)
  try:
    header = json.loads(text)
  except (ValueError, UnicodeDecodeError) as e:
    raise ValueError(f"{f}: the SafeTensors header is not valid JSON: {e}"
                     ) from e
  if not isinstance(header, dict):
    raise ValueError(f"{f}: the SafeTensors header is not a JSON object.")
  return header, _HEADER_LEN_BYTES + n, size


def _tensor(f, name, info, data_start, file_size) -> _Tensor:
  try:
    dtype = _DTYPES[info["dtype"]]
  except KeyError as e:
    raise ValueError(
        f"{f}: tensor {name!r}: unsupported dtype in SafeTensors header: "
        f"{e}") from e
  except TypeError as e:
    raise ValueError(f"{f}: tensor {name!r}: malformed header entry") from e
  try:
    shape = tuple(int(d) for d in info["shape"])
    begin, end = (int(x) for x in info["data_offsets"])
  except (KeyError, TypeError, ValueError) as e:
    raise ValueError(f"{f}: tensor {name!r}: malformed header entry {info!r}"
                     ) from e
  nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
  if any(d < 0 for d in shape) or begin < 0 or end - begin != nbytes:
    raise ValueError(
        f"{f}: tensor {name!r}: data_offsets [{begin}, {end}) do not hold "
        f"{shape} {dtype.name} ({nbytes} bytes).")
  if data_start + end > file_size:
    raise ValueError(
        f"SafeTensors file {f} is truncated: its header declares tensor data "
        f"through byte {data_start + end}, but the file is only {file_size} "
        "bytes.")
  return _Tensor(name, f, shape, dtype, data_start + begin, nbytes)


def _index(path: pathlib.Path) -> tuple[dict[str, _Tensor], dict, list]:
  """(tensors by name, merged __metadata__, files)."""
  tensors: dict[str, _Tensor] = {}
  custom: dict = {}
  files = _files(path)
  for f in files:
    header, data_start, size = _read_header(f)
    for name, info in header.items():
      if name == "__metadata__":
        if isinstance(info, dict):
          custom.update(info)
        continue
      if name in tensors:
        raise ValueError(f"Duplicate tensor {name} found in multiple files.")
      tensors[name] = _tensor(f, name, info, data_start, size)
  return tensors, custom, files


def metadata(path, reported_path=None) -> Any:
  """The checkpoint's tensors as `jax.ShapeDtypeStruct`s, by name.

  Example:
    >>> with ocp.Context(checkpoint_layout=CheckpointLayout.SAFETENSORS):
    ...   md = ocp.metadata("model.safetensors")
    >>> md.metadata["w"].shape
  """
  from ocpx._src import checkpoint_metadata as cm  # pylint: disable=g-import-not-at-top
  p = validate(path)
  tensors, custom, files = _index(p)
  mtimes = [int(f.stat().st_mtime) for f in files]
  return cm.CheckpointMetadata(
      p if reported_path is None else reported_path, metadata={n: jax.ShapeDtypeStruct(t.shape, t.dtype)
                   for n, t in tensors.items()},
      commit_timestamp_nsecs=max(mtimes) if mtimes else None,
      custom_metadata=custom)


# ---------------------------------------------------------------------------
# Reads: byte runs, merged into blocks, read in chunks.


def _runs(bounds, shape, itemsize, base) -> list[tuple[int, int]]:
  """(offset, length) byte runs of the box `bounds` of a row-major tensor."""
  if not shape:
    return [(base, itemsize)]
  strides = [itemsize] * len(shape)
  for i in range(len(shape) - 2, -1, -1):
    strides[i] = strides[i + 1] * shape[i + 1]
  inner = len(shape) - 1  # innermost dimension that is not taken whole
  while inner >= 0 and bounds[inner] == (0, shape[inner]):
    inner -= 1
  if inner < 0:
    return [(base, strides[0] * shape[0])]
  length = (bounds[inner][1] - bounds[inner][0]) * strides[inner]
  start = base + bounds[inner][0] * strides[inner]
  if length == 0:
    return []
  out = []
  for outer in itertools.product(*[range(a, b) for a, b in bounds[:inner]]):
    out.append((start + sum(c * s for c, s in zip(outer, strides)), length))
  return out


def _auto_ratio(runs) -> float:
  """1.0 when the runs need few reads, else the file span / needed bytes
  (then the whole span is read once instead of thousands of tiny reads)."""
  if not runs:
    return 1.0
  ordered = sorted(runs)
  needed, reads, end = 0, 1, ordered[0][0]
  for off, n in ordered:
    needed += n
    if off - end > _MIN_COALESCE_GAP:
      reads += 1
    end = max(end, off + n)
  if reads <= _AUTO_MAX_READS_PER_FILE:
    return 1.0
  return max(1.0, (end - ordered[0][0]) / needed)


def _blocks(runs, ratio: float) -> list[tuple[int, int, list[int]]]:
  """Merges runs (sorted by offset) into (start, end, members) blocks while
  block size <= ratio * needed bytes, or the gap is under a page."""
  order = sorted(range(len(runs)), key=lambda i: runs[i][0])
  out: list[Any] = []
  for i in order:
    off, n = runs[i]
    if out:
      start, end, members, needed = out[-1]
      new_end = max(end, off + n)
      if (off - end <= _MIN_COALESCE_GAP
          or new_end - start <= ratio * (needed + n)):
        out[-1] = (start, new_end, members + [i], needed + n)
        continue
    out.append((off, off + n, [i], n))
  return [(s, e, m) for s, e, m, _ in out]


def _read_file(f: pathlib.Path, runs, targets, ratio, chunk_bytes) -> None:
  """Fills `targets[i]` (flat uint8 views) with the bytes of `runs[i]`."""
  if ratio is None:
    ratio = _auto_ratio(runs)
  if ratio < 1.0:
    raise ValueError(f"max_over_read_ratio must be >= 1.0, got {ratio}.")
  fd = os.open(f, os.O_RDONLY)
  try:
    for start, end, members in _blocks(runs, ratio):
      pos = start
      while pos < end:  # one ranged read of at most chunk_bytes
        n = min(chunk_bytes, end - pos)
        data = os.pread(fd, n, pos)
        if len(data) != n:
          raise ValueError(f"{f}: short read at byte {pos} (file truncated "
                           "while loading?)")
        view = np.frombuffer(data, np.uint8)
        for i in members:
          off, length = runs[i]
          lo, hi = max(off, pos), min(off + length, pos + n)
          if lo < hi:
            targets[i][lo - off:hi - off] = view[lo - pos:hi - pos]
        pos += n
  finally:
    os.close(fd)


def _buffer(shape, dtype) -> tuple[np.ndarray, np.ndarray]:
  flat = np.empty(int(np.prod(shape, dtype=np.int64)) * dtype.itemsize,
                  np.uint8)
  return flat.view(dtype).reshape(shape), flat


def _replicated() -> jax.sharding.Sharding:
  mesh = jax.sharding.Mesh(np.asarray(jax.devices()), ("_safetensors_replica",))
  return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())


def _plan(t: _Tensor, abstract, global_mesh, runs_by_file, targets_by_file
          ) -> Callable[[], Any]:
  """Registers the reads for one tensor; returns its builder."""
  if abstract is None:
    buf, flat = _buffer(t.shape, t.dtype)
    runs_by_file[t.file].append((t.offset, t.nbytes))
    targets_by_file[t.file].append(flat)
    return lambda: buf
  shape = tuple(abstract.shape)
  if shape != t.shape:
    raise ValueError(
        f"Tensor {t.name!r}: shape mismatch: abstract state has {shape}, the "
        f"checkpoint has {t.shape}.")
  out_dtype = np.dtype(abstract.dtype)
  sharding = sharding_lib.bind_to_devices(
      getattr(abstract, "sharding", None), global_mesh) or _replicated()
  me = jax.process_index()
  devices_of = collections.defaultdict(list)
  for device, index in sharding.devices_indices_map(shape).items():
    if device.process_index != me:
      continue
    box = []
    for sl, dim in zip(index, shape):
      a, b, step = sl.indices(dim)
      if step != 1:
        raise ValueError(f"Tensor {t.name!r}: strided shard {index}")
      box.append((a, b))
    devices_of[tuple(box)].append(device)
  shards = []
  for bounds, devices in devices_of.items():
    buf, flat = _buffer(tuple(b - a for a, b in bounds), t.dtype)
    pos = 0
    for off, n in _runs(bounds, t.shape, t.dtype.itemsize, t.offset):
      runs_by_file[t.file].append((off, n))
      targets_by_file[t.file].append(flat[pos:pos + n])
      pos += n
    shards.append((buf, devices))

  def build():
    arrays = []
    with sharding_lib.without_global_mesh():
      for buf, devices in shards:
        host = buf.astype(out_dtype) if out_dtype != t.dtype else buf
        arrays.extend(jax.device_put(host, jax.sharding.SingleDeviceSharding(d))
                      for d in devices)
      shards.clear()
      return jax.make_array_from_single_device_arrays(shape, sharding,
                                                      arrays)
  return build


def _option(ctx, name):
  opts = getattr(ctx, "safetensors_options", None)
  return getattr(opts, name, None)


def load(path, abstract_state=None, *, ctx=None, global_mesh=None) -> dict:
  """Loads a safetensors checkpoint as a flat dict (see the module doc).

  Example:
    >>> with ocp.Context(checkpoint_layout=CheckpointLayout.SAFETENSORS):
    ...   weights = ocp.load("model.safetensors")   # {name: np.ndarray}
  """
  from ocpx._src import context as context_lib  # pylint: disable=g-import-not-at-top
  ctx = ctx or context_lib.get_context()
  p = validate(path)
  if abstract_state is not None and not (
      isinstance(abstract_state, dict) and all(
          not isinstance(v, (dict, list, tuple)) for v in
          abstract_state.values())):
    raise ValueError("The PyTree is not a flat dictionary.")
  chunk = _option(ctx, "read_chunk_bytes")
  chunk = _DEFAULT_READ_CHUNK_BYTES if chunk is None else int(chunk)
  if chunk <= 0:
    raise ValueError(f"read_chunk_bytes must be positive, got {chunk}.")
  budget = ctx.memory_options.read_concurrent_bytes
  chunk = min(chunk, budget if budget is not None else _DEFAULT_IN_FLIGHT_BYTES)
  ratio = _option(ctx, "max_over_read_ratio")
  if ratio is not None and ratio < 1.0:
    raise ValueError(f"max_over_read_ratio must be >= 1.0, got {ratio}.")
  tensors, _, _ = _index(p)
  if abstract_state is None:
    if jax.process_count() > 1:
      raise ValueError(
          "abstract_state must be provided for multi-process loading.")
    names = list(tensors)
  else:
    for name in abstract_state:
      if name not in tensors:
        raise KeyError(f"Tensor '{name}' not found in Safetensors checkpoint "
                       f"{p}.")
    names = sorted(abstract_state)
  runs_by_file: dict[Any, list[Any]] = collections.defaultdict(list)
  targets_by_file: dict[Any, list[Any]] = collections.defaultdict(list)
  builders = {}
  for name in names:
    builders[name] = _plan(
        tensors[name], None if abstract_state is None else
        abstract_state[name], global_mesh, runs_by_file, targets_by_file)
  for f in list(runs_by_file):
    _read_file(f, runs_by_file.pop(f), targets_by_file.pop(f), ratio, chunk)
  return {name: builders[name]() for name in names}
