# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Partial saving (`ocpx.v1.partial`): build a checkpoint over several calls.

    ocp.partial.save(path, {"layer1": w1, "step": 1})
    ocp.partial.save(path, {"layer2": w2})
    ocp.partial.finalize(path)          # now `path` is an ordinary checkpoint

Each `save` commits one more self-contained checkpoint, holding only the new
leaves, into the session directory `<path>.partial_save/` (an interrupted
call leaves the previous ones intact; nothing exists at `path` yet).  A leaf
already saved in the session cannot be saved again (PartialSaveReplacementError):
partial saves add, they do not replace.

`finalize` merges the session into one checkpoint without copying array
data: the PyTree metadata, sharding and string files are combined, the
per-save OCDBT databases become sub-databases of one merged database (or the
plain zarr array directories are moved), and the result is committed at
`path` by an atomic rename.  The result is an ordinary Orbax checkpoint.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import threading
import uuid
from typing import Any, Optional

from ocpx._src import async_response as async_lib
from ocpx._src import checkpoint_metadata as cm
from ocpx._src import context as context_lib
from ocpx._src import engine
from ocpx._src import layout
from ocpx._src import multihost
from ocpx._src import path as path_lib
from ocpx._src import saving
from ocpx._src import tree as tree_lib

PARTIAL_SAVE_SUFFIX = ".partial_save"
_PENDING = re.compile(r"^pending-(\d{8})-[0-9a-f]{32}$")
_STATE = layout.STATE_CHECKPOINTABLE_KEY
_JSON_DICT_FILES = ("_sharding", "_strings.json")


class PartialSaveError(Exception):
  """A partial save or its finalization failed."""


class PartialSaveReplacementError(PartialSaveError):
  """A leaf was saved by an earlier partial save of the same session."""


# Keys being written by partial saves still in flight, per session directory.
_IN_FLIGHT: dict[pathlib.Path, dict[str, tuple[int, set]]] = {}
_LOCK = threading.Lock()


def partial_path(path) -> pathlib.Path:
  """The session directory of the checkpoint `path`."""
  p = path_lib.as_path(path).absolute()
  return p.parent / (p.name + PARTIAL_SAVE_SUFFIX)


def _final_and_session(path) -> tuple[pathlib.Path, pathlib.Path]:
  p = path_lib.as_path(path).absolute()
  if p.name.endswith(PARTIAL_SAVE_SUFFIX):
    return p.parent / p.name[:-len(PARTIAL_SAVE_SUFFIX)], p
  return p, partial_path(p)


def _pending_dirs(session: pathlib.Path) -> list[pathlib.Path]:
  """Committed partial saves of the session, oldest first."""
  if not session.is_dir():
    return []
  return sorted((c for c in session.iterdir()
                 if c.is_dir() and _PENDING.match(c.name)),
                key=lambda c: c.name)


def _saved_keys(pending: pathlib.Path) -> set:
  """The key paths (name tuples) a partial save wrote, from its `_METADATA`
  as the C++ reader parses it."""
  if not (pending / _STATE / tree_lib.METADATA_FILE).exists():
    return set()
  return {l.names for l in tree_lib.read_tree_metadata(pending / _STATE).leaves}


def _is_prefix(a: tuple, b: tuple) -> bool:
  return len(a) < len(b) and b[:len(a)] == a


def _check_additions(new: set, existing: set) -> None:
  for key in sorted(new):
    for old in existing:
      if key == old or _is_prefix(key, old) or _is_prefix(old, key):
        raise PartialSaveReplacementError(
            f"Key {key!r} was saved by an earlier partial save of this "
            f"session (as {old!r}). Partial saving adds leaves; it does not "
            "support replacing them.")


def save_async(path, state: Any, *,
               custom_metadata: Any = None) -> async_lib.AsyncResponse[None]:
  """Adds the leaves of `state` to the partial checkpoint at `path`.

  Returns once the data is copied to host memory; the write continues in
  the background (see `ocpx.v1.save_async`).  Nothing appears at `path`
  until `finalize(path)`.

  Args:
    path: The final path of the checkpoint.
    state: A PyTree of leaves not saved by earlier calls of this session.
    custom_metadata: JSON-serializable dict, merged into the checkpoint's
      custom metadata (later calls win on conflicting keys).

  Raises:
    FileExistsError: A finalized checkpoint exists at `path`.
    PartialSaveReplacementError: A leaf (or a prefix of one) was already
      saved in this session.
  """
  ctx = context_lib.get_context()
  final, session = _final_and_session(path)
  if final.exists():
    raise FileExistsError(f"Finalized checkpoint already exists at {final}.")
  if ctx.pytree.saving.pytree_metadata_options.support_rich_types:
    raise NotImplementedError(
        "Partial saving with PyTreeMetadataOptions.support_rich_types=True "
        "is not supported by ocpx.")
  if custom_metadata is not None and not isinstance(custom_metadata, dict):
    raise TypeError("custom_metadata of a partial save must be a dict.")
  try:
    leaves, _ = tree_lib.flatten(state)
  except ValueError as e:
    raise ValueError(f"{session}: {e}") from e
  new_keys = {tuple(leaf.names) for leaf in leaves}
  token = uuid.uuid4().hex
  with _LOCK:
    flights = _IN_FLIGHT.setdefault(session, {})
    pendings = _pending_dirs(session)
    existing = set().union(*(_saved_keys(p) for p in pendings),
                           *(keys for _, keys in flights.values()))
    try:
      _check_additions(new_keys, existing)
    except PartialSaveReplacementError:
      if not flights:
        _IN_FLIGHT.pop(session, None)
      raise
    # Saves are numbered so that finalize merges them in call order.
    # _pending_dirs keeps only names matching _PENDING: pending-<seq>-<id>.
    seq = 1 + max([int(p.name.split("-")[1]) for p in pendings]
                  + [n for n, _ in flights.values()] + [-1])
    flights[token] = (seq, new_keys)
  try:
    session.mkdir(parents=True, exist_ok=True)
    target = session / f"pending-{seq:08d}-{token}"
    response = saving.save_checkpointables_impl(
        target, {_STATE: state}, overwrite=False,
        custom_metadata=custom_metadata, is_async=True)
  except BaseException:
    _forget(session, token)
    raise

  def wait() -> None:
    try:
      return response.result()
    finally:
      _forget(session, token)

  return async_lib.AsyncResponse(wait, name=f"ocpx-partial:{final.name}")


def _forget(session: pathlib.Path, token: str) -> None:
  with _LOCK:
    flights = _IN_FLIGHT.get(session, {})
    flights.pop(token, None)
    if not flights:
      _IN_FLIGHT.pop(session, None)


def save(path, state: Any, *, custom_metadata: Any = None) -> None:
  """Adds the leaves of `state` to the partial checkpoint at `path`; blocks.

  See `save_async`.

  Example:

    ocp.partial.save(path, {"params": params})
    ocp.partial.save(path, {"opt_state": opt_state}, custom_metadata={"s": 1})
    ocp.partial.finalize(path)
  """
  save_async(path, state, custom_metadata=custom_metadata).result()


def _merge_json_dicts(files: list[pathlib.Path]) -> Optional[dict]:
  out, found = {}, False
  for f in files:
    if f.exists():
      found = True
      out.update(json.loads(f.read_text()))
  return out if found else None


def _merge_state(pendings: list[pathlib.Path], dest: pathlib.Path) -> None:
  """Combines the `state` directories of `pendings` into `dest`."""
  dest.mkdir()
  metas = [json.loads((p / _STATE / layout.PYTREE_METADATA_FILE).read_text())
           for p in pendings]
  use_ocdbt = {m.get("use_ocdbt", True) for m in metas}
  if len(use_ocdbt) != 1:
    raise PartialSaveError(
        "The partial saves of this session differ in "
        "ArrayOptions.Saving.use_ocdbt; they cannot be merged.")
  merged = dict(metas[0])
  merged["tree_metadata"] = {}
  for m in metas:
    merged["tree_metadata"].update(m.get("tree_metadata", {}))
  for name in _JSON_DICT_FILES:
    value = _merge_json_dicts([p / _STATE / name for p in pendings])
    if value is not None:
      path_lib.write_file_durably(dest / name,
                                  json.dumps(value, separators=(",", ":")))
  array_metas: dict[str, list] = {}
  for p in pendings:
    d = p / _STATE / "array_metadatas"
    for f in sorted(d.iterdir()) if d.is_dir() else ():
      array_metas.setdefault(f.name, []).extend(
          json.loads(f.read_text()).get("array_metadatas", []))
  if array_metas:
    (dest / "array_metadatas").mkdir()
    for name, entries in array_metas.items():
      path_lib.write_file_durably(dest / "array_metadatas" / name,
                                  json.dumps({"array_metadatas": entries}))
  skip = {layout.PYTREE_METADATA_FILE, "array_metadatas", *_JSON_DICT_FILES}
  if use_ocdbt == {True}:
    skip |= {"manifest.ocdbt", "d"}  # each save's root database: rebuilt
  next_db = 0
  for p in pendings:
    for child in sorted((p / _STATE).iterdir()):
      if child.name in skip:
        continue
      if child.name.startswith("ocdbt.process_"):
        # Each save's per-process databases become sub-databases of the
        # merged one; the savings' own root databases are rebuilt below.
        os.rename(child, dest / f"ocdbt.process_{next_db}")
        next_db += 1
      elif (dest / child.name).exists():
        raise PartialSaveError(
            f"{child.name} was written by two partial saves of this "
            "session.")
      else:
        os.rename(child, dest / child.name)
  path_lib.write_file_durably(dest / layout.PYTREE_METADATA_FILE,
                              json.dumps(merged))
  if use_ocdbt == {True}:
    engine.merge(dest)


def _merge_session(final: pathlib.Path, session: pathlib.Path) -> None:
  pendings = _pending_dirs(session)
  if not pendings:
    raise FileNotFoundError(
        f"Partial save session {session} holds no completed partial save.")
  tmp = path_lib.tmp_path_for(final)
  path_lib.rmtree(tmp)
  tmp.mkdir()
  try:
    steps = [cm.read_step_metadata(p) for p in pendings]
    custom: dict = {}
    for s in steps:
      if s is not None and isinstance(s.custom_metadata, dict):
        custom.update(s.custom_metadata)
    first = next((s for s in steps if s is not None), None)
    _merge_state(pendings, tmp / _STATE)
    meta = cm.StepMetadata(
        item_handlers=first.item_handlers if first else None,
        init_timestamp_nsecs=first.init_timestamp_nsecs if first else None,
        commit_timestamp_nsecs=None, custom_metadata=custom)
    saving.write_commit_files(tmp, final, meta)
    if final.exists():
      raise FileExistsError(
          f"Finalized checkpoint already exists at {final}.")
    os.rename(tmp, final)
    path_lib.fsync_dir(final.parent)
  except BaseException:
    path_lib.rmtree(tmp)
    raise
  path_lib.rmtree(session)


def finalize(path) -> None:
  """Turns the partial saves of `path` into the checkpoint at `path`.

  Call it once, after every partial save of the session has finished, on
  every process.  Array data is not copied.

  Raises:
    FileExistsError: A finalized checkpoint already exists at `path`.
    FileNotFoundError: No partial save was made for `path`.
    PartialSaveError: The partial saves cannot be merged.
  """
  ctx = context_lib.get_context()
  final, session = _final_and_session(path)
  with _LOCK:
    if _IN_FLIGHT.get(session):
      raise PartialSaveError(
          f"Partial saves to {final} are still running; wait for their "
          "AsyncResponse.result() before finalize().")
  mp = ctx.multiprocessing
  sync = multihost.Sync(f"partial-finalize:{final}",
                        timeout_secs=ctx.asynchronous.timeout_secs,
                        active_processes=mp.active_processes,
                        key_prefix=mp.barrier_sync_key_prefix)
  try:
    if final.exists():
      raise FileExistsError(
          f"Finalized checkpoint already exists at {final}.")
    if not session.exists():
      raise FileNotFoundError(f"Partial save path {session} does not exist.")
    sync.barrier("checked")
    if multihost.is_primary_host(mp.primary_host):
      _merge_session(final, session)
    sync.barrier("finalized")
  except BaseException as e:
    sync.fail(e)
    raise
