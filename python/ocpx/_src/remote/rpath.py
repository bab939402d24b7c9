# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""`RemotePath`: a pathlib-like view of an object-store prefix.

Object stores have no directories: a "directory" exists when some object's
key starts with `<key>/`, and creating one is a no-op.  `RemotePath`
implements the part of the `pathlib.Path` interface that ocpx's layout,
metadata and handler code uses, so that code runs unchanged on gs:// and
s3:// paths; every call is one request (listings are one paginated
listing).  It has no `__fspath__` on purpose: nothing may open it as a
local file.

Example:
  >>> p = RemotePath("s3://bucket/run/1")
  >>> (p / "state" / "_METADATA").name
  '_METADATA'
  >>> str(p.parent)
  's3://bucket/run'
"""

from __future__ import annotations

import fnmatch
from typing import Iterator, Optional, Union

from ocpx._src.remote import config
from ocpx._src.remote import store as store_lib
from ocpx._src.remote import urls


class RemotePath:
  """A gs:// or s3:// location, with the options it was created under."""

  _url: urls.Url
  _resolved: config.Resolved

  def __init__(self, url: Union[str, "RemotePath", urls.Url],
               resolved: Optional[config.Resolved] = None):
    if isinstance(url, RemotePath):
      self._url = url._url
      resolved = resolved or url._resolved
    elif isinstance(url, urls.Url):
      self._url = url
    else:
      self._url = urls.parse(str(url))
    self._resolved = resolved or config.resolve()

  # -- pure path operations ------------------------------------------------
  @property
  def url(self) -> urls.Url:
    return self._url

  @property
  def scheme(self) -> str:
    return self._url.scheme

  @property
  def bucket(self) -> str:
    return self._url.bucket

  @property
  def key(self) -> str:
    return self._url.key

  @property
  def resolved(self) -> config.Resolved:
    return self._resolved

  def _with(self, url: urls.Url) -> "RemotePath":
    return RemotePath(url, self._resolved)

  def __truediv__(self, other) -> "RemotePath":
    other = str(other)
    parts = [p for p in other.split("/") if p]
    if other.startswith("/") or any(p in (".", "..") for p in parts):
      raise ValueError(f"{self}: cannot join {other!r}")
    url = self._url
    for p in parts:
      url = url.child(p)
    return self._with(url)

  joinpath = __truediv__

  @property
  def name(self) -> str:
    return self._url.key.rsplit("/", 1)[-1] if self._url.key else ""

  @property
  def parent(self) -> "RemotePath":
    key = self._url.key.rsplit("/", 1)[0] if "/" in self._url.key else ""
    return self._with(urls.Url(self.scheme, self.bucket, key))

  @property
  def parents(self) -> list["RemotePath"]:
    out, p = [], self
    while p.key:
      p = p.parent
      out.append(p)
    return out

  @property
  def parts(self) -> tuple:
    return (f"{self.scheme}://{self.bucket}",) + tuple(
        p for p in self.key.split("/") if p)

  def with_name(self, name: str) -> "RemotePath":
    return self.parent / name

  def absolute(self) -> "RemotePath":
    return self

  def resolve(self, strict: bool = False) -> "RemotePath":
    del strict
    return self

  def expanduser(self) -> "RemotePath":
    return self

  def as_posix(self) -> str:
    return str(self)

  def is_absolute(self) -> bool:
    return True

  def __str__(self) -> str:
    return str(self._url)

  def __repr__(self) -> str:
    return f"RemotePath({str(self)!r})"

  def __eq__(self, other) -> bool:
    return isinstance(other, RemotePath) and self._url == other._url

  def __hash__(self) -> int:
    return hash(self._url)

  def __lt__(self, other) -> bool:
    return str(self) < str(other)

  # -- I/O -------------------------------------------------------------------
  @property
  def store(self) -> store_lib.Store:
    return store_lib.store_for(self._url, self._resolved)

  def _dir_prefix(self) -> str:
    return self.key + "/" if self.key else ""

  def is_file(self) -> bool:
    return bool(self.key) and self.store.exists(self.key)

  def is_dir(self) -> bool:
    """True if some object lies below this prefix."""
    return bool(self.store.list(self._dir_prefix())) if self.key else True

  def exists(self) -> bool:
    return self.is_file() or self.is_dir()

  def is_symlink(self) -> bool:
    return False

  def iterdir(self) -> Iterator["RemotePath"]:
    """The immediate children (objects and sub-prefixes), from one listing."""
    prefix = self._dir_prefix()
    seen: list[str] = []
    for k in self.store.list(prefix):
      head = k[len(prefix):].split("/", 1)[0]
      if head and (not seen or seen[-1] != head):
        seen.append(head)
    return iter([self / h for h in dict.fromkeys(seen)])

  def glob(self, pattern: str) -> Iterator["RemotePath"]:
    if "/" in pattern or "**" in pattern:
      raise NotImplementedError(
          f"{self}: only single-component glob patterns are supported")
    return iter([c for c in self.iterdir() if fnmatch.fnmatchcase(
        c.name, pattern)])

  def read_bytes(self) -> bytes:
    data = self.store.read(self.key)
    if data is None:
      raise FileNotFoundError(f"{self}: no such object")
    return data

  def read_text(self, encoding: str = "utf-8") -> str:
    return self.read_bytes().decode(encoding)

  def write_bytes(self, data: bytes) -> int:
    self.store.write(self.key, bytes(data))
    return len(data)

  def write_text(self, text: str, encoding: str = "utf-8") -> int:
    return self.write_bytes(text.encode(encoding))

  def mkdir(self, mode: int = 0o777, parents: bool = False,
            exist_ok: bool = False) -> None:
    """Directories are implicit on object stores: nothing to create."""
    del mode, parents, exist_ok

  def rmdir(self) -> None:
    """Nothing to remove for an empty prefix; OSError if objects remain."""
    if self.key and self.is_dir():
      raise OSError(f"{self}: directory not empty")

  def unlink(self, missing_ok: bool = False) -> None:
    if not missing_ok and not self.is_file():
      raise FileNotFoundError(f"{self}: no such object")
    self.store.delete(self.key)

  def rmtree(self) -> None:
    """Deletes every object below this prefix (and an object of this
    name), with retries."""
    if not self.key:
      raise ValueError(f"{self}: refusing to delete a whole bucket")
    self.store.delete_prefix(self._dir_prefix())
    if self.store.exists(self.key):
      self.store.delete(self.key)

  def kvstore_spec(self) -> dict:
    """TensorStore kvstore spec of this prefix (as a directory)."""
    return config.kvstore_spec(self._url, self._resolved)
