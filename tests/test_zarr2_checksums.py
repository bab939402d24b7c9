# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""zarr v2 writing and chunk checksums, against TensorStore and Orbax 0.12.8.

zarr2 (`ArrayOptions.Saving(use_zarr3=False)`, the v0 handlers' default):
ocpx writes `.zarray` + `i.j` chunks that TensorStore and Orbax read, and the
reverse.  Chunk checksums (`enable_chunk_checksums`, on by default) add
zarr3's `crc32c` codec to every chunk: Orbax and TensorStore still read the
arrays, and a flipped byte anywhere in a chunk is an error on load and in
`ocpx verify`.
"""

import json
import os
import pathlib

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
import tensorstore as ts

from ocpx import _core
from ocpx import v1 as ocp
from ocpx._src import cli

orbax = pytest.importorskip("orbax.checkpoint")
orbax_v1 = pytest.importorskip("orbax.checkpoint.experimental.v1")

Saving = ocp.options.ArrayOptions.Saving


def _context(**saving):
  return ocp.Context(array_options=ocp.options.ArrayOptions(
      saving=Saving(**saving)))


def _tree():
  return {
      "w": jnp.arange(6 * 5, dtype=jnp.float32).reshape(6, 5) - 7.5,
      "bf": jnp.linspace(-2, 2, 9, dtype=jnp.bfloat16),
      "mask": jnp.array([True, False, True, True]),
      "i8": np.arange(-4, 4, dtype=np.int8).reshape(2, 4),
      "c64": np.array([1 + 2j, -3j, 0.5], dtype=np.complex64),
      "u16": np.arange(7, dtype=np.uint16),
      "f8": np.linspace(0, 3, 5).astype(ml_dtypes.float8_e4m3fn),
      "zero_d": np.array(11, dtype=np.int32),
      "step": 42,
      "lr": 0.25,
      "name": "text",
  }


def _assert_tree_equal(got, want):
  assert set(got) == set(want), (set(got), set(want))
  for k, w in want.items():
    g = got[k]
    if isinstance(w, (str, int, float)):
      assert g == w, (k, g, w)
    else:
      g = np.asarray(g)
      assert g.dtype == np.asarray(w).dtype, (k, g.dtype)
      np.testing.assert_array_equal(g, np.asarray(w), err_msg=k)


def _array_keys(tree):
  return [k for k, v in tree.items() if not isinstance(v, str)]


def _ts_kvstore(item_dir: pathlib.Path, use_ocdbt: bool, param: str):
  if use_ocdbt:
    return {"driver": "ocdbt", "base": f"file://{item_dir}/",
            "path": f"{param}/"}
  return {"driver": "file", "path": f"{item_dir}/{param}/"}


def _ts_read(item_dir, use_ocdbt, param, driver):
  t = ts.open({"driver": driver,
               "kvstore": _ts_kvstore(item_dir, use_ocdbt, param)}).result()
  return t.read().result()


def _orbax_v0_save(path, tree, *, use_ocdbt, use_zarr3=False):
  handler = orbax.PyTreeCheckpointHandler(use_zarr3=use_zarr3,
                                          use_ocdbt=use_ocdbt)
  with orbax.Checkpointer(handler) as ckptr:
    ckptr.save(path, args=orbax.args.PyTreeSave(tree))


def _orbax_v0_restore(item_dir, tree):
  def restore_args(x):
    if isinstance(x, jax.Array):
      return orbax.ArrayRestoreArgs(sharding=x.sharding)
    if isinstance(x, np.ndarray):
      return orbax.RestoreArgs(restore_type=np.ndarray)
    return orbax.RestoreArgs(restore_type=type(x))
  handler = orbax.PyTreeCheckpointHandler()
  try:
    return handler.restore(item_dir, args=orbax.args.PyTreeRestore(
        item=tree, restore_args=jax.tree.map(restore_args, tree)))
  finally:
    handler.close()


# ---------------------------------------------------------------------------
# zarr v2 writing


@pytest.mark.parametrize("use_ocdbt", [True, False])
def test_ocpx_zarr2_layout_and_round_trip(tmp_path, use_ocdbt):
  tree = _tree()
  with _context(use_zarr3=False, use_ocdbt=use_ocdbt):
    ocp.save(tmp_path / "c", tree)
  item = tmp_path / "c" / "state"
  meta = json.loads((item / "_METADATA").read_text())
  assert meta["use_zarr3"] is False
  if use_ocdbt:
    keys = sorted(k.decode() for k in _core.OcdbtReader(str(item)).keys(b""))
  else:
    keys = sorted(str(p.relative_to(item)) for p in item.rglob("*")
                  if p.is_file() and p.parent != item
                  and p.parent.name != "array_metadatas")
  assert "w/.zarray" in keys and "w/0.0" in keys, keys
  assert "zero_d/0" in keys and "step/0" in keys, keys
  assert not any(k.endswith("zarr.json") for k in keys), keys
  assert not any("/c/" in k for k in keys), keys
  got = ocp.load(tmp_path / "c")
  _assert_tree_equal(got, tree)


@pytest.mark.parametrize("use_ocdbt", [True, False])
def test_ocpx_zarr2_read_by_tensorstore(tmp_path, use_ocdbt):
  tree = _tree()
  with _context(use_zarr3=False, use_ocdbt=use_ocdbt):
    ocp.save(tmp_path / "c", tree)
  item = tmp_path / "c" / "state"
  for k in _array_keys(tree):
    got = _ts_read(item, use_ocdbt, k, "zarr")
    np.testing.assert_array_equal(got, np.asarray(tree[k]), err_msg=k)


@pytest.mark.parametrize("use_ocdbt", [True, False])
def test_ocpx_zarr2_read_by_orbax_v0_and_v1(tmp_path, use_ocdbt):
  tree = _tree()
  with _context(use_zarr3=False, use_ocdbt=use_ocdbt):
    ocp.save(tmp_path / "c", tree)
  got = orbax_v1.load(tmp_path / "c")
  _assert_tree_equal(got, tree)
  got = _orbax_v0_restore(tmp_path / "c" / "state", tree)
  _assert_tree_equal(got, tree)


@pytest.mark.parametrize("use_ocdbt", [True, False])
def test_orbax_v0_zarr2_read_by_ocpx(tmp_path, use_ocdbt):
  tree = {k: v for k, v in _tree().items() if k != "name"}
  _orbax_v0_save(tmp_path / "o", tree, use_ocdbt=use_ocdbt)
  got = ocp.load(tmp_path / "o")
  _assert_tree_equal(got, tree)


def test_zarr2_files_byte_identical_to_orbax(tmp_path):
  """Without OCDBT every array is a plain directory: compare file bytes."""
  tree = {k: v for k, v in _tree().items() if k != "name"}
  _orbax_v0_save(tmp_path / "o", tree, use_ocdbt=False)
  with _context(use_zarr3=False, use_ocdbt=False):
    ocp.save(tmp_path / "c", tree)
  ours, theirs = tmp_path / "c" / "state", tmp_path / "o"
  for k in _array_keys(tree):
    mine = sorted(p.name for p in (ours / k).iterdir())
    ref = sorted(p.name for p in (theirs / k).iterdir())
    assert mine == ref, (k, mine, ref)
    for name in ref:
      assert (ours / k / name).read_bytes() == (theirs / k / name).read_bytes(
      ), (k, name)


def test_zarr2_and_zarr3_arrays_side_by_side(tmp_path):
  """The reader finds `.zarray` or `zarr.json` per array."""
  a = {"x": np.arange(10, dtype=np.int64)}
  with _context(use_zarr3=False):
    ocp.save(tmp_path / "v2", a)
  ocp.save(tmp_path / "v3", a)
  for p in ("v2", "v3"):
    np.testing.assert_array_equal(ocp.load(tmp_path / p)["x"], a["x"])


# ---------------------------------------------------------------------------
# Chunk checksums


def _zarr_json(item, use_ocdbt, param):
  if use_ocdbt:
    return _core.OcdbtReader(str(item)).get(f"{param}/zarr.json".encode())
  return (item / param / "zarr.json").read_bytes()


@pytest.mark.parametrize("use_ocdbt", [True, False])
def test_checksums_on_by_default_and_read_by_orbax_and_tensorstore(
    tmp_path, use_ocdbt):
  tree = _tree()
  assert Saving().enable_chunk_checksums is True
  with _context(use_ocdbt=use_ocdbt):
    ocp.save(tmp_path / "c", tree)
  item = tmp_path / "c" / "state"
  md = json.loads(_zarr_json(item, use_ocdbt, "w"))
  inner = md["codecs"][0]["configuration"]["codecs"]
  assert [c["name"] for c in inner] == ["bytes", "zstd", "crc32c"]
  for k in _array_keys(tree):
    got = _ts_read(item, use_ocdbt, k, "zarr3")
    np.testing.assert_array_equal(got, np.asarray(tree[k]), err_msg=k)
  _assert_tree_equal(orbax_v1.load(tmp_path / "c"), tree)
  _assert_tree_equal(_orbax_v0_restore(item, tree), tree)
  _assert_tree_equal(ocp.load(tmp_path / "c"), tree)


def test_checksums_without_compression(tmp_path):
  tree = {"a": np.arange(40, dtype=np.float64)}
  with _context(use_compression=False, use_ocdbt=False):
    ocp.save(tmp_path / "c", tree)
  md = json.loads((tmp_path / "c/state/a/zarr.json").read_text())
  inner = md["codecs"][0]["configuration"]["codecs"]
  assert [c["name"] for c in inner] == ["bytes", "crc32c"]
  np.testing.assert_array_equal(
      _ts_read(tmp_path / "c/state", False, "a", "zarr3"), tree["a"])
  _assert_tree_equal(orbax_v1.load(tmp_path / "c"), tree)


@pytest.mark.parametrize("use_compression", [True, False])
def test_checksums_off_is_byte_identical_to_orbax(tmp_path, use_compression):
  tree = {k: v for k, v in _tree().items() if k != "name"}
  with _context(use_ocdbt=False, enable_chunk_checksums=False,
                use_compression=use_compression):
    ocp.save(tmp_path / "c", tree)
  with orbax_v1.Context(array_options=orbax_v1.options.ArrayOptions(
      saving=orbax_v1.options.ArrayOptions.Saving(
          use_ocdbt=False, use_compression=use_compression))):
    orbax_v1.save(tmp_path / "o", tree)
  ours, theirs = tmp_path / "c" / "state", tmp_path / "o" / "state"
  for k in _array_keys(tree):
    ref = sorted(str(p.relative_to(theirs / k)) for p in (theirs / k).rglob("*")
                 if p.is_file())
    mine = sorted(str(p.relative_to(ours / k)) for p in (ours / k).rglob("*")
                  if p.is_file())
    assert mine == ref, (k, mine, ref)
    for name in ref:
      assert (ours / k / name).read_bytes() == (theirs / k / name).read_bytes(
      ), (k, name)


def test_zarr2_has_no_checksums(tmp_path):
  """zarr v2 has no checksum codec: the arrays are plain Orbax zarr2."""
  with _context(use_zarr3=False, use_ocdbt=False,
                enable_chunk_checksums=True):
    ocp.save(tmp_path / "c", {"a": np.arange(4, dtype=np.int32)})
  md = json.loads((tmp_path / "c/state/a/.zarray").read_text())
  assert md["compressor"] == {"id": "zstd", "level": 1}
  assert md["filters"] is None


def _chunk_files(item: pathlib.Path, param: str) -> list[pathlib.Path]:
  return sorted(p for p in (item / param).rglob("*")
                if p.is_file() and p.name not in ("zarr.json", ".zarray"))


def test_flipped_byte_in_any_chunk_is_detected_without_ocdbt(tmp_path):
  """Every byte of every chunk file, flipped one at a time: load fails."""
  tree = {"w": np.arange(5 * 3, dtype=np.float32).reshape(5, 3) * 1.5,
          "u": np.arange(6, dtype=np.uint8)}
  with _context(use_ocdbt=False, storage_options=Saving.StorageOptions(
      chunk_byte_size=24)):
    ocp.save(tmp_path / "c", tree)
  item = tmp_path / "c" / "state"
  files = _chunk_files(item, "w") + _chunk_files(item, "u")
  assert len(files) >= 4, files
  reader = _core.CheckpointArrayReader(str(item), use_ocdbt=False)
  flips = 0
  for f in files:
    param = f.relative_to(item).parts[0]
    key = "/".join(f.relative_to(item / param).parts)
    good = f.read_bytes()
    shape = tree[param].shape
    for pos in range(len(good)):
      bad = bytearray(good)
      bad[pos] ^= 1 << (pos % 8)
      f.write_bytes(bytes(bad))
      with pytest.raises(ValueError) as e:
        reader.read(param, [0] * len(shape), list(shape))
      msg = str(e.value)
      assert str(item) in msg and f"'{param}'" in msg and key in msg, msg
      flips += 1
    f.write_bytes(good)
  assert flips > 100
  # Whole checkpoint: load raises for one corrupt byte, naming the key.
  f = files[0]
  good = f.read_bytes()
  f.write_bytes(good[:8] + bytes([good[8] ^ 0x10]) + good[9:])
  with pytest.raises(ValueError, match="crc32c"):
    ocp.load(tmp_path / "c")
  f.write_bytes(good)
  _assert_tree_equal(ocp.load(tmp_path / "c"), tree)


def _stored_values(item: pathlib.Path, keys: list[bytes]):
  """(data file, offset, length) of each stored chunk value (> inline size)."""
  reader = _core.OcdbtReader(str(item))
  files = [f for d in item.rglob("d") if d.is_dir() for f in d.iterdir()]
  out = []
  for key in keys:
    value = reader.get(key)
    hits = [(f, f.read_bytes().find(value)) for f in files]
    hits = [(f, pos) for f, pos in hits if pos >= 0]
    assert len(hits) >= 1, key
    for f, pos in hits:
      out.append((key, f, pos, len(value)))
  return out


def test_flipped_byte_in_any_chunk_is_detected_with_ocdbt(tmp_path):
  rng = np.random.default_rng(3)
  tree = {"w": rng.standard_normal((48, 40)).astype(np.float32)}
  with _context(storage_options=Saving.StorageOptions(chunk_byte_size=2048)):
    ocp.save(tmp_path / "c", tree)
  item = tmp_path / "c" / "state"
  keys = [k for k in _core.OcdbtReader(str(item)).keys(b"w/c/")]
  assert len(keys) >= 4
  flips = 0
  for key, f, pos, n in _stored_values(item, keys):
    os.chmod(f, 0o644)
    good = f.read_bytes()
    for p in range(n):  # every byte of the stored value
      bad = bytearray(good)
      bad[pos + p] ^= 1 << (p % 8)
      f.write_bytes(bytes(bad))
      reader = _core.CheckpointArrayReader(str(item), use_ocdbt=True)
      with pytest.raises(ValueError) as e:
        reader.read("w", [0, 0], [48, 40])
      assert key.decode() in str(e.value) and str(item) in str(e.value), (
          p, str(e.value))
      flips += 1
    # And through the public API.
    f.write_bytes(bytes(bad))
    with pytest.raises(ValueError, match=key.decode()):
      ocp.load(tmp_path / "c")
    f.write_bytes(good)
  assert flips > 4 * 1024
  _assert_tree_equal(ocp.load(tmp_path / "c"), tree)


def test_verify_detects_flipped_chunk_byte(tmp_path, capsys):
  tree = {"a": np.arange(64, dtype=np.float32), "b": np.ones(8, np.int16)}
  with _context(use_ocdbt=False):
    ocp.save(tmp_path / "c", tree)
  assert cli.main(["verify", "--no-progress", str(tmp_path / "c")]) == 0
  out = capsys.readouterr()
  assert "verify: OK" in out.out and "NOTE" not in out.err
  f = _chunk_files(tmp_path / "c" / "state", "a")[0]
  good = f.read_bytes()
  for pos in range(len(good)):
    bad = bytearray(good)
    bad[pos] ^= 0x80
    f.write_bytes(bytes(bad))
    assert cli.main(["verify", "--no-progress", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    assert "CORRUPT a:" in err and "c/0" in err, err
    assert "CORRUPT b" not in err
  f.write_bytes(good)


@pytest.mark.parametrize("writer", ["orbax", "ocpx_no_checksums", "zarr2"])
def test_verify_says_what_it_cannot_check(tmp_path, capsys, writer):
  tree = {"a": np.arange(64, dtype=np.float32), "n": 3}
  if writer == "orbax":
    orbax_v1.save(tmp_path / "c", tree)
  elif writer == "zarr2":
    with _context(use_zarr3=False):
      ocp.save(tmp_path / "c", tree)
  else:
    with _context(enable_chunk_checksums=False):
      ocp.save(tmp_path / "c", tree)
  assert cli.main(["verify", "--no-progress", str(tmp_path / "c")]) == 0
  out = capsys.readouterr()
  assert "NOT for 2" in out.out, out.out
  assert "2 arrays have no checksum on their chunk data" in out.err, out.err
  assert "cannot detect" in out.err


def test_leaves_report_checksums(tmp_path):
  ocp.save(tmp_path / "on", {"a": np.ones(3)})
  with _context(use_zarr3=False):
    ocp.save(tmp_path / "v2", {"a": np.ones(3)})
  on = _core.CheckpointReader(str(tmp_path / "on")).leaves()[0]
  v2 = _core.CheckpointReader(str(tmp_path / "v2")).leaves()[0]
  assert (on["zarr_format"], on["chunk_checksums"]) == (3, True)
  assert (v2["zarr_format"], v2["chunk_checksums"]) == (2, False)


def test_sharded_zarr2_same_chunks_as_orbax(tmp_path):
  """Per-shard writes give the chunk grid and keys Orbax's zarr2 has."""
  devices = np.asarray(jax.devices()[:8])
  if devices.size < 8:
    pytest.skip("needs 8 devices")
  mesh = jax.sharding.Mesh(devices.reshape(4, 2), ("x", "y"))
  P = jax.sharding.PartitionSpec
  NS = jax.sharding.NamedSharding
  tree = {
      "full": jax.device_put(jnp.arange(16 * 8, dtype=jnp.float32)
                             .reshape(16, 8), NS(mesh, P("x", "y"))),
      "rows": jax.device_put(jnp.arange(12 * 3, dtype=jnp.int32)
                             .reshape(12, 3), NS(mesh, P("x"))),
      "repl": jax.device_put(jnp.ones((5,), jnp.bfloat16), NS(mesh, P())),
  }
  with _context(use_zarr3=False):
    ocp.save(tmp_path / "c", tree)
  _orbax_v0_save(tmp_path / "o", tree, use_ocdbt=True)
  ours = sorted(k for k in _core.OcdbtReader(
      str(tmp_path / "c" / "state")).keys(b""))
  theirs = sorted(k for k in _core.OcdbtReader(str(tmp_path / "o")).keys(b""))
  assert ours == theirs
  for k in tree:
    for item in (tmp_path / "c" / "state", tmp_path / "o"):
      np.testing.assert_array_equal(_ts_read(item, True, k, "zarr"),
                                    np.asarray(tree[k]), err_msg=k)
    a = _core.OcdbtReader(str(tmp_path / "c" / "state")).get(
        f"{k}/.zarray".encode())
    b = _core.OcdbtReader(str(tmp_path / "o")).get(f"{k}/.zarray".encode())
    assert a == b, (k, a, b)
  _assert_tree_equal(orbax_v1.load(tmp_path / "c"), tree)
  _assert_tree_equal(_orbax_v0_restore(tmp_path / "c" / "state", tree), tree)
  _assert_tree_equal(ocp.load(tmp_path / "o"), tree)


def test_checksums_off_ocdbt_values_identical_to_orbax(tmp_path):
  """In OCDBT too: every stored key and value equals Orbax's."""
  tree = {k: v for k, v in _tree().items() if k != "name"}
  with _context(enable_chunk_checksums=False):
    ocp.save(tmp_path / "c", tree)
  orbax_v1.save(tmp_path / "o", tree)
  ours = _core.OcdbtReader(str(tmp_path / "c" / "state"))
  theirs = _core.OcdbtReader(str(tmp_path / "o" / "state"))
  keys = list(theirs.keys(b""))
  assert sorted(ours.keys(b"")) == sorted(keys)
  for k in keys:
    assert ours.get(k) == theirs.get(k), k
  # With checksums (the default) the zarr.json and chunks differ from
  # Orbax's, by the crc32c codec.
  ocp.save(tmp_path / "d", tree)
  on = _core.OcdbtReader(str(tmp_path / "d" / "state"))
  assert on.get(b"w/zarr.json") != theirs.get(b"w/zarr.json")
  assert len(on.get(b"w/c/0/0")) == len(theirs.get(b"w/c/0/0")) + 4


def test_zarr2_metadata_files_match_orbax_v1(tmp_path):
  """Orbax's v1 API with use_zarr3=False writes the same files as ocpx."""
  tree = {"a": jnp.arange(8, dtype=jnp.int32), "s": "x", "n": 3,
          "b": {"c": np.ones((2, 3), np.float32)}}
  with _context(use_zarr3=False):
    ocp.save(tmp_path / "c", tree)
  with orbax_v1.Context(array_options=orbax_v1.options.ArrayOptions(
      saving=orbax_v1.options.ArrayOptions.Saving(use_zarr3=False))):
    orbax_v1.save(tmp_path / "o", tree)
  for f in ("state/_METADATA", "state/array_metadatas/process_0",
            "state/_sharding", "state/_strings.json"):
    assert (tmp_path / "c" / f).read_text() == (
        tmp_path / "o" / f).read_text(), f
  ours = _core.OcdbtReader(str(tmp_path / "c" / "state"))
  theirs = _core.OcdbtReader(str(tmp_path / "o" / "state"))
  keys = list(theirs.keys(b""))
  assert sorted(ours.keys(b"")) == sorted(keys)
  for k in keys:
    assert ours.get(k) == theirs.get(k), k
