# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The engine under both step managers (v0 `CheckpointManager`, v1
`training.Checkpointer`).

State: the sorted list of *committed* steps, at most one save in flight, a
deleter, and a list of background errors not yet reported.

Rules that differ from Orbax 0.12.8 (each a reproduced bug there):
- A step joins the list only after its commit; the list is always sorted, so
  `latest` is the largest committed step and never an in-flight one.
- Retention is computed and applied only after the new step commits; a failed
  save changes nothing but reports its error.
- A background error (commit, deletion, tmp cleanup) is kept until the next
  `save`, `wait`, `check_for_errors` or `close` raises it, naming the step.
- Deletion renames the step away first (atomic, crash-safe) and removes the
  data on a worker thread, so it never delays the next save.
- Tmp cleanup touches only leftovers of this directory's step names and is
  awaited by the first save and by `close()`.
- Step times and metrics are read lazily, only when a policy needs them.
"""

from __future__ import annotations

import bisect
import datetime
import json
import logging
import os
import pathlib
import signal
import threading
import time
from typing import Any, Callable, Optional, Sequence

from ocpx._src import multihost
from ocpx._src import path as path_lib
from ocpx._src import recovery
from ocpx._src.checkpoint_managers import deleter as deleter_lib
from ocpx._src.checkpoint_managers import policy_checkpoint_info as info_lib
from ocpx._src.checkpoint_managers import preservation_policy as pp
from ocpx._src.checkpoint_managers import save_decision_policy as sdp
from ocpx._src.checkpoint_managers import step_names

METRICS_ITEM = "metrics"
METRICS_FILE = "metrics"
ROOT_METADATA_DIR = "metadata"
ROOT_METADATA_FILE = "_ROOT_METADATA"
LEGACY_ROOT_METADATA_FILE = "metadata"


def background_error(error: BaseException, what: str) -> BaseException:
  """`error` from background work, annotated with what failed (its step).

  The exception keeps its own type, as in Orbax, so a training loop's
  `except OSError:` (or whatever the failure was) still catches it when the
  next `save`, `wait_until_finished`, `check_for_errors` or `close` raises
  it.  `what` (e.g. "Saving step 3 to /ckpt/3") is added as a note, shown in
  the traceback.
  """
  note = f"ocpx: {what} failed in the background."
  if note not in getattr(error, "__notes__", ()):
    error.add_note(note)
  return error


class StepInfo:
  """A committed step; `time` and `metrics` are read from disk on demand."""

  __slots__ = ("step", "path", "_time", "_metrics", "_metrics_loaded")

  def __init__(self, step: int, path: pathlib.Path,
               time_: Optional[datetime.datetime] = None,
               metrics: Any = None, metrics_known: bool = False):
    self.step = step
    self.path = path
    self._time = time_
    self._metrics = metrics
    self._metrics_loaded = metrics_known

  @property
  def time(self) -> datetime.datetime:
    if self._time is None:
      self._time = step_names.Metadata(self.step, self.path).commit_timestamp
    return self._time

  @time.setter
  def time(self, value: datetime.datetime) -> None:
    self._time = value

  @property
  def metrics(self) -> Any:
    if not self._metrics_loaded:
      self._metrics = read_metrics(self.path)
      self._metrics_loaded = True
    return self._metrics

  @metrics.setter
  def metrics(self, value: Any) -> None:
    self._metrics = value
    self._metrics_loaded = True

  def __repr__(self):
    return f"StepInfo(step={self.step})"


def read_metrics(step_path: pathlib.Path) -> Any:
  f = step_path / METRICS_ITEM / METRICS_FILE
  try:
    text = f.read_text()
  except (FileNotFoundError, NotADirectoryError):
    return None
  try:
    return json.loads(text)
  except ValueError as e:
    raise ValueError(f"{f}: metrics are not valid JSON: {e}") from e


def contains_best_n(policy) -> bool:
  if isinstance(policy, pp.BestN):
    return True
  if isinstance(policy, pp.AnyPreservationPolicy):
    return any(contains_best_n(p) for p in policy.policies)
  return False


# ---------------------------------------------------------------- preemption

_PREEMPTED = threading.Event()
_INSTALLED: dict = {}


def enable_preemption_signal_handler(
    signals: Sequence[int] = (signal.SIGTERM,)) -> None:
  """Opt in to preemption saves for single-process jobs.

  After this call, receiving one of `signals` (SIGTERM by default) makes
  `reached_preemption(step)` True for every later step, so the default save
  policies save at the next step.  The training loop then typically does::

    if mngr.reached_preemption(step):
      mngr.wait_until_finished()
      sys.exit(0)

  Must be called from the main thread.  Multi-process jobs keep using JAX's
  preemption sync point (all processes must agree on the step).
  """
  for s in signals:
    if s in _INSTALLED:
      continue
    previous = signal.getsignal(s)

    def handler(signum, frame, _previous=previous):
      del frame
      _PREEMPTED.set()
      logging.warning("ocpx: received signal %d; the next step will be "
                      "saved as a preemption checkpoint.", signum)
      del _previous

    _INSTALLED[s] = previous
    signal.signal(s, handler)


def disable_preemption_signal_handler() -> None:
  """Restores the handlers replaced by `enable_preemption_signal_handler`."""
  for s, previous in list(_INSTALLED.items()):
    signal.signal(s, previous)
    del _INSTALLED[s]
  _PREEMPTED.clear()


def preemption_signal_received() -> bool:
  return _PREEMPTED.is_set()


def reached_preemption(step: int) -> bool:
  """Whether `step` is a preemption step (signal handler or JAX sync point)."""
  if _PREEMPTED.is_set():
    return True
  try:
    from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
    # False when jax.distributed is not initialized (single process).
    return bool(multihost_utils.reached_preemption_sync_point(step))
  except (RuntimeError, ImportError):
    return False  # e.g. the preemption service is disabled


# ------------------------------------------------------------------- engine


class _Reported:
  """A background error, its owner thread and the threads that saw it."""

  __slots__ = ("error", "owner", "seen")

  def __init__(self, error: BaseException, owner: int):
    self.error = error
    self.owner = owner
    self.seen: set[int] = set()


class _PendingSave:
  def __init__(self, step: int):
    self.step = step
    self.started = info_lib.utc_now()
    self.done = threading.Event()
    self.thread: Optional[threading.Thread] = None
    self.error: Optional[BaseException] = None


class StepEngine:
  """Committed-step bookkeeping, save sequencing, retention and deletion."""

  def __init__(
      self,
      directory,
      *,
      name_format,
      save_decision_policy,
      preservation_policy,
      create: bool = True,
      read_only: bool = False,
      todelete_subdir: Optional[str] = None,
      background_delete: bool = True,
      cleanup_tmp_directories: bool = False,
      keep_newest_with_best: bool = True,
      multiprocessing_options=None,
      path_permission_mode: Optional[int] = None,
      step_exists_error: Callable[[str], BaseException] = ValueError,
      step_not_found_error: Callable[[str], BaseException] = FileNotFoundError,
      num_deletion_threads: int = 1,
  ):
    from ocpx._src import options as options_lib  # pylint: disable=g-import-not-at-top
    self.directory = path_lib.as_path(directory).absolute()
    self.name_format = name_format
    self.save_decision_policy = save_decision_policy
    self.preservation_policy = preservation_policy
    self.read_only = read_only
    self.multiprocessing_options = (
        multiprocessing_options or options_lib.MultiprocessingOptions())
    self._background_delete = background_delete
    self._keep_newest = keep_newest_with_best and contains_best_n(
        preservation_policy)
    self._step_exists_error = step_exists_error
    self._step_not_found_error = step_not_found_error
    self._lock = threading.RLock()
    self._infos: list[StepInfo] = []
    self._steps: list[int] = []
    self._pending: Optional[_PendingSave] = None
    self._errors: list[_Reported] = []
    self._owner = threading.get_ident()
    self._closed = False
    primary = self.multiprocessing_options.primary_host
    self.is_primary = primary is None or primary == multihost.process_index()

    if create and not read_only and self.is_primary:
      path_lib.mkdir(self.directory, path_permission_mode, parents=True)
    self._deleter = deleter_lib.StepDeleter(
        self.directory, todelete_subdir=todelete_subdir,
        on_error=self._record_deletion_error,
        num_threads=num_deletion_threads)
    if not read_only and self.is_primary:
      # Finish or roll back overwrites that a crash interrupted (tmp dirs
      # are left to cleanup_tmp_directories, as in Orbax).
      recovery.recover_directory(self.directory, remove_stale_tmp=False)
    self.reload()
    if not read_only and self.is_primary:
      self._deleter.resume()
    self._cleanup_thread: Optional[threading.Thread] = None
    if cleanup_tmp_directories and not read_only and self.is_primary:
      self._cleanup_thread = threading.Thread(
          target=self._cleanup_tmp, daemon=True, name="ocpx-tmp-cleanup")
      self._cleanup_thread.start()

  # ----------------------------------------------------------- errors

  def _record(self, error: BaseException,
              owner: Optional[int] = None) -> None:
    with self._lock:
      self._errors.append(_Reported(
          error, self._owner if owner is None else owner))

  def _record_deletion_error(self, step, e: BaseException) -> None:
    what = f"step {step}" if step is not None else "a trashed step"
    self._record(background_error(e, f"Deleting {what} under "
                                     f"{self.directory}"))

  def forget_error(self, error: BaseException) -> None:
    """Drops `error` from the unreported list (it was reported elsewhere)."""
    with self._lock:
      self._errors = [r for r in self._errors if r.error is not error]

  def raise_errors(self) -> None:
    """Raises the oldest background error this thread has not seen yet.

    As in Orbax 0.12.8, every thread that waits on the manager sees a
    background error once; it is reported for good (and dropped) when the
    thread that started the failed work (for deletions and cleanup: the one
    that created the manager) raises it.  Several errors are raised one per
    call, oldest first; none is dropped unreported.
    """
    me = threading.get_ident()
    with self._lock:
      unseen = [r for r in self._errors if me not in r.seen]
      if not unseen:
        return
      first = unseen[0]
      if me == first.owner:
        self._errors.remove(first)  # the others stay queued
      else:
        first.seen.add(me)
    raise first.error

  # ----------------------------------------------------------- listing

  def reload(self) -> None:
    found: dict[Any, Any] = {}
    for m in self.name_format.find_all(self.directory):
      found.setdefault(m.step, m.path)
    infos = [StepInfo(s, found[s]) for s in sorted(found)]
    with self._lock:
      self._infos = infos
      self._steps = [i.step for i in infos]

  def all_steps(self) -> list[int]:
    with self._lock:
      return list(self._steps)

  def infos(self) -> list[StepInfo]:
    with self._lock:
      return list(self._infos)

  def latest_step(self) -> Optional[int]:
    with self._lock:
      return self._steps[-1] if self._steps else None

  def info(self, step: int) -> Optional[StepInfo]:
    with self._lock:
      i = bisect.bisect_left(self._steps, step)
      if i < len(self._steps) and self._steps[i] == step:
        return self._infos[i]
    return None

  def step_path(self, step: int) -> pathlib.Path:
    """The directory of committed `step` (searching every read format)."""
    info = self.info(step)
    if info is not None:
      return info.path
    try:
      return self.name_format.find_step(self.directory, step).path
    except ValueError as e:
      raise self._step_not_found_error(
          f"No committed checkpoint for step {step} under "
          f"{self.directory}.") from e

  def write_path(self, step: int) -> pathlib.Path:
    return self.directory / self.name_format.build_name(step)

  # ----------------------------------------------------------- decisions

  def is_saving_in_progress(self) -> bool:
    p = self._pending
    return p is not None and not p.done.is_set()

  def pending_step(self) -> Optional[int]:
    p = self._pending
    return p.step if p is not None and not p.done.is_set() else None

  def should_save(self, step: int, *, check_in_progress: bool = True) -> bool:
    if self.read_only:
      return False
    latest = self.latest_step()
    pending = self.pending_step()
    if pending is not None and (latest is None or pending > latest):
      latest = pending
    if latest is not None and step <= latest:
      return False
    ctx = sdp.DecisionContext(
        is_saving_in_progress=(check_in_progress
                               and self.is_saving_in_progress()),
        reached_preemption=reached_preemption(step),
        multiprocessing_options=self.multiprocessing_options)
    current = info_lib.CheckpointInfo(step, info_lib.utc_now(), None)
    previous: list = self.infos()
    p = self._pending
    if p is not None and not p.done.is_set():
      # The policies see the in-flight step (e.g. it is not the "initial"
      # save any more), though listings never show it.
      previous = previous + [info_lib.CheckpointInfo(
          p.step, p.started, None)]
    return bool(self.save_decision_policy.should_save(
        current, previous, context=ctx))

  # ----------------------------------------------------------- saving

  def _await_cleanup(self) -> None:
    t = self._cleanup_thread
    if t is not None:
      t.join()
      self._cleanup_thread = None

  def wait_for_save(self) -> None:
    """Waits for the in-flight save's commit (not for deletions)."""
    p = self._pending
    if p is not None:
      p.done.wait()
      if p.thread is not None and p.thread is not threading.current_thread():
        p.thread.join()

  def start_save(
      self,
      step: int,
      write: Callable[[pathlib.Path], Any],
      *,
      metrics: Any = None,
      overwrite: bool = False,
      on_commit: Optional[Callable[[int], None]] = None,
  ) -> _PendingSave:
    """Runs `write(final_path)` (the blocking phase) and commits in the back.

    `write` returns an object whose `result()` blocks until the step is
    committed at `final_path` (an ocpx `AsyncResponse`).  The caller has
    already applied the save policy.
    """
    if self.read_only:
      raise ValueError(f"{self.directory}: the manager is read-only.")
    self.raise_errors()
    self._await_cleanup()
    self.wait_for_save()
    self.raise_errors()
    if self.info(step) is not None:
      if not overwrite:
        raise self._step_exists_error(
            f"Checkpoint for step {step} already exists under "
            f"{self.directory}.")
      self.delete(step, wait=True)
    final = self.write_path(step)
    if final.exists() and self.is_primary:
      if self._writes_in_place(final):
        # Commit-file mode (object stores, CommitFileTemporaryPath): steps
        # are written in place, so an uncommitted directory of this step is
        # what an interrupted save of it left; replace it, as Orbax does.
        logging.warning("%s: removing an uncommitted save of step %d",
                        final, step)
        path_lib.rmtree(final)
      else:
        # A directory that is not a committed step of ours: never write
        # into it.
        raise self._step_exists_error(
            f"{final} exists but is not a committed step; remove it or use "
            "another step.")
    pending = _PendingSave(step)
    owner = threading.get_ident()
    handle = write(final)  # blocking phase; raises -> nothing changed
    with self._lock:
      self._pending = pending

    def finish():
      try:
        handle.result()
        self._on_committed(step, final, metrics)
        if on_commit is not None:
          on_commit(step)
      except BaseException as e:  # pylint: disable=broad-except
        err = background_error(e, f"Saving step {step} to {final}")
        pending.error = err
        self._record(err, owner)
      finally:
        pending.done.set()

    pending.thread = threading.Thread(target=finish, daemon=True,
                                      name=f"ocpx-step-{step}")
    pending.thread.start()
    return pending

  def _writes_in_place(self, final: pathlib.Path) -> bool:
    """True in commit-file mode: steps are written at their final path and
    committed by `commit_success.txt` (object stores, or commit-file
    atomicity options / temporary path class)."""
    fmt = self.name_format
    return path_lib.uses_commit_file(final) or step_names._commit_file_mode(  # pylint: disable=protected-access
        getattr(fmt, "atomicity_options", None),
        getattr(fmt, "temporary_path_cls", None))

  def _on_committed(self, step: int, path: pathlib.Path, metrics: Any):
    info = StepInfo(step, path, info_lib.utc_now(), metrics,
                    metrics_known=True)
    with self._lock:
      i = bisect.bisect_left(self._steps, step)
      self._steps.insert(i, step)
      self._infos.insert(i, info)
    self.apply_retention()

  def apply_retention(self) -> None:
    if self.read_only or self.preservation_policy is None:
      return
    infos = self.infos()
    if not infos:
      return
    flags = list(self.preservation_policy.should_preserve(
        infos, context=pp.PreservationContext()))
    if len(flags) != len(infos):
      raise ValueError(
          f"Preservation policy {self.preservation_policy} returned "
          f"{len(flags)} decisions for {len(infos)} checkpoints.")
    if self._keep_newest:
      flags[-1] = True
    for info, keep in zip(infos, flags):
      if not keep:
        self.delete(info.step, wait=False)

  # ----------------------------------------------------------- deletion

  def delete(self, step: int, *, wait: Optional[bool] = None) -> None:
    """Removes committed `step` from the list at once and from disk soon.

    The step is renamed away immediately and its data removed by the
    deleter's worker.  `wait` (default: not `background_delete`) blocks
    until the removal is done.
    """
    if self.read_only:
      return
    with self._lock:
      i = bisect.bisect_left(self._steps, step)
      if i >= len(self._steps) or self._steps[i] != step:
        raise self._step_not_found_error(
            f"Requested deleting a non-existent step: {step} under "
            f"{self.directory}.")
      info = self._infos[i]
      del self._steps[i]
      del self._infos[i]
    if self.is_primary:
      try:
        self._deleter.delete(step, info.path)
      except FileNotFoundError:
        pass  # Deleted by someone else meanwhile.
      if wait if wait is not None else not self._background_delete:
        self._deleter.wait()

  def wait_for_deletions(self, timeout: Optional[float] = None) -> bool:
    return self._deleter.wait(timeout)

  # ----------------------------------------------------------- tmp dirs

  def _own_tmp_dirs(self) -> list[pathlib.Path]:
    out: list[pathlib.Path] = []
    if path_lib.uses_commit_file(self.directory):
      return out  # object stores: steps are written in place, no tmp dirs
    try:
      entries = list(os.scandir(self.directory))
    except FileNotFoundError:
      return out
    for e in entries:
      name = e.name
      k = name.find(step_names.TMP_DIR_SUFFIX)
      if k <= 0 or not e.is_dir(follow_symlinks=False):
        continue
      base = name[:k]
      step = _parse_any(self.name_format, base)
      if step is None:
        continue
      out.append(self.directory / name)
    return out

  def _uncommitted_in_place(self) -> list[pathlib.Path]:
    """Commit-file mode: step directories without their commit marker (what
    interrupted saves left; steps are written in place)."""
    if not self._writes_in_place(self.directory):
      return []
    if path_lib.uses_commit_file(self.directory):
      names = [n for n, committed in step_names._subdirs(self.directory)  # pylint: disable=protected-access
               if not committed]
    else:
      try:
        names = [e.name for e in os.scandir(self.directory)
                 if e.is_dir(follow_symlinks=False)
                 and not os.path.exists(os.path.join(
                     e.path, path_lib.COMMIT_SUCCESS_FILE))]
      except FileNotFoundError:
        return []
    return [self.directory / n for n in names
            if step_names.TMP_DIR_SUFFIX not in n
            and _parse_any(self.name_format, n) is not None]

  def _cleanup_tmp(self) -> None:
    from ocpx._src import recovery  # pylint: disable=g-import-not-at-top
    from ocpx._src import saving  # pylint: disable=g-import-not-at-top
    for p in self._uncommitted_in_place():
      with saving._IN_FLIGHT_LOCK:  # pylint: disable=protected-access
        live = p in saving._IN_FLIGHT  # pylint: disable=protected-access
      if live:
        continue
      try:
        path_lib.rmtree(p)
      except FileNotFoundError:
        pass
      except OSError as e:
        self._record(background_error(e, f"Removing uncommitted {p}"))
    for p in self._own_tmp_dirs():
      final = p.parent / p.name[:p.name.find(step_names.TMP_DIR_SUFFIX)]
      with saving._IN_FLIGHT_LOCK:  # pylint: disable=protected-access
        live = final in saving._IN_FLIGHT  # pylint: disable=protected-access
      if live:
        continue
      # A save in flight in another process (e.g. the trainer, when this is
      # an evaluator) holds a flock on its tmp dir: never touch it.
      try:
        fd = recovery.try_lock(p)
      except OSError:
        continue  # vanished meanwhile
      if fd is None:
        continue
      try:
        path_lib.rmtree(p)
      except FileNotFoundError:
        pass
      except OSError as e:
        self._record(background_error(e, f"Removing leftover {p}"))
      finally:
        recovery.unlock(fd)

  # ----------------------------------------------------------- lifecycle

  def wait(self) -> None:
    """Waits for the in-flight save and raises any background error."""
    self._await_cleanup()
    self.wait_for_save()
    if not self._background_delete:
      self._deleter.wait()
    self.raise_errors()

  def close(self) -> None:
    if self._closed:
      self.raise_errors()
      return
    self._closed = True
    self._await_cleanup()
    self.wait_for_save()
    self._deleter.wait()
    self.raise_errors()


def _parse_any(name_format, name: str) -> Optional[int]:
  formats = getattr(name_format, "read_name_formats", None) or [name_format]
  for f in formats:
    parse = getattr(f, "parse", None)
    if parse is not None:
      s = parse(name)
      if s is not None:
        return s
    else:
      try:
        if f.build_name(step_names.step_from_checkpoint_name(name)) == name:
          return step_names.step_from_checkpoint_name(name)
      except ValueError:
        pass
  return None


# ----------------------------------------------------------- root metadata


def root_metadata_path(directory: pathlib.Path, legacy: bool = False):
  return directory / ROOT_METADATA_DIR / (
      LEGACY_ROOT_METADATA_FILE if legacy else ROOT_METADATA_FILE)


def write_root_metadata(directory: pathlib.Path, custom_metadata,
                        mode: Optional[int] = None) -> None:
  """Writes `metadata/_ROOT_METADATA` unless present (as Orbax: once)."""
  f = root_metadata_path(directory)
  if f.exists():
    return
  try:
    text = json.dumps({"internal_metadata": {},
                       "custom_metadata": dict(custom_metadata)})
  except (TypeError, ValueError) as e:
    raise ValueError(
        f"{f}: root metadata must be JSON-serializable: {e}") from e
  path_lib.mkdir(f.parent, mode, parents=True)
  path_lib.write_file_durably(f, text)


def read_root_metadata(directory: pathlib.Path) -> Optional[dict]:
  """The root metadata dict, from `_ROOT_METADATA` or the legacy file."""
  for legacy in (False, True):
    f = root_metadata_path(directory, legacy)
    if f.is_file():
      try:
        data = json.loads(f.read_text())
      except ValueError as e:
        raise ValueError(f"{f}: not valid JSON: {e}") from e
      if not isinstance(data, dict):
        raise ValueError(f"{f}: expected a JSON object")
      return data
  return None


def now_nsecs() -> int:
  return time.time_ns()
