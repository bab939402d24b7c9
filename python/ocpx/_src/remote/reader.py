# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""`RemoteCheckpointReader`: the `ocpx` CLI's reader for gs:// and s3://.

The same interface as the native `ocpx._core.CheckpointReader` (path,
layout, checkpointable, leaves(), read(), read_string(),
step_metadata_json()), built from ocpx's layout and PyTree metadata code on
a `RemotePath` and `remote.arrays.RemoteArrayStore` for the arrays.  Reads
decode every chunk through TensorStore, which checks each shard index's
crc32c.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Optional, Sequence, cast

import numpy as np

from ocpx._src import checkpoint_metadata as cm
from ocpx._src import layout
from ocpx._src import sharding as sharding_lib
from ocpx._src import tree as tree_lib
from ocpx._src.remote import arrays as arrays_lib
from ocpx._src.remote import rpath as rpath_lib

_DATA_KINDS = {tree_lib.JAX_ARRAY: "array", tree_lib.NP_ARRAY: "array",
               tree_lib.SCALAR: "scalar", tree_lib.STRING: "string"}


def _has_chunk_crc32c(t) -> bool:
  """True if the zarr3 array's chunks end with a crc32c codec."""
  codecs = (t.codec.to_json() or {}).get("codecs") or []
  for c in codecs:
    if c.get("name") == "sharding_indexed":
      codecs = c.get("configuration", {}).get("codecs") or []
  return any(c.get("name") == "crc32c" for c in codecs)


class RemoteCheckpointReader:
  """An opened remote checkpoint PyTree (v1 or v0 layout).

  Example:
    >>> r = RemoteCheckpointReader("s3://bucket/run/1")  # doctest: +SKIP
    >>> [l["name"] for l in r.leaves()]  # doctest: +SKIP
  """

  def __init__(self, path: str, checkpointable: str = "AUTO",
               fail_on_missing_chunks: bool = True, *,
               array_metadata_keys: Sequence[str] = ()):
    from ocpx._src.handlers import pytree_handler  # pylint: disable=g-import-not-at-top
    self._ph = pytree_handler
    # A RemotePath provides the pathlib.Path methods the readers use.
    root = cast(Any, rpath_lib.RemotePath(str(path)))
    self._layout, name = layout.resolve(
        root, checkpointable or None, explicit_needs_metadata=False)
    self._root = root
    self._dir = root if name is None else root / name
    self._name = name or ""
    self._meta_inferred = not (self._dir / tree_lib.METADATA_FILE).is_file()
    self._tree = pytree_handler._read_or_infer_tree_metadata(self._dir)  # pylint: disable=protected-access
    self._store = arrays_lib.RemoteArrayStore(
        self._dir, use_ocdbt=self._tree.use_ocdbt,
        metadata_keys=array_metadata_keys)
    self._fail = fail_on_missing_chunks
    self._strings: Any = None
    self._strings_read = False
    self._leaves: Optional[list[dict[str, Any]]] = None

  @property
  def path(self) -> str:
    return str(self._root)

  @property
  def directory(self) -> str:
    return str(self._dir)

  @property
  def checkpointable(self) -> str:
    return self._name

  @property
  def layout(self) -> str:
    return self._layout

  @property
  def use_ocdbt(self) -> bool:
    return self._tree.use_ocdbt

  @property
  def metadata_inferred(self) -> bool:
    return self._meta_inferred

  def step_metadata_json(self) -> Optional[str]:
    m = cm.read_step_metadata(self._root)
    if m is None:
      return None
    return json.dumps(dataclasses.asdict(m), sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)

  def leaves(self) -> list[dict]:
    if self._leaves is not None:
      return self._leaves
    shardings = sharding_lib.read_sharding_file(self._dir)
    data = [l.param_name for l in self._tree.leaves
            if _DATA_KINDS.get(l.value_type) in ("array", "scalar")]
    self._store.prefetch_info(data)
    out = []
    for l in self._tree.leaves:
      kind = _DATA_KINDS.get(l.value_type, "empty")
      d = {"name": l.param_name,
           "key_path": list(zip(l.names, l.key_types)),
           "value_type": l.value_type, "kind": kind,
           "shape": None, "dtype": None, "dtype_name": None,
           "chunk_shape": None, "grid_chunk_shape": None, "nbytes": 0,
           "zarr_format": None, "chunk_checksums": None,
           "write_shape": (tuple(l.write_shape) if l.write_shape is not None
                           else None),
           "sharding": shardings.get(l.param_name)}
      if kind in ("array", "scalar"):
        info = self._store.info(l.param_name)
        t = self._store._array(l.param_name, True)  # pylint: disable=protected-access
        grid = tuple(t.chunk_layout.write_chunk.shape or ())
        zarr3 = t.spec().to_json().get("driver") == "zarr3"
        d.update(zarr_format=3 if zarr3 else 2,
                 chunk_checksums=zarr3 and _has_chunk_crc32c(t))
        d.update(shape=info.shape, dtype=info.dtype,
                 dtype_name=arrays_lib._dtype_name(info.dtype),  # pylint: disable=protected-access
                 chunk_shape=info.chunk_shape, grid_chunk_shape=grid,
                 nbytes=int(np.prod(info.shape, dtype=np.int64))
                 * info.dtype.itemsize)
      out.append(d)
    self._leaves = out
    return out

  def read(self, name: str, origin=None, shape=None) -> np.ndarray:
    info = self._store.info(name)
    origin = [0] * len(info.shape) if origin is None else list(origin)
    shape = list(info.shape) if shape is None else list(shape)
    return self._store.read_many([(name, origin, shape)], self._fail)[0]

  def read_string(self, name: str) -> str:
    if not self._strings_read:
      self._strings = self._ph._read_strings(self._dir)
      self._strings_read = True  # pylint: disable=protected-access
    f = self._dir / self._ph.STRINGS_FILE
    return self._ph._lookup_string(self._strings, name, f)  # pylint: disable=protected-access
