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
  """The path is not a checkpoint of the expected layout."""


def validate_checkpointable_name(name) -> None:
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


def _is_v1(path: pathlib.Path) -> bool:
  return ((path / cm.CHECKPOINT_METADATA_FILE).exists()
          and (path / INDICATOR_FILE).exists())


def _is_v0(path: pathlib.Path) -> bool:
  if (path.parent / cm.CHECKPOINT_METADATA_FILE).exists():
    return False  # An item directory inside a checkpoint.
  if (path / cm.CHECKPOINT_METADATA_FILE).exists():
    return True
  if (path / PYTREE_METADATA_FILE).exists():
    return True
  for child in path.iterdir():
    if child.is_dir() and (child / cm.CHECKPOINT_METADATA_FILE).exists():
      return False  # A root directory of many checkpoints.
  return True


def _has_array_data(path: pathlib.Path) -> bool:
  return (path / "manifest.ocdbt").exists() or any(
      c.name.startswith("ocdbt.process_") for c in path.iterdir()
      if c.is_dir())


def is_orbax_checkpoint(path) -> bool:
  """True if `path` is a finalized Orbax checkpoint (v1 or v0 layout)."""
  p = path_lib.as_path(path)
  if not p.is_dir() or path_lib.is_tmp(p):
    return False
  return (_is_v1(p) or _is_v0(p)) and is_committed(p)


def check_checkpoint_dir(path: pathlib.Path) -> None:
  """Raises a clear error unless `path` can be loaded."""
  if not path.exists():
    raise FileNotFoundError(f"Checkpoint path {path} does not exist.")
  if not path.is_dir():
    raise NotADirectoryError(f"Checkpoint path {path} is not a directory.")
  if path_lib.is_tmp(path):
    raise InvalidLayoutError(
        f"{path} is a temporary (unfinished) checkpoint directory; it was "
        "never committed.")
  if not (_is_v1(path) or _is_v0(path)):
    raise InvalidLayoutError(f"{path} is not an Orbax checkpoint.")
  if path_lib.uses_commit_file(path) and not is_committed(path):
    raise InvalidLayoutError(
        f"{path} was never committed (no {path_lib.COMMIT_SUCCESS_FILE}): "
        "its save was interrupted or is still running.")


def is_committed(path) -> bool:
  """On object stores a checkpoint is committed once `commit_success.txt`
  exists in it (or, for an item directory of a v0 checkpoint, in its
  parent); elsewhere the atomic rename committed whatever exists."""
  if not path_lib.uses_commit_file(path):
    return True
  return ((path / path_lib.COMMIT_SUCCESS_FILE).is_file()
          or (path.parent / path_lib.COMMIT_SUCCESS_FILE).is_file())


def checkpointable_names(path: pathlib.Path) -> list[str]:
  """Subdirectories that are checkpointables: `state` first, then sorted."""
  names = sorted(
      c.name for c in path.iterdir()
      if c.is_dir() and c.name not in RESERVED_CHECKPOINTABLE_KEYS
      and not path_lib.is_tmp(c))
  if STATE_CHECKPOINTABLE_KEY in names:
    names.remove(STATE_CHECKPOINTABLE_KEY)
    names.insert(0, STATE_CHECKPOINTABLE_KEY)
  return names


def resolve_pytree_name(path: pathlib.Path,
                        name: Optional[str]) -> Optional[str]:
  """Resolves `checkpointable_name` for `load`/`metadata` (AUTO included).

  Returns the subdirectory name, or None for a flat v0 pytree at `path`.
  """
  check_checkpoint_dir(path)
  if name != AUTO:
    validate_checkpointable_name(name)
    if name is None:
      if _is_v1(path):
        raise InvalidLayoutError(
            f"Failed to interpret path {path} as a V1 Orbax PyTree with "
            "checkpointable_name=None: a v1 checkpoint keeps its PyTree in a "
            "named subdirectory.")
      if not (path / PYTREE_METADATA_FILE).exists():
        raise FileNotFoundError(
            f"{path / PYTREE_METADATA_FILE}: no PyTree metadata at the "
            "checkpoint root.")
      return None
    if not (path / name).is_dir():
      raise FileNotFoundError(
          f"Checkpointable {name!r} not found in {path}; available: "
          f"{checkpointable_names(path)}")
    return name
  candidates = checkpointable_names(path)
  for candidate in candidates:
    if (path / candidate / PYTREE_METADATA_FILE).exists():
      return candidate
  if not _is_v1(path) and (path / PYTREE_METADATA_FILE).exists():
    return None
  # PyTrees whose _METADATA was lost still hold their arrays.
  if not _is_v1(path) and _has_array_data(path):
    return None
  for candidate in candidates:
    if candidate in ("d", "array_metadatas") or candidate.startswith(
        "ocdbt.process_"):
      continue
    if _has_array_data(path / candidate):
      return candidate
  raise InvalidLayoutError(
      f"{path}: no valid PyTree checkpointable found (no subdirectory holds "
      f"{PYTREE_METADATA_FILE}).")
