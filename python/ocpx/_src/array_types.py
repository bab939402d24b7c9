# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Array and scalar types of the v1 API, and `to_shape_dtype_struct`."""

from __future__ import annotations

from typing import Any, Optional, Protocol, TypeAlias, Union

import jax
import numpy as np

Shape = tuple[int, ...]
DType = Union[jax.numpy.dtype, np.dtype]

Scalar: TypeAlias = int | float | np.number | bytes | bool
AbstractScalar = Scalar


class AbstractArray(Protocol):
  """An array's shape and dtype (e.g. a numpy array or its metadata)."""

  shape: Optional[Shape]
  dtype: Optional[DType]


class AbstractShardedArray(Protocol):
  """An array's shape, dtype and sharding (e.g. `jax.ShapeDtypeStruct`)."""

  shape: Optional[Shape]
  dtype: Optional[DType]
  sharding: Any = None


ArrayLike: TypeAlias = Union[AbstractArray, AbstractShardedArray]


def _sharding_of(arr: Any) -> Any:
  sharding = getattr(arr, "sharding", None)
  to_jax = getattr(sharding, "to_jax_sharding", None)
  if callable(to_jax):  # sharding metadata recorded in a checkpoint
    return to_jax()
  return sharding


def to_shape_dtype_struct(
    arr: Any,
    dtype: Optional[DType] = None,
    scalar_dtype: Optional[type] = None,
    support_format: bool = False,
) -> Union[jax.ShapeDtypeStruct, int, float, np.number]:
  """The abstract form of an array-like value.

  Args:
    arr: A jax.Array, numpy array, jax.ShapeDtypeStruct, array metadata, or
      anything with `shape` (or `global_shape`), `dtype` and, optionally,
      `sharding`; or a Python/numpy scalar.
    dtype: Overrides the dtype of the result.
    scalar_dtype: For scalars: the type to convert them to (e.g. `int`).
    support_format: Keep the array's layout (`format`) when it has one.

  Returns:
    A `jax.ShapeDtypeStruct` (numpy arrays get no sharding), or the scalar.

  Example:

    ocp.arrays.to_shape_dtype_struct(np.zeros((2, 3), np.float32))
    # ShapeDtypeStruct(shape=(2, 3), dtype=float32)
  """
  if isinstance(arr, jax.Array) and jax.dtypes.issubdtype(
      arr.dtype, jax.dtypes.prng_key):
    arr = jax.random.key_data(arr)
  if isinstance(arr, (int, float, np.number)):
    return scalar_dtype(arr) if scalar_dtype is not None else arr
  if hasattr(arr, "shape"):
    shape = tuple(arr.shape)
  elif hasattr(arr, "global_shape"):
    shape = tuple(arr.global_shape)
  else:
    raise ValueError(f"Object does not have a `shape` property: {arr!r}")
  dtype = dtype if dtype is not None else arr.dtype
  if isinstance(arr, np.ndarray):
    return jax.ShapeDtypeStruct(shape, dtype)
  if support_format and getattr(arr, "format", None) is not None and (
      getattr(arr.format, "layout", None) is not None):
    return jax.ShapeDtypeStruct(shape, dtype, sharding=arr.format)
  return jax.ShapeDtypeStruct(shape, dtype, sharding=_sharding_of(arr))
