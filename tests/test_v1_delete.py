# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""ocpx.v1.delete / delete_async, and their interplay with loading."""

import json

import numpy as np
import orbax.checkpoint.experimental.v1 as orbax_v1
import pytest

from ocpx import v1 as ocp
from ocpx.v1 import options


def _two_items(path):
  ocp.save_checkpointables(path, {"state": {"a": np.arange(3)},
                                  "opt": {"m": np.ones(2)}})


def test_delete_whole_checkpoint(tmp_path):
  ocp.save(tmp_path / "c", {"a": np.arange(3)})
  assert ocp.delete(tmp_path / "c") is True
  assert not (tmp_path / "c").exists()
  assert ocp.delete(tmp_path / "c", missing_ok=True) is False
  with pytest.raises(FileNotFoundError):
    ocp.delete(tmp_path / "c")


def test_delete_async_returns_a_response(tmp_path):
  ocp.save(tmp_path / "c", {"a": np.arange(3)})
  response = ocp.delete_async(tmp_path / "c")
  assert response.result() is True
  assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("reader", [ocp, orbax_v1])
def test_delete_one_checkpointable_keeps_the_rest(tmp_path, reader):
  _two_items(tmp_path / "c")
  assert ocp.delete(tmp_path / "c", checkpointable_name="opt")
  assert not (tmp_path / "c" / "opt").exists()
  assert not (tmp_path / "c" / "_CHECKPOINT_DELETION").exists()
  meta = json.loads((tmp_path / "c" / "_CHECKPOINT_METADATA").read_text())
  assert set(meta["item_handlers"]) == {"state"}
  got = reader.load_checkpointables(tmp_path / "c")
  assert set(got) == {"state"}
  assert ocp.delete(tmp_path / "c", checkpointable_name="opt",
                    missing_ok=True) is False


def test_refusals(tmp_path):
  _two_items(tmp_path / "c")
  ocp.save(tmp_path / "one", {"a": np.arange(3)})
  with pytest.raises(ValueError, match="final checkpointable"):
    ocp.delete(tmp_path / "one", checkpointable_name="state")
  with pytest.raises(ocp.errors.InvalidLayoutError, match="checkpointable"):
    ocp.delete(tmp_path / "c" / "state")
  (tmp_path / "plain").mkdir()
  (tmp_path / "plain" / "notes.txt").write_text("x")
  with pytest.raises(ocp.errors.InvalidLayoutError, match="Not an Orbax"):
    ocp.delete(tmp_path / "plain")
  for bad in ("", "..", "a/b", "metrics", "_CHECKPOINT_METADATA"):
    with pytest.raises(ValueError):
      ocp.delete(tmp_path / "c", checkpointable_name=bad)
  with pytest.raises(TypeError):
    ocp.delete(tmp_path / "c", checkpointable_name=3)
  with pytest.raises(TypeError):
    ocp.delete(tmp_path / "c", missing_ok="yes")
  with pytest.raises(FileNotFoundError):
    ocp.delete(tmp_path / "c", checkpointable_name="nope")
  (tmp_path / "link").symlink_to(tmp_path / "c")
  with pytest.raises(ValueError, match="symlink"):
    ocp.delete(tmp_path / "link")
  ctx = ocp.Context()
  ctx.deletion.gcs_deletion_options.todelete_full_path = "trash"
  with ctx, pytest.raises(NotImplementedError, match="todelete_full_path"):
    ocp.delete(tmp_path / "c")
  ctx = ocp.Context()
  ctx.checkpoint_layout = options.CheckpointLayout.SAFETENSORS
  with ctx, pytest.raises(NotImplementedError, match="Orbax checkpoint"):
    ocp.delete(tmp_path / "c")
  assert (tmp_path / "c" / "state").is_dir() and (tmp_path / "c" / "opt")


def _interrupted_item_deletion(path, name):
  """The state a deletion of `name` leaves when killed after its record."""
  meta = json.loads((path / "_CHECKPOINT_METADATA").read_text())
  updated = dict(meta, item_handlers={
      k: v for k, v in meta["item_handlers"].items() if k != name})
  record = {"operation_id": "0123456789abcdef0123456789abcdef",
            "checkpointable_name": name, "destination": None,
            "original_metadata": meta, "updated_metadata": updated}
  (path / "_CHECKPOINT_DELETION").write_text(json.dumps(record))


@pytest.mark.parametrize("lib", [ocp, orbax_v1])
def test_unfinished_deletion_hides_the_item_and_can_be_finished(tmp_path, lib):
  _two_items(tmp_path / "c")
  _interrupted_item_deletion(tmp_path / "c", "opt")
  with pytest.raises(lib.errors.DeletionInProgressError):
    lib.load_checkpointables(tmp_path / "c", {"opt": None})
  assert set(lib.load_checkpointables(tmp_path / "c")) == {"state"}
  with pytest.raises(lib.errors.DeletionRecoveryError):
    lib.delete(tmp_path / "c", checkpointable_name="state")
  assert lib.delete(tmp_path / "c", checkpointable_name="opt")
  assert not (tmp_path / "c" / "_CHECKPOINT_DELETION").exists()
  assert set(ocp.load_checkpointables(tmp_path / "c")) == {"state"}


def test_unfinished_deletion_blocks_named_load_and_overwrite(tmp_path):
  _two_items(tmp_path / "c")
  _interrupted_item_deletion(tmp_path / "c", "opt")
  with pytest.raises(ocp.errors.DeletionInProgressError):
    ocp.load(tmp_path / "c", checkpointable_name="opt")
  with pytest.raises(ocp.errors.DeletionInProgressError):
    ocp.save(tmp_path / "c", {"a": np.ones(1)}, overwrite=True)
  (tmp_path / "c" / "_CHECKPOINT_DELETION").write_text("{broken")
  with pytest.raises(ocp.errors.DeletionRecoveryError):
    ocp.load_checkpointables(tmp_path / "c")


def test_orbax_finishes_after_ocpx_and_reverse(tmp_path):
  _two_items(tmp_path / "c")
  assert orbax_v1.delete(tmp_path / "c", checkpointable_name="opt")
  assert set(ocp.load_checkpointables(tmp_path / "c")) == {"state"}
  assert orbax_v1.delete(tmp_path / "c")
  assert not (tmp_path / "c").exists()


def test_interrupted_whole_deletion_keeps_markers_and_retries(tmp_path):
  ocp.save(tmp_path / "c", {"a": np.arange(3)})
  # What an interruption after the payload removal leaves behind.
  import shutil  # pylint: disable=g-import-not-at-top
  shutil.rmtree(tmp_path / "c" / "state")
  assert ocp.delete(tmp_path / "c")
  assert not (tmp_path / "c").exists()
  (tmp_path / "empty").mkdir()  # an empty root is deletable
  assert ocp.delete(tmp_path / "empty")
