# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""TemporaryPath strategies (`orbax.checkpoint.path.atomicity`)."""

from ocpx._src.atomicity import AtomicRenameTemporaryPath  # noqa: F401
from ocpx._src.atomicity import COMMIT_SUCCESS_FILE  # noqa: F401
from ocpx._src.atomicity import CommitFileTemporaryPath  # noqa: F401
from ocpx._src.atomicity import TMP_DIR_SUFFIX  # noqa: F401
from ocpx._src.atomicity import TemporaryPathBase  # noqa: F401
