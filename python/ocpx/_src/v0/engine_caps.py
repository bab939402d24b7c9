# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""What the native engine can write, probed once without touching disk.

Orbax's v0 handlers write zarr v2 arrays by default (`use_zarr3=False`).
While the engine cannot write zarr2 (it raises NotImplementedError for
`ArrayOptions.Saving(use_zarr3=False)`), v0 saves that ask for zarr2 write
zarr3 instead, which Orbax 0.12.8 and TensorStore read the same way (the
format is recorded per array and in `_METADATA`), and log a warning once.
As soon as the engine writes zarr2, `use_zarr3=False` writes zarr2.
"""

from __future__ import annotations

import functools
import logging
import pathlib
import tempfile

import numpy as np


@functools.cache
def engine_writes_zarr2() -> bool:
  """True if the engine writes zarr v2 arrays."""
  from ocpx._src import context as context_lib  # pylint: disable=g-import-not-at-top
  from ocpx._src import options as v1_options  # pylint: disable=g-import-not-at-top
  from ocpx._src.handlers import pytree_handler  # pylint: disable=g-import-not-at-top
  ctx = context_lib.Context(array_options=v1_options.ArrayOptions(
      saving=v1_options.ArrayOptions.Saving(use_zarr3=False)))
  handler = pytree_handler.PyTreeHandler(context=ctx)
  with tempfile.TemporaryDirectory(prefix="ocpx-zarr2-probe-") as d:
    try:
      # Planning only: the returned callable (never called) does the I/O.
      handler.prepare_save(pathlib.Path(d) / "probe",
                           {"a": np.zeros((1,), np.int32)})
    except NotImplementedError:
      return False
    except Exception as e:  # pylint: disable=broad-except
      logging.warning("ocpx: zarr2 write probe failed (%s); assuming the "
                      "engine writes zarr2", e)
  return True


_warned = False


def zarr3_for(requested_zarr3: bool) -> bool:
  """The zarr version to write for a request (see the module docstring)."""
  global _warned
  if requested_zarr3 or engine_writes_zarr2():
    return requested_zarr3
  if not _warned:
    _warned = True
    logging.warning(
        "ocpx: the native engine cannot write zarr v2 yet; use_zarr3=False "
        "saves write zarr v3 arrays, which Orbax and TensorStore read too.")
  return True
