# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""`StandardCheckpointer`: AsyncCheckpointer(StandardCheckpointHandler)."""

from __future__ import annotations

from typing import Any, Optional

from ocpx._src.v0 import options as options_lib
from ocpx._src.v0.checkpointers import async_checkpointer
from ocpx._src.v0.handlers import standard_checkpoint_handler as standard_lib


class StandardCheckpointer(async_checkpointer.AsyncCheckpointer):
  """Saves PyTrees of arrays asynchronously; restores onto a target tree.

  Example (Flax's checkpointing recipe):
    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save(ckpt_dir / 'state', state)
    checkpointer.wait_until_finished()
    state = checkpointer.restore(ckpt_dir / 'state', abstract_state)
  """

  def __init__(
      self,
      *,
      async_options: options_lib.AsyncOptions = options_lib.AsyncOptions(),
      multiprocessing_options: options_lib.MultiprocessingOptions = (
          options_lib.MultiprocessingOptions()),
      file_options: options_lib.FileOptions = options_lib.FileOptions(),
      atomicity_options: Optional[options_lib.AtomicityOptions] = None,
      checkpoint_metadata_store: Any = None,
      temporary_path_class: Optional[type] = None,
      **kwargs,
  ):
    super().__init__(
        standard_lib.StandardCheckpointHandler(
            multiprocessing_options=multiprocessing_options, **kwargs),
        async_options=async_options,
        multiprocessing_options=multiprocessing_options,
        file_options=file_options, atomicity_options=atomicity_options,
        checkpoint_metadata_store=checkpoint_metadata_store,
        temporary_path_class=temporary_path_class)

  # Orbax's StandardCheckpointer.save takes `state` positionally, unlike the
  # base class's `*args`.
  def save(self, directory, state: Any = None, *,  # type: ignore[override]
           save_args: Optional[Any] = None, force: bool = False,
           custom_metadata: dict[str, Any] | None = None, **kwargs):
    """Starts saving `state` (a PyTree) to `directory`."""
    if "args" in kwargs:
      return super().save(directory, force=force,
                          custom_metadata=custom_metadata, **kwargs)
    return super().save(
        directory, args=standard_lib.StandardSaveArgs(state, save_args),
        force=force, custom_metadata=custom_metadata)

  def restore(self, directory, target: Optional[Any] = None, *,
              strict: bool = True, **kwargs) -> Any:
    """Restores; `target` (arrays or ShapeDtypeStructs) sets types/shardings."""
    if "args" in kwargs:
      return super().restore(directory, **kwargs)
    return super().restore(
        directory, args=standard_lib.StandardRestoreArgs(target,
                                                         strict=strict))
