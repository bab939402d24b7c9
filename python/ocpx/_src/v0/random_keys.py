# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Typed JAX PRNG keys as PyTree leaves, stored as Orbax stores them.

A typed key array (`jax.random.key(...)`) is saved as its key data (uint32,
with the implementation's trailing dimensions) and the implementation name
is recorded as `ext_metadata.random_key_impl` of the array in
`array_metadatas/process_<N>`; restoring wraps the data again.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import jax

from ocpx._src import path as path_lib
from ocpx._src import tree as tree_lib

EXT_IMPL = "random_key_impl"
ARRAY_METADATAS_DIR = "array_metadatas"


def is_typed_key(x: Any) -> bool:
  return isinstance(x, jax.Array) and jax.dtypes.issubdtype(
      x.dtype, jax.dtypes.prng_key)


def is_key_abstract(x: Any) -> bool:
  dtype = getattr(x, "dtype", None)
  try:
    return dtype is not None and jax.dtypes.issubdtype(dtype,
                                                       jax.dtypes.prng_key)
  except TypeError:
    return False


def split_keys(tree: Any) -> tuple[Any, dict[str, str]]:
  """(tree with key data in place of typed keys, {param name: impl})."""
  leaves, treedef = tree_lib.flatten(tree)
  impls = {}
  values = []
  for leaf in leaves:
    v = leaf.value
    if is_typed_key(v):
      impls[leaf.param_name] = str(jax.random.key_impl(v))
      v = jax.random.key_data(v)
    values.append(v)
  if not impls:
    return tree, {}
  return jax.tree_util.tree_unflatten(treedef, values), impls


def record_impls(directory: pathlib.Path, process: int,
                 impls: dict[str, str]) -> None:
  """Adds the implementations to this process's array metadata file."""
  f = directory / ARRAY_METADATAS_DIR / f"process_{process}"
  if not impls:
    return
  if f.exists():
    doc = json.loads(f.read_text())
  else:
    path_lib.mkdir(f.parent)
    doc = {"array_metadatas": []}
  seen = set()
  for entry in doc.get("array_metadatas", []):
    md = entry.get("array_metadata", {})
    impl = impls.get(md.get("param_name"))
    if impl is not None:
      md["ext_metadata"] = {EXT_IMPL: impl}
      seen.add(md.get("param_name"))
  for name, impl in impls.items():
    if name not in seen:
      doc["array_metadatas"].append({"array_metadata": {
          "param_name": name, "write_shape": None, "chunk_shape": None,
          "ext_metadata": {EXT_IMPL: impl}}})
  path_lib.write_file_durably(f, json.dumps(doc))


def read_impls(directory: pathlib.Path) -> dict[str, str]:
  """{param name: key implementation} of every process's metadata file."""
  d = directory / ARRAY_METADATAS_DIR
  out: dict[str, str] = {}
  if not d.is_dir():
    return out
  for f in sorted(d.glob("process_*")):
    try:
      doc = json.loads(f.read_text())
    except (OSError, ValueError):
      continue
    for entry in doc.get("array_metadatas", []):
      md = entry.get("array_metadata") or {}
      ext = md.get("ext_metadata") or {}
      name = md.get("param_name")
      if isinstance(ext, dict) and ext.get(EXT_IMPL) and name is not None:
        out[name] = ext[EXT_IMPL]
  return out


def wrap(data: Any, impl: str) -> jax.Array:
  return jax.random.wrap_key_data(data, impl=impl)
