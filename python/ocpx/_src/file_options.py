# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""What `FileOptions.path_class` and `temporary_path_class` do in ocpx.

`path_class` turns the user's path into a Path object, as in Orbax (which
calls `ctx.file_options.path_class(path)` on every path it is given): its
constructor runs, and the paths ocpx reports back (e.g.
`CheckpointMetadata.path`) are of that class.  ocpx reads and writes through
the local filesystem, so the object must name a local path (`os.fspath`).

`temporary_path_class` chooses how a save is made atomic.  ocpx writes into
`<path>.orbax-checkpoint-tmp` and renames it, which is what Orbax's
`AtomicRenameTemporaryPath` (the default) does; other strategies (e.g. the
commit-file one for object stores) are refused with a clear error instead of
being silently replaced.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any, cast

from ocpx._src.remote import hooks as _remote

_RENAME_CLASS_NAMES = ("AtomicRenameTemporaryPath",)


def user_path(ctx, path) -> Any:
  """`path` as an instance of `ctx.file_options.path_class`.

  Example:
    >>> with ocp.Context(file_options=FileOptions(path_class=MyPath)):
    ...   ocp.metadata("/ckpt").path   # a MyPath
  """
  cls = ctx.file_options.path_class or pathlib.Path
  if isinstance(path, cls):
    return path
  if _remote.is_remote(path) and issubclass(cls, pathlib.PurePath):
    return _remote.as_remote_path(path)  # pathlib would fold "gs://" to "gs:/"
  try:
    return cls(path)
  except Exception as e:  # pylint: disable=broad-except
    raise ValueError(
        f"FileOptions.path_class={cls!r} cannot represent the path "
        f"{path!r}: {e}") from e


def local_path(ctx, path) -> pathlib.Path:
  """The local filesystem path that `path` (made by path_class) names, or
  for gs:// and s3:// locations a `RemotePath` (see ocpx/_src/remote)."""
  if _remote.is_remote(path):
    user_path(ctx, path)  # path_class must accept it, as in Orbax
    # A RemotePath provides the pathlib.Path methods ocpx uses.
    return cast(pathlib.Path, _remote.as_remote_path(path))
  p = user_path(ctx, path)
  try:
    text = os.fspath(p)
  except TypeError as e:
    raise NotImplementedError(
        f"FileOptions.path_class={type(p).__name__}: the path {p!r} is not "
        "a local filesystem path (no os.fspath); ocpx reads and writes local "
        "paths only.") from e
  if "://" in str(text):
    raise NotImplementedError(
        f"FileOptions.path_class={type(p).__name__}: {text} is not a local "
        "path; ocpx reads and writes local paths only.")
  return pathlib.Path(text)


def check_temporary_path_class(ctx) -> None:
  """Raises NotImplementedError for a temporary-path strategy ocpx lacks."""
  cls = ctx.file_options.temporary_path_class
  if cls is None:
    return
  if getattr(cls, "__name__", None) not in _RENAME_CLASS_NAMES:
    raise NotImplementedError(
        f"FileOptions.temporary_path_class={cls!r}: ocpx commits a save by "
        "atomically renaming its temporary directory (Orbax's "
        "AtomicRenameTemporaryPath); other strategies are not supported.")
