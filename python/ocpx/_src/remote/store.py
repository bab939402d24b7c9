# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Small-object operations on a bucket, through TensorStore's kvstores.

One `Store` per (scheme, bucket, configuration) holds a kvstore opened at
the bucket root.  Transient HTTP errors are retried inside TensorStore
(`config.context_json`); what still fails is raised as `RemoteStorageError`
(an `OSError`) naming the URL, the key and the operation.  A missing object
is `FileNotFoundError`.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Optional

from ocpx._src.remote import config
from ocpx._src.remote import urls


class RemoteStorageError(OSError):
  """An object-store request failed after TensorStore's retries."""


def _exclusive_max(prefix: bytes) -> bytes:
  """The smallest key greater than every key starting with `prefix`."""
  b = bytearray(prefix)
  while b and b[-1] == 0xFF:
    b.pop()
  if not b:
    return b""
  b[-1] += 1
  return bytes(b)


class Store:
  """A bucket: read, write, list and delete objects by key."""

  def __init__(self, scheme: str, bucket: str, resolved: config.Resolved):
    import tensorstore as ts  # pylint: disable=g-import-not-at-top
    self._ts = ts
    self.scheme = scheme
    self.bucket = bucket
    self.resolved = resolved
    self.context = config.ts_context(resolved)
    root = urls.Url(scheme, bucket, "")
    self._spec = config.kvstore_spec(root, resolved)
    try:
      self._kv = ts.KvStore.open(self._spec, context=self.context).result()
    except Exception as e:  # pylint: disable=broad-except
      raise RemoteStorageError(
          f"{root}: cannot open the bucket: {e}") from e

  def url(self, key: str) -> str:
    return f"{self.scheme}://{self.bucket}/{key}"

  def _fail(self, op: str, key: str, e: Exception):
    return RemoteStorageError(f"{self.url(key)}: {op} failed: {e}")

  # -- single objects --------------------------------------------------------
  def read(self, key: str) -> Optional[bytes]:
    """The object's bytes, or None if it does not exist."""
    try:
      r = self._kv.read(key).result()
    except Exception as e:  # pylint: disable=broad-except
      raise self._fail("read", key, e) from e
    if r.state != "value":
      return None
    return r.value

  def exists(self, key: str) -> bool:
    """True if the object exists (an empty byte range: no data moves)."""
    try:
      r = self._kv.read(key, byte_range=slice(0, 0)).result()
    except Exception as e:  # pylint: disable=broad-except
      raise self._fail("stat", key, e) from e
    return r.state == "value"

  def write(self, key: str, data: bytes) -> None:
    try:
      self._kv.write(key, data).result()
    except Exception as e:  # pylint: disable=broad-except
      raise self._fail("write", key, e) from e

  def delete(self, key: str) -> None:
    try:
      self._kv.delete_range(self._ts.KvStore.KeyRange(
          key, key + "\0")).result()
    except Exception as e:  # pylint: disable=broad-except
      raise self._fail("delete", key, e) from e

  # -- prefixes --------------------------------------------------------------
  def list(self, prefix: str) -> list[str]:
    """Every key starting with `prefix`, sorted: one listing, which the
    driver pages through (S3 ListObjectsV2 / GCS objects.list)."""
    p = prefix.encode()
    try:
      keys = self._kv.list(self._ts.KvStore.KeyRange(
          p, _exclusive_max(p))).result()
    except Exception as e:  # pylint: disable=broad-except
      raise self._fail("list", prefix, e) from e
    return sorted(k.decode() for k in keys if k.startswith(p))

  def copy_prefix(self, src: str, dst: str, last: str = "") -> None:
    """Copies every object under `src` to the same key under `dst` (both
    directory prefixes ending in '/'), through this client: object stores
    have no rename, and a server-side copy is not portable across them.

    Objects named `last` (e.g. the commit marker) are copied after all the
    others, so an interrupted copy never looks committed.
    """
    for p in (src, dst):
      if not p.endswith("/"):
        raise ValueError(f"{self.url(p)}: a prefix to copy must end with '/'")
    keys = self.list(src)
    is_last = lambda k: bool(last) and k.rsplit("/", 1)[-1] == last  # noqa: E731
    body = [k for k in keys if not is_last(k)]
    batch = 64  # objects in flight at once (each read is held in memory)
    for part in ([body[i:i + batch] for i in range(0, len(body), batch)]
                 + [[k for k in keys if is_last(k)]]):
      try:
        reads = [self._kv.read(k) for k in part]
        writes = []
        for k, r in zip(part, reads):
          got = r.result()
          if got.state == "value":  # deleted meanwhile: nothing to copy
            writes.append(self._kv.write(dst + k[len(src):], got.value))
        for w in writes:
          w.result()
      except Exception as e:  # pylint: disable=broad-except
        raise self._fail(f"copy to {self.url(dst)}", src, e) from e

  def delete_prefix(self, prefix: str) -> None:
    """Deletes every object under `prefix`; retried until none is left."""
    if not prefix.endswith("/"):
      raise ValueError(f"{self.url(prefix)}: refusing to delete a prefix "
                       "that is not a directory (must end with '/')")
    p = prefix.encode()
    attempts = self.resolved.options.delete_attempts
    delay = self.resolved.options.initial_retry_delay_secs
    last: Optional[Exception] = None
    for attempt in range(attempts):
      try:
        self._kv.delete_range(self._ts.KvStore.KeyRange(
            p, _exclusive_max(p))).result()
        left = self.list(prefix)
        if not left:
          return
        last = RemoteStorageError(
            f"{self.url(prefix)}: {len(left)} objects left after deletion, "
            f"e.g. {left[0]}")
      except Exception as e:  # pylint: disable=broad-except
        last = e
      if attempt + 1 < attempts:
        logging.warning("ocpx: deleting %s failed (%s); retrying",
                        self.url(prefix), last)
        time.sleep(min(delay, self.resolved.options.max_retry_delay_secs))
        delay *= 2
    raise RemoteStorageError(
        f"{self.url(prefix)}: delete failed after {attempts} attempts: "
        f"{last}") from last


@functools.lru_cache(maxsize=64)
def _store(scheme: str, bucket: str, resolved: config.Resolved) -> Store:
  return Store(scheme, bucket, resolved)


def store_for(url: urls.Url, resolved: config.Resolved) -> Store:
  """The shared `Store` of `url`'s bucket under `resolved`."""
  return _store(url.scheme, url.bucket, resolved)
