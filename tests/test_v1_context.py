# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Context and options configured by assignment, frozen while active."""

import asyncio
import threading

import numpy as np
import pytest

from ocpx import v1 as ocp
from ocpx.v1 import options
from ocpx._src import context as context_lib


def test_options_are_set_by_assignment_and_read_back_under_both_names():
  ctx = ocp.Context()
  ctx.array.saving.use_ocdbt = False
  ctx.pytree.loading.partial_load = True
  ctx.asynchronous.timeout_secs = 30
  ctx.file.path_permission_mode = 0o750
  ctx.checkpoint_layout = "safetensors"
  assert ctx.array_options.saving.use_ocdbt is False
  assert ctx.pytree_options.loading.partial_load is True
  assert ctx.async_options.timeout_secs == 30
  assert ctx.file_options.path_permission_mode == 0o750
  assert ctx.checkpoint_layout is options.CheckpointLayout.SAFETENSORS
  with pytest.raises(ValueError):
    ctx.checkpoint_layout = "no-such-layout"
  for short, long in [("memory", "memory_options"),
                      ("deletion", "deletion_options"),
                      ("safetensors", "safetensors_options"),
                      ("pathways", "pathways_options"),
                      ("multiprocessing", "multiprocessing_options"),
                      ("checkpointables", "checkpointables_options"),
                      ("atomicity", "atomicity_options")]:
    assert getattr(ctx, short) is getattr(ctx, long)
  with pytest.raises(AttributeError):
    ctx.array = options.ArrayOptions()  # groups are replaced field by field


def test_orbax_constructor_keywords_and_defaults():
  ctx = ocp.Context(atomicity_options=options.AtomicityOptions(
      mode=options.AtomicityMode.ATOMIC_RENAME))
  assert ctx.atomicity.mode is options.AtomicityMode.ATOMIC_RENAME
  assert options.AtomicityOptions().mode == "auto"
  assert options.FileOptions().skip_sync_file_validations is False
  m = options.MemoryOptions()
  assert (m.regulator_options, m.expected_surge_bytes,
          m.serialization_status_callback, m.deepcopy_host_arrays) == (
              None, None, None, True)
  s = options.SafetensorsOptions()
  assert (s.max_over_read_ratio, s.read_chunk_bytes) == (None, None)
  assert options.ArrayOptions(saving=options.ArrayOptions.Saving(
      use_zarr3=False)) == options.ArrayOptions(
          saving=options.ArrayOptions.Saving(use_zarr3=False))


def test_active_context_and_its_options_are_frozen_until_exit():
  ctx = ocp.Context()
  ctx.array.saving.storage_options.chunk_byte_size = 1 << 20
  other = ocp.Context()
  with ctx:
    for assign in (
        lambda: setattr(ctx.array.saving, "use_zarr3", False),
        lambda: setattr(ctx.array.saving.storage_options, "chunk_byte_size",
                        1),
        lambda: setattr(ctx.pytree.loading, "partial_load", True),
        lambda: setattr(ctx, "checkpoint_layout", "safetensors"),
        lambda: setattr(ctx.asynchronous, "post_finalization_callback",
                        print),
    ):
      with pytest.raises(RuntimeError, match="active"):
        assign()
    assert ctx.array.saving.storage_options.chunk_byte_size == 1 << 20
    other.array.saving.use_zarr3 = False  # another Context is not frozen
    child = ocp.Context(ctx)  # a child of the active one is a free template
    child.array.saving.use_ocdbt = False
    with child:
      with pytest.raises(RuntimeError):
        child.array.saving.use_ocdbt = True
      with pytest.raises(RuntimeError):
        ctx.array.saving.use_ocdbt = False
    child.array.saving.use_ocdbt = True
  ctx.array.saving.use_zarr3 = False  # unfrozen after the block
  assert options.ArrayOptions().saving.use_zarr3 is True


def test_frozen_state_is_undone_when_the_block_raises():
  ctx = ocp.Context()
  with pytest.raises(KeyError):
    with ctx:
      raise KeyError("boom")
  ctx.array.saving.use_ocdbt = False
  assert context_lib.get_context() is not ctx


def test_children_and_keyword_options_are_independent_copies():
  parent = ocp.Context()
  parent.array.saving.use_zarr3 = False
  parent.array.saving._note = "kept"  # non-field attributes travel too
  child = ocp.Context(parent)
  child.array.saving.use_ocdbt = False
  assert child.array.saving.use_zarr3 is False
  assert child.array.saving._note == "kept"
  assert parent.array.saving.use_ocdbt is True
  given = options.AsyncOptions(timeout_secs=5)
  ctx = ocp.Context(async_options=given)
  given.timeout_secs = 99
  assert ctx.asynchronous.timeout_secs == 5
  # Callbacks are shared, not copied (a bound method of an Event has a lock).
  event = threading.Event()
  ctx = ocp.Context(async_options=options.AsyncOptions(
      post_finalization_callback=event.set))
  assert ctx.asynchronous.post_finalization_callback == event.set


def test_default_registry_sees_later_global_registrations():
  ctx = ocp.Context(ocp.Context())
  assert ctx.checkpointables.registry.get_all_entries() == (
      ocp.handlers.global_registry().get_all_entries())


def test_threads_see_defaults_and_asyncio_tasks_inherit_frozen_state():
  ctx = ocp.Context()
  ctx.array.saving.use_zarr3 = False
  seen = {}
  with ctx:
    t = threading.Thread(
        target=lambda: seen.setdefault("t", context_lib.get_context()))
    t.start()
    t.join()
  assert seen["t"].array.saving.use_zarr3 is True

  async def task():
    assert context_lib.get_context() is ctx
    with pytest.raises(RuntimeError):
      ctx.array.saving.use_zarr3 = True
    return True

  async def main():
    with ctx:
      return await asyncio.create_task(task())

  assert asyncio.run(main())


def test_assigned_options_take_effect_on_save(tmp_path):
  ctx = ocp.Context()
  ctx.array.saving.use_ocdbt = False
  with ctx:
    ocp.save(tmp_path / "c", {"a": np.arange(4)})
  assert not (tmp_path / "c" / "state" / "manifest.ocdbt").exists()
  assert (tmp_path / "c" / "state" / "a" / "zarr.json").exists()
  np.testing.assert_array_equal(ocp.load(tmp_path / "c")["a"], np.arange(4))


@pytest.mark.parametrize("setter, name", [
    (lambda c: setattr(c.atomicity, "mode", options.AtomicityMode.COMMIT_FILE),
     "COMMIT_FILE"),
    (lambda c: setattr(c.memory, "regulator_options",
                       options.MemoryOptions.RegulatorOptions(
                           max_memory_limit_gib=1.0, profiler=object())),
     "regulator_options"),
    (lambda c: setattr(c.memory, "expected_surge_bytes", 10),
     "expected_surge_bytes"),
    (lambda c: setattr(c.memory, "serialization_status_callback", print),
     "serialization_status_callback"),
])
def test_unsupported_options_raise_naming_the_option(tmp_path, setter, name):
  ctx = ocp.Context()
  setter(ctx)
  with ctx, pytest.raises(NotImplementedError, match=name):
    ocp.save(tmp_path / "c", {"a": np.arange(3)})
  assert not (tmp_path / "c").exists()


def test_deepcopy_host_arrays(tmp_path, monkeypatch):
  from ocpx._src.handlers import leaf_handlers  # where numpy leaves are copied
  copies = []
  real_array = np.array

  def counting_array(*args, **kwargs):
    if kwargs.get("copy"):
      copies.append(args[0])
    return real_array(*args, **kwargs)

  monkeypatch.setattr(leaf_handlers.np, "array", counting_array)
  for deepcopy in (True, False):
    copies.clear()
    a = np.arange(4, dtype=np.int32)
    ctx = ocp.Context()
    ctx.memory.deepcopy_host_arrays = deepcopy
    with ctx:
      response = ocp.save_async(tmp_path / f"c{deepcopy}", {"a": a})
    if deepcopy:
      a[:] = 7  # after save_async returned: must not reach the checkpoint
    response.result()
    assert any(c is a for c in copies) == deepcopy
    np.testing.assert_array_equal(ocp.load(tmp_path / f"c{deepcopy}")["a"],
                                  np.arange(4))


def test_skip_sync_file_validations_defers_the_existence_check(tmp_path):
  ocp.save(tmp_path / "c", {"a": np.arange(3)})
  ctx = ocp.Context()
  with ctx, pytest.raises(ValueError, match="already exists"):
    ocp.save_async(tmp_path / "c", {"a": np.arange(5)})
  ctx.file.skip_sync_file_validations = True
  with ctx:
    response = ocp.save_async(tmp_path / "c", {"a": np.arange(5)})
  with pytest.raises(FileExistsError):
    response.result()
  np.testing.assert_array_equal(ocp.load(tmp_path / "c")["a"], np.arange(3))


@pytest.mark.parametrize("setter, name", [
    (lambda c: setattr(c.array.saving, "ocdbt_target_data_file_size", -1),
     "ocdbt_target_data_file_size"),
    (lambda c: setattr(c.array.saving.storage_options, "chunk_byte_size", 0),
     "chunk_byte_size"),
    (lambda c: setattr(c.memory, "write_concurrent_bytes", 0),
     "write_concurrent_bytes"),
    (lambda c: (setattr(c.multiprocessing, "active_processes", {0}),
                setattr(c.multiprocessing, "primary_host", 1)),
     "primary_host"),
])
def test_invalid_values_assigned_later_are_caught_at_save(tmp_path, setter,
                                                          name):
  ctx = ocp.Context()
  setter(ctx)  # constructor checks cannot see assignments
  with ctx, pytest.raises(ValueError, match=name):
    ocp.save(tmp_path / "c", {"a": np.arange(3)})
  assert not (tmp_path / "c").exists()


def test_default_context_is_shared_and_cannot_be_changed():
  # With no Context active, operations share one default Context; changing
  # it would change every later operation, so it refuses, and a Context
  # made afterwards still starts from the defaults.
  default = context_lib.get_context()
  assert context_lib.get_context() is default
  with pytest.raises(RuntimeError, match="default"):
    default.pytree.loading.partial_load = True
  with pytest.raises(RuntimeError):
    default.checkpoint_layout = "safetensors"
  assert default.pytree.loading.partial_load is False
  fresh = ocp.Context()
  fresh.pytree.loading.partial_load = True  # a new Context is its own
  with fresh:
    assert context_lib.get_context() is fresh
  assert context_lib.get_context() is default
  assert default.pytree.loading.partial_load is False
