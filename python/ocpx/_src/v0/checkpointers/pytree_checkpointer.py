# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""`PyTreeCheckpointer`: Checkpointer(PyTreeCheckpointHandler)."""

from __future__ import annotations

from typing import Optional

from ocpx._src.v0 import options as options_lib
from ocpx._src.v0.checkpointers import checkpointer
from ocpx._src.v0.handlers import pytree_checkpoint_handler as pytree_lib


class PyTreeCheckpointer(checkpointer.Checkpointer):
  """A synchronous Checkpointer for PyTrees.

  Example:
    ckptr = ocp.PyTreeCheckpointer()
    ckptr.save(path, tree)
    restored = ckptr.restore(path)
  """

  def __init__(self, primary_host: Optional[int] = 0, use_ocdbt: bool = True,
               use_zarr3=False, use_compression: bool = True):
    mp = options_lib.MultiprocessingOptions(primary_host=primary_host)
    super().__init__(
        pytree_lib.PyTreeCheckpointHandler(
            use_ocdbt=use_ocdbt, use_zarr3=use_zarr3,
            use_compression=use_compression, multiprocessing_options=mp),
        multiprocessing_options=mp)
