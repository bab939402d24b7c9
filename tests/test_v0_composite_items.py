# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""CompositeCheckpointHandler's item-level temporary directories: each item
is written to `<item>.orbax-checkpoint-tmp` and becomes `<item>` (with its
own commit_success.txt) at finalize, as orbax-checkpoint 0.12.8 does."""

import os

import numpy as np
import pytest

import ocpx

orbax = pytest.importorskip("orbax.checkpoint")

TMP = ".orbax-checkpoint-tmp"


def _args(lib):
  return lib.args.Composite(
      state=lib.args.StandardSave({"w": np.arange(4.0)}),
      extra=lib.args.JsonSave({"lr": 0.5}))


def test_save_keeps_items_temporary_until_finalize(tmp_path):
  h = ocpx.CompositeCheckpointHandler()
  with pytest.raises(ValueError, match="before any items were saved"):
    h.finalize(tmp_path)
  h.save(tmp_path, args=_args(ocpx))
  assert sorted(os.listdir(tmp_path)) == [f"extra{TMP}", f"state{TMP}"]
  pending = h.metadata_from_temporary_paths(tmp_path)
  assert pending.item_handlers == {
      "extra": ocpx.JsonCheckpointHandler().typestr(),
      "state": ocpx.StandardCheckpointHandler().typestr()}
  with pytest.raises(ValueError, match="temporary item"):
    h.metadata(tmp_path)
  h.finalize(tmp_path)
  assert sorted(os.listdir(tmp_path)) == ["extra", "state"]
  assert (tmp_path / "state" / "commit_success.txt").read_text() == (
      f"Checkpoint commit was successful to {tmp_path / 'state'}")
  assert h.metadata_from_temporary_paths(tmp_path).item_handlers == {}
  got = h.restore(tmp_path)
  np.testing.assert_array_equal(got.state["w"], np.arange(4.0))
  assert got.extra == {"lr": 0.5}


def test_checkpointer_layout_matches_orbax(tmp_path):
  """Item markers name the item under the step's tmp directory, in both."""
  for lib in (ocpx, orbax):
    path = tmp_path / lib.__name__.split(".")[0]
    with lib.Checkpointer(lib.CompositeCheckpointHandler()) as c:
      c.save(path, args=_args(lib))
    assert sorted(os.listdir(path)) == [
        "_CHECKPOINT_METADATA", "commit_success.txt", "extra", "state"]
    for item in ("extra", "state"):
      assert (path / item / "commit_success.txt").read_text() == (
          "Checkpoint commit was successful to "
          f"{path.parent / (path.name + TMP) / item}")
  with orbax.Checkpointer(orbax.CompositeCheckpointHandler()) as c:
    got = c.restore(tmp_path / "ocpx")
  assert got.extra == {"lr": 0.5}


def test_unfinalized_item_is_not_restored(tmp_path):
  """An item whose directory is still temporary (its save never finished)
  is not part of the checkpoint."""
  with ocpx.Checkpointer(ocpx.CompositeCheckpointHandler()) as c:
    c.save(tmp_path / "s", args=_args(ocpx))
  os.rename(tmp_path / "s" / "state", tmp_path / "s" / f"state{TMP}")
  with ocpx.Checkpointer(ocpx.CompositeCheckpointHandler()) as c:
    got = c.restore(tmp_path / "s")
    assert list(got.keys()) == ["extra"]
    with pytest.raises(FileNotFoundError, match="state"):
      c.restore(tmp_path / "s", args=ocpx.args.Composite(
          state=ocpx.args.StandardRestore()))


def test_commit_file_items_are_written_in_place(tmp_path):
  opts = ocpx.CompositeOptions(
      atomicity_options=ocpx.options.AtomicityOptions(
          mode=ocpx.options.AtomicityMode.COMMIT_FILE))
  h = ocpx.CompositeCheckpointHandler(composite_options=opts)
  h.save(tmp_path, args=_args(ocpx))
  assert sorted(os.listdir(tmp_path)) == ["extra", "state"]
  assert not (tmp_path / "state" / "commit_success.txt").exists()
  h.finalize(tmp_path)
  assert (tmp_path / "state" / "commit_success.txt").exists()


def test_custom_item_temporary_path_class(tmp_path):
  calls = []

  class Staged(ocpx.path.atomicity.AtomicRenameTemporaryPath):

    async def create(self):
      calls.append(("create", self.get_final().name))
      return await super().create()

    async def finalize(self):
      calls.append(("finalize", self.get_final().name))
      await super().finalize()

  h = ocpx.CompositeCheckpointHandler(
      composite_options=ocpx.CompositeOptions(temporary_path_class=Staged))
  with ocpx.Checkpointer(h) as c:
    c.save(tmp_path / "s", args=_args(ocpx))
    got = c.restore(tmp_path / "s")
  assert sorted(calls) == [("create", "extra"), ("create", "state"),
                           ("finalize", "extra"), ("finalize", "state")]
  assert got.extra == {"lr": 0.5}
  with pytest.raises(TypeError, match="temporary_path_class"):
    ocpx.CompositeCheckpointHandler(
        composite_options=ocpx.CompositeOptions(temporary_path_class=1))
