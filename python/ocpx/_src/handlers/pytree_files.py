# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The side files of a PyTree checkpointable: `_strings.json`,
`array_metadatas/process_<i>` and the tree of a PyTree whose `_METADATA` was
lost.

Reading fetches bytes (from a local `Path` or a `RemotePath`) and hands them
to the C++ parsers in `ocpx._core` (cpp/ocpx/reader/checkpoint_files.cc), the
one implementation of these formats; writing stays here (see
docs/architecture.md, "One reader").

Example:
  >>> read_random_key_impls(ckpt / "state")  # doctest: +SKIP
  {'rng': 'threefry2x32'}
"""

from __future__ import annotations

import json
import logging
import pathlib
from typing import Any, Optional

from ocpx import _core
from ocpx._src import engine
from ocpx._src import sharding as sharding_lib
from ocpx._src import tree as tree_lib

STRINGS_FILE = "_strings.json"
ARRAY_METADATAS_DIR = "array_metadatas"
RANDOM_KEY_IMPL = "random_key_impl"


def read_random_key_impls(dir_path: pathlib.Path) -> dict[str, str]:
  """param name -> PRNG implementation, from `array_metadatas/process_*`.

  Orbax stores a typed PRNG key as its key data (unsigned integers with
  trailing dimensions) and records the implementation in the array's
  `ext_metadata` as `{"random_key_impl": name}`; loading wraps the data back
  into a key.  Each file is parsed by `ocpx._core.parse_random_key_impls`.

  Raises:
    ValueError: a file is malformed (the message names it).
  """
  md_dir = dir_path / ARRAY_METADATAS_DIR
  if not md_dir.is_dir():
    return {}
  out: dict[str, str] = {}
  for f in sorted(md_dir.iterdir()):
    if not f.name.startswith("process_") or not f.is_file():
      continue
    out.update(_core.parse_random_key_impls(f.read_bytes(), str(f)))
  return out


def array_metadatas_json(entries: list[dict[str, Any]]) -> str:
  """The text of one `array_metadatas/process_<i>` file.

  Args:
    entries: One dict per array: param_name, write_shape, chunk_shape and
      random_key_impl (None unless a typed PRNG key).
  """
  # What json.dumps gives for the whole document, made entry by entry (the
  # dicts of thousands of entries would be ten times the text).
  encode = json.JSONEncoder().encode
  return '{"array_metadatas": [' + ", ".join(
      encode({"array_metadata": {
          "param_name": e["param_name"],
          "write_shape": list(e["write_shape"]),
          "chunk_shape": list(e["chunk_shape"]),
          "ext_metadata": ({RANDOM_KEY_IMPL: e["random_key_impl"]}
                           if e["random_key_impl"] else None)}})
      for e in entries) + "]}"


def read_or_infer_tree_metadata(dir_path) -> tree_lib.TreeMetadata:
  """`_METADATA`, or (if it was lost) a tree rebuilt from the stored arrays.

  Without `_METADATA`, each stored array name `a.b.c` becomes the nested
  dict path a/b/c; arrays with a `_sharding` entry load as jax.Array, the
  rest as np.ndarray (the rule is the C++ reader's,
  `ocpx._core.infer_tree_metadata`).  An abstract tree passed to `load`
  still decides the structure and leaf types.

  Raises:
    FileNotFoundError: no `_METADATA` and no stored arrays.
    ValueError: `_METADATA` is malformed.
  """
  try:
    return tree_lib.read_tree_metadata(dir_path)
  except FileNotFoundError as missing:
    use_ocdbt = (dir_path / "manifest.ocdbt").exists()
    try:
      params = engine.ArrayStore(dir_path, use_ocdbt=use_ocdbt,
                                 use_zarr3=None).list_params()
    except (FileNotFoundError, ValueError):
      params = []
    if not params:
      raise missing
    shardings = sharding_lib.read_sharding_file(dir_path)
    meta = tree_lib.tree_metadata_from_native(_core.infer_tree_metadata(
        params, [p for p in params if p in shardings], use_ocdbt,
        str(dir_path / tree_lib.METADATA_FILE)))
    logging.warning("%s: %s is missing; rebuilt the tree from %d stored "
                    "arrays", dir_path, tree_lib.METADATA_FILE,
                    len(meta.leaves))
    return meta


def strings_json(strings: dict[str, str], dir_path) -> str:
  """The text of `_strings.json`: values nested by the `/` in their names.

  Raises:
    ValueError: two names collide (one is a prefix path of another).
  """
  doc: dict = {}
  for name, value in strings.items():
    parts = name.split("/")
    node = doc
    for p in parts[:-1]:
      nxt = node.setdefault(p, {})
      if not isinstance(nxt, dict):
        raise ValueError(f"{dir_path}: string leaf names {name!r} collide")
      node = nxt
    node[parts[-1]] = value
  return json.dumps(doc, sort_keys=True, separators=(",", ":"),
                    ensure_ascii=False)


def read_strings(dir_path) -> Optional[_core.StringValues]:
  """`_strings.json`, parsed by the C++ reader; None if it is absent."""
  f = dir_path / STRINGS_FILE
  if not f.exists():
    return None
  return _core.StringValues.parse(f.read_bytes(), str(f))


def lookup_string(values: Optional[_core.StringValues], name: str,
                  f: Any) -> str:
  """The value of string leaf `name`.

  Raises:
    FileNotFoundError: it (or the file `f`) is missing.
    ValueError: the stored value is not a string (a value of another JSON
      type was not written by a save: never converted).
  """
  if values is None:
    raise FileNotFoundError(f"{f}: string leaf {name!r} is missing")
  return values.get(name)
