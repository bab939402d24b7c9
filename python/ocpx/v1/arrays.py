# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Array types (mirrors `orbax.checkpoint.v1.arrays`)."""

from ocpx._src.array_types import AbstractArray
from ocpx._src.array_types import AbstractScalar
from ocpx._src.array_types import AbstractShardedArray
from ocpx._src.array_types import ArrayLike
from ocpx._src.array_types import DType
from ocpx._src.array_types import Scalar
from ocpx._src.array_types import Shape
from ocpx._src.array_types import to_shape_dtype_struct

__all__ = [
    "AbstractArray", "AbstractScalar", "AbstractShardedArray", "ArrayLike",
    "DType", "Scalar", "Shape", "to_shape_dtype_struct",
]
