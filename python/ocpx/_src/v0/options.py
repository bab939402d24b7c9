# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""v0 option dataclasses (mirrors `orbax.checkpoint.options`).

Unlike the v1 options (frozen, keyword-only), these are positional, and
`AsyncOptions`/`MultiprocessingOptions`/`MemoryLimitOptions` are mutable, as
in Orbax.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Callable, Optional, Protocol, Set

from ocpx._src import options as v1_options


class BarrierSyncFn(Protocol):
  """`fn(*, key: str, timeout_ms: int) -> None`: waits for all processes."""

  def __call__(self, *, key: str, timeout_ms: int) -> None:
    ...


@dataclasses.dataclass
class AsyncOptions:
  """Async behaviour of AsyncCheckpointer and CheckpointManager.

  Attributes:
    timeout_secs: Seconds the background part of a save may take; exceeding
      it fails the save (nothing is committed).
    barrier_sync_fn: A custom barrier, `fn(*, key, timeout_ms)`, used instead
      of the jax.distributed coordination service to wait for every process
      before committing.
    post_finalization_callback: Called with no arguments after an async save
      has been committed.  Requires an AsyncCheckpointer.
    create_directories_asynchronously: Create directories in the background.
      ocpx's Checkpointers create the one temporary directory of a save
      before `save` returns either way (a single local mkdir), so both
      values write the same checkpoint; CheckpointManager uses the flag for
      its step directories.

  Example:
    ckptr = ocp.AsyncCheckpointer(
        ocp.StandardCheckpointHandler(),
        async_options=ocp.options.AsyncOptions(timeout_secs=60))
  """

  timeout_secs: int = 1200
  barrier_sync_fn: Optional[BarrierSyncFn] = None
  post_finalization_callback: Optional[Callable[[], None]] = None
  create_directories_asynchronously: bool = True


@dataclasses.dataclass
class MultiprocessingOptions:
  """Multi-process behaviour.

  Attributes:
    primary_host: Process that writes metadata and commits; None makes every
      process primary (process-local storage).
    active_processes: Subset of processes taking part; must contain
      `primary_host`.
    barrier_sync_key_prefix: Prefix of barrier keys, to keep concurrent
      checkpointers apart.
  """

  primary_host: Optional[int] = 0
  active_processes: Optional[Set[int]] = None
  barrier_sync_key_prefix: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class FileOptions:
  """Checkpoint directories and files.

  Attributes:
    path_permission_mode: Mode of the directories a save creates (e.g.
      0o750).
    skip_sync_file_validations: Skip the checks that every process sees the
      same files.  ocpx's local-filesystem saves do no such per-file
      validation round trips, so both values behave the same.
  """

  path_permission_mode: Optional[int] = None
  skip_sync_file_validations: bool = False


@dataclasses.dataclass
class MemoryLimitOptions:
  """Memory limits for saving.

  Attributes:
    max_transfer_concurrent_gb: Limit (GB) of device-to-host copies in flight
      when `save_device_host_concurrent_gb="auto"`.
  """

  max_transfer_concurrent_gb: Optional[int] = None


class AtomicityMode(str, enum.Enum):
  """How a save is made atomic."""

  AUTO = "auto"
  COMMIT_FILE = "commit_file"
  ATOMIC_RENAME = "atomic_rename"


@dataclasses.dataclass(frozen=True)
class AtomicityOptions:
  """How saves are committed.

  ocpx commits with an atomic rename of `<name>.orbax-checkpoint-tmp` and
  also writes `commit_success.txt`, which satisfies both AUTO and
  ATOMIC_RENAME readers; COMMIT_FILE (write in place, then the marker) is
  what object stores need and is refused on local filesystems by the
  checkpointers with a clear error.

  Attributes:
    mode: AtomicityMode.
    allow_legacy_atomic_rename: Accept checkpoints committed by rename
      without a `commit_success.txt` marker when reading (always true here).
  """

  mode: AtomicityMode = AtomicityMode.AUTO
  allow_legacy_atomic_rename: bool = False


PyTreeMetadataOptions = v1_options.PyTreeMetadataOptions


def v1_multiprocessing(mp: Optional[MultiprocessingOptions]):
  """The engine's (v1) MultiprocessingOptions for v0 ones."""
  mp = mp or MultiprocessingOptions()
  return v1_options.MultiprocessingOptions(
      primary_host=mp.primary_host,
      active_processes=(set(mp.active_processes)
                        if mp.active_processes is not None else None),
      barrier_sync_key_prefix=mp.barrier_sync_key_prefix)
