# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Helpers used by tutorials and tests (mirrors the part of
`orbax.checkpoint.test_utils` that user-facing guides call)."""

from __future__ import annotations

import pathlib

from ocpx._src import path as path_lib


def erase_and_create_empty(directory) -> pathlib.Path:
  """Deletes `directory` if it exists and creates it empty; returns it.

  Example:
    ckpt_dir = ocp.test_utils.erase_and_create_empty('/tmp/my-checkpoints/')
  """
  path = path_lib.as_path(directory)
  path_lib.rmtree(path)
  path.mkdir(parents=True)
  return path


__all__ = ["erase_and_create_empty"]
