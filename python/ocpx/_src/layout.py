# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Recognising checkpoint layouts (Orbax v1 and v0) and resolving names."""

from __future__ import annotations

import pathlib
from typing import Any, Optional

from ocpx import _core
from ocpx._src import checkpoint_metadata as cm
from ocpx._src import path as path_lib

STATE_CHECKPOINTABLE_KEY = "state"
INDICATOR_FILE = "orbax.checkpoint"
PYTREE_METADATA_FILE = "_METADATA"
METRICS_CHECKPOINTABLE_KEY = "metrics"
RESERVED_CHECKPOINTABLE_KEYS = frozenset(
    {METRICS_CHECKPOINTABLE_KEY, "AUTO", "_CHECKPOINT_DELETION"})
AUTO = "AUTO"


class InvalidLayoutError(ValueError):
  """The path is not a checkpoint of the expected layout.

  Raised for a path that does not exist or is not a checkpoint, and for a
  requested checkpointable that the checkpoint does not hold.
  """


class CheckpointNotFoundError(InvalidLayoutError, FileNotFoundError):
  """An InvalidLayoutError whose cause is a missing file or directory.

  Also a FileNotFoundError, so `except FileNotFoundError` keeps working.
  """


class NotACheckpointDirectoryError(InvalidLayoutError, NotADirectoryError):
  """An InvalidLayoutError for a path that is a file, not a directory."""


V0 = "v0"
V1 = "v1"


def validate_checkpointable_name(name) -> None:
  """Checks a name used to save a checkpointable."""
  if name is None:
    return
  if not isinstance(name, str) or not name:
    raise ValueError(
        f"Checkpointable name must be a non-empty string, got {name!r}")
  if name in RESERVED_CHECKPOINTABLE_KEYS:
    raise ValueError(f"Checkpointable name {name!r} is reserved.")
  if "/" in name or name in (".", ".."):
    raise ValueError(
        f"Checkpointable name {name!r} must be a single path component.")


def validate_load_name(name) -> None:
  """Checks the `checkpointable_name` given to `load` / `metadata`."""
  if name is None or name == AUTO:
    return
  if not isinstance(name, str):
    raise ValueError(
        f"checkpointable_name must be a string or None, got {name!r}")
  if not name:
    raise ValueError(
        "Empty string is not supported as a checkpointable name in `load`: "
        "pass a non-empty name, or None for a legacy V0 direct (flat) PyTree "
        "checkpoint.")
  if name in RESERVED_CHECKPOINTABLE_KEYS:
    raise ValueError(f"Provided reserved checkpointable key: {name}.")
  if "/" in name or name in (".", ".."):
    raise ValueError(
        f"Checkpointable name {name!r} must be a single path component.")


def validate_load_names(names) -> None:
  """Checks the keys of `abstract_checkpointables` given to a load."""
  if "" in names:
    raise ValueError(
        "Empty string is not supported as a checkpointable name in "
        "`load_checkpointables`.")
  reserved = set(names) & RESERVED_CHECKPOINTABLE_KEYS
  if reserved:
    raise ValueError(
        f"Provided reserved checkpointable keys: {sorted(reserved)}.")


class _PathSource:
  """Answers the C++ layout rules' questions about a `RemotePath` (or any
  pathlib-like path that is not local): `rel` is relative to the checkpoint
  directory, "../x" names a file beside it."""

  def __init__(self, root):
    self._root = root

  def _path(self, rel: str):
    if rel.startswith("../"):
      return self._root.parent / rel[3:]
    return self._root / rel if rel else self._root

  def stat(self, rel: str) -> int:
    p = self._path(rel)
    if p.is_dir():
      return 2
    return 1 if p.exists() else 0

  def is_symlink(self, rel: str) -> bool:
    return bool(self._path(rel).is_symlink())

  def list_directories(self, rel: str) -> list[str]:
    return [c.name for c in self._path(rel).iterdir() if c.is_dir()]

  def describe(self) -> str:
    return str(self._root)


def path_source(path) -> Any:
  """What `ocpx._core`'s layout functions read: a local path as a string
  (read natively), anything else through `_PathSource`."""
  if isinstance(path, pathlib.Path):
    return str(path)
  return _PathSource(path)


_ERRORS: dict[str, type[Exception]] = {
    "not_found": CheckpointNotFoundError,
    "not_a_directory": NotACheckpointDirectoryError,
    "invalid_layout": InvalidLayoutError,
}


def _raise(kind: str, message: str):
  if kind == "deletion_in_progress":
    from ocpx._src import errors  # pylint: disable=g-import-not-at-top
    raise errors.DeletionInProgressError(message)
  raise _ERRORS[kind](message)


def checkpoint_version(path: pathlib.Path) -> str:
  """V1 if the `orbax.checkpoint` indicator file is present, else V0."""
  return V1 if (path / INDICATOR_FILE).exists() else V0


def _commit_file_mode(path) -> bool:
  """Object stores, or a Context asking for commit-file atomicity
  (`AtomicityOptions(mode=COMMIT_FILE)` or a commit-file
  `temporary_path_class`, e.g. to read commit-file checkpoints of Orbax)."""
  if path_lib.uses_commit_file(path):
    return True
  from ocpx._src import context as context_lib  # pylint: disable=g-import-not-at-top
  ctx = context_lib.get_context()
  mode = getattr(getattr(ctx.atomicity, "mode", None), "name", None)
  if mode == "COMMIT_FILE":
    return True
  cls = ctx.file_options.temporary_path_class
  if cls is None:
    return False
  from ocpx._src import atomicity  # pylint: disable=g-import-not-at-top
  return atomicity.needs_commit_file(cls, None, path)


def is_orbax_checkpoint(path) -> bool:
  """True if `path` is a finalized Orbax checkpoint (V1 or V0 layout)."""
  p = path_lib.as_path(path)
  return _core.is_orbax_checkpoint(path_source(p), _commit_file_mode(p))


def check_checkpoint_dir(path: pathlib.Path) -> str:
  """Raises InvalidLayoutError unless `path` is a loadable checkpoint root.

  The rules are the C++ reader's (`ocpx._core.check_checkpoint_dir`): the
  directory exists, is not a temporary or (on object stores) uncommitted
  save, and has the V1 layout (`orbax.checkpoint` + `_CHECKPOINT_METADATA`)
  or the V0 one (not an item directory, not a directory of steps).

  Example:
    >>> check_checkpoint_dir(pathlib.Path("/ckpt/100"))  # doctest: +SKIP
    'v1'

  Returns:
    The checkpoint's version, V1 or V0.
  """
  error, value = _core.check_checkpoint_dir(
      path_source(path), _commit_file_mode(path))
  if error is not None:
    _raise(error, value)
  return V1 if value == "v1" else V0


def deleting_checkpointable(path: pathlib.Path) -> Optional[str]:
  """The checkpointable an unfinished `delete` is removing, if any."""
  from ocpx._src import deletion  # pylint: disable=g-import-not-at-top
  return deletion.pending_deletion_name(path)


def checkpointable_names(path: pathlib.Path) -> list[str]:
  """Subdirectories that are checkpointables: `state` first, then sorted.

  Reserved names and temporary directories are left out, and so is a
  checkpointable whose deletion was started but not finished (the rule is
  the C++ reader's, `ocpx._core.checkpointable_names`).
  """
  return _core.checkpointable_names(path_source(path),
                                    deleting_checkpointable(path))


def is_direct_checkpoint(path: pathlib.Path,
                         step_meta: Optional[cm.StepMetadata]) -> bool:
  """A flat V0 checkpoint: one PyTree at the root, no named checkpointables."""
  if step_meta is not None and isinstance(step_meta.item_handlers, str):
    return True
  return (path / PYTREE_METADATA_FILE).exists()


def resolve_pytree_name(path: pathlib.Path,
                        name: Optional[str]) -> Optional[str]:
  """Resolves `checkpointable_name` for `load`/`metadata` (AUTO included).

  An explicit name must be a subdirectory holding PyTree metadata
  (`_METADATA`); None means the legacy V0 flat layout (`_METADATA` at the
  root).  AUTO picks `state`, then the other PyTrees in name order, then a
  flat V0 PyTree; failing those, a PyTree whose `_METADATA` was lost but
  whose arrays remain (its tree is rebuilt from the stored array names).
  The rules are the C++ reader's (`ocpx._core.resolve_checkpoint`), which
  the CLI and serving binaries follow too.

  Example:
    >>> resolve_pytree_name(pathlib.Path("/ckpt/100"), AUTO)  # doctest: +SKIP
    'state'

  Returns:
    The subdirectory name, or None for a flat V0 PyTree at `path`.

  Raises:
    ValueError: An invalid name.
    InvalidLayoutError: `path` is not a checkpoint, or holds no such PyTree.
    DeletionInProgressError: the named checkpointable is being deleted.
  """
  validate_load_name(name)
  return resolve(path, name)[1]


def resolve(path, name: Optional[str], *,
            explicit_needs_metadata: bool = True) -> tuple[str, Optional[str]]:
  """(layout, checkpointable) of the PyTree `name` selects at `path`.

  The layout is "v1", "v0-composite" or "v0-flat"; the checkpointable is
  None for a flat PyTree.  With `explicit_needs_metadata=False` (the CLI),
  a named checkpointable whose `_METADATA` was lost resolves too.
  """
  result = _core.resolve_checkpoint(
      path_source(path), name, explicit_needs_metadata=explicit_needs_metadata,
      pending_deletion=deleting_checkpointable(path),
      uses_commit_file=_commit_file_mode(path))
  if result[0] is not None:
    _raise(*result)
  return result[1], result[2]
