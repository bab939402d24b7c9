# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""save / save_async / save_checkpointables(_async).

A save writes everything into `<path>.orbax-checkpoint-tmp`, makes it durable,
writes `_CHECKPOINT_METADATA`, `orbax.checkpoint` and `commit_success.txt`,
and only then renames the directory to `<path>`.  A failed or interrupted save
therefore never leaves a directory that loads; with `overwrite=True` the old
checkpoint is only removed after the new one is complete.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import hashlib
import logging
import threading
import time
from typing import Any, Optional

from ocpx._src import async_response as async_lib
from ocpx._src import checkpoint_metadata as cm
from ocpx._src import context as context_lib
from ocpx._src import deletion
from ocpx._src import file_options
from ocpx._src import gc_pause
from ocpx._src import option_support
from ocpx._src import layout
from ocpx._src import multihost
from ocpx._src import options as options_lib
from ocpx._src import path as path_lib
from ocpx._src import recovery
from ocpx._src import saving_state
from ocpx._src.handlers import global_registration  # noqa: F401
from ocpx._src.handlers import registration
from ocpx._src.handlers import types as handler_types


_LOG = logging.getLogger(__name__)


def _run_coroutine(coro):
  """Runs `coro` to completion on this thread (or a helper thread when an
  event loop is already running here, e.g. in a notebook)."""
  # The value travels through a holder, not as the task's result: on exit
  # asyncio may format the finished task (and with it, the repr of every
  # jax.Array in a loaded tree, which gathers the data to host).
  holder = []

  async def run():
    holder.append(await coro)

  try:
    asyncio.get_running_loop()
  except RuntimeError:
    if threading.current_thread() is threading.main_thread():
      _run_on_main_loop(run())
    else:
      asyncio.run(run())
    return holder[0]
  with concurrent.futures.ThreadPoolExecutor(1) as ex:
    ex.submit(contextvars.copy_context().run, asyncio.run, run()).result()
  return holder[0]


# The main thread's event loop, kept between saves and loads: creating and
# closing one (what `asyncio.run` does) costs ~0.4 ms, a tenth of a small
# save.  Other threads (short-lived) use `asyncio.run`.
_MAIN_LOOP: list = []


def _run_on_main_loop(coro) -> None:
  """`asyncio.run(coro)` on a loop reused across calls: like `asyncio.run`,
  tasks the coroutine leaves behind are cancelled; after an error (e.g.
  KeyboardInterrupt) the loop is closed and the next call makes a new one."""
  if not _MAIN_LOOP:
    _MAIN_LOOP.append(asyncio.new_event_loop())
  loop = _MAIN_LOOP[0]
  asyncio.set_event_loop(loop)
  try:
    loop.run_until_complete(coro)
    leftover = asyncio.all_tasks(loop)
    for task in leftover:
      task.cancel()
    if leftover:
      loop.run_until_complete(
          asyncio.gather(*leftover, return_exceptions=True))
  except BaseException:
    _MAIN_LOOP.clear()
    try:
      loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
      loop.close()
    raise
  finally:
    asyncio.set_event_loop(None)


async def _gather(awaitables):
  results = []
  for a in awaitables:
    results.append(await a if a is not None else None)
  return results


# Final paths of the saves in progress in this process.  A second save to
# the same path would delete and reuse the first one's temporary directory
# while it is still being written.
_IN_FLIGHT: set = set()
_IN_FLIGHT_LOCK = threading.Lock()


def _claim(final) -> None:
  with _IN_FLIGHT_LOCK:
    if final in _IN_FLIGHT:
      raise ValueError(
          f"A save to {final} is already in progress; wait for it (e.g. "
          "AsyncResponse.result()) before saving to the same path again.")
    _IN_FLIGHT.add(final)


def _release(final) -> None:
  with _IN_FLIGHT_LOCK:
    _IN_FLIGHT.discard(final)


def _enclosing_checkpoint(final) -> Optional[Any]:
  """The committed checkpoint that `final` would be saved inside, if any."""
  try:
    real = final.parent.resolve()  # through symlinked parent directories
  except (OSError, RuntimeError):
    real = final.parent
  candidates = [*final.parents]
  if real != final.parent:
    candidates += [real, *real.parents]
  for parent in candidates:
    if (parent / cm.CHECKPOINT_METADATA_FILE).is_file():
      return parent
  return None


def _validate_checkpointables(checkpointables):
  if not isinstance(checkpointables, dict):
    raise ValueError(
        f"checkpointables must be a dict of name -> object, got "
        f"{type(checkpointables).__name__}")
  if not checkpointables:
    raise ValueError("checkpointables must not be empty")
  for name, value in checkpointables.items():
    layout.validate_checkpointable_name(name)
    if name is None:
      raise ValueError("Checkpointable names must be strings.")
    if value is None:
      raise ValueError(
          f"checkpointable must not be None for saving (checkpointable "
          f"{name!r}).")


def _validate_custom_metadata(custom_metadata, final):
  if custom_metadata is None:
    return
  import json  # pylint: disable=g-import-not-at-top
  try:
    json.dumps(custom_metadata)
  except (TypeError, ValueError) as e:
    raise TypeError(
        f"{final}: custom_metadata must be JSON-serializable: {e}") from e


def save_checkpointables_impl(path, checkpointables, *, overwrite: bool,
                              custom_metadata, is_async: bool,
                              reserved_checkpointables: Optional[dict] = None):
  """Starts a save; returns an AsyncResponse that commits it.

  Every process calls this.  The primary host creates the temporary
  directory, every process writes its own part, the primary finalizes
  (merge, metadata) and commits with an atomic rename.  Barriers go through
  the jax.distributed coordination service and time out after
  `AsyncOptions.timeout_secs`; a failure anywhere makes every process raise.
  `reserved_checkpointables` (for the step managers) may use reserved names
  such as `metrics`.
  """
  ctx = context_lib.get_context()
  init_ns = int(time.time() * 1e9)
  final = file_options.local_path(ctx, path).absolute()
  file_options.check_temporary_path_class(ctx)
  option_support.check_pathways(ctx)
  if overwrite:
    option_support.check_deletion(ctx)  # replacing deletes the old one
  layout_name = str(getattr(ctx.checkpoint_layout, "value",
                            ctx.checkpoint_layout)).lower()
  if layout_name == "safetensors":
    raise NotImplementedError(
        f"{final}: saving in the safetensors layout is not supported (as in "
        "Orbax); save with CheckpointLayout.ORBAX.")
  _validate_checkpointables(checkpointables)
  if reserved_checkpointables:
    checkpointables = {**checkpointables, **reserved_checkpointables}
  _validate_custom_metadata(custom_metadata, final)
  mp = ctx.multiprocessing_options
  timeout = ctx.async_options.timeout_secs
  sync = multihost.Sync(f"save:{final}", timeout_secs=timeout,
                        active_processes=mp.active_processes,
                        key_prefix=mp.barrier_sync_key_prefix)
  primary = mp.primary_host
  is_primary = primary is None or primary == sync.process
  leader = sync.active[0] if primary is None else primary

  # All processes must agree on the path and on whether it exists.
  if is_primary:
    # Finish or roll back an interrupted earlier save of this path, so that
    # whether it exists is decided on a consistent directory.
    recovery.recover_path(final, writer=True)
  digest = hashlib.sha256(str(final).encode()).hexdigest()
  theirs = sync.broadcast("path", digest, leader)
  if theirs != digest:
    raise ValueError(
        f"Process {sync.process} saves to {final}, but process {leader} "
        "saves to a different path; every process must pass the same path.")
  options_lib.check_save_options(ctx)
  # skip_sync_file_validations: an async save leaves the existence check to
  # the commit, which still refuses to replace a checkpoint without overwrite.
  check_exists = not (is_async and ctx.file_options.skip_sync_file_validations)
  exists = check_exists and sync.broadcast(
      "exists", "1" if final.exists() or final.is_symlink() else "0",
      leader) == "1"
  if exists and overwrite and final.is_dir():
    deletion.ensure_available(final)
  if exists and not overwrite:
    raise ValueError(
        f"Destination {final} already exists. Pass overwrite=True to replace "
        "it.")
  enclosing = sync.broadcast(
      "enclosing", str(_enclosing_checkpoint(final) or ""), leader)
  if enclosing:
    raise ValueError(
        f"Destination {final} is inside the existing checkpoint {enclosing}; "
        "saving there would change that checkpoint. Save to a path outside "
        "it.")
  registry = ctx.checkpointables_options.registry
  handlers = {
      name: registration.resolve_handler_for_save(registry, obj, name=name)
      for name, obj in checkpointables.items()
  }
  mode = ctx.file_options.path_permission_mode
  # On object stores an overwrite is staged beside `final` (recovery.py).
  tmp = path_lib.tmp_path_for(final, staged=exists and overwrite)
  _claim(final)
  try:
    return _start_save(
        ctx, sync, final, tmp, mode, checkpointables, handlers,
        is_primary=is_primary, is_async=is_async, overwrite=overwrite,
        init_ns=init_ns, custom_metadata=custom_metadata, timeout=timeout)
  except BaseException:
    _release(final)
    raise


def _start_save(ctx, sync, final, tmp, mode, checkpointables, handlers, *,
                is_primary, is_async, overwrite, init_ns, custom_metadata,
                timeout):
  """Creates directories, runs the blocking phase; returns the response.

  The response's background thread releases `final` (see `_claim`) when it
  ends; if this raises, the caller releases it.
  """
  created = threading.Event()
  creation_error: list = []
  # The flock on `tmp` held while this save runs (see recovery.py).
  tmp_lock: list = []

  def release_tmp():
    while tmp_lock:
      recovery.unlock(tmp_lock.pop())

  def create_dirs():
    try:
      if is_primary:
        if not final.parent.exists():
          path_lib.mkdir(final.parent, parents=True)
        # save_checkpointables_impl ran recover_path(final) just before.
        tmp_lock.append(
            recovery.create_locked_tmp(tmp, final, mode, recovered=True))
        for name in checkpointables:
          path_lib.mkdir(tmp / name, mode)
      sync.barrier("directories")
    except BaseException as e:  # pylint: disable=broad-except
      sync.fail(e)
      creation_error.append(e)
    finally:
      created.set()

  if not ctx.async_options.create_directories_asynchronously or not is_async:
    create_dirs()
    if creation_error:
      raise creation_error[0]

  # Blocking phase: every handler does its host copies now.
  async def blocking_phase():
    out = []
    for name, obj in checkpointables.items():
      d = path_lib.PathAwaitingCreation(tmp / name, created, creation_error)
      out.append(await handlers[name].save(d, obj))
    return out

  from ocpx._src.handlers import pytree_handler  # pylint: disable=g-import-not-at-top
  # ocpx's own PyTree handlers need no event loop and no worker thread for
  # their blocking phase: `prepare_save` does the host copies right here and
  # returns the work, which finish() runs (on this thread for a blocking
  # save, on the response's thread for an async one).  Other handlers go
  # through their `save` coroutine.
  inline = all(
      isinstance(h, pytree_handler.PyTreeHandler)
      and type(h).save is pytree_handler.PyTreeHandler.save
      for h in handlers.values())
  # Inline works may start writing while they plan (`stream_writes`, the
  # directories exist): on failure before they run, `abort()` each.
  works: list = []
  # An async inline save creates its directories first thing on the
  # response's own thread (its blocking phase does not touch them): one
  # thread started per save, not two.
  dirs_in_finish = inline and not created.is_set()
  try:
    if not created.is_set() and not dirs_in_finish:
      threading.Thread(target=create_dirs, daemon=True).start()
    with saving_state.async_save(is_async):
      if inline:
        for name, obj in checkpointables.items():
          if is_async:  # the directories may still be being created
            d = path_lib.PathAwaitingCreation(tmp / name, created,
                                              creation_error)
            works.append(handlers[name].prepare_save(d, obj))
          else:
            works.append(handlers[name].prepare_save(tmp / name, obj,
                                                     stream_writes=True))
      else:
        background = _run_coroutine(blocking_phase())
  except BaseException as e:
    for work in works:
      work.abort()
    sync.fail(e)
    if dirs_in_finish:
      created.set()  # never created: nothing to wait for
    created.wait()
    if is_primary and tmp_lock:  # only a tmp dir this save created
      recovery.remove_tree(tmp)
    release_tmp()
    raise

  item_handlers = {
      name: handler_types.typestr(type(h)) for name, h in handlers.items()}
  callback = ctx.async_options.post_finalization_callback
  cancelled = _Deadline(timeout)

  def finish():
    try:
      if dirs_in_finish:
        create_dirs()
      created.wait()
      if creation_error:
        raise creation_error[0]
      if inline:
        results = [work() for work in works]
      else:
        results = _run_coroutine(_gather(background))
      sync.barrier("written")
      if cancelled.is_set():
        raise TimeoutError(f"{final}: save exceeded timeout_secs={timeout}")
      if is_primary:
        for r in results:
          if isinstance(r, saving_state.Finalize):
            r()
        meta = cm.StepMetadata(
            item_handlers=item_handlers, init_timestamp_nsecs=init_ns,
            commit_timestamp_nsecs=None,
            custom_metadata=custom_metadata if custom_metadata is not None
            else {})
        write_commit_files(tmp, final, meta)
        if cancelled.is_set():
          raise TimeoutError(f"{final}: save exceeded timeout_secs={timeout}")
        if overwrite and (final.exists() or final.is_symlink()):
          _LOG.info("Specified `overwrite`: removing existing path. (%s is "
                    "replaced by the new checkpoint.)", final)
        recovery.commit(tmp, final, overwrite)
      sync.barrier("committed")
    except BaseException as e:
      for work in works:  # those not run yet (the others cleaned up)
        work.abort()
      sync.fail(e)
      if is_primary and tmp_lock:  # only a tmp dir this save created
        recovery.remove_tree(tmp)
      raise
    finally:
      release_tmp()
      _release(final)
    if callback is not None:
      callback()

  if not is_async:
    # The caller waits for all of it: commit on this thread (no background
    # thread to start and hand over to).
    finish()
    return async_lib.CompletedResponse(None)
  return async_lib.AsyncResponse(finish, name=f"ocpx-save:{final.name}",
                                 timeout_secs=timeout)


class _Deadline:
  """`AsyncOptions.timeout_secs` of one save: `is_set()` once it passed.

  The commit checks it before each step that makes the save visible, so a
  save that ran out of time is abandoned, never committed."""

  def __init__(self, timeout: Optional[float]):
    self._at = None if timeout is None else time.monotonic() + timeout

  def is_set(self) -> bool:
    return self._at is not None and time.monotonic() >= self._at


def _validate_state(state) -> None:
  """`save` takes PyTrees of supported leaves only (as Orbax checks)."""
  from ocpx._src import tree as tree_lib  # pylint: disable=g-import-not-at-top
  from ocpx._src import tree_types  # pylint: disable=g-import-not-at-top
  from ocpx._src.handlers import pytree_handler  # pylint: disable=g-import-not-at-top
  import jax  # pylint: disable=g-import-not-at-top
  try:
    values = tree_lib.leaf_values(state)
  except ValueError:
    return  # the save reports the structural problem, naming the node
  for value in values:
    if tree_lib.is_empty_leaf(value) or pytree_handler.leaf_kind(value):
      continue
    # Only now pay for the key paths, to name the leaf.
    keypath = next(l.keypath for l in tree_lib.flatten(state)[0]
                   if l.value is value)
    raise ValueError(
        f"Unsupported leaf type for saving: `{type(value)}`. Supported leaf "
        f"types are: {tree_types.Leaf}. (leaf "
        f"{jax.tree_util.keystr(keypath) or '<root>'})")


def write_commit_files(tmp, final, meta: cm.StepMetadata, *,
                       indicator: bool = True,
                       commit_marker: bool = True) -> None:
  """Writes the files that complete a checkpoint in `tmp`, then syncs the
  whole tree: after this only the commit (the rename to `final`) remains.

  Written: the `orbax.checkpoint` indicator file (v1 saves; Orbax's v0
  Checkpointer writes none, so it passes `indicator=False`),
  `_CHECKPOINT_METADATA` stamped with the commit time, and
  `commit_success.txt` (unless `commit_marker=False`, for a TemporaryPath
  class whose `finalize` writes its own).  When the save writes in place
  (`tmp == final`: object stores, commit-file mode) the marker is what
  commits it, so it is written only after everything else is durable.
  """
  if indicator:
    path_lib.write_file_durably(tmp / layout.INDICATOR_FILE, b"")
  meta.commit_timestamp_nsecs = time.time_ns()
  path_lib.write_file_durably(tmp / cm.CHECKPOINT_METADATA_FILE,
                              meta.to_json())
  if tmp == final:
    if commit_marker:
      from ocpx._src import atomicity  # pylint: disable=g-import-not-at-top
      atomicity.write_commit_marker(tmp, final)
    else:
      path_lib.fsync_tree(tmp)
    return
  if commit_marker:
    path_lib.write_file_durably(
        tmp / path_lib.COMMIT_SUCCESS_FILE,
        f"Checkpoint commit was successful to {final}")
  path_lib.fsync_tree(tmp)


def save(path, state, *, checkpointable_name: str = layout.STATE_CHECKPOINTABLE_KEY,
         overwrite: bool = False, custom_metadata=None) -> None:
  """Saves a PyTree; blocks until the checkpoint is committed."""
  _validate_state(state)
  with gc_pause.paused():  # the caller waits for all of it
    save_checkpointables_impl(
        path, {checkpointable_name: state}, overwrite=overwrite,
        custom_metadata=custom_metadata, is_async=False).result()


def save_async(path, state, *,
               checkpointable_name: str = layout.STATE_CHECKPOINTABLE_KEY,
               overwrite: bool = False,
               custom_metadata=None) -> async_lib.AsyncResponse[None]:
  """Saves a PyTree; returns once host copies exist, writes in background."""
  _validate_state(state)
  return save_checkpointables_impl(
      path, {checkpointable_name: state}, overwrite=overwrite,
      custom_metadata=custom_metadata, is_async=True)


def save_checkpointables(path, checkpointables: dict, *,
                         overwrite: bool = False, custom_metadata=None) -> None:
  """Saves a dict of checkpointables; blocks until committed."""
  with gc_pause.paused():  # the caller waits for all of it
    save_checkpointables_impl(
        path, checkpointables, overwrite=overwrite,
        custom_metadata=custom_metadata, is_async=False).result()


def save_checkpointables_async(
    path, checkpointables: dict, *, overwrite: bool = False,
    custom_metadata=None) -> async_lib.AsyncResponse[None]:
  """Saves a dict of checkpointables in the background."""
  return save_checkpointables_impl(
      path, checkpointables, overwrite=overwrite,
      custom_metadata=custom_metadata, is_async=True)
