# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""User-facing errors (mirrors `orbax.checkpoint.v1.errors`).

- InvalidLayoutError (a ValueError): the path is not a checkpoint of the
  expected layout, or lacks the requested checkpointable.
- DeletionInProgressError, DeletionRecoveryError (RuntimeErrors): see
  `ocpx.v1.delete`.
- NoEntryError (a KeyError), AlreadyExistsError (a ValueError): handler
  registry lookups and registrations (also in `ocpx.v1.handlers`).
"""

from ocpx._src.errors import DeletionInProgressError
from ocpx._src.errors import DeletionRecoveryError
from ocpx._src.handlers.registration import AlreadyExistsError
from ocpx._src.handlers.registration import NoEntryError
from ocpx._src.layout import InvalidLayoutError

__all__ = [
    "AlreadyExistsError", "DeletionInProgressError", "DeletionRecoveryError",
    "InvalidLayoutError", "NoEntryError",
]
