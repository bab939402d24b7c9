# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""ocpx.v1 exposes the public names of orbax.checkpoint.v1, and they work."""

import asyncio
import collections
import types
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint.experimental.v1 as orbax_v1
import pytest
from google.protobuf import duration_pb2

import ocpx
from ocpx import v1 as ocp

# Owned by another part of the project (the step managers).
_NOT_HERE = {"training"}


def _public(module):
  return {n for n in dir(module) if not n.startswith("_")}


@pytest.mark.parametrize("name", [
    "", "arrays", "errors", "handlers", "multihost", "options", "partial", "path",
    "tree"])
def test_every_public_orbax_name_exists(name):
  orbax_mod, ocpx_mod = orbax_v1, ocp
  if name:
    orbax_mod, ocpx_mod = getattr(orbax_v1, name), getattr(ocp, name)
  def counts(n):  # names and own submodules, not incidental imports
    value = getattr(orbax_mod, n)
    return (not isinstance(value, types.ModuleType)
            or value.__name__.startswith(orbax_mod.__name__ + "."))

  missing = {n for n in _public(orbax_mod) - _public(ocpx_mod) if counts(n)}
  missing -= _NOT_HERE
  if name == "path":
    missing.discard("step")  # comes with the step-name helpers
  assert not missing, missing


def test_experimental_alias_and_top_level_shortcuts():
  import ocpx.experimental.v1 as exp  # pylint: disable=g-import-not-at-top
  assert exp is ocp
  assert ocpx.save is ocp.save and ocpx.load is ocp.load


def test_tree_merge():
  point = collections.namedtuple("point", "x y")
  merged = ocp.tree.merge({"a": 1, "b": {"c": 2}}, {"d": 3, "b": {"e": 4}})
  assert merged == {"a": 1, "b": {"c": 2, "e": 4}, "d": 3}
  assert ocp.tree.merge({"a": 1}, {"a": 100}, overwrite=True) == {"a": 100}
  assert ocp.tree.merge([point(1, None)], [point(None, 2)],
                        overwrite=True) == [point(1, 2)]
  assert ocp.tree.merge() == {}
  with pytest.raises(ValueError, match="common key paths"):
    ocp.tree.merge({"a": 1}, {"a": 2})
  with pytest.raises(ValueError, match="Types do not match"):
    ocp.tree.merge({"a": {"b": 1}}, {"a": 1})
  with pytest.raises(ValueError, match="lengths"):
    ocp.tree.merge([1, 2], [3], overwrite=True)
  for args, kw in ((({"a": 1, "b": {"c": 2}}, {"d": 3, "b": {"e": 4}}), {}),
                   (([1, 2], [3, 4]), {"overwrite": True})):
    assert ocp.tree.merge(*args, **kw) == orbax_v1.tree.merge(*args, **kw)


def test_to_shape_dtype_struct():
  x = np.zeros((2, 3), np.float32)
  s = ocp.arrays.to_shape_dtype_struct(x)
  assert (s.shape, s.dtype, s.sharding) == ((2, 3), np.float32, None)
  j = jnp.ones((4,), jnp.int32)
  s = ocp.arrays.to_shape_dtype_struct(j, dtype=jnp.float32)
  assert (s.shape, s.dtype, s.sharding) == ((4,), jnp.float32, j.sharding)
  assert ocp.arrays.to_shape_dtype_struct(3) == 3
  assert ocp.arrays.to_shape_dtype_struct(np.float32(2.5),
                                          scalar_dtype=int) == 2
  key = jax.random.key(0)
  s = ocp.arrays.to_shape_dtype_struct(key)
  assert s.dtype == np.uint32 and s.shape == (2,)
  with pytest.raises(ValueError, match="shape"):
    ocp.arrays.to_shape_dtype_struct(object())


def test_multihost_single_process():
  assert ocp.multihost.process_index() == 0
  assert ocp.multihost.process_count() == 1
  assert ocp.multihost.is_primary_host(0) and ocp.multihost.is_primary_host(None)
  assert not ocp.multihost.is_primary_host(1)
  assert not ocp.multihost.is_pathways_backend()
  asyncio.run(ocp.multihost.sync_global_processes("k", operation_id="op"))
  with pytest.raises(ValueError, match="not in"):
    asyncio.run(ocp.multihost.sync_global_processes(
        "k", operation_id="op", processes={3}))


def test_path_types():
  assert ocp.path.Path("/a") / "b" == ocp.path.Path("/a/b")
  assert isinstance(ocpx._src.path.PathAwaitingCreation(  # pylint: disable=protected-access
      ocp.path.Path("/x"), None, []), ocp.path.PathAwaitingCreation)


def test_deprecated_pytree_aliases(tmp_path):
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    ocp.save_pytree(tmp_path / "c", {"a": np.arange(3)})
    got = ocp.load_pytree(tmp_path / "c")
    meta = ocp.pytree_metadata(tmp_path / "c")
    ocp.save_pytree_async(tmp_path / "d", {"a": np.arange(2)}).result()
    got_d = ocp.load_pytree_async(tmp_path / "d").result()
  np.testing.assert_array_equal(got["a"], np.arange(3))
  np.testing.assert_array_equal(got_d["a"], np.arange(2))
  assert meta.metadata["a"].shape == (3,)
  names = {str(w.message).split()[0] for w in caught
           if issubclass(w.category, DeprecationWarning)}
  assert {"save_pytree", "load_pytree", "pytree_metadata",
          "save_pytree_async", "load_pytree_async"} <= names
  assert ocp.load_pytree.__deprecated__ == "Use `load` instead."


def _duration():
  return duration_pb2.Duration(seconds=5, nanos=7)


@pytest.mark.parametrize("writer,reader", [
    (ocp, ocp), (ocp, orbax_v1), (orbax_v1, ocp)])
def test_proto_handler_round_trip_and_orbax_compat(tmp_path, writer, reader):
  writer.save_checkpointables(tmp_path / "c", {"cfg": _duration(),
                                               "state": {"a": np.ones(2)}})
  assert (tmp_path / "c" / "cfg" / "proto.pbtxt").read_text().startswith(
      "seconds: 5")
  got = reader.load_checkpointables(tmp_path / "c",
                                    {"cfg": duration_pb2.Duration})
  assert got["cfg"] == _duration()


def test_proto_handler_needs_the_message_class(tmp_path):
  handler = ocp.handlers.ProtoHandler()
  assert handler.is_handleable(_duration())
  assert not handler.is_handleable({"a": 1})
  assert handler.is_abstract_handleable(duration_pb2.Duration)
  assert not handler.is_abstract_handleable(_duration())
  with pytest.raises(ValueError, match="abstract_checkpointable"):
    asyncio.run(handler.load(tmp_path, None))
  with pytest.raises(ValueError, match="protocol buffer"):
    asyncio.run(handler.save(tmp_path, {"a": 1}))


def test_path_step_name_formats():
  pytest.importorskip("ocpx._src.checkpoint_managers.step_names",
                      reason="needs the step managers' naming helpers")
  for prefix in (None, "ckpt"):
    ours = ocp.path.step.standard_name_format(step_prefix=prefix)
    theirs = orbax_v1.path.step.standard_name_format(step_prefix=prefix)
    assert ours.build_name(7) == theirs.build_name(7)
  assert isinstance(ocp.path.step.NameFormat, type)
