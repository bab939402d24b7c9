# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Object-store URLs: `gs://bucket/key` and `s3://bucket/key`."""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any

SCHEMES = ("gs", "s3")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]$")


def is_remote_url(path: Any) -> bool:
  """True if `path` names an object store location (gs:// or s3://).

  Example:
    >>> is_remote_url("s3://my-bucket/ckpt/1")
    True
    >>> is_remote_url("/tmp/ckpt")
    False
  """
  if isinstance(path, os.PathLike) and not hasattr(path, "scheme"):
    path = os.fspath(path)
  elif hasattr(path, "scheme") and hasattr(path, "bucket"):
    return True
  if not isinstance(path, str):
    # etils.epath.Path('gs://...') stringifies to the URL.
    try:
      path = str(path)
    except Exception:  # pylint: disable=broad-except
      return False
  return any(path.startswith(s + "://") for s in SCHEMES)


@dataclasses.dataclass(frozen=True)
class Url:
  """A parsed object-store URL: scheme, bucket and key (no leading or
  trailing slash; "" for the bucket root)."""

  scheme: str
  bucket: str
  key: str

  def __str__(self) -> str:
    return f"{self.scheme}://{self.bucket}/{self.key}" if self.key else (
        f"{self.scheme}://{self.bucket}")

  def child(self, name: str) -> "Url":
    return Url(self.scheme, self.bucket,
               f"{self.key}/{name}" if self.key else name)


def parse(url: str) -> Url:
  """Splits `scheme://bucket/key`, normalising repeated and trailing slashes.

  Example:
    >>> parse("gs://b-1/a//b/")
    Url(scheme='gs', bucket='b-1', key='a/b')
  """
  scheme, sep, rest = url.partition("://")
  if not sep or scheme not in SCHEMES:
    raise ValueError(f"{url}: not a gs:// or s3:// URL")
  bucket, _, key = rest.partition("/")
  if not bucket:
    raise ValueError(f"{url}: the URL names no bucket")
  if not _BUCKET_RE.match(bucket):
    raise ValueError(f"{url}: {bucket!r} is not a valid bucket name")
  parts = [p for p in key.split("/") if p]
  for p in parts:
    if p in (".", ".."):
      raise ValueError(f"{url}: '.' and '..' are not allowed in object keys")
  return Url(scheme, bucket, "/".join(parts))
