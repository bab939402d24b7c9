# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""One handler per kind of PyTree leaf: jax.Array, np.ndarray, scalar, string
and typed PRNG key, behind the small `LeafHandler` protocol.

Saving: `plan_save(leaf, value, env)` turns a leaf's value into an
`ArrayPlan` (storage dtype, shapes, the boxes this process writes).
Loading: `select(reads, saved, info, abstract)` picks the handler that
builds the value the caller asked for (from the saved `value_type` and the
abstract leaf, following Orbax's rules), and its `plan_load` queues the
reads it needs and returns a thunk that builds the value once every box of
the checkpoint has been read in one native call.

Example:
  >>> h = select(reads, saved_leaf, info, jax.ShapeDtypeStruct((4,), "f4",
  ...            sharding=s))  # doctest: +SKIP
  >>> build = h.plan_load(reads, saved_leaf, info)  # doctest: +SKIP
  >>> # ... the loader reads every queued box ...
  >>> array = build()  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional, Protocol, Sequence

import jax
import numpy as np

from ocpx._src import engine
from ocpx._src import serialization
from ocpx._src import sharding as sharding_lib
from ocpx._src import tree as tree_lib

Thunk = Callable[[], Any]


# ---------------------------------------------------------------------------
# Leaf kinds of values being saved


def is_random_key_dtype(dtype) -> bool:
  """True for the dtypes of typed PRNG keys (`jax.random.key`).

  Example:
    >>> is_random_key_dtype(jax.random.key(0).dtype)
    True
    >>> is_random_key_dtype(np.dtype("uint32"))
    False
  """
  try:
    return dtype is not None and jax.dtypes.issubdtype(
        dtype, jax.dtypes.prng_key)
  except TypeError:
    return False


def random_key_impl_name(key: jax.Array) -> str:
  """The name Orbax records for a key's implementation ('threefry2x32',
  'rbg', 'unsafe_rbg', ...)."""
  return str(jax.random.key_impl(key))


def _dtype_impl(dtype) -> str:
  """The PRNG implementation name of a key dtype."""
  return str(dtype._impl.name)  # pylint: disable=protected-access


def _is_scalar(x: Any) -> bool:
  return isinstance(x, (int, float, bool, np.number, np.bool_)) and not (
      isinstance(x, np.ndarray))


def leaf_kind(x: Any) -> Optional[str]:
  """The `_METADATA` value_type for a leaf's value, or None if unsupported.

  Example:
    >>> leaf_kind(np.zeros(3)), leaf_kind(1.5), leaf_kind("s")
    ('np.ndarray', 'scalar', 'string')
  """
  if isinstance(x, jax.Array):
    return tree_lib.JAX_ARRAY
  if isinstance(x, np.ndarray):
    return tree_lib.NP_ARRAY
  if isinstance(x, str):
    return tree_lib.STRING
  if _is_scalar(x):
    return tree_lib.SCALAR
  return None


# ---------------------------------------------------------------------------
# Saving


@dataclasses.dataclass
class ArrayPlan:
  """How one array (or scalar) leaf is written."""

  leaf: tree_lib.FlatLeaf
  kind: str  # value_type
  global_shape: tuple
  dtype: np.dtype  # storage dtype
  write_shape: tuple
  chunk_shape: tuple
  boxes: list  # serialization.Box this process writes
  sharding_json: Optional[str] = None
  deferred: bool = False  # transferred in the background (not prioritized)
  random_key_impl: Optional[str] = None  # a typed PRNG key, stored as data
  replicated: bool = False  # some axis of its mesh holds copies
  streamed: bool = False  # written during planning (`save_stream`)


@dataclasses.dataclass(frozen=True)
class SaveEnv:
  """What planning a leaf's save needs from the save.

  Attributes:
    saving: `ArrayOptions.Saving`.
    primary_host: The primary process (None: every process is primary).
    copy_host_arrays: Copy numpy arrays (an async save with
      `deepcopy_host_arrays`, where the caller may mutate them).
    replica_id: The replica whose shards this process writes (None: each
      shard's first replica here, for hosts that each write to their own
      storage).
  """

  saving: Any
  primary_host: Optional[int]
  copy_host_arrays: bool
  replica_id: Optional[int]
  # id(sharding) -> (sharding, its `_sharding` JSON, is_replicated): leaves
  # mostly share a few shardings.  (The sharding is kept, so its id stays
  # its own for the save.)
  _shardings: dict = dataclasses.field(default_factory=dict, repr=False,
                                       compare=False)

  def sharding_facts(self, sharding: Any) -> tuple[Optional[str], bool]:
    """(sharding_to_json, is_replicated) of `sharding`, computed once."""
    got = self._shardings.get(id(sharding))
    if got is None or got[0] is not sharding:
      got = self._shardings[id(sharding)] = (
          sharding, sharding_lib.sharding_to_json(sharding),
          sharding_lib.is_replicated(sharding))
    return got[1], got[2]


def storage_options_for(leaf: tree_lib.FlatLeaf, value: Any, saving) -> Any:
  """`StorageOptions` for one leaf: the defaults, overridden by
  `scoped_storage_options_creator(keypath, value)` where it returns fields."""
  base = saving.storage_options
  creator = saving.scoped_storage_options_creator
  if creator is None:
    return base
  scoped = creator(leaf.keypath, value)
  if scoped is None:
    return base
  return dataclasses.replace(
      base, **{f.name: getattr(scoped, f.name)
               for f in dataclasses.fields(scoped)
               if getattr(scoped, f.name) is not None})


def plan_save(leaf: tree_lib.FlatLeaf, value: Any, env: SaveEnv) -> ArrayPlan:
  """The write plan of an array or scalar leaf (by its kind's handler).

  Raises:
    ValueError: the leaf cannot be saved as asked (e.g. a PRNG key without
      `array_metadata_store`).
  """
  kind = leaf_kind(value)
  if kind == tree_lib.SCALAR:
    return ScalarLeaf.plan_save(leaf, value, env)
  if kind == tree_lib.NP_ARRAY:
    return NumpyArrayLeaf.plan_save(leaf, value, env)
  if kind == tree_lib.JAX_ARRAY:
    if is_random_key_dtype(value.dtype):
      return PrngKeyLeaf.plan_save(leaf, value, env)
    return JaxArrayLeaf.plan_save(leaf, value, env)
  raise ValueError(f"leaf {jax.tree_util.keystr(leaf.keypath)}: no array "
                   f"handler for {type(value).__name__}")


# ---------------------------------------------------------------------------
# Loading


class LeafReads(Protocol):
  """What a leaf handler may ask of the loader (`pytree_loading.Loader`)."""

  ctx: Any
  global_mesh: Any

  def where(self, saved: tree_lib.LeafMetadata) -> str:
    """'<directory>: leaf <name>' for messages."""

  def check_shape(self, saved: tree_lib.LeafMetadata, info: engine.ArrayInfo,
                  shape: Sequence[int]) -> None:
    """Raises unless `shape` is the stored shape or padding is enabled."""

  def read_box(self, saved: tree_lib.LeafMetadata, info: engine.ArrayInfo,
               origin: Sequence[int], shape: Sequence[int],
               dtype: np.dtype) -> Thunk:
    """Queues a box read (zero padded outside the stored array)."""

  def read_scalar(self, saved: tree_lib.LeafMetadata) -> Thunk:
    """Queues the read of a 0-d array, whose chunk must exist."""

  def read_jax(self, saved: tree_lib.LeafMetadata, info: engine.ArrayInfo,
               shape: Sequence[int], dtype: np.dtype, sharding: Any) -> Thunk:
    """Queues the shards this process's devices hold; the thunk builds the
    jax.Array."""

  def default_sharding(self, saved: tree_lib.LeafMetadata) -> Any:
    """The sharding a jax.Array loads onto when the caller gave none: the
    one recorded at save time (else the default device)."""

  def string_value(self, saved: tree_lib.LeafMetadata) -> str:
    """The value of a string leaf (`_strings.json`)."""


class LeafHandler(Protocol):
  """Builds one kind of leaf from the checkpoint."""

  def plan_load(self, reads: LeafReads, saved: tree_lib.LeafMetadata,
                info: Optional[engine.ArrayInfo]) -> Thunk:
    """Queues the reads the leaf needs; the thunk returns its value."""


# Python's own scalar types, which a scalar saved from int, float or bool has.
_PYTHON_SCALAR_DTYPES = (np.dtype(np.int64), np.dtype(np.float64),
                         np.dtype(np.bool_))


@dataclasses.dataclass(frozen=True)
class ScalarLeaf:
  """A Python or numpy scalar (`scalar`): a 0-d array on disk.

  Attributes:
    pytype: The type to return (int, float, bool or a numpy scalar type);
      None: Python int/float/bool for their storage dtypes, else the numpy
      scalar type it was saved from.
  """

  pytype: Optional[type] = None

  @staticmethod
  def plan_save(leaf: tree_lib.FlatLeaf, value: Any,
                env: SaveEnv) -> ArrayPlan:
    del env
    if isinstance(value, (bool, np.bool_)):
      arr = np.asarray(bool(value))
    elif isinstance(value, int):
      arr = np.asarray(value, dtype=np.int64)
    elif isinstance(value, float):
      arr = np.asarray(value, dtype=np.float64)
    else:
      arr = np.asarray(value)
    return ArrayPlan(leaf, tree_lib.SCALAR, (), arr.dtype, (), (),
                     [serialization.host_box((), arr)])

  def plan_load(self, reads: LeafReads, saved: tree_lib.LeafMetadata,
                info: Optional[engine.ArrayInfo]) -> Thunk:
    assert info is not None
    if tuple(info.shape) != ():
      raise ValueError(f"{reads.where(saved)}: stored shape "
                       f"{tuple(info.shape)} is not a scalar")
    read = reads.read_scalar(saved)
    pytype = self.pytype

    def build():
      host = read().reshape(())
      if pytype is None:
        return host.item() if host.dtype in _PYTHON_SCALAR_DTYPES else (
            host[()])
      return pytype(host.item()) if pytype in (int, float, bool) else (
          pytype(host))
    return build


@dataclasses.dataclass(frozen=True)
class NumpyArrayLeaf:
  """An `np.ndarray`, built on the host."""

  shape: tuple
  dtype: np.dtype

  @staticmethod
  def plan_save(leaf: tree_lib.FlatLeaf, value: np.ndarray,
                env: SaveEnv) -> ArrayPlan:
    storage = storage_options_for(leaf, value, env.saving)
    if storage.dtype is not None:
      arr = np.require(np.asarray(value).astype(storage.dtype),
                       requirements="C")
    elif env.copy_host_arrays or not value.flags.c_contiguous:
      arr = np.array(value, copy=True, order="C")  # the caller may mutate it
    else:
      arr = value
    chunk = engine.choose_chunk_shape(
        arr.shape, arr.shape, arr.dtype.itemsize, storage.chunk_byte_size,
        storage.shard_axes, env.saving)
    return ArrayPlan(leaf, tree_lib.NP_ARRAY, arr.shape, arr.dtype, arr.shape,
                     chunk, [serialization.host_box((0,) * arr.ndim, arr)])

  def plan_load(self, reads: LeafReads, saved: tree_lib.LeafMetadata,
                info: Optional[engine.ArrayInfo]) -> Thunk:
    assert info is not None
    reads.check_shape(saved, info, self.shape)
    return reads.read_box(saved, info, (0,) * len(self.shape), self.shape,
                          self.dtype)


@dataclasses.dataclass(frozen=True)
class JaxArrayLeaf:
  """A `jax.Array`, placed on the devices of `sharding`."""

  shape: tuple
  dtype: np.dtype
  sharding: Any

  @staticmethod
  def plan_save(leaf: tree_lib.FlatLeaf, value: jax.Array,
                env: SaveEnv, *, random_key_impl: Optional[str] = None,
                storage: Any = None) -> ArrayPlan:
    if storage is None:
      storage = storage_options_for(leaf, value, env.saving)
    dtype = np.dtype(storage.dtype if storage.dtype is not None
                     else value.dtype)
    write_shape, boxes = serialization.plan_boxes(
        value, env.saving, replica_id=env.replica_id)
    chunk = engine.choose_chunk_shape(
        value.shape, write_shape, dtype.itemsize, storage.chunk_byte_size,
        storage.shard_axes, env.saving)
    sharding_json, replicated = env.sharding_facts(value.sharding)
    return ArrayPlan(leaf, tree_lib.JAX_ARRAY, tuple(value.shape), dtype,
                     write_shape, chunk, boxes, sharding_json,
                     random_key_impl=random_key_impl, replicated=replicated)

  def plan_load(self, reads: LeafReads, saved: tree_lib.LeafMetadata,
                info: Optional[engine.ArrayInfo]) -> Thunk:
    assert info is not None
    reads.check_shape(saved, info, self.shape)
    return reads.read_jax(saved, info, self.shape, self.dtype, self.sharding)


@dataclasses.dataclass(frozen=True)
class PrngKeyLeaf:
  """A typed PRNG key (`jax.random.key`): stored as its key data (a
  jax.Array with the implementation's trailing dimensions), with the
  implementation recorded in `array_metadatas`.

  Attributes:
    data: How the key data loads.
    impl: The implementation to wrap the data in ('threefry2x32', ...).
  """

  data: JaxArrayLeaf
  impl: str

  @staticmethod
  def plan_save(leaf: tree_lib.FlatLeaf, value: jax.Array,
                env: SaveEnv) -> ArrayPlan:
    where = jax.tree_util.keystr(leaf.keypath)
    # The implementation goes to array_metadatas, which must be written.
    if env.saving.array_metadata_store is None:
      raise ValueError(
          f"leaf {where} is a PRNG key ({value.dtype}); saving it needs "
          "ArrayOptions.Saving.array_metadata_store, which records the key "
          "implementation.")
    storage = storage_options_for(leaf, value, env.saving)
    if storage.dtype is not None:
      raise ValueError(f"leaf {where} is a PRNG key; StorageOptions.dtype "
                       "cannot cast it.")
    return JaxArrayLeaf.plan_save(
        leaf, jax.random.key_data(value), env,
        random_key_impl=random_key_impl_name(value), storage=storage)

  def plan_load(self, reads: LeafReads, saved: tree_lib.LeafMetadata,
                info: Optional[engine.ArrayInfo]) -> Thunk:
    build = self.data.plan_load(reads, saved, info)
    impl, shape, dtype = self.impl, self.data.shape, self.data.dtype

    def wrapped():
      try:
        with sharding_lib.without_global_mesh():
          return jax.random.wrap_key_data(build(), impl=impl)
      except (TypeError, ValueError) as e:
        raise ValueError(
            f"{reads.where(saved)}: stored data of shape {tuple(shape)} and "
            f"dtype {dtype} is not a {impl} PRNG key: {e}") from e
    return wrapped


@dataclasses.dataclass(frozen=True)
class StringLeaf:
  """A `str`, kept in `_strings.json` (no array)."""

  def plan_load(self, reads: LeafReads, saved: tree_lib.LeafMetadata,
                info: Optional[engine.ArrayInfo]) -> Thunk:
    del info
    value = reads.string_value(saved)
    return lambda: value


def _has_attribute(cls: type, name: str) -> bool:
  return name in getattr(cls, "__annotations__", {}) or hasattr(cls, name)


def restore_type_of_abstract(cls: type) -> Optional[str]:
  """Orbax's rule for an abstract array leaf's class: with `shape`, `dtype`
  and `sharding` attributes it loads as jax.Array ('jax'); with only `shape`
  and `dtype` (np.ndarray, NumpyMetadata, ...) as np.ndarray ('np').

  Example:
    >>> restore_type_of_abstract(jax.ShapeDtypeStruct)
    'jax'
    >>> restore_type_of_abstract(np.ndarray)
    'np'
  """
  if not (_has_attribute(cls, "shape") and _has_attribute(cls, "dtype")):
    return None
  return "jax" if _has_attribute(cls, "sharding") else "np"


def _jax(reads: LeafReads, saved: tree_lib.LeafMetadata, shape, dtype,
         sharding, key_impl: Optional[str]) -> LeafHandler:
  data = JaxArrayLeaf(tuple(shape), np.dtype(dtype), sharding)
  return data if key_impl is None else PrngKeyLeaf(data, key_impl)


def select(reads: LeafReads, saved: tree_lib.LeafMetadata,
           info: engine.ArrayInfo, abstract: Any,
           key_impl: Optional[str] = None) -> LeafHandler:
  """The handler that builds an array or scalar leaf saved as
  `saved.value_type`, as the abstract leaf asks (Orbax's rules).

  Args:
    reads: The loader (for the saved sharding and messages).
    saved: The leaf's `_METADATA` entry.
    info: The stored array's shape and dtype.
    abstract: The abstract leaf: None (as saved), a type (int, np.ndarray,
      jax.Array, ...), a value, or an object with shape/dtype[/sharding].
    key_impl: The PRNG implementation recorded for the leaf, if any.

  Raises:
    ValueError: the leaf cannot load as asked (e.g. an array as a string).
    TypeError: an unsupported abstract leaf.
  """
  vt = saved.value_type
  if vt != tree_lib.JAX_ARRAY:
    key_impl = None
  where = reads.where(saved)
  if abstract is None:
    if vt == tree_lib.JAX_ARRAY:
      return _jax(reads, saved, info.shape, info.dtype,
                  reads.default_sharding(saved), key_impl)
    if vt == tree_lib.NP_ARRAY:
      return NumpyArrayLeaf(tuple(info.shape), np.dtype(info.dtype))
    return ScalarLeaf()
  if isinstance(abstract, type):
    if abstract in (int, float, bool) or issubclass(abstract, np.generic):
      return ScalarLeaf(abstract)
    if abstract is str:
      raise ValueError(f"{where}: saved as {vt}, requested as a string")
    restore = restore_type_of_abstract(abstract)
    if restore == "jax":
      return _jax(reads, saved, info.shape, info.dtype,
                  reads.default_sharding(saved), key_impl)
    if restore == "np":
      return NumpyArrayLeaf(tuple(info.shape), np.dtype(info.dtype))
    raise TypeError(f"{where}: unsupported abstract leaf type "
                    f"{abstract.__name__}")
  if isinstance(abstract, (bool, int, float)) and not isinstance(
      abstract, np.generic):
    return ScalarLeaf(type(abstract))
  if isinstance(abstract, np.generic):
    # A numpy scalar loads back as a numpy scalar of the abstract's type.
    return ScalarLeaf(type(abstract))
  if isinstance(abstract, str):
    raise ValueError(f"{where}: saved as {vt}, requested as a string")
  shape = getattr(abstract, "shape", None)
  dtype = getattr(abstract, "dtype", None)
  restore = restore_type_of_abstract(type(abstract))
  if restore is None or shape is None or dtype is None:
    raise TypeError(
        f"{where}: unsupported abstract leaf of type "
        f"{type(abstract).__name__} (an abstract array leaf has shape and "
        "dtype, and a sharding attribute to load as jax.Array)")
  shape = tuple(shape)
  if restore == "np":
    if is_random_key_dtype(dtype):
      raise TypeError(
          f"{where}: a PRNG key loads as jax.Array; give an abstract leaf "
          "with a sharding (e.g. jax.ShapeDtypeStruct).")
    # As Orbax: a numpy leaf takes only its dtype from the abstract leaf and
    # its shape from the checkpoint, unless padding/truncation to the
    # abstract shape is enabled.
    if not reads.ctx.array_options.loading.enable_padding_and_truncation:
      shape = tuple(info.shape)
    return NumpyArrayLeaf(shape, np.dtype(dtype))
  sharding = sharding_lib.bind_to_devices(
      getattr(abstract, "sharding", None), reads.global_mesh)
  if is_random_key_dtype(dtype):
    # The abstract key has the logical shape; the stored key data has the
    # implementation's trailing dimensions.
    wanted = _dtype_impl(dtype)
    if key_impl is not None and key_impl != wanted:
      raise ValueError(f"{where}: saved as a {key_impl} PRNG key, requested "
                       f"as {dtype} ({wanted}).")
    key_impl = wanted
    physical = jax.eval_shape(jax.random.key_data,
                              jax.ShapeDtypeStruct(shape, dtype))
    if isinstance(sharding, jax.sharding.NamedSharding):
      trailing = (None,) * (len(physical.shape) - len(shape))
      sharding = jax.sharding.NamedSharding(
          sharding.mesh, jax.sharding.PartitionSpec(*sharding.spec,
                                                    *trailing),
          memory_kind=sharding.memory_kind)
    shape, dtype = tuple(physical.shape), physical.dtype
  if sharding is None:
    sharding = reads.default_sharding(saved)
  return _jax(reads, saved, shape, dtype, sharding, key_impl)
