# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""`delete` / `delete_async`: removing a checkpoint or one checkpointable.

Deleting a whole checkpoint removes its payload first and the files that
identify it as a checkpoint last, so an interrupted deletion leaves a
directory that is still recognised and can be deleted again.

Deleting one checkpointable is made restartable by a record,
`<checkpoint>/_CHECKPOINT_DELETION` (the file Orbax uses), written before
anything is removed: it names the checkpointable and holds the checkpoint
metadata before and after.  While it exists, loads leave that checkpointable
out (and refuse it by name with DeletionInProgressError); calling `delete`
again with the same name finishes the work, with another name raises
DeletionRecoveryError.  Once the directory is gone, `_CHECKPOINT_METADATA`
is rewritten without it and the record is removed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
import uuid
from typing import Any, Optional

from ocpx._src import async_response as async_lib
from ocpx._src import checkpoint_metadata as cm
from ocpx._src import context as context_lib
from ocpx._src import errors
from ocpx._src import layout
from ocpx._src import multihost
from ocpx._src import options as options_lib
from ocpx._src import path as path_lib

RECORD_FILE = "_CHECKPOINT_DELETION"
# Files identifying a directory as a checkpoint: removed last.
_MARKERS = frozenset({layout.INDICATOR_FILE, layout.PYTREE_METADATA_FILE,
                      cm.CHECKPOINT_METADATA_FILE})
_OPERATION_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclasses.dataclass(frozen=True, kw_only=True)
class DeletionRecord:
  """The persisted intent to delete one named checkpointable."""

  operation_id: str
  checkpointable_name: str
  destination: Optional[str]
  original_metadata: dict[str, Any]
  updated_metadata: dict[str, Any]

  def to_json(self) -> dict[str, Any]:
    return dataclasses.asdict(self)

  @classmethod
  def from_json(cls, value: dict[str, Any]) -> DeletionRecord:
    return cls(operation_id=value["operation_id"],
               checkpointable_name=value["checkpointable_name"],
               destination=value.get("destination"),
               original_metadata=value["original_metadata"],
               updated_metadata=value["updated_metadata"])


def _validate_name(name: Any) -> None:
  if not isinstance(name, str):
    raise TypeError("checkpointable_name must be a string or None.")
  if (not name or name in (".", "..")
      or name in layout.RESERVED_CHECKPOINTABLE_KEYS
      or name in (cm.CHECKPOINT_METADATA_FILE, RECORD_FILE)
      or any(c in name for c in ("/", "\\", "\x00"))):
    raise ValueError(f"Invalid checkpointable name: {name!r}.")


def _read_json_dict(path: pathlib.Path) -> dict[str, Any]:
  value = json.loads(path.read_text())
  if not isinstance(value, dict):
    raise ValueError(f"Expected a JSON object in {path}.")
  return value


def _without(metadata: dict[str, Any], name: str) -> dict[str, Any]:
  handlers = metadata.get("item_handlers")
  if not isinstance(handlers, dict) or name not in handlers:
    raise ValueError(f"No handler metadata for checkpointable {name!r}.")
  return {**metadata,
          "item_handlers": {k: v for k, v in handlers.items() if k != name}}


def read_record(path: pathlib.Path) -> Optional[DeletionRecord]:
  """The unfinished deletion recorded in checkpoint `path`, if any.

  Raises:
    DeletionRecoveryError: The record is corrupt or contradicts the
      checkpoint's metadata.
  """
  record_path = path / RECORD_FILE
  if not record_path.exists():
    return None
  try:
    record = DeletionRecord.from_json(_read_json_dict(record_path))
    _validate_name(record.checkpointable_name)
    if not (isinstance(record.operation_id, str)
            and _OPERATION_ID.match(record.operation_id)):
      raise ValueError("missing or malformed operation id")
    if record.updated_metadata != _without(record.original_metadata,
                                           record.checkpointable_name):
      raise ValueError("replacement metadata does not match")
    if record.destination is not None:
      raise ValueError("relocation destinations are not supported")
    current = _read_json_dict(path / cm.CHECKPOINT_METADATA_FILE)
    if current not in (record.original_metadata, record.updated_metadata):
      raise ValueError("checkpoint metadata conflicts with the record")
    return record
  except FileNotFoundError as e:
    if not record_path.exists():
      return None  # finished concurrently
    raise errors.DeletionRecoveryError(
        f"Invalid deletion record at {record_path}: {e}") from e
  except (ValueError, TypeError, KeyError, IsADirectoryError) as e:
    raise errors.DeletionRecoveryError(
        f"Invalid deletion record at {record_path}: {e}") from e


def pending_deletion_name(path: pathlib.Path) -> Optional[str]:
  """Name of the checkpointable whose deletion is unfinished, if any."""
  record = read_record(path)
  return record.checkpointable_name if record is not None else None


def ensure_available(path: pathlib.Path) -> None:
  """Raises DeletionInProgressError if `path` has an unfinished deletion."""
  if read_record(path) is not None:
    raise errors.DeletionInProgressError(
        f"Checkpoint at {path} has an unfinished deletion. Call delete() "
        "with the same arguments again before modifying the checkpoint.")


def _check_path(path: pathlib.Path) -> None:
  if not path.name or str(path) in (".", "..", "/"):
    raise ValueError(f"Cannot delete a storage root: {path}.")
  if path.is_symlink():
    raise ValueError(f"Cannot delete a checkpoint through a symlink: {path}.")


def _check_options(ctx: context_lib.Context) -> None:
  trash = ctx.deletion.gcs_deletion_options.todelete_full_path
  if trash is not None:
    if (not trash or trash.startswith("/") or ".." in trash.split("/")
        or "://" in trash):
      raise ValueError("todelete_full_path must be a relative bucket path.")
    raise NotImplementedError(
        "DeletionOptions.gcs_deletion_options.todelete_full_path requires a "
        "GCS checkpoint; ocpx deletes local checkpoints in place.")


def _validate_root(path: pathlib.Path, ctx: context_lib.Context) -> None:
  if not path.is_dir():
    raise NotADirectoryError(f"Checkpoint path is not a directory: {path}.")
  if ctx.checkpoint_layout not in (options_lib.CheckpointLayout.ORBAX,
                                   options_lib.CheckpointLayout.AUTO):
    raise NotImplementedError(
        "Deletion supports Orbax checkpoint layouts only (checkpoint_layout="
        f"{ctx.checkpoint_layout.value!r}).")
  if any((path.parent / m).exists() for m in (
      layout.INDICATOR_FILE, cm.CHECKPOINT_METADATA_FILE, RECORD_FILE)):
    raise layout.InvalidLayoutError(
        f"{path} is a checkpointable directory. Delete it from its checkpoint "
        f"root {path.parent} using checkpointable_name instead.")
  if not any(path.iterdir()):
    return  # left by an interrupted deletion
  if not any((path / m).is_file() for m in _MARKERS):
    raise layout.InvalidLayoutError(f"Not an Orbax checkpoint root: {path}.")


@dataclasses.dataclass
class _Plan:
  path: pathlib.Path
  record: Optional[DeletionRecord] = None
  resuming: bool = False


def _prepare(path: pathlib.Path, name: Optional[str], missing_ok: bool,
             ctx: context_lib.Context) -> Optional[_Plan]:
  """Checks everything and decides what to do; changes no file."""
  if name is not None:
    _validate_name(name)
  if not isinstance(missing_ok, bool):
    raise TypeError("missing_ok must be a bool.")
  _check_path(path)
  if not path.exists():
    if missing_ok:
      return None
    raise FileNotFoundError(f"Checkpoint does not exist: {path}.")
  _validate_root(path, ctx)
  _check_options(ctx)
  if name is None:
    return _Plan(path)
  record = read_record(path)
  if record is not None:
    if record.checkpointable_name != name:
      raise errors.DeletionRecoveryError(
          f"Checkpoint at {path} has an unfinished deletion of "
          f"{record.checkpointable_name!r}, not {name!r}; finish that one "
          "first.")
    return _Plan(path, record, resuming=True)
  metadata_file = path / cm.CHECKPOINT_METADATA_FILE
  item = path / name
  try:
    original = _read_json_dict(metadata_file)
  except FileNotFoundError:
    raise
  handlers = original.get("item_handlers")
  if not isinstance(handlers, dict):
    raise layout.InvalidLayoutError(
        f"Checkpoint at {path} has no named checkpointables.")
  _check_path(item)
  if name not in handlers or not item.is_dir():
    if missing_ok and not item.exists():
      return None
    raise FileNotFoundError(
        f"Checkpointable {name!r} does not exist at {path}.")
  remaining = [k for k in handlers if k != name
               and k not in layout.RESERVED_CHECKPOINTABLE_KEYS
               and (path / k).is_dir()]
  if not remaining:
    raise ValueError(
        "Cannot delete the final checkpointable; delete the whole checkpoint "
        "instead.")
  return _Plan(path, DeletionRecord(
      operation_id=uuid.uuid4().hex, checkpointable_name=name,
      destination=None, original_metadata=original,
      updated_metadata=_without(original, name)))


def _publish(plan: Optional[_Plan], ctx: context_lib.Context) -> None:
  if plan is None or plan.record is None or plan.resuming:
    return
  record_path = plan.path / RECORD_FILE
  data = json.dumps(plan.record.to_json()).encode()
  # Exclusive create: two deletions must not both believe they own it.
  fd = os.open(record_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
  try:
    os.write(fd, data)
    os.fsync(fd)
  finally:
    os.close(fd)
  if ctx.file.path_permission_mode is not None:
    os.chmod(record_path, ctx.file.path_permission_mode)
  path_lib.fsync_dir(plan.path)


def _execute(plan: Optional[_Plan]) -> None:
  if plan is None:
    return
  if plan.record is None:
    # Payload first, identifying files last: an interrupted deletion leaves
    # a directory that is still recognised as a checkpoint.
    for child in list(plan.path.iterdir()):
      if child.name not in _MARKERS:
        path_lib.rmtree(child)
    path_lib.rmtree(plan.path)
    path_lib.fsync_dir(plan.path.parent)
    return
  record = plan.record
  path_lib.rmtree(plan.path / record.checkpointable_name)
  path_lib.write_file_durably(plan.path / cm.CHECKPOINT_METADATA_FILE,
                              json.dumps(record.updated_metadata))
  (plan.path / RECORD_FILE).unlink(missing_ok=True)
  path_lib.fsync_dir(plan.path)


def delete_async(path, *, checkpointable_name: Optional[str] = None,
                 missing_ok: bool = False) -> async_lib.AsyncResponse[bool]:
  """Deletes a checkpoint, or one checkpointable of it, in the background.

  Everything is checked, and the deletion record written, before this
  returns; files are removed by a background thread.  Call it on every
  process with the same arguments; the primary host removes the files.

  Example:

    response = ocp.delete_async("/tmp/ckpt")
    ...
    response.result()   # True: something was deleted

  Args:
    path: A checkpoint's root directory (not a directory of many checkpoints,
      nor a checkpointable's subdirectory).
    checkpointable_name: Delete only this checkpointable; the others stay
      loadable.  None deletes the whole checkpoint.
    missing_ok: Return False instead of raising if the target is absent.

  Returns:
    An AsyncResponse whose result is True if something was deleted
    (including finishing an interrupted deletion), False if the target was
    absent and `missing_ok`.

  Raises:
    FileNotFoundError: The target does not exist and not `missing_ok`.
    InvalidLayoutError: `path` is not a checkpoint root, or has no named
      checkpointables.
    ValueError: Invalid name, or the last checkpointable of the checkpoint.
    TypeError: Wrong argument types.
    DeletionRecoveryError: An unfinished deletion of another checkpointable.
    NotImplementedError: A non-Orbax `checkpoint_layout`, or
      `todelete_full_path` (GCS soft delete).
  """
  ctx = context_lib.get_context()
  root = path_lib.as_path(path)
  mp = ctx.multiprocessing
  sync = multihost.Sync(f"delete:{root.absolute()}",
                        timeout_secs=ctx.asynchronous.timeout_secs,
                        active_processes=mp.active_processes,
                        key_prefix=mp.barrier_sync_key_prefix)
  is_primary = multihost.is_primary_host(mp.primary_host)
  try:
    plan = _prepare(root, checkpointable_name, missing_ok, ctx)
    sync.barrier("prepared")
    if is_primary:
      _publish(plan, ctx)
    sync.barrier("published")
  except BaseException as e:
    sync.fail(e)
    raise

  def run() -> bool:
    try:
      if is_primary:
        _execute(plan)
      sync.barrier("finished")
    except BaseException as e:
      sync.fail(e)
      raise
    return plan is not None

  return async_lib.AsyncResponse(run, name=f"ocpx-delete:{root.name}")


def delete(path, *, checkpointable_name: Optional[str] = None,
           missing_ok: bool = False) -> bool:
  """Deletes a checkpoint, or one checkpointable of it; blocks until done.

  See `delete_async` for the arguments and errors.  An interrupted deletion
  is finished by calling `delete` again with the same arguments.

  Example:

    ocp.save_checkpointables(path, {"model": params, "opt": opt_state})
    ocp.delete(path, checkpointable_name="opt")   # "model" still loads
    ocp.delete(path)                               # the whole checkpoint

  Returns:
    True if something was deleted, False if the target was absent and
    `missing_ok`.
  """
  return delete_async(path, checkpointable_name=checkpointable_name,
                      missing_ok=missing_ok).result()
