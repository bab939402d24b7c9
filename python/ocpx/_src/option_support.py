# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Options that ocpx cannot honour on this platform raise, naming the option.

`PathwaysOptions.checkpointing_impl` selects a Pathways (single-controller,
remote-worker) checkpointing implementation; ocpx runs on multi-controller
JAX only.  `DeletionOptions.gcs_deletion_options.todelete_full_path` moves
deleted checkpoints to a soft-delete location on GCS; ocpx deletes local
checkpoints only.  Both are refused instead of silently doing something else.
"""

from __future__ import annotations


def check_pathways(ctx) -> None:
  """Raises NotImplementedError if a Pathways implementation is requested."""
  impl = getattr(ctx.pathways_options, "checkpointing_impl", None)
  if impl is not None:
    raise NotImplementedError(
        f"PathwaysOptions.checkpointing_impl={impl!r}: Pathways "
        "checkpointing is not available in ocpx (it runs on multi-controller "
        "JAX); leave checkpointing_impl=None.")


def check_deletion(ctx) -> None:
  """Raises NotImplementedError if a deletion needs the GCS soft-delete."""
  gcs = getattr(ctx.deletion_options, "gcs_deletion_options", None)
  path = getattr(gcs, "todelete_full_path", None)
  if path is not None:
    raise NotImplementedError(
        f"DeletionOptions.gcs_deletion_options.todelete_full_path={path!r}: "
        "ocpx deletes local checkpoints only and has no GCS soft-delete "
        "location; leave it None.")
