# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Sharded jax.Arrays on 8 simulated CPU devices: save, replica-parallel
slicing, loading into other meshes and shardings, Orbax interop."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ocpx import v1 as ocp
from ocpx import _core
from ocpx.v1 import options

P = jax.sharding.PartitionSpec
MESHES = {
    "8": ((8,), ("a",)),
    "4x2": ((4, 2), ("x", "y")),
    "2x2x2": ((2, 2, 2), ("p", "q", "r")),
}


def _mesh(name):
  shape, axes = MESHES[name]
  return jax.sharding.Mesh(np.asarray(jax.devices()[:8]).reshape(shape), axes)


def _tree(mesh):
  axes = mesh.axis_names
  full = P(*axes[:2]) if len(axes) >= 2 else P(axes[0])
  part = P(axes[0])  # sharded on one axis, replicated on the rest
  NS = jax.sharding.NamedSharding
  base = jnp.arange(32 * 16, dtype=jnp.float32).reshape(32, 16)
  return {
      "full": jax.device_put(base, NS(mesh, full)),
      "part": jax.device_put(base.astype(jnp.bfloat16) + 1, NS(mesh, part)),
      "repl": jax.device_put(jnp.arange(64, dtype=jnp.int32), NS(mesh, P())),
      "vec": jax.device_put(jnp.linspace(0, 1, 16), NS(mesh, P(axes[-1]))),
  }


@pytest.mark.parametrize("save_mesh,load_mesh", [
    ("8", "4x2"), ("4x2", "2x2x2"), ("2x2x2", "8"), ("4x2", "4x2")])
def test_save_and_load_into_other_mesh(tmp_path, save_mesh, load_mesh):
  tree = _tree(_mesh(save_mesh))
  ocp.save(tmp_path / "c", tree)
  target = _mesh(load_mesh)
  axes = target.axis_names
  NS = jax.sharding.NamedSharding
  specs = {"full": P(axes[-1], axes[0]) if len(axes) > 1 else P(None, axes[0]),
           "part": P(None, axes[0]),
           "repl": P(axes[0]), "vec": P()}
  abstract = {k: jax.ShapeDtypeStruct(v.shape, v.dtype,
                                      sharding=NS(target, specs[k]))
              for k, v in tree.items()}
  got = ocp.load(tmp_path / "c", abstract)
  for k, v in tree.items():
    assert got[k].sharding == abstract[k].sharding, k
    assert got[k].dtype == v.dtype
    np.testing.assert_array_equal(np.asarray(got[k]), np.asarray(v))
  # Into a single device, and as numpy.
  got = ocp.load(tmp_path / "c", {
      k: np.zeros(v.shape, v.dtype) for k, v in tree.items()})
  for k, v in tree.items():
    assert isinstance(got[k], np.ndarray)
    np.testing.assert_array_equal(got[k], np.asarray(v))


def test_replicated_array_is_written_as_replica_slices(tmp_path):
  mesh = _mesh("4x2")
  NS = jax.sharding.NamedSharding
  tree = {
      "r": jax.device_put(jnp.arange(16, dtype=jnp.bfloat16), NS(mesh, P())),
      "x": jax.device_put(jnp.zeros((1024, 512)), NS(mesh, P("x"))),
      "y": jax.device_put(jnp.ones((8, 4)), NS(mesh, P(None, "y"))),
  }
  ocp.save(tmp_path / "c", tree)
  md = json.loads((tmp_path / "c/state/array_metadatas/process_0").read_text())
  shapes = {m["array_metadata"]["param_name"]: m["array_metadata"]["write_shape"]
            for m in md["array_metadatas"]}
  assert shapes == {"r": [2], "x": [128, 512], "y": [2, 2]}
  keys = sorted(k.decode() for k in _core.OcdbtReader(
      str(tmp_path / "c/state")).keys(b"r/"))
  assert keys == sorted(["r/zarr.json"] + [f"r/c/{i}" for i in range(8)])
  got = ocp.load(tmp_path / "c")
  for k, v in tree.items():
    np.testing.assert_array_equal(np.asarray(got[k]), np.asarray(v))
  # Disabled: one slice per distinct shard (replica 0 writes it).
  with ocp.Context(array_options=options.ArrayOptions(
      saving=options.ArrayOptions.Saving(use_replica_parallel=False))):
    ocp.save(tmp_path / "d", tree)
  md = json.loads((tmp_path / "d/state/array_metadatas/process_0").read_text())
  shapes = {m["array_metadata"]["param_name"]: m["array_metadata"]["write_shape"]
            for m in md["array_metadatas"]}
  assert shapes == {"r": [16], "x": [256, 512], "y": [8, 2]}


def test_replica_parallel_limits(tmp_path):
  mesh = _mesh("4x2")
  NS = jax.sharding.NamedSharding
  tree = {"r": jax.device_put(jnp.arange(64, dtype=jnp.float32),
                              NS(mesh, P()))}
  for kwargs, want in [
      (dict(max_replicas_for_replica_parallel=2), [32]),
      (dict(min_slice_bytes_for_replica_parallel=32), [8]),
      (dict(min_slice_bytes_for_replica_parallel=10**6), [64]),
  ]:
    path = tmp_path / str(len(list(tmp_path.iterdir())))
    with ocp.Context(array_options=options.ArrayOptions(
        saving=options.ArrayOptions.Saving(**kwargs))):
      ocp.save(path, tree)
    md = json.loads((path / "state/array_metadatas/process_0").read_text())
    assert md["array_metadatas"][0]["array_metadata"]["write_shape"] == want, (
        kwargs)
    np.testing.assert_array_equal(np.asarray(ocp.load(path)["r"]),
                                  np.arange(64, dtype=np.float32))


def test_orbax_interop_sharded(tmp_path):
  orbax_v1 = pytest.importorskip("orbax.checkpoint.experimental.v1")
  tree = _tree(_mesh("2x2x2"))
  abstract = jax.tree.map(
      lambda v: jax.ShapeDtypeStruct(v.shape, v.dtype, sharding=v.sharding),
      tree)
  ocp.save(tmp_path / "ours", tree)
  got = orbax_v1.load(tmp_path / "ours", abstract)
  for k, v in tree.items():
    np.testing.assert_array_equal(np.asarray(got[k]), np.asarray(v))
  orbax_v1.save(tmp_path / "theirs", tree)
  target = _mesh("4x2")
  other = jax.tree.map(
      lambda v: jax.ShapeDtypeStruct(
          v.shape, v.dtype,
          sharding=jax.sharding.NamedSharding(target, P("y"))), tree)
  got = ocp.load(tmp_path / "theirs", other)
  for k, v in tree.items():
    np.testing.assert_array_equal(np.asarray(got[k]), np.asarray(v))


def test_pinned_host_transfer_option(tmp_path):
  tree = _tree(_mesh("4x2"))
  for pinned in (True, False):
    path = tmp_path / str(pinned)
    with ocp.Context(array_options=options.ArrayOptions(
        saving=options.ArrayOptions.Saving(
            enable_pinned_host_transfer=pinned))):
      ocp.save(path, tree)
    got = ocp.load(path)
    for k, v in tree.items():
      np.testing.assert_array_equal(np.asarray(got[k]), np.asarray(v))


def test_shape_mismatch_on_sharded_load_names_leaf(tmp_path):
  tree = _tree(_mesh("8"))
  ocp.save(tmp_path / "c", tree)
  bad = jax.ShapeDtypeStruct((16, 16), jnp.float32,
                             sharding=tree["full"].sharding)
  with pytest.raises(ValueError, match="'full'"):
    ocp.load(tmp_path / "c", {**jax.tree.map(
        lambda v: jax.ShapeDtypeStruct(v.shape, v.dtype, sharding=v.sharding),
        tree), "full": bad})
