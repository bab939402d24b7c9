# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Leaf metadata returned by `ocpx.metadata()`."""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import numpy as np


@dataclasses.dataclass(frozen=True)
class StorageMetadata:
  """How an array is stored: zarr chunk shape and per-writer slice shape."""

  chunk_shape: Optional[tuple] = None
  write_shape: Optional[tuple] = None


@dataclasses.dataclass(frozen=True)
class NumpyMetadata:
  """A saved np.ndarray leaf.  Usable as an abstract leaf for `load`."""

  shape: tuple
  dtype: np.dtype
  storage_metadata: Optional[StorageMetadata] = None

  @property
  def ndim(self):
    return len(self.shape)

  @property
  def size(self):
    return int(np.prod(self.shape))


@dataclasses.dataclass(frozen=True)
class ArrayMetadata:
  """A saved jax.Array leaf.  Usable as an abstract leaf for `load`.

  `sharding_metadata` is the saved sharding description (a dict) or None;
  `sharding` (None) lets `load` use the saved sharding.
  """

  shape: tuple
  dtype: np.dtype
  sharding_metadata: Any = None
  storage_metadata: Optional[StorageMetadata] = None
  sharding: Any = None

  @property
  def ndim(self):
    return len(self.shape)

  @property
  def size(self):
    return int(np.prod(self.shape))
