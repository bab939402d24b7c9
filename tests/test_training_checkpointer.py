# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""ocpx.v1.training.Checkpointer: API, Orbax compatibility, and the points
where it behaves better than Orbax 0.12.8's managers."""

import os
import pathlib
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ocpx
from ocpx import v1 as ocp
from ocpx._src import recovery

training = ocp.training
pp = training.preservation_policies
sdp = training.save_decision_policies
orbax_training = pytest.importorskip(
    "orbax.checkpoint.experimental.v1.training")

REPO = pathlib.Path(__file__).resolve().parent.parent
# Where this process imports `ocpx` from (source tree or site-packages), so
# that child processes import the same package.
OCPX_ROOT = pathlib.Path(ocpx.__file__).resolve().parent.parent


def _tree(s):
  return {"w": np.arange(6, dtype=np.float32) + s,
          "b": np.full((2,), s, dtype=np.int32)}


def _eq(a, b):
  assert sorted(a) == sorted(b)
  for k in a:
    np.testing.assert_array_equal(a[k], b[k])


# ---------------------------------------------------------------- basics


def test_defaults_save_every_free_step_and_keep_all(tmp_path):
  with training.Checkpointer(tmp_path) as ck:
    assert ck.latest is None and ck.checkpoints == []
    for s in range(4):
      assert ck.save(s, _tree(s), metrics={"loss": 4 - s})
    assert [c.step for c in ck.checkpoints] == [0, 1, 2, 3]
    assert ck.latest.step == 3 and ck.latest.metrics == {"loss": 1}
    _eq(ck.load(), _tree(3))
    _eq(ck.load(1, _tree(0)), _tree(1))
    assert not ck.should_save(2)  # not after the latest step
    with pytest.raises(training.errors.StepAlreadyExistsError):
      ck.save(3, _tree(0))
    assert ck.save(3, _tree(9), overwrite=True)
    _eq(ck.load(3), _tree(9))
    with pytest.raises(training.errors.StepNotFoundError):
      ck.load(17)


def test_save_checkpointables_and_metadata(tmp_path):
  with training.Checkpointer(tmp_path, custom_metadata={"run": "a"}) as ck:
    ck.save_checkpointables(5, {"params": _tree(1), "extra": {"lr": 0.1}},
                            metrics={"acc": 0.9}, custom_metadata={"k": 1})
    got = ck.load_checkpointables(5)
    assert sorted(got) == ["extra", "params"]
    assert got["extra"] == {"lr": 0.1}
    _eq(got["params"], _tree(1))
    only = ck.load_checkpointables(5, {"extra": None})
    assert list(only) == ["extra"]
    m = ck.checkpointables_metadata(5)
    assert sorted(m.metadata) == ["extra", "params"]
    assert m.metrics == {"acc": 0.9} and m.custom_metadata == {"k": 1}
    assert m.step == 5 and m.commit_timestamp_nsecs > m.init_timestamp_nsecs
    assert ck.root_metadata().custom_metadata == {"run": "a"}
    with pytest.raises(ValueError, match="reserved"):
      ck.save_checkpointables(6, {"metrics": {"a": 1}})


def test_load_async_works(tmp_path):
  with training.Checkpointer(tmp_path) as ck:
    ck.save(0, _tree(0))
    ck.save(1, _tree(1))
    _eq(ck.load_async().result(), _tree(1))
    _eq(ck.load_async(0, _tree(0)).result(), _tree(0))
    got = ck.load_checkpointables_async(0).result()
    _eq(got["state"], _tree(0))
    with pytest.raises(training.errors.StepNotFoundError):
      ck.load_async(9).result()


def test_policies_and_delete(tmp_path):
  policy = sdp.FixedIntervalPolicy(2)
  with training.Checkpointer(tmp_path, save_decision_policy=policy,
                             preservation_policy=pp.LatestN(2)) as ck:
    saved = [s for s in range(7) if ck.save(s, _tree(s))]
    assert saved == [0, 2, 4, 6]
    assert [c.step for c in ck.checkpoints] == [4, 6]
    ck.wait()
    assert sorted(os.listdir(tmp_path)) == ["4", "6"]
    assert ck.delete(4)
    assert [c.step for c in ck.checkpoints] == [6]
    assert not ck.delete(4, missing_ok=True)
    with pytest.raises(training.errors.StepNotFoundError):
      ck.delete(4)
    ck.save_checkpointables(8, {"a": _tree(0), "b": _tree(1)})
    assert ck.delete(8, checkpointable_name="b")
    assert list(ck.load_checkpointables(8)) == ["a"]


def test_step_name_format(tmp_path):
  fmt = ocp_step().standard_name_format(step_prefix="step",
                                        step_format_fixed_length=5)
  with training.Checkpointer(tmp_path, step_name_format=fmt) as ck:
    ck.save(12, _tree(0))
  assert (tmp_path / "step_00012").is_dir()
  with orbax_training.Checkpointer(
      tmp_path, step_name_format=orbax_step().standard_name_format(
          step_prefix="step", step_format_fixed_length=5)) as theirs:
    assert [c.step for c in theirs.checkpoints] == [12]


def ocp_step():
  from ocpx import step  # pylint: disable=g-import-not-at-top
  return step


def orbax_step():
  import orbax.checkpoint as o  # pylint: disable=g-import-not-at-top
  return o.step


# ---------------------------------------------------------- compatibility


def test_orbax_writes_ocpx_reads_and_back(tmp_path):
  with orbax_training.Checkpointer(
      tmp_path, preservation_policy=orbax_training.preservation_policies
      .LatestN(3), custom_metadata={"run": 1}) as theirs:
    for s in range(3):
      theirs.save(s, _tree(s), metrics={"loss": float(s)},
                  custom_metadata={"s": s})
  with training.Checkpointer(tmp_path,
                             preservation_policy=pp.LatestN(3)) as ck:
    assert [(c.step, c.metrics) for c in ck.checkpoints] == [
        (0, {"loss": 0.0}), (1, {"loss": 1.0}), (2, {"loss": 2.0})]
    assert ck.root_metadata().custom_metadata == {"run": 1}
    assert ck.metadata(2).custom_metadata == {"s": 2}
    _eq(ck.load(1), _tree(1))
    _eq(ck.load(1, _tree(0)), _tree(1))
    for s in (3, 4):
      ck.save(s, _tree(s), metrics={"loss": float(s)})
    assert [c.step for c in ck.checkpoints] == [2, 3, 4]
  with orbax_training.Checkpointer(
      tmp_path, preservation_policy=orbax_training.preservation_policies
      .LatestN(3)) as theirs:
    assert [(c.step, c.metrics) for c in theirs.checkpoints] == [
        (2, {"loss": 2.0}), (3, {"loss": 3.0}), (4, {"loss": 4.0})]
    _eq(theirs.load(4), _tree(4))
    _eq(theirs.load(3, _tree(0)), _tree(3))
    assert theirs.root_metadata().custom_metadata == {"run": 1}
    theirs.save(5, _tree(5))
  assert sorted(p.name for p in tmp_path.iterdir()) == [
      "3", "4", "5", "metadata"]


def test_alternating_writers_with_best_n(tmp_path):
  fn = lambda m: m["loss"]  # noqa: E731
  losses = [5.0, 1.0, 4.0, 0.5, 3.0, 2.0, 0.1, 6.0, 7.0]

  def orbax_ck():
    return orbax_training.Checkpointer(
        tmp_path, preservation_policy=orbax_training.preservation_policies
        .BestN(get_metric_fn=fn, reverse=True, n=3))

  def ocpx_ck():
    return training.Checkpointer(
        tmp_path, preservation_policy=pp.BestN(get_metric_fn=fn,
                                               reverse=True, n=3))
  writers = [orbax_ck, ocpx_ck, orbax_ck]
  for w, steps in zip(writers, ([0, 1, 2], [3, 4, 5], [6, 7, 8])):
    with w() as ck:
      for s in steps:
        ck.save(s, _tree(s), metrics={"loss": losses[s]})
      listed = [c.step for c in ck.checkpoints]
    if w is ocpx_ck:
      # Best 3 ({1, 3} and 2.0 at 5) plus the newest committed step.
      assert listed == [1, 3, 5]
  # The last writer is Orbax, whose BestN dropped its own newest step.
  assert listed == [1, 3, 6]
  with ocpx_ck() as ck:
    assert [c.step for c in ck.checkpoints] == [1, 3, 6]


# ---------------------------------------------------- better than Orbax


def test_best_n_never_deletes_the_newest_step(tmp_path):
  fn = lambda m: m["loss"]  # noqa: E731
  with training.Checkpointer(
      tmp_path, preservation_policy=pp.BestN(get_metric_fn=fn, reverse=True,
                                             n=2)) as ck:
    for s, loss in enumerate([3, 1, 2, 0.5, 5]):
      ck.save(s, _tree(s), metrics={"loss": loss})
    # Orbax 0.12.8 keeps [1, 3] and deletes step 4 (the one to resume from).
    assert [c.step for c in ck.checkpoints] == [1, 3, 4]
    assert ck.latest.step == 4


def test_in_flight_step_is_not_listed_and_failure_keeps_older_steps(
    tmp_path, monkeypatch):
  real_commit = recovery.commit
  gate = __import__("threading").Event()

  def slow_failing_commit(tmp, final, overwrite):
    if final.name == "1":
      gate.wait(10)
      raise OSError("disk on fire")
    return real_commit(tmp, final, overwrite)
  monkeypatch.setattr(recovery, "commit", slow_failing_commit)
  with training.Checkpointer(tmp_path,
                             preservation_policy=pp.LatestN(1)) as ck:
    ck.save(0, _tree(0))
    r = ck.save_async(1, _tree(1))
    assert r is not None
    # Orbax lists the uncommitted step 1 here and latest_step() returns it.
    assert [c.step for c in ck.checkpoints] == [0]
    assert ck.latest.step == 0
    _eq(ck.load(), _tree(0))
    gate.set()
    with pytest.raises(OSError, match="Saving step 1 "):
      r.result()
    # Nothing was lost or forgotten: step 0 is still tracked and on disk.
    assert [c.step for c in ck.checkpoints] == [0]
    assert not (tmp_path / "1.orbax-checkpoint-tmp").exists()
    ck.save(2, _tree(2))
    assert [c.step for c in ck.checkpoints] == [2]
    ck.wait()
  assert sorted(os.listdir(tmp_path)) == ["2"]


def test_background_error_raised_by_next_save_wait_and_close(
    tmp_path, monkeypatch):
  real_commit = recovery.commit

  def fail_odd(tmp, final, overwrite):
    if int(final.name) % 2:
      raise OSError(f"cannot commit {final.name}")
    return real_commit(tmp, final, overwrite)
  monkeypatch.setattr(recovery, "commit", fail_odd)
  ck = training.Checkpointer(tmp_path)
  ck.save(0, _tree(0))
  ck.save_async(1, _tree(1), force=True)
  with pytest.raises(OSError, match="Saving step 1 "):
    ck.save_async(2, _tree(2), force=True)
  ck.save_async(3, _tree(3), force=True)
  with pytest.raises(OSError, match="Saving step 3 "):
    ck.wait()
  ck.wait()  # reported once, not forever
  ck.save_async(5, _tree(5), force=True)
  with pytest.raises(OSError, match="Saving step 5 "):
    ck.close()
  assert sorted(os.listdir(tmp_path)) == ["0"]


def test_list_is_sorted_after_forcing_an_older_step(tmp_path):
  with training.Checkpointer(tmp_path,
                             preservation_policy=pp.LatestN(2)) as ck:
    ck.save(3, _tree(3))
    ck.save(5, _tree(5))
    ck.save(2, _tree(2), force=True)
    # Orbax: [5, 2], latest 2, and step 3 deleted instead of 2.
    assert [c.step for c in ck.checkpoints] == [3, 5]
    assert ck.latest.step == 5


def test_tmp_cleanup_is_scoped_and_awaited_by_close(tmp_path):
  (tmp_path / "7.orbax-checkpoint-tmp").mkdir()
  (tmp_path / "7.orbax-checkpoint-tmp" / "junk").write_text("x")
  (tmp_path / "other.orbax-checkpoint-tmp").mkdir()  # not a step of ours
  (tmp_path / "run_3.orbax-checkpoint-tmp").mkdir()  # another name format
  ck = training.Checkpointer(tmp_path, cleanup_tmp_directories=True)
  ck.close()  # no save: Orbax leaves the tmp dir and errors at exit
  assert sorted(os.listdir(tmp_path)) == [
      "other.orbax-checkpoint-tmp", "run_3.orbax-checkpoint-tmp"]


def test_deleted_step_leaves_the_listing_at_once(tmp_path):
  with training.Checkpointer(tmp_path) as ck:
    for s in range(3):
      ck.save(s, _tree(s))
    ck.delete(1)
    assert not (tmp_path / "1").exists()
    with orbax_training.Checkpointer(tmp_path) as theirs:
      assert [c.step for c in theirs.checkpoints] == [0, 2]
  assert sorted(os.listdir(tmp_path)) == ["0", "2"]


def _run_child(code: str, tmp_path, *, sig=None, wait_for=None):
  env = dict(os.environ, PYTHONPATH=str(OCPX_ROOT),
             JAX_PLATFORMS="cpu")
  p = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)],
                       cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
  if wait_for is not None:
    line = p.stdout.readline()
    assert wait_for in line, (line, p.stderr.read())
    p.send_signal(sig)
  out, err = p.communicate(timeout=240)
  return p.returncode, out, err


def test_process_killed_mid_save_leaves_previous_steps_intact(tmp_path):
  code = f"""
  import os, signal, numpy as np
  from ocpx import v1 as ocp
  from ocpx._src import recovery
  real = recovery.commit
  def die(tmp, final, overwrite):
    if final.name == "1":
      os.kill(os.getpid(), signal.SIGKILL)
    return real(tmp, final, overwrite)
  recovery.commit = die
  ck = ocp.training.Checkpointer({str(tmp_path / 'run')!r})
  ck.save(0, {{"w": np.arange(4)}})
  ck.save(1, {{"w": np.arange(4) + 1}})
  """
  rc, _, err = _run_child(code, tmp_path)
  assert rc == -signal.SIGKILL, err
  run = tmp_path / "run"
  assert (run / "1.orbax-checkpoint-tmp").is_dir()
  with orbax_training.Checkpointer(run) as theirs:
    assert [c.step for c in theirs.checkpoints] == [0]
  with training.Checkpointer(run, cleanup_tmp_directories=True) as ck:
    assert [c.step for c in ck.checkpoints] == [0]
    np.testing.assert_array_equal(ck.load()["w"], np.arange(4))
    ck.save(1, {"w": np.arange(4) + 1})
  assert sorted(os.listdir(run)) == ["0", "1"]


def test_process_killed_mid_delete_is_finished_by_the_next_manager(tmp_path):
  code = f"""
  import os, shutil, signal, numpy as np
  from ocpx import v1 as ocp
  from ocpx._src.checkpoint_managers import deleter
  def die_halfway(path):
    victims = sorted(p for p in path.rglob("*") if p.is_file())
    for p in victims[: len(victims) // 2]:
      p.unlink()
    print("half", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
  deleter._remove_tree = die_halfway
  pp = ocp.training.preservation_policies
  ck = ocp.training.Checkpointer({str(tmp_path / 'run')!r},
                                 preservation_policy=pp.LatestN(2))
  for s in range(3):
    ck.save(s, {{"w": np.arange(1000) + s}})
  ck.wait()
  ck.close()
  """
  rc, out, err = _run_child(code, tmp_path)
  assert rc == -signal.SIGKILL and "half" in out, err
  run = tmp_path / "run"
  names = sorted(os.listdir(run))
  assert names == [".ocpx-trash", "1", "2"]
  with orbax_training.Checkpointer(run) as theirs:
    assert [c.step for c in theirs.checkpoints] == [1, 2]
  with training.Checkpointer(run) as ck:
    assert [c.step for c in ck.checkpoints] == [1, 2]
  assert sorted(os.listdir(run)) == ["1", "2"]


def test_sigterm_gives_a_preemption_save_in_a_single_process_job(tmp_path):
  code = f"""
  import sys, numpy as np
  import ocpx
  from ocpx import v1 as ocp
  ocpx.checkpoint_managers.enable_preemption_signal_handler()
  sdp = ocp.training.save_decision_policies
  policy = sdp.AnySavePolicy([sdp.FixedIntervalPolicy(1000),
                              sdp.PreemptionCheckpointingPolicy()])
  ck = ocp.training.Checkpointer({str(tmp_path / 'run')!r},
                                 save_decision_policy=policy)
  import time
  for step in range(1, 100000):
    if step == 5:
      print("ready", flush=True)
    saved = ck.save(step, {{"w": np.arange(3) + step}})
    # The signal may land just after a save that was not due; the step
    # saved for it is the next one.
    if saved and ocpx.checkpoint_managers.preemption_signal_received():
      ck.close()
      print("saved", step, flush=True)
      sys.exit(0)
    time.sleep(0.01)
  sys.exit(3)
  """
  rc, out, err = _run_child(code, tmp_path, sig=signal.SIGTERM,
                            wait_for="ready")
  assert rc == 0, err
  step = int(out.split()[-1])
  with orbax_training.Checkpointer(tmp_path / "run") as theirs:
    assert [c.step for c in theirs.checkpoints] == [step]


def test_tmp_cleanup_spares_a_save_in_flight_elsewhere(tmp_path):
  import fcntl  # pylint: disable=g-import-not-at-top
  live = tmp_path / "9.orbax-checkpoint-tmp"
  live.mkdir()
  fd = os.open(live, os.O_RDONLY | os.O_DIRECTORY)
  fcntl.flock(fd, fcntl.LOCK_EX)  # as a trainer's save in flight holds it
  try:
    training.Checkpointer(tmp_path, cleanup_tmp_directories=True).close()
    assert live.is_dir()  # Orbax's cleanup deletes the trainer's save
  finally:
    os.close(fd)
  training.Checkpointer(tmp_path, cleanup_tmp_directories=True).close()
  assert not live.exists()


@pytest.mark.parametrize("writer", ["orbax", "ocpx"])
def test_metadata_values_and_reprs_equal_orbax_s(tmp_path, writer):
  """root_metadata(), checkpoints, latest and metadata(step) print the same
  as Orbax 0.12.8's for the same directory (values and layout)."""
  lib = orbax_training if writer == "orbax" else training
  run = tmp_path / "run"
  with lib.Checkpointer(run) as ck:
    ck.save(0, _tree(0), metrics={"loss": 1.5}, custom_metadata={"c": 1})
    ck.save(1, _tree(1))

  def view(checkpointer_cls):
    with checkpointer_cls(run) as ck:
      return [repr(x) for x in (ck.root_metadata(), ck.checkpoints,
                                ck.latest, ck.metadata(0), ck.metadata(1))]
  assert view(training.Checkpointer) == view(orbax_training.Checkpointer)
  with training.Checkpointer(run) as ck:
    # No root metadata file: {} as in Orbax (not None).
    assert ck.root_metadata().custom_metadata == {}
