# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The v0 API (`import ocpx as ocp`): handlers, args, checkpointers, options."""

import dataclasses
import inspect
import json
import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from google.protobuf import duration_pb2

import ocpx as ocp


def _state():
  return {
      "params": {"w": jnp.arange(32, dtype=jnp.float32).reshape(4, 8),
                 "b": jnp.ones(8, jnp.bfloat16)},
      "opt": {"count": np.arange(3, dtype=np.int32), "lr": 0.5},
      "step": 7,
  }


def _assert_equal(got, want):
  assert jax.tree.structure(got) == jax.tree.structure(want)
  for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
    np.testing.assert_array_equal(np.asarray(g), np.asarray(w))


# ---------------------------------------------------------------------------
# Signatures: the same names, order and defaults as orbax-checkpoint 0.12.8.

orbax = pytest.importorskip("orbax.checkpoint")

_SIGNATURE_PAIRS = [
    ("StandardCheckpointHandler", None), ("PyTreeCheckpointHandler", None),
    ("CompositeCheckpointHandler", None), ("JsonCheckpointHandler", None),
    ("ArrayCheckpointHandler", None), ("ProtoCheckpointHandler", None),
    ("JaxRandomKeyCheckpointHandler", None),
    ("NumpyRandomKeyCheckpointHandler", None), ("Checkpointer", None),
    ("AsyncCheckpointer", None), ("StandardCheckpointer", None),
    ("PyTreeCheckpointer", None), ("SaveArgs", None), ("RestoreArgs", None),
    ("ArrayRestoreArgs", None),
]


def _params(obj):
  return [(p.name, p.kind) for p in inspect.signature(obj).parameters.values()]


def _simple_defaults(obj):
  out = {}
  for p in inspect.signature(obj).parameters.values():
    d = p.default
    if d is inspect.Parameter.empty or isinstance(
        d, (bool, int, float, str, type(None))):
      out[p.name] = d
  return out


@pytest.mark.parametrize("name", [n for n, _ in _SIGNATURE_PAIRS])
def test_constructor_signature_matches_orbax(name):
  ours, theirs = getattr(ocp, name), getattr(orbax, name)
  assert _params(ours) == _params(theirs)
  assert _simple_defaults(ours) == _simple_defaults(theirs)


@pytest.mark.parametrize("name", [
    "StandardSave", "StandardRestore", "PyTreeSave", "PyTreeRestore",
    "JsonSave", "JsonRestore", "ArraySave", "ArrayRestore", "ProtoSave",
    "ProtoRestore", "JaxRandomKeySave", "JaxRandomKeyRestore",
    "NumpyRandomKeySave", "NumpyRandomKeyRestore"])
def test_args_classes_match_orbax(name):
  ours, theirs = getattr(ocp.args, name), getattr(orbax.args, name)
  assert [f.name for f in dataclasses.fields(ours)] == [
      f.name for f in dataclasses.fields(theirs)]
  assert _simple_defaults(ours) == _simple_defaults(theirs)
  assert issubclass(ours, ocp.args.CheckpointArgs)
  handler = ocp.args.get_registered_handler_cls(ours)
  assert handler.__name__ == orbax.args.get_registered_handler_cls(
      theirs).__name__


@pytest.mark.parametrize("name", [
    "AsyncOptions", "MultiprocessingOptions", "FileOptions",
    "MemoryLimitOptions", "AtomicityOptions"])
def test_v0_options_match_orbax(name):
  ours, theirs = getattr(ocp.options, name), getattr(orbax.options, name)
  assert [f.name for f in dataclasses.fields(ours)] == [
      f.name for f in dataclasses.fields(theirs)]
  assert ours.__dataclass_params__.frozen == theirs.__dataclass_params__.frozen
  assert _simple_defaults(ours) == _simple_defaults(theirs)


def test_options_construct_positionally():
  a = ocp.options.AsyncOptions(30, None, None, False)
  assert (a.timeout_secs, a.create_directories_asynchronously) == (30, False)
  mp = ocp.options.MultiprocessingOptions(1, {0, 1}, "pfx")
  assert (mp.primary_host, mp.active_processes, mp.barrier_sync_key_prefix) == (
      1, {0, 1}, "pfx")
  assert ocp.options.FileOptions(0o750).path_permission_mode == 0o750
  assert ocp.options.MemoryLimitOptions(4).max_transfer_concurrent_gb == 4
  c = ocp.CompositeOptions(mp)
  assert c.multiprocessing_options is mp


def test_typestrs_are_orbax_module_paths():
  assert ocp.StandardCheckpointHandler.typestr() == (
      orbax.StandardCheckpointHandler.typestr())
  for name in ("PyTreeCheckpointHandler", "JsonCheckpointHandler",
               "ArrayCheckpointHandler", "ProtoCheckpointHandler",
               "JaxRandomKeyCheckpointHandler",
               "NumpyRandomKeyCheckpointHandler",
               "CompositeCheckpointHandler"):
    assert getattr(ocp, name).typestr() == getattr(orbax, name).typestr()


def test_v1_handlers_stay_under_v1():
  assert ocp.handlers.PyTreeCheckpointHandler is ocp.PyTreeCheckpointHandler
  assert ocp.v1.handlers.PyTreeHandler.__name__ == "PyTreeHandler"
  assert ocp.save is ocp.v1.save and ocp.load is ocp.v1.load


# ---------------------------------------------------------------------------
# Standard / PyTree handlers.

def test_standard_checkpointer_roundtrip_with_target(tmp_path):
  state = _state()
  with ocp.StandardCheckpointer() as ckptr:
    ckptr.save(tmp_path / "s", state)
    abstract = jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding)
        if isinstance(x, jax.Array) else x, state)
    restored = ckptr.restore(tmp_path / "s", abstract)
  _assert_equal(restored, state)
  assert isinstance(restored["params"]["w"], jax.Array)
  assert isinstance(restored["opt"]["count"], np.ndarray)
  assert restored["step"] == 7 and isinstance(restored["step"], int)


def test_standard_save_accepts_string_leaves(tmp_path):
  with ocp.StandardCheckpointer() as ckptr:
    ckptr.save(tmp_path / "s", {"name": "run-7", "x": np.ones(2)})
    got = ckptr.restore(tmp_path / "s")
  assert got["name"] == "run-7"
  assert (tmp_path / "s" / "_strings.json").exists()


def test_standard_restore_strict_and_fallback_sharding(tmp_path):
  mesh = jax.sharding.Mesh(np.array(jax.devices()[:4]), ("x",))
  sharded = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("x"))
  ckptr = ocp.Checkpointer(ocp.StandardCheckpointHandler())
  ckptr.save(tmp_path / "s", args=ocp.args.StandardSave(
      {"w": jnp.arange(8.0)}))
  bigger = {"w": jax.ShapeDtypeStruct((12,), jnp.float32)}
  with pytest.raises(ValueError, match="strict=False"):
    ckptr.restore(tmp_path / "s", args=ocp.args.StandardRestore(bigger))
  got = ckptr.restore(tmp_path / "s", args=ocp.args.StandardRestore(
      bigger, strict=False, fallback_sharding=sharded))
  np.testing.assert_array_equal(got["w"], np.r_[np.arange(8.0), np.zeros(4)])
  assert got["w"].sharding == sharded


def test_standard_restore_support_layout(tmp_path):
  ckptr = ocp.Checkpointer(ocp.StandardCheckpointHandler())
  ckptr.save(tmp_path / "s", args=ocp.args.StandardSave(
      {"w": jnp.arange(6.0).reshape(2, 3)}))
  dev = jax.sharding.SingleDeviceSharding(jax.devices()[1])
  fmt = jax.sharding.Format if hasattr(jax.sharding, "Format") else None
  if fmt is None:
    from jax.experimental.layout import Format as fmt  # pylint: disable=g-import-not-at-top
  from jax.experimental.layout import Layout  # pylint: disable=g-import-not-at-top
  target = {"w": jax.ShapeDtypeStruct((2, 3), jnp.float32,
                                      sharding=fmt(Layout((0, 1)), dev))}
  got = ckptr.restore(tmp_path / "s", args=ocp.args.StandardRestore(
      target, support_layout=True))
  np.testing.assert_array_equal(got["w"], np.arange(6.0).reshape(2, 3))
  assert got["w"].sharding == dev


def test_pytree_save_args_cast_and_custom_metadata(tmp_path):
  tree = {"w": jnp.arange(4, dtype=jnp.float32), "n": np.arange(3.0)}
  ckptr = ocp.PyTreeCheckpointer()
  ckptr.save(tmp_path / "p", args=ocp.args.PyTreeSave(
      tree, save_args={"w": ocp.SaveArgs(dtype=jnp.bfloat16),
                       "n": ocp.SaveArgs(dtype=np.float32)},
      custom_metadata={"note": "x"}))
  got = ckptr.restore(tmp_path / "p")
  assert got["w"].dtype == jnp.bfloat16 and got["n"].dtype == np.float32
  meta = json.loads((tmp_path / "p" / "_METADATA").read_text())
  assert meta["custom_metadata"] == {"note": "x"}
  md = ckptr.metadata(tmp_path / "p").item_metadata
  assert md.custom_metadata == {"note": "x"}
  assert md["w"].dtype == jnp.bfloat16 and md.tree["n"].shape == (3,)


def test_pytree_restore_args_types_dtypes_shapes_shardings(tmp_path):
  mesh = jax.sharding.Mesh(np.array(jax.devices()[:2]), ("x",))
  tree = {"a": jnp.arange(8.0), "b": np.arange(4), "c": 3}
  ckptr = ocp.Checkpointer(ocp.PyTreeCheckpointHandler())
  ckptr.save(tmp_path / "p", args=ocp.args.PyTreeSave(tree))
  restore_args = {
      "a": ocp.ArrayRestoreArgs(mesh=mesh, mesh_axes=("x",),
                                dtype=jnp.float16),
      "b": ocp.ArrayRestoreArgs(global_shape=(6,), strict=False,
                                sharding=jax.sharding.SingleDeviceSharding(
                                    jax.devices()[3])),
      "c": ocp.RestoreArgs(restore_type=np.ndarray),
  }
  got = ckptr.restore(tmp_path / "p", args=ocp.args.PyTreeRestore(
      restore_args=restore_args))
  assert got["a"].dtype == jnp.float16
  assert got["a"].sharding.spec == jax.sharding.PartitionSpec("x")
  np.testing.assert_array_equal(got["b"], [0, 1, 2, 3, 0, 0])
  assert isinstance(got["b"], jax.Array)
  assert got["b"].sharding.device_set == {jax.devices()[3]}
  assert isinstance(got["c"], np.ndarray) and got["c"] == 3
  with pytest.raises(ValueError, match="strict=False"):
    ckptr.restore(tmp_path / "p", args=ocp.args.PyTreeRestore(
        restore_args={"a": ocp.ArrayRestoreArgs(global_shape=(9,)),
                      "b": ocp.RestoreArgs(), "c": ocp.RestoreArgs()}))


def test_pytree_restore_as_numpy_and_partial(tmp_path):
  tree = {"a": jnp.arange(4), "b": {"c": np.ones(2), "d": 1.5}}
  ckptr = ocp.PyTreeCheckpointer()
  ckptr.save(tmp_path / "p", tree)
  got = ckptr.restore(tmp_path / "p", args=ocp.args.PyTreeRestore(
      item={"a": 0}, restore_args={"a": ocp.RestoreArgs(np.ndarray)},
      partial_restore=True))
  assert list(got) == ["a"] and isinstance(got["a"], np.ndarray)
  with pytest.raises(ValueError, match="partial_restore"):
    ckptr.restore(tmp_path / "p", args=ocp.args.PyTreeRestore(item={"a": 0}))
  got = ckptr.restore(tmp_path / "p", args=ocp.args.PyTreeRestore(
      item={"a": ocp.PLACEHOLDER, "b": {"c": 0, "d": 0}}))
  assert got["a"] is ocp.PLACEHOLDER and got["b"]["d"] == 1.5


def test_pytree_restore_transforms(tmp_path):
  ckptr = ocp.PyTreeCheckpointer()
  ckptr.save(tmp_path / "p", {"a": np.arange(3), "b": {"c": np.ones(2)},
                             "old": 4})
  item = {"a": 0, "renamed": 0, "doubled": 0, "fresh": 9, "b": {"c": 0}}
  transforms = {
      "renamed": ocp.Transform(original_key="old"),
      "doubled": ocp.Transform(multi_value_fn=lambda k, t: t["a"] * 2),
  }
  got = ckptr.restore(tmp_path / "p", args=ocp.args.PyTreeRestore(
      item=item, transforms=transforms))
  assert got["renamed"] == 4 and got["fresh"] == 9
  np.testing.assert_array_equal(got["doubled"], [0, 2, 4])
  got = ckptr.restore(tmp_path / "p", args=ocp.args.PyTreeRestore(
      item={"a": 5, "b": {"c": 0}}, transforms={},
      transforms_default_to_original=False))
  assert got["a"] == 5


def test_transforms_read_only_the_saved_leaves_they_use(tmp_path,
                                                        monkeypatch):
  """As Orbax: leaves that no rule (or default_to_original) takes are not
  read; here a damaged one would fail the restore if it were."""
  ckptr = ocp.PyTreeCheckpointer()
  tree = {"a": np.arange(4), "b": np.ones(3), "c": np.zeros(2)}
  ckptr.save(tmp_path / "p", tree)
  read = []
  real = ocp._src.engine.ArrayStore.read_many  # pylint: disable=protected-access

  def spy(self, requests, *a, **k):
    read.extend(r[0] for r in requests)
    return real(self, requests, *a, **k)

  monkeypatch.setattr(ocp._src.engine.ArrayStore, "read_many", spy)  # pylint: disable=protected-access
  got = ckptr.restore(tmp_path / "p", args=ocp.args.PyTreeRestore(
      item={"a": 0, "x": 0},
      transforms={"x": ocp.Transform(original_key="b")}))
  assert sorted(set(read)) == ["a", "b"]
  np.testing.assert_array_equal(got["x"], tree["b"])
  read.clear()
  got = ckptr.restore(tmp_path / "p", args=ocp.args.PyTreeRestore(
      item={"c": 0}, transforms={}))
  assert set(read) == {"c"} and set(got) == {"c"}


def test_array_handler_replica_settings_reach_the_engine(tmp_path):
  mesh = jax.sharding.Mesh(np.asarray(jax.devices()[:1]).reshape(1, 1),
                           ("x", "y"))
  a = jax.device_put(np.arange(16.0).reshape(4, 4),
                     jax.sharding.NamedSharding(mesh,
                                                jax.sharding.PartitionSpec()))
  th = ocp.type_handlers
  for separate in (True, False):
    registry = th.create_type_handler_registry((jax.Array, th.ArrayHandler(
        use_replica_parallel=True,
        enable_replica_parallel_separate_folder=separate)))
    h = ocp.PyTreeCheckpointHandler(type_handler_registry=registry)
    d = tmp_path / f"sep{separate}"
    h.save(d, args=ocp.args.PyTreeSave({"a": a}))
    names = {p.name for p in d.iterdir()}
    assert ("ocdbt.process_replica_0" in names) == separate
    np.testing.assert_array_equal(np.asarray(h.restore(d)["a"]),
                                  np.asarray(a))
  registry = th.create_type_handler_registry(
      (jax.Array, th.ArrayHandler(primary_host=None, replica_id=None)))
  with pytest.raises(NotImplementedError, match="primary_host"):
    ocp.PyTreeCheckpointHandler(type_handler_registry=registry).save(
        tmp_path / "ph", args=ocp.args.PyTreeSave({"a": a}))


def test_pytree_restore_legacy_transform_fn(tmp_path):
  ckptr = ocp.PyTreeCheckpointer()
  ckptr.save(tmp_path / "p", {"x": np.arange(3)})

  def fn(saved, item, restore_args):
    return {"y": saved["x"] + 1}, restore_args
  got = ckptr.restore(tmp_path / "p", args=ocp.args.PyTreeRestore(
      item={"y": 0}, legacy_transform_fn=fn))
  np.testing.assert_array_equal(got["y"], [1, 2, 3])


def test_pytree_handler_unsupported_options_raise():
  # (Custom TypeHandler registries work: tests/test_v0_type_handlers.py.)
  with pytest.raises(TypeError, match="type_handler_registry"):
    ocp.PyTreeCheckpointHandler(type_handler_registry=object())
  with pytest.raises(NotImplementedError, match="handler_impl"):
    ocp.PyTreeCheckpointHandler(handler_impl=object())
  with pytest.raises(ValueError, match="auto"):
    ocp.PyTreeCheckpointHandler(save_device_host_concurrent_gb="auto")
  ocp.PyTreeCheckpointHandler(
      save_device_host_concurrent_gb="auto",
      memory_limit_options=ocp.options.MemoryLimitOptions(2),
      save_concurrent_gb=1, restore_concurrent_gb=1,
      enable_pinned_host_transfer=True, is_prioritized_key_fn=lambda k: True)


def test_pytree_handler_memory_limits_still_save(tmp_path):
  h = ocp.PyTreeCheckpointHandler(save_concurrent_gb=1,
                                  restore_concurrent_gb=1,
                                  save_device_host_concurrent_gb=1,
                                  is_prioritized_key_fn=lambda k: False)
  with ocp.AsyncCheckpointer(h) as ckptr:
    ckptr.save(tmp_path / "p", args=ocp.args.PyTreeSave({"a": jnp.ones(5)}))
    got = ckptr.restore(tmp_path / "p")
  np.testing.assert_array_equal(got["a"], np.ones(5))


def test_handler_direct_save_finalize_restore(tmp_path):
  h = ocp.PyTreeCheckpointHandler()
  (tmp_path / "d").mkdir()
  h.save(tmp_path / "d", args=ocp.args.PyTreeSave({"a": np.arange(3)}))
  h.finalize(tmp_path / "d")
  np.testing.assert_array_equal(h.restore(tmp_path / "d")["a"], [0, 1, 2])


# ---------------------------------------------------------------------------
# Other handlers.

def test_json_array_proto_handlers(tmp_path):
  with ocp.Checkpointer(ocp.JsonCheckpointHandler()) as c:
    c.save(tmp_path / "j", args=ocp.args.JsonSave({"lr": 0.1, "xs": [1, 2]}))
    assert c.restore(tmp_path / "j") == {"lr": 0.1, "xs": [1, 2]}
    assert (tmp_path / "j" / "metadata").exists()
  with ocp.Checkpointer(ocp.ArrayCheckpointHandler()) as c:
    c.save(tmp_path / "a", args=ocp.args.ArraySave(jnp.arange(6.0)))
    got = c.restore(tmp_path / "a")
    np.testing.assert_array_equal(got, np.arange(6.0))
    got = c.restore(tmp_path / "a", args=ocp.args.ArrayRestore(
        restore_args=ocp.RestoreArgs(restore_type=np.ndarray,
                                     dtype=np.int32)))
    assert isinstance(got, np.ndarray) and got.dtype == np.int32
    assert (tmp_path / "a" / "checkpoint").is_dir()
    assert not (tmp_path / "a" / "manifest.ocdbt").exists()
  msg = duration_pb2.Duration(seconds=5, nanos=7)
  with ocp.Checkpointer(ocp.ProtoCheckpointHandler()) as c:
    c.save(tmp_path / "pr", args=ocp.args.ProtoSave(msg))
    assert c.restore(tmp_path / "pr",
                     args=ocp.args.ProtoRestore(duration_pb2.Duration)) == msg
    assert (tmp_path / "pr" / "proto.pbtxt").read_text().startswith(
        "seconds: 5")


def test_random_key_handlers(tmp_path):
  with ocp.Checkpointer(ocp.JaxRandomKeyCheckpointHandler()) as c:
    typed = jax.random.key(3)
    c.save(tmp_path / "k", args=ocp.args.JaxRandomKeySave(typed))
    got = c.restore(tmp_path / "k", args=ocp.args.JaxRandomKeyRestore())
    assert jax.dtypes.issubdtype(got.dtype, jax.dtypes.prng_key)
    np.testing.assert_array_equal(jax.random.key_data(got),
                                  jax.random.key_data(typed))
    raw = jax.random.PRNGKey(4)
    c.save(tmp_path / "k2", args=ocp.args.JaxRandomKeySave(raw))
    got = c.restore(tmp_path / "k2")
    np.testing.assert_array_equal(got, raw)
    assert json.loads((tmp_path / "k2" / "jax_random_key_metadata" /
                       "metadata").read_text()) == {"typed": False}
  with ocp.Checkpointer(ocp.NumpyRandomKeyCheckpointHandler()) as c:
    legacy = np.random.RandomState(5).get_state()
    c.save(tmp_path / "n", args=ocp.args.NumpyRandomKeySave(legacy))
    got = c.restore(tmp_path / "n", args=ocp.args.NumpyRandomKeyRestore())
    assert isinstance(got, tuple) and got[0] == "MT19937"
    np.testing.assert_array_equal(got[1], legacy[1])
    rng = np.random.default_rng(11)
    rng.random(3)
    c.save(tmp_path / "g", args=ocp.args.NumpyRandomKeySave(
        rng.bit_generator.state))
    restored = np.random.default_rng()
    restored.bit_generator.state = c.restore(tmp_path / "g")
    assert restored.random() == rng.random()


def test_composite_with_and_without_args(tmp_path):
  with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as c:
    c.save(tmp_path / "c", args=ocp.args.Composite(
        state=ocp.args.StandardSave(_state()),
        cfg=ocp.args.JsonSave({"a": 1})))
    meta = json.loads((tmp_path / "c" / "_CHECKPOINT_METADATA").read_text())
    assert meta["item_handlers"] == {
        "cfg": orbax.JsonCheckpointHandler.typestr(),
        "state": orbax.StandardCheckpointHandler.typestr()}
    assert (tmp_path / "c" / "state" / "commit_success.txt").exists()
  with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as c:
    everything = c.restore(tmp_path / "c")
    _assert_equal(everything.state, _state())
    assert everything["cfg"] == {"a": 1}
    only = c.restore(tmp_path / "c", args=ocp.args.Composite(
        cfg=ocp.args.JsonRestore()))
    assert list(only) == ["cfg"]
    md = c.metadata(tmp_path / "c")
    assert md.item_metadata["state"]["step"].dtype == np.int64
    with pytest.raises(FileNotFoundError, match="missing"):
      c.restore(tmp_path / "c", args=ocp.args.Composite(
          missing=ocp.args.JsonRestore()))


def test_composite_with_registry_and_items(tmp_path):
  registry = ocp.handlers.DefaultCheckpointHandlerRegistry()
  registry.add("cfg", ocp.args.JsonSave, ocp.JsonCheckpointHandler("cfg.json"))
  registry.add("cfg", ocp.args.JsonRestore,
               registry.get("cfg", ocp.args.JsonSave))
  with ocp.Checkpointer(ocp.CompositeCheckpointHandler(
      handler_registry=registry)) as c:
    c.save(tmp_path / "c", args=ocp.args.Composite(
        cfg=ocp.args.JsonSave({"x": 2})))
    assert (tmp_path / "c" / "cfg" / "cfg.json").exists()
    with pytest.raises(ValueError, match="registered handler"):
      c.save(tmp_path / "c2", args=ocp.args.Composite(
          cfg=ocp.args.StandardSave({"a": np.ones(1)})))
    # Items the registry does not name use the globally registered handler.
    c.save(tmp_path / "c4", args=ocp.args.Composite(
        other=ocp.args.StandardSave({"a": np.ones(1)})))
    assert (tmp_path / "c4" / "other" / "_METADATA").exists()
  reg = ocp.handlers.create_default_handler_registry(
      cfg=ocp.JsonCheckpointHandler("cfg.json"))
  with ocp.Checkpointer(ocp.CompositeCheckpointHandler(
      handler_registry=reg)) as c:
    assert c.restore(tmp_path / "c").cfg == {"x": 2}
  with pytest.raises(ValueError):
    ocp.CompositeCheckpointHandler("a", handler_registry=registry)
  h = ocp.CompositeCheckpointHandler(
      "cfg", state=ocp.StandardCheckpointHandler())
  with ocp.Checkpointer(h) as c:
    c.save(tmp_path / "c3", args=ocp.args.Composite(
        state=ocp.args.StandardSave({"a": np.ones(2)}),
        cfg=ocp.args.JsonSave([1])))
    assert c.restore(tmp_path / "c3").cfg == [1]


def test_register_with_handler_custom_handler(tmp_path):
  class TextHandler(ocp.CheckpointHandler):

    def save(self, directory, args):
      (directory / "text.txt").write_text(args.text)

    def restore(self, directory, args=None):
      return (directory / "text.txt").read_text()

  @ocp.args.register_with_handler(TextHandler, for_save=True)
  @dataclasses.dataclass
  class TextSave(ocp.args.CheckpointArgs):
    text: str

  @ocp.args.register_with_handler(TextHandler, for_restore=True)
  @dataclasses.dataclass
  class TextRestore(ocp.args.CheckpointArgs):
    pass

  assert ocp.args.get_registered_args_cls(TextHandler) == (TextSave,
                                                           TextRestore)
  assert ocp.args.has_registered_args(TextHandler())
  with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as c:
    c.save(tmp_path / "c", args=ocp.args.Composite(t=TextSave("hi")))
    assert c.restore(tmp_path / "c", args=ocp.args.Composite(
        t=TextRestore())).t == "hi"
  with pytest.raises(ValueError):
    ocp.args.register_with_handler(TextHandler)


# ---------------------------------------------------------------------------
# Checkpointers.

def test_checkpointer_force_custom_metadata_and_layout(tmp_path):
  c = ocp.Checkpointer(ocp.StandardCheckpointHandler())
  c.save(tmp_path / "x", args=ocp.args.StandardSave({"a": np.ones(2)}),
         custom_metadata={"epoch": 3})
  with pytest.raises(ValueError, match="already exists"):
    c.save(tmp_path / "x", args=ocp.args.StandardSave({"a": np.zeros(2)}))
  c.save(tmp_path / "x", args=ocp.args.StandardSave({"a": np.zeros(2)}),
         force=True)
  np.testing.assert_array_equal(c.restore(tmp_path / "x")["a"], [0, 0])
  assert c.metadata(tmp_path / "x").custom_metadata == {}
  assert not (tmp_path / "x" / "orbax.checkpoint").exists()  # v0 layout
  assert (tmp_path / "x" / "commit_success.txt").exists()
  c.save(tmp_path / "y", args=ocp.args.StandardSave({"a": np.ones(1)}),
         custom_metadata={"epoch": 3})
  meta = c.metadata(tmp_path / "y")
  assert meta.custom_metadata == {"epoch": 3}
  assert meta.item_handlers == orbax.StandardCheckpointHandler.typestr()
  assert meta.item_metadata["a"].shape == (1,)


def test_legacy_positional_save_and_restore(tmp_path):
  c = ocp.PyTreeCheckpointer()
  c.save(tmp_path / "x", {"a": np.arange(3)},
         save_args={"a": ocp.SaveArgs(dtype=np.int16)})
  got = c.restore(tmp_path / "x", item={"a": 0})
  assert got["a"].dtype == np.int16


def test_incomplete_checkpoints_are_refused(tmp_path):
  c = ocp.Checkpointer(ocp.StandardCheckpointHandler())
  tmp = tmp_path / "x.orbax-checkpoint-tmp"
  tmp.mkdir()
  with pytest.raises(ValueError, match="incomplete"):
    c.restore(tmp)
  with pytest.raises(ValueError, match="incomplete"):
    c.restore(tmp_path / "x")
  with pytest.raises(FileNotFoundError):
    c.restore(tmp_path / "nothing")


class _FailingHandler(ocp.AsyncCheckpointHandler):
  """Writes nothing; its background future fails."""

  def __init__(self):
    self.release = threading.Event()
    self.release.set()

  async def async_save(self, directory, args):
    release = self.release

    def fail():
      release.wait()
      raise OSError(f"disk full while writing {args.item}")
    return [ocp.future.ThreadFuture(fail)]

  def restore(self, directory, args=None):
    return None


@ocp.args.register_with_handler(_FailingHandler, for_save=True)
@dataclasses.dataclass
class _FailSave(ocp.args.CheckpointArgs):
  item: str


@ocp.args.register_with_handler(_FailingHandler, for_restore=True)
@dataclasses.dataclass
class _FailRestore(ocp.args.CheckpointArgs):
  pass


def test_async_errors_raise_on_next_call_and_close(tmp_path):
  c = ocp.AsyncCheckpointer(_FailingHandler())
  c.save(tmp_path / "a", args=_FailSave("a"))
  with pytest.raises(OSError, match="disk full"):
    c.wait_until_finished()
  assert not (tmp_path / "a").exists()
  assert not (tmp_path / "a.orbax-checkpoint-tmp").exists()
  c.save(tmp_path / "b", args=_FailSave("b"))
  with pytest.raises(OSError, match="writing b"):
    c.save(tmp_path / "c", args=_FailSave("c"))   # raised by the next save
  assert not (tmp_path / "c.orbax-checkpoint-tmp").exists()  # not started
  c.save(tmp_path / "c", args=_FailSave("c"))
  with pytest.raises(OSError, match="writing c"):
    c.close()                                      # and by close()
  c2 = ocp.AsyncCheckpointer(_FailingHandler())
  c2.save(tmp_path / "d", args=_FailSave("d"))
  c2._thread.join()  # pylint: disable=protected-access
  with pytest.raises(OSError):
    c2.check_for_errors()
  c2.check_for_errors()  # each error is raised once
  with pytest.raises(OSError):
    with ocp.AsyncCheckpointer(_FailingHandler()) as c3:
      c3.save(tmp_path / "e", args=_FailSave("e"))


def test_async_save_timeout_names_the_futures_and_path(tmp_path):
  """A background write outliving AsyncOptions.timeout_secs fails the save
  with Orbax's message, and nothing is committed."""
  h = _FailingHandler()
  h.release.clear()  # the write blocks until released
  opts = ocp.options.AsyncOptions(timeout_secs=1)
  c = ocp.AsyncCheckpointer(h, async_options=opts)
  c.save(tmp_path / "slow", args=_FailSave("slow"))
  with pytest.raises(TimeoutError, match=r"slow: ChainedFuture completed "
                     r"0/1 futures but timed out after 1.0 seconds"):
    c.wait_until_finished()
  h.release.set()
  c.close()
  assert not (tmp_path / "slow").exists()


def test_async_cancel_commits_nothing(tmp_path):
  h = _FailingHandler()
  h.release.clear()
  c = ocp.AsyncCheckpointer(h)
  c.save(tmp_path / "a", args=_FailSave("a"))
  op_thread = c._thread  # pylint: disable=protected-access
  c.cancel()
  h.release.set()
  op_thread.join()
  c.check_for_errors()  # a cancelled save reports nothing
  assert not (tmp_path / "a").exists()


def test_async_options_callbacks_and_barrier(tmp_path):
  calls = []
  opts = ocp.options.AsyncOptions(
      timeout_secs=60,
      barrier_sync_fn=lambda *, key, timeout_ms: calls.append(
          ("barrier", timeout_ms)),
      post_finalization_callback=lambda: calls.append(("done", None)))
  with ocp.AsyncCheckpointer(ocp.StandardCheckpointHandler(),
                             async_options=opts) as c:
    c.save(tmp_path / "a", args=ocp.args.StandardSave({"x": jnp.ones(3)}))
    c.wait_until_finished()
  assert ("barrier", 60000) in calls and calls[-1] == ("done", None)
  assert (tmp_path / "a" / "_CHECKPOINT_METADATA").exists()


def test_async_save_copies_before_returning(tmp_path):
  x = np.arange(4.0)
  with ocp.AsyncCheckpointer(ocp.PyTreeCheckpointHandler()) as c:
    c.save(tmp_path / "a", args=ocp.args.PyTreeSave({"x": x}))
    x[:] = -1
    got = c.restore(tmp_path / "a")
  np.testing.assert_array_equal(got["x"], np.arange(4.0))


def test_unsupported_checkpointer_options_raise():
  # (COMMIT_FILE and TemporaryPath classes work: tests/test_v0_atomicity.py.)
  with pytest.raises(TypeError, match="temporary_path_class"):
    ocp.StandardCheckpointer(temporary_path_class=object)
  with pytest.raises(NotImplementedError, match="checkpoint_metadata_store"):
    ocp.Checkpointer(ocp.PyTreeCheckpointHandler(),
                     checkpoint_metadata_store=object())
  with pytest.raises(TypeError):
    ocp.AsyncCheckpointer(_NotAsync())


class _NotAsync(ocp.CheckpointHandler):

  def save(self, directory, args):
    pass

  def restore(self, directory, args=None):
    pass


def test_v1_load_reads_v0_and_v0_reads_v1(tmp_path):
  state = _state()
  ocp.StandardCheckpointer().save(tmp_path / "v0", state)
  ocp.StandardCheckpointer().wait_until_finished()
  with ocp.StandardCheckpointer() as c:
    c.save(tmp_path / "v0b", state)
  _assert_equal(ocp.v1.load(tmp_path / "v0b"), state)
  ocp.v1.save(tmp_path / "v1", state)
  with ocp.StandardCheckpointer() as c:
    _assert_equal(c.restore(tmp_path / "v1"), state)
  with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as c:
    _assert_equal(c.restore(tmp_path / "v1").state, state)
  with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as c:
    c.save(tmp_path / "comp", args=ocp.args.Composite(
        state=ocp.args.PyTreeSave(state), extra=ocp.args.JsonSave({"a": 1})))
  got = ocp.v1.load_checkpointables(tmp_path / "comp")
  _assert_equal(got["state"], state)
  assert got["extra"] == {"a": 1}


def test_restore_into_pinned_host_memory(tmp_path):
  mesh = jax.sharding.Mesh(np.array(jax.devices()[:2]), ("x",))
  pinned = jax.sharding.NamedSharding(
      mesh, jax.sharding.PartitionSpec("x")).with_memory_kind("pinned_host")
  ckptr = ocp.PyTreeCheckpointer()
  ckptr.save(tmp_path / "p", {"a": np.arange(8.0)})
  got = ckptr.restore(tmp_path / "p", args=ocp.args.PyTreeRestore(
      restore_args={"a": ocp.ArrayRestoreArgs(sharding=pinned)}))
  assert got["a"].sharding == pinned
  np.testing.assert_array_equal(got["a"], np.arange(8.0))
