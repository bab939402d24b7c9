# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The few calls the rest of ocpx makes into the remote layer.

Code that handles paths asks `is_remote(x)` ("is this a gs:// or s3://
location?") and, for remote ones, works on the `RemotePath` that
`as_remote_path` returns (read/write/list/delete small objects, prefix
deletion); `engine` hands `RemotePath` directories to `remote.arrays`.
"""

from __future__ import annotations

from typing import Any

from ocpx._src.remote import rpath
from ocpx._src.remote import urls


def is_remote(path: Any) -> bool:
  """True for gs:// and s3:// strings, etils paths and `RemotePath`s."""
  return isinstance(path, rpath.RemotePath) or urls.is_remote_url(path)


def is_remote_path(path: Any) -> bool:
  """True if `path` is already a `RemotePath`."""
  return isinstance(path, rpath.RemotePath)


def as_remote_path(path: Any) -> rpath.RemotePath:
  """A `RemotePath` for a gs:// or s3:// string or path object, under the
  `ObjectStoreOptions` in force now."""
  if isinstance(path, rpath.RemotePath):
    return path
  return rpath.RemotePath(str(path))
