# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Crash-safe commit of a finished save, and recovery from interrupted ones.

A save writes `<path>.orbax-checkpoint-tmp` and commits it by renaming it to
`<path>`.  With `overwrite=True` an old checkpoint is already at `<path>`:

* Where the filesystem supports it (Linux `renameat2(RENAME_EXCHANGE)`:
  ext4, xfs, btrfs, tmpfs, ...), the two directories are swapped in one
  atomic step, so `<path>` always holds either the old or the new checkpoint;
  the old one, now at the tmp name, is then deleted.
* Elsewhere the old checkpoint is first renamed to `.<name>.ocpx-old-<id>`,
  then the tmp directory to `<path>`, then the old one is deleted.  A kill
  between the two renames leaves `<path>` missing; `recover_path` (run by the
  next save or load of `<path>`, and by `recover_directory` for a whole
  directory of checkpoints) finishes that commit from the complete tmp
  directory, or else restores the old checkpoint.

A save in progress holds an exclusive `flock` on its tmp directory, so
recovery never touches a live save's directories, in this process or
another.  Everything recovery finds unlocked is a leftover of a dead save:
it is completed, rolled back or removed.

Example (what a checkpoint manager does on start-up):

  from ocpx._src import recovery
  recovery.recover_directory("/ckpts")  # fixes every interrupted overwrite
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import logging
import os
import pathlib
import shutil
import threading
import uuid
from typing import Any, Iterator, Optional, cast

from ocpx._src import path as path_lib

OLD_MARKER = ".ocpx-old-"
_COMMIT_FILE = path_lib.COMMIT_SUCCESS_FILE


def old_path_for(final: pathlib.Path) -> pathlib.Path:
  """A fresh name for the old checkpoint set aside during an overwrite."""
  return final.parent / f".{final.name}{OLD_MARKER}{uuid.uuid4().hex[:8]}"


def _old_paths(final: pathlib.Path) -> list[pathlib.Path]:
  """The old copies of `final` set aside by overwrites, sorted by name.

  One scan of the parent directory, comparing names (a pathlib glob also
  compiles a pattern per call; this runs twice per save)."""
  prefix = f".{final.name}{OLD_MARKER}"
  try:
    with os.scandir(final.parent) as it:
      names = [e.name for e in it if e.name.startswith(prefix)]
  except OSError:
    return []
  return [final.parent / n for n in sorted(names)]


# ---------------------------------------------------------------------------
# Locks


# (st_dev, st_ino) of the directories this process holds a `try_lock` on,
# by fd.  A flock conflicts between two open files even in one process, so
# `_serialized` must not wait for a lock this process holds itself (a save
# whose handler saves or recovers a path inside its own tmp directory).
_HELD: dict[int, tuple[int, int]] = {}
_HELD_LOCK = threading.Lock()


def try_lock(path: pathlib.Path) -> Optional[int]:
  """An fd holding an exclusive flock on the directory `path`, or None if
  another open file holds it (a save in progress).  Raises OSError if `path`
  cannot be opened."""
  fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
  try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
  except BlockingIOError:
    os.close(fd)
    return None
  except OSError:
    # No flock support on this filesystem: proceed unlocked.
    return fd
  st = os.fstat(fd)
  with _HELD_LOCK:
    _HELD[fd] = (st.st_dev, st.st_ino)
  return fd


def unlock(fd: Optional[int]) -> None:
  if fd is not None:
    with _HELD_LOCK:
      _HELD.pop(fd, None)
    try:
      os.close(fd)
    except OSError:
      pass


def _held_here(fd: int) -> bool:
  st = os.fstat(fd)
  with _HELD_LOCK:
    return (st.st_dev, st.st_ino) in _HELD.values()


@contextlib.contextmanager
def _locked_if_exists(*paths: pathlib.Path) -> Iterator[bool]:
  """Locks each existing directory of `paths`; yields False if one is busy."""
  fds = []
  try:
    for p in paths:
      try:
        fd = try_lock(p)
      except OSError:
        continue  # absent (or not a directory): nothing to protect
      if fd is None:
        yield False
        return
      fds.append(fd)
    yield True
  finally:
    for fd in fds:
      unlock(fd)


@contextlib.contextmanager
def _serialized(directory: pathlib.Path) -> Iterator[None]:
  """Serializes recoveries in `directory` across processes (best effort)."""
  try:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
  except OSError:
    yield
    return
  try:
    if not _held_here(fd):  # else this process's own save holds it
      try:
        fcntl.flock(fd, fcntl.LOCK_EX)
      except OSError:
        pass
    yield
  finally:
    os.close(fd)


def create_locked_tmp(tmp: pathlib.Path, final: pathlib.Path,
                      mode: Optional[int], *,
                      recovered: bool = False) -> Optional[int]:
  """Creates the tmp directory of a save of `final` and locks it.

  Leftovers of dead saves of `final` are recovered first, unless the caller
  has just run `recover_path(final)` itself (`recovered`).  Returns the lock
  fd (close it with `unlock` when the save ends).  Raises ValueError if
  another save of `final` (in any process) is in progress.
  """
  if path_lib.uses_commit_file(final):
    # Object store: the save writes in place (tmp is final) or, for an
    # overwrite, at the staging prefix; remove what an interrupted save left
    # there (the caller ran `recover_path` first, which finished a complete
    # staged overwrite).
    path_lib.rmtree(tmp)
    return None
  if not recovered:
    recover_path(final)
  with _serialized(final.parent):
    if tmp.exists() or tmp.is_symlink():
      raise ValueError(
          f"A save to {final} is in progress in another process (its "
          f"temporary directory {tmp} is locked); wait for it to finish.")
    path_lib.mkdir(tmp, mode)
    try:
      fd = try_lock(tmp)
    except OSError:
      fd = None
    return fd


# ---------------------------------------------------------------------------
# Commit


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_libc: Any = None


def _exchange(a: pathlib.Path, b: pathlib.Path) -> bool:
  """Atomically swaps directories `a` and `b`; False if unsupported here."""
  global _libc
  if _libc is None:
    try:
      _libc = ctypes.CDLL(None, use_errno=True)
      _libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                                  ctypes.c_char_p, ctypes.c_uint]
    except (OSError, AttributeError):
      _libc = False
  if not _libc:
    return False
  r = _libc.renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b),
                      _RENAME_EXCHANGE)
  if r == 0:
    return True
  err = ctypes.get_errno()
  if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
    return False
  raise OSError(err, f"cannot exchange {a} and {b}: {os.strerror(err)}",
                str(b))


def commit(tmp: pathlib.Path, final: pathlib.Path, overwrite: bool) -> None:
  """Moves the finished save `tmp` to `final`, replacing an old `final` only
  if `overwrite`; a kill at any point leaves `final` old or new (or
  recoverable by `recover_path`), never lost."""
  if path_lib.uses_commit_file(final):
    if tmp != final:  # a staged overwrite
      _finish_staged_overwrite(tmp, final)
    return  # else commit_success.txt, written last, committed it
  if not (final.exists() or final.is_symlink()):
    os.rename(tmp, final)
    path_lib.fsync_dir(final.parent)
    return
  if not overwrite:
    raise FileExistsError(
        errno.EEXIST,
        f"Destination {final} appeared during the save; not overwriting it",
        str(final))
  if not final.is_symlink() and final.is_dir() and _exchange(tmp, final):
    # `final` is new; the old checkpoint is at `tmp` (not a valid save
    # result: recovery deletes it if we die here).
    path_lib.fsync_dir(final.parent)
    remove_tree(tmp)
    return
  old = old_path_for(final)
  os.rename(final, old)
  os.rename(tmp, final)
  path_lib.fsync_dir(final.parent)
  remove_tree(old)


def remove_tree(path: pathlib.Path) -> None:
  """Removes `path` (a tree, file or symlink); tolerates concurrent removal."""
  try:
    if path.is_symlink() or path.is_file():
      path.unlink()
      return
  except FileNotFoundError:
    return

  def onerror(fn, p, exc_info):
    if isinstance(exc_info[1], FileNotFoundError):
      return
    raise exc_info[1]

  if path.exists():
    shutil.rmtree(path, onerror=onerror)


def _finish_staged_overwrite(staged, final) -> None:
  """Object stores: replaces `final` with the complete checkpoint at
  `staged`.  The old checkpoint's marker goes first (it stops loading and
  listing), then its objects; the new objects are copied with their marker
  last, then the staging prefix is removed.  A kill anywhere leaves either
  the old checkpoint committed at `final` or the complete new one at
  `staged`, which the next save of `final` or manager start-up finishes
  (`recover_path`)."""
  marker = final / _COMMIT_FILE
  if marker.is_file() and _same_commit(staged, final):
    path_lib.rmtree(staged)  # the copy had finished before a crash
    return
  marker.unlink(missing_ok=True)
  path_lib.rmtree(final)
  src, dst = cast(Any, staged), cast(Any, final)
  src.store.copy_prefix(src.key + "/", dst.key + "/", last=_COMMIT_FILE)
  if not marker.is_file():
    raise OSError(errno.EIO, f"{final}: the staged checkpoint {staged} "
                  "lost its commit marker while it was copied into place; "
                  "is another process saving to the same path?", str(final))
  path_lib.rmtree(staged)


def _same_commit(a, b) -> bool:
  """True if `a` and `b` hold the same commit (same `_CHECKPOINT_METADATA`
  bytes, which carry the commit timestamp)."""
  try:
    x = (a / "_CHECKPOINT_METADATA").read_bytes()
    y = (b / "_CHECKPOINT_METADATA").read_bytes()
  except FileNotFoundError:
    return False
  return x == y


def _recover_remote(final) -> Optional[str]:
  """Object stores: finishes an overwrite whose staged copy is complete (it
  has its commit marker).  An incomplete staging prefix may belong to a save
  in progress (no locks on object stores) and is left to that save, or to
  the next save of `final`, which replaces it."""
  staged = path_lib.tmp_path_for(final, staged=True)
  if not _is_complete(staged):
    return None
  _finish_staged_overwrite(staged, final)
  logging.warning("%s: an interrupted overwrite was completed", final)
  return "completed"


# ---------------------------------------------------------------------------
# Recovery


def _is_complete(directory: pathlib.Path) -> bool:
  return (directory / _COMMIT_FILE).is_file()


def recover_path(final, *, remove_stale_tmp: bool = True,
                 writer: bool = False) -> Optional[str]:
  """Finishes or rolls back an interrupted save or overwrite of `final`.

  Returns what it did ("completed", "restored", "cleaned") or None if there
  was nothing to do (or a save of `final` is in progress right now).

  * `final` missing, an old copy set aside and a complete tmp directory: the
    overwrite is completed (the tmp directory becomes `final`).
  * `final` missing, an old copy and no complete tmp: the old copy is put
    back.
  * Otherwise leftovers (old copies, an abandoned tmp directory) are removed.
  * Object stores (no renames, no locks): only a `writer` (the next save of
    `final`) finishes an overwrite whose staged copy is complete; readers
    leave it alone, since the save that staged it may be finishing it now.

  Example:

    recovery.recover_path("/ckpts/step_100")
  """
  final = path_lib.as_path(final).absolute()
  if path_lib.uses_commit_file(final):
    return _recover_remote(final) if writer else None
  tmp = path_lib.tmp_path_for(final)
  olds = _old_paths(final)
  if not olds and (not remove_stale_tmp or
                   not (tmp.exists() or tmp.is_symlink())):
    return None
  with _serialized(final.parent), _locked_if_exists(tmp, final) as free:
    if not free:
      return None
    olds = _old_paths(final)
    action = None
    if not (final.exists() or final.is_symlink()):
      if olds and tmp.is_dir() and _is_complete(tmp):
        os.rename(tmp, final)
        action = "completed"
      elif olds:
        complete = [o for o in olds if _is_complete(o)] or olds
        os.rename(complete[-1], final)
        action = "restored"
      if action:
        path_lib.fsync_dir(final.parent)
        logging.warning("%s: an interrupted overwrite was %s", final, action)
    for o in _old_paths(final):
      remove_tree(o)
      action = action or "cleaned"
    if remove_stale_tmp and (tmp.exists() or tmp.is_symlink()):
      remove_tree(tmp)
      action = action or "cleaned"
    return action


def recover_directory(directory, *,
                      remove_stale_tmp: bool = True) -> dict[str, str]:
  """Runs `recover_path` for every checkpoint in `directory` that has
  leftovers of an interrupted save (tmp directories, old copies set aside by
  an overwrite).  Returns {checkpoint name: action}.

  A checkpoint manager calls this on start-up.

  Example:

    recovery.recover_directory("/ckpts")  # {"step_100": "completed"}
  """
  directory = path_lib.as_path(directory).absolute()
  if path_lib.uses_commit_file(directory):
    # Object stores: staged overwrites that were complete (one listing).
    done = {}
    for p in directory.iterdir():
      if p.name.endswith(path_lib.TMP_SUFFIX) and _is_complete(p):
        name = p.name[:-len(path_lib.TMP_SUFFIX)]
        if name and _recover_remote(directory / name):
          done[name] = "completed"
    return done
  try:
    names = os.listdir(directory)
  except (FileNotFoundError, NotADirectoryError):
    return {}
  finals = set()
  for n in names:
    if n.startswith(".") and OLD_MARKER in n:
      finals.add(n[1:n.rindex(OLD_MARKER)])
    elif remove_stale_tmp and n.endswith(path_lib.TMP_SUFFIX):
      finals.add(n[:-len(path_lib.TMP_SUFFIX)])
  done = {}
  for name in sorted(finals):
    if not name:
      continue
    action = recover_path(directory / name, remove_stale_tmp=remove_stale_tmp)
    if action:
      done[name] = action
  return done
