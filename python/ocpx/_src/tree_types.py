# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""PyTree type names of the v1 API (`ocpx.v1.tree`)."""

from __future__ import annotations

import typing
from typing import Any, Generic, TypeAlias, TypeVar, Union

import jax
import numpy as np

from ocpx._src import array_types

T = TypeVar("T")

JsonType = Union[dict[str, "JsonType"], list["JsonType"], str, int, float,
                 bool, None]
PyTreeKey = Union[jax.tree_util.SequenceKey, jax.tree_util.DictKey,
                  jax.tree_util.GetAttrKey, jax.tree_util.FlattenedIndexKey]
PyTreeKeyPath = tuple[PyTreeKey, ...]

if typing.TYPE_CHECKING:
  PyTreeOf = Union[T, Any]  # generic, and Any to type checkers
  PyTree = Any
else:

  class PyTreeOf(Generic[T]):
    """A PyTree whose leaves have type `T` (`Any` to type checkers).

    A PyTree is a container (dict, list, tuple, dataclass registered with
    JAX, ...) traversed by `jax.tree.*`; arrays and scalars are its leaves.
    """

  class PyTree:
    """A PyTree with leaves of any type."""

Leaf: TypeAlias = jax.Array | np.ndarray | array_types.Scalar | str
AbstractLeaf = Union[array_types.AbstractArray,
                     array_types.AbstractShardedArray,
                     array_types.AbstractScalar, str]
