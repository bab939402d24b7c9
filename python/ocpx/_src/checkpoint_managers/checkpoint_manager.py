# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""`ocpx.CheckpointManager`: Orbax's v0 step manager on ocpx's step engine.

Same constructor, options (all 33 `CheckpointManagerOptions` fields with
Orbax 0.12.8's defaults), methods and on-disk layout as
`orbax.checkpoint.CheckpointManager`.  Where 0.12.8 misbehaves, this one
follows `step_engine`'s rules instead: only committed steps are listed (always
sorted), retention runs after the commit, background errors surface in the
next call, `best_fn` never deletes the newest step, metrics given to `save`
are always written, deletion never blocks a save.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import os
import time
from typing import Any, Callable, Mapping, Optional, Sequence, cast

from ocpx._src.checkpoint_managers import preservation_policy as pp
from ocpx._src.checkpoint_managers import save_decision_policy as sdp
from ocpx._src.checkpoint_managers import step_engine
from ocpx._src.checkpoint_managers import step_names
from ocpx._src.v0 import checkpoint_args
from ocpx._src.v0 import metadata as metadata_lib
from ocpx._src.v0 import options as options_lib
from ocpx._src.v0.checkpointers import async_checkpointer
from ocpx._src.v0.checkpointers import checkpointer as checkpointer_lib
from ocpx._src.v0.handlers import checkpoint_handler
from ocpx._src.v0.handlers import composite_checkpoint_handler as composite
from ocpx._src.v0.handlers import handler_registration
from ocpx._src.v0.handlers import json_checkpoint_handler as json_h

DEFAULT_ITEM_NAME = "default"
METRIC_ITEM_NAME = step_engine.METRICS_ITEM
# The root metadata directory (`<root>/metadata/_ROOT_METADATA`).
METADATA_ITEM_NAME = step_engine.ROOT_METADATA_DIR
# Item names a user may not take (empty in Orbax 0.12.8 too).
RESERVED_ITEM_NAMES: list[str] = []
PyTree = Any


class StepAlreadyExistsError(ValueError):
  """A checkpoint for the step exists already."""


@dataclasses.dataclass
class CheckpointManagerOptions:
  """Options of `CheckpointManager` (Orbax 0.12.8's fields and defaults).

  Example:
    >>> options = CheckpointManagerOptions(max_to_keep=3,
    ...                                    save_interval_steps=100)
  """

  save_interval_steps: int = 1
  max_to_keep: Optional[int] = None
  keep_time_interval: Optional[datetime.timedelta] = None
  keep_period: Optional[int] = None
  best_fn: Optional[Callable[[PyTree], float]] = None
  best_mode: str = "max"
  keep_checkpoints_without_metrics: bool = True
  step_prefix: Optional[str] = None
  step_format_fixed_length: Optional[int] = None
  step_name_format: Optional[Any] = None
  create: bool = True
  cleanup_tmp_directories: bool = False
  save_on_steps: Optional[Sequence[int]] = None
  single_host_load_and_broadcast: bool = False
  todelete_subdir: Optional[str] = None
  todelete_full_path: Optional[str] = None
  enable_background_delete: bool = False
  num_deletion_threads: Optional[int] = None
  read_only: bool = False
  enable_async_checkpointing: bool = True
  async_options: Optional[options_lib.AsyncOptions] = None
  multiprocessing_options: options_lib.MultiprocessingOptions = (
      dataclasses.field(default_factory=options_lib.MultiprocessingOptions))
  should_save_fn: Optional[Callable[[int, Optional[int]], bool]] = None
  file_options: options_lib.FileOptions = dataclasses.field(
      default_factory=options_lib.FileOptions)
  atomicity_options: Optional[options_lib.AtomicityOptions] = None
  save_root_metadata: bool = True
  temporary_path_class: Optional[Any] = None
  save_decision_policy: Optional[sdp.SaveDecisionPolicy] = None
  preservation_policy: Optional[pp.PreservationPolicy] = None
  prevent_write_metrics: bool = False
  enable_should_save_is_saving_in_progress_check: bool = True
  enable_per_process_directory_creation: bool = False
  lightweight_initialize: bool = False

  def __post_init__(self):
    if self.best_mode not in ("min", "max"):
      raise ValueError(
          f"best_mode must be one of 'min' or 'max'. Got {self.best_mode}.")
    if self.max_to_keep is not None and self.max_to_keep < 0:
      raise ValueError("Setting of `max_to_keep` must be non-negative.")
    if self.preservation_policy is not None and (
        self.max_to_keep is not None or self.keep_time_interval is not None
        or self.keep_period is not None):
      raise ValueError(
          "`preservation_policy` cannot be set together with `max_to_keep`, "
          "`keep_time_interval` or `keep_period`.")
    self.save_on_steps = frozenset(self.save_on_steps or ())
    if self.todelete_subdir is not None and self.todelete_full_path is not None:
      raise ValueError(
          "`todelete_subdir` and `todelete_full_path` are mutually exclusive.")
    if (self.step_name_format is not None
        and self.single_host_load_and_broadcast != bool(getattr(
            self.step_name_format, "single_host_load_and_broadcast", False))):
      raise ValueError(
          "single_host_load_and_broadcast must match "
          "step_name_format.single_host_load_and_broadcast.")
    if self.enable_per_process_directory_creation and (
        self.multiprocessing_options.primary_host is not None):
      raise ValueError(
          "enable_per_process_directory_creation requires "
          "multiprocessing_options.primary_host=None.")
    if self.read_only:
      for name, neutral in (("save_interval_steps", 0), ("max_to_keep", None),
                            ("keep_time_interval", None),
                            ("keep_period", None), ("create", False),
                            ("cleanup_tmp_directories", False),
                            ("save_on_steps", frozenset()),
                            ("todelete_subdir", None),
                            ("todelete_full_path", None),
                            ("should_save_fn", None)):
        if getattr(self, name) != neutral:
          logging.warning("read_only=True: setting %s=%r.", name, neutral)
          setattr(self, name, neutral)


class _ShouldSaveFnPolicy(sdp.SaveDecisionPolicy):
  """Wraps the legacy `should_save_fn(step, last_saved_step)`."""

  def __init__(self, fn):
    self._fn = fn

  def should_save(self, step, previous_steps, *, context) -> bool:
    del context
    last = previous_steps[-1].step if previous_steps else None
    return bool(self._fn(step.step, last))


def _default_save_policy(o: CheckpointManagerOptions):
  if o.save_decision_policy is not None:
    return o.save_decision_policy
  if o.should_save_fn is not None:
    return sdp.AnySavePolicy([_ShouldSaveFnPolicy(o.should_save_fn),
                              sdp.PreemptionCheckpointingPolicy()])
  policies: list[sdp.SaveDecisionPolicy] = []
  if o.save_interval_steps:
    policies.append(sdp.FixedIntervalPolicy(o.save_interval_steps))
  if o.save_on_steps:
    policies.append(sdp.SpecificStepsPolicy(o.save_on_steps))
  policies += [sdp.PreemptionCheckpointingPolicy(), sdp.InitialSavePolicy()]
  return sdp.AnySavePolicy(policies)


def _default_preservation_policy(o: CheckpointManagerOptions):
  if o.preservation_policy is not None:
    return o.preservation_policy
  policies: list[pp.PreservationPolicy] = []
  if o.keep_period is not None:
    policies.append(pp.EveryNSteps(o.keep_period))
  if o.keep_time_interval is not None:
    policies.append(pp.EveryNSeconds(
        int(o.keep_time_interval.total_seconds())))
  if o.best_fn is not None:
    policies.append(pp.BestN(
        get_metric_fn=o.best_fn, reverse=o.best_mode == "min",
        n=o.max_to_keep,
        keep_checkpoints_without_metrics=o.keep_checkpoints_without_metrics))
  else:
    policies.append(pp.LatestN(o.max_to_keep))
  return pp.AnyPreservationPolicy(policies)


def _contains_continuous(policy) -> bool:
  if isinstance(policy, sdp.ContinuousCheckpointingPolicy):
    return True
  return any(_contains_continuous(p)
             for p in getattr(policy, "policies", None) or ())


def _record_continuous_telemetry(policy) -> None:
  import jax  # pylint: disable=g-import-not-at-top
  jax.monitoring.record_scalar(
      "/jax/orbax/checkpoint_manager/continuous_checkpointing_enabled",
      int(_contains_continuous(policy)))


def _log_entry(logger, entry: dict) -> None:
  """Sends step statistics to `logger` (Orbax's `log_entry`), else INFO."""
  if logger is not None:
    logger.log_entry(entry)
  else:
    logging.info("%s", entry)


class _Ref:
  """A mutable cell (`get`/`set`/`set_if_none`), as Orbax keeps the mode."""

  def __init__(self, value=None):
    self._value = value

  def get(self):
    return self._value

  def set(self, value):
    self._value = value
    return self

  def set_if_none(self, value):
    if self._value is None:
      self._value = value
    return self._value


class _Handle:
  def __init__(self, wait: Callable[[], None]):
    self._wait = wait

  def result(self):
    self._wait()


class CheckpointManager:
  """Saves, restores and garbage-collects a directory of checkpoint steps.

  Example:
    >>> import ocpx as ocp
    >>> options = ocp.CheckpointManagerOptions(max_to_keep=3)
    >>> with ocp.CheckpointManager('/tmp/run', options=options) as mngr:
    ...   for step in range(10):
    ...     state = train_step(state)
    ...     mngr.save(step, args=ocp.args.StandardSave(state),
    ...               metrics={'loss': loss})
    ...   restored = mngr.restore(mngr.latest_step(),
    ...                           args=ocp.args.StandardRestore(abstract))

  Not thread-safe; every process of a multi-process job calls it.
  """

  def __init__(
      self,
      directory,
      checkpointers: Any = None,
      options: Optional[CheckpointManagerOptions] = None,
      metadata: Optional[Mapping[str, Any]] = None,
      item_names: Optional[Sequence[str]] = None,
      item_handlers: Any = None,
      logger: Any = None,
      handler_registry: Optional[Any] = None,
  ):
    if checkpointers is not None and item_names is not None:
      raise ValueError("`checkpointers` and `item_names` are mutually "
                       "exclusive: do not pass both.")
    if checkpointers is not None and item_handlers is not None:
      raise ValueError("`checkpointers` and `item_handlers` are mutually "
                       "exclusive: do not pass both.")
    if item_names is not None and isinstance(
        item_handlers, checkpoint_handler.CheckpointHandler):
      raise ValueError("`item_handlers` in default item mode and "
                       "`item_names` should not be provided together.")
    if handler_registry is not None and (
        checkpointers is not None or item_handlers is not None
        or item_names is not None):
      raise ValueError(
          "`handler_registry` cannot be combined with `checkpointers`, "
          "`item_handlers` or `item_names`.")
    self._options = options or CheckpointManagerOptions()
    o = self._options
    self._logger = logger
    if o.todelete_full_path is not None:
      raise NotImplementedError(
          "todelete_full_path (Orbax's move of deleted GCS steps to a "
          "bucket path) is not supported by ocpx; use todelete_subdir.")
    if o.enable_per_process_directory_creation:
      raise NotImplementedError(
          "enable_per_process_directory_creation: ocpx saves each step "
          "into one directory shared by all processes.")
    if o.multiprocessing_options.active_processes is not None and o.create:
      raise NotImplementedError(
          "`create` with `active_processes` is not supported; create the "
          "directory beforehand and pass create=False.")

    # Item handlers and the default-item mode.
    self._default_item = _Ref()
    handlers: dict = {}
    if checkpointers is not None:
      if isinstance(checkpointers, Mapping):
        self._default_item.set(False)
        handlers = {k: c.handler for k, c in checkpointers.items()}
      else:
        self._default_item.set(True)
        handlers = {DEFAULT_ITEM_NAME: checkpointers.handler}
    elif item_handlers is not None:
      if isinstance(item_handlers, Mapping):
        self._default_item.set(False)
        handlers = dict(item_handlers)
      else:
        self._default_item.set(True)
        handlers = {DEFAULT_ITEM_NAME: item_handlers}
    elif item_names is not None:
      self._default_item.set(False)
      handlers = {n: None for n in item_names}
    if METRIC_ITEM_NAME in handlers:
      raise ValueError(
          f"Item name {METRIC_ITEM_NAME!r} is reserved for metrics.")
    self._handlers = handlers
    metrics_handler = json_h.JsonCheckpointHandler(filename=METRIC_ITEM_NAME)
    composite_options = composite.CompositeOptions(
        multiprocessing_options=o.multiprocessing_options,
        file_options=o.file_options, atomicity_options=o.atomicity_options,
        async_options=o.async_options,
        temporary_path_class=o.temporary_path_class)
    self._registry_copy = None
    if handler_registry is not None:
      registry = handler_registration.DefaultCheckpointHandlerRegistry(
          handler_registry)
      for args_cls in (json_h.JsonSaveArgs, json_h.JsonRestoreArgs):
        if not registry.has(METRIC_ITEM_NAME, args_cls):
          registry.add(METRIC_ITEM_NAME, args_cls, metrics_handler)
      handler = composite.CompositeCheckpointHandler(
          composite_options=composite_options, handler_registry=registry)
      self._registry_copy = registry
    else:
      handler = composite.CompositeCheckpointHandler(
          *[n for n, h in handlers.items() if h is None],
          composite_options=composite_options,
          **{n: h for n, h in handlers.items() if h is not None},
          **{METRIC_ITEM_NAME: cast(Any, metrics_handler)})
    self._composite = handler
    self._registry = handler_registry
    async_options = o.async_options or options_lib.AsyncOptions()
    use_async = o.enable_async_checkpointing
    if checkpointers is not None:
      given = (checkpointers.values() if isinstance(checkpointers, Mapping)
               else [checkpointers])
      use_async = any(isinstance(c, async_checkpointer.AsyncCheckpointer)
                      for c in given)
    if use_async:
      async_options = dataclasses.replace(async_options)
      self._checkpointer: checkpointer_lib.Checkpointer = (
          async_checkpointer.AsyncCheckpointer(
              handler, async_options=async_options,
              multiprocessing_options=o.multiprocessing_options,
              file_options=o.file_options,
              atomicity_options=o.atomicity_options,
              temporary_path_class=o.temporary_path_class))
    else:
      if async_options.post_finalization_callback is not None:
        raise ValueError("AsyncOptions.post_finalization_callback needs "
                         "enable_async_checkpointing=True.")
      self._checkpointer = checkpointer_lib.Checkpointer(
          handler, multiprocessing_options=o.multiprocessing_options,
          file_options=o.file_options, atomicity_options=o.atomicity_options,
          temporary_path_class=o.temporary_path_class)

    name_format = o.step_name_format or step_names.standard_name_format(
        step_prefix=o.step_prefix,
        step_format_fixed_length=o.step_format_fixed_length,
        single_host_load_and_broadcast=o.single_host_load_and_broadcast,
        temporary_path_cls=o.temporary_path_class,
        atomicity_options=o.atomicity_options)
    self._name_format = name_format
    self._engine = step_engine.StepEngine(
        directory,
        name_format=name_format,
        save_decision_policy=_default_save_policy(o),
        preservation_policy=_default_preservation_policy(o),
        create=o.create,
        read_only=o.read_only,
        todelete_subdir=o.todelete_subdir,
        background_delete=o.enable_background_delete,
        cleanup_tmp_directories=o.cleanup_tmp_directories,
        multiprocessing_options=o.multiprocessing_options,
        path_permission_mode=o.file_options.path_permission_mode,
        step_exists_error=StepAlreadyExistsError,
        step_not_found_error=FileNotFoundError,
        num_deletion_threads=(o.num_deletion_threads or min(
            16, max(1, (os.cpu_count() or 2) // 2))))
    _record_continuous_telemetry(self._engine.save_decision_policy)
    self._given_metadata = (dict(metadata) if metadata is not None
                            and o.save_root_metadata else None)
    if (metadata is not None and o.save_root_metadata and not o.read_only
        and self._engine.is_primary):
      step_engine.write_root_metadata(self._engine.directory, metadata,
                                      o.file_options.path_permission_mode)

  # ------------------------------------------------------------ properties

  @property
  def directory(self):
    return self._engine.directory

  # ------------------------------------------------------------ listing

  def all_steps(self, read: bool = False) -> Sequence[int]:
    """Committed steps, ascending (`read=True` re-lists the directory)."""
    if read:
      self._engine.reload()
    return self._engine.all_steps()

  def latest_step(self) -> Optional[int]:
    """The largest committed step, or None."""
    return self._engine.latest_step()

  def best_step(self) -> Optional[int]:
    """The step with the best metric (`best_fn`), else the latest step."""
    o = self._options
    if o.best_fn is None:
      return self.latest_step()
    scored = [i for i in self._engine.infos() if i.metrics is not None]
    if not scored:
      return None
    key = lambda i: o.best_fn(i.metrics)  # noqa: E731
    best = (min if o.best_mode == "min" else max)(scored, key=key)
    return best.step

  def reload(self):
    self._engine.reload()

  def reached_preemption(self, step: int) -> bool:
    return step_engine.reached_preemption(step)

  def should_save(self, step: int) -> bool:
    return self._engine.should_save(
        step, check_in_progress=(
            self._options.enable_should_save_is_saving_in_progress_check))

  def is_saving_in_progress(self) -> bool:
    return self._engine.is_saving_in_progress()

  # ------------------------------------------------------------ saving

  def _lock_mode(self, args) -> bool:
    is_composite = isinstance(args, composite.CompositeArgs)
    mode = self._default_item.get()
    if mode is None:
      self._default_item.set(not is_composite)
    elif mode and is_composite:
      raise ValueError(
          "Cannot provide `args` of type `Composite` when dealing with a "
          "single, unnamed (default) checkpointable object.")
    elif not mode and not is_composite:
      raise ValueError(
          "Must provide `args` of type `Composite` when dealing with "
          "multiple checkpointable objects.")
    return self._default_item.get()

  def _legacy_args(self, items, kwargs, for_save: bool):
    if self._default_item.get() is None:
      self._default_item.set(not isinstance(items, Mapping) or not all(
          k in self._handlers for k in items))
    def make(name, item, kw):
      h = self._handlers.get(name)
      if h is None:
        raise ValueError(
            f"Item {name!r} has no handler; pass `args=` (e.g. "
            "ocp.args.StandardSave) or `item_handlers`.")
      built = checkpointer_lib.construct_checkpoint_args(
          h, for_save, item, **(kw or {}))
      if built is None:
        # A subclass of a built-in handler: use its base class's args.
        for base in type(h).__mro__[1:]:
          if checkpoint_args.has_registered_args(base):
            save_cls, restore_cls = checkpoint_args.get_registered_args_cls(
                base)
            return (save_cls if for_save else restore_cls)(item, **(kw or {}))
        raise ValueError(
            f"Item {name!r}: handler {type(h).__name__} has no registered "
            "CheckpointArgs; pass `args=`.")
      return built
    if self._default_item.get():
      return make(DEFAULT_ITEM_NAME, items, kwargs)
    return composite.CompositeArgs(**{
        k: make(k, v, (kwargs or {}).get(k)) for k, v in items.items()})

  def _check_item_args(self, items_args: dict) -> None:
    """Refuses args that the item's handler cannot take; lets a handler
    registry fall back to the handler registered for the args type."""
    for name, item_args in items_args.items():
      if item_args is None:
        continue
      try:
        cls = checkpoint_args.get_registered_handler_cls(item_args)
      except (ValueError, TypeError):
        continue
      h = self._handlers.get(name)
      if h is not None and not isinstance(h, cls):
        raise ValueError(
            f"Item {name!r} with args {type(item_args).__name__} does not "
            f"match with any registered handler (its handler is "
            f"{type(h).__name__}, the args belong to {cls.__name__}).")
      reg = self._registry_copy
      if reg is not None and not reg.has(name, item_args) and not reg.has(
          None, item_args):
        try:
          reg.add(name, type(item_args), cls())
        except TypeError:
          pass  # not default-constructible: the composite reports it

  def save(self, step: int, items: Any = None, save_kwargs: Any = None,
           metrics: Optional[PyTree] = None, force: Optional[bool] = False,
           args: Any = None,
           custom_metadata: Optional[dict[str, Any]] = None) -> bool:
    """Saves `args` as `step`; False if the policy said not to.

    Raises StepAlreadyExistsError if the step exists (even with `force`,
    which only bypasses the save policy).
    """
    if items is None and args is None:
      raise ValueError("Must provide `args` for `save`.")
    start = time.time()
    if self._options.read_only:
      logging.warning("%s is read-only; not saving step %d.",
                      self.directory, step)
      return False
    self._engine.raise_errors()
    if args is None:
      args = self._legacy_args(items, save_kwargs, True)
    elif not isinstance(args, checkpoint_args.CheckpointArgs):
      raise ValueError(f"Expected args of type CheckpointArgs; found "
                       f"{type(args).__name__}.")
    default = self._lock_mode(args)
    if not force and not self.should_save(step):
      return False
    if self._engine.info(step) is not None:
      raise StepAlreadyExistsError(
          f"Checkpoint for step {step} already exists under "
          f"{self.directory}.")
    items_args = ({DEFAULT_ITEM_NAME: args} if default else dict(args.items()))
    if METRIC_ITEM_NAME in items_args:
      raise ValueError(
          f"Item name {METRIC_ITEM_NAME!r} is reserved for metrics.")
    self._check_item_args(items_args)
    if self._handlers and not default:
      for name, item_args in items_args.items():
        if name not in self._handlers:
          raise ValueError(
              f"Item {name!r} with args {type(item_args).__name__} does not "
              "match with any registered handler (the manager was built "
              f"for items {sorted(self._handlers)}).")
    if metrics is not None and not self._options.prevent_write_metrics:
      items_args[METRIC_ITEM_NAME] = json_h.JsonSaveArgs(metrics)
    composite_args = composite.CompositeArgs(**items_args)
    ckptr = self._checkpointer
    is_async = isinstance(ckptr, async_checkpointer.AsyncCheckpointer)
    stats: dict[str, Any] = {"step": step, "event_type": "save",
             "directory": str(self.directory),
             "reached_preemption": self.reached_preemption(step),
             "preemption_received_at": None, "synchronous": not is_async,
             "checkpoint_manager_blocking_start_time": start}
    wait_start = time.time()
    self._engine.wait_for_save()
    stats["wait_for_prev_start_time"] = wait_start
    stats["wait_for_prev_duration_secs"] = time.time() - wait_start
    if stats["wait_for_prev_duration_secs"] > 1:
      logging.warning(
          "Waiting for previous save to complete took %.2f seconds before "
          "saving step %d; consider saving less often.",
          stats["wait_for_prev_duration_secs"], step)

    def write(final):
      t = time.time()
      ckptr.save(final, args=composite_args, custom_metadata=custom_metadata)
      stats["checkpointer_blocking_start_time"] = t
      stats["checkpointer_blocking_duration_secs"] = time.time() - t
      return _Handle(ckptr.wait_until_finished if is_async else lambda: None)

    pending = self._engine.start_save(step, write, metrics=metrics)
    stats["get_old_steps_start_time"] = time.time()
    stats["get_old_steps_duration_secs"] = 0.0  # retention runs after commit
    stats["checkpoint_manager_blocking_duration_secs"] = time.time() - start
    _log_entry(self._logger, stats)
    if not is_async:
      self._engine.wait_for_save()
      if pending.error is not None:
        self._engine.forget_error(pending.error)
        raise pending.error
    return True

  # ------------------------------------------------------------ restoring

  def _step_dir(self, step: Optional[int], directory=None):
    if directory is not None:
      base = step_names._as_path(directory)  # pylint: disable=protected-access
      if step is None:
        latest = step_names.latest_step_metadata(base, self._name_format)
        if latest is None:
          raise FileNotFoundError(f"No steps found in {base}.")
        return latest.path
      try:
        return self._name_format.find_step(base, step).path
      except ValueError as e:
        raise FileNotFoundError(str(e)) from e
    if step is None:
      step = self.latest_step()
      if step is None:
        raise FileNotFoundError(f"No steps found in {self.directory}.")
    return self._engine.step_path(step)

  def _detect_mode(self, path) -> bool:
    return self._default_item.set_if_none(
        (path / DEFAULT_ITEM_NAME).is_dir())

  def restore(self, step: Optional[int], items: Any = None,
              restore_kwargs: Any = None, directory=None,
              args: Any = None) -> Any:
    """Restores `step` (None: the latest committed step).

    Without `args`, every item whose handler is known (registered or
    recorded in `_CHECKPOINT_METADATA`) is restored.
    """
    start = time.time()
    self._engine.wait_for_save()  # as Orbax: restore follows the save
    self._engine.raise_errors()
    path = self._step_dir(step, directory)
    result = self._restore(path, items, restore_kwargs, args)
    end = time.time()
    _log_entry(self._logger, {
        "step": int(step) if step is not None else self.latest_step(),
        "event_type": "restore", "directory": str(self.directory),
        "checkpointer_start_time": start,
        "checkpointer_duration_secs": end - start,
        "checkpoint_manager_start_time": start,
        "checkpoint_manager_duration_secs": end - start})
    return result

  def _restore(self, path, items, restore_kwargs, args):
    default = self._detect_mode(path)
    if args is None and items is not None:
      args = self._legacy_args(items, restore_kwargs, False)
    if args is not None and not isinstance(args,
                                           checkpoint_args.CheckpointArgs):
      raise ValueError(f"Expected args of type CheckpointArgs; found "
                       f"{type(args).__name__}.")
    if default:
      if isinstance(args, composite.CompositeArgs):
        raise ValueError(
            "Cannot provide `args` of type `Composite` when dealing with a "
            "single, unnamed (default) checkpointable object.")
      cargs = composite.CompositeArgs(**{DEFAULT_ITEM_NAME: args}) if (
          args is not None) else composite.CompositeArgs(
              **{DEFAULT_ITEM_NAME: None})
      if args is None:
        restored = self._checkpointer.restore(path)
        return restored[DEFAULT_ITEM_NAME]
      return self._checkpointer.restore(path, args=cargs)[DEFAULT_ITEM_NAME]
    if args is None:
      return self._checkpointer.restore(path)
    if not isinstance(args, composite.CompositeArgs):
      raise ValueError(
          "Must provide `args` of type `Composite` when dealing with "
          "multiple checkpointable objects.")
    self._check_item_args(dict(args.items()))
    known = getattr(self._composite, "_handlers", {})
    for name, item_args in args.items():
      if item_args is None and known.get(name) is None and (
          self._registry is None):
        raise ValueError(
            f"Provided `None` for `CheckpointArgs`, and the "
            f"`CheckpointHandler` for item \"{name}\" was not configured.")
    return self._checkpointer.restore(path, args=args)

  # ------------------------------------------------------------ metadata

  def metadata(self, step: Optional[int] = None):
    """Root metadata (step None) or the `StepMetadata` of `step`."""
    if step is None:
      data = step_engine.read_root_metadata(self.directory)
      if data is None:
        return metadata_lib.RootMetadata(
            custom_metadata=dict(self._given_metadata or {}))
      internal = data.get("internal_metadata")
      custom = dict(data.get("custom_metadata") or {})
      # Keys of a legacy `metadata/metadata` file are custom metadata.
      custom.update({k: v for k, v in data.items()
                     if k not in ("custom_metadata", "internal_metadata")})
      return metadata_lib.RootMetadata(
          internal_metadata=dict(internal) if isinstance(internal, dict)
          else {},
          custom_metadata=custom)
    self._engine.wait_for_save()
    path = self._step_dir(step)
    default = self._detect_mode(path)
    m = self._checkpointer.metadata(path)
    item = m.item_metadata
    if default and item is not None:
      item = item[DEFAULT_ITEM_NAME] if DEFAULT_ITEM_NAME in item else None
    metrics = step_engine.read_metrics(path)
    return dataclasses.replace(
        m, item_metadata=item,
        metrics=metrics if metrics is not None else m.metrics)

  def _root_metadata_file_path(self, legacy: bool = False):
    d = self.directory / step_engine.ROOT_METADATA_DIR
    if not d.exists():
      raise ValueError(f"Root Metadata directory is not initialized: {d}")
    return step_engine.root_metadata_path(self.directory, legacy)

  def item_metadata(self, step: int) -> Any:
    return self.metadata(step).item_metadata

  def metrics(self, step: int) -> Optional[PyTree]:
    """The metrics saved with `step`, or None."""
    self._engine.wait_for_save()
    try:
      return step_engine.read_metrics(self._step_dir(step))
    except FileNotFoundError:
      return None

  # ------------------------------------------------------------ deletion

  def delete(self, step: int):
    """Deletes committed `step` (FileNotFoundError if unknown)."""
    if self._options.read_only:
      logging.warning("%s is read-only; not deleting step %d.",
                      self.directory, step)
      return
    self._engine.delete(step)

  # ------------------------------------------------------------ lifecycle

  def wait_until_finished(self):
    """Waits for the in-flight save; raises any background error once."""
    self._engine.wait()

  def check_for_errors(self):
    """Raises (once) any error of finished background work."""
    self._engine.raise_errors()

  def close(self):
    """Waits for saves, deletions and tmp cleanup; raises their errors."""
    try:
      self._engine.close()
    finally:
      self._checkpointer.close()

  def __enter__(self) -> "CheckpointManager":
    return self

  def __exit__(self, *exc):
    self.close()
    return False
