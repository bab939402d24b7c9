# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""ocpx.v1.partial: a checkpoint built over several saves, then finalized."""

import threading

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint.experimental.v1 as orbax_v1
import pytest

from ocpx import v1 as ocp
from ocpx._src import engine


def _values(tree):
  return jax.tree.map(lambda x: np.asarray(x).tolist(), tree)


@pytest.mark.parametrize("use_ocdbt", [True, False])
def test_partial_saves_merge_into_one_checkpoint(tmp_path, use_ocdbt):
  path = tmp_path / "ckpt"
  ctx = ocp.Context()
  ctx.array.saving.use_ocdbt = use_ocdbt
  with ctx:
    ocp.partial.save(path, {"a": np.arange(4), "s": "hi"},
                     custom_metadata={"x": 1, "y": 0})
    response = ocp.partial.save_async(
        path, {"b": {"c": jnp.ones(3)}, "n": 5}, custom_metadata={"y": 2})
    response.result()
    ocp.partial.save(path, {"d": np.float32(2.5)})
    assert not path.exists()  # nothing visible before finalize
    ocp.partial.finalize(path)
  assert not (tmp_path / "ckpt.partial_save").exists()
  expected = {"a": [0, 1, 2, 3], "s": "hi", "b": {"c": [1.0, 1.0, 1.0]},
              "n": 5, "d": 2.5}
  for lib in (ocp, orbax_v1):  # an ordinary checkpoint, Orbax loads it
    got = lib.load(path)
    assert _values(got) == expected
    assert isinstance(got["b"]["c"], jax.Array)
    assert lib.metadata(path).custom_metadata == {"x": 1, "y": 2}


def test_replacements_are_refused(tmp_path):
  path = tmp_path / "ckpt"
  ocp.partial.save(path, {"a": {"b": np.ones(2)}})
  for clash in ({"a": {"b": np.zeros(2)}}, {"a": 1},
                {"a": {"b": {"c": np.ones(1)}}}):
    with pytest.raises(ocp.partial.PartialSaveReplacementError):
      ocp.partial.save(path, clash)
  ocp.partial.save(path, {"a": {"c": np.zeros(1)}})
  ocp.partial.finalize(path)
  assert set(ocp.load(path)["a"]) == {"b", "c"}


def test_in_flight_saves_count_as_saved(tmp_path, hook_array_writes):
  path = tmp_path / "ckpt"
  gate = threading.Event()
  real = engine.ArrayWriteSession.write

  def held(*args, **kwargs):
    assert gate.wait(60)
    return real(*args, **kwargs)

  hook_array_writes(held)
  first = ocp.partial.save_async(path, {"w": np.ones(8)})
  with pytest.raises(ocp.partial.PartialSaveReplacementError):
    ocp.partial.save_async(path, {"w": np.zeros(2)})
  with pytest.raises(ocp.partial.PartialSaveError, match="still running"):
    ocp.partial.finalize(path)
  gate.set()
  first.result()
  ocp.partial.finalize(path)
  np.testing.assert_array_equal(ocp.load(path)["w"], np.ones(8))


def test_finalize_and_save_errors(tmp_path):
  with pytest.raises(FileNotFoundError):
    ocp.partial.finalize(tmp_path / "never")
  ocp.save(tmp_path / "done", {"a": np.ones(1)})
  with pytest.raises(FileExistsError):
    ocp.partial.save(tmp_path / "done", {"b": np.ones(1)})
  ocp.partial.save(tmp_path / "c", {"a": np.ones(1)})
  ocp.save(tmp_path / "c", {"x": np.ones(1)})  # someone else took the path
  with pytest.raises(FileExistsError):
    ocp.partial.finalize(tmp_path / "c")
  assert (tmp_path / "c.partial_save").is_dir()  # the session is kept


def test_a_failed_partial_save_keeps_the_earlier_ones(tmp_path,
                                                      hook_array_writes):
  path = tmp_path / "ckpt"
  ocp.partial.save(path, {"a": np.arange(3)})
  real = engine.ArrayWriteSession.write

  def failing(*args, **kwargs):
    raise OSError("disk full")

  hook_array_writes(failing)
  with pytest.raises(OSError, match="disk full"):
    ocp.partial.save(path, {"b": np.arange(5)})
  hook_array_writes(real)
  ocp.partial.save(path, {"b": np.arange(2)})  # "b" was never committed
  ocp.partial.finalize(path)
  assert _values(ocp.load(path)) == {"a": [0, 1, 2], "b": [0, 1]}
