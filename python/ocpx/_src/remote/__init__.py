# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Object storage (gs://, s3://) through TensorStore's kvstore drivers.

Modules:
  urls:     recognising and splitting `gs://bucket/key` and `s3://bucket/key`.
  config:   `ObjectStoreOptions`, endpoints and credentials from the
            environment, the TensorStore kvstore specs and context.
  store:    small-object operations (read, write, list, delete a prefix)
            with retries and errors that name the URL and key.
  rpath:    `RemotePath`, the pathlib-like view of a bucket prefix that the
            rest of ocpx (layout, metadata, handlers) works with.
  arrays:   zarr3 arrays in OCDBT databases on the object store, written,
            merged and read with TensorStore exactly as Orbax lays them out.
"""
