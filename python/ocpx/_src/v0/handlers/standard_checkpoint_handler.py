# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""StandardCheckpointHandler: the PyTree handler with typed restore targets."""

from __future__ import annotations

import dataclasses
from typing import Any, List, Optional

import jax

from ocpx._src import path as path_lib
from ocpx._src.v0 import checkpoint_args
from ocpx._src.v0 import future as future_lib
from ocpx._src.v0 import metadata as metadata_lib
from ocpx._src.v0 import options as options_lib
from ocpx._src.v0.handlers import checkpoint_handler
from ocpx._src.v0.handlers import pytree_checkpoint_handler as pytree_lib
from ocpx._src.v0.handlers import typestrs

PyTree = Any


class StandardCheckpointHandler(checkpoint_handler.AsyncCheckpointHandler):
  """Saves PyTrees of arrays; restores onto a target tree's types/shardings.

  Unlike Orbax's, string leaves are accepted too (stored in `_strings.json`
  exactly as PyTreeCheckpointHandler stores them).

  Example:
    ckptr = ocp.Checkpointer(ocp.StandardCheckpointHandler())
    ckptr.save(path, args=ocp.args.StandardSave(state))
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, state)
    state = ckptr.restore(path, args=ocp.args.StandardRestore(abstract))
  """

  _ORBAX_TYPESTR = typestrs.orbax_typestr("standard_checkpoint_handler",
                                          "StandardCheckpointHandler")

  def __init__(
      self,
      *,
      save_concurrent_gb: int = 96,
      restore_concurrent_gb: int = 96,
      multiprocessing_options: options_lib.MultiprocessingOptions = (
          options_lib.MultiprocessingOptions()),
      pytree_metadata_options: options_lib.PyTreeMetadataOptions = (
          options_lib.PyTreeMetadataOptions()),
      use_ocdbt: bool = True,
  ):
    self._impl = pytree_lib.PyTreeCheckpointHandler(
        save_concurrent_gb=save_concurrent_gb,
        restore_concurrent_gb=restore_concurrent_gb,
        multiprocessing_options=multiprocessing_options,
        pytree_metadata_options=pytree_metadata_options,
        use_ocdbt=use_ocdbt)

  def _check_item(self, item, directory):
    if item is None:
      raise ValueError(f"{directory}: StandardSave.item must not be None.")
    leaves = jax.tree_util.tree_leaves(item)
    for leaf in leaves:
      if isinstance(leaf, checkpoint_args.CheckpointArgs):
        raise ValueError("Make sure to specify kwarg name `args=` when "
                         "providing `StandardSaveArgs`.")

  async def async_save(self, directory, item: Optional[PyTree] = None,
                       save_args: Optional[PyTree] = None,
                       args: Optional["StandardSaveArgs"] = None
                       ) -> Optional[List[future_lib.Future]]:
    args = _save_args(item, save_args, args)
    self._check_item(args.item, directory)
    return [self._impl.start_save(directory, _to_pytree_save(args))]

  def save(self, directory, *args, **kwargs):
    a = _save_args(*args, **kwargs)
    self._check_item(a.item, directory)
    self._impl.save(directory, args=_to_pytree_save(a))

  def finalize(self, directory) -> None:
    self._impl.finalize(directory)

  def restore(self, directory, item: Optional[PyTree] = None,
              args: Optional["StandardRestoreArgs"] = None) -> PyTree:
    """Restores; leaves of `item` (arrays, ShapeDtypeStructs) set the types,
    shapes, dtypes and shardings of the result."""
    if isinstance(item, checkpoint_args.CheckpointArgs):
      raise ValueError("Make sure to specify kwarg name `args=` when "
                       "providing `StandardRestoreArgs`.")
    if args is None:
      args = StandardRestoreArgs(item=item)
    dir_path = path_lib.as_path(directory)
    if not dir_path.exists():
      raise FileNotFoundError(
          f"Requested directory for restore does not exist at {dir_path}")
    return self._impl.restore_tree(
        dir_path, args.item, None, use_item_types=True,
        fallback_sharding=args.fallback_sharding,
        support_layout=args.support_layout, strict=args.strict)

  def metadata(self, directory) -> metadata_lib.TreeMetadata:
    return self._impl.metadata(directory)

  def close(self):
    self._impl.close()


def _save_args(item=None, save_args=None, args=None):
  if isinstance(item, checkpoint_args.CheckpointArgs) and args is None:
    if isinstance(item, StandardSaveArgs):
      return item
    raise ValueError("Make sure to specify kwarg name `args=` when "
                     "providing `StandardSaveArgs`.")
  if args is None:
    args = StandardSaveArgs(item, save_args)
  return args


def _to_pytree_save(args: "StandardSaveArgs") -> pytree_lib.PyTreeSaveArgs:
  return pytree_lib.PyTreeSaveArgs(args.item, save_args=args.save_args,
                                   custom_metadata=args.custom_metadata)


@checkpoint_args.register_with_handler(StandardCheckpointHandler,
                                       for_save=True)
@dataclasses.dataclass
class StandardSaveArgs(checkpoint_args.CheckpointArgs):
  """Saves a PyTree with StandardCheckpointHandler.

  Attributes:
    item: The PyTree (arrays, scalars; ocpx also accepts str leaves).
    save_args: A tree of `ocp.SaveArgs`.
    custom_metadata: JSON recorded in `_METADATA`.
  """

  item: PyTree
  save_args: Optional[PyTree] = None
  custom_metadata: Any = None


@checkpoint_args.register_with_handler(StandardCheckpointHandler,
                                       for_restore=True)
@dataclasses.dataclass
class StandardRestoreArgs(checkpoint_args.CheckpointArgs):
  """Restores with StandardCheckpointHandler.

  Attributes:
    item: Target tree (arrays or ShapeDtypeStructs) giving structure, shapes,
      dtypes and shardings; None restores as saved.
    strict: If False, shapes may differ from the saved ones (padding or
      truncation).
    support_layout: Restore with the jax Formats (layouts) of `item`'s leaves.
    fallback_sharding: Sharding for leaves of `item` without one.
  """

  item: Optional[PyTree] = None
  strict: bool = True
  support_layout: bool = False
  fallback_sharding: Optional[jax.sharding.Sharding] = None


typestrs.register_handler_type(StandardCheckpointHandler)
