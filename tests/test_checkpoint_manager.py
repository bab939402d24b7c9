# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""ocpx.CheckpointManager: Orbax 0.12.8's API and defaults, the
cross-compatibility matrix with Orbax's managers, and the fixes."""

import dataclasses
import inspect
import os

import numpy as np
import pytest

import ocpx
from ocpx import v1 as ocp_v1

orbax = pytest.importorskip("orbax.checkpoint")
orbax_training = pytest.importorskip(
    "orbax.checkpoint.experimental.v1.training")


def _tree(s):
  return {"w": np.arange(6, dtype=np.float32) + s,
          "b": np.full((2,), s, dtype=np.int32)}


def _eq(a, b):
  assert sorted(a) == sorted(b)
  for k in a:
    np.testing.assert_array_equal(a[k], b[k])


def _multi(lib, s):
  return lib.args.Composite(state=lib.args.StandardSave(_tree(s)),
                            extra=lib.args.JsonSave({"s": s}))


def test_signature_and_options_match_orbax():
  mine = inspect.signature(ocpx.CheckpointManager.__init__)
  theirs = inspect.signature(orbax.CheckpointManager.__init__)
  assert [(p.name, p.default) for p in mine.parameters.values()] == [
      (p.name, p.default) for p in theirs.parameters.values()]
  for method in ("save", "restore", "all_steps", "latest_step", "best_step",
                 "should_save", "delete", "reload", "metadata",
                 "item_metadata", "metrics", "close", "reached_preemption",
                 "check_for_errors", "wait_until_finished"):
    a = inspect.signature(getattr(ocpx.CheckpointManager, method))
    b = inspect.signature(getattr(orbax.CheckpointManager, method))
    assert [(p.name, p.default) for p in a.parameters.values()] == [
        (p.name, p.default) for p in b.parameters.values()], method
  mine_f = dataclasses.fields(ocpx.CheckpointManagerOptions)
  theirs_f = dataclasses.fields(orbax.CheckpointManagerOptions)
  assert [f.name for f in mine_f] == [f.name for f in theirs_f]
  assert len(mine_f) == 33
  a, b = ocpx.CheckpointManagerOptions(), orbax.CheckpointManagerOptions()
  for f in mine_f:
    va, vb = getattr(a, f.name), getattr(b, f.name)
    if dataclasses.is_dataclass(va):
      assert dataclasses.asdict(va) == dataclasses.asdict(vb), f.name
    else:
      assert va == vb, f.name


def test_option_validation():
  with pytest.raises(ValueError):
    ocpx.CheckpointManagerOptions(best_mode="median")
  with pytest.raises(ValueError):
    ocpx.CheckpointManagerOptions(max_to_keep=-1)
  with pytest.raises(ValueError):
    ocpx.CheckpointManagerOptions(
        max_to_keep=1, preservation_policy=ocpx.checkpoint_managers.LatestN(1))
  o = ocpx.CheckpointManagerOptions(save_on_steps=[1, 2])
  assert o.save_on_steps == frozenset({1, 2})
  ro = ocpx.CheckpointManagerOptions(read_only=True, max_to_keep=3)
  assert ro.max_to_keep is None and ro.save_interval_steps == 0


def test_save_interval_initial_save_and_retention(tmp_path):
  o = ocpx.CheckpointManagerOptions(save_interval_steps=5, max_to_keep=2)
  with ocpx.CheckpointManager(tmp_path, options=o) as m:
    assert m.should_save(3)  # the first save happens wherever it is asked
    saved = [s for s in range(3, 17)
             if m.save(s, args=ocpx.args.StandardSave(_tree(s)))]
    m.wait_until_finished()
    assert saved == [3, 5, 10, 15]
    assert m.all_steps() == [10, 15]
    _eq(m.restore(None), _tree(15))
    _eq(m.restore(10, args=ocpx.args.StandardRestore(_tree(0))), _tree(10))
    with pytest.raises(ocpx.checkpoint_manager.StepAlreadyExistsError):
      m.save(15, args=ocpx.args.StandardSave(_tree(0)), force=True)
    with pytest.raises(FileNotFoundError):
      m.delete(3)
    with pytest.raises(ValueError, match="Composite"):
      m.save(20, args=_multi(ocpx, 20))


def test_matrix_orbax_v0_writes_ocpx_reads(tmp_path):
  o = orbax.CheckpointManagerOptions(
      max_to_keep=3, best_fn=lambda m: m["loss"], best_mode="min",
      step_prefix="step", step_format_fixed_length=3)
  with orbax.CheckpointManager(tmp_path, options=o,
                               metadata={"run": 7}) as theirs:
    for s, loss in enumerate([4.0, 2.0, 3.0]):
      theirs.save(s, args=_multi(orbax, s), metrics={"loss": loss},
                  custom_metadata={"s": s})
  o2 = ocpx.CheckpointManagerOptions(
      max_to_keep=3, best_fn=lambda m: m["loss"], best_mode="min",
      step_prefix="step", step_format_fixed_length=3)
  with ocpx.CheckpointManager(tmp_path, options=o2) as m:
    assert m.all_steps() == [0, 1, 2]
    assert m.best_step() == 1 and m.latest_step() == 2
    assert m.metrics(2) == {"loss": 3.0}
    assert m.metadata().custom_metadata == {"run": 7}
    assert m.metadata(1).custom_metadata == {"s": 1}
    no_args = m.restore(1)
    _eq(no_args.state, _tree(1))
    assert no_args.extra == {"s": 1}
    with_args = m.restore(2, args=ocpx.args.Composite(
        state=ocpx.args.StandardRestore(_tree(0))))
    _eq(with_args.state, _tree(2))
  # ocpx v1 training lists and loads the same steps.
  fmt = ocpx.step.standard_name_format(step_prefix="step",
                                       step_format_fixed_length=3)
  with ocp_v1.training.Checkpointer(tmp_path, step_name_format=fmt) as ck:
    assert [(c.step, c.metrics) for c in ck.checkpoints] == [
        (0, {"loss": 4.0}), (1, {"loss": 2.0}), (2, {"loss": 3.0})]
    _eq(ck.load(2), _tree(2))


def test_matrix_ocpx_v0_writes_orbax_reads(tmp_path):
  with ocpx.CheckpointManager(
      tmp_path, options=ocpx.CheckpointManagerOptions(max_to_keep=2),
      metadata={"run": 1}) as m:
    for s in range(3):
      m.save(s, args=_multi(ocpx, s), metrics={"acc": s / 10})
  assert sorted(os.listdir(tmp_path)) == ["1", "2", "metadata"]
  with orbax.CheckpointManager(
      tmp_path, options=orbax.CheckpointManagerOptions(read_only=True)
  ) as theirs:
    assert theirs.all_steps() == [1, 2]
    assert theirs.metrics(2) == {"acc": 0.2}  # written without best_fn
    assert theirs.metadata().custom_metadata == {"run": 1}
    got = theirs.restore(2)  # no args: Orbax's typestrs resolve
    _eq(got.state, _tree(2))
    assert got.extra == {"s": 2}
  with orbax_training.Checkpointer(tmp_path) as ck:
    assert [c.step for c in ck.checkpoints] == [1, 2]
    _eq(ck.load(1), _tree(1))
  # The default item: Orbax restores it without args too.
  d = tmp_path / "single"
  with ocpx.CheckpointManager(d) as m:
    m.save(0, args=ocpx.args.StandardSave(_tree(5)))
  assert (d / "0" / "default").is_dir()
  with orbax.CheckpointManager(d) as theirs:
    _eq(theirs.restore(0), _tree(5))


def test_matrix_v1_writers_read_by_ocpx_v0(tmp_path):
  with orbax_training.Checkpointer(tmp_path / "o") as ck:
    ck.save(0, _tree(0), metrics={"l": 1.0})
  with ocp_v1.training.Checkpointer(tmp_path / "x") as ck:
    ck.save(0, _tree(1), metrics={"l": 2.0})
  for sub, s, loss in (("o", 0, 1.0), ("x", 1, 2.0)):
    with ocpx.CheckpointManager(tmp_path / sub) as m:
      assert m.all_steps() == [0] and m.metrics(0) == {"l": loss}
      got = m.restore(0, args=ocpx.args.Composite(
          state=ocpx.args.PyTreeRestore()))
      _eq(got.state, _tree(s))
      # Without args too (Orbax 0.12.8's manager cannot: v1 typestrs).
      got = m.restore(0)
      _eq(got.state, _tree(s))
      assert got.metrics == {"l": loss}


def test_alternating_writers_with_max_to_keep(tmp_path):
  def orbax_m():
    return orbax.CheckpointManager(
        tmp_path, options=orbax.CheckpointManagerOptions(max_to_keep=3))

  def ocpx_m():
    return ocpx.CheckpointManager(
        tmp_path, options=ocpx.CheckpointManagerOptions(max_to_keep=3))
  for make, lib, steps in ((orbax_m, orbax, range(0, 3)),
                           (ocpx_m, ocpx, range(3, 6)),
                           (orbax_m, orbax, range(6, 9))):
    with make() as m:
      for s in steps:
        m.save(s, args=lib.args.StandardSave(_tree(s)))
      m.wait_until_finished()
      assert m.all_steps() == list(range(max(0, s - 2), s + 1))
  with ocpx_m() as m:
    assert m.all_steps() == [6, 7, 8]
    _eq(m.restore(8), _tree(8))


def test_metrics_without_best_fn_and_newest_kept_with_best_fn(tmp_path):
  o = ocpx.CheckpointManagerOptions(max_to_keep=2,
                                    best_fn=lambda m: m["loss"],
                                    best_mode="min")
  with ocpx.CheckpointManager(tmp_path, options=o) as m:
    for s, loss in enumerate([3, 1, 2, 0.5, 5]):
      m.save(s, args=ocpx.args.StandardSave(_tree(s)),
             metrics={"loss": loss})
    m.wait_until_finished()
    # Orbax 0.12.8 keeps [1, 3]: the newest step is lost.
    assert m.all_steps() == [1, 3, 4]
    assert m.best_step() == 3
  with ocpx.CheckpointManager(tmp_path / "plain") as m:
    m.save(0, args=ocpx.args.StandardSave(_tree(0)), metrics={"a": 1})
    m.wait_until_finished()
    assert m.metrics(0) == {"a": 1}
    assert m.metadata(0).metrics == {"a": 1}


def test_background_error_named_and_not_lost(tmp_path, monkeypatch):
  from ocpx._src import recovery  # pylint: disable=g-import-not-at-top
  real = recovery.commit

  def fail_one(tmp, final, overwrite):
    if final.name == "1":
      raise OSError("disk full")
    return real(tmp, final, overwrite)
  monkeypatch.setattr(recovery, "commit", fail_one)
  o = ocpx.CheckpointManagerOptions(max_to_keep=1)
  m = ocpx.CheckpointManager(tmp_path, options=o)
  m.save(0, args=ocpx.args.StandardSave(_tree(0)))
  m.save(1, args=ocpx.args.StandardSave(_tree(1)))
  assert m.all_steps() == [0]  # never the in-flight step
  # The failure keeps its type (as in Orbax: `except OSError` works) and a
  # note names the step.
  with pytest.raises(OSError, match="disk full") as info:
    m.wait_until_finished()
  assert any("Saving step 1 " in n for n in info.value.__notes__)
  m.check_for_errors()  # reported once
  assert m.all_steps() == [0]
  m.save(2, args=ocpx.args.StandardSave(_tree(2)))
  m.close()
  assert sorted(os.listdir(tmp_path)) == ["2"]


def test_todelete_subdir_and_read_only(tmp_path):
  o = ocpx.CheckpointManagerOptions(max_to_keep=1, todelete_subdir="trash")
  with ocpx.CheckpointManager(tmp_path, options=o) as m:
    for s in range(3):
      m.save(s, args=ocpx.args.StandardSave(_tree(s)))
  assert sorted(os.listdir(tmp_path / "trash")) == ["0", "1"]
  ro = ocpx.CheckpointManagerOptions(read_only=True)
  with ocpx.CheckpointManager(tmp_path, options=ro) as m:
    assert not m.save(5, args=ocpx.args.StandardSave(_tree(5)))
    m.delete(2)
    assert m.all_steps() == [2]


def test_checkpoints_iterator_hands_out_protected_steps(tmp_path):
  with ocpx.CheckpointManager(tmp_path) as m:
    m.save(0, args=ocpx.args.StandardSave(_tree(0)))
    m.save(4, args=ocpx.args.StandardSave(_tree(4)))
  seen = []
  for step in ocpx.checkpoint_utils.checkpoints_iterator(
      tmp_path, timeout=0, seconds_to_sleep=0):
    seen.append(step)
    assert (tmp_path / "_SNAPSHOTS" / str(step)).is_dir()
  assert seen == [4]
  assert not (tmp_path / "_SNAPSHOTS" / "4").exists()
  with ocpx.checkpoint_utils.wait_for_new_checkpoint(
      tmp_path, until_step=5, timeout=0, seconds_to_sleep=0) as s:
    assert s == -1


def _rss_mib() -> float:
  with open("/proc/self/status") as f:
    for line in f:
      if line.startswith("VmRSS:"):
        return int(line.split()[1]) / 1024
  return float("nan")


def test_host_memory_stays_flat_over_many_async_saves(tmp_path):
  tree = {f"l{i}": np.random.default_rng(i).standard_normal(
      (512, 256)).astype(np.float32) for i in range(8)}  # 4 MiB
  o = ocpx.CheckpointManagerOptions(max_to_keep=2)
  with ocpx.CheckpointManager(tmp_path, options=o) as m:
    for s in range(60):
      m.save(s, args=ocpx.args.StandardSave(tree))
      if s == 15:
        m.wait_until_finished()
        warm = _rss_mib()
    m.wait_until_finished()
    after = _rss_mib()
    assert m.all_steps() == [58, 59]
  # 44 more saves of 4 MiB each: no per-save residue (well under 1 MiB/save).
  assert after - warm < 40, (warm, after)


def test_background_error_seen_once_by_each_waiting_thread(tmp_path,
                                                           monkeypatch):
  """As Orbax 0.12.8: every thread waiting on the manager gets the failure
  (of its own type) once; the training thread's next call reports it for
  good, after which nobody sees it again."""
  import concurrent.futures  # pylint: disable=g-import-not-at-top
  import threading  # pylint: disable=g-import-not-at-top
  from ocpx._src import recovery  # pylint: disable=g-import-not-at-top
  real = recovery.commit
  gate = threading.Event()

  def fail_one(tmp, final, overwrite):
    if final.name == "1":
      gate.wait(30)
      raise SystemError("commit broke")
    return real(tmp, final, overwrite)
  monkeypatch.setattr(recovery, "commit", fail_one)
  with ocpx.CheckpointManager(tmp_path) as m:
    m.save(0, args=ocpx.args.StandardSave(_tree(0)))
    m.save(1, args=ocpx.args.StandardSave(_tree(1)))
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
      waiters = [pool.submit(m.wait_until_finished) for _ in range(2)]
      gate.set()
      for w in waiters:
        with pytest.raises(SystemError, match="commit broke"):
          w.result(timeout=30)
      # The waiters did not consume it: the training thread still gets it.
      with pytest.raises(SystemError) as info:
        m.save(2, args=ocpx.args.StandardSave(_tree(2)))
      assert any("step 1" in n for n in info.value.__notes__)
      m.wait_until_finished()  # reported for good
      for w in [pool.submit(m.wait_until_finished) for _ in range(2)]:
        w.result(timeout=30)
    assert m.all_steps() == [0]
    m.save(2, args=ocpx.args.StandardSave(_tree(2)))
  assert ocpx.CheckpointManager(tmp_path).all_steps() == [0, 2]
