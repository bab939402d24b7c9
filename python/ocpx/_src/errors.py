# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Errors of checkpoint deletion (see `ocpx.v1.errors` for the full list)."""


class DeletionInProgressError(RuntimeError):
  """A checkpointable is being deleted: finish that deletion first.

  Raised when loading, or saving over, a checkpointable whose deletion was
  started but not finished (e.g. the process was preempted).  Calling
  `delete` again with the same arguments completes it.
  """


class DeletionRecoveryError(RuntimeError):
  """An unfinished deletion's record cannot be reconciled with the checkpoint.

  E.g. the record names another checkpointable than the one being deleted,
  or it is corrupt.
  """
