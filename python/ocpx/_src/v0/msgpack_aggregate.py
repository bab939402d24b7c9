# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Reading legacy msgpack aggregate files (`<dir>/checkpoint`).

Old Orbax (and Flax) checkpoints kept the whole PyTree, or the leaves saved
with `SaveArgs(aggregate=True)`, in one msgpack file.  Its encoding:

* dicts, lists, str, int, float, bool and None as plain msgpack values;
* extension types: 1 = ndarray, 3 = numpy scalar (both a msgpack triple
  `(shape, dtype name, C-order bytes)`), 2 = complex `(real, imag)`,
  4 = tuple (a msgpack list, itself possibly holding extension values);
* arrays larger than 1 GiB as `{"__msgpack_chunked_array__": True,
  "shape": {"0": d0, ...}, "chunks": {"0": flat0, ...}}`;
* a leaf stored elsewhere (as a tensorstore array) as the string
  `"PLACEHOLDER://<name>"`.

The reader trusts nothing in the file: every length is bounded by the file's
size, nesting is bounded, and any inconsistency (a shape that does not match
the bytes, an unknown dtype or extension code, a malformed chunked array)
is a ValueError naming the file and, where known, the key.  Memory stays
within a small multiple of the file's size.

Example:
  tree = read_aggregate_file(step_dir / "checkpoint")
"""

from __future__ import annotations

import pathlib
from typing import Any

import numpy as np

PLACEHOLDER_PREFIX = "PLACEHOLDER://"
_CHUNKED = "__msgpack_chunked_array__"
_EXT_NDARRAY, _EXT_COMPLEX, _EXT_NPSCALAR, _EXT_TUPLE = 1, 2, 3, 4
# Extension values nest (a tuple holding a tuple ...); each level is a
# Python call, so the depth is capped well below the interpreter's limit.
_MAX_EXT_DEPTH = 64


class _Decoder:
  """Decodes one file's bytes; `where` names it in errors."""

  def __init__(self, where: str, limit: int):
    self.where = where
    self.limit = max(limit, 1)
    self.depth = 0

  def unpack(self, data: bytes) -> Any:
    import msgpack  # pylint: disable=g-import-not-at-top
    n = len(data)
    return msgpack.unpackb(
        data, raw=False, ext_hook=self.ext, strict_map_key=False,
        max_str_len=n, max_bin_len=n,
        max_array_len=n, max_map_len=n, max_ext_len=n)

  def ext(self, code: int, data: bytes) -> Any:
    if code == _EXT_NDARRAY:
      return self.ndarray(data)
    if code == _EXT_NPSCALAR:
      return self.ndarray(data)[()]
    if code == _EXT_COMPLEX:
      pair = self.nested(data)
      if (not isinstance(pair, list) or len(pair) != 2 or not all(
          isinstance(v, (int, float)) and not isinstance(v, bool)
          for v in pair)):
        raise ValueError(f"{self.where}: malformed complex value {pair!r:.80}")
      return complex(pair[0], pair[1])
    if code == _EXT_TUPLE:
      items = self.nested(data)
      if not isinstance(items, list):
        raise ValueError(f"{self.where}: malformed tuple value")
      return tuple(items)
    raise ValueError(f"{self.where}: unsupported msgpack extension code "
                     f"{code}")

  def nested(self, data: bytes) -> Any:
    if self.depth >= _MAX_EXT_DEPTH:
      raise ValueError(f"{self.where}: msgpack values nest deeper than "
                       f"{_MAX_EXT_DEPTH} levels")
    self.depth += 1
    try:
      return self.unpack(data)
    finally:
      self.depth -= 1

  def ndarray(self, data: bytes) -> np.ndarray:
    import msgpack  # pylint: disable=g-import-not-at-top
    n = len(data)
    triple = msgpack.unpackb(
        data, raw=True, max_str_len=n,
        max_bin_len=n, max_array_len=n, max_map_len=n, max_ext_len=0)
    if not isinstance(triple, (list, tuple)) or len(triple) != 3:
      raise ValueError(f"{self.where}: malformed array (expected "
                       "[shape, dtype, bytes])")
    shape, dtype_name, buffer = triple
    if (not isinstance(shape, (list, tuple)) or len(shape) > 64 or not all(
        isinstance(d, int) and not isinstance(d, bool) and 0 <= d
        for d in shape)):
      raise ValueError(f"{self.where}: malformed array shape {shape!r:.80}")
    if not isinstance(dtype_name, bytes) or not isinstance(buffer, bytes):
      raise ValueError(f"{self.where}: malformed array dtype or data")
    dtype = _dtype(dtype_name, self.where)
    count = 1
    for d in shape:
      count *= d
    if count * dtype.itemsize != len(buffer):
      raise ValueError(
          f"{self.where}: array of shape {tuple(shape)} and dtype {dtype} "
          f"needs {count * dtype.itemsize} bytes, the file holds "
          f"{len(buffer)}")
    return np.frombuffer(buffer, dtype=dtype).reshape(tuple(shape))


def _dtype(name: bytes, where: str) -> np.dtype:
  try:
    text = name.decode("ascii")
  except UnicodeDecodeError:
    raise ValueError(f"{where}: malformed dtype name {name!r:.40}") from None
  if text == "bfloat16":
    import ml_dtypes  # pylint: disable=g-import-not-at-top
    return np.dtype(ml_dtypes.bfloat16)
  try:
    dtype = np.dtype(text)
  except (TypeError, ValueError):
    try:
      import ml_dtypes  # pylint: disable=g-import-not-at-top
      dtype = np.dtype(getattr(ml_dtypes, text))
    except (AttributeError, TypeError):
      raise ValueError(f"{where}: unknown dtype {text!r:.40}") from None
  if dtype.hasobject or dtype.fields is not None or dtype.itemsize == 0:
    raise ValueError(f"{where}: unsupported dtype {text!r:.40}")
  return dtype


def _unchunk(node: dict, where: str, key: str) -> np.ndarray:
  shape_d, chunks_d = node.get("shape"), node.get("chunks")
  try:
    if not isinstance(shape_d, dict) or not isinstance(chunks_d, dict):
      raise KeyError("shape/chunks")
    shape = tuple(shape_d[str(i)] for i in range(len(shape_d)))
    chunks = [chunks_d[str(i)] for i in range(len(chunks_d))]
  except KeyError as e:
    raise ValueError(f"{where}: malformed chunked array at {key!r} "
                     f"(missing {e})") from None
  if not chunks or not all(isinstance(c, np.ndarray) and c.ndim == 1
                           for c in chunks) or len(
                               {c.dtype for c in chunks}) != 1:
    raise ValueError(f"{where}: malformed chunked array at {key!r}")
  if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
             for d in shape):
    raise ValueError(f"{where}: malformed chunked array shape at {key!r}")
  total = sum(c.size for c in chunks)
  count = 1
  for d in shape:
    count *= d
  if count != total:
    raise ValueError(f"{where}: chunked array at {key!r} has {total} "
                     f"elements, its shape {shape} needs {count}")
  return np.concatenate(chunks).reshape(shape)


def _unchunk_tree(node: Any, where: str, key: str = "") -> Any:
  if isinstance(node, dict):
    if _CHUNKED in node:
      return _unchunk(node, where, key or "<root>")
    for k, v in node.items():
      if not isinstance(k, (str, int)) or isinstance(k, bool):
        raise ValueError(f"{where}: unsupported key {k!r:.40} under "
                         f"{key or '<root>'!r}")
    return {str(k) if not isinstance(k, str) else k:
            _unchunk_tree(v, where, f"{key}/{k}" if key else str(k))
            for k, v in node.items()}
  if isinstance(node, list):
    return [_unchunk_tree(v, where, f"{key}/{i}" if key else str(i))
            for i, v in enumerate(node)]
  return node


def decode(data: bytes, where: str) -> Any:
  """The PyTree encoded in `data` (the bytes of the file `where`)."""
  import msgpack  # pylint: disable=g-import-not-at-top
  decoder = _Decoder(where, len(data))
  try:
    tree = decoder.unpack(data)
  except ValueError as e:  # incl. msgpack's ExtraData, StackError, ...
    if str(e).startswith(where):
      raise
    raise ValueError(f"{where}: not a valid msgpack aggregate file: "
                     f"{type(e).__name__}: {e}") from e
  except (msgpack.UnpackException, TypeError, RecursionError,
          MemoryError) as e:
    raise ValueError(f"{where}: not a valid msgpack aggregate file: "
                     f"{type(e).__name__}: {e}") from e
  try:
    return _unchunk_tree(tree, where)
  except RecursionError as e:
    raise ValueError(f"{where}: the tree nests too deeply") from e


def read_aggregate_file(path: pathlib.Path) -> Any:
  """Reads and decodes the aggregate file at `path`."""
  return decode(pathlib.Path(path).read_bytes(), str(path))


def is_placeholder(value: Any) -> bool:
  return isinstance(value, str) and value.startswith(PLACEHOLDER_PREFIX)
