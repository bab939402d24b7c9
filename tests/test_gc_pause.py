# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The garbage collector is paused during blocking saves and loads, and
restored to the caller's setting afterwards (also when they fail, nest or
overlap)."""

import gc
import threading

import jax
import numpy as np
import pytest

import ocpx
from ocpx import v1 as ocp
from ocpx._src import gc_pause


@pytest.fixture(autouse=True)
def _gc_enabled():
  was = gc.isenabled()
  gc.enable()
  yield
  assert gc_pause.depth() == 0
  if was:
    gc.enable()
  else:
    gc.disable()


def test_nested_and_overlapping_pauses_restore_once():
  with gc_pause.paused():
    assert not gc.isenabled()
    with gc_pause.paused():
      assert not gc.isenabled()
    assert not gc.isenabled()
  assert gc.isenabled()
  # Two threads overlapping: enabled again only after the last one leaves.
  inside, leave = threading.Event(), threading.Event()

  def other():
    with gc_pause.paused():
      inside.set()
      leave.wait()

  t = threading.Thread(target=other)
  with gc_pause.paused():
    t.start()
    inside.wait()
  assert not gc.isenabled()  # the other thread is still inside
  leave.set()
  t.join()
  assert gc.isenabled()


def test_disabled_collector_stays_disabled():
  gc.disable()
  with gc_pause.paused():
    pass
  assert not gc.isenabled()


def test_collector_paused_during_save_and_load_and_restored(
    tmp_path, hook_array_writes):
  seen = []
  real = ocpx._src.engine.ArrayWriteSession.write  # pylint: disable=protected-access

  def spy(self, *a, **k):
    seen.append(gc.isenabled())
    return real(self, *a, **k)

  hook_array_writes(spy)
  tree = {"a": np.arange(8.0), "b": jax.numpy.ones((4, 4))}
  ocp.save(tmp_path / "c", tree)
  assert seen and not any(seen)  # a blocking save: paused throughout
  assert gc.isenabled()
  got = ocp.load(tmp_path / "c")
  np.testing.assert_array_equal(got["a"], tree["a"])
  assert gc.isenabled()
  # A failing load restores it too.
  with pytest.raises(FileNotFoundError):
    ocp.load(tmp_path / "missing")
  assert gc.isenabled()
  # An async save's background writes run with the collector on.
  seen.clear()
  ocp.save_async(tmp_path / "d", tree).result()
  assert seen and all(seen)
  assert gc.isenabled()
