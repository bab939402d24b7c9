# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Options, Context and handler registration: the Orbax v1 surface."""

import threading

import pytest

from ocpx import v1 as ocp
from ocpx.v1 import handlers
from ocpx.v1 import options


def test_options_are_mutable_keyword_only_with_orbax_defaults():
  a = options.AsyncOptions()
  assert (a.timeout_secs, a.post_finalization_callback,
          a.create_directories_asynchronously) == (1200, None, True)
  a.timeout_secs = 3  # templates are configured by assignment
  assert a.timeout_secs == 3
  with pytest.raises(TypeError):
    options.AsyncOptions(5)  # keyword-only
  s = options.ArrayOptions.Saving()
  assert (s.use_ocdbt, s.use_zarr3, s.use_compression,
          s.ocdbt_target_data_file_size, s.enable_write_sharding_file,
          s.use_replica_parallel) == (True, True, True, None, True, None)
  assert s.enable_chunk_checksums is True  # ocpx extension
  assert s.storage_options == options.ArrayOptions.Saving.StorageOptions()
  l = options.ArrayOptions.Loading()
  assert (l.enable_padding_and_truncation,
          l.raise_array_data_missing_error) == (False, True)
  assert options.MultiprocessingOptions().primary_host == 0
  assert options.PyTreeOptions().loading.partial_load is False
  m = options.MemoryOptions()
  assert m.write_concurrent_bytes is None and m.is_prioritized_key_fn is None


def test_bad_options_raise():
  with pytest.raises(ValueError, match="ocdbt_target_data_file_size"):
    options.ArrayOptions.Saving(ocdbt_target_data_file_size=-1)
  with pytest.raises(ValueError, match="primary_host"):
    options.MultiprocessingOptions(primary_host=3, active_processes={0, 1})
  with pytest.raises(ValueError, match="write_concurrent_bytes"):
    options.MemoryOptions(write_concurrent_bytes=0)
  with pytest.raises(TypeError, match="array_options"):
    ocp.Context(array_options=options.AsyncOptions())


def test_context_inherits_from_explicit_parent_only():
  a = options.AsyncOptions(timeout_secs=7)
  arr = options.ArrayOptions(saving=options.ArrayOptions.Saving(
      use_compression=False))
  parent = ocp.Context(async_options=a)
  child = ocp.Context(parent, array_options=arr)
  assert child.async_options.timeout_secs == 7
  assert child.array_options.saving.use_compression is False
  with parent:
    fresh = ocp.Context()  # no implicit inheritance from the active one
    assert fresh.async_options.timeout_secs == 1200
  with pytest.raises(AttributeError):
    child.async_options = a


def test_context_is_thread_local_and_nests():
  from ocpx._src import context as context_lib
  ctx = ocp.Context(async_options=options.AsyncOptions(timeout_secs=5))
  seen = {}
  with ctx:
    assert context_lib.get_context() is ctx
    inner = ocp.Context(ctx, memory_options=options.MemoryOptions(
        read_concurrent_bytes=10))
    with inner:
      assert context_lib.get_context() is inner
    assert context_lib.get_context() is ctx
    t = threading.Thread(
        target=lambda: seen.setdefault("t", context_lib.get_context()))
    t.start()
    t.join()
  assert seen["t"] is not ctx
  assert seen["t"].async_options.timeout_secs == 1200


class _Foo:

  def __init__(self, x=0):
    self.x = x


class _FooHandler:

  def is_handleable(self, c):
    return isinstance(c, _Foo)

  def is_abstract_handleable(self, a):
    return a is None or isinstance(a, _Foo)

  async def save(self, directory, c):
    async def bg():
      d = await directory.await_creation()
      (d / "foo.txt").write_text(str(c.x))
    return bg()

  async def load(self, directory, abstract=None):
    async def bg():
      return _Foo(int((directory / "foo.txt").read_text()))
    return bg()

  async def metadata(self, directory):
    return None


def test_registry_resolution_order():
  from ocpx._src.handlers import registration
  reg = handlers.local_registry()
  # PyTreeHandler, registered after JsonHandler, takes every PyTree it can,
  # all-string dicts too (what orbax-checkpoint 0.12.8 records for them).
  assert isinstance(registration.resolve_handler_for_save(
      reg, {"a": "x", "b": {"c": "y"}}, name="extra"), handlers.PyTreeHandler)
  # A bare string is a one-leaf PyTree too (Orbax 0.12.8 resolves it so);
  # JsonHandler still takes it where registered for the name.
  assert isinstance(registration.resolve_handler_for_save(
      reg, "text", name="extra"), handlers.PyTreeHandler)
  assert handlers.JsonHandler().is_handleable("text")
  assert isinstance(registration.resolve_handler_for_save(
      reg, {"a": 1.0}, name="extra"), handlers.PyTreeHandler)
  # 'state' is registered for PyTreeHandler by name.
  assert isinstance(registration.resolve_handler_for_save(
      reg, {"a": "x"}, name="state"), handlers.PyTreeHandler)
  with pytest.raises(handlers.NoEntryError):
    registration.resolve_handler_for_save(reg, _Foo(), name="foo")
  reg.add(_FooHandler)
  assert isinstance(registration.resolve_handler_for_save(
      reg, _Foo(), name="foo"), _FooHandler)
  with pytest.raises(handlers.AlreadyExistsError):
    reg.add(_FooHandler)
  assert handlers.global_registry is not None
  with pytest.raises(NotImplementedError):
    # The default context registry is read-only.
    ocp.Context().checkpointables_options.registry.add(_FooHandler)


def test_custom_handler_via_context(tmp_path):
  opts = options.CheckpointablesOptions.create_with_handlers(_FooHandler())
  with ocp.Context(checkpointables_options=opts):
    ocp.save_checkpointables(tmp_path / "c", {"foo": _Foo(41)})
    out = ocp.load_checkpointables(tmp_path / "c")
  assert out["foo"].x == 41
  assert (tmp_path / "c" / "foo" / "foo.txt").read_text() == "41"
