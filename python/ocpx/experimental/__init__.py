# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""`ocpx.experimental` mirrors `orbax.checkpoint.experimental`.

`ocpx.experimental.v1` is `ocpx.v1`, as `orbax.checkpoint.experimental.v1`
is `orbax.checkpoint.v1` in orbax-checkpoint 0.12.8.
"""

from ocpx import v1
