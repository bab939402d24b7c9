# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Custom TypeHandler registries in the v0 PyTreeCheckpointHandler: local
and global registries, built-in handler subclasses (arrays still written by
the native engine) and handlers writing their own files, both directions
against orbax-checkpoint 0.12.8."""

import datetime
import os
import threading
import time

import jax
import numpy as np
import pytest

import ocpx
from ocpx._src.v0 import type_handler_registry as th_impl

orbax = pytest.importorskip("orbax.checkpoint")
th = ocpx.type_handlers


def _duration_handler_cls(base):
  """A TypeHandler class (on `base`: ocpx's or Orbax's) that keeps each
  timedelta in a text file `<name>.seconds` next to the arrays."""

  class DurationHandler(base):

    def typestr(self):
      return "duration_seconds"

    async def serialize(self, values, infos, args=None):
      for v, info in zip(values, infos):
        (info.parent_dir / f"{info.name}.seconds").write_text(
            repr(v.total_seconds()))
      return []

    async def deserialize(self, infos, args=None):
      return [datetime.timedelta(seconds=float(
          (i.parent_dir / f"{i.name}.seconds").read_text())) for i in infos]

    async def metadata(self, infos):
      return [f"duration:{i.name}" for i in infos]

  return DurationHandler


class _AddOne(th.ScalarHandler):
  """Changes the value, then lets the engine store it."""

  async def serialize(self, values, infos, args=None):
    return await super().serialize([v + 1 for v in values], infos, args)


def test_local_registry_lookup_and_subclass_of_builtin(tmp_path):
  registry = th.create_type_handler_registry((int, _AddOne()))
  h = ocpx.PyTreeCheckpointHandler(type_handler_registry=registry)
  with pytest.raises(ValueError, match="TypeHandler lookup failed for: "
                     "type=<class 'float'>"):
    h.save(tmp_path / "bad", args=ocpx.args.PyTreeSave({"a": 3, "b": 1.5}))
  h.save(tmp_path / "ok", args=ocpx.args.PyTreeSave({"a": 3}))
  assert h.restore(tmp_path / "ok") == {"a": 4}
  # Stored by the engine as a plain scalar: Orbax reads it.
  assert orbax.PyTreeCheckpointHandler().restore(tmp_path / "ok") == {"a": 4}


def test_custom_handler_files_and_metadata_both_directions(tmp_path):
  ours = _duration_handler_cls(th.TypeHandler)()
  theirs = _duration_handler_cls(orbax.type_handlers.TypeHandler)()
  tree = {"t": datetime.timedelta(seconds=90), "w": np.arange(5)}
  registry = th.create_type_handler_registry(
      (datetime.timedelta, ours), (np.ndarray, th.NumpyHandler()))
  oregistry = orbax.type_handlers.create_type_handler_registry(
      (datetime.timedelta, theirs),
      (np.ndarray, orbax.type_handlers.NumpyHandler()))

  def check(got):
    assert got["t"] == tree["t"]
    np.testing.assert_array_equal(got["w"], tree["w"])

  with ocpx.Checkpointer(ocpx.PyTreeCheckpointHandler(
      type_handler_registry=registry)) as c:
    c.save(tmp_path / "ocpx", args=ocpx.args.PyTreeSave(tree))
    assert (tmp_path / "ocpx" / "t.seconds").read_text() == "90.0"
    check(c.restore(tmp_path / "ocpx"))
    meta = c.metadata(tmp_path / "ocpx").item_metadata.tree
    assert meta["t"] == "duration:t"
  with orbax.Checkpointer(orbax.PyTreeCheckpointHandler(
      type_handler_registry=oregistry)) as c:
    check(c.restore(tmp_path / "ocpx"))
    c.save(tmp_path / "orbax", args=orbax.args.PyTreeSave(tree))
  with ocpx.Checkpointer(ocpx.PyTreeCheckpointHandler(
      type_handler_registry=registry)) as c:
    check(c.restore(tmp_path / "orbax"))
  # Without the handler, the leaf's typestr cannot be resolved.
  reg2 = th.create_type_handler_registry((np.ndarray, th.NumpyHandler()))
  with pytest.raises(ValueError, match="duration_seconds"):
    ocpx.PyTreeCheckpointHandler(type_handler_registry=reg2).restore(
        tmp_path / "ocpx")


@pytest.fixture
def restore_global_registry():
  reg = th.GLOBAL_TYPE_HANDLER_REGISTRY
  saved = (list(reg._type_registry), dict(reg._typestr_registry),  # pylint: disable=protected-access
           reg.version)
  yield
  reg._type_registry, reg._typestr_registry, reg.version = saved  # pylint: disable=protected-access


def test_register_type_handler_globally(tmp_path, restore_global_registry):
  del restore_global_registry
  assert not th.has_type_handler(datetime.timedelta)
  th.register_type_handler(datetime.timedelta,
                           _duration_handler_cls(th.TypeHandler)())
  assert th.get_type_handler("duration_seconds").typestr() == (
      "duration_seconds")
  with pytest.raises(ValueError, match="already registered"):
    th.register_type_handler(datetime.timedelta,
                             _duration_handler_cls(th.TypeHandler)())
  tree = {"a": jax.numpy.arange(4.0), "t": datetime.timedelta(days=1)}
  with ocpx.PyTreeCheckpointer() as c:
    c.save(tmp_path / "g", tree)
    got = c.restore(tmp_path / "g")
  assert got["t"] == tree["t"]
  np.testing.assert_array_equal(np.asarray(got["a"]), np.arange(4.0))
  assert isinstance(got["a"], jax.Array)


class _Scaled(th.NumpyHandler):
  """Stores arrays halved; deserialize (through the engine) doubles them."""

  async def serialize(self, values, infos, args=None):
    return await super().serialize([v / 2 for v in values], infos, args)

  async def deserialize(self, infos, args=None):
    got = await super().deserialize(infos, args)
    return [v * 2 for v in got]


def test_builtin_subclass_deserialize_reads_through_engine(tmp_path):
  registry = th.create_type_handler_registry((np.ndarray, _Scaled()))
  h = ocpx.PyTreeCheckpointHandler(type_handler_registry=registry)
  tree = {"x": np.arange(6.0).reshape(2, 3), "y": {"z": np.ones(2)}}
  h.save(tmp_path / "s", args=ocpx.args.PyTreeSave(tree))
  plain = ocpx.PyTreeCheckpointHandler().restore(tmp_path / "s")
  np.testing.assert_array_equal(plain["x"], tree["x"] / 2)
  got = h.restore(tmp_path / "s")
  np.testing.assert_array_equal(got["x"], tree["x"])
  np.testing.assert_array_equal(got["y"]["z"], tree["y"]["z"])
  # RestoreArgs reach the handler (here: a dtype cast by the engine).
  ra = {"x": ocpx.RestoreArgs(dtype=np.float32),
        "y": {"z": ocpx.RestoreArgs()}}
  got = h.restore(tmp_path / "s",
                  args=ocpx.args.PyTreeRestore(restore_args=ra))
  assert got["x"].dtype == np.float32


def test_array_handler_options_reach_the_engine(tmp_path):
  registry = th.create_type_handler_registry(
      (jax.Array, th.ArrayHandler(enable_write_sharding_file=False)))
  h = ocpx.PyTreeCheckpointHandler(type_handler_registry=registry)
  with ocpx.Checkpointer(h) as c:
    c.save(tmp_path / "a", args=ocpx.args.PyTreeSave(
        {"w": jax.numpy.ones(8)}))
  names = os.listdir(tmp_path / "a")
  assert "_sharding" not in names and "array_metadatas" not in names


def test_handler_futures_finish_before_commit(tmp_path):
  done = threading.Event()

  class Slow(_duration_handler_cls(th.TypeHandler)):

    async def serialize(self, values, infos, args=None):
      def write():
        time.sleep(0.3)
        for v, info in zip(values, infos):
          (info.parent_dir / f"{info.name}.seconds").write_text(
              repr(v.total_seconds()))
        done.set()
      return [ocpx.future.ThreadFuture(write)]

  registry = th.create_type_handler_registry(
      (datetime.timedelta, Slow()), (int, th.ScalarHandler()))
  with ocpx.AsyncCheckpointer(ocpx.PyTreeCheckpointHandler(
      type_handler_registry=registry)) as c:
    c.save(tmp_path / "f", args=ocpx.args.PyTreeSave(
        {"t": datetime.timedelta(seconds=3), "n": 1}))
    c.wait_until_finished()
    assert done.is_set()
    assert (tmp_path / "f" / "t.seconds").exists()
    assert c.restore(tmp_path / "f")["t"] == datetime.timedelta(seconds=3)


def test_registry_semantics_match_orbax():
  for lib in (th, orbax.type_handlers):
    reg = lib.create_type_handler_registry((int, lib.ScalarHandler()))
    with pytest.raises(ValueError, match="collides"):
      reg.add(float, lib.ScalarHandler())
    reg.add(float, lib.ScalarHandler(), override=True)
    assert reg.has(bool) and reg.has("scalar") and not reg.has(str)
    with pytest.raises(ValueError, match="Unknown type"):
      reg.get(str)
  with pytest.raises(TypeError, match="type_handler_registry"):
    ocpx.PyTreeCheckpointHandler(type_handler_registry=object())
  assert th_impl.is_pristine(th.GLOBAL_TYPE_HANDLER_REGISTRY)


def test_deepcopied_registry_has_its_own_handlers(tmp_path):
  """A copy of the global registry (as users make to tune handlers) can be
  changed without changing the global one."""
  import copy  # pylint: disable=g-import-not-at-top
  registry = copy.deepcopy(th.GLOBAL_TYPE_HANDLER_REGISTRY)
  registry.get(jax.Array).enable_write_sharding_file = False
  assert th.GLOBAL_TYPE_HANDLER_REGISTRY.get(
      jax.Array).enable_write_sharding_file
  with ocpx.Checkpointer(ocpx.PyTreeCheckpointHandler(
      type_handler_registry=registry)) as c:
    c.save(tmp_path / "copy", args=ocpx.args.PyTreeSave({"w": jax.numpy.ones(4)}))
  with ocpx.Checkpointer(ocpx.PyTreeCheckpointHandler()) as c:
    c.save(tmp_path / "global", args=ocpx.args.PyTreeSave(
        {"w": jax.numpy.ones(4)}))
  assert not (tmp_path / "copy" / "_sharding").exists()
  assert (tmp_path / "global" / "_sharding").exists()
