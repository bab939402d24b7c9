# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""ocpx's own save/load behaviour: leaf types, structure, errors, atomicity."""

import collections
import dataclasses
import os
import threading

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest

from ocpx import v1 as ocp
from ocpx.v1 import options
from ocpx._src import engine

Point = collections.namedtuple("Point", ["x", "y"])


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class TrainState:
  params: dict
  step: int = dataclasses.field(metadata=dict(static=False))


class Custom:

  def __init__(self, a, b):
    self.a, self.b = a, b


jax.tree_util.register_pytree_with_keys(
    Custom,
    lambda c: (((jax.tree_util.GetAttrKey("a"), c.a),
                (jax.tree_util.GetAttrKey("b"), c.b)), None),
    lambda _, ch: Custom(*ch))


def _tree():
  return {
      "arr": jnp.arange(10, dtype=jnp.float32),
      "np": np.arange(6, dtype=np.int64).reshape(2, 3),
      "bf16": jnp.ones((3, 2), dtype=jnp.bfloat16),
      "i8": np.array([-1, 2], dtype=np.int8),
      "b": np.array([True, False]),
      "zero_d": np.array(2.5, dtype=np.float32),
      "npscalar": np.float32(1.5),
      "i": 7, "f": 0.5, "t": True, "s": "str \u2603",
      "pt": Point(x=np.ones(2), y=3),
      "ts": TrainState(params={"w": jnp.zeros(4)}, step=9),
      "custom": Custom(np.arange(3), "x"),
      "none": None, "ed": {}, "el": [],
  }


def _abstract(tree):
  return jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding)
      if isinstance(x, jax.Array) else x, tree)


def test_round_trip_with_abstract_keeps_structure_and_types(tmp_path):
  tree = _tree()
  ocp.save(tmp_path / "c", tree)
  got = ocp.load(tmp_path / "c", _abstract(tree))
  assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(tree)
  for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(tree)):
    if isinstance(w, jax.Array):
      assert isinstance(g, jax.Array) and g.dtype == w.dtype
    else:
      assert type(g) is type(w), (g, w)
    np.testing.assert_array_equal(np.asarray(g), np.asarray(w))
  assert isinstance(got["pt"], Point) and isinstance(got["ts"], TrainState)
  assert isinstance(got["custom"], Custom) and got["custom"].b == "x"


def test_round_trip_without_abstract_restores_saved_structure(tmp_path):
  tree = {"a": {"b": np.arange(3)}, "l": [1, 2.0, "x"], "none": None,
          "j": jnp.ones(2)}
  ocp.save(tmp_path / "c", tree)
  got = ocp.load(tmp_path / "c")
  assert got["l"] == [1, 2.0, "x"] and got["none"] is None
  assert isinstance(got["a"]["b"], np.ndarray)
  assert isinstance(got["j"], jax.Array)


def test_dtypes_round_trip(tmp_path):
  dtypes = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8,
            np.uint16, np.uint32, np.uint64, np.float16, np.float32,
            np.float64, np.complex64, np.complex128, ml_dtypes.bfloat16,
            ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2]
  tree = {np.dtype(d).name: (np.arange(12) % 3).astype(d).reshape(3, 4)
          for d in dtypes}
  ocp.save(tmp_path / "c", tree)
  got = ocp.load(tmp_path / "c")
  for k, v in tree.items():
    assert got[k].dtype == v.dtype, k
    np.testing.assert_array_equal(got[k], v)


def test_zero_size_arrays_are_refused_as_in_orbax(tmp_path):
  for name, value in (("empty", np.zeros((0, 5), np.float32)),
                      ("empty_j", jnp.zeros((4, 0), jnp.int32))):
    with pytest.raises(ValueError, match=f"'{name}'.*zero size"):
      ocp.save(tmp_path / name, {"ok": np.ones(2), name: value})
    assert not (tmp_path / name).exists()


def test_partial_load_and_placeholder(tmp_path):
  tree = {"a": np.arange(3), "b": np.arange(4), "c": {"d": 1}}
  ocp.save(tmp_path / "c", tree)
  with pytest.raises(ValueError, match="partial_load"):
    ocp.load(tmp_path / "c", {"a": np.zeros(3, np.int64)})
  with ocp.Context(pytree_options=options.PyTreeOptions(
      loading=options.PyTreeOptions.Loading(partial_load=True))):
    got = ocp.load(tmp_path / "c", {"a": np.zeros(3, np.int64)})
  assert list(got) == ["a"]
  got = ocp.load(tmp_path / "c", {"a": ocp.PLACEHOLDER,
                                  "b": np.zeros(4, np.int64), "c": {"d": 0}})
  assert got["a"] is ocp.PLACEHOLDER and got["c"]["d"] == 1


def test_shape_and_dtype_mismatch(tmp_path):
  ocp.save(tmp_path / "c", {"x": np.arange(6, dtype=np.float32).reshape(2, 3)})
  with pytest.raises(ValueError, match=r"'x'.*\(2, 3\)|\(2, 3\).*'x'"):
    ocp.load(tmp_path / "c", {"x": jax.ShapeDtypeStruct((3, 3), jnp.float32)})
  with ocp.Context(array_options=options.ArrayOptions(
      loading=options.ArrayOptions.Loading(
          enable_padding_and_truncation=True))):
    got = ocp.load(tmp_path / "c",
                   {"x": jax.ShapeDtypeStruct((3, 2), jnp.float32)})
  np.testing.assert_array_equal(np.asarray(got["x"]),
                                [[0, 1], [3, 4], [0, 0]])
  # dtype conversion on load
  got = ocp.load(tmp_path / "c", {"x": jax.ShapeDtypeStruct((2, 3), jnp.int32)})
  assert got["x"].dtype == jnp.int32
  with pytest.raises(ValueError, match="does not contain"):
    ocp.load(tmp_path / "c", {"y": np.zeros(1)})


def test_existing_path_and_overwrite(tmp_path):
  ocp.save(tmp_path / "c", {"x": np.arange(3)})
  with pytest.raises(ValueError, match="already exists"):
    ocp.save(tmp_path / "c", {"x": np.arange(4)})
  ocp.save(tmp_path / "c", {"x": np.arange(5)}, overwrite=True)
  assert ocp.load(tmp_path / "c")["x"].shape == (5,)


def test_unsupported_leaf_and_bad_names(tmp_path):
  with pytest.raises(ValueError, match=r"(?i)unsupported leaf type.*object"):
    ocp.save(tmp_path / "c", {"x": object()})
  with pytest.raises(ValueError, match="bytes"):
    ocp.save(tmp_path / "d", {"x": b"raw"})
  with pytest.raises(ValueError, match="same stored name"):
    ocp.save(tmp_path / "e", {"a.b": np.ones(1), "a": {"b": np.ones(1)}})
  for bad in ("", "metrics", "../x"):
    with pytest.raises(ValueError):
      ocp.save(tmp_path / "f", {"x": np.ones(1)}, checkpointable_name=bad)
  assert not any(p.name.startswith(("c", "d", "e", "f"))
                 for p in tmp_path.iterdir())


def test_missing_and_corrupt_checkpoints(tmp_path):
  with pytest.raises(FileNotFoundError, match="does not exist"):
    ocp.load(tmp_path / "nope")
  ocp.save(tmp_path / "c", {"x": np.arange(2000, dtype=np.float32)})
  (tmp_path / "c" / "state" / "_METADATA").write_text("{not json")
  with pytest.raises(ValueError, match="_METADATA"):
    ocp.load(tmp_path / "c")
  ocp.save(tmp_path / "d", {"x": np.arange(2000, dtype=np.float32)})
  for f in (tmp_path / "d" / "state" / "ocdbt.process_0" / "d").iterdir():
    data = bytearray(f.read_bytes())
    for i in range(0, len(data), 97):
      data[i] ^= 0x5A
    f.write_bytes(bytes(data))
  with pytest.raises(ValueError) as e:
    ocp.load(tmp_path / "d")
  assert "d/" in str(e.value)


def test_interrupted_save_leaves_nothing_loadable(tmp_path,
                                                 hook_array_writes):
  ocp.save(tmp_path / "prev", {"x": np.arange(3)})
  ocp.save(tmp_path / "same", {"x": np.arange(3)})
  real = engine.ArrayWriteSession.write
  calls = []

  def failing(self, *a, **k):
    calls.append(1)
    if len(calls) == 2:
      raise RuntimeError("injected failure mid-write")
    return real(self, *a, **k)

  hook_array_writes(failing)
  tree = {"a": np.arange(5), "b": np.arange(6), "c": np.arange(7)}
  with pytest.raises(RuntimeError, match="injected"):
    ocp.save(tmp_path / "new", tree)
  assert not (tmp_path / "new").exists()
  assert not ocp.is_orbax_checkpoint(tmp_path / "new.orbax-checkpoint-tmp")
  calls.clear()
  with pytest.raises(RuntimeError, match="injected"):
    ocp.save(tmp_path / "same", tree, overwrite=True)
  hook_array_writes(real)
  for name in ("prev", "same"):
    np.testing.assert_array_equal(ocp.load(tmp_path / name)["x"], np.arange(3))
  assert sorted(p.name for p in tmp_path.iterdir()) == ["prev", "same"]


def test_save_async_and_load_async(tmp_path):
  src = np.arange(1000, dtype=np.float32)
  done = threading.Event()
  with ocp.Context(async_options=options.AsyncOptions(
      post_finalization_callback=done.set)):
    r1 = ocp.save_async(tmp_path / "a", {"x": src})
    r2 = ocp.save_async(tmp_path / "b", {"x": src + 1})
    src[:] = -1  # mutating after save_async returns does not change the save
    assert r1.result() is None and r2.result() is None
  assert done.is_set()
  got = ocp.load_async(tmp_path / "a").result()
  np.testing.assert_array_equal(got["x"], np.arange(1000, dtype=np.float32))
  got = ocp.load_checkpointables_async(tmp_path / "b").result()
  np.testing.assert_array_equal(got["state"]["x"],
                                np.arange(1000, dtype=np.float32) + 1)
  bad = ocp.load_async(tmp_path / "missing")
  with pytest.raises(FileNotFoundError):
    bad.result()


def test_async_saves_reuse_threads_but_never_queue(tmp_path):
  # A finished async save's thread runs the next one (starting a thread
  # costs a fraction of a millisecond), but a save in flight never holds up
  # another: the second save below commits while the first is blocked.
  threads, names, release = [], [], threading.Event()

  def callback():
    threads.append(threading.current_thread())
    names.append(threading.current_thread().name)
    if len(threads) == 2:
      assert release.wait(30)

  with ocp.Context(async_options=options.AsyncOptions(
      post_finalization_callback=callback)):
    ocp.save_async(tmp_path / "a", {"x": np.arange(3)}).result()
    blocked = ocp.save_async(tmp_path / "b", {"x": np.arange(4)})
    for _ in range(3000):
      if len(threads) == 2:
        break
      threading.Event().wait(0.01)
    ocp.save_async(tmp_path / "c", {"x": np.arange(5)}).result()
    assert not blocked.done()
    release.set()
    blocked.result()
  assert threads[0] is threads[1]  # reused once free
  assert threads[2] is not threads[1]  # busy: another thread
  assert names == ["ocpx-save:a", "ocpx-save:b", "ocpx-save:c"]
  for name, n in (("a", 3), ("b", 4), ("c", 5)):
    np.testing.assert_array_equal(ocp.load(tmp_path / name)["x"],
                                  np.arange(n))


def test_async_error_surfaces_in_result(tmp_path, monkeypatch):
  def boom(self):
    raise OSError("disk on fire")
  monkeypatch.setattr(engine.ArrayWriteSession, "commit", boom)
  r = ocp.save_async(tmp_path / "a", {"x": np.arange(3)})
  with pytest.raises(OSError, match="disk on fire"):
    r.result()
  assert not (tmp_path / "a").exists()


def test_finished_async_save_keeps_nothing_alive(tmp_path):
  # The thread kept for the next operation holds no reference to the last
  # one's tree (or its host copies).
  import gc  # pylint: disable=g-import-not-at-top
  import weakref  # pylint: disable=g-import-not-at-top
  leaf = np.arange(1000, dtype=np.float32)
  ref = weakref.ref(leaf)
  r = ocp.save_async(tmp_path / "a", {"x": leaf})
  r.result()
  del leaf, r
  gc.collect()
  assert ref() is None


def test_async_blocking_phase_error_raises_at_once(tmp_path, monkeypatch):
  # An error while the host copies are made is raised by save_async itself,
  # leaves no directory behind, and the next save to the path works.
  from ocpx._src.handlers import pytree_handler  # pylint: disable=g-import-not-at-top

  def boom(*args, **kwargs):
    raise RuntimeError("copy failed")
  with monkeypatch.context() as m:
    m.setattr(pytree_handler.PyTreeHandler, "prepare_save", boom)
    with pytest.raises(RuntimeError, match="copy failed"):
      ocp.save_async(tmp_path / "a", {"x": np.arange(3)})
  assert os.listdir(tmp_path) == []
  ocp.save_async(tmp_path / "a", {"x": np.arange(3)}).result()
  np.testing.assert_array_equal(ocp.load(tmp_path / "a")["x"], np.arange(3))


def test_path_permission_mode(tmp_path):
  with ocp.Context(file_options=options.FileOptions(path_permission_mode=0o750)):
    ocp.save(tmp_path / "c", {"x": np.arange(3)})
  assert (os.stat(tmp_path / "c").st_mode & 0o777) == 0o750
  assert (os.stat(tmp_path / "c" / "state").st_mode & 0o777) == 0o750


def test_storage_options_and_no_compression(tmp_path):
  arr = np.arange(64 * 48 * 10, dtype=np.float32).reshape(64, 48, 10)
  saving = options.ArrayOptions.Saving(
      use_compression=False,
      storage_options=options.ArrayOptions.Saving.StorageOptions(
          chunk_byte_size=16384),
      scoped_storage_options_creator=lambda kp, v: (
          options.ArrayOptions.Saving.StorageOptions(dtype=np.float16)
          if "small" in jax.tree_util.keystr(kp) else None))
  with ocp.Context(array_options=options.ArrayOptions(saving=saving)):
    ocp.save(tmp_path / "c", {"big": arr, "small": arr[:2]})
  meta = ocp.metadata(tmp_path / "c").metadata
  assert meta["small"].dtype == np.float16
  assert np.prod(meta["big"].storage_metadata.chunk_shape) * 4 <= 16384
  got = ocp.load(tmp_path / "c")
  np.testing.assert_array_equal(got["big"], arr)
  np.testing.assert_array_equal(got["small"], arr[:2].astype(np.float16))


def test_is_orbax_checkpoint(tmp_path):
  ocp.save(tmp_path / "c", {"x": np.ones(1)})
  assert ocp.is_orbax_checkpoint(tmp_path / "c")
  assert not ocp.is_orbax_checkpoint(tmp_path / "c" / "state")
  assert not ocp.is_orbax_checkpoint(tmp_path / "missing")
  (tmp_path / "x.orbax-checkpoint-tmp").mkdir()
  assert not ocp.is_orbax_checkpoint(tmp_path / "x.orbax-checkpoint-tmp")


def test_without_ocdbt_plain_zarr_directories(tmp_path):
  orbax_v1 = pytest.importorskip("orbax.checkpoint.experimental.v1")
  tree = {"a": np.arange(12, dtype=np.float32).reshape(3, 4),
          "j": jnp.ones((4, 2), jnp.bfloat16), "s": 3}
  with ocp.Context(array_options=options.ArrayOptions(
      saving=options.ArrayOptions.Saving(use_ocdbt=False))):
    ocp.save(tmp_path / "c", tree)
  state = tmp_path / "c" / "state"
  assert not (state / "manifest.ocdbt").exists()
  assert (state / "a" / "zarr.json").exists()
  got = ocp.load(tmp_path / "c")
  np.testing.assert_array_equal(got["a"], tree["a"])
  np.testing.assert_array_equal(np.asarray(got["j"]), np.asarray(tree["j"]))
  got = orbax_v1.load(tmp_path / "c")
  np.testing.assert_array_equal(np.asarray(got["a"]), tree["a"])
  assert got["s"] == 3


def test_rich_types_keep_tuples_and_namedtuples(tmp_path):
  orbax_v1 = pytest.importorskip("orbax.checkpoint.experimental.v1")
  tree = {"pt": Point(x=np.ones(2), y=3), "t": (np.arange(3), "s", None),
          "l": [1.5, (2, 3)]}
  rich = options.PyTreeOptions(saving=options.PyTreeOptions.Saving(
      pytree_metadata_options=options.PyTreeMetadataOptions(
          support_rich_types=True)))
  with ocp.Context(pytree_options=rich):
    ocp.save(tmp_path / "ours", tree)
  got = ocp.load(tmp_path / "ours")
  assert type(got["pt"]) is Point and got["pt"].y == 3
  assert isinstance(got["t"], tuple) and got["t"][1] == "s"
  assert got["t"][2] is None and got["l"][1] == (2, 3)
  assert isinstance(ocp.metadata(tmp_path / "ours").metadata["pt"], Point)
  # Orbax reads ours, and we read Orbax's rich-typed metadata.
  from orbax.checkpoint._src.metadata import pytree_metadata_options as pmo
  from orbax.checkpoint.experimental.v1 import options as orbax_options
  with orbax_v1.Context(pytree_options=orbax_options.PyTreeOptions(
      saving=orbax_options.PyTreeOptions.Saving(
          pytree_metadata_options=pmo.PyTreeMetadataOptions(
              support_rich_types=True)))):
    got = orbax_v1.load(tmp_path / "ours")
    assert isinstance(got["t"], tuple)
    orbax_v1.save(tmp_path / "theirs", tree)
  got = ocp.load(tmp_path / "theirs")
  assert type(got["pt"]) is Point and isinstance(got["t"], tuple)
  np.testing.assert_array_equal(got["t"][0], np.arange(3))


def test_blocking_save_commits_on_the_calling_thread(tmp_path):
  # A blocking save needs no background thread: its commit (and the
  # post-finalization callback) run on the caller's thread, and the event
  # loop it runs its coroutines on is reused by the next call.
  seen = []
  before = {t.name for t in threading.enumerate()}
  with ocp.Context(async_options=options.AsyncOptions(
      post_finalization_callback=lambda: seen.append(
          threading.current_thread()))):
    for i in range(3):
      ocp.save(tmp_path / f"c{i}", {"x": np.arange(4) + i})
  assert seen == [threading.main_thread()] * 3
  assert not any(t.name.startswith("ocpx-save:") for t in threading.enumerate()
                 if t.name not in before)
  for i in range(3):
    np.testing.assert_array_equal(ocp.load(tmp_path / f"c{i}")["x"],
                                  np.arange(4) + i)


def test_blocking_save_past_its_timeout_commits_nothing(tmp_path,
                                                       hook_array_writes):
  real = engine.ArrayWriteSession.write

  def slow(self, *a, **k):
    threading.Event().wait(1.5)
    return real(self, *a, **k)

  hook_array_writes(slow)
  with ocp.Context(async_options=options.AsyncOptions(timeout_secs=1)):
    with pytest.raises(TimeoutError, match="timeout_secs=1"):
      ocp.save(tmp_path / "c", {"x": np.arange(3)})
  assert not (tmp_path / "c").exists()
  assert not (tmp_path / "c.orbax-checkpoint-tmp").exists()
  # The next save (same thread, same reused event loop) is unaffected.
  hook_array_writes(real)
  ocp.save(tmp_path / "c", {"x": np.arange(3)})
  np.testing.assert_array_equal(ocp.load(tmp_path / "c")["x"], np.arange(3))


def test_save_inside_a_running_event_loop(tmp_path):
  import asyncio  # pylint: disable=g-import-not-at-top

  async def main():  # e.g. a notebook cell
    ocp.save(tmp_path / "c", {"x": np.arange(5)})
    return ocp.load(tmp_path / "c")["x"]

  np.testing.assert_array_equal(asyncio.run(main()), np.arange(5))
