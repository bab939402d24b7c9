# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The v0 metadata classes (`ocpx.metadata`) and what CheckpointManager
returns from `metadata()`: the same fields, defaults, equality and repr as
orbax-checkpoint 0.12.8's, and the same values for the same checkpoint,
whichever library wrote it."""

import dataclasses
import json
import os

import jax
import numpy as np
import pytest

import ocpx
from ocpx import metadata as om

orbax = pytest.importorskip("orbax.checkpoint")
xm = orbax.metadata
xstats = pytest.importorskip("orbax.checkpoint.logging.step_statistics")


def _describe_fields(cls):
  out = []
  for f in dataclasses.fields(cls):
    if f.default is not dataclasses.MISSING:
      default = f.default
    elif f.default_factory is not dataclasses.MISSING:
      default = f.default_factory()
      if dataclasses.is_dataclass(default):
        default = (type(default).__name__, dataclasses.asdict(default))
    else:
      default = "<required>"
    out.append((f.name, default, f.compare, f.repr, f.init))
  return out


@pytest.mark.parametrize("name", [
    "RootMetadata", "StepMetadata", "StorageMetadata", "Metadata",
    "ArrayMetadata", "ScalarMetadata", "StringMetadata",
    "NamedShardingMetadata", "SingleDeviceShardingMetadata"])
def test_dataclass_fields_and_defaults_are_orbax_s(name):
  assert _describe_fields(getattr(om, name)) == _describe_fields(
      getattr(xm, name))


def test_step_statistics_fields_are_orbax_s():
  for name in ("SaveStepStatistics", "RestoreStepStatistics"):
    assert _describe_fields(getattr(ocpx.logging.step_statistics, name)) == (
        _describe_fields(getattr(xstats, name))), name


def test_checkpoint_manager_module_exposes_orbax_s_public_names():
  for name in ("FileOptions", "AsyncOptions", "MultiprocessingOptions",
               "METADATA_ITEM_NAME", "RESERVED_ITEM_NAMES", "RootMetadata",
               "StepMetadata", "CheckpointInfo", "DEFAULT_ITEM_NAME",
               "METRIC_ITEM_NAME"):
    assert hasattr(ocpx.checkpoint_manager, name), name
  assert ocpx.checkpoint_manager.METADATA_ITEM_NAME == (
      orbax.checkpoint_manager.METADATA_ITEM_NAME)
  assert ocpx.checkpoint_manager.RESERVED_ITEM_NAMES == (
      orbax.checkpoint_manager.RESERVED_ITEM_NAMES)


def test_metadata_value_module_is_orbax_s_path():
  for name in ("Metadata", "ArrayMetadata", "ScalarMetadata", "StringMetadata",
               "StorageMetadata"):
    assert getattr(om.value, name) is getattr(om, name)
    assert hasattr(xm.value, name)


def test_value_equality_and_repr_follow_orbax():
  def both(f):
    return f(om), f(xm)
  # name/directory never take part in equality; the repr shows them.
  for lib in (om, xm):
    a = lib.ArrayMetadata(name="a", directory=None, shape=(2,), sharding=None,
                          dtype=np.dtype("float32"),
                          storage=lib.StorageMetadata(chunk_shape=(2,)))
    b = dataclasses.replace(a, name="b")
    assert a == b
    assert a != dataclasses.replace(a, shape=(3,))
    assert lib.ScalarMetadata(name="x", directory=None, dtype=np.int32) == (
        lib.ScalarMetadata(name="y", directory=None, dtype=np.int32))
    assert lib.StringMetadata(name="x", directory=None) == (
        lib.StringMetadata(name="y", directory=None))
    # zarr_metadata is informational only.
    assert lib.StorageMetadata((2,), zarr_metadata="x") == (
        lib.StorageMetadata((2,)))
  mine, theirs = both(lambda lib: repr(lib.ArrayMetadata(
      name="a", directory=None, shape=(2,), sharding=None,
      dtype=np.dtype("float32"),
      storage=lib.StorageMetadata(chunk_shape=(2,), zarr_metadata="z"))))
  assert mine == theirs
  mine, theirs = both(lambda lib: repr(lib.ScalarMetadata(
      name="c", directory=None, dtype=np.dtype("int64"))))
  assert mine == theirs
  mine, theirs = both(lambda lib: repr(lib.RootMetadata()))
  assert mine == theirs
  mine, theirs = both(lambda lib: repr(lib.StepMetadata()))
  assert mine == theirs


def test_sharding_metadata_matches_orbax_s():
  devices = np.array(jax.devices()[:1])
  mesh = jax.sharding.Mesh(devices, ("x",))
  s = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("x"))
  mine = om.NamedShardingMetadata.from_jax_sharding(s)
  theirs = xm.NamedShardingMetadata.from_jax_sharding(s)
  assert repr(mine) == repr(theirs)
  assert mine.to_jax_sharding() == s
  single = jax.sharding.SingleDeviceSharding(jax.devices()[0])
  assert repr(om.SingleDeviceShardingMetadata.from_jax_sharding(single)) == (
      repr(xm.SingleDeviceShardingMetadata.from_jax_sharding(single)))


def _tree():
  return {"a": np.arange(8, dtype=np.float32),
          "b": np.ones((3, 4), np.int32), "c": 3, "e": 2.5}


def _write(lib, d):
  with lib.CheckpointManager(d, item_names=("state", "extra"),
                             metadata={"k": 1}) as m:
    m.save(1, args=lib.args.Composite(state=lib.args.StandardSave(_tree()),
                                      extra=lib.args.JsonSave({"z": 1})),
           custom_metadata={"cm": 2})
    # A second step with metrics: ocpx records them as a `metrics` item
    # (Orbax 0.12.8 drops them without best_fn), listed like any item.
    m.save(2, args=lib.args.Composite(state=lib.args.StandardSave(_tree()),
                                      extra=lib.args.JsonSave({"z": 2})),
           metrics={"loss": 0.5})


def _plain(x):
  """A comparable, library-independent rendering of a metadata value."""
  if type(x).__name__ in ("Composite", "CompositeArgs"):
    # Orbax lists items in directory order; compare them by name.
    return ("Composite", sorted((k, _plain(v)) for k, v in x.items()))
  return repr(x).replace("PosixGPath(", "PosixPath(")


def _step_view(lib, d):
  view = {}
  with lib.CheckpointManager(d) as m:
    view["root"] = _plain(m.metadata())
    for step in (1, 2):
      before = m.metadata(step)
      m.restore(step,
                args=lib.args.Composite(state=lib.args.StandardRestore()))
      after = m.metadata(step)
      view[step, "type"] = type(before).__name__
      view[step, "item_after_restore"] = _plain(after.item_metadata)
      for f in dataclasses.fields(before):
        v = getattr(before, f.name)
        if f.name.endswith("_nsecs"):
          v = isinstance(v, int) and v > 0
        view[step, f.name] = _plain(v)
  return view


@pytest.mark.parametrize("writer", ["orbax", "ocpx"])
def test_manager_metadata_values_equal_orbax_s(tmp_path, writer):
  d = os.fspath(tmp_path / "ckpt")
  _write(orbax if writer == "orbax" else ocpx, d)
  mine, theirs = _step_view(ocpx, d), _step_view(orbax, d)
  assert mine == theirs
  # Without a handler known to the manager, an item's metadata is None.
  with ocpx.CheckpointManager(d) as fresh:
    items = fresh.metadata(1).item_metadata
  assert sorted(items) == ["extra", "state"]
  assert all(v is None for v in items.values())


def test_tree_metadata_is_a_pytree_of_its_top_level():
  meta = om.TreeMetadata({"a": 1, "b": (2, 3)}, custom_metadata={"x": 1})
  paths = [jax.tree_util.keystr(p) for p, _ in
           jax.tree_util.tree_flatten_with_path(meta)[0]]
  assert paths == ["['a']", "['b'][0]", "['b'][1]"]
  doubled = jax.tree.map(lambda v: v * 2, meta)
  assert isinstance(doubled, om.TreeMetadata)
  assert doubled.tree == {"a": 2, "b": (4, 6)}
  assert doubled.custom_metadata == {"x": 1}
  assert "a" in meta and len(meta) == 2 and meta.get("zz") is None
  assert list(meta.keys()) == ["a", "b"]
  seq = om.TreeMetadata([5, 6])
  assert seq[1] == 6 and seq.get(7) is None
  with pytest.raises(ValueError, match="Unsupported tree type"):
    om.TreeMetadata(None)


def test_performance_metrics_keep_recorded_floats(tmp_path):
  d = tmp_path / "ckpt"
  with ocpx.CheckpointManager(d) as m:
    m.save(0, args=ocpx.args.StandardSave(_tree()))
  perf = ocpx.CheckpointManager(d).metadata(0).performance_metrics
  assert isinstance(perf, ocpx.logging.step_statistics.SaveStepStatistics)
  got = om.get_step_metadata(d / "0").performance_metrics
  assert got == perf
  stats = ocpx.metadata.StepMetadata().performance_metrics
  assert stats.event_type == "save" and stats.step is None


def test_sharding_metadata_from_deserialized_dict_as_orbax():
  mesh = jax.sharding.Mesh(np.asarray(jax.devices()[:2]).reshape(2, 1),
                           ("x", "y"))
  s = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("x"))
  theirs = orbax.metadata.NamedShardingMetadata.from_jax_sharding(s)
  d = json.loads(theirs.to_serialized_string())
  ours = ocpx.metadata.NamedShardingMetadata.from_deserialized_dict(d)
  assert ours == theirs and ours.to_jax_sharding() == s
  del d["sharding_type"]  # Orbax's classmethod does not need it either
  assert ocpx.metadata.NamedShardingMetadata.from_deserialized_dict(d) == ours
  single = ocpx.metadata.SingleDeviceShardingMetadata.from_deserialized_dict(
      {"device_str": "cpu:0"})
  assert single == orbax.metadata.SingleDeviceShardingMetadata("cpu:0")
  with pytest.raises(ValueError, match="Sharding data not found"):
    ocpx.metadata.NamedShardingMetadata.from_deserialized_dict({"x": 1})
  with pytest.raises(ValueError):
    ocpx.metadata.SingleDeviceShardingMetadata.from_deserialized_dict(d)
