# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""v0 Checkpointers and CheckpointManager with a chosen TemporaryPath class:
atomic rename (default), commit file (marker written last, in place) and a
user-defined class; recognised as complete/incomplete by ocpx and by
orbax-checkpoint 0.12.8 in both directions."""

import os
import pathlib

import numpy as np
import pytest

import ocpx
from ocpx._src import atomicity

orbax = pytest.importorskip("orbax.checkpoint")

MARKER = "commit_success.txt"


def _tree():
  return {"w": np.arange(12, dtype=np.float32).reshape(3, 4),
          "b": np.ones(5, np.int32)}


def _assert_tree(got):
  want = _tree()
  assert sorted(got) == sorted(want)
  for k in want:
    np.testing.assert_array_equal(np.asarray(got[k]), want[k])


COMMIT_FILE_CLASSES = {
    "ocpx": ocpx.path.atomicity.CommitFileTemporaryPath,
    "orbax": orbax.path.atomicity.CommitFileTemporaryPath,
}


def _ocpx_ckptr(cls=None, asynchronous=False, **kw):
  handler = ocpx.PyTreeCheckpointHandler()
  if asynchronous:
    return ocpx.AsyncCheckpointer(handler, temporary_path_class=cls, **kw)
  return ocpx.Checkpointer(handler, temporary_path_class=cls, **kw)


def _orbax_ckptr(cls=None):
  return orbax.Checkpointer(orbax.PyTreeCheckpointHandler(),
                            temporary_path_class=cls)


@pytest.mark.parametrize("cls_from", ["ocpx", "orbax"])
@pytest.mark.parametrize("asynchronous", [False, True])
def test_commit_file_save_writes_in_place_and_marker(tmp_path, cls_from,
                                                     asynchronous):
  cls = COMMIT_FILE_CLASSES[cls_from]
  path = tmp_path / "run" / "0"
  with _ocpx_ckptr(cls, asynchronous) as ckptr:
    ckptr.save(path, args=ocpx.args.PyTreeSave(_tree()))
    if asynchronous:
      ckptr.wait_until_finished()
    # Nothing was ever named *.orbax-checkpoint-tmp, and no v1 indicator.
    assert os.listdir(path.parent) == ["0"]
    assert (path / MARKER).read_text() == (
        f"Checkpoint commit was successful to {path}")
    assert not (path / "orbax.checkpoint").exists()
    _assert_tree(ckptr.restore(path))
  # Orbax in commit-file mode finds it complete.
  _assert_tree(_orbax_ckptr(COMMIT_FILE_CLASSES["orbax"]).restore(path))


def test_atomicity_options_commit_file_mode(tmp_path):
  opts = ocpx.options.AtomicityOptions(
      mode=ocpx.options.AtomicityMode.COMMIT_FILE)
  path = tmp_path / "a"
  ckptr = ocpx.Checkpointer(ocpx.PyTreeCheckpointHandler(),
                            atomicity_options=opts)
  ckptr.save(path, args=ocpx.args.PyTreeSave(_tree()))
  assert (path / MARKER).exists()
  os.remove(path / MARKER)
  with pytest.raises(ValueError, match="Found incomplete checkpoint"):
    ckptr.restore(path)


def test_uncommitted_commit_file_checkpoint_is_incomplete_for_both(tmp_path):
  path = tmp_path / "0"
  _ocpx_ckptr(COMMIT_FILE_CLASSES["ocpx"]).save(
      path, args=ocpx.args.PyTreeSave(_tree()))
  os.remove(path / MARKER)  # as if the save died before its commit
  for ckptr in (_ocpx_ckptr(COMMIT_FILE_CLASSES["ocpx"]),
                _ocpx_ckptr(COMMIT_FILE_CLASSES["orbax"]),
                _orbax_ckptr(COMMIT_FILE_CLASSES["orbax"])):
    with pytest.raises(ValueError, match="Found incomplete checkpoint"):
      ckptr.restore(path)


def test_orbax_commit_file_checkpoints_read_by_ocpx(tmp_path):
  done, crashed = tmp_path / "done", tmp_path / "crashed"
  writer = _orbax_ckptr(COMMIT_FILE_CLASSES["orbax"])
  writer.save(done, _tree())
  writer.save(crashed, _tree())
  os.remove(crashed / MARKER)
  for cls in COMMIT_FILE_CLASSES.values():
    reader = _ocpx_ckptr(cls)
    _assert_tree(reader.restore(done))
    with pytest.raises(ValueError, match="Found incomplete checkpoint"):
      reader.restore(crashed)


def test_commit_file_force_replaces_and_failure_leaves_nothing(tmp_path):
  path = tmp_path / "p"
  ckptr = _ocpx_ckptr(COMMIT_FILE_CLASSES["ocpx"])
  ckptr.save(path, args=ocpx.args.PyTreeSave({"x": np.zeros(3)}))
  with pytest.raises(ValueError, match="already exists"):
    ckptr.save(path, args=ocpx.args.PyTreeSave(_tree()))
  ckptr.save(path, args=ocpx.args.PyTreeSave(_tree()), force=True)
  _assert_tree(ckptr.restore(path))
  # A save that fails while writing leaves no directory behind.
  bad = tmp_path / "bad"
  with pytest.raises(ValueError):
    ckptr.save(bad, args=ocpx.args.PyTreeSave({"x": object()}))
  assert not bad.exists()


def test_default_rename_writes_what_orbax_v0_writes(tmp_path):
  """Default class: the same top-level files as Orbax's v0 Checkpointer (no
  `orbax.checkpoint` indicator), committed by rename."""
  ours, theirs = tmp_path / "ours", tmp_path / "theirs"
  ocpx.Checkpointer(ocpx.PyTreeCheckpointHandler()).save(
      ours, args=ocpx.args.PyTreeSave(_tree()))
  _orbax_ckptr().save(theirs, _tree())
  assert sorted(os.listdir(ours)) == sorted(os.listdir(theirs))
  assert (ours / MARKER).read_text() == (
      f"Checkpoint commit was successful to {ours}")
  assert sorted(os.listdir(tmp_path)) == ["ours", "theirs"]
  # Explicit rename classes (ocpx's or Orbax's) behave the same.
  for cls in (ocpx.path.atomicity.AtomicRenameTemporaryPath,
              orbax.path.atomicity.AtomicRenameTemporaryPath):
    p = tmp_path / cls.__module__.split(".")[0]
    _ocpx_ckptr(cls).save(p, args=ocpx.args.PyTreeSave(_tree()))
    _assert_tree(_orbax_ckptr().restore(p))


class _DoneFileTemporaryPath(ocpx.path.atomicity_types.TemporaryPath):
  """A user strategy: write `<final>.staging`, commit with DONE + rename."""

  calls: list = []

  def __init__(self, final):
    self._final = pathlib.Path(final)
    self._tmp = self._final.parent / (self._final.name + ".staging")

  @classmethod
  async def validate(cls, temporary_path):
    if not str(temporary_path).endswith(".staging"):
      raise ocpx.path.atomicity_types.ValidationError("not staging")

  @classmethod
  async def validate_final(cls, final_path):
    if not (pathlib.Path(final_path) / "DONE").exists():
      raise ocpx.path.atomicity_types.ValidationError("no DONE")

  @classmethod
  def from_temporary(cls, temporary_path, *, file_options=None,
                     snapshot_type=None):
    return cls(str(temporary_path)[:-len(".staging")])

  @classmethod
  def from_final(cls, final_path, *, checkpoint_metadata_store=None,
                 file_options=None, snapshot_type=None):
    cls.calls.append("from_final")
    return cls(final_path)

  def get(self):
    return self._tmp

  def get_final(self):
    return self._final

  async def create(self):
    type(self).calls.append("create")
    self._tmp.mkdir(parents=True)
    return self._tmp

  async def finalize(self):
    type(self).calls.append("finalize")
    assert (self._tmp / "_CHECKPOINT_METADATA").exists()
    (self._tmp / "DONE").write_text("ok")
    os.rename(self._tmp, self._final)


def test_custom_temporary_path_class_is_driven_by_its_protocol(tmp_path):
  _DoneFileTemporaryPath.calls = []
  path = tmp_path / "c"
  ckptr = _ocpx_ckptr(_DoneFileTemporaryPath)
  ckptr.save(path, args=ocpx.args.PyTreeSave(_tree()))
  assert _DoneFileTemporaryPath.calls == ["from_final", "create", "finalize"]
  assert (path / "DONE").exists() and not (path / MARKER).exists()
  _assert_tree(ckptr.restore(path))
  os.remove(path / "DONE")
  with pytest.raises(ValueError, match="Found incomplete checkpoint"):
    ckptr.restore(path)


def test_bad_temporary_path_class_is_a_type_error():
  with pytest.raises(TypeError, match="temporary_path_class"):
    ocpx.Checkpointer(ocpx.PyTreeCheckpointHandler(),
                      temporary_path_class="CommitFile")


def test_builtin_classes_follow_orbax_protocol(tmp_path):
  final = tmp_path / "f"
  tp = atomicity.CommitFileTemporaryPath.from_final(final)
  assert tp.get() == final and tp.get_final() == final
  atomicity.run(tp.create())
  assert atomicity.is_finalized(
      final, temporary_path_class=atomicity.AtomicRenameTemporaryPath)
  assert not atomicity.is_finalized(
      final, temporary_path_class=atomicity.CommitFileTemporaryPath)
  atomicity.run(tp.finalize())
  assert atomicity.is_finalized(
      final, temporary_path_class=atomicity.CommitFileTemporaryPath)
  rt = atomicity.AtomicRenameTemporaryPath.from_final(tmp_path / "r")
  assert rt.get().name == "r.orbax-checkpoint-tmp"
  atomicity.run(rt.create())
  (rt.get() / "data").write_text("x")
  atomicity.run(rt.finalize())
  assert (tmp_path / "r" / "data").exists()
  assert (tmp_path / "r" / MARKER).exists()
  assert not rt.get().exists()
  back = atomicity.AtomicRenameTemporaryPath.from_temporary(rt.get())
  assert back.get_final() == tmp_path / "r"


@pytest.mark.parametrize("writer", ["ocpx", "orbax"])
def test_manager_commit_file_mode_both_directions(tmp_path, writer):
  lib = ocpx if writer == "ocpx" else orbax
  other = orbax if writer == "ocpx" else ocpx

  def manager(l, **kw):
    return l.CheckpointManager(
        tmp_path, options=l.CheckpointManagerOptions(
            temporary_path_class=l.path.atomicity.CommitFileTemporaryPath,
            enable_async_checkpointing=False, **kw))

  with manager(lib) as m:
    for step in (1, 2):
      m.save(step, args=lib.args.StandardSave(_tree()))
    m.wait_until_finished()
  assert not [n for n in os.listdir(tmp_path) if "tmp" in n]
  assert (tmp_path / "2" / MARKER).exists()
  # Items are committed the same way (in place, with their own marker).
  assert sorted(os.listdir(tmp_path / "2")) == sorted(
      ["_CHECKPOINT_METADATA", MARKER, "default"])
  assert (tmp_path / "2" / "default" / MARKER).exists()
  os.remove(tmp_path / "2" / MARKER)  # step 2 never committed
  for l in (lib, other):
    with manager(l) as m:
      assert m.all_steps() == [1], l.__name__
      _assert_tree(m.restore(1, args=l.args.StandardRestore(_tree())))


def test_v1_load_in_commit_file_mode(tmp_path):
  """ocpx.v1.load needs the marker when the Context asks for commit files
  (by atomicity mode or temporary_path_class); by default a local directory
  counts as committed, as in Orbax."""
  from ocpx import v1  # pylint: disable=g-import-not-at-top
  path = tmp_path / "v"
  orbax.Checkpointer(
      orbax.PyTreeCheckpointHandler(),
      temporary_path_class=COMMIT_FILE_CLASSES["orbax"]).save(path, _tree())
  commit_file_contexts = [
      lambda: v1.Context(atomicity_options=v1.options.AtomicityOptions(
          mode=v1.options.AtomicityMode.COMMIT_FILE)),
      lambda: v1.Context(file_options=v1.options.FileOptions(
          temporary_path_class=COMMIT_FILE_CLASSES["ocpx"])),
  ]
  for make in commit_file_contexts:
    with make():
      _assert_tree(v1.load(path))
  os.remove(path / MARKER)
  _assert_tree(v1.load(path))
  for make in commit_file_contexts:
    with make():
      with pytest.raises(v1.errors.InvalidLayoutError,
                         match="Found incomplete checkpoint"):
        v1.load(path)


def test_manager_commit_file_mode_replaces_and_cleans_uncommitted_steps(
    tmp_path):
  """In commit-file mode a step directory without its marker is what an
  interrupted save left: saving that step again replaces it, and
  cleanup_tmp_directories removes such directories, as Orbax does."""

  def manager(**kw):
    return ocpx.CheckpointManager(
        tmp_path, options=ocpx.CheckpointManagerOptions(
            temporary_path_class=ocpx.path.atomicity.CommitFileTemporaryPath,
            enable_async_checkpointing=False, **kw))

  with manager() as m:
    for step in (1, 2, 3):
      m.save(step, args=ocpx.args.StandardSave(_tree()))
  os.remove(tmp_path / "2" / MARKER)
  os.remove(tmp_path / "3" / MARKER)
  with manager() as m:
    assert m.all_steps() == [1]
    m.save(3, args=ocpx.args.StandardSave(_tree()))  # replaces the remains
    assert m.all_steps() == [1, 3]
    _assert_tree(m.restore(3, args=ocpx.args.StandardRestore(_tree())))
  assert (tmp_path / "2").exists()  # left alone without cleanup
  with manager(cleanup_tmp_directories=True) as m:
    assert m.all_steps() == [1, 3]
  assert sorted(os.listdir(tmp_path)) == ["1", "3"]
