# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Each option changes what happens (or is refused), checked against
orbax-checkpoint 0.12.8 where Orbax supports it too."""

import os
import pathlib

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from ocpx import v1 as ocp
from ocpx._src import broadcast as broadcast_lib
from ocpx._src import options as options_lib
from ocpx._src import safetensors_layout

orbax_v1 = pytest.importorskip("orbax.checkpoint.experimental.v1")
safetensors_numpy = pytest.importorskip("safetensors.numpy")

Layout = options_lib.CheckpointLayout
ArrayOptions = options_lib.ArrayOptions
LBOptions = ArrayOptions.Loading.LoadAndBroadcastOptions


def _ctx(**kwargs):
  return ocp.Context(**kwargs)


def _orbax_ctx(**attrs):
  ctx = orbax_v1.Context()
  for path, value in attrs.items():
    obj = ctx
    parts = path.split(".")
    for p in parts[:-1]:
      obj = getattr(obj, p)
    setattr(obj, parts[-1], value)
  return ctx


# ---------------------------------------------------------------------------
# Safetensors


@pytest.fixture
def safetensors_dir(tmp_path):
  d = tmp_path / "model"
  d.mkdir()
  tensors_1 = {
      "w": np.arange(96, dtype=np.float32).reshape(8, 12),
      "i": np.arange(-3, 3, dtype=np.int16),
      "s": np.array(2.5, np.float64),
  }
  tensors_2 = {
      "bf": (np.arange(6) - 2.5).astype(ml_dtypes.bfloat16).reshape(2, 3),
      "u": np.arange(10, dtype=np.uint8),
      "flag": np.array([True, False, True]),
  }
  safetensors_numpy.save_file(tensors_1, str(d / "model-1.safetensors"),
                              metadata={"format": "np", "who": "test"})
  safetensors_numpy.save_file(tensors_2, str(d / "model-2.safetensors"))
  return d, {**tensors_1, **tensors_2}


def test_safetensors_load_without_abstract_matches_orbax(safetensors_dir):
  d, want = safetensors_dir
  with _ctx(checkpoint_layout=Layout.SAFETENSORS):
    ours = ocp.load(d)
  with _orbax_ctx(checkpoint_layout=orbax_v1.options.CheckpointLayout
                  .SAFETENSORS):
    theirs = orbax_v1.load(d)
  assert list(ours) == list(theirs)
  for name, value in want.items():
    assert type(ours[name]) is np.ndarray
    assert ours[name].dtype == value.dtype == theirs[name].dtype
    np.testing.assert_array_equal(ours[name], value)
  # A single file works too.
  with _ctx(checkpoint_layout=Layout.SAFETENSORS):
    one = ocp.load(d / "model-2.safetensors")
  assert sorted(one) == ["bf", "flag", "u"]


def test_safetensors_sharded_load_matches_orbax(safetensors_dir):
  d, want = safetensors_dir
  mesh = jax.make_mesh((4, 2), ("x", "y"))
  abstract = {
      "w": jax.ShapeDtypeStruct((8, 12), np.float32,
                                sharding=NamedSharding(mesh, P("y", "x"))),
      "bf": jax.ShapeDtypeStruct((2, 3), np.float32),  # cast, replicated
      "s": jax.ShapeDtypeStruct((), np.float64,
                                sharding=NamedSharding(mesh, P())),
  }
  with _ctx(checkpoint_layout=Layout.SAFETENSORS):
    ours = ocp.load(d, abstract)
  with _orbax_ctx(checkpoint_layout=orbax_v1.options.CheckpointLayout
                  .SAFETENSORS):
    theirs = orbax_v1.load(d, abstract)
  assert sorted(ours) == sorted(theirs) == ["bf", "s", "w"]
  for name in ours:
    assert isinstance(ours[name], jax.Array)
    assert ours[name].dtype == theirs[name].dtype
    assert ours[name].sharding.is_equivalent_to(theirs[name].sharding,
                                                ours[name].ndim)
    np.testing.assert_array_equal(ours[name], theirs[name])
    np.testing.assert_array_equal(
        ours[name], want[name].astype(abstract[name].dtype))
  for shard in ours["w"].addressable_shards:
    np.testing.assert_array_equal(shard.data, want["w"][shard.index])


def test_safetensors_metadata_matches_orbax(safetensors_dir):
  d, _ = safetensors_dir
  with _ctx(checkpoint_layout=Layout.SAFETENSORS):
    ours = ocp.metadata(d)
  with _orbax_ctx(checkpoint_layout=orbax_v1.options.CheckpointLayout
                  .SAFETENSORS):
    theirs = orbax_v1.metadata(d)
  assert ours.metadata == theirs.metadata
  assert ours.custom_metadata == theirs.custom_metadata == {
      "format": "np", "who": "test"}
  assert ours.commit_timestamp_nsecs == theirs.commit_timestamp_nsecs


def test_auto_layout_recognises_safetensors(safetensors_dir):
  d, want = safetensors_dir
  with _ctx(checkpoint_layout=Layout.AUTO):
    got = ocp.load(d)
  np.testing.assert_array_equal(got["w"], want["w"])


def test_safetensors_options_shape_the_reads(safetensors_dir, monkeypatch):
  d, want = safetensors_dir
  sizes = []
  real = os.pread

  def counting(fd, n, offset):
    sizes.append(n)
    return real(fd, n, offset)

  monkeypatch.setattr(safetensors_layout.os, "pread", counting)
  mesh = jax.make_mesh((4,), ("x",), devices=jax.devices()[:4])
  # Columns split 4 ways: each device needs 8 separate 12-byte runs.
  abstract = {"w": jax.ShapeDtypeStruct(
      (8, 12), np.float32, sharding=NamedSharding(mesh, P(None, "x")))}
  results = {}
  for name, opts in {
      "chunked": options_lib.SafetensorsOptions(read_chunk_bytes=16),
      "exact": options_lib.SafetensorsOptions(max_over_read_ratio=1.0),
  }.items():
    sizes.clear()
    with _ctx(checkpoint_layout=Layout.SAFETENSORS, safetensors_options=opts):
      got = ocp.load(d, abstract)["w"]
    np.testing.assert_array_equal(got, want["w"])
    results[name] = list(sizes)
  assert max(results["chunked"]) <= 16
  with _ctx(checkpoint_layout=Layout.SAFETENSORS,
            safetensors_options=options_lib.SafetensorsOptions(
                max_over_read_ratio=0.5)):
    with pytest.raises(ValueError, match="max_over_read_ratio"):
      ocp.load(d, abstract)


def test_safetensors_errors(safetensors_dir, tmp_path):
  d, _ = safetensors_dir
  with _ctx(checkpoint_layout=Layout.SAFETENSORS):
    with pytest.raises(KeyError, match="nope"):
      ocp.load(d, {"nope": jax.ShapeDtypeStruct((1,), np.float32)})
    with pytest.raises(ValueError, match="(?i)shape mismatch"):
      ocp.load(d, {"w": jax.ShapeDtypeStruct((2, 2), np.float32)})
    with pytest.raises(ValueError, match="flat"):
      ocp.load(d, {"nested": {"w": jax.ShapeDtypeStruct((8, 12),
                                                          np.float32)}})
    with pytest.raises(NotImplementedError, match="load_checkpointables"):
      ocp.load_checkpointables(d)
    with pytest.raises(NotImplementedError):
      ocp.checkpointables_metadata(d)
    with pytest.raises(NotImplementedError, match="safetensors"):
      ocp.save(tmp_path / "out", {"a": np.arange(3)})
  assert not (tmp_path / "out").exists()
  truncated = tmp_path / "cut.safetensors"
  data = (d / "model-1.safetensors").read_bytes()
  truncated.write_bytes(data[:-10])
  with _ctx(checkpoint_layout=Layout.SAFETENSORS):
    with pytest.raises(ValueError, match="truncated"):
      ocp.load(truncated)
  huge = tmp_path / "huge.safetensors"
  huge.write_bytes((2**40).to_bytes(8, "little") + b"{}")
  with _ctx(checkpoint_layout=Layout.SAFETENSORS):
    with pytest.raises(ValueError, match="header"):
      ocp.load(huge)


# ---------------------------------------------------------------------------
# File options


class _LocalPath(type(pathlib.Path())):
  """A user path class; records that it was used."""

  made = []

  def __new__(cls, *args):
    cls.made.append(args)
    return super().__new__(cls, *args)


def test_path_class_builds_the_paths(tmp_path):
  _LocalPath.made.clear()
  with _ctx(file_options=options_lib.FileOptions(path_class=_LocalPath)):
    ocp.save(str(tmp_path / "c"), {"a": np.arange(3)})
    md = ocp.metadata(str(tmp_path / "c"))
    np.testing.assert_array_equal(ocp.load(str(tmp_path / "c"))["a"],
                                  np.arange(3))
  assert isinstance(md.path, _LocalPath)
  assert len(_LocalPath.made) >= 3


def test_remote_path_class_is_refused(tmp_path):

  class _Remote:

    def __init__(self, p):
      self.p = f"gs://bucket/{p}"

    def __fspath__(self):
      return self.p

  with _ctx(file_options=options_lib.FileOptions(path_class=_Remote)):
    with pytest.raises(NotImplementedError, match="path_class"):
      ocp.save(tmp_path / "c", {"a": np.arange(3)})


def test_temporary_path_class(tmp_path):
  from orbax.checkpoint._src.path import atomicity  # pylint: disable=g-import-not-at-top
  with _ctx(file_options=options_lib.FileOptions(
      temporary_path_class=atomicity.AtomicRenameTemporaryPath)):
    ocp.save(tmp_path / "a", {"x": np.arange(3)})
  with _ctx(file_options=options_lib.FileOptions(
      temporary_path_class=atomicity.CommitFileTemporaryPath)):
    with pytest.raises(NotImplementedError, match="temporary_path_class"):
      ocp.save(tmp_path / "b", {"x": np.arange(3)})
  assert not (tmp_path / "b").exists()


# ---------------------------------------------------------------------------
# Array saving options


def _mesh_tree():
  mesh = jax.make_mesh((4, 2), ("x", "y"))
  return {
      "replicated": jax.device_put(jnp.arange(16.0).reshape(8, 2),
                                   NamedSharding(mesh, P("x"))),
      "sharded": jax.device_put(jnp.arange(16.0).reshape(8, 2),
                                NamedSharding(mesh, P("x", "y"))),
      "host": np.arange(3),
  }


def _keys_by_db(item):
  import tensorstore as ts  # pylint: disable=g-import-not-at-top
  out = {}
  for d in sorted(item.iterdir()):
    if d.name.startswith("ocdbt.process_"):
      kv = ts.KvStore.open({"driver": "ocdbt",
                            "base": f"file://{d}/"}).result()
      out[d.name] = sorted(k.decode() for k in kv.list().result()
                           if k.endswith(b"zarr.json"))
  return out


def test_replica_parallel_separate_folder_like_orbax(tmp_path):
  tree = _mesh_tree()
  saving = ArrayOptions.Saving(enable_replica_parallel_separate_folder=True)
  with _ctx(array_options=ArrayOptions(saving=saving)):
    ocp.save(tmp_path / "ours", tree)
  with _orbax_ctx(**{"array.saving.enable_replica_parallel_separate_folder":
                     True}):
    orbax_v1.save(tmp_path / "theirs", tree)
  ours = _keys_by_db(tmp_path / "ours/state")
  assert ours == _keys_by_db(tmp_path / "theirs/state")
  assert ours["ocdbt.process_replica_0"] == ["replicated/zarr.json"]
  for load in (ocp.load, orbax_v1.load):
    got = load(tmp_path / "ours")
    for k, v in tree.items():
      np.testing.assert_array_equal(got[k], v)
  # Off by default, and without replica-parallel there is one folder.
  ocp.save(tmp_path / "plain", tree)
  assert list(_keys_by_db(tmp_path / "plain/state")) == ["ocdbt.process_0"]
  saving = ArrayOptions.Saving(enable_replica_parallel_separate_folder=True,
                               use_replica_parallel=False)
  with _ctx(array_options=ArrayOptions(saving=saving)):
    ocp.save(tmp_path / "no_rp", tree)
  assert list(_keys_by_db(tmp_path / "no_rp/state")) == ["ocdbt.process_0"]


def test_post_merge_validation_catches_a_lost_array(tmp_path, monkeypatch):
  from ocpx._src import engine  # pylint: disable=g-import-not-at-top
  real_merge = engine.merge

  def lossy_merge(directory):
    # Simulates a merge that loses an array: drop one process database.
    import shutil  # pylint: disable=g-import-not-at-top
    shutil.rmtree(pathlib.Path(directory) / "ocdbt.process_replica_0")
    real_merge(directory)

  monkeypatch.setattr(engine, "merge", lossy_merge)
  tree = _mesh_tree()
  saving = ArrayOptions.Saving(enable_replica_parallel_separate_folder=True)
  with _ctx(array_options=ArrayOptions(saving=saving)):
    with pytest.raises(ValueError, match="post-merge validation.*replicated"):
      ocp.save(tmp_path / "c", tree)
  assert not (tmp_path / "c").exists()
  saving = ArrayOptions.Saving(enable_replica_parallel_separate_folder=True,
                               enable_post_merge_validation=False)
  with _ctx(array_options=ArrayOptions(saving=saving)):
    ocp.save(tmp_path / "unchecked", tree)  # not detected when disabled
  assert (tmp_path / "unchecked").exists()


# ---------------------------------------------------------------------------
# Load and broadcast


def _broadcast_ctx(**kwargs):
  loading = ArrayOptions.Loading(
      use_load_and_broadcast=True,
      load_and_broadcast_options=LBOptions(**kwargs))
  return _ctx(array_options=ArrayOptions(loading=loading))


@pytest.mark.parametrize("primary", [0, 1])
def test_load_and_broadcast_reads_one_replica(tmp_path, monkeypatch, primary):
  tree = {"a": jnp.arange(32.0).reshape(8, 4), "z": jnp.array([-0.0, 1.5]),
          "k": jax.random.key(4), "b": jnp.array([True, False])}
  orbax_v1.save(tmp_path / "c", tree)  # an Orbax checkpoint
  mesh = jax.make_mesh((2, 4), ("replica", "x"))
  abstract = {
      "a": jax.ShapeDtypeStruct((8, 4), np.float32,
                                sharding=NamedSharding(mesh, P("x"))),
      "z": jax.ShapeDtypeStruct((2,), np.float32,
                                sharding=NamedSharding(mesh, P())),
      "k": jax.ShapeDtypeStruct((), tree["k"].dtype,
                                sharding=NamedSharding(mesh, P())),
      "b": jax.ShapeDtypeStruct((2,), np.bool_,
                                sharding=NamedSharding(mesh, P("x"[:0]))),
  }
  inputs = []
  real = broadcast_lib.broadcast

  def spy(plan, shape, dtype, data, loading, where):
    inputs.append((plan, data))
    return real(plan, shape, dtype, data, loading, where)

  monkeypatch.setattr(broadcast_lib, "broadcast", spy)
  with _broadcast_ctx(primary_replica_id=primary):
    got = ocp.load(tmp_path / "c", abstract)
  assert len(inputs) == 4
  primary_row = set(np.asarray(mesh.devices)[primary].tolist())
  for plan, data in inputs:
    assert plan.primary_devices == primary_row
    # Devices outside the primary replica were given zeros, not read data.
    for device, host in data.items():
      if device not in primary_row:
        assert not np.asarray(host).any()
  np.testing.assert_array_equal(got["a"], tree["a"])
  assert got["a"].sharding == abstract["a"].sharding
  for shard in got["a"].addressable_shards:
    np.testing.assert_array_equal(shard.data, np.asarray(tree["a"])[shard.index])
  assert np.signbit(np.asarray(got["z"]))[0]  # bit-exact: -0.0 stays -0.0
  np.testing.assert_array_equal(jax.random.key_data(got["k"]),
                                jax.random.key_data(tree["k"]))
  np.testing.assert_array_equal(got["b"], tree["b"])


def test_load_and_broadcast_refuses_what_it_cannot_do(tmp_path):
  ocp.save(tmp_path / "c", {"a": jnp.arange(8.0)})
  mesh = jax.make_mesh((2, 4), ("replica", "x"))
  split_on_replica = {"a": jax.ShapeDtypeStruct(
      (8,), np.float32, sharding=NamedSharding(mesh, P("replica")))}
  fine = {"a": jax.ShapeDtypeStruct((8,), np.float32,
                                    sharding=NamedSharding(mesh, P("x")))}
  single = {"a": jax.ShapeDtypeStruct(
      (8,), np.float32,
      sharding=jax.sharding.SingleDeviceSharding(jax.devices()[0]))}
  with _broadcast_ctx():
    with pytest.raises(ValueError, match="replica axis"):
      ocp.load(tmp_path / "c", split_on_replica)
    with pytest.raises(ValueError, match="NamedSharding"):
      ocp.load(tmp_path / "c", single)
  with _broadcast_ctx(primary_replica_id=2):
    with pytest.raises(ValueError, match="primary_replica_id=2"):
      ocp.load(tmp_path / "c", fine)
  with _broadcast_ctx(replica_axis_index=1):  # 'x' splits the array
    with pytest.raises(ValueError, match="replica axis 'x'"):
      ocp.load(tmp_path / "c", fine)
  with _broadcast_ctx():
    with pytest.raises(ValueError, match="target sharding"):
      ocp.load(tmp_path / "c")  # no abstract tree: nothing to broadcast to
    with pytest.raises(ValueError, match="target sharding"):
      ocp.load(tmp_path / "c", {"a": jax.ShapeDtypeStruct((8,), np.float32)})
  with _broadcast_ctx(broadcast_memory_limit_bytes=8):
    with pytest.raises(ValueError, match="memory limit"):
      ocp.load(tmp_path / "c", fine)
  with _broadcast_ctx(broadcast_memory_limit_bytes=1 << 20):
    np.testing.assert_array_equal(ocp.load(tmp_path / "c", fine)["a"],
                                  np.arange(8.0))


# ---------------------------------------------------------------------------
# Pathways and deletion


def test_pathways_implementation_is_refused(tmp_path):
  ocp.save(tmp_path / "c", {"a": np.arange(3)})
  ctx = _ctx(pathways_options=options_lib.PathwaysOptions(
      checkpointing_impl="colocated_python"))
  with ctx:
    with pytest.raises(NotImplementedError, match="PathwaysOptions"):
      ocp.save(tmp_path / "d", {"a": np.arange(3)})
    with pytest.raises(NotImplementedError, match="PathwaysOptions"):
      ocp.load(tmp_path / "c")
  assert not (tmp_path / "d").exists()


def test_gcs_soft_delete_location_is_refused(tmp_path):
  ocp.save(tmp_path / "c", {"a": np.arange(3)})
  deletion = options_lib.DeletionOptions(
      gcs_deletion_options=options_lib.DeletionOptions.GcsDeletionOptions(
          todelete_full_path="gs://bucket/trash"))
  with _ctx(deletion_options=deletion):
    with pytest.raises(NotImplementedError, match="todelete_full_path"):
      ocp.save(tmp_path / "c", {"a": np.arange(4)}, overwrite=True)
  np.testing.assert_array_equal(ocp.load(tmp_path / "c")["a"], np.arange(3))
