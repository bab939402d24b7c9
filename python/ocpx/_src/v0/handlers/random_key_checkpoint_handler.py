# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""JAX and NumPy random keys, as Orbax lays them out.

A key is saved in `<directory>/<key_name>/` (the array, or the NumPy state as
a PyTree) next to `<directory>/<key_name>_metadata/metadata`, a JSON file
recording how to rebuild it (`{"typed": ...}` or `{"legacy": ...}`).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, List, Optional, Union, cast

import jax

from ocpx._src import path as path_lib
from ocpx._src.v0 import checkpoint_args
from ocpx._src.v0 import future as future_lib
from ocpx._src.v0 import type_handlers
from ocpx._src.v0.handlers import array_checkpoint_handler as array_lib
from ocpx._src.v0.handlers import checkpoint_handler
from ocpx._src.v0.handlers import json_checkpoint_handler as json_lib
from ocpx._src.v0.handlers import pytree_checkpoint_handler as pytree_lib
from ocpx._src.v0.handlers import typestrs

NumpyRandomKeyType = Union[tuple, dict]
_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1
# Metadata key listing NumPy state ints too wide for int64, stored as text.
_BIG_INTS = "ocpx_big_int_leaves"


def _sub(directory, name):
  if isinstance(directory, path_lib.PathAwaitingCreation):
    return directory / name
  return path_lib.as_path(directory) / name


def _mkdir(d):
  p = d.wait() if isinstance(d, path_lib.PathAwaitingCreation) else d
  path_lib.mkdir(p)
  return p


class _RandomKeyHandler(checkpoint_handler.AsyncCheckpointHandler):
  """Shared save/restore of (key data, JSON metadata) subdirectories."""

  _data_handler: Any  # The subclass's array or PyTree handler.

  def __init__(self, key_name: str):
    self._key_name = key_name
    self._meta_name = f"{key_name}_metadata"
    self._json = json_lib.JsonCheckpointHandler()

  def _save_parts(self, args) -> tuple[Any, dict]:
    raise NotImplementedError

  def _start_data_save(self, directory, data, args):
    raise NotImplementedError

  async def async_save(self, directory, args=None
                       ) -> Optional[List[future_lib.Future]]:
    if args is None:
      raise ValueError(f"{directory}: pass args= (the handler's save args).")
    data, meta = self._save_parts(args)
    if isinstance(directory, path_lib.PathAwaitingCreation):
      directory = directory.wait()
    key_dir = _mkdir(_sub(directory, self._key_name))
    meta_dir = _sub(directory, self._meta_name)
    data_future = self._start_data_save(key_dir, data, args)
    text = json.dumps(meta)

    def write_meta():
      d = _mkdir(meta_dir)
      path_lib.write_file_durably(d / "metadata", text)
    return [data_future, future_lib.ThreadFuture(write_meta)]

  def save(self, directory, args=None):
    with pytree_lib.synchronous_save():
      futures = checkpoint_handler.run_async(self.async_save(directory, args))
    for f in futures:
      f.result()
    if jax.process_count() == 1:
      self.finalize(directory)

  def finalize(self, directory) -> None:
    self._data_handler.finalize(_sub(directory, self._key_name))

  def _read_meta(self, directory) -> dict:
    meta = self._json.restore(path_lib.as_path(directory) / self._meta_name)
    if not isinstance(meta, dict):
      raise ValueError(f"{directory}/{self._meta_name}: malformed metadata")
    return meta

  def close(self):
    self._data_handler.close()


class JaxRandomKeyCheckpointHandler(_RandomKeyHandler):
  """Saves a JAX PRNG key (typed `jax.random.key` or raw `PRNGKey` data).

  Example:
    ckptr.save(path, args=ocp.args.JaxRandomKeySave(jax.random.key(0)))
    key = ckptr.restore(path, args=ocp.args.JaxRandomKeyRestore())
  """

  _ORBAX_TYPESTR = typestrs.orbax_typestr("random_key_checkpoint_handler",
                                          "JaxRandomKeyCheckpointHandler")

  def __init__(self, key_name: Optional[str] = None):
    super().__init__(key_name or "jax_random_key")
    self._data_handler = array_lib.ArrayCheckpointHandler()

  def _save_parts(self, args):
    item = args.item
    if not isinstance(item, jax.Array):
      raise TypeError(f"Unsupported type: {type(item)}.")
    typed = jax.dtypes.issubdtype(item.dtype, jax.dtypes.prng_key)
    data = jax.random.key_data(item) if typed else item
    return data, {"typed": bool(typed)}

  def _start_data_save(self, directory, data, args):
    futures = checkpoint_handler.run_async(self._data_handler.async_save(
        directory, args=array_lib.ArraySaveArgs(data, args.save_args)))
    return futures[0]

  def restore(self, directory, args: Optional["JaxRandomKeyRestoreArgs"] = None):
    args = args or JaxRandomKeyRestoreArgs()
    meta = self._read_meta(directory)
    data = self._data_handler.restore(
        path_lib.as_path(directory) / self._key_name,
        args=array_lib.ArrayRestoreArgs(restore_args=args.restore_args))
    if meta.get("typed"):
      return jax.random.wrap_key_data(cast(jax.Array, data))
    return data


class NumpyRandomKeyCheckpointHandler(_RandomKeyHandler):
  """Saves NumPy random state: the legacy `np.random.get_state()` tuple or
  a Generator's `bit_generator.state` dict.

  The dict form holds integers wider than 64 bits (PCG64's state), which
  Orbax 0.12.8 cannot save; ocpx stores those as decimal strings and lists
  them in the metadata, so they restore as ints.

  Example:
    rng = np.random.default_rng(0)
    ckptr.save(path, args=ocp.args.NumpyRandomKeySave(rng.bit_generator.state))
    rng.bit_generator.state = ckptr.restore(
        path, args=ocp.args.NumpyRandomKeyRestore())
  """

  _ORBAX_TYPESTR = typestrs.orbax_typestr("random_key_checkpoint_handler",
                                          "NumpyRandomKeyCheckpointHandler")

  def __init__(self, key_name: Optional[str] = None):
    super().__init__(key_name or "np_random_key")
    self._data_handler = pytree_lib.PyTreeCheckpointHandler()

  def _save_parts(self, args):
    item = args.item
    if isinstance(item, tuple):
      return item, {"legacy": True}
    if isinstance(item, dict):
      big = []

      def encode(path, v):
        if isinstance(v, int) and not isinstance(v, bool) and not (
            _INT64_MIN <= v <= _INT64_MAX):
          big.append("/".join(tree_key(k) for k in path))
          return str(v)
        return v
      data = jax.tree_util.tree_map_with_path(encode, item)
      meta = {"legacy": False}
      if big:
        meta[_BIG_INTS] = sorted(big)
      return data, meta
    raise TypeError(f"Unsupported type: {type(item)}.")

  def _start_data_save(self, directory, data, args):
    return self._data_handler.start_save(
        directory, pytree_lib.PyTreeSaveArgs(data))

  def restore(self, directory,
              args: Optional["NumpyRandomKeyRestoreArgs"] = None):
    del args
    meta = self._read_meta(directory)
    item = self._data_handler.restore(
        path_lib.as_path(directory) / self._key_name)
    if meta.get("legacy"):
      return tuple(item)
    big = set(meta.get(_BIG_INTS) or ())
    if big:
      item = jax.tree_util.tree_map_with_path(
          lambda p, v: int(v) if "/".join(tree_key(k) for k in p) in big
          else v, item)
    return item


def tree_key(k) -> str:
  from ocpx._src import tree as tree_lib  # pylint: disable=g-import-not-at-top
  return tree_lib.key_name_and_type(k)[0]


@checkpoint_args.register_with_handler(JaxRandomKeyCheckpointHandler,
                                       for_save=True)
@dataclasses.dataclass
class JaxRandomKeySaveArgs(checkpoint_args.CheckpointArgs):
  """Saves a JAX random key (`item`), with optional `ocp.SaveArgs`."""

  item: jax.Array
  save_args: Optional[type_handlers.SaveArgs] = None


@checkpoint_args.register_with_handler(JaxRandomKeyCheckpointHandler,
                                       for_restore=True)
@dataclasses.dataclass
class JaxRandomKeyRestoreArgs(checkpoint_args.CheckpointArgs):
  """Restores a JAX random key; `restore_args` apply to its key data."""

  restore_args: Optional[type_handlers.RestoreArgs] = None


@checkpoint_args.register_with_handler(NumpyRandomKeyCheckpointHandler,
                                       for_save=True)
@dataclasses.dataclass
class NumpyRandomKeySaveArgs(checkpoint_args.CheckpointArgs):
  """Saves NumPy random state (legacy tuple or Generator state dict)."""

  item: NumpyRandomKeyType


@checkpoint_args.register_with_handler(NumpyRandomKeyCheckpointHandler,
                                       for_restore=True)
@dataclasses.dataclass
class NumpyRandomKeyRestoreArgs(checkpoint_args.CheckpointArgs):
  """Restores NumPy random state."""


typestrs.register_handler_type(JaxRandomKeyCheckpointHandler)
typestrs.register_handler_type(NumpyRandomKeyCheckpointHandler)
