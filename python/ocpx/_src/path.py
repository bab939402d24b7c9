# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Paths: temporary directories, atomic commit and durable file writes."""

from __future__ import annotations

import os
import pathlib
import shutil
import threading
from typing import Optional, Union

from ocpx._src.remote import hooks as _remote

PathLike = Union[str, os.PathLike]

TMP_SUFFIX = ".orbax-checkpoint-tmp"
COMMIT_SUCCESS_FILE = "commit_success.txt"


def as_path(path: PathLike) -> pathlib.Path:
  if isinstance(path, pathlib.Path):
    return path
  if _remote.is_remote(path):  # gs:// and s3:// (see ocpx/_src/remote)
    return _remote.as_remote_path(path)
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


def tmp_path_for(final: pathlib.Path) -> pathlib.Path:
  if uses_commit_file(final):
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
    import asyncio  # pylint: disable=g-import-not-at-top
    if not self._created.is_set():
      await asyncio.get_running_loop().run_in_executor(None, self._created.wait)
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


def write_file_durably(path: pathlib.Path, data: Union[bytes, str],
                       mode: Optional[int] = None) -> None:
  """Writes `path` atomically (temp file, fsync, rename)."""
  if isinstance(data, str):
    data = data.encode("utf-8")
  if _remote.is_remote_path(path):
    path.write_bytes(data)  # object writes are atomic; modes do not apply
    return
  tmp = path.parent / f".{path.name}.tmp{os.getpid()}.{threading.get_ident()}"
  fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
  try:
    try:
      view = memoryview(data)
      while view:
        n = os.write(fd, view)
        view = view[n:]
      os.fsync(fd)
    finally:
      os.close(fd)
    if mode is not None:
      os.chmod(tmp, mode)
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
    path.rmtree()  # prefix deletion, with retries
    return
  if path.is_symlink() or path.is_file():
    path.unlink()
  elif path.exists():
    shutil.rmtree(path)


def fsync_tree(root: pathlib.Path) -> None:
  """fsyncs every directory below `root`.

  The files below it are already durable: Python writes them with
  `write_file_durably`, the C++ array writers fsync each chunk file
  (`FileChunkStore`) or each OCDBT data file and manifest before returning.
  """
  if _remote.is_remote_path(root):
    return
  for dirpath, _, _ in os.walk(root):
    fsync_dir(pathlib.Path(dirpath))
