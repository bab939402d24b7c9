# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Restoring into a different tree structure (mirrors
`orbax.checkpoint.transform_utils`)."""

from ocpx._src.v0.transform_utils import RestoreTransform
from ocpx._src.v0.transform_utils import Transform
from ocpx._src.v0.transform_utils import apply_transformations
from ocpx._src.v0.transform_utils import intersect_trees
from ocpx._src.v0.transform_utils import merge_trees

__all__ = ["RestoreTransform", "Transform", "apply_transformations",
           "intersect_trees", "merge_trees"]
