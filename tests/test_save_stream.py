# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""A blocking save writes its small arrays while it plans the rest.

`save_stream.SmallWriteStream` takes planned leaves in batches and writes
them on a background thread.  What must hold: the checkpoint is the same
one (ocpx and Orbax read it back bit for bit), a failure during planning or
in a streamed write commits nothing and leaves the earlier checkpoint and
no temporary directory behind, and async saves (whose arrays must be copied
before `save_async` returns) never stream.
"""

import threading
import time

import jax.numpy as jnp
import numpy as np
import pytest

from ocpx import v1 as ocp
from ocpx._src import engine
from ocpx._src.handlers import leaf_handlers
from ocpx._src.handlers import save_stream


def _tree(n=600):
  rng = np.random.default_rng(3)
  tree = {}
  for i in range(n):
    a = rng.standard_normal(8 + i % 33).astype(np.float32)
    tree[f"a{i:04d}"] = jnp.asarray(a) if i % 2 else a
  tree["big"] = jnp.asarray(rng.standard_normal((1200, 1024), np.float32))
  tree["scalar"] = 7
  tree["text"] = "hello"
  return tree


def _assert_same(got, tree):
  assert set(got) == set(tree)
  for k, v in tree.items():
    if isinstance(v, str):
      assert got[k] == v
    else:
      np.testing.assert_array_equal(np.asarray(got[k]), np.asarray(v),
                                    err_msg=k)


def _leftovers(parent, final_name):
  return sorted(p.name for p in parent.iterdir() if p.name != final_name)


def _stream_threads():
  return [t for t in threading.enumerate()
          if t.name.startswith("ocpx-stream")]


def test_small_arrays_are_written_before_planning_ends(tmp_path, monkeypatch):
  planned = [0]
  real_plan = leaf_handlers.plan_save
  real_many = engine.ArrayWriteSession.write_many_later
  batches = []  # leaves planned when each batch was handed to the writer

  def plan(*a, **k):
    planned[0] += 1
    return real_plan(*a, **k)

  def many(self, requests):
    batches.append((planned[0], len(requests)))
    return real_many(self, requests)

  monkeypatch.setattr(leaf_handlers, "plan_save", plan)
  monkeypatch.setattr(engine.ArrayWriteSession, "write_many_later", many)
  tree = _tree()
  ocp.save(tmp_path / "c", tree)
  total = planned[0]
  assert len(batches) >= 2
  assert batches[0][0] < total  # the first batch went out mid-planning
  # Every small array went through a batch; "big" was written on its own.
  assert sum(n for _, n in batches) == len(tree) - 2
  _assert_same(ocp.load(tmp_path / "c"), tree)
  assert not _stream_threads()


def test_orbax_reads_a_streamed_save(tmp_path):
  orbax_v1 = pytest.importorskip("orbax.checkpoint.experimental.v1")
  tree = _tree(400)
  ocp.save(tmp_path / "c", tree)
  _assert_same(orbax_v1.load_pytree(tmp_path / "c"), tree)


def test_a_planning_failure_after_streaming_began_commits_nothing(
    tmp_path, monkeypatch, hook_array_writes):
  final = tmp_path / "c"
  old = {"x": np.arange(5, dtype=np.int32)}
  ocp.save(final, old)
  real_plan = leaf_handlers.plan_save
  real_write = engine.ArrayWriteSession.write
  lock = threading.Lock()
  writes = {"started": 0, "in_flight": 0}

  def plan(leaf, v, env):
    if leaf.param_name == "a0550":
      raise ValueError("planning failed on purpose: a0550")
    return real_plan(leaf, v, env)

  def write(self, *a):
    with lock:
      writes["started"] += 1
      writes["in_flight"] += 1
      first = writes["started"] == 1
    try:
      if first:
        time.sleep(0.3)  # still writing when planning fails
      return real_write(self, *a)
    finally:
      with lock:
        writes["in_flight"] -= 1

  monkeypatch.setattr(leaf_handlers, "plan_save", plan)
  hook_array_writes(write)
  with pytest.raises(ValueError, match="a0550"):
    ocp.save(final, _tree(), overwrite=True)
  # The save waited for the batch it had started before it failed.
  assert writes["started"] > 0 and writes["in_flight"] == 0
  assert not _stream_threads()
  assert _leftovers(tmp_path, "c") == []
  _assert_same(ocp.load(final), old)


def test_a_streamed_write_error_commits_nothing(tmp_path, hook_array_writes):
  final = tmp_path / "c"
  old = {"x": np.arange(5, dtype=np.int32)}
  ocp.save(final, old)
  real = engine.ArrayWriteSession.write

  def write(self, param, *a):
    if param == "a0100":
      raise OSError(f"disk full writing {param}")
    return real(self, param, *a)

  hook_array_writes(write)
  with pytest.raises(OSError, match="a0100"):
    ocp.save(final, _tree(), overwrite=True)
  assert not _stream_threads()
  assert _leftovers(tmp_path, "c") == []
  _assert_same(ocp.load(final), old)


@pytest.fixture
def made_streams(monkeypatch):
  """The SmallWriteStreams made while the test runs, in order."""
  made = []
  real_init = save_stream.SmallWriteStream.__init__

  def init(self, *a, **k):
    made.append(self)
    real_init(self, *a, **k)

  monkeypatch.setattr(save_stream.SmallWriteStream, "__init__", init)
  return made


def test_async_saves_and_small_trees_do_not_stream(tmp_path, made_streams):
  made = made_streams
  tree = _tree()
  ocp.save_async(tmp_path / "a", tree).result()
  assert made == []  # its arrays are copied before save_async returns
  _assert_same(ocp.load(tmp_path / "a"), tree)
  ocp.save(tmp_path / "b", {"w": np.ones(3)})
  assert len(made) == 1 and not made[0].started  # one leaf: no batch


class _Plan:
  """What the stream reads of a leaf's plan: numpy boxes, already on host."""

  def __init__(self, name, nbytes):
    self.kind = "np.ndarray"
    self.streamed = False
    self.leaf = type("Leaf", (), {"param_name": name})()
    self.global_shape = (nbytes,)
    self.dtype = np.dtype(np.uint8)
    self.chunk_shape = (nbytes,)
    box = type("Box", (), {})()
    box.nbytes, box.origin, box.host = nbytes, (0,), np.zeros(nbytes, np.uint8)
    self.boxes = [box]


def test_stream_batches_by_bytes_and_boxes():
  batches = []

  def tasks(plans):
    names = [p.leaf.param_name for p in plans]
    return [lambda: batches.append(names)]

  s = save_stream.SmallWriteStream(tasks, pinned=False, batch_bytes=100,
                                   batch_boxes=3)
  s.add(_Plan("a", 60))
  assert not s.started
  s.add(_Plan("b", 60))  # 120 bytes: a batch
  assert s.started
  for n in "cde":  # three boxes: a batch
    s.add(_Plan(n, 1))
  s.add(_Plan("f", 1))
  assert s.finish_planning() == []  # started: the rest is written too
  s.wait()
  assert batches == [["a", "b"], ["c", "d", "e"], ["f"]]


def test_stream_never_started_hands_back_its_plans():
  s = save_stream.SmallWriteStream(lambda plans: [], pinned=False,
                                   batch_bytes=100, batch_boxes=10)
  plans = [_Plan("a", 1), _Plan("b", 1)]
  for p in plans:
    s.add(p)
  assert s.finish_planning() == plans
  assert not any(p.streamed for p in plans)
  s.wait()  # nothing to wait for


def test_stream_wait_raises_the_first_error_after_all_batches_ran():
  ran = []

  def tasks(plans):
    name = plans[0].leaf.param_name

    def task():
      ran.append(name)
      if name in ("b", "c"):
        raise RuntimeError(f"write of {name} failed")
    return [task]

  s = save_stream.SmallWriteStream(tasks, pinned=False, batch_bytes=1,
                                   batch_boxes=1)
  for n in "abcd":
    s.add(_Plan(n, 1))
  with pytest.raises(RuntimeError, match="write of b failed"):
    s.wait()
  assert ran == ["a", "b", "c", "d"]


def test_stream_abort_waits_and_swallows():
  gate = threading.Event()
  ran = []

  def tasks(plans):
    def task():
      gate.wait(5)
      ran.append(1)
      raise RuntimeError("ignored: the save is failing anyway")
    return [task]

  s = save_stream.SmallWriteStream(tasks, pinned=False, batch_bytes=1,
                                   batch_boxes=1)
  s.add(_Plan("a", 1))
  threading.Timer(0.05, gate.set).start()
  s.abort()
  assert ran == [1]  # the batch in flight finished before abort returned
  assert not _stream_threads()


def test_v0_blocking_saves_stream_and_async_ones_do_not(
    tmp_path, monkeypatch, made_streams):
  import ocpx as ocp_v0  # pylint: disable=g-import-not-at-top
  made = made_streams
  flushes = []
  real_flush = save_stream.SmallWriteStream._flush

  def flush(self):
    flushes.append(self)
    real_flush(self)

  monkeypatch.setattr(save_stream.SmallWriteStream, "_flush", flush)
  tree = {k: v for k, v in _tree().items() if k != "text"}
  with ocp_v0.Checkpointer(ocp_v0.StandardCheckpointHandler()) as ckptr:
    ckptr.save(tmp_path / "sync", args=ocp_v0.args.StandardSave(tree))
  assert len(made) == 1 and len(flushes) >= 2
  # StandardCheckpointer is an AsyncCheckpointer: its arrays are copied.
  with ocp_v0.StandardCheckpointer() as ckptr:
    ckptr.save(tmp_path / "async", tree)
    ckptr.wait_until_finished()
  assert len(made) == 1
  with ocp_v0.StandardCheckpointer() as ckptr:
    for name in ("sync", "async"):
      got = ckptr.restore(tmp_path / name)
      _assert_same(got, tree)
