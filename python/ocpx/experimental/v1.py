# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""`ocpx.experimental.v1` is `ocpx.v1` (see `ocpx.v1`)."""

import sys

from ocpx import v1 as _v1

sys.modules[__name__] = _v1
