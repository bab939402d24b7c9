# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""ocpx._core memory regulation: ByteLimiter, replica_slices, and limited
array writes/reads."""

import collections
import threading
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from ocpx import _core

try:
  from orbax.checkpoint._src.serialization import (  # pylint: disable=g-import-not-at-top
      replica_slices as orbax_replica_slices)
except ImportError:  # pragma: no cover - the oracle is optional
  orbax_replica_slices = None


# ---------------------------------------------------------------------------
# ByteLimiter


def test_limiter_basics():
  lim = _core.ByteLimiter(100)
  assert lim.max_bytes == 100 and lim.in_use == 0 and lim.peak == 0
  lim.reserve(60)
  assert lim.try_reserve(40)  # exactly the limit fits
  assert not lim.try_reserve(1)
  lim.release(100)
  assert lim.in_use == 0 and lim.peak == 100
  lim.reset_peak()
  assert lim.peak == 0
  with pytest.raises(ValueError):
    lim.release(1)
  with lim.reservation(30) as r:
    assert r.bytes == 30 and lim.in_use == 30
  assert lim.in_use == 0


def test_limiter_unlimited_counts():
  lim = _core.ByteLimiter(None)
  assert lim.max_bytes is None
  lim.reserve(10**15)
  lim.reserve(10**15, timeout=0)
  assert lim.in_use == 2 * 10**15 == lim.peak
  lim.release(2 * 10**15)


def test_limiter_timeout():
  lim = _core.ByteLimiter(10)
  lim.reserve(8)
  t0 = time.monotonic()
  with pytest.raises(TimeoutError):
    lim.reserve(5, timeout=0.05)
  assert time.monotonic() - t0 >= 0.04
  with pytest.raises(TimeoutError):
    with lim.reservation(5, timeout=0.01):
      pytest.fail("entered without the bytes")
  assert lim.in_use == 8 and lim.num_waiting == 0
  lim.reserve(2, timeout=0)  # fits at once
  lim.release(10)


def test_limiter_reservation_released_on_exception():
  lim = _core.ByteLimiter(10)
  with pytest.raises(KeyError):
    with lim.reservation(7):
      raise KeyError("x")
  assert lim.in_use == 0


def test_limiter_peak_under_threads():
  lim = _core.ByteLimiter(1000)
  errors = []

  def worker(seed):
    rng = np.random.default_rng(seed)
    try:
      for _ in range(200):
        n = int(rng.integers(1, 700))
        with lim.reservation(n):
          if lim.in_use > 1000:
            errors.append(lim.in_use)
          time.sleep(0.0001)
    except Exception as e:  # pylint: disable=broad-except
      errors.append(e)

  threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  assert not errors
  assert lim.in_use == 0
  assert lim.peak <= 1000


def test_limiter_oversize_request_proceeds_alone():
  lim = _core.ByteLimiter(100)
  lim.reserve(10)
  done = threading.Event()

  def big():
    lim.reserve(250)
    done.set()

  t = threading.Thread(target=big)
  t.start()
  deadline = time.monotonic() + 5
  while lim.num_waiting != 1 and time.monotonic() < deadline:
    time.sleep(0.001)
  assert lim.num_waiting == 1
  assert not done.is_set()
  assert not lim.try_reserve(1)  # FIFO: small ones queue behind it
  lim.release(10)
  t.join(5)
  assert done.is_set()
  assert lim.in_use == 250 == lim.peak
  with pytest.raises(TimeoutError):
    lim.reserve(1, timeout=0.02)  # nothing else while it runs
  lim.release(250)


def test_limiter_large_request_not_starved():
  lim = _core.ByteLimiter(100)
  stop = threading.Event()

  def small():
    while not stop.is_set():
      with lim.reservation(30):
        time.sleep(0.0005)

  threads = [threading.Thread(target=small) for _ in range(4)]
  for t in threads:
    t.start()
  try:
    time.sleep(0.02)
    lim.reserve(100, timeout=10)  # must get through the stream of small ones
    lim.release(100)
  finally:
    stop.set()
    for t in threads:
      t.join()
  assert lim.peak <= 100


# ---------------------------------------------------------------------------
# replica_slices


def _replica_count(arr):
  counts = collections.Counter(
      tuple((s.start, s.stop) for s in idx)
      for idx in arr.sharding.devices_indices_map(arr.shape).values())
  (n,) = set(counts.values())
  return n


def _start(idx, shape):
  return tuple(s.indices(d)[0] for s, d in zip(idx, shape))


def _ours(arr, **kw):
  shards = [(_start(s.index, arr.shape), tuple(s.data.shape), s.replica_id)
            for s in arr.addressable_shards]
  local_shape, slices = _core.replica_slices(
      tuple(arr.shape), arr.dtype.itemsize, shards, _replica_count(arr), **kw)
  boxes = []
  for shard_index, origin_in_shard, shape in slices:
    origin = shards[shard_index][0]
    boxes.append((tuple(o + d for o, d in zip(origin, origin_in_shard)),
                  tuple(shape)))
  return tuple(local_shape), boxes


def _orbax(arr, replica_id=0, use_replica_parallel=True, min_slice_bytes=0,
           max_replicas=None):
  rs = orbax_replica_slices.get_replica_slices(
      arr, replica_id, use_replica_parallel,
      min_slice_bytes_for_replica_parallel=min_slice_bytes,
      max_replicas_for_replica_parallel=max_replicas)
  boxes = []
  for r in rs.replica_slices:
    ranges = [s.indices(d) for s, d in zip(r.index, arr.shape)]
    boxes.append((tuple(a for a, _, _ in ranges),
                  tuple(b - a for a, b, _ in ranges)))
  return tuple(rs.local_shape), boxes


def _mesh42():
  return Mesh(np.array(jax.devices()[:8]).reshape(4, 2), ("x", "y"))


def _array(shape, spec, dtype=jnp.float32, mesh=None):
  mesh = mesh or _mesh42()
  x = jnp.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)
  return jax.device_put(x, NamedSharding(mesh, spec))


@pytest.mark.parametrize("shape,spec,dtype,want", [
    ((64, 16), P("x", "y"), jnp.float32, (16, 8)),
    ((16,), P(), jnp.bfloat16, (2,)),
    ((1024, 512), P("x"), jnp.float32, (128, 512)),
    ((8, 4), P(None, "y"), jnp.float32, (2, 2)),
])
def test_replica_slices_spec_examples(shape, spec, dtype, want):
  arr = _array(shape, spec, dtype)
  local_shape, boxes = _ours(arr)
  assert local_shape == want
  # Every element of the array is written exactly once by this (only)
  # process.
  covered = np.zeros(shape, np.int32)
  for origin, box in boxes:
    assert box == want
    covered[tuple(slice(o, o + b) for o, b in zip(origin, box))] += 1
  assert (covered == 1).all()
  if orbax_replica_slices is not None:
    assert (local_shape, boxes) == _orbax(arr)


ORACLE_CASES = [
    ((64, 16), P("x", "y"), {}),
    ((16,), P(), {}),
    ((16,), P(), {"max_replicas": 2}),
    ((16,), P(), {"max_replicas": 1}),
    ((16, 6), P(), {"min_slice_bytes": 16 * 6 * 4 // 8}),
    ((16, 6), P(), {"min_slice_bytes": 16 * 6 * 4 // 8 + 1}),
    ((16, 6), P(), {"use_replica_parallel": False}),
    ((16, 6), P(), {"use_replica_parallel": False, "replica_id": 3}),
    ((16, 6), P(), {"use_replica_parallel": False, "replica_id": None}),
    ((6, 3), P("y"), {}),  # 4 replicas, no axis divisible by 4
    ((12, 8), P("y"), {}),  # shard (6, 8), 4 replicas: axis 1
    ((6, 8), P("y"), {}),  # shard (3, 8): axis 1
    ((1024, 512), P("x"), {"max_replicas": 1}),
    ((8, 4), P(None, "y"), {"replica_id": 1, "use_replica_parallel": False}),
    ((0, 4), P(), {}),
    ((), P(), {}),
]


@pytest.mark.skipif(orbax_replica_slices is None, reason="no orbax oracle")
@pytest.mark.parametrize("shape,spec,kw", ORACLE_CASES)
def test_replica_slices_match_orbax(shape, spec, kw):
  arr = _array(shape, spec)
  assert _ours(arr, **kw) == _orbax(arr, **kw)


@pytest.mark.skipif(orbax_replica_slices is None, reason="no orbax oracle")
def test_replica_slices_match_orbax_1d_mesh():
  mesh = Mesh(np.array(jax.devices()[:8]), ("d",))
  for shape, spec in [((24, 5), P()), ((24, 5), P("d")), ((5, 40), P(None)),
                      ((3, 5), P())]:
    arr = _array(shape, spec, mesh=mesh)
    assert _ours(arr) == _orbax(arr), (shape, spec)


def test_replica_slices_pinned_host_rule():
  shards = [((0,), (4096,), i) for i in range(2)]
  assert _core.replica_slices((4096,), 4, shards, 2)[0] == (2048,)
  assert _core.replica_slices((4096,), 4, shards, 2,
                              pinned_host_transfer=True)[0] == (4096,)
  shards = [((0, 0), (16, 128), i) for i in range(2)]
  assert _core.replica_slices((16, 128), 4, shards, 2,
                              pinned_host_transfer=True)[0] == (8, 128)


def test_replica_slices_errors():
  with pytest.raises(ValueError):
    _core.replica_slices((4,), 4, [], 1)
  with pytest.raises(ValueError):
    _core.replica_slices((4,), 4, [((2,), (4,), 0)], 1)  # outside
  with pytest.raises(ValueError):
    _core.replica_slices((4,), 4, [((0,), (4,), 0)], 0)


# ---------------------------------------------------------------------------
# Limited array writes and reads


@pytest.mark.parametrize("use_ocdbt", [True, False])
def test_writer_reader_with_limiter(tmp_path, use_ocdbt):
  shape, chunk = (64, 64), (8, 8)  # 64 chunks of 256 bytes
  data = np.arange(np.prod(shape), dtype=np.int32).reshape(shape)
  limit = 3 * 256
  wlim = _core.ByteLimiter(limit)
  db = tmp_path / ("ocdbt.process_0" if use_ocdbt else "")
  w = _core.CheckpointArrayWriter(str(db), use_ocdbt=use_ocdbt, limiter=wlim)
  w.write_metadata("a", list(shape), "int32", list(chunk), 3)

  def write_band(i):
    w.write("a", list(shape), "int32", list(chunk), 3, [16 * i, 0],
            data[16 * i:16 * (i + 1)])

  threads = [threading.Thread(target=write_band, args=(i,)) for i in range(4)]
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  w.commit()
  assert 0 < wlim.peak <= limit
  assert wlim.in_use == 0
  if use_ocdbt:
    _core.ocdbt_merge(str(tmp_path), ["ocdbt.process_0"])

  r = _core.CheckpointArrayReader(str(tmp_path), use_ocdbt=use_ocdbt)
  rlim = _core.ByteLimiter(2 * 256)
  np.testing.assert_array_equal(r.read("a", [0, 0], list(shape),
                                       limiter=rlim), data)
  assert 0 < rlim.peak <= 2 * 256
  # A straddling box (staged chunks) and the old positional signature.
  np.testing.assert_array_equal(
      r.read("a", [3, 5], [20, 30], True, limiter=rlim), data[3:23, 5:35])
  np.testing.assert_array_equal(r.read("a", [3, 5], [20, 30], True),
                                data[3:23, 5:35])
  assert rlim.peak <= 2 * 256 and rlim.in_use == 0


def test_writer_limiter_chunk_larger_than_limit(tmp_path):
  data = np.arange(32 * 32, dtype=np.float32).reshape(32, 32)
  lim = _core.ByteLimiter(100)  # below one 8x32 float32 chunk (1 KiB)
  w = _core.CheckpointArrayWriter(str(tmp_path / "db"), use_ocdbt=False,
                                  limiter=lim)
  w.write_metadata("a", [32, 32], "float32", [8, 32], None)
  w.write("a", [32, 32], "float32", [8, 32], None, [0, 0], data)
  w.commit()
  assert lim.peak == 8 * 32 * 4  # each chunk ran alone
  r = _core.CheckpointArrayReader(str(tmp_path / "db"), use_ocdbt=False)
  np.testing.assert_array_equal(r.read("a", [0, 0], [32, 32], limiter=lim),
                                data)
