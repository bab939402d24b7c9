# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""`ocpx.v1.training.Checkpointer`: a sequence of steps, v1 style.

Same API, defaults and on-disk layout as Orbax's `training.Checkpointer`
(save whenever no save is in flight; keep everything), on ocpx's step engine
(see `step_engine`), plus a `load_async` that works.
"""

from __future__ import annotations

import datetime
import json
import logging
import pprint
import threading
from typing import Any, Optional, Sequence

from ocpx._src import async_response as async_lib
from ocpx._src import checkpoint_metadata as cm
from ocpx._src import context as context_lib
from ocpx._src import layout
from ocpx._src import loading
from ocpx._src import options as options_lib
from ocpx._src import path as path_lib
from ocpx._src import saving
from ocpx._src.checkpoint_managers import metrics_handler
from ocpx._src.checkpoint_managers import preservation_policy as pp
from ocpx._src.checkpoint_managers import save_decision_policy as sdp
from ocpx._src.checkpoint_managers import step_engine
from ocpx._src.checkpoint_managers import step_names
from ocpx._src.checkpoint_managers import training_errors as errors
from ocpx._src.handlers import registration

STATE = layout.STATE_CHECKPOINTABLE_KEY


class CheckpointMetadata(cm.CheckpointMetadata):
  """Metadata of one step: `step`, `path`, timestamps, `metrics`, ...

  `metadata` holds the checkpointable metadata when it was asked for
  (`Checkpointer.metadata`), and None in `Checkpointer.checkpoints`.
  """

  _step: int
  _metrics: Any

  def __init__(self, step: int, path, *, metadata: Any = None,
               init_timestamp_nsecs: Optional[int] = None,
               commit_timestamp_nsecs: Optional[int] = None,
               custom_metadata: Any = None, metrics: Any = None):
    object.__setattr__(self, "path", path)
    object.__setattr__(self, "metadata", metadata)
    object.__setattr__(self, "init_timestamp_nsecs", init_timestamp_nsecs)
    object.__setattr__(self, "commit_timestamp_nsecs", commit_timestamp_nsecs)
    object.__setattr__(self, "custom_metadata", custom_metadata)
    object.__setattr__(self, "_step", step)
    object.__setattr__(self, "_metrics", metrics)

  @property
  def step(self) -> int:
    return self._step

  @property
  def metrics(self) -> Any:
    return self._metrics

  @property
  def time(self) -> datetime.datetime:
    if self.commit_timestamp_nsecs is None:
      raise ValueError(f"Step {self.step} has no commit timestamp.")
    return datetime.datetime.fromtimestamp(
        self.commit_timestamp_nsecs / 1e9, tz=datetime.timezone.utc)

  def __eq__(self, other):
    if not isinstance(other, CheckpointMetadata):
      return NotImplemented
    return (self.step, str(self.path), self.metadata, self.metrics,
            self.custom_metadata) == (other.step, str(other.path),
                                      other.metadata, other.metrics,
                                      other.custom_metadata)

  def __hash__(self):
    return hash((self.step, str(self.path)))

  def _properties_strings(self) -> dict[str, str]:
    return {"step": str(self.step), **super()._properties_strings(),
            "metrics": str(self.metrics)}


class RootMetadata:
  """Metadata of the whole sequence: `directory` and `custom_metadata`."""

  def __init__(self, *, directory, custom_metadata: Any = None):
    self.directory = directory
    self.custom_metadata = custom_metadata

  def __eq__(self, other):
    return (isinstance(other, RootMetadata)
            and str(self.directory) == str(other.directory)
            and self.custom_metadata == other.custom_metadata)

  def __repr__(self):
    # Orbax's layout: the properties as strings, pretty-printed.
    return "RootMetadata({})".format(pprint.pformat({
        "directory": str(self.directory),
        "custom_metadata": str(self.custom_metadata)}))


def _resolve_integer_step(step) -> int:
  if isinstance(step, CheckpointMetadata):
    return step.step
  if isinstance(step, bool) or not isinstance(step, int):
    try:
      import numpy as np  # pylint: disable=g-import-not-at-top
      if isinstance(step, np.integer):
        return int(step)
    except ImportError:
      pass
    raise TypeError(f"step must be an int or CheckpointMetadata, got "
                    f"{type(step).__name__}")
  return step


class _SaveResponse(async_lib.AsyncResponse):
  """Resolves to True when the step commits; raises its error otherwise.

  An error reported through `result()` is not raised again by the next
  `save`/`wait`/`close`.
  """

  def __init__(self, engine: step_engine.StepEngine, pending):  # pylint: disable=super-init-not-called
    self._engine = engine
    self._pending = pending
    self._deadline = None

  def done(self) -> bool:
    return self._pending.done.is_set()

  def result(self, timeout: Optional[float] = None) -> bool:
    if not self._pending.done.wait(timeout):
      raise TimeoutError(
          f"Saving step {self._pending.step} did not finish within "
          f"{timeout} s")
    err = self._pending.error
    if err is not None:
      self._engine.forget_error(err)
      raise err
    return True

  def on_complete(self, callback) -> None:
    def run():
      self._pending.done.wait()
      if self._pending.error is None:
        callback(True)
    threading.Thread(target=run, daemon=True).start()


class Checkpointer:
  """Saves and loads a sequence of steps under one directory.

  Example:
    >>> from ocpx import v1 as ocp
    >>> with ocp.training.Checkpointer('/tmp/run') as ckptr:
    ...   if ckptr.latest is not None:
    ...     state = ckptr.load(abstract_state=abstract_state)
    ...   for step in range(start, end):
    ...     state = train_step(state)
    ...     ckptr.save_async(step, state, metrics={'loss': loss})

  Defaults: save whenever no save is in flight (plus the first step and on
  preemption); keep every checkpoint.  Errors from background work surface
  in the next `save*`, `wait` or `close`.
  """

  def __init__(
      self,
      directory,
      *,
      context: Optional[context_lib.Context] = None,
      save_decision_policy: Optional[sdp.SaveDecisionPolicy] = None,
      preservation_policy: Optional[pp.PreservationPolicy] = None,
      step_name_format=None,
      custom_metadata: Any = None,
      cleanup_tmp_directories: bool = False,
      lightweight_initialize: bool = False,
      logger: Any = None,
  ):
    del lightweight_initialize  # Listing is always lightweight and correct.
    self._context = context_lib.Context(context or context_lib.get_context())
    self._logger = logger
    self._name_format = step_name_format or step_names.standard_name_format()
    self._save_policy = save_decision_policy or sdp.AnySavePolicy([
        sdp.InitialSavePolicy(), sdp.ContinuousCheckpointingPolicy(),
        sdp.PreemptionCheckpointingPolicy()])
    self._preservation_policy = preservation_policy or pp.PreserveAll()
    mp = self._context.multiprocessing_options
    deletion = self._context.deletion_options
    gcs = getattr(deletion, "gcs_deletion_options", None)
    if gcs is not None and getattr(gcs, "todelete_full_path", None):
      raise NotImplementedError(
          "DeletionOptions.gcs_deletion_options.todelete_full_path (Orbax's "
          "move of deleted GCS steps to a bucket path) is not supported by "
          "ocpx.")
    self._engine = step_engine.StepEngine(
        directory,
        name_format=self._name_format,
        save_decision_policy=self._save_policy,
        preservation_policy=self._preservation_policy,
        create=True,
        background_delete=False,  # wait() and delete() finish deletions
        cleanup_tmp_directories=cleanup_tmp_directories,
        multiprocessing_options=_v0_mp(mp),
        path_permission_mode=self._context.file_options.path_permission_mode,
        step_exists_error=errors.StepAlreadyExistsError,
        step_not_found_error=errors.StepNotFoundError)
    self._given_custom_metadata = custom_metadata
    if custom_metadata is not None and self._engine.is_primary:
      step_engine.write_root_metadata(self._engine.directory, custom_metadata)
    self._pending_delete: Optional[async_lib.AsyncResponse] = None

  # ------------------------------------------------------------ listing

  @property
  def directory(self):
    return self._engine.directory

  def _to_metadata(self, info: step_engine.StepInfo) -> CheckpointMetadata:
    return CheckpointMetadata(
        info.step, info.path, metadata=None, metrics=info.metrics,
        commit_timestamp_nsecs=int(info.time.timestamp() * 1e9))

  @property
  def checkpoints(self) -> Sequence[CheckpointMetadata]:
    """Committed checkpoints, ascending by step (never an in-flight one)."""
    return [self._to_metadata(i) for i in self._engine.infos()]

  @property
  def latest(self) -> Optional[CheckpointMetadata]:
    infos = self._engine.infos()
    return self._to_metadata(infos[-1]) if infos else None

  def _existing(self, step) -> step_engine.StepInfo:
    if step is None:
      infos = self._engine.infos()
      if not infos:
        raise errors.StepNotFoundError(
            "Specified `step=None`, but no checkpoints were found under "
            f"{self.directory}.")
      return infos[-1]
    step = _resolve_integer_step(step)
    info = self._engine.info(step)
    if info is None:
      raise errors.StepNotFoundError(
          f"No checkpoint found at step {step} under {self.directory}.")
    return info

  def should_save(self, step: int) -> bool:
    return self._engine.should_save(step)

  # ------------------------------------------------------------ saving

  def _save_context(self) -> context_lib.Context:
    ctx = context_lib.get_context(self._context)
    reg = registration.CheckpointableHandlerRegistry()
    registration.add_all(reg, ctx.checkpointables_options.registry)
    if not reg.has(step_engine.METRICS_ITEM):
      reg.add(metrics_handler.MetricsHandler, step_engine.METRICS_ITEM)
    return context_lib.Context(
        ctx, checkpointables_options=options_lib.CheckpointablesOptions(
            registry=reg))

  def save_checkpointables_async(
      self, step: int, checkpointables: dict, *, force: bool = False,
      overwrite: bool = False, metrics: Any = None,
      custom_metadata: Any = None) -> Optional[async_lib.AsyncResponse]:
    """Starts saving `checkpointables` as `step`; None if the policy says no.

    Raises StepAlreadyExistsError if the step exists and not `overwrite`.
    """
    self._wait_for_deletion()
    step = _resolve_integer_step(step)
    if not isinstance(checkpointables, dict):
      raise TypeError("checkpointables must be a dict of name -> object")
    if step_engine.METRICS_ITEM in checkpointables:
      raise ValueError(
          f"'{step_engine.METRICS_ITEM}' is reserved for the step's metrics; "
          "pass them as metrics=...")
    if metrics is not None:
      try:
        json.dumps(metrics)
      except (TypeError, ValueError) as e:
        raise ValueError(f"metrics must be JSON-serializable: {e}") from e
    exists = self._engine.info(step) is not None
    if exists and not overwrite:
      self._engine.raise_errors()
      raise errors.StepAlreadyExistsError(
          f"Step {step} already exists under {self.directory}.")
    if not force and not exists and not self._engine.should_save(step):
      return None
    items = dict(checkpointables)
    reserved = ({step_engine.METRICS_ITEM: metrics} if metrics is not None
                else None)
    ctx = self._save_context()

    def write(final):
      with ctx:
        return saving.save_checkpointables_impl(
            final, items, overwrite=False, custom_metadata=custom_metadata,
            is_async=True, reserved_checkpointables=reserved)

    pending = self._engine.start_save(step, write, metrics=metrics,
                                      overwrite=overwrite)
    return _SaveResponse(self._engine, pending)

  def save_checkpointables(self, step: int, checkpointables: dict, *,
                           force: bool = False, overwrite: bool = False,
                           metrics: Any = None,
                           custom_metadata: Any = None) -> bool:
    """Saves and waits for the commit; False if the policy said no."""
    r = self.save_checkpointables_async(
        step, checkpointables, force=force, overwrite=overwrite,
        metrics=metrics, custom_metadata=custom_metadata)
    return False if r is None else r.result()

  def save_async(self, step: int, state, *, checkpointable_name: str = STATE,
                 force: bool = False, overwrite: bool = False,
                 metrics: Any = None, custom_metadata: Any = None):
    """Starts saving the PyTree `state`; None if the policy says no."""
    if state is None:
      raise ValueError("state must not be None.")
    return self.save_checkpointables_async(
        step, {checkpointable_name: state}, force=force, overwrite=overwrite,
        metrics=metrics, custom_metadata=custom_metadata)

  def save(self, step: int, state, *, checkpointable_name: str = STATE,
           force: bool = False, overwrite: bool = False, metrics: Any = None,
           custom_metadata: Any = None) -> bool:
    """Saves the PyTree `state` and waits for the commit."""
    r = self.save_async(step, state, checkpointable_name=checkpointable_name,
                        force=force, overwrite=overwrite, metrics=metrics,
                        custom_metadata=custom_metadata)
    return False if r is None else r.result()

  def cancel(self, step=None):
    del step
    raise NotImplementedError(
        "Cancelling a save is not supported: a save either commits or leaves "
        "nothing behind; call wait() to finish it.")

  # ------------------------------------------------------------ loading

  def _pytree_name(self, path, checkpointable_name: str) -> str:
    if (path / checkpointable_name).is_dir():
      return checkpointable_name
    if checkpointable_name == STATE:
      others = [n for n in layout.checkpointable_names(path)
                if n != step_engine.METRICS_ITEM]
      if others == ["default"]:  # a v0 CheckpointManager default-item step
        return "default"
    raise KeyError(
        f"Checkpointable {checkpointable_name!r} not found in {path}; "
        f"available: {layout.checkpointable_names(path)}")

  def load(self, step=None, abstract_state=None, *,
           checkpointable_name: str = STATE):
    """Loads a PyTree from `step` (default: the latest committed step)."""
    info = self._existing(step)
    name = self._pytree_name(info.path, checkpointable_name)
    with self._context:
      return loading.load(info.path, abstract_state, checkpointable_name=name)

  def load_async(self, step=None, abstract_state=None, *,
                 checkpointable_name: str = STATE) -> async_lib.AsyncResponse:
    """Like `load`, on a background thread (Orbax raises NotImplementedError)."""
    try:
      info = self._existing(step)
      name = self._pytree_name(info.path, checkpointable_name)
    except BaseException as e:  # pylint: disable=broad-except
      return async_lib.CompletedResponse(error=e)
    with self._context:
      return loading.load_async(info.path, abstract_state,
                                checkpointable_name=name)

  def _checkpointables_abstract(self, path, abstract):
    if abstract is None:
      names = [n for n in layout.checkpointable_names(path)
               if n != step_engine.METRICS_ITEM]
      return {n: None for n in names}
    return abstract

  def load_checkpointables(self, step=None,
                           abstract_checkpointables: Optional[dict] = None
                           ) -> dict:
    """Loads the checkpointables of `step` (all but metrics, or the subset)."""
    info = self._existing(step)
    with self._context:
      return loading.load_checkpointables(
          info.path, self._checkpointables_abstract(
              info.path, abstract_checkpointables))

  def load_checkpointables_async(self, step=None,
                                 abstract_checkpointables=None):
    try:
      info = self._existing(step)
      abstract = self._checkpointables_abstract(info.path,
                                                abstract_checkpointables)
    except BaseException as e:  # pylint: disable=broad-except
      return async_lib.CompletedResponse(error=e)
    with self._context:
      return loading.load_checkpointables_async(info.path, abstract)

  # ------------------------------------------------------------ metadata

  def _full_metadata(self, info, value) -> CheckpointMetadata:
    sm = cm.read_step_metadata(info.path) or cm.StepMetadata()
    return CheckpointMetadata(
        info.step, info.path, metadata=value,
        init_timestamp_nsecs=sm.init_timestamp_nsecs,
        commit_timestamp_nsecs=(sm.commit_timestamp_nsecs
                                or int(info.time.timestamp() * 1e9)),
        custom_metadata=sm.custom_metadata, metrics=info.metrics)

  def metadata(self, step=None, *,
               checkpointable_name: str = STATE) -> CheckpointMetadata:
    """The PyTree metadata of `step`, with timestamps and metrics."""
    info = self._existing(step)
    name = self._pytree_name(info.path, checkpointable_name)
    with self._context:
      m = loading.metadata(info.path, checkpointable_name=name)
    return self._full_metadata(info, m.metadata)

  def checkpointables_metadata(self, step=None) -> CheckpointMetadata:
    info = self._existing(step)
    with self._context:
      m = loading.checkpointables_metadata(info.path)
    value = m.metadata
    if isinstance(value, dict):
      value = {k: v for k, v in value.items()
               if k != step_engine.METRICS_ITEM}
    return self._full_metadata(info, value)

  def root_metadata(self) -> RootMetadata:
    # As Orbax (its v0 manager's root metadata): the file's custom metadata,
    # else the one given to the constructor, else {}.
    data = step_engine.read_root_metadata(self.directory)
    custom: Any = (self._given_custom_metadata if data is None
                   else data.get("custom_metadata"))
    return RootMetadata(directory=self.directory,
                        custom_metadata={} if custom is None else custom)

  # ------------------------------------------------------------ deletion

  def _wait_for_deletion(self):
    pending, self._pending_delete = self._pending_delete, None
    if pending is not None:
      pending.result()

  def delete_async(self, step, *, checkpointable_name: Optional[str] = None,
                   missing_ok: bool = False) -> async_lib.AsyncResponse:
    """Deletes a step (or one of its checkpointables) in the background."""
    step = _resolve_integer_step(step)
    if step < 0:
      raise ValueError(f"step must be non-negative, got {step}")
    if checkpointable_name is not None:
      layout.validate_checkpointable_name(checkpointable_name)
    self._wait_for_deletion()
    self._engine.wait_for_save()
    info = self._engine.info(step)
    if info is None:
      if missing_ok:
        r: async_lib.AsyncResponse = async_lib.CompletedResponse(value=False)
        return r
      raise errors.StepNotFoundError(
          f"No checkpoint found at step {step} under {self.directory}.")
    if checkpointable_name is None:
      self._engine.delete(step)
      r = async_lib.CompletedResponse(value=True)
    else:
      path = info.path

      def drop_one():
        return _delete_checkpointable(path, checkpointable_name, missing_ok)
      r = async_lib.AsyncResponse(drop_one, name=f"ocpx-delete:{step}")
    self._pending_delete = r
    return r

  def delete(self, step, *, checkpointable_name: Optional[str] = None,
             missing_ok: bool = False) -> bool:
    r = self.delete_async(step, checkpointable_name=checkpointable_name,
                          missing_ok=missing_ok)
    self._wait_for_deletion()
    return r.result()

  # ------------------------------------------------------------ lifecycle

  def reload(self):
    self._wait_for_deletion()
    self._engine.reload()

  def is_saving_in_progress(self) -> bool:
    return self._engine.is_saving_in_progress()

  def wait(self):
    """Waits for the in-flight save and deletions; raises their errors."""
    self._wait_for_deletion()
    self._engine.wait()

  def close(self):
    try:
      self._wait_for_deletion()
    finally:
      self._engine.close()

  def __enter__(self) -> "Checkpointer":
    return self

  def __exit__(self, *exc):
    self.close()
    return False

  # Deprecated aliases kept by Orbax.
  def save_pytree(self, *args, **kwargs):
    _deprecated("save_pytree", "save")
    return self.save(*args, **kwargs)

  def save_pytree_async(self, *args, **kwargs):
    _deprecated("save_pytree_async", "save_async")
    return self.save_async(*args, **kwargs)

  def load_pytree(self, *args, **kwargs):
    _deprecated("load_pytree", "load")
    return self.load(*args, **kwargs)

  def load_pytree_async(self, *args, **kwargs):
    _deprecated("load_pytree_async", "load_async")
    return self.load_async(*args, **kwargs)

  def pytree_metadata(self, *args, **kwargs):
    _deprecated("pytree_metadata", "metadata")
    return self.metadata(*args, **kwargs)


def _deprecated(old: str, new: str) -> None:
  import warnings  # pylint: disable=g-import-not-at-top
  warnings.warn(f"Checkpointer.{old} is deprecated. Use `{new}` instead.",
                DeprecationWarning, stacklevel=3)


def _delete_checkpointable(step_path, name: str, missing_ok: bool) -> bool:
  target = step_path / name
  if not target.exists():
    if missing_ok:
      return False
    raise errors.StepNotFoundError(
        f"Checkpointable {name!r} not found in {step_path}.")
  trash = step_path.parent / step_engine.deleter_lib.TRASH_DIR
  trash.mkdir(exist_ok=True)
  import uuid  # pylint: disable=g-import-not-at-top
  dest = trash / f"{step_path.name}.{name}.{uuid.uuid4().hex[:12]}"
  target.rename(dest)
  meta = cm.read_step_metadata(step_path)
  if meta is not None and isinstance(meta.item_handlers, dict):
    meta.item_handlers = {k: v for k, v in meta.item_handlers.items()
                          if k != name}
    path_lib.write_file_durably(step_path / cm.CHECKPOINT_METADATA_FILE,
                                meta.to_json())
  path_lib.rmtree(dest)
  logging.info("ocpx: deleted checkpointable %r of %s", name, step_path)
  return True


def _v0_mp(mp) -> Any:
  """The v1 multiprocessing options as the engine uses them."""
  return mp
