# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""ocpx and orbax-checkpoint 0.12.8 load each other's checkpoints."""

import collections
import json

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest

from ocpx import v1 as ocp

orbax_v1 = pytest.importorskip("orbax.checkpoint.experimental.v1")

Point = collections.namedtuple("Point", ["x", "y"])


def _tree():
  return {
      "params": {
          "w": jnp.arange(64 * 16, dtype=jnp.float32).reshape(64, 16),
          "b": jnp.linspace(-1, 1, 16, dtype=jnp.bfloat16),
          "i8": jnp.arange(-5, 5, dtype=jnp.int8),
          "mask": jnp.array([True, False, True]),
          "zero_d": jnp.asarray(3.5, dtype=jnp.float32),
          "u64": jnp.array([0, 2**63 + 5], dtype=jnp.uint64)
          if jax.config.read("jax_enable_x64") else jnp.array([1, 2], jnp.uint32),
          "c64": jnp.array([1 + 2j, -3j], dtype=jnp.complex64),
      },
      "np": {
          "f64": np.linspace(0, 1, 7),
          "i16": np.arange(12, dtype=np.int16).reshape(3, 4),
          "bf16": np.arange(4).astype(ml_dtypes.bfloat16),
          "scalar0d": np.array(7, dtype=np.int32),
      },
      "step": 1234,
      "lr": 0.125,
      "flag": True,
      "name": "hello \u00e9",
      "lst": [1, "two", jnp.ones(3)],
      "tup": (np.ones(2, np.float32), 5),
      "nested": {"deep": {"deeper": {"x": np.arange(3, dtype=np.uint8)}}},
      "none": None,
      "emptydict": {},
      "emptylist": [],
  }


def _abstract(tree):
  def one(x):
    if isinstance(x, jax.Array):
      return jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding)
    return x
  return jax.tree.map(one, tree)


def _assert_tree_equal(got, want):
  gl, gd = jax.tree_util.tree_flatten(got)
  wl, wd = jax.tree_util.tree_flatten(want)
  assert gd == wd, (gd, wd)
  for g, w in zip(gl, wl):
    if isinstance(w, (str, bool, int, float)):
      assert type(g) is type(w) and g == w, (g, w)
    else:
      assert type(g) is type(w) or (isinstance(w, jax.Array)
                                    and isinstance(g, jax.Array)), (g, w)
      assert g.dtype == w.dtype and g.shape == w.shape, (g, w)
      np.testing.assert_array_equal(np.asarray(g), np.asarray(w))


def test_ocpx_saves_orbax_loads(tmp_path):
  tree = _tree()
  ocp.save(tmp_path / "ck", tree, custom_metadata={"run": "a"})
  assert orbax_v1.is_orbax_checkpoint(tmp_path / "ck")
  got = orbax_v1.load(tmp_path / "ck", _abstract(tree))
  _assert_tree_equal(got, tree)
  meta = orbax_v1.metadata(tmp_path / "ck")
  assert meta.custom_metadata == {"run": "a"}
  # Orbax 0.12.8 cannot describe trees with a bool scalar leaf ("Unsupported
  # dtype: bool"), so check its metadata() on a tree without one.
  small = {k: v for k, v in tree.items() if k != "flag"}
  ocp.save(tmp_path / "small", small)
  meta = orbax_v1.metadata(tmp_path / "small")
  assert meta.metadata["params"]["w"].shape == (64, 16)
  assert meta.metadata["np"]["i16"].dtype == np.int16
  assert meta.metadata["step"] == 0 and meta.metadata["name"] == "string"


def test_orbax_saves_ocpx_loads(tmp_path):
  tree = _tree()
  orbax_v1.save(tmp_path / "ck", tree, custom_metadata={"k": 1})
  got = ocp.load(tmp_path / "ck", _abstract(tree))
  _assert_tree_equal(got, tree)
  meta = ocp.metadata(tmp_path / "ck")
  assert meta.custom_metadata == {"k": 1}
  assert meta.init_timestamp_nsecs and meta.commit_timestamp_nsecs
  w = meta.metadata["params"]["w"]
  assert w.shape == (64, 16) and w.dtype == np.float32
  assert w.storage_metadata.chunk_shape == (64, 16)
  assert meta.metadata["name"] == "string"


def test_load_without_abstract_matches_orbax(tmp_path):
  tree = _tree()
  ocp.save(tmp_path / "ours", tree)
  orbax_v1.save(tmp_path / "theirs", tree)
  for path in ("ours", "theirs"):
    mine = ocp.load(tmp_path / path)
    ref = orbax_v1.load(tmp_path / path)
    assert jax.tree_util.tree_structure(mine) == jax.tree_util.tree_structure(
        ref), path
    for a, b in zip(jax.tree.leaves(mine), jax.tree.leaves(ref)):
      assert type(a) is type(b), (path, a, b)
      np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_on_disk_layout_matches_orbax(tmp_path):
  tree = {"a": jnp.arange(8, dtype=jnp.int32), "s": "x", "n": 3,
          "b": {"c": np.ones((2, 3), np.float32)}}
  ocp.save(tmp_path / "ours", tree)
  orbax_v1.save(tmp_path / "theirs", tree)

  def files(root):
    out = set()
    for p in root.rglob("*"):
      rel = p.relative_to(root)
      if rel.parts and rel.parts[-2:-1] == ("d",):
        continue  # random data file names
      out.add(str(rel))
    return out

  assert files(tmp_path / "ours") == files(tmp_path / "theirs")
  for f in ("state/_METADATA", "state/array_metadatas/process_0",
            "state/_sharding", "state/_strings.json"):
    assert (tmp_path / "ours" / f).read_text() == (
        tmp_path / "theirs" / f).read_text(), f
  ours = json.loads((tmp_path / "ours" / "_CHECKPOINT_METADATA").read_text())
  theirs = json.loads((tmp_path / "theirs" / "_CHECKPOINT_METADATA").read_text())
  assert list(ours) == list(theirs)
  assert ours["item_handlers"] == theirs["item_handlers"]


def test_checkpointables_both_ways(tmp_path):
  state = {"w": np.arange(4.0)}
  extra = {"note": "hi", "nums": {"a": "b"}}
  ocp.save_checkpointables(tmp_path / "ours", {"state": state, "extra": extra})
  got = orbax_v1.load_checkpointables(tmp_path / "ours")
  np.testing.assert_array_equal(got["state"]["w"], state["w"])
  assert got["extra"] == extra
  orbax_v1.save_checkpointables(tmp_path / "theirs",
                                {"state": state, "extra": {"x": 1.5}})
  got = ocp.load_checkpointables(tmp_path / "theirs")
  np.testing.assert_array_equal(got["state"]["w"], state["w"])
  assert got["extra"] == {"x": 1.5}
  meta = ocp.checkpointables_metadata(tmp_path / "theirs")
  assert set(meta.metadata) == {"state", "extra"}


def test_sharded_arrays_both_ways(tmp_path):
  devices = np.asarray(jax.devices()[:8]).reshape(4, 2)
  mesh = jax.sharding.Mesh(devices, ("x", "y"))
  P = jax.sharding.PartitionSpec
  x = jax.device_put(jnp.arange(64 * 16, dtype=jnp.float32).reshape(64, 16),
                     jax.sharding.NamedSharding(mesh, P("x", "y")))
  r = jax.device_put(jnp.arange(32, dtype=jnp.int32),
                     jax.sharding.NamedSharding(mesh, P()))
  tree = {"x": x, "r": r}
  ocp.save(tmp_path / "ours", tree)
  got = orbax_v1.load(tmp_path / "ours", _abstract(tree))
  _assert_tree_equal(got, tree)
  orbax_v1.save(tmp_path / "theirs", tree)
  other = jax.sharding.NamedSharding(
      jax.sharding.Mesh(np.asarray(jax.devices()[:8]).reshape(2, 4), ("a", "b")),
      P("b", "a"))
  got = ocp.load(tmp_path / "theirs", {
      "x": jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=other),
      "r": jax.ShapeDtypeStruct(r.shape, r.dtype, sharding=other.mesh and
                                jax.sharding.NamedSharding(other.mesh, P()))})
  assert got["x"].sharding == other
  np.testing.assert_array_equal(np.asarray(got["x"]), np.asarray(x))
  np.testing.assert_array_equal(np.asarray(got["r"]), np.asarray(r))
  # Without an abstract tree the saved sharding is used.
  got = ocp.load(tmp_path / "theirs")
  assert got["x"].sharding.spec == P("x", "y")
