# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""jax.Array serialization: which boxes this process writes, and how they
reach host memory.

Save:
  1. For each array, the C++ replica selection (`_core.replica_slices`,
     docs/format.md, "Chunk shapes and replicas") picks the boxes this process writes: replica 0 of
     each shard, or, with replica-parallel, one slice of each replicated
     shard per replica.
  2. Device-to-host: `start_transfer` starts every slice's copy
     (`copy_to_host_async()`, or with pinned host transfer a `device_put` to
     the device's `pinned_host` memory) for all arrays of a save before
     `finish_transfer` waits on any.  On the CPU backend the host array is a
     zero-copy view of the device buffer for blocking saves, and a copy for
     async saves (the caller may delete or donate the buffer afterwards).
  3. Boxes are written by the native engine, bounded by byte limiters.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, Optional, Sequence

import jax
import numpy as np

from ocpx import _core


@dataclasses.dataclass
class Box:
  """One box of an array that this process writes."""

  origin: tuple          # global origin
  shape: tuple
  shard_data: Any        # the jax.Array of the source shard (device buffer)
  slices: tuple          # index of the box inside the shard
  itemsize: int = 1
  host: Optional[np.ndarray] = None

  @property
  def nbytes(self) -> int:
    return math.prod(self.shape) * self.itemsize


def _box(index, global_shape):
  origin, shape = [], []
  for sl, dim in zip(index, global_shape):
    start, stop, step = sl.indices(dim)
    if step != 1:
      raise ValueError("strided shard indices are not supported")
    origin.append(start)
    shape.append(stop - start)
  return tuple(origin), tuple(shape)


def replica_count(arr: jax.Array) -> int:
  m = arr.sharding.devices_indices_map(arr.shape)
  distinct = {tuple((s.start, s.stop) for s in idx) for idx in m.values()}
  return max(1, len(m) // max(1, len(distinct)))


def use_pinned_host(saving) -> bool:
  opt = saving.enable_pinned_host_transfer
  if opt is None:
    return jax.default_backend() == "gpu"
  return bool(opt)


def plan_boxes(arr: jax.Array, saving, *,
               replica_id: Optional[int]) -> tuple[tuple, list[Box]]:
  """(write_shape, boxes) for the part of `arr` this process writes: the
  shards of replica `replica_id` (None: each shard's first replica held
  here), split across replicas with replica-parallel saving."""
  if (replica_id in (0, None)
      and isinstance(arr.sharding, jax.sharding.SingleDeviceSharding)
      and arr.is_fully_addressable):
    # One shard, one replica, on this process: the whole array is the box
    # (what the general path below computes, without building Shards).
    shape = tuple(arr.shape)
    return shape, [Box(origin=(0,) * len(shape), shape=shape,
                       shard_data=arr,
                       slices=tuple(slice(0, n) for n in shape),
                       itemsize=int(arr.dtype.itemsize))]
  return _plan_boxes(arr, saving, replica_id=replica_id)


def _plan_boxes(arr: jax.Array, saving, *,
                replica_id: Optional[int]) -> tuple[tuple, list[Box]]:
  shards = list(arr.addressable_shards)
  infos = []
  for s in shards:
    origin, shape = _box(s.index, arr.shape)
    infos.append((list(origin), list(shape), int(s.replica_id)))
  use_rp = saving.use_replica_parallel
  if use_rp is None:
    use_rp = True
  local_shape, boxes = _core.replica_slices(
      list(arr.shape), int(arr.dtype.itemsize), infos, replica_count(arr),
      use_replica_parallel=bool(use_rp),
      min_slice_bytes=int(saving.min_slice_bytes_for_replica_parallel or 0),
      max_replicas=saving.max_replicas_for_replica_parallel,
      replica_id=replica_id,
      pinned_host_transfer=use_pinned_host(saving))
  out = []
  for shard_index, origin_in_shard, shape in boxes:
    shard = shards[shard_index]
    shard_origin = infos[shard_index][0]
    slices = tuple(slice(o, o + n) for o, n in zip(origin_in_shard, shape))
    out.append(Box(
        origin=tuple(a + b for a, b in zip(shard_origin, origin_in_shard)),
        shape=tuple(shape), shard_data=shard.data, slices=slices,
        itemsize=int(arr.dtype.itemsize)))
  return tuple(local_shape), out


@dataclasses.dataclass(frozen=True)
class _HostSlice:
  """A box of a CPU shard, to be sliced from a host view of the shard."""

  data: Any
  slices: tuple


@functools.lru_cache(maxsize=16)
def _sharding_on_cpu(sharding) -> bool:
  return all(d.platform == "cpu" for d in sharding.device_set)


def _on_cpu(x) -> bool:
  """Whether the jax.Array `x` lives on the CPU backend only."""
  sharding = getattr(x, "sharding", None)
  try:
    hash(sharding)
    hashable = sharding is not None
  except TypeError:
    hashable = False
  if hashable:
    return _sharding_on_cpu(sharding)
  try:
    return all(d.platform == "cpu" for d in x.devices())
  except AttributeError:
    return False


def start_transfer(boxes: Sequence[Box], *, pinned: bool) -> list[Any]:
  """Starts the device-to-host copy of every box without waiting for any.

  Returns the per-box sources to hand to `finish_transfer`.  Off the CPU
  backend each box gets `jax.Array.copy_to_host_async()` (or, with `pinned`,
  an asynchronously dispatched `device_put` to the device's `pinned_host`
  memory).  On the CPU backend the buffer already is host memory, so nothing
  is started: `finish_transfer` takes a zero-copy view.

  Example:

      staged = start_transfer(boxes_a + boxes_b, pinned=False)
      finish_transfer(boxes_a + boxes_b, staged, copy=True, pinned=False)
  """
  from ocpx._src import sharding as sharding_lib  # pylint: disable=g-import-not-at-top
  with sharding_lib.without_global_mesh():
    return _start_transfer(boxes, pinned=pinned)


def _start_transfer(boxes: Sequence[Box], *, pinned: bool) -> list[Any]:
  staged: list[Any] = []
  for b in boxes:
    data = b.shard_data
    whole = all(s.start == 0 and s.stop == n
                for s, n in zip(b.slices, data.shape))
    if not whole and not pinned and _on_cpu(data):
      # A CPU buffer is host memory: `finish_transfer` slices a zero-copy
      # view of it with numpy.  (Slicing the jax.Array would dispatch, and
      # on first use compile, one XLA computation per slice shape.)
      staged.append(_HostSlice(data, tuple(b.slices)))
      continue
    src = data if whole else data[b.slices]
    if pinned:
      dev = next(iter(src.devices()))
      kinds = {m.kind for m in dev.addressable_memories()}
      if "pinned_host" in kinds:
        src = jax.device_put(src, jax.sharding.SingleDeviceSharding(
            dev, memory_kind="pinned_host"))
    elif not _on_cpu(src):
      # (copy_to_host_async on a CPU array would make a needless cached copy.)
      try:
        src.copy_to_host_async()
      except (AttributeError, RuntimeError):
        pass
    staged.append(src)
  return staged


def finish_transfer(boxes: Sequence[Box], staged: Sequence[Any], *,
                    copy: bool, pinned: bool, dtype=None) -> None:
  """Waits for the copies `start_transfer` started; fills `box.host`."""
  for b, src in zip(boxes, staged):
    if isinstance(src, _HostSlice):
      host = np.asarray(src.data)[src.slices]
      src = src.data
    else:
      host = np.asarray(src)
    # A zero-copy view of a CPU buffer stays valid on its own: while the view
    # exists JAX keeps the buffer alive through delete() and refuses to
    # donate it.  A pinned_host transfer is a fresh buffer of its own, and
    # other backends' host arrays are fresh copies already.
    if _on_cpu(src) or pinned:
      copy = False
    if dtype is not None and host.dtype != dtype:
      host = host.astype(dtype)  # a new array
    elif copy or not host.flags.c_contiguous:
      host = np.array(host, copy=True, order="C")
    b.host = host
    b.shard_data = None  # the host copy (or view) is what is written now


def transfer_plans(plans: Sequence[Any], *, copy: bool, pinned: bool) -> None:
  """Device-to-host for every box of `plans` (each with `.boxes` and
  `.dtype`, the storage dtype): all copies started before any is awaited."""
  staged = start_transfer([b for p in plans for b in p.boxes], pinned=pinned)
  start = 0
  for p in plans:
    end = start + len(p.boxes)
    finish_transfer(p.boxes, staged[start:end], copy=copy, pinned=pinned,
                    dtype=p.dtype)
    start = end


def transfer(boxes: Sequence[Box], *, copy: bool, pinned: bool,
             dtype=None) -> None:
  """`start_transfer` then `finish_transfer` for `boxes`."""
  staged = start_transfer(boxes, pinned=pinned)
  finish_transfer(boxes, staged, copy=copy, pinned=pinned, dtype=dtype)


def host_box(origin, host: np.ndarray) -> Box:
  """A box whose data is already in host memory."""
  return Box(origin=tuple(origin), shape=tuple(host.shape), shard_data=None,
             slices=(), itemsize=host.dtype.itemsize, host=host)
