# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Loads of many arrays, whose reads run in the background.

A load of at least 256 arrays starts reading runs of them on the native
thread pool (`read_many_async`) while the rest are planned and the values
are built.  These tests check what a user sees: the same values as a small
load, every leaf kind in one tree, and errors (a corrupt chunk, a missing
array) raised as before, naming the array, with nothing left running.
"""

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ocpx import _core
from ocpx import v1 as ocp
from ocpx._src import engine
from ocpx._src.handlers import pytree_loading

N = 300  # above the pipelining threshold
assert N >= pytree_loading._PIPELINE_MIN_ARRAYS  # pylint: disable=protected-access


def _tree(n=N):
  tree = {}
  for i in range(n):
    if i % 3 == 0:
      tree[f"a{i:03d}"] = jnp.arange(i + 1, dtype=jnp.float32) * 0.5 - i
    elif i % 3 == 1:
      tree[f"a{i:03d}"] = np.full((2, i % 7 + 1), i, dtype=np.int16)
    else:
      tree[f"a{i:03d}"] = i  # a scalar: its chunk is always required
  tree["text"] = "words"
  return tree


def _check(got, want):
  assert set(got) == set(want)
  for k, w in want.items():
    g = got[k]
    if isinstance(w, (int, str)):
      assert g == w, k
    else:
      assert type(g) is type(w), k  # pylint: disable=unidiomatic-typecheck
      np.testing.assert_array_equal(np.asarray(g), np.asarray(w), err_msg=k)


def _no_ocdbt():
  return ocp.Context(array_options=ocp.options.ArrayOptions(
      saving=ocp.options.ArrayOptions.Saving(use_ocdbt=False)))


@pytest.fixture
def async_runs(monkeypatch):
  """The sizes of the runs started with `read_many_async`."""
  runs = []
  real = engine.ArrayStore.read_many_async

  def spy(self, requests, fail_on_missing=True):
    runs.append(len(requests))
    return real(self, requests, fail_on_missing)

  monkeypatch.setattr(engine.ArrayStore, "read_many_async", spy)
  return runs


@pytest.mark.parametrize("abstract", [False, True])
def test_many_arrays_load_the_same_values(tmp_path, abstract, async_runs):
  tree = _tree()
  ocp.save(tmp_path / "c", tree)
  target = jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype,
                                     sharding=x.sharding)
      if isinstance(x, jax.Array) else x, tree) if abstract else None
  _check(ocp.load(tmp_path / "c", target), tree)
  # Read in several runs (scalars apart: they always need their chunk).
  assert len(async_runs) >= 3 and sum(async_runs) == N, async_runs


def test_few_arrays_are_read_in_one_blocking_call(tmp_path, async_runs):
  tree = _tree(20)
  ocp.save(tmp_path / "c", tree)
  _check(ocp.load(tmp_path / "c"), tree)
  assert not async_runs


def test_many_arrays_into_a_different_sharding(tmp_path):
  devices = jax.devices()
  if len(devices) < 2:
    pytest.skip("needs several devices")
  mesh = jax.sharding.Mesh(np.array(devices[:2]), ("x",))
  sharded = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("x"))
  tree = {f"a{i:03d}": jnp.arange(8, dtype=jnp.float32) + i
          for i in range(N)}
  ocp.save(tmp_path / "c", tree)
  target = {k: jax.ShapeDtypeStruct((8,), jnp.float32, sharding=sharded)
            for k in tree}
  got = ocp.load(tmp_path / "c", target)
  for k, v in tree.items():
    assert got[k].sharding == sharded
    np.testing.assert_array_equal(np.asarray(got[k]), np.asarray(v))


def _corrupt_chunk(root: pathlib.Path, param: str) -> None:
  chunks = [p for p in (root / "state" / param).rglob("*")
            if p.is_file() and p.name not in ("zarr.json", ".zarray")]
  assert chunks, param
  data = bytearray(chunks[0].read_bytes())
  data[len(data) // 2] ^= 0x40
  chunks[0].write_bytes(bytes(data))


@pytest.mark.parametrize("param", ["a003", "a298"])  # the first / last run
def test_corrupt_chunk_in_a_run_is_an_error_naming_the_array(tmp_path, param):
  with _no_ocdbt():
    ocp.save(tmp_path / "c", _tree())
  _corrupt_chunk(tmp_path / "c", param)
  with pytest.raises(ValueError, match=rf"(?s){param}.*checksum mismatch"):
    ocp.load(tmp_path / "c")


def test_missing_array_in_a_run_is_array_data_missing(tmp_path):
  with _no_ocdbt():
    ocp.save(tmp_path / "c", _tree())
  for p in (tmp_path / "c/state/a150").rglob("*"):
    if p.is_file() and p.name != "zarr.json":
      p.unlink()
  # Scalars always need their chunk; a missing array chunk is an error by
  # default too (ArrayOptions.Loading.raise_array_data_missing_error).
  tree = _tree()
  target = {k: v for k, v in tree.items()}
  with pytest.raises(engine.ArrayDataMissingError):
    ocp.load(tmp_path / "c", target)


def _reader(tmp_path):
  ocp.save(tmp_path / "c", {f"a{i}": np.arange(i + 2, dtype=np.int32)
                            for i in range(8)})
  return _core.CheckpointArrayReader(str(tmp_path / "c/state"),
                                     use_ocdbt=True, metadata_keys=[])


def test_read_many_async_boxes_can_be_taken_in_any_order(tmp_path):
  reader = _reader(tmp_path)
  reqs = [(f"a{i}", [1], [i + 1]) for i in range(8)]
  pending = reader.read_many_async(reqs, True)
  assert len(pending) == 8
  for i in reversed(range(8)):
    np.testing.assert_array_equal(pending.take(i), np.arange(1, i + 2))
  with pytest.raises(ValueError, match="already taken"):
    pending.take(3)
  with pytest.raises(IndexError):
    pending.take(8)


def test_read_many_async_invalid_request_raises_before_reading(tmp_path):
  reader = _reader(tmp_path)
  with pytest.raises(ValueError, match="rank"):
    reader.read_many_async([("a1", [0], [1]), ("a2", [0, 0], [1, 1])], True)
  with pytest.raises(FileNotFoundError):
    reader.read_many_async([("nope", [0], [1])], True)


def test_read_many_async_cancel_skips_what_has_not_started(tmp_path):
  reader = _reader(tmp_path)
  pending = reader.read_many_async([(f"a{i}", [0], [2]) for i in range(8)],
                                   True)
  pending.cancel()  # waits for running reads; the rest are skipped
  for i in range(8):
    try:
      got = pending.take(i)
    except Exception as e:  # pylint: disable=broad-except
      assert "cancelled" in str(e), e
    else:
      np.testing.assert_array_equal(got, [0, 1])
  del pending  # nothing left running
