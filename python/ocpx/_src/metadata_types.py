# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Leaf metadata returned by `ocpx.metadata()`."""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import numpy as np


def _same_fields(a, b, names) -> bool:
  """Field-wise equality with an object of the same class name: ocpx's
  metadata compares equal to Orbax's (e.g. in tests mixing the two)."""
  if type(b).__name__ != type(a).__name__:
    return NotImplemented
  try:
    return all(_equal(getattr(a, n), getattr(b, n)) for n in names)
  except AttributeError:
    return NotImplemented


def _equal(x, y) -> bool:
  if isinstance(x, tuple) or isinstance(y, tuple):
    return (x is None) == (y is None) and (
        x is None or tuple(x) == tuple(y))
  return x == y


@dataclasses.dataclass(frozen=True, eq=False)
class StorageMetadata:
  """How an array is stored: zarr chunk shape and per-writer slice shape."""

  chunk_shape: Optional[tuple] = None
  write_shape: Optional[tuple] = None

  def __eq__(self, other):
    return _same_fields(self, other, ("chunk_shape", "write_shape"))

  def __hash__(self):
    return hash((self.chunk_shape, self.write_shape))


@dataclasses.dataclass(frozen=True, eq=False)
class NumpyMetadata:
  """A saved np.ndarray leaf.  Usable as an abstract leaf for `load`."""

  shape: tuple
  dtype: np.dtype
  storage_metadata: Optional[StorageMetadata] = None

  def __eq__(self, other):
    return _same_fields(self, other, ("shape", "dtype", "storage_metadata"))

  def __hash__(self):
    return hash((self.shape, str(self.dtype)))

  @property
  def ndim(self):
    return len(self.shape)

  @property
  def size(self):
    return int(np.prod(self.shape))


@dataclasses.dataclass(frozen=True, eq=False)
class ArrayMetadata:
  """A saved jax.Array leaf.  Usable as an abstract leaf for `load`.

  `sharding_metadata` is the saved sharding (a NamedShardingMetadata or
  SingleDeviceShardingMetadata) or None.  `sharding` (None unless given)
  is the target sharding when the metadata is used as an abstract leaf;
  None loads with the saved sharding.
  """

  shape: tuple
  dtype: np.dtype
  sharding_metadata: Any = None
  storage_metadata: Optional[StorageMetadata] = None
  sharding: Any = dataclasses.field(default=None, repr=False)

  def __eq__(self, other):
    return _same_fields(self, other, ("shape", "dtype", "sharding_metadata",
                                      "storage_metadata"))

  def __hash__(self):
    return hash((self.shape, str(self.dtype)))

  @property
  def ndim(self):
    return len(self.shape)

  @property
  def size(self):
    return int(np.prod(self.shape))
