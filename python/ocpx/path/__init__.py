# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Path utilities (`orbax.checkpoint.path`)."""

from ocpx.path import atomicity
from ocpx.path import atomicity_defaults
from ocpx.path import atomicity_types
from ocpx.path import step
