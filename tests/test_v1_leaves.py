# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Leaf types and placement: PRNG keys, single-leaf trees, numpy scalars,
which abstract leaves load as what, global and abstract meshes."""

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from ocpx import v1 as ocp
from ocpx._src import options as options_lib
from ocpx._src import sharding as sharding_lib

orbax_v1 = pytest.importorskip("orbax.checkpoint.experimental.v1")

IMPLS = ("threefry2x32", "rbg", "unsafe_rbg")


def _keys():
  return {
      "fry": jax.random.key(11),
      "rbg": jax.random.key(12, impl="rbg"),
      "urbg": jax.random.key(13, impl="unsafe_rbg"),
      "many": jax.random.split(jax.random.key(14), 5),
      "raw": jax.random.PRNGKey(3),  # an old-style uint32 key stays uint32
      "w": jnp.arange(4.0),
  }


def _same_keys(got, want):
  for name, w in want.items():
    g = got[name]
    if jax.dtypes.issubdtype(w.dtype, jax.dtypes.prng_key):
      assert g.dtype == w.dtype, name
      assert g.shape == w.shape, name
      np.testing.assert_array_equal(jax.random.key_data(g),
                                    jax.random.key_data(w))
    else:
      assert g.dtype == w.dtype, name
      np.testing.assert_array_equal(g, w)


def _abstract(tree, with_sharding=True):
  return jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(
          x.shape, x.dtype, sharding=x.sharding if with_sharding else None),
      tree)


@pytest.mark.parametrize("abstract", ["none", "sharded", "unsharded"])
def test_prng_keys_round_trip(tmp_path, abstract):
  keys = _keys()
  ocp.save(tmp_path / "c", keys)
  target = {"none": None, "sharded": _abstract(keys),
            "unsharded": _abstract(keys, False)}[abstract]
  _same_keys(ocp.load(tmp_path / "c", target), keys)


def test_prng_keys_are_stored_like_orbax(tmp_path):
  keys = _keys()
  ocp.save(tmp_path / "ours", keys)
  orbax_v1.save(tmp_path / "theirs", keys)

  def ext(path):
    doc = json.loads((path / "state/array_metadatas/process_0").read_text())
    return {e["array_metadata"]["param_name"]: e["array_metadata"]
            for e in doc["array_metadatas"]}

  ours, theirs = ext(tmp_path / "ours"), ext(tmp_path / "theirs")
  assert ours == theirs
  assert ours["rbg"]["ext_metadata"] == {"random_key_impl": "rbg"}
  assert ours["raw"]["ext_metadata"] is None
  ours_md = json.loads((tmp_path / "ours/state/_METADATA").read_text())
  theirs_md = json.loads((tmp_path / "theirs/state/_METADATA").read_text())
  assert ours_md["tree_metadata"] == theirs_md["tree_metadata"]


def test_orbax_loads_prng_keys_saved_by_ocpx(tmp_path):
  keys = _keys()
  ocp.save(tmp_path / "c", keys)
  _same_keys(orbax_v1.load(tmp_path / "c"), keys)
  _same_keys(orbax_v1.load(tmp_path / "c", _abstract(keys)), keys)


def test_ocpx_loads_prng_keys_saved_by_orbax(tmp_path):
  keys = _keys()
  orbax_v1.save(tmp_path / "c", keys)
  _same_keys(ocp.load(tmp_path / "c"), keys)
  _same_keys(ocp.load(tmp_path / "c", _abstract(keys)), keys)


def test_prng_key_metadata_is_the_stored_key_data(tmp_path):
  ocp.save(tmp_path / "c", {"k": jax.random.key(0, impl="rbg")})
  md = ocp.metadata(tmp_path / "c").metadata["k"]
  assert md.shape == (4,) and md.dtype == np.uint32  # as Orbax reports it


def test_prng_key_of_another_impl_is_refused(tmp_path):
  ocp.save(tmp_path / "c", {"k": jax.random.key(0, impl="rbg")})
  wrong = {"k": jax.ShapeDtypeStruct((), jax.random.key(0).dtype)}
  with pytest.raises(ValueError, match="rbg"):
    ocp.load(tmp_path / "c", wrong)


def test_prng_key_needs_the_array_metadata_store(tmp_path):
  saving = options_lib.ArrayOptions.Saving(array_metadata_store=None)
  with ocp.Context(array_options=options_lib.ArrayOptions(saving=saving)):
    with pytest.raises(ValueError, match="PRNG key"):
      ocp.save(tmp_path / "c", {"k": jax.random.key(0)})
  assert not (tmp_path / "c").exists()


def test_sharded_prng_keys(tmp_path):
  mesh = jax.make_mesh((4, 2), ("x", "y"))
  keys = jax.device_put(jax.random.split(jax.random.key(5), 8),
                        NamedSharding(mesh, P("x")))
  ocp.save(tmp_path / "c", {"k": keys})
  got = ocp.load(tmp_path / "c", {"k": jax.ShapeDtypeStruct(
      (8,), keys.dtype, sharding=NamedSharding(mesh, P("y")))})["k"]
  assert got.sharding.spec == P("y")
  np.testing.assert_array_equal(jax.random.key_data(got),
                                jax.random.key_data(keys))
  got = orbax_v1.load(tmp_path / "c")["k"]
  np.testing.assert_array_equal(jax.random.key_data(got),
                                jax.random.key_data(keys))


@pytest.mark.parametrize("value", [
    jnp.arange(5.0), np.arange(4, dtype=np.int16), 7, 2.5, "just a string"],
    ids=["jax", "numpy", "int", "float", "str"])
def test_a_single_leaf_is_a_whole_pytree(tmp_path, value):
  ocp.save(tmp_path / "ours", value)
  orbax_v1.save(tmp_path / "theirs", value)
  for path in ("ours", "theirs"):
    for load in (ocp.load, orbax_v1.load):
      got = load(tmp_path / path)
      assert type(got) is type(value), (path, load)
      np.testing.assert_array_equal(got, value)


@pytest.mark.parametrize("value", [np.arange(4), 3, 1.5, "text"], ids=repr)
def test_a_single_leaf_under_another_name(tmp_path, value):
  ocp.save(tmp_path / "a", value, checkpointable_name="leaf")
  assert (tmp_path / "a/leaf/_METADATA").is_file()  # a PyTree, as in Orbax
  np.testing.assert_array_equal(ocp.load(tmp_path / "a", checkpointable_name=
                                         "leaf"), value)
  ocp.save_checkpointables(tmp_path / "b", {"foo": value})
  np.testing.assert_array_equal(ocp.load_checkpointables(tmp_path / "b")["foo"],
                                value)
  np.testing.assert_array_equal(
      orbax_v1.load_checkpointables(tmp_path / "b")["foo"], value)


def test_numpy_scalars_load_as_numpy_scalars(tmp_path):
  tree = {"f32": np.float32(1.5), "i16": np.int16(-3), "u8": np.uint8(200),
          "py_int": 4, "py_float": 0.5, "py_bool": True}
  ocp.save(tmp_path / "c", tree)
  got = ocp.load(tmp_path / "c")
  for name, want in tree.items():
    assert type(got[name]) is type(want), name
    assert got[name] == want
  got = ocp.load(tmp_path / "c", {k: type(v)(0) for k, v in tree.items()})
  for name, want in tree.items():
    assert type(got[name]) is type(want), name


@dataclasses.dataclass
class _ShapeAndDtype:
  shape: tuple
  dtype: np.dtype


@dataclasses.dataclass
class _ShapeDtypeAndSharding:
  shape: tuple
  dtype: np.dtype
  sharding: object = None


def test_abstract_leaf_kind_follows_orbax(tmp_path):
  tree = {"a": jnp.arange(6.0), "b": np.arange(3.0), "c": jnp.ones(2)}
  ocp.save(tmp_path / "c", tree)
  abstract = {
      "a": _ShapeAndDtype((6,), np.float32),           # no sharding: numpy
      "b": _ShapeDtypeAndSharding((3,), np.float64),   # sharding: jax.Array
      "c": np.zeros(2, np.float32),                    # numpy
  }
  got = ocp.load(tmp_path / "c", abstract)
  assert type(got["a"]) is np.ndarray
  assert isinstance(got["b"], jax.Array)
  assert type(got["c"]) is np.ndarray
  # Orbax needs a sharding to load a saved np.ndarray as jax.Array.
  abstract["b"].sharding = jax.sharding.SingleDeviceSharding(jax.devices()[0])
  theirs = orbax_v1.load(tmp_path / "c", abstract)
  for k in tree:
    assert isinstance(theirs[k], jax.Array) == isinstance(got[k], jax.Array)
  # metadata() leaves: ArrayMetadata loads as jax.Array, NumpyMetadata as
  # np.ndarray.
  md = ocp.metadata(tmp_path / "c").metadata
  got = ocp.load(tmp_path / "c", md)
  assert isinstance(got["a"], jax.Array) and type(got["b"]) is np.ndarray


def test_numpy_leaves_take_only_the_dtype_from_the_abstract(tmp_path):
  ocp.save(tmp_path / "c", [jnp.arange(16)])
  got = ocp.load(tmp_path / "c", [np.array([], dtype=np.int64)])[0]
  assert type(got) is np.ndarray and got.dtype == np.int64
  np.testing.assert_array_equal(got, np.arange(16))  # the saved shape
  theirs = orbax_v1.load(tmp_path / "c", [np.array([], dtype=np.int64)])[0]
  assert theirs.shape == got.shape and theirs.dtype == got.dtype


def test_save_and_load_under_a_global_mesh(tmp_path):
  mesh = jax.make_mesh((4, 2), ("x", "y"),
                       axis_types=(jax.sharding.AxisType.Explicit,) * 2)
  with jax.set_mesh(mesh):
    a = jax.device_put(jnp.arange(32.0).reshape(8, 4),
                       NamedSharding(mesh, P("x", "y")))
    k = jax.device_put(jax.random.split(jax.random.key(1), 8),
                       NamedSharding(mesh, P("x")))
    ocp.save(tmp_path / "c", {"a": a, "k": k})
    got = ocp.load(tmp_path / "c")
  np.testing.assert_array_equal(got["a"], a)
  assert got["a"].sharding.spec == P("x", "y")
  np.testing.assert_array_equal(jax.random.key_data(got["k"]),
                                jax.random.key_data(k))


def test_target_sharding_on_an_abstract_mesh_is_bound(tmp_path):
  a = np.arange(32.0, dtype=np.float32).reshape(8, 4)
  ocp.save(tmp_path / "c", {"a": jnp.asarray(a)})
  amesh = jax.sharding.AbstractMesh((4, 2), ("x", "y"))
  target = {"a": jax.ShapeDtypeStruct(
      (8, 4), np.float32, sharding=NamedSharding(amesh, P("y", "x")))}
  got = ocp.load(tmp_path / "c", target)["a"]
  assert isinstance(got.sharding.mesh, jax.sharding.Mesh)
  assert got.sharding.mesh.devices.shape == (4, 2)
  assert got.sharding.spec == P("y", "x")
  np.testing.assert_array_equal(got, a)
  # Under a matching global mesh, that mesh (and its devices) is used.
  devices = np.asarray(jax.devices()[::-1]).reshape(4, 2)
  mesh = jax.sharding.Mesh(devices, ("x", "y"))
  with jax.set_mesh(mesh):
    got = ocp.load(tmp_path / "c", target)["a"]
  assert got.sharding.mesh == mesh
  too_big = {"a": jax.ShapeDtypeStruct(
      (8, 4), np.float32, sharding=NamedSharding(
          jax.sharding.AbstractMesh((16,), ("x",)), P("x")))}
  with pytest.raises(ValueError, match="16 devices"):
    ocp.load(tmp_path / "c", too_big)


def test_sharding_metadata_objects(tmp_path):
  mesh = jax.make_mesh((4, 2), ("x", "y"))
  a = jax.device_put(jnp.arange(16.0).reshape(8, 2),
                     NamedSharding(mesh, P("x")))
  ocp.save(tmp_path / "c", {"a": a, "b": jnp.ones(3), "n": np.arange(4)})
  md = ocp.metadata(tmp_path / "c").metadata
  named = md["a"].sharding_metadata
  assert isinstance(named, sharding_lib.NamedShardingMetadata)
  assert list(named.axis_names) == ["x", "y"]
  assert tuple(named.shape) == (4, 2)
  assert named.partition_spec == ("x",)
  assert named.to_jax_sharding() == a.sharding
  single = md["b"].sharding_metadata
  assert isinstance(single, sharding_lib.SingleDeviceShardingMetadata)
  assert single.to_jax_sharding().device_set == jnp.ones(3).sharding.device_set
  # Equal to what Orbax reports for the same checkpoint, both ways round.
  theirs = orbax_v1.metadata(tmp_path / "c").metadata
  assert repr(theirs["b"].sharding_metadata) == repr(single)
  assert theirs == md and md == theirs
  assert md != {**theirs, "b": theirs["a"]}
