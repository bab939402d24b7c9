# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Leaf metadata classes (`orbax.checkpoint.metadata.value`, the path Orbax
recommends: `ocp.metadata.value.ArrayMetadata`)."""

from ocpx._src.v0.metadata import ArrayMetadata
from ocpx._src.v0.metadata import Metadata
from ocpx._src.v0.metadata import ScalarMetadata
from ocpx._src.v0.metadata import StorageMetadata
from ocpx._src.v0.metadata import StringMetadata

__all__ = ["ArrayMetadata", "Metadata", "ScalarMetadata", "StorageMetadata",
           "StringMetadata"]
