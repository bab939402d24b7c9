# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Recognising checkpoint layouts (Orbax v1 and v0) and resolving names."""

from __future__ import annotations

import pathlib
from typing import Optional

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


def checkpoint_version(path: pathlib.Path) -> str:
  """V1 if the `orbax.checkpoint` indicator file is present, else V0."""
  return V1 if (path / INDICATOR_FILE).exists() else V0


def _check_directory(path: pathlib.Path) -> None:
  if not path.exists():
    raise CheckpointNotFoundError(f"Checkpoint path {path} does not exist.")
  if not path.is_dir():
    raise NotACheckpointDirectoryError(
        f"Checkpoint path {path} is not a directory.")
  if path_lib.is_tmp(path):
    raise InvalidLayoutError(
        f"Found incomplete checkpoint at {path}: it is a temporary directory "
        "of a save that never committed.")
  if not is_committed(path):
    raise InvalidLayoutError(
        f"Found incomplete checkpoint at {path}: it was never committed (no "
        f"{path_lib.COMMIT_SUCCESS_FILE}); its save was interrupted or is "
        "still running.")


def _commit_file_mode(path) -> bool:
  """Object stores, or a Context asking for commit-file atomicity
  (`AtomicityOptions(mode=COMMIT_FILE)` or a commit-file
  `temporary_path_class`, e.g. to read commit-file checkpoints of Orbax)."""
  if path_lib.uses_commit_file(path):
    return True
  from ocpx._src import atomicity  # pylint: disable=g-import-not-at-top
  from ocpx._src import context as context_lib  # pylint: disable=g-import-not-at-top
  ctx = context_lib.get_context()
  mode = getattr(getattr(ctx.atomicity, "mode", None), "name", None)
  cls = ctx.file_options.temporary_path_class
  return mode == "COMMIT_FILE" or (
      cls is not None and atomicity.needs_commit_file(cls, None, path))


def is_committed(path) -> bool:
  """In commit-file mode (object stores, or as the Context asks) a
  checkpoint is committed once `commit_success.txt` exists in it (or, for
  an item directory of a v0 checkpoint, in its parent); elsewhere the
  atomic rename committed whatever exists."""
  if not _commit_file_mode(path):
    return True
  return ((path / path_lib.COMMIT_SUCCESS_FILE).is_file()
          or (path.parent / path_lib.COMMIT_SUCCESS_FILE).is_file())


def _v1_problem(path: pathlib.Path) -> Optional[str]:
  """Why `path` is not a V1 checkpoint root (None if it is one)."""
  if not (path / cm.CHECKPOINT_METADATA_FILE).exists():
    return (f"it has the {INDICATOR_FILE!r} indicator file but is missing the "
            f"checkpoint metadata file {cm.CHECKPOINT_METADATA_FILE!r}")
  if not (path / INDICATOR_FILE).exists():
    return f"it is missing the indicator file {INDICATOR_FILE!r}"
  return None


def _v0_problem(path: pathlib.Path) -> Optional[str]:
  """Why `path` is not a V0 checkpoint root (None if it is one)."""
  if (path.parent / cm.CHECKPOINT_METADATA_FILE).exists():
    return (f"it appears to be a subdirectory of the Orbax checkpoint "
            f"{path.parent}; load from that directory instead")
  if (path / cm.CHECKPOINT_METADATA_FILE).exists():
    return None
  if (path / PYTREE_METADATA_FILE).exists():
    return None
  steps = sorted(c.name for c in path.iterdir()
                 if c.is_dir() and (c / cm.CHECKPOINT_METADATA_FILE).exists())
  if steps:
    return (f"it is a root directory holding several checkpoints; load one "
            f"of its checkpoint subdirectories {steps} instead")
  return None


def _has_array_data(path: pathlib.Path) -> bool:
  return (path / "manifest.ocdbt").exists() or any(
      c.name.startswith("ocdbt.process_") for c in path.iterdir()
      if c.is_dir())


def is_orbax_checkpoint(path) -> bool:
  """True if `path` is a finalized Orbax checkpoint (V1 or V0 layout)."""
  p = path_lib.as_path(path)
  try:
    _check_directory(p)
  except InvalidLayoutError:
    return False
  return _v1_problem(p) is None or _v0_problem(p) is None


def check_checkpoint_dir(path: pathlib.Path) -> str:
  """Raises InvalidLayoutError unless `path` is a loadable checkpoint root.

  Returns:
    The checkpoint's version, V1 or V0.
  """
  _check_directory(path)
  version = checkpoint_version(path)
  problem = _v1_problem(path) if version == V1 else _v0_problem(path)
  if problem is not None:
    raise InvalidLayoutError(
        f"Could not recognize the checkpoint at {path} as a valid Orbax "
        f"checkpoint: {problem}. To load a checkpoint in another layout, set "
        "`ctx.checkpoint_layout`.")
  return version


def deleting_checkpointable(path: pathlib.Path) -> Optional[str]:
  """The checkpointable an unfinished `delete` is removing, if any."""
  from ocpx._src import deletion  # pylint: disable=g-import-not-at-top
  return deletion.pending_deletion_name(path)


def checkpointable_names(path: pathlib.Path) -> list[str]:
  """Subdirectories that are checkpointables: `state` first, then sorted.

  A checkpointable whose deletion was started but not finished is left out.
  """
  deleting = deleting_checkpointable(path)
  names = sorted(
      c.name for c in path.iterdir()
      if c.is_dir() and c.name not in RESERVED_CHECKPOINTABLE_KEYS
      and not path_lib.is_tmp(c) and c.name != deleting)
  if STATE_CHECKPOINTABLE_KEY in names:
    names.remove(STATE_CHECKPOINTABLE_KEY)
    names.insert(0, STATE_CHECKPOINTABLE_KEY)
  return names


def is_direct_checkpoint(path: pathlib.Path,
                         step_meta: Optional[cm.StepMetadata]) -> bool:
  """A flat V0 checkpoint: one PyTree at the root, no named checkpointables."""
  if step_meta is not None and isinstance(step_meta.item_handlers, str):
    return True
  return (path / PYTREE_METADATA_FILE).exists()


def _valid_pytree_names(path: pathlib.Path) -> list[str]:
  return [n for n in checkpointable_names(path)
          if (path / n / PYTREE_METADATA_FILE).exists()]


def _not_a_pytree(path: pathlib.Path, version: str, why: str):
  label = "V1" if version == V1 else "V0"
  return InvalidLayoutError(
      f"Failed to interpret path {path} as a {label} Orbax PyTree: {why}")


def resolve_pytree_name(path: pathlib.Path,
                        name: Optional[str]) -> Optional[str]:
  """Resolves `checkpointable_name` for `load`/`metadata` (AUTO included).

  An explicit name must be a subdirectory holding PyTree metadata
  (`_METADATA`); None means the legacy V0 flat layout (`_METADATA` at the
  root).  AUTO picks `state`, then the other PyTrees in name order, then a
  flat V0 PyTree; failing those, a PyTree whose `_METADATA` was lost but
  whose arrays remain (its tree is rebuilt from the stored array names).

  Returns:
    The subdirectory name, or None for a flat V0 PyTree at `path`.

  Raises:
    ValueError: An invalid name.
    InvalidLayoutError: `path` is not a checkpoint, or holds no such PyTree.
  """
  validate_load_name(name)
  version = check_checkpoint_dir(path)
  if name != AUTO:
    deleting = deleting_checkpointable(path)
    if name is not None and name == deleting:
      from ocpx._src import errors  # pylint: disable=g-import-not-at-top
      raise errors.DeletionInProgressError(
          f"Checkpointable {name!r} at {path} is pending deletion and cannot "
          "be read. Call delete() with the same arguments again to finish it.")
    if name is None and version == V1:
      raise _not_a_pytree(
          path, version,
          "checkpointable_name=None is only supported for legacy V0 "
          "checkpoints; pass the name of the checkpointable to load, or omit "
          "it to load 'state'.")
    pytree_dir = path if name is None else path / name
    if (pytree_dir / PYTREE_METADATA_FILE).is_file():
      return name
    if name is not None and (path / PYTREE_METADATA_FILE).exists():
      hint = ("this directory is itself a flat PyTree checkpoint: load it "
              "with checkpointable_name=None")
    else:
      valid = _valid_pytree_names(path)
      hint = (f"valid PyTree checkpointable names: {valid}" if valid else
              "the checkpoint holds no PyTree checkpointable")
    what = ("no PyTree metadata at its root" if name is None else
            f"checkpointable {name!r} does not exist or has no PyTree "
            f"metadata ({PYTREE_METADATA_FILE})")
    raise _not_a_pytree(path, version, f"{what}; {hint}.")
  candidates = checkpointable_names(path)
  for candidate in candidates:
    if (path / candidate / PYTREE_METADATA_FILE).exists():
      return candidate
  if version == V0 and (path / PYTREE_METADATA_FILE).exists():
    return None
  # PyTrees whose _METADATA was lost still hold their arrays.
  if version == V0 and _has_array_data(path):
    return None
  for candidate in candidates:
    if candidate in ("d", "array_metadatas") or candidate.startswith(
        "ocdbt.process_"):
      continue
    if _has_array_data(path / candidate):
      return candidate
  raise InvalidLayoutError(
      f"Failed to load checkpoint using AUTO resolution mode on "
      f"path='{path}'. No valid PyTree checkpointable found (no subdirectory "
      f"holds {PYTREE_METADATA_FILE}).")
