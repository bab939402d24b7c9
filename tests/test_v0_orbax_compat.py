# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""v0 checkpoints: orbax-checkpoint 0.12.8 and ocpx restore each other's,
handler by handler, with and without restore args."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from google.protobuf import duration_pb2

import ocpx

orbax = pytest.importorskip("orbax.checkpoint")

LIBS = {"ocpx": ocpx, "orbax": orbax}


def _tree():
  return {
      "w": jnp.arange(24, dtype=jnp.float32).reshape(4, 6),
      "b": jnp.ones(3, jnp.bfloat16),
      "n": np.arange(5, dtype=np.int16),
      "step": 12,
      "lr": 0.25,
  }


def _pytree_extra():
  t = _tree()
  t.update({"name": "run", "nothing": None, "empty": {}})
  return t


def _abstract(lib, tree):
  del lib
  return jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding)
      if isinstance(x, jax.Array) else x, tree)


def _restore_args(lib, tree):
  def one(x):
    if isinstance(x, jax.Array):
      return lib.ArrayRestoreArgs(sharding=x.sharding)
    return lib.RestoreArgs()
  return jax.tree.map(one, tree)


def _equal(got, want):
  assert jax.tree.structure(got) == jax.tree.structure(want), (got, want)
  for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
    assert type(g) is type(w) or (isinstance(g, jax.Array)
                                  and isinstance(w, jax.Array)), (g, w)
    np.testing.assert_array_equal(np.asarray(g), np.asarray(w))


def _key_equal(got, want):
  if jax.dtypes.issubdtype(want.dtype, jax.dtypes.prng_key):
    assert jax.dtypes.issubdtype(got.dtype, jax.dtypes.prng_key)
    got, want = jax.random.key_data(got), jax.random.key_data(want)
  np.testing.assert_array_equal(got, want)


def _np_state_equal(got, want):
  assert isinstance(got, tuple) and got[0] == want[0]
  for g, w in zip(got[1:], want[1:]):
    np.testing.assert_array_equal(g, w)


_PROTO = duration_pb2.Duration(seconds=3, nanos=9)

# name: (handler factory, save args, restore args or None, value, check)
CASES = {
    "standard": (
        lambda l: l.StandardCheckpointHandler(),
        lambda l: l.args.StandardSave(_tree()),
        lambda l: l.args.StandardRestore(_abstract(l, _tree())),
        _tree, _equal),
    "pytree": (
        lambda l: l.PyTreeCheckpointHandler(),
        lambda l: l.args.PyTreeSave(_pytree_extra()),
        lambda l: l.args.PyTreeRestore(
            item=_pytree_extra(), restore_args=_restore_args(
                l, _pytree_extra())),
        _pytree_extra, _equal),
    "json": (
        lambda l: l.JsonCheckpointHandler(),
        lambda l: l.args.JsonSave({"lr": 0.1, "names": ["a", "b"]}),
        lambda l: l.args.JsonRestore(),
        lambda: {"lr": 0.1, "names": ["a", "b"]}, lambda g, w: g == w),
    "array": (
        lambda l: l.ArrayCheckpointHandler(),
        lambda l: l.args.ArraySave(np.arange(10, dtype=np.int32)),
        lambda l: l.args.ArrayRestore(
            restore_args=l.RestoreArgs(restore_type=np.ndarray)),
        lambda: np.arange(10, dtype=np.int32), np.testing.assert_array_equal),
    "proto": (
        lambda l: l.ProtoCheckpointHandler(),
        lambda l: l.args.ProtoSave(_PROTO),
        lambda l: l.args.ProtoRestore(duration_pb2.Duration),
        lambda: _PROTO, lambda g, w: g == w),
    "jax_key_typed": (
        lambda l: l.JaxRandomKeyCheckpointHandler(),
        lambda l: l.args.JaxRandomKeySave(jax.random.key(5)),
        lambda l: l.args.JaxRandomKeyRestore(),
        lambda: jax.random.key(5), _key_equal),
    "jax_key_raw": (
        lambda l: l.JaxRandomKeyCheckpointHandler(),
        lambda l: l.args.JaxRandomKeySave(jax.random.PRNGKey(6)),
        lambda l: l.args.JaxRandomKeyRestore(),
        lambda: jax.random.PRNGKey(6), _key_equal),
    "numpy_key": (
        lambda l: l.NumpyRandomKeyCheckpointHandler(),
        lambda l: l.args.NumpyRandomKeySave(
            np.random.RandomState(2).get_state()),
        lambda l: l.args.NumpyRandomKeyRestore(),
        lambda: np.random.RandomState(2).get_state(), _np_state_equal),
}
# Restoring a proto needs its class: there is no args-free restore.
_NEEDS_ARGS = {"proto"}


@pytest.mark.parametrize("with_args", [True, False], ids=["args", "noargs"])
@pytest.mark.parametrize("writer,reader", [("orbax", "ocpx"),
                                           ("ocpx", "orbax")])
@pytest.mark.parametrize("case", sorted(CASES))
def test_handler_roundtrip(tmp_path, case, writer, reader, with_args):
  make, save_args, restore_args, value, check = CASES[case]
  if not with_args and case in _NEEDS_ARGS:
    pytest.skip("a proto restore needs the message class (ProtoRestore)")
  w, r = LIBS[writer], LIBS[reader]
  with w.Checkpointer(make(w)) as ckptr:
    ckptr.save(tmp_path / "c", args=save_args(w))
  step = json.loads((tmp_path / "c" / "_CHECKPOINT_METADATA").read_text())
  assert step["item_handlers"] == type(make(orbax)).typestr()
  with r.Checkpointer(make(r)) as ckptr:
    if with_args:
      got = ckptr.restore(tmp_path / "c", args=restore_args(r))
    else:
      got = ckptr.restore(tmp_path / "c")
  check(got, value())


@pytest.mark.parametrize("writer,reader", [("orbax", "ocpx"),
                                           ("ocpx", "orbax")])
def test_composite_of_every_handler_restores_without_args(tmp_path, writer,
                                                          reader):
  w, r = LIBS[writer], LIBS[reader]
  names = [c for c in sorted(CASES) if c not in _NEEDS_ARGS]
  with w.Checkpointer(w.CompositeCheckpointHandler()) as ckptr:
    ckptr.save(tmp_path / "c", args=w.args.Composite(
        **{n: CASES[n][1](w) for n in names}))
  with r.Checkpointer(r.CompositeCheckpointHandler()) as ckptr:
    got = ckptr.restore(tmp_path / "c")
  for n in names:
    CASES[n][4](got[n], CASES[n][3]())
  with r.Checkpointer(r.CompositeCheckpointHandler()) as ckptr:
    got = ckptr.restore(tmp_path / "c", args=r.args.Composite(
        **{n: CASES[n][2](r) for n in names}))
  for n in names:
    CASES[n][4](got[n], CASES[n][3]())


@pytest.mark.parametrize("writer,reader", [("orbax", "ocpx"),
                                           ("ocpx", "orbax")])
def test_standard_checkpointer_and_metadata(tmp_path, writer, reader):
  w, r = LIBS[writer], LIBS[reader]
  ckptr = w.StandardCheckpointer()
  ckptr.save(tmp_path / "s", _tree(), custom_metadata={"epoch": 2})
  ckptr.wait_until_finished()
  reader_ckptr = r.StandardCheckpointer()
  _equal(reader_ckptr.restore(tmp_path / "s", _abstract(r, _tree())), _tree())
  meta = reader_ckptr.metadata(tmp_path / "s")
  assert meta.custom_metadata == {"epoch": 2}
  assert meta.item_metadata["w"].shape == (4, 6)
  assert meta.item_metadata.tree["n"].dtype == np.int16


def test_ocpx_v1_reads_orbax_v0_and_orbax_reads_ocpx_v0_written_by_v1(
    tmp_path):
  with orbax.StandardCheckpointer() as c:
    c.save(tmp_path / "orbax_v0", _tree())
  _equal(ocpx.v1.load(tmp_path / "orbax_v0"), _tree())
  ocpx.v1.save(tmp_path / "ocpx_v1", _tree())
  # Orbax's v0 API reads a v1 checkpoint through its composite handler...
  with orbax.Checkpointer(orbax.CompositeCheckpointHandler()) as c:
    got = c.restore(tmp_path / "ocpx_v1", args=orbax.args.Composite(
        state=orbax.args.PyTreeRestore()))
  _equal(got.state, _tree())
  # ...and ocpx's v0 API needs no args for it.
  with ocpx.Checkpointer(ocpx.CompositeCheckpointHandler()) as c:
    _equal(c.restore(tmp_path / "ocpx_v1").state, _tree())


# ---------------------------------------------------------------------------
# zarr v2 written by ocpx (the v0 default), read by TensorStore and Orbax.

def _engine_writes_zarr2() -> bool:
  from ocpx._src.v0 import engine_caps  # pylint: disable=g-import-not-at-top
  return engine_caps.engine_writes_zarr2()


zarr2 = pytest.mark.skipif(
    not _engine_writes_zarr2(),
    reason="the native engine raises NotImplementedError for zarr2 writes "
           "(ArrayOptions.Saving.use_zarr3=False); v0 saves write zarr3 "
           "until it does")


@zarr2
@pytest.mark.parametrize("use_ocdbt", [True, False])
def test_zarr2_written_by_ocpx_read_by_tensorstore_and_orbax(tmp_path,
                                                             use_ocdbt):
  ts = pytest.importorskip("tensorstore")
  tree = {"a": np.arange(12, dtype=np.float32).reshape(3, 4),
          "j": jnp.arange(5, dtype=jnp.int32)}
  with ocpx.Checkpointer(ocpx.PyTreeCheckpointHandler(
      use_ocdbt=use_ocdbt, use_zarr3=False)) as c:
    c.save(tmp_path / "z", args=ocpx.args.PyTreeSave(tree))
  meta = json.loads((tmp_path / "z" / "_METADATA").read_text())
  assert meta["use_zarr3"] is False
  if use_ocdbt:
    spec = {"driver": "zarr", "kvstore": {
        "driver": "ocdbt", "base": f"file://{tmp_path / 'z'}", "path": "a"}}
  else:
    assert (tmp_path / "z" / "a" / ".zarray").exists()
    spec = {"driver": "zarr", "kvstore": f"file://{tmp_path / 'z' / 'a'}"}
  np.testing.assert_array_equal(ts.open(spec).result().read().result(),
                                tree["a"])
  with orbax.PyTreeCheckpointer() as c:
    _equal(c.restore(tmp_path / "z"), tree)


@zarr2
def test_zarr2_array_handler_layout_matches_orbax(tmp_path):
  with ocpx.Checkpointer(ocpx.ArrayCheckpointHandler()) as c:
    c.save(tmp_path / "a", args=ocpx.args.ArraySave(np.arange(4)))
  zarray = json.loads((tmp_path / "a" / "checkpoint" / ".zarray").read_text())
  assert zarray["zarr_format"] == 2 and zarray["shape"] == [4]
  with orbax.Checkpointer(orbax.ArrayCheckpointHandler()) as c:
    np.testing.assert_array_equal(c.restore(tmp_path / "a"), np.arange(4))


@pytest.mark.parametrize("writer,reader", [("orbax", "ocpx"),
                                           ("ocpx", "orbax")])
def test_typed_prng_keys_inside_a_pytree(tmp_path, writer, reader):
  tree = {"rng": jax.random.key(7), "rbg": jax.random.key(8, impl="rbg"),
          "w": jnp.ones(3)}
  with LIBS[writer].StandardCheckpointer() as c:
    c.save(tmp_path / "k", tree)
  with LIBS[reader].StandardCheckpointer() as c:
    without_target = c.restore(tmp_path / "k")
    with_target = c.restore(tmp_path / "k", jax.eval_shape(lambda: tree))
  for got in (without_target, with_target):
    for name in ("rng", "rbg"):
      _key_equal(got[name], tree[name])
      assert str(jax.random.key_impl(got[name])) == str(
          jax.random.key_impl(tree[name]))
    np.testing.assert_array_equal(got["w"], np.ones(3))


@pytest.mark.parametrize("lib", ["ocpx", "orbax"])
def test_deprecated_aggregate_save_arg_is_ignored_as_in_orbax(tmp_path, lib,
                                                              caplog):
  """`SaveArgs(aggregate=True)` warns and the leaf is saved as an array, in
  both libraries; each restores the other's checkpoint."""
  mod = {"ocpx": ocpx, "orbax": orbax}[lib]
  tree = {"w": np.arange(6.0).reshape(2, 3), "b": np.ones(2, np.int32)}
  with caplog.at_level("WARNING"):
    sa = {"w": mod.SaveArgs(aggregate=True), "b": mod.SaveArgs()}
  with mod.PyTreeCheckpointer() as c:
    c.save(tmp_path / "c", args=mod.args.PyTreeSave(tree, save_args=sa))
  assert "checkpoint" not in {p.name for p in (tmp_path / "c").iterdir()}
  other = orbax if lib == "ocpx" else ocpx
  with other.PyTreeCheckpointer() as c:
    got = c.restore(tmp_path / "c")
  np.testing.assert_array_equal(np.asarray(got["w"]), tree["w"])
  np.testing.assert_array_equal(np.asarray(got["b"]), tree["b"])
  if lib == "ocpx":
    assert "aggregate" in caplog.text
    # The array handler takes it too.
    h = ocpx.ArrayCheckpointHandler()
    h.save(tmp_path / "a", args=ocpx.args.ArraySave(
        np.arange(3), save_args=ocpx.SaveArgs(aggregate=True)))
    np.testing.assert_array_equal(h.restore(tmp_path / "a"), np.arange(3))
