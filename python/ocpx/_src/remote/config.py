# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Where object stores are and how to talk to them.

Endpoints and credentials come from the usual places:

* S3 and S3-compatible stores: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`
  (and `AWS_SESSION_TOKEN`), else TensorStore's default AWS chain (profile
  files, `AWS_PROFILE`, instance metadata); region from `AWS_REGION` or
  `AWS_DEFAULT_REGION`; endpoint from `AWS_ENDPOINT_URL_S3` or
  `AWS_ENDPOINT_URL` (e.g. a MinIO server).  `ObjectStoreOptions` overrides
  region and endpoint.
* GCS: TensorStore's own settings: application default credentials
  (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud, the metadata server) and the
  endpoint `TENSORSTORE_GCS_HTTP_URL` (an emulator, e.g.
  `http://127.0.0.1:9023`).  ocpx does not read these itself.

Retries of transient HTTP errors (429, 5xx, dropped connections) and the
number of concurrent requests are TensorStore context resources
(`s3_request_retries`, `gcs_request_retries`, `*_request_concurrency`); the
options below set them.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import json
import os
from typing import Any, Iterator, Optional

from ocpx._src.remote import urls


@dataclasses.dataclass(frozen=True, kw_only=True)
class ObjectStoreOptions:
  """Options for gs:// and s3:// checkpoints.

  Attributes:
    s3_endpoint_url: The S3 endpoint, e.g. "http://127.0.0.1:9000" for a
      MinIO server.  Default: `AWS_ENDPOINT_URL_S3`, then `AWS_ENDPOINT_URL`,
      then AWS itself.
    s3_region: The bucket's region.  Default: `AWS_REGION`, then
      `AWS_DEFAULT_REGION`, else TensorStore asks the endpoint.
    max_concurrent_requests: Most HTTP requests in flight at once, per store
      type (TensorStore `*_request_concurrency`).
    max_retries: Attempts for a request that fails with a transient error
      (HTTP 429, 5xx, connection errors), with exponential backoff.
    initial_retry_delay_secs: The first backoff delay.
    max_retry_delay_secs: The largest backoff delay.
    delete_attempts: Attempts of a prefix deletion (each lists what is left
      and deletes it).

  Example:
    >>> from ocpx import remote
    >>> opts = remote.ObjectStoreOptions(s3_endpoint_url="http://127.0.0.1:9000",
    ...                                  s3_region="us-east-1")
    >>> with remote.object_store_options(opts):
    ...   ocp.save("s3://bucket/run/1", tree)  # doctest: +SKIP
  """

  s3_endpoint_url: Optional[str] = None
  s3_region: Optional[str] = None
  max_concurrent_requests: int = 32
  max_retries: int = 32
  initial_retry_delay_secs: float = 1.0
  max_retry_delay_secs: float = 32.0
  delete_attempts: int = 5

  def __post_init__(self):
    if self.max_concurrent_requests < 1:
      raise ValueError("ObjectStoreOptions.max_concurrent_requests must be "
                       f">= 1, got {self.max_concurrent_requests}")
    if self.max_retries < 0:
      raise ValueError(
          f"ObjectStoreOptions.max_retries must be >= 0, got "
          f"{self.max_retries}")
    if not 0 < self.initial_retry_delay_secs <= self.max_retry_delay_secs:
      raise ValueError(
          "ObjectStoreOptions needs 0 < initial_retry_delay_secs <= "
          f"max_retry_delay_secs, got {self.initial_retry_delay_secs} and "
          f"{self.max_retry_delay_secs}")
    if self.delete_attempts < 1:
      raise ValueError("ObjectStoreOptions.delete_attempts must be >= 1")
    for name in ("s3_endpoint_url",):
      v = getattr(self, name)
      if v is not None and not (v.startswith("http://")
                                or v.startswith("https://")):
        raise ValueError(
            f"ObjectStoreOptions.{name} must be an http(s):// URL, got {v!r}")


_OPTIONS: contextvars.ContextVar[Optional[ObjectStoreOptions]] = (
    contextvars.ContextVar("ocpx_object_store_options", default=None))
_DEFAULT: list = [ObjectStoreOptions()]


def set_default_options(options: ObjectStoreOptions) -> None:
  """Sets the process-wide options (used outside `object_store_options`)."""
  if not isinstance(options, ObjectStoreOptions):
    raise TypeError(f"Expected ObjectStoreOptions, got {type(options)}")
  _DEFAULT[0] = options


@contextlib.contextmanager
def object_store_options(options: ObjectStoreOptions) -> Iterator[None]:
  """Uses `options` for the remote paths created inside the `with` block."""
  if not isinstance(options, ObjectStoreOptions):
    raise TypeError(f"Expected ObjectStoreOptions, got {type(options)}")
  token = _OPTIONS.set(options)
  try:
    yield
  finally:
    _OPTIONS.reset(token)


def current_options() -> ObjectStoreOptions:
  return _OPTIONS.get() or _DEFAULT[0]


@dataclasses.dataclass(frozen=True)
class Resolved:
  """Options with the environment applied: everything a store needs."""

  options: ObjectStoreOptions
  s3_endpoint_url: Optional[str]
  s3_region: Optional[str]
  aws_env_credentials: bool


def resolve(options: Optional[ObjectStoreOptions] = None) -> Resolved:
  """Fills unset options from the environment (read now, not later)."""
  o = options or current_options()
  env = os.environ
  endpoint = (o.s3_endpoint_url or env.get("AWS_ENDPOINT_URL_S3")
              or env.get("AWS_ENDPOINT_URL") or None)
  region = (o.s3_region or env.get("AWS_REGION")
            or env.get("AWS_DEFAULT_REGION") or None)
  return Resolved(o, endpoint.rstrip("/") if endpoint else None, region,
                  bool(env.get("AWS_ACCESS_KEY_ID")
                       and env.get("AWS_SECRET_ACCESS_KEY")))


def _retries(o: ObjectStoreOptions) -> dict:
  return {"max_retries": o.max_retries,
          "initial_delay": f"{o.initial_retry_delay_secs}s",
          "max_delay": f"{o.max_retry_delay_secs}s"}


def context_json(r: Resolved) -> dict:
  """The TensorStore context for remote I/O under `r`."""
  o = r.options
  return {
      "s3_request_concurrency": {"limit": o.max_concurrent_requests},
      "gcs_request_concurrency": {"limit": o.max_concurrent_requests},
      "s3_request_retries": _retries(o),
      "gcs_request_retries": _retries(o),
  }


def ocdbt_context(r: Resolved):
  """A context for one array session: a fresh OCDBT node cache (100 MB, as
  Orbax), whose requests count against the shared limits of `ts_context`.
  A cache shared across sessions could serve b-tree nodes of a database
  that has since been deleted and rewritten at the same prefix."""
  import tensorstore as ts  # pylint: disable=g-import-not-at-top
  return ts.Context(
      ts.Context.Spec({"cache_pool#ocdbt": {"total_bytes_limit": 100_000_000}}),
      parent=ts_context(r))


@functools.lru_cache(maxsize=16)
def _context_for(key: str):
  import tensorstore as ts  # pylint: disable=g-import-not-at-top
  return ts.Context(ts.Context.Spec(json.loads(key)))


def ts_context(r: Resolved):
  """One shared `tensorstore.Context` per configuration, so that the
  concurrency limit holds across every store opened with it."""
  return _context_for(json.dumps(context_json(r), sort_keys=True))


def kvstore_spec(url: urls.Url, r: Resolved, *, directory: bool = True
                 ) -> dict[str, Any]:
  """TensorStore kvstore spec for `url` (a directory prefix by default)."""
  path = url.key + "/" if (directory and url.key) else url.key
  if url.scheme == "gs":
    backend = os.environ.get("TENSORSTORE_GCS_BACKEND", "gcs")
    return {"driver": backend, "bucket": url.bucket, "path": path}
  spec: dict[str, Any] = {"driver": "s3", "bucket": url.bucket, "path": path}
  if r.s3_endpoint_url:
    spec["endpoint"] = r.s3_endpoint_url
  if r.s3_region:
    spec["aws_region"] = r.s3_region
  if r.aws_env_credentials:
    spec["aws_credentials"] = {"type": "environment"}
  return spec
