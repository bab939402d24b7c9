# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The few calls the rest of ocpx makes into the remote layer.

Code that handles paths asks `is_remote(x)` ("is this a gs:// or s3://
location?") and, for remote ones, works on the `RemotePath` that
`as_remote_path` returns (read/write/list/delete small objects, prefix
deletion); `engine` hands `RemotePath` directories to `remote.arrays`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from ocpx._src.remote import urls

if TYPE_CHECKING:
  from ocpx._src.remote import rpath

# The rest of the remote layer (TensorStore specs, the store client,
# RemotePath) is imported on first use of a gs:// or s3:// location: a
# process working on local disks never loads it.
_RPATH = "ocpx._src.remote.rpath"


def is_remote(path: Any) -> bool:
  """True for gs:// and s3:// strings, etils paths and `RemotePath`s."""
  return is_remote_path(path) or urls.is_remote_url(path)


def is_remote_path(path: Any) -> bool:
  """True if `path` is already a `RemotePath` (none can exist before the
  module defining it is imported)."""
  module = sys.modules.get(_RPATH)
  return module is not None and isinstance(path, module.RemotePath)


def as_remote_path(path: Any) -> "rpath.RemotePath":
  """A `RemotePath` for a gs:// or s3:// string or path object, under the
  `ObjectStoreOptions` in force now."""
  from ocpx._src.remote import rpath as rpath_lib  # pylint: disable=g-import-not-at-top
  if isinstance(path, rpath_lib.RemotePath):
    return path
  return rpath_lib.RemotePath(str(path))
