# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Load-and-broadcast (`ArrayOptions.Loading.use_load_and_broadcast`).

The target sharding's mesh is split into replicas along the axis
`LoadAndBroadcastOptions.replica_axis_index`.  Only the devices of replica
`primary_replica_id` get data read from the checkpoint; every other device
starts from zeros, and a collective (an all-gather over the replica axis,
then taking the primary replica's block) copies the primary replica's data
to all replicas, bit for bit.  With many hosts this reads each byte once
instead of once per replica; on one host (e.g. CPU devices) it works the
same way, through the same collective.

`broadcast_memory_limit_bytes` bounds the device memory one broadcast may
use (the gathered blocks of one leaf); a leaf that needs more is refused
with a ValueError rather than risking an out-of-memory failure.  Without a
limit, `broadcast_memory_scaling_factor` times the free memory the devices
report is the limit (devices that report none, like CPUs, impose none).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import jax
import numpy as np


@dataclasses.dataclass(frozen=True)
class Plan:
  """How one leaf is read and broadcast."""

  sharding: jax.sharding.NamedSharding
  replica_axis: str
  n_replicas: int
  primary_devices: frozenset  # devices whose data is read from disk


def _options(loading):
  return loading.load_and_broadcast_options


def plan(sharding: Any, loading, where: str) -> Plan:
  """Checks the options against `sharding`; ValueError names the problem."""
  opts = _options(loading)
  if not isinstance(sharding, jax.sharding.NamedSharding):
    raise ValueError(
        f"{where}: use_load_and_broadcast needs a NamedSharding target (got "
        f"{type(sharding).__name__}); pass abstract leaves with one.")
  mesh = sharding.mesh
  axis_index = opts.replica_axis_index
  axis_index = 0 if axis_index is None else int(axis_index)
  if not 0 <= axis_index < len(mesh.axis_names):
    raise ValueError(
        f"{where}: LoadAndBroadcastOptions.replica_axis_index={axis_index} "
        f"is not an axis of the mesh {dict(mesh.shape)}.")
  axis = mesh.axis_names[axis_index]
  used: set[Any] = set()
  for p in sharding.spec:
    used.update(p if isinstance(p, tuple) else (p,))
  if axis in used:
    raise ValueError(
        f"{where}: the target sharding splits the array along the replica "
        f"axis {axis!r}, so replicas along it do not hold the same data; "
        "use_load_and_broadcast needs the array replicated along "
        f"LoadAndBroadcastOptions.replica_axis_index={axis_index}.")
  n = int(mesh.devices.shape[axis_index])
  primary = opts.primary_replica_id
  primary = 0 if primary is None else int(primary)
  if not 0 <= primary < n:
    raise ValueError(
        f"{where}: LoadAndBroadcastOptions.primary_replica_id={primary} is "
        f"not one of the {n} replicas along axis {axis!r}.")
  devices = np.take(np.asarray(mesh.devices), primary, axis=axis_index)
  return Plan(sharding, axis, n, frozenset(devices.ravel().tolist()))


def _limit_bytes(loading) -> Optional[int]:
  opts = _options(loading)
  limit = opts.broadcast_memory_limit_bytes
  if limit is not None:
    if limit <= 0:
      raise ValueError(
          "LoadAndBroadcastOptions.broadcast_memory_limit_bytes must be "
          f"positive, got {limit}.")
    return int(limit)
  factor = opts.broadcast_memory_scaling_factor
  factor = 0.75 if factor is None else float(factor)
  if not 0 < factor <= 1:
    raise ValueError(
        "LoadAndBroadcastOptions.broadcast_memory_scaling_factor must be in "
        f"(0, 1], got {factor}.")
  free = []
  for d in jax.local_devices():
    try:
      stats = d.memory_stats()
    except Exception:  # pylint: disable=broad-except
      stats = None
    if stats and "bytes_limit" in stats:
      free.append(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
  return int(min(free) * factor) if free else None


def broadcast(p: Plan, shape: tuple, dtype, shard_data: dict, loading,
              where: str) -> jax.Array:
  """The global array: `shard_data[device]` holds each local device's block
  (real data on primary-replica devices, zeros elsewhere)."""
  itemsize = np.dtype(dtype).itemsize
  block = p.sharding.shard_shape(tuple(shape))
  need = int(np.prod(block, dtype=np.int64)) * itemsize * p.n_replicas
  limit = _limit_bytes(loading)
  if limit is not None and need > limit:
    raise ValueError(
        f"{where}: broadcasting this leaf needs {need} bytes per device, more "
        f"than the broadcast memory limit of {limit} bytes "
        "(LoadAndBroadcastOptions); raise the limit or load without "
        "use_load_and_broadcast.")
  mesh = p.sharding.mesh
  spec = tuple(p.sharding.spec) + (None,) * (len(shape) - len(p.sharding.spec))
  stacked = jax.sharding.NamedSharding(
      mesh, jax.sharding.PartitionSpec(p.replica_axis, *spec))
  arrays = [jax.device_put(host[None], device)
            for device, host in shard_data.items()]
  stacked_array = jax.make_array_from_single_device_arrays(
      (p.n_replicas,) + tuple(shape), stacked, arrays)
  primary = int(_options(loading).primary_replica_id or 0)

  def pick(x):
    gathered = jax.lax.all_gather(x, p.replica_axis, axis=0, tiled=True)
    return gathered[primary]

  shard_map: Any = getattr(jax, "shard_map", None)
  if shard_map is None:  # older JAX
    from jax.experimental.shard_map import shard_map  # pylint: disable=g-import-not-at-top
  kwargs = dict(mesh=mesh,
                in_specs=jax.sharding.PartitionSpec(p.replica_axis, *spec),
                out_specs=jax.sharding.PartitionSpec(*spec))
  # The gathered primary block is the same on every replica; JAX cannot
  # infer that replication statically, so its check is turned off.
  try:
    mapped = shard_map(pick, check_vma=False, **kwargs)
  except TypeError:  # older JAX
    mapped = shard_map(pick, check_rep=False, **kwargs)
  fn = jax.jit(mapped, out_shardings=p.sharding)
  return fn(stacked_array)
