# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""How a save becomes visible: Orbax's `TemporaryPath` strategies.

Orbax 0.12.8 lets a caller choose how a checkpoint is made atomic with a
`TemporaryPath` class (`temporary_path_class=`, or `AtomicityOptions.mode`):

* `AtomicRenameTemporaryPath` (the default on local filesystems): write into
  `<final>.orbax-checkpoint-tmp`, then rename it to `<final>`.  A directory
  counts as complete when its name has no tmp suffix.
* `CommitFileTemporaryPath` (the default on GCS): write into `<final>`
  itself and write `commit_success.txt` last.  A directory counts as complete
  only once that file exists.

The v0 `Checkpointer`/`AsyncCheckpointer` and `CheckpointManager` accept
these classes (ocpx's, or Orbax's own by name) and any user subclass of
`TemporaryPath`.  For the two built-in strategies ocpx runs its own commit:
the default rename keeps ocpx's crash-safe overwrite (see `recovery.py`); the
commit-file strategy writes in place, syncs the tree, then writes the marker.
A user subclass is driven through its protocol (`from_final`, `create`,
`get`, `finalize`), as Orbax drives it.

Example:

  ckptr = ocp.Checkpointer(
      ocp.PyTreeCheckpointHandler(),
      temporary_path_class=ocp.path.atomicity.CommitFileTemporaryPath)
  ckptr.save(path, args=ocp.args.PyTreeSave(tree))   # path/commit_success.txt
"""

from __future__ import annotations

import abc
import enum
import inspect
import os
import pathlib
from typing import Any, Optional

from ocpx._src import path as path_lib

TMP_DIR_SUFFIX = path_lib.TMP_SUFFIX
COMMIT_SUCCESS_FILE = path_lib.COMMIT_SUCCESS_FILE


class ValidationError(ValueError):
  """A TemporaryPath or its final path is not what the strategy expects."""


def _as_path(p) -> pathlib.Path:
  if isinstance(p, pathlib.Path):
    return p
  return path_lib.as_path(os.fspath(p) if hasattr(p, "__fspath__") else p)


class TemporaryPath(abc.ABC):
  """A checkpoint's temporary path and the final path it becomes.

  `from_final` is called on every process; `create` and `finalize` only on
  the primary one (signatures as in Orbax 0.12.8).
  """

  @classmethod
  @abc.abstractmethod
  async def validate(cls, temporary_path):
    """Raises ValidationError unless `temporary_path` is a temporary path."""

  @classmethod
  @abc.abstractmethod
  async def validate_final(cls, final_path):
    """Raises ValidationError unless `final_path` is a finalized path."""

  @classmethod
  @abc.abstractmethod
  def from_temporary(cls, temporary_path, *, file_options=None,
                     snapshot_type=None) -> "TemporaryPath":
    """The TemporaryPath of an existing temporary path."""

  @classmethod
  @abc.abstractmethod
  def from_final(cls, final_path, *, checkpoint_metadata_store=None,
                 file_options=None, snapshot_type=None) -> "TemporaryPath":
    """The TemporaryPath that will become `final_path`."""

  @abc.abstractmethod
  def get(self) -> pathlib.Path:
    """The temporary path (not created)."""

  @abc.abstractmethod
  def get_final(self) -> pathlib.Path:
    """The final path."""

  @abc.abstractmethod
  async def create(self) -> pathlib.Path:
    """Creates the temporary path (primary process only); returns it."""

  @abc.abstractmethod
  async def finalize(self) -> None:
    """Turns the temporary path into the final one (primary process)."""


class TemporaryPathBase(TemporaryPath):
  """Shared state of the built-in strategies."""

  def __init__(self, temporary_path, final_path, *,
               checkpoint_metadata_store=None, file_options=None,
               snapshot_type=None):
    if snapshot_type is not None:
      raise NotImplementedError(
          f"{type(self).__name__}(snapshot_type=...): snapshots are not "
          "supported by ocpx.")
    self._tmp_path = None if temporary_path is None else _as_path(
        temporary_path)
    self._final_path = _as_path(final_path)
    self._checkpoint_metadata_store = checkpoint_metadata_store
    self._path_permission_mode = getattr(file_options, "path_permission_mode",
                                         None)

  def get(self) -> pathlib.Path:
    if not self._tmp_path:
      raise ValueError("Temporary path has not been created yet. Please call "
                       "`create` first.")
    return self._tmp_path

  def get_final(self) -> pathlib.Path:
    return self._final_path

  def _make_directory(self) -> pathlib.Path:
    tmp = self.get()
    if tmp.exists() or tmp.is_symlink():
      path_lib.rmtree(tmp)  # an unfinished earlier save
    path_lib.mkdir(tmp, self._path_permission_mode, parents=True)
    return tmp


def _check_is_dir(name: str, path: pathlib.Path) -> None:
  if not path.is_dir():
    raise ValidationError(f"Expected {name} ({path}) to be a directory.")


class AtomicRenameTemporaryPath(TemporaryPathBase):
  """Writes `<final>.orbax-checkpoint-tmp`, then renames it to `<final>`."""

  @classmethod
  async def validate(cls, temporary_path):
    p = _as_path(temporary_path)
    if p.is_symlink():
      raise ValidationError(
          f"Path {p} is a symbolic link and cannot be treated as a temporary "
          "checkpoint.")
    if TMP_DIR_SUFFIX not in p.name:
      raise ValidationError(
          f'Expected {cls.__name__} ({p}) to end with "{TMP_DIR_SUFFIX}".')
    _check_is_dir(cls.__name__, p)

  @classmethod
  async def validate_final(cls, final_path):
    p = _as_path(final_path)
    if TMP_DIR_SUFFIX in p.name:
      raise ValidationError(
          f'Expected final {cls.__name__} ({p}) not to end with '
          f'"{TMP_DIR_SUFFIX}".')
    _check_is_dir(cls.__name__, p)

  @classmethod
  def from_temporary(cls, temporary_path, *, file_options=None,
                     snapshot_type=None) -> "AtomicRenameTemporaryPath":
    p = _as_path(temporary_path)
    k = p.name.find(TMP_DIR_SUFFIX)
    if k == -1:
      raise ValueError(f'Expected {p} to end with "{TMP_DIR_SUFFIX}".')
    return cls(p, p.parent / p.name[:k], file_options=file_options,
               snapshot_type=snapshot_type)

  @classmethod
  def from_final(cls, final_path, *, checkpoint_metadata_store=None,
                 file_options=None, snapshot_type=None
                 ) -> "AtomicRenameTemporaryPath":
    p = _as_path(final_path)
    return cls(path_lib.tmp_path_for(p), p,
               checkpoint_metadata_store=checkpoint_metadata_store,
               file_options=file_options, snapshot_type=snapshot_type)

  async def create(self) -> pathlib.Path:
    return self._make_directory()

  async def finalize(self) -> None:
    """Writes `commit_success.txt` in the tmp directory, syncs it and
    renames it into place (refusing to replace an existing final path)."""
    from ocpx._src import recovery  # pylint: disable=g-import-not-at-top
    tmp = self.get()
    path_lib.write_file_durably(
        tmp / COMMIT_SUCCESS_FILE,
        f"Checkpoint commit was successful to {self._final_path}")
    if path_lib.inside_tmp_checkpoint(self._final_path.parent):
      # An item inside a checkpoint's temporary directory (a composite's
      # item): the checkpoint's own commit syncs everything, and nothing
      # here is visible before it.
      if self._final_path.exists() or self._final_path.is_symlink():
        raise FileExistsError(
            f"Destination {self._final_path} already exists; not "
            "overwriting it")
      os.rename(tmp, self._final_path)
      return
    path_lib.fsync_tree(tmp)
    recovery.commit(tmp, self._final_path, overwrite=False)

  def __repr__(self):
    return (f'AtomicRenameTemporaryPath(tmp="{self.get().name}", '
            f'final="{self._final_path.name}", '
            f'directory="{self._final_path.parent}")')


class CommitFileTemporaryPath(TemporaryPathBase):
  """Writes into `<final>` itself; `commit_success.txt`, written last after
  everything else is durable, commits it."""

  @classmethod
  async def validate(cls, temporary_path):
    p = _as_path(temporary_path)
    if p.is_symlink():
      raise ValidationError(
          f"Path {p} is a symbolic link and cannot be treated as a temporary "
          "checkpoint.")
    if (p / COMMIT_SUCCESS_FILE).exists():
      raise ValidationError(
          f'Expected {cls.__name__} ({p}) not to contain the '
          f'"{COMMIT_SUCCESS_FILE}" file.')
    _check_is_dir(cls.__name__, p)

  @classmethod
  async def validate_final(cls, final_path):
    p = _as_path(final_path)
    if not (p / COMMIT_SUCCESS_FILE).exists():
      raise ValidationError(
          f'Expected {cls.__name__} ({p}) to contain the '
          f'"{COMMIT_SUCCESS_FILE}" file.')
    _check_is_dir(cls.__name__, p)

  @classmethod
  def from_temporary(cls, temporary_path, *, file_options=None,
                     snapshot_type=None) -> "CommitFileTemporaryPath":
    return cls(temporary_path, temporary_path, file_options=file_options,
               snapshot_type=snapshot_type)

  @classmethod
  def from_final(cls, final_path, *, checkpoint_metadata_store=None,
                 file_options=None, snapshot_type=None
                 ) -> "CommitFileTemporaryPath":
    if snapshot_type is not None:
      raise ValueError("Snapshot is not supported for CommitFileTemporaryPath.")
    return cls(final_path, final_path,
               checkpoint_metadata_store=checkpoint_metadata_store,
               file_options=file_options)

  async def create(self) -> pathlib.Path:
    return self._make_directory()

  async def finalize(self) -> None:
    write_commit_marker(self._final_path, self._final_path)


def write_commit_marker(directory: pathlib.Path, final: pathlib.Path) -> None:
  """Commits a commit-file-mode save: syncs everything below `directory`,
  then writes `commit_success.txt` durably (file and directory entry)."""
  path_lib.fsync_tree(directory)
  path_lib.write_file_durably(directory / COMMIT_SUCCESS_FILE,
                              f"Checkpoint commit was successful to {final}")
  path_lib.fsync_dir(directory)


# ---------------------------------------------------------------------------
# Choosing a strategy


def get_default_temporary_path_class(path, *, atomicity_options=None) -> type:
  """The strategy for `path`: from `atomicity_options.mode` if explicit,
  else commit-file on object stores and atomic rename elsewhere."""
  mode = _mode_name(atomicity_options)
  if mode == "COMMIT_FILE":
    return CommitFileTemporaryPath
  if mode == "ATOMIC_RENAME":
    return AtomicRenameTemporaryPath
  if mode not in (None, "AUTO"):
    raise ValueError(f"Unsupported atomicity_mode: {mode}.")
  if path_lib.uses_commit_file(path):
    return CommitFileTemporaryPath
  return AtomicRenameTemporaryPath


get_item_default_temporary_path_class = get_default_temporary_path_class


def _mode_name(atomicity_options) -> Optional[str]:
  if atomicity_options is None:
    return None
  mode = getattr(atomicity_options, "mode", None)
  if mode is None:
    return None
  name = mode.name if isinstance(mode, enum.Enum) else str(mode)
  return name.upper().rsplit(".", 1)[-1]


class Strategy(enum.Enum):
  """How ocpx commits a save with a given TemporaryPath class."""
  RENAME = "rename"            # ocpx's crash-safe rename (recovery.py)
  COMMIT_FILE = "commit_file"  # in place, commit_success.txt last
  CUSTOM = "custom"            # the class's own create/finalize


def is_builtin(cls, name: str) -> bool:
  """`cls` is ocpx's or Orbax's own class of that name (not a subclass)."""
  if cls is globals()[name]:
    return True
  return (getattr(cls, "__name__", None) == name
          and getattr(cls, "__module__", "").startswith("orbax.checkpoint"))


def strategy_for(temporary_path_class, final, atomicity_options=None
                 ) -> Strategy:
  """The strategy a save of `final` uses.

  Raises:
    TypeError: `temporary_path_class` is not a TemporaryPath class.
  """
  cls = temporary_path_class
  if cls is None:
    cls = get_default_temporary_path_class(
        final, atomicity_options=atomicity_options)
  if is_builtin(cls, "AtomicRenameTemporaryPath"):
    if path_lib.uses_commit_file(final):
      raise NotImplementedError(
          f"{final}: AtomicRenameTemporaryPath on an object store; objects "
          "cannot be renamed atomically. Use CommitFileTemporaryPath.")
    return Strategy.RENAME
  if is_builtin(cls, "CommitFileTemporaryPath"):
    return Strategy.COMMIT_FILE
  if not inspect.isclass(cls) or not all(
      callable(getattr(cls, m, None))
      for m in ("from_final", "create", "finalize", "get")):
    raise TypeError(
        f"temporary_path_class must be a TemporaryPath subclass (with "
        f"from_final, create, get and finalize), got {cls!r}")
  if path_lib.uses_commit_file(final):
    raise NotImplementedError(
        f"{final}: a custom temporary_path_class ({cls.__name__}) on an "
        "object store is not supported; use CommitFileTemporaryPath.")
  return Strategy.CUSTOM


def needs_commit_file(temporary_path_class, atomicity_options, path) -> bool:
  """Whether checkpoints under this configuration count as complete only
  with `commit_success.txt` (for restores and listings)."""
  cls = temporary_path_class or get_default_temporary_path_class(
      path, atomicity_options=atomicity_options)
  return "CommitFile" in getattr(cls, "__name__", "")


def run(awaitable) -> Any:
  """Runs a TemporaryPath coroutine (or returns a plain value)."""
  if not inspect.isawaitable(awaitable):
    return awaitable
  from ocpx._src import saving  # pylint: disable=g-import-not-at-top

  async def wrap():
    return await awaitable
  return saving._run_coroutine(wrap())  # pylint: disable=protected-access


def is_finalized(path, *, temporary_path_class=None,
                 atomicity_options=None) -> bool:
  """Whether `path` is a finalized checkpoint for this configuration (as
  Orbax's `step.is_path_finalized`)."""
  p = _as_path(path)
  cls: Any = temporary_path_class or get_default_temporary_path_class(
      p, atomicity_options=atomicity_options)
  classes: list[Any] = [cls]
  if (getattr(atomicity_options, "allow_legacy_atomic_rename", False)
      and not is_builtin(cls, "AtomicRenameTemporaryPath")):
    classes.append(AtomicRenameTemporaryPath)
  for c in classes:
    try:
      run(c.validate_final(p))
      return True
    except ValueError:  # ValidationError, Orbax's too (a ValueError)
      continue
  return False

