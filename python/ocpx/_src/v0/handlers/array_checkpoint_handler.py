# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""ArrayCheckpointHandler: one array (or scalar) per directory."""

from __future__ import annotations

import dataclasses
from typing import List, Optional, Union

import jax
import numpy as np

from ocpx._src import path as path_lib
from ocpx._src.v0 import checkpoint_args
from ocpx._src.v0 import future as future_lib
from ocpx._src.v0 import type_handlers
from ocpx._src.v0.handlers import checkpoint_handler
from ocpx._src.v0.handlers import pytree_checkpoint_handler as pytree_lib
from ocpx._src.v0.handlers import typestrs

ArrayType = Union[int, float, np.number, np.ndarray, jax.Array]


class ArrayCheckpointHandler(checkpoint_handler.AsyncCheckpointHandler):
  """Saves a single array as `<directory>/<checkpoint_name>` (zarr, no OCDBT).

  Example:
    ckptr = ocp.Checkpointer(ocp.ArrayCheckpointHandler())
    ckptr.save(path, args=ocp.args.ArraySave(np.arange(8)))
    ckptr.restore(path, args=ocp.args.ArrayRestore())
  """

  _ORBAX_TYPESTR = typestrs.orbax_typestr("array_checkpoint_handler",
                                          "ArrayCheckpointHandler")

  def __init__(self, checkpoint_name: Optional[str] = None):
    self._name = checkpoint_name or "checkpoint"
    self._impl = pytree_lib.PyTreeCheckpointHandler(use_ocdbt=False,
                                                    use_zarr3=False)

  def _pytree_args(self, item, save_args, args):
    if args is None:
      args = ArraySaveArgs(item, save_args=save_args)
    value = args.item
    if not isinstance(value, (jax.Array, np.ndarray, np.number, np.bool_,
                              int, float, bool)):
      raise TypeError(f"Unsupported type: {type(value)}.")
    sa = None
    if args.save_args is not None:
      # `aggregate` is deprecated and ignored, as in Orbax 0.12.8.
      sa = {self._name: args.save_args}
    return pytree_lib.PyTreeSaveArgs({self._name: value}, save_args=sa)

  async def async_save(self, directory, item: Optional[ArrayType] = None,
                       save_args: Optional[type_handlers.SaveArgs] = None,
                       args: Optional["ArraySaveArgs"] = None
                       ) -> Optional[List[future_lib.Future]]:
    return [self._impl.start_save(directory,
                                  self._pytree_args(item, save_args, args))]

  def save(self, directory, *args, **kwargs):
    item = kwargs.pop("item", args[0] if args else None)
    save_args = kwargs.pop("save_args", args[1] if len(args) > 1 else None)
    a = kwargs.pop("args", None)
    self._impl.save(directory, args=self._pytree_args(item, save_args, a))

  def finalize(self, directory) -> None:
    self._impl.finalize(directory)

  def restore(self, directory, item: Optional[ArrayType] = None,
              restore_args: Optional[type_handlers.RestoreArgs] = None,
              args: Optional["ArrayRestoreArgs"] = None) -> ArrayType:
    """Restores the array; `restore_args` or `item` choose type/sharding."""
    if args is None:
      args = ArrayRestoreArgs(item=item, restore_args=restore_args)
    dir_path = path_lib.as_path(directory)
    if not dir_path.exists():
      raise FileNotFoundError(
          f"Requested directory for restore does not exist at {dir_path}")
    if args.restore_args is not None:
      out = self._impl.restore_tree(dir_path, None,
                                    {self._name: args.restore_args})
    elif args.item is not None:
      out = self._impl.restore_tree(dir_path, {self._name: args.item}, None,
                                    use_item_types=True)
    else:
      out = self._impl.restore_tree(dir_path, None, None)
    if self._name not in out:
      raise FileNotFoundError(
          f"{dir_path}: no array named {self._name!r} (found {sorted(out)})")
    return out[self._name]

  def close(self):
    self._impl.close()


@checkpoint_args.register_with_handler(ArrayCheckpointHandler, for_save=True)
@dataclasses.dataclass
class ArraySaveArgs(checkpoint_args.CheckpointArgs):
  """Saves one array (`item`) with optional `ocp.SaveArgs`."""

  item: ArrayType
  save_args: Optional[type_handlers.SaveArgs] = None


@checkpoint_args.register_with_handler(ArrayCheckpointHandler,
                                       for_restore=True)
@dataclasses.dataclass
class ArrayRestoreArgs(checkpoint_args.CheckpointArgs):
  """Restores one array: `item` (target) or `restore_args` choose how."""

  item: Optional[ArrayType] = None
  restore_args: Optional[type_handlers.RestoreArgs] = None


typestrs.register_handler_type(ArrayCheckpointHandler)
