# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Checkpoint metadata types of the v0 API (mirrors
`orbax.checkpoint.metadata`).  The v1 ones are in `ocpx.v1`."""

from ocpx._src.v0.metadata import ArrayMetadata
from ocpx._src.v0.metadata import Metadata
from ocpx._src.v0.metadata import NamedShardingMetadata
from ocpx._src.v0.metadata import RootMetadata
from ocpx._src.v0.metadata import ScalarMetadata
from ocpx._src.v0.metadata import ShardingMetadata
from ocpx._src.v0.metadata import SingleDeviceShardingMetadata
from ocpx._src.v0.metadata import StepMetadata
from ocpx._src.v0.metadata import StorageMetadata
from ocpx._src.v0.metadata import StringMetadata
from ocpx._src.v0.metadata import TreeMetadata
from ocpx._src.v0.metadata import get_step_metadata
from ocpx.metadata import value

__all__ = [
    "ArrayMetadata", "Metadata", "NamedShardingMetadata", "RootMetadata",
    "ScalarMetadata", "ShardingMetadata", "SingleDeviceShardingMetadata",
    "StepMetadata", "StorageMetadata", "StringMetadata", "TreeMetadata",
    "get_step_metadata", "value",
]
