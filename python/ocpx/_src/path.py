# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Paths: temporary directories, atomic commit and durable file writes."""

from __future__ import annotations

import os
import pathlib
import shutil
import stat
import threading
from typing import Any, Optional, Union, cast

from ocpx import _core
from ocpx._src.remote import hooks as _remote

PathLike = Union[str, os.PathLike]

TMP_SUFFIX = ".orbax-checkpoint-tmp"
COMMIT_SUCCESS_FILE = "commit_success.txt"


def as_path(path: PathLike) -> pathlib.Path:
  if isinstance(path, pathlib.Path):
    return path
  if _remote.is_remote(path):  # gs:// and s3:// (see ocpx/_src/remote)
    # A RemotePath provides the pathlib.Path methods ocpx uses.
    return cast(pathlib.Path, _remote.as_remote_path(path))
  if isinstance(path, (str, os.PathLike)):
    s = os.fspath(path)
    if not s:
      raise ValueError("The checkpoint path must not be empty.")
    if "://" in s and not s.startswith("file://"):
      raise NotImplementedError(
          f"{s}: ocpx reads and writes local (POSIX) paths, gs:// and "
          "s3:// only.")
    if s.startswith("file://"):
      s = s[len("file://"):]
    return pathlib.Path(s)
  raise TypeError(f"Expected a path, got {type(path).__name__}")


def is_tmp(path: pathlib.Path) -> bool:
  return TMP_SUFFIX in path.name and not path.is_symlink()


def uses_commit_file(path) -> bool:
  """True where there is no atomic rename (object stores): a save writes in
  place and `commit_success.txt`, written last, is its commit."""
  return _remote.is_remote_path(path)


def tmp_path_for(final: pathlib.Path, *, staged: bool = False
                 ) -> pathlib.Path:
  """Where a save of `final` writes before its commit.

  Local disk: `<final>.orbax-checkpoint-tmp`, renamed to `final`.  Object
  stores: `final` itself (the commit marker, written last, commits it),
  except with `staged` (an overwrite of an existing checkpoint), where the
  new checkpoint is first completed at the tmp name so that the old one is
  only removed once the new one exists in full (recovery.py).
  """
  if uses_commit_file(final) and not staged:
    return final
  return final.parent / (final.name + TMP_SUFFIX)


class PathAwaitingCreation:
  """A directory that a background thread is creating.

  Handlers may use `.path` at once but must `await await_creation()` (or call
  `wait()`) before touching the filesystem.
  """

  def __init__(self, path: pathlib.Path, created: threading.Event,
               error: list):
    self._path = path
    self._created = created
    self._error = error

  @property
  def path(self) -> pathlib.Path:
    return self._path

  def __truediv__(self, other):
    return PathAwaitingCreation(self._path / other, self._created,
                                self._error)

  def __fspath__(self):
    return os.fspath(self._path)

  def wait(self, timeout: Optional[float] = None) -> pathlib.Path:
    if not self._created.wait(timeout):
      raise TimeoutError(f"{self._path}: directory was not created in time")
    if self._error:
      raise self._error[0]
    return self._path

  async def await_creation(self) -> pathlib.Path:
    from ocpx._src import blocking  # pylint: disable=g-import-not-at-top
    if not self._created.is_set():
      await blocking.run_blocking(self._created.wait)
    return self.wait(0)

  def __repr__(self):
    return f"PathAwaitingCreation({str(self._path)!r})"


def fsync_dir(path: pathlib.Path) -> None:
  if _remote.is_remote_path(path):
    return  # an object is durable once its write returns
  fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
  try:
    os.fsync(fd)
  finally:
    os.close(fd)


def inside_tmp_checkpoint(path: pathlib.Path) -> bool:
  """True if `path` is or lies inside a checkpoint's temporary directory
  (what a save's `fsync_tree` syncs before the commit rename)."""
  # The suffix holds no separator, so it is in some component's name exactly
  # when it is in the whole path (a save asks this for every file it writes).
  return TMP_SUFFIX in str(path)


def prefetch(path) -> None:
  """Starts warming the page cache for the checkpoint at `path`.

  A load reads a checkpoint's small files (step and PyTree metadata, OCDBT
  manifest and B+tree nodes, data file footers) one after another, each
  depending on the last; with a cold cache each is a round trip to the
  disk.  This starts reading them all at once on native I/O threads and
  returns at once, so the load's own reads find them cached.  Advisory:
  errors are ignored, reads are bounded (at most 1024 entries, 64 KiB per
  file), links and special files are not opened.  Object stores: a no-op.

  Example:

    prefetch(step_dir)   # then read step_dir as usual
  """
  if _remote.is_remote_path(path):
    return
  _core.prefetch_tree(os.fspath(path))


def write_file_durably(path: pathlib.Path, data: Union[bytes, str],
                       mode: Optional[int] = None) -> None:
  """Writes `path` atomically (temp file, fsync, rename).

  Inside a checkpoint's temporary directory (`*.orbax-checkpoint-tmp/...`)
  the file is written in place and not synced here: nothing there is
  visible until the directory is renamed, and the save calls `fsync_tree`,
  which syncs every file and directory at once, before that rename.  This
  turns a save's many serial fsyncs into one concurrent batch.

  Example:

    write_file_durably(step_dir / "_CHECKPOINT_METADATA", text)
  """
  if isinstance(data, str):
    data = data.encode("utf-8")
  if _remote.is_remote_path(path):
    path.write_bytes(data)  # object writes are atomic; modes do not apply
    return
  deferred = inside_tmp_checkpoint(path)
  tmp = (path if deferred else
         path.parent / f".{path.name}.tmp{os.getpid()}.{threading.get_ident()}")
  fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
  try:
    try:
      view = memoryview(data)
      while view:
        n = os.write(fd, view)
        view = view[n:]
      if not deferred:
        os.fsync(fd)
    finally:
      os.close(fd)
    if mode is not None:
      os.chmod(tmp, mode)
    if not deferred:
      os.replace(tmp, path)
  except OSError as e:
    try:
      os.unlink(tmp)
    except OSError:
      pass
    if e.filename is None:  # os.write/fsync name no file: name it
      raise OSError(e.errno, f"{e.strerror} (writing {path})",
                    str(path)) from e
    raise


def mkdir(path: pathlib.Path, mode: Optional[int] = None,
          parents: bool = False) -> None:
  if _remote.is_remote_path(path):
    return  # no directories on object stores
  path.mkdir(parents=parents, exist_ok=True)
  if mode is not None:
    os.chmod(path, mode)


def rmtree(path: pathlib.Path) -> None:
  if _remote.is_remote_path(path):
    cast(Any, path).rmtree()  # prefix deletion, with retries
    return
  if path.is_symlink() or path.is_file():
    path.unlink()
  elif path.exists():
    shutil.rmtree(path)


def _fsync_path(path: str) -> None:
  try:
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
  except PermissionError:
    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)  # e.g. a mode-0o200 file
  try:
    os.fsync(fd)
  finally:
    os.close(fd)


def fsync_tree(root: pathlib.Path) -> None:
  """Makes every file and directory below `root` (and `root`) durable.

  The commit step of a save: it makes the files `write_file_durably` wrote
  without syncing (inside the temporary directory) durable, and every
  directory entry with them, before the directory is renamed into place.
  On a local file system (ext4, XFS, btrfs) with little dirty data in the
  system, one `syncfs` does it: the data and one journal commit.  Otherwise
  the fsyncs are issued together from a few threads (each releases the
  GIL), so the filesystem can commit them in one journal transaction
  instead of one after another; files the C++ writers already synced cost
  next to nothing.
  """
  if _remote.is_remote_path(root):
    return
  if os.path.isdir(root):
    # One native call: the walk and the fsyncs, from a pool of I/O threads.
    _core.sync_tree(os.fspath(root))
    return
  paths = []
  for dirpath, _, filenames in os.walk(root):
    paths.append(dirpath)
    for f in filenames:
      p = os.path.join(dirpath, f)
      try:
        if stat.S_ISREG(os.lstat(p).st_mode):  # not symlinks, FIFOs, ...
          paths.append(p)
      except FileNotFoundError:
        pass
  if len(paths) <= 1:
    for p in paths:
      _fsync_path(p)
    return
  futures = [_fsync_executor().submit(_fsync_path, p) for p in paths]
  for f in futures:
    f.result()


_FSYNC_THREADS = 16
_fsync_pool = None
_fsync_pool_lock = threading.Lock()


def _fsync_executor():
  """A lazily started pool shared by every save's `fsync_tree`."""
  global _fsync_pool
  with _fsync_pool_lock:
    if _fsync_pool is None:
      import concurrent.futures  # pylint: disable=g-import-not-at-top
      _fsync_pool = concurrent.futures.ThreadPoolExecutor(
          _FSYNC_THREADS, thread_name_prefix="ocpx-fsync")
    return _fsync_pool
