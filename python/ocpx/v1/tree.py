# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""PyTree types and utilities (mirrors `orbax.checkpoint.v1.tree`).

Standard leaves and their abstract forms:

| Leaf        | Abstract leaf                                  |
| ----------- | ---------------------------------------------- |
| jax.Array   | jax.ShapeDtypeStruct (shape, dtype, sharding)  |
| np.ndarray  | np.ndarray or ShapeDtypeStruct without sharding|
| int, float  | int, float                                     |
| bytes, str  | bytes, str                                     |
"""

from ocpx._src.tree_merge import merge_trees as merge
from ocpx._src.tree_types import AbstractLeaf
from ocpx._src.tree_types import JsonType
from ocpx._src.tree_types import Leaf
from ocpx._src.tree_types import PyTree
from ocpx._src.tree_types import PyTreeKey
from ocpx._src.tree_types import PyTreeKeyPath
from ocpx._src.tree_types import PyTreeOf

__all__ = [
    "AbstractLeaf", "JsonType", "Leaf", "PyTree", "PyTreeKey",
    "PyTreeKeyPath", "PyTreeOf", "merge",
]
