# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Object storage options for gs:// and s3:// checkpoints.

Any ocpx API takes `gs://bucket/prefix` and `s3://bucket/prefix` paths.
Credentials and endpoints come from the environment (see
docs/remote.md); `ObjectStoreOptions` overrides the S3 endpoint and region
and tunes concurrency and retries.

Example:
  >>> import ocpx.v1 as ocp
  >>> from ocpx import remote
  >>> with remote.object_store_options(remote.ObjectStoreOptions(
  ...     s3_endpoint_url="http://127.0.0.1:9000", s3_region="us-east-1")):
  ...   ocp.save("s3://bucket/run/1", {"w": w})  # doctest: +SKIP
"""

from ocpx._src.remote.config import ObjectStoreOptions
from ocpx._src.remote.config import object_store_options
from ocpx._src.remote.config import set_default_options
from ocpx._src.remote.hooks import is_remote
from ocpx._src.remote.rpath import RemotePath
from ocpx._src.remote.store import RemoteStorageError

__all__ = ["ObjectStoreOptions", "object_store_options",
           "set_default_options", "is_remote", "RemotePath",
           "RemoteStorageError"]
