# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Evaluator helpers: wait for and iterate over new checkpoint steps.

A step handed to the caller is protected by a snapshot under
`<dir>/_SNAPSHOTS/<name>` (as in Orbax), so the trainer's retention cannot
delete it mid-read.  ocpx builds the snapshot from hard links (no data is
copied) and falls back to a copy across filesystems or with
`set_immutable=True`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pathlib
import shutil
import stat
import time
from typing import Any, Callable, Iterator, Optional, cast

from ocpx._src import multihost
from ocpx._src import path as path_lib
from ocpx._src.checkpoint_managers import step_names

_SNAPSHOTS = "_SNAPSHOTS"


def get_snapshot_dir_from_step_dir(step_dir, snapshot_dir=None):
  step_dir = path_lib.as_path(step_dir)
  if snapshot_dir is None:
    snapshot_dir = step_dir.parent / _SNAPSHOTS
  return path_lib.as_path(snapshot_dir) / step_dir.name


def _link_tree(src: pathlib.Path, dst: pathlib.Path, copy: bool) -> None:
  for dirpath, _, files in os.walk(src):
    rel = pathlib.Path(dirpath).relative_to(src)
    (dst / rel).mkdir(parents=True, exist_ok=True)
    for f in files:
      s, d = pathlib.Path(dirpath) / f, dst / rel / f
      if copy:
        shutil.copy2(s, d)
      else:
        try:
          os.link(s, d)
        except OSError:
          shutil.copy2(s, d)


def _snapshot_remote(step_dir, snapshot_path, ignore_errors: bool) -> bool:
  """Object stores have no links or renames: the snapshot is a copy of the
  step, its commit marker copied last (an interrupted copy never counts)."""
  marker = path_lib.COMMIT_SUCCESS_FILE
  if (snapshot_path / marker).is_file():
    return True
  src, dst = cast(Any, step_dir), cast(Any, snapshot_path)
  src.store.copy_prefix(src.key + "/", dst.key + "/", last=marker)
  if (snapshot_path / marker).is_file():
    return True
  path_lib.rmtree(snapshot_path)  # the step was deleted while copied
  if ignore_errors:
    logging.warning("Step %s vanished while being snapshotted.", step_dir)
    return False
  raise FileNotFoundError(f"{step_dir} vanished while being snapshotted")


def _snapshot(step_dir: pathlib.Path, snapshot_path: pathlib.Path,
              set_immutable: Optional[bool], ignore_errors: bool) -> bool:
  if path_lib.uses_commit_file(step_dir):
    return _snapshot_remote(step_dir, snapshot_path, ignore_errors)
  if snapshot_path.exists():
    return True
  tmp = snapshot_path.parent / (snapshot_path.name + ".ocpx-snapshot-tmp")
  try:
    path_lib.rmtree(tmp)
    _link_tree(step_dir, tmp, copy=bool(set_immutable))
    if set_immutable:
      for dirpath, _, files in os.walk(tmp):
        for f in files:
          p = os.path.join(dirpath, f)
          os.chmod(p, os.stat(p).st_mode & ~(stat.S_IWUSR | stat.S_IWGRP
                                              | stat.S_IWOTH))
    os.rename(tmp, snapshot_path)
    return True
  except FileNotFoundError:
    path_lib.rmtree(tmp)
    if ignore_errors:
      logging.warning("Step %s vanished while being snapshotted.", step_dir)
      return False
    raise


def _release(snapshot_path: pathlib.Path) -> None:
  if path_lib.uses_commit_file(snapshot_path):
    path_lib.rmtree(snapshot_path)  # no permissions on objects
    return
  for dirpath, dirs, files in os.walk(snapshot_path):
    for n in dirs + files:
      p = os.path.join(dirpath, n)
      try:
        os.chmod(p, os.stat(p).st_mode | stat.S_IWUSR)
      except OSError:
        pass
  path_lib.rmtree(snapshot_path)


def _latest(checkpoint_dir, name_format) -> Optional[step_names.Metadata]:
  return step_names.latest_step_metadata(checkpoint_dir, name_format)


def _wait(checkpoint_dir, *, name_format, until_step, seconds_to_sleep,
          timeout, timeout_fn, snapshot_dir, set_immutable,
          ignore_snapshot_errors):
  stop = time.time() + timeout if timeout is not None else None

  def sleep_or_stop() -> bool:
    if stop is not None and time.time() + seconds_to_sleep > stop:
      if timeout_fn is None or timeout_fn():
        return True
    time.sleep(seconds_to_sleep)
    return False

  result = -1
  if multihost.process_index() == 0:
    while True:
      latest = _latest(checkpoint_dir, name_format)
      if latest is not None and (until_step is None
                                 or latest.step >= until_step):
        snap = get_snapshot_dir_from_step_dir(latest.path, snapshot_dir)
        path_lib.mkdir(snap.parent, parents=True)
        if _snapshot(latest.path, snap, set_immutable,
                     bool(ignore_snapshot_errors)):
          result = latest.step
          break
        continue
      if sleep_or_stop():
        break
  if multihost.process_count() > 1:
    sync = multihost.Sync("wait_for_new_checkpoint", timeout_secs=3600,
                          active_processes=None, key_prefix=None)
    result = int(sync.broadcast("step", str(result) if sync.process == 0
                                else None, 0))
  return result


def _format(step_prefix, step_format_fixed_length, step_name_format):
  return step_name_format or step_names.standard_name_format(
      step_prefix=step_prefix,
      step_format_fixed_length=step_format_fixed_length)


@contextlib.contextmanager
def wait_for_new_checkpoint(
    checkpoint_dir, *, until_step: Optional[int] = None,
    seconds_to_sleep: int = 1, timeout: Optional[int] = None,
    timeout_fn: Optional[Callable[[], bool]] = None,
    step_prefix: Optional[str] = None,
    step_format_fixed_length: Optional[int] = None,
    step_name_format=None, snapshot_dir=None,
    set_immutable: bool | None = None,
    ignore_snapshot_errors: bool | None = True):
  """Waits for a committed step (>= `until_step`); yields it, or -1.

  The step stays protected by a snapshot until the `with` block ends.

  Example:
    >>> with wait_for_new_checkpoint(path, until_step=100, timeout=600) as s:
    ...   if s >= 0:
    ...     evaluate(mngr.restore(s))
  """
  checkpoint_dir = path_lib.as_path(checkpoint_dir)
  fmt = _format(step_prefix, step_format_fixed_length, step_name_format)
  step = _wait(checkpoint_dir, name_format=fmt, until_step=until_step,
               seconds_to_sleep=seconds_to_sleep, timeout=timeout,
               timeout_fn=timeout_fn, snapshot_dir=snapshot_dir,
               set_immutable=set_immutable,
               ignore_snapshot_errors=ignore_snapshot_errors)
  try:
    yield step
  finally:
    if step >= 0 and multihost.process_index() == 0:
      snap = get_snapshot_dir_from_step_dir(
          checkpoint_dir / fmt.build_name(step), snapshot_dir)
      try:
        _release(snap)
      except OSError:
        if not ignore_snapshot_errors:
          raise


def checkpoints_iterator(
    checkpoint_dir, *, min_interval_secs: int = 0,
    seconds_to_sleep: int = 1, timeout: Optional[int] = None,
    timeout_fn: Optional[Callable[[], bool]] = None,
    step_prefix: Optional[str] = None,
    step_format_fixed_length: Optional[int] = None,
    step_name_format=None, snapshot_dir=None,
    set_immutable: bool | None = None,
    ignore_snapshot_errors: bool | None = True) -> Iterator[int]:
  """Yields new committed steps as they appear (each protected while used).

  Example:
    >>> for step in checkpoints_iterator(path, timeout=3600):
    ...   evaluate(mngr.restore(step))
  """
  last = None
  while True:
    until = None if last is None else last + 1
    with wait_for_new_checkpoint(
        checkpoint_dir, until_step=until, seconds_to_sleep=seconds_to_sleep,
        timeout=timeout, timeout_fn=timeout_fn, step_prefix=step_prefix,
        step_format_fixed_length=step_format_fixed_length,
        step_name_format=step_name_format, snapshot_dir=snapshot_dir,
        set_immutable=set_immutable,
        ignore_snapshot_errors=ignore_snapshot_errors) as step:
      if step == -1:
        return
      start = time.time()
      last = step
      yield step
    wait = min_interval_secs - (time.time() - start)
    if wait > 0:
      time.sleep(wait)
