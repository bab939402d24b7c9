# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""`Checkpointer`: saves one item with one handler, atomically.

A save writes into `<path>.orbax-checkpoint-tmp`, lets the primary process
finalize (OCDBT merge, `_METADATA`), writes `_CHECKPOINT_METADATA` and
`commit_success.txt`, and renames the directory to `<path>`.  A failed save
removes its temporary directory; with `force=True` an existing checkpoint is
replaced only after the new one is complete.
"""

from __future__ import annotations

import abc
import concurrent.futures
import contextlib
import dataclasses
import hashlib
import logging
import threading
import time
from typing import Any, Callable, Optional


from ocpx._src import atomicity
from ocpx._src import checkpoint_metadata as cm
from ocpx._src import multihost
from ocpx._src import path as path_lib
from ocpx._src import recovery
from ocpx._src import saving as v1_saving
from ocpx._src.v0 import checkpoint_args
from ocpx._src.v0 import metadata as metadata_lib
from ocpx._src.v0 import options as options_lib
from ocpx._src.v0.handlers import checkpoint_handler
from ocpx._src.v0.handlers import composite_checkpoint_handler as composite_lib
from ocpx._src.v0.handlers import pytree_checkpoint_handler as pytree_lib


@dataclasses.dataclass
class SaveContext:
  """Blocking-phase context passed by a wrapping caller (CheckpointManager).

  Attributes:
    checkpoint_start_time: `time.time()` when the caller's save began.
    start_sync_duration_secs: Seconds the caller already spent in barriers.
    wait_prev_duration_secs: Seconds the caller waited for a previous save.
  """

  checkpoint_start_time: float = dataclasses.field(default_factory=time.time)
  start_sync_duration_secs: float = 0.0
  wait_prev_duration_secs: float = 0.0


class AbstractCheckpointer(abc.ABC):
  """Interface of the v0 Checkpointers."""

  @abc.abstractmethod
  def save(self, directory, *args, **kwargs):
    ...

  @abc.abstractmethod
  def restore(self, directory, *args, **kwargs) -> Any:
    ...

  @abc.abstractmethod
  def metadata(self, directory) -> Any:
    ...

  def close(self):
    """Waits for outstanding work and releases resources."""

  def __enter__(self):
    return self

  def __exit__(self, exc_type, exc_value, traceback):
    self.close()


def construct_checkpoint_args(handler, for_save: bool, *args, **kwargs):
  """The handler's CheckpointArgs from `args=`, a positional args object, or
  the legacy keyword form (`save(path, item, save_args=...)`)."""
  if "args" in kwargs and isinstance(kwargs["args"],
                                     checkpoint_args.CheckpointArgs):
    if args or len(kwargs) > 1:
      raise ValueError("Pass either `args=` or legacy arguments, not both.")
    return kwargs["args"]
  if len(args) == 1 and not kwargs and isinstance(
      args[0], checkpoint_args.CheckpointArgs):
    return args[0]
  kwargs = {k: v for k, v in kwargs.items() if k != "args"}
  if not checkpoint_args.has_registered_args(handler):
    return None
  save_cls, restore_cls = checkpoint_args.get_registered_args_cls(handler)
  cls = save_cls if for_save else restore_cls
  if cls is composite_lib.CompositeArgs:
    return cls(**kwargs) if not args else cls(*args, **kwargs)
  return cls(*args, **kwargs)


def is_primary(mp: options_lib.MultiprocessingOptions, process: int) -> bool:
  return mp.primary_host is None or mp.primary_host == process


class _SaveOperation:
  """One save: the blocking phase at construction, `commit()` for the rest.

  The files that complete the checkpoint are written by
  `saving.write_commit_files`, the same code that completes a v1 save; how
  the checkpoint then becomes visible follows the Checkpointer's
  TemporaryPath strategy (see `ocpx._src.atomicity`): ocpx's crash-safe
  rename by default, `commit_success.txt` written last in commit-file mode,
  or a custom class's own `create`/`finalize`.
  """

  def __init__(self, ckptr: "Checkpointer", directory, ckpt_args, raw_args,
               raw_kwargs, *, force: bool, custom_metadata, is_async: bool,
               timeout_secs: float, barrier_sync_fn=None):
    self.ckptr = ckptr
    self.handler = ckptr.handler
    self.init_ns = time.time_ns()
    self.final = path_lib.as_path(directory).absolute()
    self.strategy = atomicity.strategy_for(
        ckptr._temporary_path_class, self.final, ckptr._atomicity_options)  # pylint: disable=protected-access
    self.temporary_path: Any = None
    if self.strategy is atomicity.Strategy.CUSTOM:
      # Every process builds the TemporaryPath; only the primary creates
      # and finalizes it (as in Orbax).
      cls: Any = ckptr._temporary_path_class  # pylint: disable=protected-access
      self.temporary_path = cls.from_final(
          self.final, file_options=ckptr._file_options)  # pylint: disable=protected-access
      self.tmp = path_lib.as_path(self.temporary_path.get())
    elif self.strategy is atomicity.Strategy.COMMIT_FILE:
      self.tmp = self.final
    else:
      self.tmp = path_lib.tmp_path_for(self.final)
    self.custom_metadata = custom_metadata
    self.force = force
    self.barrier_sync_fn = barrier_sync_fn
    self.timeout = timeout_secs
    self.cancelled = threading.Event()
    mp = ckptr._multiprocessing_options  # pylint: disable=protected-access
    self.sync = multihost.Sync(
        f"v0-save:{self.final}", timeout_secs=timeout_secs,
        active_processes=mp.active_processes,
        key_prefix=mp.barrier_sync_key_prefix)
    self.primary = is_primary(mp, self.sync.process)
    leader = (self.sync.active[0] if mp.primary_host is None
              else mp.primary_host)
    if custom_metadata is not None:
      v1_saving._validate_custom_metadata(custom_metadata, self.final)  # pylint: disable=protected-access
    self.tmp_lock: list = []  # the flock on `tmp` while this save runs
    self.created = False  # this save made `tmp` (and removes it on failure)
    if self.primary and self.strategy is atomicity.Strategy.RENAME:
      # Finish or roll back an interrupted earlier save of this path first.
      recovery.recover_path(self.final)
    digest = hashlib.sha256(str(self.final).encode()).hexdigest()
    if self.sync.broadcast("path", digest, leader) != digest:
      raise ValueError(
          f"Process {self.sync.process} saves to {self.final}, but process "
          f"{leader} saves elsewhere; every process must pass the same path.")
    exists = self.sync.broadcast(
        "exists", "1" if (self.final.exists() or self.final.is_symlink())
        else "0", leader) == "1"
    if exists and not force:
      raise ValueError(f"Destination {self.final} already exists. Pass "
                       "force=True to overwrite it.")
    self.exists = exists
    v1_saving._claim(self.final)  # pylint: disable=protected-access
    try:
      self._start(ckpt_args, raw_args, raw_kwargs, is_async)
    except BaseException:
      v1_saving._release(self.final)  # pylint: disable=protected-access
      raise

  def _create_tmp(self, mode) -> None:
    """Creates the directory the handler writes into (primary only)."""
    if not self.final.parent.exists():
      path_lib.mkdir(self.final.parent, parents=True)
    if self.strategy is atomicity.Strategy.RENAME:
      self.tmp_lock.append(
          recovery.create_locked_tmp(self.tmp, self.final, mode))
    elif self.strategy is atomicity.Strategy.COMMIT_FILE:
      # Writing in place: the checkpoint being replaced goes first (as in
      # Orbax); only the rename strategy keeps it until the new one is in.
      if self.final.exists() or self.final.is_symlink():
        recovery.remove_tree(self.final)
      path_lib.mkdir(self.final, mode, parents=True)
    else:
      created = atomicity.run(self.temporary_path.create())
      if created is not None:
        self.tmp = path_lib.as_path(created)
    self.created = True

  def _start(self, ckpt_args, raw_args, raw_kwargs, is_async):
    mode = self.ckptr._file_options.path_permission_mode  # pylint: disable=protected-access
    try:
      if self.primary:
        self._create_tmp(mode)
      self.sync.barrier("directories")
      if ckpt_args is not None:
        call_args, call_kwargs = (), {"args": ckpt_args}
      else:
        call_args, call_kwargs = raw_args, raw_kwargs
      self.futures = []
      if isinstance(self.handler, checkpoint_handler.AsyncCheckpointHandler):
        # finalize() runs in commit(), after every process has written.
        with (contextlib.nullcontext() if is_async
              else pytree_lib.synchronous_save()):
          self.futures = checkpoint_handler.run_async(self.handler.async_save(
              self.tmp, *call_args, **call_kwargs)) or []
      else:
        self.handler.save(self.tmp, *call_args, **call_kwargs)
    except BaseException as e:
      self.sync.fail(e)
      self._abandon()
      raise

  def _abandon(self):
    """Removes what this save wrote (never a committed checkpoint)."""
    try:
      if self.primary and self.created:
        recovery.remove_tree(self.tmp)
    finally:
      self._unlock()

  def _unlock(self):
    while self.tmp_lock:
      recovery.unlock(self.tmp_lock.pop())

  def _barrier(self, name: str):
    if self.barrier_sync_fn is not None:
      self.barrier_sync_fn(
          key=f"{self.sync.prefix}/{name}",
          timeout_ms=int(self.timeout * 1000))
    else:
      self.sync.barrier(name)

  def commit(self):
    """Waits for the background writes, finalizes and commits."""
    try:
      deadline = time.monotonic() + self.timeout
      for done, f in enumerate(self.futures):
        left = max(0.0, deadline - time.monotonic())
        try:
          f.result(timeout=left)
        except TypeError:
          f.result()
        except (TimeoutError, concurrent.futures.TimeoutError) as e:
          # Orbax's wording (ChainedFuture), naming the checkpoint.
          raise TimeoutError(
              f"{self.final}: ChainedFuture completed {done}/"
              f"{len(self.futures)} futures but timed out after "
              f"{self.timeout} seconds.") from e
      if self.cancelled.is_set():
        raise _Cancelled(f"{self.final}: save cancelled")
      self._barrier("written")
      if self.primary:
        # (The engine's OCDBT commit takes no lock of its own on a save's tmp
        # directory, so our lock stays held through the merge.)
        self.handler.finalize(self.tmp)
        custom = self.strategy is atomicity.Strategy.CUSTOM
        # Orbax's v0 Checkpointer writes no `orbax.checkpoint` indicator.
        v1_saving.write_commit_files(
            self.tmp, self.final, self._step_metadata(), indicator=False,
            commit_marker=not custom)
        if self.cancelled.is_set():
          raise _Cancelled(f"{self.final}: save cancelled")
        if self.strategy is atomicity.Strategy.RENAME:
          recovery.commit(self.tmp, self.final, self.force)
        elif custom:
          atomicity.run(self.temporary_path.finalize())
        self.created = False  # committed: never removed from here on
      self._barrier("committed")
    except BaseException as e:
      self.sync.fail(e)
      self._abandon()
      raise
    finally:
      self._unlock()
      v1_saving._release(self.final)  # pylint: disable=protected-access

  def _step_metadata(self) -> cm.StepMetadata:
    item_handlers: Any
    if isinstance(self.handler, composite_lib.CompositeCheckpointHandler):
      item_handlers = self.handler.item_handler_typestrs()
    else:
      item_handlers = self.handler.typestr()
    return cm.StepMetadata(
        item_handlers=item_handlers, init_timestamp_nsecs=self.init_ns,
        commit_timestamp_nsecs=None,
        custom_metadata=self.custom_metadata or {})


class _Cancelled(Exception):
  """The save was cancelled with `AsyncCheckpointer.cancel()`."""


class Checkpointer(AbstractCheckpointer):
  """Saves and restores with a CheckpointHandler, synchronously.

  Example:
    with ocp.Checkpointer(ocp.PyTreeCheckpointHandler()) as ckptr:
      ckptr.save(path, args=ocp.args.PyTreeSave(tree))
      restored = ckptr.restore(path)
  """

  def __init__(
      self,
      handler: checkpoint_handler.CheckpointHandler,
      *,
      multiprocessing_options: options_lib.MultiprocessingOptions = (
          options_lib.MultiprocessingOptions()),
      file_options: options_lib.FileOptions = options_lib.FileOptions(),
      atomicity_options: Optional[options_lib.AtomicityOptions] = None,
      checkpoint_metadata_store: Any = None,
      temporary_path_class: Optional[type] = None,
  ):
    _check_unsupported(atomicity_options, checkpoint_metadata_store,
                       temporary_path_class)
    if not isinstance(handler, checkpoint_handler.CheckpointHandler):
      raise TypeError(f"handler must be a CheckpointHandler, got "
                      f"{type(handler).__name__}")
    if not checkpoint_args.has_registered_args(handler):
      logging.warning(
          "No registered CheckpointArgs found for handler type %s; its save "
          "and restore are called with the arguments as given.",
          type(handler).__name__)
    self._handler = handler
    self._multiprocessing_options = (multiprocessing_options
                                     or options_lib.MultiprocessingOptions())
    self._file_options = file_options or options_lib.FileOptions()
    self._atomicity_options = atomicity_options
    self._temporary_path_class = temporary_path_class

  @property
  def handler(self) -> checkpoint_handler.CheckpointHandler:
    return self._handler

  def _timeout(self) -> float:
    return 1200.0

  def save(self, directory, *args, force: bool = False,
           custom_metadata: dict[str, Any] | None = None,
           save_context: SaveContext | None = None, **kwargs):
    """Saves to `directory` and commits it before returning.

    Args:
      directory: The checkpoint's path (must not exist unless `force`).
      *args: An args object (e.g. `ocp.args.PyTreeSave(tree)`), or the legacy
        positional arguments of the handler's save args class.
      force: Replace an existing checkpoint (after the new one is complete).
      custom_metadata: JSON dict recorded in `_CHECKPOINT_METADATA`.
      save_context: Timing context of a wrapping caller.
      **kwargs: `args=...` or legacy keyword arguments.
    """
    del save_context
    ckpt_args = construct_checkpoint_args(self._handler, True, *args, **kwargs)
    op = _SaveOperation(self, directory, ckpt_args, args, kwargs, force=force,
                        custom_metadata=custom_metadata, is_async=False,
                        timeout_secs=self._timeout())
    op.commit()

  def restore(self, directory, *args, **kwargs) -> Any:
    """Restores from `directory` (`args=` the handler's restore args)."""
    path = self._check_restorable(directory)
    ckpt_args = construct_checkpoint_args(self._handler, False, *args,
                                          **kwargs)
    if ckpt_args is not None:
      return self._handler.restore(path, args=ckpt_args)
    return self._handler.restore(path, *args, **kwargs)

  def metadata(self, directory) -> metadata_lib.StepMetadata:
    """Step metadata, with the handler's metadata as `item_metadata`."""
    path = self._check_restorable(directory)
    item = self._handler.metadata(path)
    if isinstance(item, metadata_lib.StepMetadata):
      return item
    step = metadata_lib.get_step_metadata(path)
    return dataclasses.replace(step, item_metadata=item)

  def _check_restorable(self, directory):
    return _check_restorable(directory, self._temporary_path_class,
                             self._atomicity_options)

  def close(self):
    self._handler.close()


def _check_unsupported(atomicity_options, checkpoint_metadata_store,
                       temporary_path_class):
  if checkpoint_metadata_store is not None:
    raise NotImplementedError(
        "checkpoint_metadata_store: ocpx writes _CHECKPOINT_METADATA itself; "
        "custom MetadataStores are not supported.")
  if temporary_path_class is not None and not (
      isinstance(temporary_path_class, type) and all(
          callable(getattr(temporary_path_class, m, None))
          for m in ("from_final", "create", "get", "finalize"))):
    raise TypeError(
        "temporary_path_class must be a TemporaryPath class (e.g. "
        "ocp.path.atomicity.CommitFileTemporaryPath), got "
        f"{temporary_path_class!r}")
  # Raises ValueError for an unknown AtomicityMode.
  atomicity.get_default_temporary_path_class(
      "/", atomicity_options=atomicity_options)


def _check_restorable(directory, temporary_path_class=None,
                      atomicity_options=None):
  path = path_lib.as_path(directory)
  if path_lib.is_tmp(path):
    raise ValueError(f"Found incomplete checkpoint at {path}: it is the "
                     "temporary directory of an unfinished save.")
  if not path.exists():
    tmp = path_lib.tmp_path_for(path.absolute())
    if tmp != path.absolute() and tmp.exists():
      raise ValueError(f"Found incomplete checkpoint at {path}: its save "
                       f"never committed ({tmp} exists).")
    raise FileNotFoundError(f"Checkpoint at {path} not found.")
  if not path.is_dir():
    raise NotADirectoryError(f"Checkpoint path {path} is not a directory.")
  if not atomicity.is_finalized(path, temporary_path_class=temporary_path_class,
                                atomicity_options=atomicity_options):
    cls = temporary_path_class or atomicity.get_default_temporary_path_class(
        path, atomicity_options=atomicity_options)
    raise ValueError(
        f"Found incomplete checkpoint at {path}: it is not finalized for "
        f"{cls.__name__} (e.g. a commit-file save that never wrote "
        f"{path_lib.COMMIT_SUCCESS_FILE}).")
  return path


BarrierFn = Callable[..., None]
