# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Edge cases of the public API found in review (regression tests)."""

import threading

import jax
import numpy as np
import pytest

from ocpx import v1 as ocp
from ocpx._src import context as _context_lib


def test_one_context_entered_by_many_threads(tmp_path):
  # Thread A enters, thread B enters, A exits first: A must restore its own
  # state, not pop B's token ("Token was created in a different Context").
  ctx = ocp.Context()
  a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
  errors = []

  def a():
    try:
      with ctx:
        a_in.set()
        b_in.wait(10)
      a_out.set()
      assert ocp.Context() is not None
    except BaseException as e:  # pylint: disable=broad-except
      errors.append(e)
      a_out.set()

  def b():
    try:
      a_in.wait(10)
      with ctx:
        b_in.set()
        a_out.wait(10)
        assert _context_lib.get_context() is ctx
    except BaseException as e:  # pylint: disable=broad-except
      errors.append(e)

  threads = [threading.Thread(target=a), threading.Thread(target=b)]
  for t in threads:
    t.start()
  for t in threads:
    t.join(30)
  assert not errors, errors


def test_concurrent_load_async_in_one_context(tmp_path):
  for i in range(3):
    ocp.save(tmp_path / f"c{i}", {"a": np.arange(1000) + i})
  with ocp.Context():
    for _ in range(5):
      responses = [ocp.load_async(tmp_path / f"c{i}") for i in range(3)]
      for i, r in enumerate(responses):
        np.testing.assert_array_equal(r.result(timeout=60)["a"],
                                      np.arange(1000) + i)


def test_metadata_as_abstract_keeps_numpy_leaves_numpy(tmp_path):
  # Orbax loads a NumpyMetadata leaf as np.ndarray, ArrayMetadata as jax.Array.
  tree = {"np": np.arange(4, dtype=np.int32), "jax": jax.numpy.ones(3),
          "i": 7}
  ocp.save(tmp_path / "c", tree)
  meta = ocp.metadata(tmp_path / "c")
  for abstract in (meta, meta.metadata):
    out = ocp.load(tmp_path / "c", abstract)
    assert type(out["np"]) is np.ndarray, type(out["np"])
    assert out["np"].dtype == np.int32
    np.testing.assert_array_equal(out["np"], tree["np"])
    assert isinstance(out["jax"], jax.Array)
    assert out["i"] == 7


def test_keys_differing_only_by_type_give_a_clear_error(tmp_path):
  with pytest.raises(ValueError, match=r"\['a'\] has keys \[1, '1'\]"):
    ocp.save(tmp_path / "c", {"a": {1: np.ones(2), "1": np.zeros(2)}})
  assert not list(tmp_path.iterdir())  # nothing half-written left behind
  ocp.save(tmp_path / "ok", {"1": np.ones(2)})
  with pytest.raises(ValueError, match=r"ok.*\[1, '1'\]"):
    ocp.load(tmp_path / "ok", {1: np.ones(2), "1": np.zeros(2)})


class _ContextRecorder:
  """A StatefulCheckpointable recording the Context its phases see."""

  def __init__(self):
    self.seen = {}

  async def save(self, directory):
    self.seen["save"] = _context_lib.get_context()

    async def background():
      self.seen["save_background"] = _context_lib.get_context()
      d = await directory.await_creation()
      (d / "v.txt").write_text("1")
    return background()

  async def load(self, directory):
    async def background():
      self.seen["load_background"] = _context_lib.get_context()
    return background()


def test_save_async_background_sees_the_callers_context(tmp_path):
  rec = _ContextRecorder()
  ctx = ocp.Context(file_options=ocp.options.FileOptions(
      path_permission_mode=0o750))
  with ctx:
    ocp.save_checkpointables_async(tmp_path / "c", {"s": rec}).result()
    ocp.load_checkpointables_async(tmp_path / "c", {"s": rec}).result()
  assert {k: v is ctx for k, v in rec.seen.items()} == {
      "save": True, "save_background": True, "load_background": True}


def test_second_save_to_a_path_in_progress_is_refused(tmp_path):
  # Both saves would use <path>.orbax-checkpoint-tmp: the second deleted and
  # reused the first one's directory, and the first could commit the
  # second's data (or a mix) while reporting success.
  first = {f"k{i}": np.full((50_000,), i, np.float32) for i in range(8)}
  r1 = ocp.save_async(tmp_path / "c", first)
  with pytest.raises(ValueError, match="already in progress"):
    ocp.save_async(tmp_path / "c", {"k0": np.zeros(3)}).result()
  r1.result(timeout=60)
  out = ocp.load(tmp_path / "c")
  for k, v in first.items():
    np.testing.assert_array_equal(out[k], v)
  # Once finished (even after a failure), the path can be saved to again.
  ocp.save(tmp_path / "c", {"x": np.ones(2)}, overwrite=True)
  with pytest.raises(ValueError):
    ocp.save(tmp_path / "d", {"x": object()})
  ocp.save(tmp_path / "d", {"x": np.ones(2)})


def test_save_inside_an_existing_checkpoint_is_refused(tmp_path):
  base = tmp_path / "base"
  ocp.save(base, {"a": np.ones(2)})
  before = sorted(p.relative_to(base) for p in base.rglob("*"))
  for inside in (base / "extra", base / "state" / "x", base / "a" / "b"):
    with pytest.raises(ValueError, match="inside the existing checkpoint"):
      ocp.save(inside, {"a": np.zeros(2)})
  assert sorted(p.relative_to(base) for p in base.rglob("*")) == before
  assert list(ocp.load_checkpointables(base)) == ["state"]


def test_reading_metadata_of_many_leaves_is_not_quadratic(tmp_path):
  # Dropping entries that are prefixes of others compared every pair of
  # leaves: 8000 leaves took ~11 s, 100k leaves would take most of an hour.
  import json  # pylint: disable=g-import-not-at-top
  import time  # pylint: disable=g-import-not-at-top
  from ocpx._src import tree as tree_lib  # pylint: disable=g-import-not-at-top
  entries = {}
  for i in range(6000):
    names = ("layers", str(i), "w")
    entries[str(names)] = {
        "key_metadata": [{"key": k, "key_type": t}
                         for k, t in zip(names, (2, 1, 2))],
        "value_metadata": {"value_type": "np.ndarray",
                           "skip_deserialize": False}}
  entries["('layers',)"] = {
      "key_metadata": [{"key": "layers", "key_type": 2}],
      "value_metadata": {"value_type": "Dict", "skip_deserialize": True}}
  (tmp_path / "_METADATA").write_text(json.dumps({"tree_metadata": entries}))
  start = time.monotonic()
  meta = tree_lib.read_tree_metadata(tmp_path)
  assert time.monotonic() - start < 1.5
  assert len(meta.leaves) == 6000  # the ('layers',) prefix entry is dropped
  assert [l.names[1] for l in meta.leaves[:12]] == [str(i) for i in range(12)]


def test_symlinked_destinations(tmp_path):
  base = tmp_path / "base"
  ocp.save(base, {"a": np.ones(2)})
  # A parent that is a symlink into a checkpoint is still inside it.
  (tmp_path / "into_state").symlink_to(base / "state")
  with pytest.raises(ValueError, match="inside the existing checkpoint"):
    ocp.save(tmp_path / "into_state" / "x", {"a": np.zeros(2)})
  assert not (base / "state" / "x").exists()
  # A dangling symlink is an existing destination, refused up front.
  (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
  with pytest.raises(ValueError, match="already exists"):
    ocp.save(tmp_path / "dangling", {"a": np.zeros(2)})
  assert not list(tmp_path.glob("*.orbax-checkpoint-tmp"))
  # overwrite=True replaces the link itself; its target is left alone.
  (tmp_path / "link").symlink_to(base)
  ocp.save(tmp_path / "link", {"a": np.zeros(2)}, overwrite=True)
  assert not (tmp_path / "link").is_symlink()
  np.testing.assert_array_equal(ocp.load(tmp_path / "link")["a"], np.zeros(2))
  np.testing.assert_array_equal(ocp.load(base)["a"], np.ones(2))


def test_abstract_leaf_where_an_empty_node_was_saved(tmp_path):
  # The abstract value itself (a ShapeDtypeStruct, a template array) used to
  # come back as if it were loaded data; Orbax returns the saved empty node.
  ocp.save(tmp_path / "c", {"a": np.arange(3), "n": None, "e": {}})
  abstract = {"a": np.zeros(3, np.int64),
              "n": jax.ShapeDtypeStruct((2,), np.float32),
              "e": np.zeros(2)}
  out = ocp.load(tmp_path / "c", abstract)
  assert out["n"] is None
  assert out["e"] == {}
  np.testing.assert_array_equal(out["a"], np.arange(3))


def test_result_may_be_called_from_completion_callbacks(tmp_path):
  import threading as _threading
  seen = []
  done = _threading.Event()

  def callback(value):
    assert value is None  # a save's result
    seen.append(r.result())  # runs on the background thread
    done.set()

  r = ocp.save_async(tmp_path / "c", {"x": np.arange(3)})
  r.on_complete(callback)
  assert r.result() is None
  assert done.wait(10) and seen == [None]
