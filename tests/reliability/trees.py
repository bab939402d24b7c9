# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The small checkpoints the reliability suite saves, damages and reloads."""

from __future__ import annotations

import pathlib
from typing import Any

import numpy as np


def make_tree(version: int = 0) -> dict:
  """A PyTree with every kind of leaf; every array holds `version`-derived
  values so that a reload tells which save it came from."""
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  v = float(version)
  return {
      "w": jnp.arange(64, dtype=jnp.float32).reshape(8, 8) + v,
      "b": np.arange(5, dtype=np.int32) + version,
      "h": np.full((2, 3), v, np.float16),
      "big": np.arange(4096, dtype=np.float64) * (v + 1),
      "s": f"version-{version}",
      "n": version,
      "f": 0.5 + v,
      "nest": {"x": np.ones((3,), np.uint8) * (version % 256),
               "empty": {}},
  }


def version_of(tree: Any) -> int:
  return int(np.asarray(tree["b"])[0])


def save_variant(path: pathlib.Path, variant: str, version: int = 0) -> None:
  """Saves `make_tree(version)` to `path` in one of the storage variants:
  "ocdbt" (the default), "plain" (one directory per array, zarr.json and
  chunk files), "raw" (plain, uncompressed)."""
  import ocpx  # pylint: disable=g-import-not-at-top
  from ocpx import v1 as ocp  # pylint: disable=g-import-not-at-top
  if variant == "ocdbt":
    ocpx.save(path, make_tree(version))
    return
  saving = ocp.options.ArrayOptions.Saving(
      use_ocdbt=False, use_compression=(variant != "raw"))
  with ocp.Context(array_options=ocp.options.ArrayOptions(saving=saving)):
    ocpx.save(path, make_tree(version))


def trees_equal(a: Any, b: Any) -> bool:
  """Same structure, leaf types, dtypes, shapes and bits."""
  import jax  # pylint: disable=g-import-not-at-top
  la, ta = jax.tree_util.tree_flatten(a)
  lb, tb = jax.tree_util.tree_flatten(b)
  if ta != tb or len(la) != len(lb):
    return False
  for x, y in zip(la, lb):
    if isinstance(x, (str, int, float, bool)) or isinstance(
        y, (str, int, float, bool)):
      if type(x) is not type(y) or x != y:
        return False
      continue
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype != y.dtype or x.shape != y.shape:
      return False
    if x.tobytes() != y.tobytes():
      return False
  return True


def data_bytes(tree: Any) -> int:
  """Bytes of array data in `tree` (what a full load requests)."""
  import jax  # pylint: disable=g-import-not-at-top
  return sum(np.asarray(x).nbytes for x in jax.tree_util.tree_leaves(tree)
             if not isinstance(x, str))
