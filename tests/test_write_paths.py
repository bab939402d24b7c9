# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The two ways a save writes arrays, and what they put on disk.

Small boxes go to the native writer in one batched call per writer
(`ArrayWriteSession.write_many_later`); large ones one call each, and their
chunks (Orbax's layout, at least 1 MiB) are compressed piece by piece into
data files written with O_DIRECT where the file system allows.  Both must
produce checkpoints that ocpx, orbax-checkpoint 0.12.8 and TensorStore read
back bit for bit.
"""

import pathlib

import jax.numpy as jnp
import numpy as np
import pytest

from ocpx import _core
from ocpx import v1 as ocp
from ocpx._src import engine


def _tree():
  rng = np.random.default_rng(7)
  tree = {f"small_{i:03d}": rng.standard_normal(1 + i % 50).astype(np.float32)
          for i in range(120)}
  # Over the batching limit (4 MiB) and the streaming limit (1 MiB).
  tree["big"] = jnp.asarray(
      rng.standard_normal((1536, 1024)).astype(np.float32))
  # Streamed but batched (between the two limits), and all zeros.
  tree["mid"] = rng.standard_normal((512, 1024)).astype(np.float32)
  tree["zeros"] = np.zeros((1024, 512), np.float32)
  return tree


def test_small_boxes_batched_large_ones_alone(tmp_path, monkeypatch):
  calls = {"many": [], "one": []}
  real_many = engine.ArrayWriteSession.write_many_later
  real_one = engine.ArrayWriteSession.write

  def many(self, requests):
    calls["many"].append(sorted(r[0] for r in requests))
    return real_many(self, requests)

  def one(self, param, *a, **k):
    calls["one"].append(param)
    return real_one(self, param, *a, **k)

  monkeypatch.setattr(engine.ArrayWriteSession, "write_many_later", many)
  monkeypatch.setattr(engine.ArrayWriteSession, "write", one)
  tree = _tree()
  ocp.save(tmp_path / "c", tree)
  assert calls["one"] == ["big"]
  assert len(calls["many"]) == 1
  assert calls["many"][0] == sorted(k for k in tree if k != "big")
  got = ocp.load(tmp_path / "c")
  for k, v in tree.items():
    np.testing.assert_array_equal(np.asarray(got[k]), np.asarray(v), err_msg=k)


def test_streamed_chunks_leave_no_padding_and_orbax_reads_them(tmp_path):
  orbax_v1 = pytest.importorskip("orbax.checkpoint.experimental.v1")
  tree = _tree()
  ocp.save(tmp_path / "c", tree)
  # Every byte of every data file is referenced: streamed values are
  # appended back to back and the files truncated to their end (O_DIRECT
  # writes whole 4 KiB blocks).
  data_files = list((tmp_path / "c").rglob("d/*"))
  on_disk = sum(f.stat().st_size for f in data_files)
  raw = sum(np.asarray(v).nbytes for v in tree.values())
  assert on_disk < raw  # compressed (zeros), and nothing padded
  assert all(f.stat().st_size % 4096 != 0 or f.stat().st_size == 0
             for f in data_files if f.stat().st_size > (1 << 20))
  got = orbax_v1.load(tmp_path / "c")
  for k, v in tree.items():
    np.testing.assert_array_equal(np.asarray(got[k]), np.asarray(v), err_msg=k)


def test_tensorstore_reads_a_streamed_chunk(tmp_path):
  ts = pytest.importorskip("tensorstore")
  x = np.arange(3 << 18, dtype=np.float32).reshape(768, 1024)
  ocp.save(tmp_path / "c", {"x": x})
  t = ts.open({"driver": "zarr3",
               "kvstore": {"driver": "ocdbt",
                           "base": f"file://{tmp_path / 'c' / 'state'}",
                           "path": "x/"}}).result()
  np.testing.assert_array_equal(t.read().result(), x)


def test_batched_write_errors_name_the_array(tmp_path):
  session = engine.ArrayWriteSession(
      pathlib.Path(tmp_path), process_index=0, use_ocdbt=True,
      target_data_file_size=None, use_compression=True)
  ok = ("good", (0,), np.zeros(3, np.float32), (3,), np.float32, (3,))
  outside = ("outside", (2,), np.zeros(3, np.float32), (3,), np.float32,
             (3,))
  with pytest.raises(ValueError, match="outside"):
    session.write_many([ok, outside])
  wrong_dtype = ("wrong", (0,), np.zeros(3, np.int64), (3,), np.float32,
                 (3,))
  with pytest.raises(ValueError, match="wrong"):
    session.write_many([ok, wrong_dtype])
  session.close()


def test_release_free_heap_answers():
  assert isinstance(_core.release_free_heap(), bool)


def test_zarr2_chunks_stream_and_orbax_v0_reads_them(tmp_path):
  # The v0 API writes zarr v2 arrays (Orbax's default there): a large chunk
  # is one zstd frame, streamed into the data file like the v3 ones.
  orbax_v0 = pytest.importorskip("orbax.checkpoint")
  import ocpx  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(3)
  tree = {"w": rng.standard_normal((1024, 1024)).astype(np.float32),
          "z": np.zeros((512, 1024), np.float32),
          "s": np.arange(7, dtype=np.int32)}
  ckptr = ocpx.StandardCheckpointer()
  ckptr.save(tmp_path / "c", tree)
  ckptr.wait_until_finished()
  ts = pytest.importorskip("tensorstore")
  t = ts.open({"driver": "zarr",  # zarr v2
               "kvstore": {"driver": "ocdbt",
                           "base": f"file://{tmp_path / 'c'}",
                           "path": "w/"}}).result()
  np.testing.assert_array_equal(t.read().result(), tree["w"])
  got = orbax_v0.StandardCheckpointer().restore(tmp_path / "c")
  for k, v in tree.items():
    np.testing.assert_array_equal(np.asarray(got[k]), v, err_msg=k)
  got = ckptr.restore(tmp_path / "c")
  for k, v in tree.items():
    np.testing.assert_array_equal(np.asarray(got[k]), v, err_msg=k)
