"""zarr v3 arrays written/read by ocpx._core, with TensorStore as the oracle."""

import json
import os

import ml_dtypes
import numpy as np
import pytest
import tensorstore as ts

from ocpx import _core

DTYPES = [
    "bool", "int2", "int4", "int8", "int16", "int32", "int64", "uint8",
    "uint16", "uint32", "uint64", "float16", "bfloat16", "float32", "float64",
    "complex64", "complex128", "float8_e4m3fn", "float8_e5m2",
    "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e4m3b11fnuz", "float8_e3m4",
    "float8_e8m0fnu", "float4_e2m1fn",
]


def np_dtype(name):
  if hasattr(ml_dtypes, name):
    return np.dtype(getattr(ml_dtypes, name))
  return np.dtype(name)


def random_array(name, shape, seed=0):
  rng = np.random.default_rng(seed)
  dt = np_dtype(name)
  n = int(np.prod(shape))
  if name == "bool":
    return rng.integers(0, 2, n).astype(bool).reshape(shape)
  if name in ("int2", "int4"):
    lo = -2 if name == "int2" else -8
    return rng.integers(lo, -lo, n).astype(np.int8).astype(dt).reshape(shape)
  if name == "float4_e2m1fn":
    return rng.integers(0, 16, n, dtype=np.uint8).view(dt).reshape(shape)
  raw = rng.integers(0, 256, n * dt.itemsize, dtype=np.uint8)
  return raw.view(dt).reshape(shape)


def raw(a):
  return np.ascontiguousarray(a).reshape(-1).view(np.uint8)


def ts_open(root, param, metadata=None, **kw):
  spec = {"driver": "zarr3",
          "kvstore": {"driver": "file", "path": f"{root}/{param}/"}}
  if "store_data_equal_to_fill_value" in kw:
    spec["store_data_equal_to_fill_value"] = kw.pop(
        "store_data_equal_to_fill_value")
  if metadata is not None:
    spec["metadata"] = metadata
    kw.setdefault("create", True)
  else:
    kw.setdefault("open", True)
  return ts.open(spec, **kw).result()


def zarr_json(root, param):
  with open(f"{root}/{param}/zarr.json", "rb") as f:
    return f.read().decode()


def files(root, param):
  out = {}
  base = f"{root}/{param}"
  for d, _, fs in os.walk(base):
    for f in fs:
      p = os.path.join(d, f)
      with open(p, "rb") as fh:
        out[os.path.relpath(p, base)] = fh.read()
  return out


# --- every dtype, both directions, Orbax-style metadata ----------------------


@pytest.mark.parametrize("name", DTYPES)
def test_dtype_round_trips_with_tensorstore(tmp_path, name):
  root = str(tmp_path)
  shape, chunks = (5, 6), (2, 4)
  a = random_array(name, shape, seed=len(name))
  md = _core.zarr_make_metadata(list(shape), name, list(chunks))
  # TensorStore writes, we read; our zarr.json is byte-identical to its own.
  t = ts_open(root, "ts", json.loads(md), store_data_equal_to_fill_value=True)
  t[...] = a
  assert zarr_json(root, "ts") == md
  got = _core.zarr_read(root, "ts")
  assert got.dtype == a.dtype and got.shape == shape
  np.testing.assert_array_equal(raw(got), raw(a))
  # We write, TensorStore reads; the same set of keys.
  _core.zarr_write(root, "ours", md, None, a, store_fill_value_chunks=True)
  back = ts_open(root, "ours").read().result()
  np.testing.assert_array_equal(raw(back), raw(a))
  assert sorted(files(root, "ours")) == sorted(files(root, "ts"))


@pytest.mark.parametrize("name", DTYPES)
def test_read_arrays_own_a_writable_aligned_buffer(tmp_path, name):
  # A read array goes to numpy (and zero-copy on to JAX) as it is: its own
  # buffer, writable, C-contiguous, 64-byte aligned, of the stored dtype.
  root = str(tmp_path)
  for shape in [(5, 6), ()]:
    a = random_array(name, shape, seed=1)
    param = f"rank{len(shape)}"
    md = _core.zarr_make_metadata(list(shape), name, list(shape))
    _core.zarr_write(root, param, md, None, a, store_fill_value_chunks=True)
    got = _core.zarr_read(root, param)
    assert got.dtype == a.dtype and got.shape == shape
    assert got.flags.c_contiguous and got.flags.writeable
    assert got.ctypes.data % 64 == 0
    np.testing.assert_array_equal(raw(got), raw(a))
    again = _core.zarr_read(root, param)
    raw(got)[:] = 0xFF
    np.testing.assert_array_equal(raw(again), raw(a))


@pytest.mark.parametrize("name", ["float32", "bfloat16", "int4", "bool",
                                  "complex128", "float8_e4m3fn"])
def test_uncompressed_chunks_are_byte_identical(tmp_path, name):
  root = str(tmp_path)
  a = random_array(name, (6, 5), seed=3)
  md = _core.zarr_make_metadata([6, 5], name, [4, 5], zstd_level=None)
  t = ts_open(root, "ts", json.loads(md), store_data_equal_to_fill_value=True)
  t[...] = a
  _core.zarr_write(root, "ours", md, None, a, store_fill_value_chunks=True)
  assert files(root, "ours") == files(root, "ts")
  with open(f"{root}/ts/c/1/0", "rb") as f:
    ts_chunk = f.read()
  chunk = np.zeros((4, 5), np_dtype(name))
  chunk[:2] = a[4:]
  assert _core.zarr_encode_chunk(md, chunk, True) == ts_chunk


def test_orbax_scalar_chunk_layout(tmp_path):
  # docs/format.md, "Zarr v3 arrays": a zero int64 scalar is a 17-byte zstd frame + 20.
  root = str(tmp_path)
  md = _core.zarr_make_metadata([], "int64", [])
  _core.zarr_write(root, "step", md, None, np.array(0, np.int64),
                   store_fill_value_chunks=True)
  assert len(files(root, "step")["c"]) == 37


# --- zarr.json byte identity --------------------------------------------------

METADATA_VARIANTS = [
    # A zarr.json verified against TensorStore (docs/format.md, "Zarr v3 arrays").
    {"shape": [4, 6], "data_type": "float64",
     "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2, 3]}},
     "chunk_key_encoding": {"name": "v2"},
     "codecs": [{"name": "transpose", "configuration": {"order": [1, 0]}},
                {"name": "bytes", "configuration": {"endian": "big"}},
                {"name": "zstd", "configuration": {"level": 3, "checksum": True}}],
     "fill_value": "NaN", "dimension_names": ["y", "x"],
     "attributes": {"foo": 1}},
    {"shape": [3], "data_type": "float32", "fill_value": "0x7fc00001",
     "chunk_key_encoding": {"name": "default",
                            "configuration": {"separator": "."}}},
    {"shape": [3], "data_type": "float32", "fill_value": -0.0,
     "chunk_key_encoding": {"name": "v2", "configuration": {"separator": "/"}}},
    {"shape": [3], "data_type": "float64", "fill_value": "-Infinity",
     "dimension_names": ["a"]},
    {"shape": [3], "data_type": "float32", "fill_value": 0.1},
    {"shape": [3], "data_type": "bfloat16", "fill_value": "Infinity"},
    {"shape": [3], "data_type": "float16", "fill_value": 1e-30},
    {"shape": [3], "data_type": "complex64", "fill_value": [1.0, "NaN"]},
    {"shape": [3], "data_type": "complex128", "fill_value": ["0x7ff8000000000001", -2.5]},
    {"shape": [3], "data_type": "uint64", "fill_value": 18446744073709551615},
    {"shape": [3], "data_type": "int4", "fill_value": -3},
    {"shape": [3], "data_type": "int8", "fill_value": -128,
     "codecs": [{"name": "bytes"}, {"name": "gzip", "configuration": {"level": 5}}]},
    {"shape": [3], "data_type": "bool", "fill_value": True,
     "dimension_names": [None]},
    {"shape": [4, 8], "data_type": "uint16",
     "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4, 8]}},
     "codecs": [{"name": "sharding_indexed", "configuration": {
         "chunk_shape": [2, 4], "index_location": "start",
         "codecs": [{"name": "bytes", "configuration": {"endian": "big"}}],
         "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                          {"name": "crc32c"}]}}]},
] + [{"shape": [2], "data_type": n, "fill_value": v}
     for n in DTYPES if n.startswith("float8")
     for v in ("NaN", 1.5, "0xff", "0x7e", -0.0)]


@pytest.mark.parametrize("i", range(len(METADATA_VARIANTS)))
def test_zarr_json_matches_tensorstore(tmp_path, i):
  root = str(tmp_path)
  md = METADATA_VARIANTS[i]
  ts_open(root, "a", md)
  text = zarr_json(root, "a")
  assert _core.zarr_normalize_metadata(text) == text
  assert _core.zarr_read_metadata(root, "a") == text
  # Write our normalized zarr.json elsewhere; TensorStore accepts it.
  _core.zarr_write_metadata(root, "b", text)
  assert ts_open(root, "b").spec().to_json()["metadata"] == \
      ts_open(root, "a").spec().to_json()["metadata"]


# --- special shapes, endianness, fill values, partial I/O -----------------------


def test_zero_dim_both_ways(tmp_path):
  root = str(tmp_path)
  md = {"shape": [], "data_type": "int64", "fill_value": 0}
  t = ts_open(root, "ts", md)
  t[...] = np.int64(-42)
  assert set(files(root, "ts")) == {"zarr.json", "c"}
  assert _core.zarr_read(root, "ts").item() == -42
  _core.zarr_write(root, "ours", zarr_json(root, "ts"), None,
                   np.array(7, np.int64))
  assert ts_open(root, "ours").read().result().item() == 7
  assert set(files(root, "ours")) == {"zarr.json", "c"}


def test_empty_array_both_ways(tmp_path):
  root = str(tmp_path)
  md = _core.zarr_make_metadata([0, 5], "float32", [1, 5])
  _core.zarr_write(root, "ours", md, None, np.zeros((0, 5), np.float32))
  assert set(files(root, "ours")) == {"zarr.json"}
  assert ts_open(root, "ours").shape == (0, 5)
  t = ts_open(root, "ts", {"shape": [3, 0], "data_type": "uint8"})
  t[...] = np.zeros((3, 0), np.uint8)
  assert _core.zarr_read(root, "ts").shape == (3, 0)


def test_big_endian_transposed_tensorstore_array(tmp_path):
  root = str(tmp_path)
  md = {"shape": [7, 5, 3], "data_type": "int32",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [3, 2, 3]}},
        "codecs": [{"name": "transpose", "configuration": {"order": [2, 0, 1]}},
                   {"name": "bytes", "configuration": {"endian": "big"}},
                   {"name": "zstd", "configuration": {"level": 1, "checksum": True}},
                   {"name": "crc32c"}]}
  a = np.arange(105, dtype=np.int32).reshape(7, 5, 3) * 1000003
  ts_open(root, "ts", md)[...] = a
  np.testing.assert_array_equal(_core.zarr_read(root, "ts"), a)
  np.testing.assert_array_equal(
      _core.zarr_read(root, "ts", [2, 1, 1], [4, 3, 2]), a[2:6, 1:4, 1:3])
  _core.zarr_write(root, "ours", zarr_json(root, "ts"), None, a)
  np.testing.assert_array_equal(ts_open(root, "ours").read().result(), a)


def test_gzip_and_nested_sharding(tmp_path):
  root = str(tmp_path)
  md = {"shape": [9, 10], "data_type": "float64", "fill_value": "NaN",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4, 10]}},
        "codecs": [{"name": "sharding_indexed", "configuration": {
            "chunk_shape": [2, 5],
            "codecs": [{"name": "sharding_indexed", "configuration": {
                "chunk_shape": [1, 5],
                "codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                           {"name": "gzip", "configuration": {"level": 4}}],
                "index_codecs": [{"name": "bytes", "configuration": {"endian": "big"}}],
                "index_location": "start"}}],
            "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                             {"name": "crc32c"}]}}]}
  a = np.random.default_rng(1).standard_normal((9, 10))
  a[0:2, 0:5] = np.nan  # one all-fill inner chunk: omitted by both
  ts_open(root, "ts", md)[...] = a
  np.testing.assert_array_equal(_core.zarr_read(root, "ts"), a)
  _core.zarr_write(root, "ours", zarr_json(root, "ts"), None, a)
  np.testing.assert_array_equal(ts_open(root, "ours").read().result(), a)
  assert sorted(files(root, "ours")) == sorted(files(root, "ts"))


def test_uncompressed_shards_identical_in_tensorstore_default_mode(tmp_path):
  root = str(tmp_path)
  md = {"shape": [5, 8], "data_type": "uint16",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4, 8]}},
        "codecs": [{"name": "sharding_indexed", "configuration": {
            "chunk_shape": [2, 4],
            "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
            "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                             {"name": "crc32c"}]}}]}
  a = np.zeros((5, 8), np.uint16)
  a[0:2, 0:4] = 1
  a[2:4, 4:8] = 2
  ts_open(root, "ts", md)[...] = a
  _core.zarr_write(root, "ours", zarr_json(root, "ts"), None, a)
  assert files(root, "ours") == files(root, "ts")
  assert len(files(root, "ts")["c/0/0"]) == 100


def test_nan_fill_and_partial_writes(tmp_path):
  root = str(tmp_path)
  md = {"shape": [10, 7], "data_type": "float32", "fill_value": "NaN",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [3, 3]}},
        "codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                   {"name": "zstd", "configuration": {"level": 3}}]}
  t = ts_open(root, "ts", md)
  t[1:4, 2:6] = np.full((3, 4), 5, np.float32)
  expect = np.full((10, 7), np.nan, np.float32)
  expect[1:4, 2:6] = 5
  np.testing.assert_array_equal(_core.zarr_read(root, "ts"), expect)
  # Our partial writes merge with TensorStore's chunks (read-modify-write).
  patch = np.arange(20, dtype=np.float32).reshape(4, 5)
  _core.zarr_write(root, "ts", None, [5, 1], patch)
  expect[5:9, 1:6] = patch
  np.testing.assert_array_equal(ts_open(root, "ts").read().result(), expect)
  # Writing NaN back deletes chunks that became all-fill, like TensorStore.
  _core.zarr_write(root, "ts", None, [0, 0], np.full((10, 7), np.nan, np.float32))
  assert set(files(root, "ts")) == {"zarr.json"}
  # Reads of boxes that straddle chunks, into a caller array.
  ts_open(root, "ts")[...] = np.arange(70, dtype=np.float32).reshape(10, 7)
  out = np.empty((5, 4), np.float32)
  _core.zarr_read_into(root, "ts", [2, 2], out)
  np.testing.assert_array_equal(out, np.arange(70).reshape(10, 7)[2:7, 2:6])


def test_bfloat16_read_into_and_missing_chunks(tmp_path):
  root = str(tmp_path)
  md = _core.zarr_make_metadata([4, 4], "bfloat16", [2, 2])
  a = random_array("bfloat16", (2, 2))
  _core.zarr_write(root, "p", md, [2, 2], a, store_fill_value_chunks=True)
  out = np.ones((4, 4), ml_dtypes.bfloat16)
  _core.zarr_read_into(root, "p", None, out)
  np.testing.assert_array_equal(raw(out[2:, 2:]), raw(a))
  assert (out[:2] == 0).all()
  with pytest.raises(FileNotFoundError, match="p/c/0/0"):
    _core.zarr_read(root, "p", fail_on_missing=True)
  _core.zarr_read(root, "p", [2, 2], [2, 2], fail_on_missing=True)


# --- errors ----------------------------------------------------------------------


def good_metadata():
  return json.loads(_core.zarr_make_metadata([4, 4], "float32", [2, 2]))


@pytest.mark.parametrize("mutate,field", [
    (lambda m: m["codecs"][0]["configuration"]["codecs"].__setitem__(
        1, {"name": "lzma"}), "codecs[0].configuration.codecs[1].name"),
    (lambda m: m.__setitem__("shape", [4, 4, 4]), "chunk_shape"),
    (lambda m: m["codecs"][0]["configuration"].__setitem__(
        "chunk_shape", [2]), "codecs[0].configuration.chunk_shape"),
    (lambda m: m.pop("node_type"), "node_type"),
    (lambda m: m.__setitem__("data_type", "uint4"), "data_type"),
    (lambda m: m.__setitem__("fill_value", [0, 0]), "fill_value"),
    (lambda m: m.__setitem__("extra", 1), "extra"),
])
def test_bad_zarr_json(tmp_path, mutate, field):
  m = good_metadata()
  mutate(m)
  os.makedirs(f"{tmp_path}/p")
  with open(f"{tmp_path}/p/zarr.json", "w") as f:
    json.dump(m, f)
  with pytest.raises(ValueError, match=r"p/zarr\.json.*" + __import__("re").escape(field)):
    _core.zarr_read(str(tmp_path), "p")


def test_dtype_mismatch(tmp_path):
  md = _core.zarr_make_metadata([4], "float32", [4])
  with pytest.raises(ValueError, match="dtype mismatch"):
    _core.zarr_write(str(tmp_path), "p", md, None, np.zeros(4, np.float64))
  with pytest.raises(ValueError, match="dtype mismatch"):
    _core.zarr_read_into(str(tmp_path), "p", None, np.zeros(4, np.int32), json=md)


def test_corrupt_chunks(tmp_path):
  root = str(tmp_path)
  md = _core.zarr_make_metadata([8, 8], "float32", [8, 4])
  _core.zarr_write(root, "p", md, None, np.ones((8, 8), np.float32))
  path = f"{root}/p/c/0/1"
  with open(path, "rb") as f:
    good = f.read()
  for bad in (good[:-1], good[:10], b"",
              good[:-3] + bytes([good[-3] ^ 1]) + good[-2:],   # index CRC
              good[:-12] + bytes([good[-12] ^ 0x10]) + good[-11:],  # index
              bytes([good[0] ^ 0xFF]) + good[1:]):  # zstd magic
    with open(path, "wb") as f:
      f.write(bad)
    with pytest.raises(_core.CorruptionError, match="p/c/0/1"):
      _core.zarr_read(root, "p")
    with pytest.raises(ValueError):
      ts_open(root, "p").read().result()


# --- chunk layout (docs/format.md, "Chunk shapes and replicas") -----------------------------------------


def test_choose_chunk_shape_examples():
  g, w = [256, 96, 10], [64, 48, 10]
  assert _core.choose_chunk_shape(g, w, 4) == [64, 48, 10]
  assert _core.choose_chunk_shape(g, w, 4, 16384) == [16, 24, 10]
  assert _core.choose_chunk_shape(g, w, 4, 1000) == [4, 6, 10]
  assert _core.choose_chunk_shape(g, w, 4, 16384, [2]) == [64, 48, 1]
  assert _core.choose_chunk_shape(g, w, 4, None, [1]) == [64, 1, 10]
  assert _core.choose_chunk_shape(g, w, 4, 8192, [0]) == [1, 48, 10]
  with pytest.raises(ValueError):
    _core.choose_chunk_shape(g, w, 4, 2)
  assert _core.clamp_chunk_byte_size_for_ocdbt(None, 100, [26], 4) == 100
  assert _core.clamp_chunk_byte_size_for_ocdbt(None, 0, [26], 4) is None
  assert _core.clamp_chunk_byte_size_for_ocdbt(500, 100, [1], 4) == 100


def test_choose_chunk_shape_matches_orbax():
  subchunking = pytest.importorskip("orbax.checkpoint._src.arrays.subchunking")
  import logging
  logging.getLogger("absl").setLevel(logging.ERROR)
  rng = np.random.default_rng(7)
  for _ in range(300):
    rank = int(rng.integers(1, 4))
    write = [int(x) for x in rng.choice([0, 1, 2, 3, 6, 8, 12, 30, 64], rank)]
    glob = [x * int(rng.choice([1, 1, 2, 4])) for x in write]
    dt = np.dtype(rng.choice(["uint8", "float32", "complex128"]))
    target = None if rng.random() < 0.2 else int(rng.integers(dt.itemsize, 5000))
    axes = tuple(int(a) for a in rng.permutation(rank)[:int(rng.integers(0, 2))])
    want = subchunking.choose_chunk_shape(glob, write, dt, target, shard_axes=axes)
    got = _core.choose_chunk_shape(glob, write, dt.itemsize, target, list(axes))
    assert tuple(got) == tuple(want), (glob, write, dt, target, axes)


def test_store_fill_shards_match_tensorstore(tmp_path):
  # With store_data_equal_to_fill_value, TS stores every inner chunk that
  # intersects the array (even all-fill ones) and omits those outside it.
  root = str(tmp_path)
  md = {"shape": [5, 8], "data_type": "uint16",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [4, 8]}},
        "codecs": [{"name": "sharding_indexed", "configuration": {
            "chunk_shape": [2, 4],
            "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
            "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                             {"name": "crc32c"}]}}]}
  a = np.zeros((5, 8), np.uint16)
  a[4, 7] = 9
  ts_open(root, "ts", md, store_data_equal_to_fill_value=True)[...] = a
  _core.zarr_write(root, "ours", zarr_json(root, "ts"), None, a,
                   store_fill_value_chunks=True)
  assert files(root, "ours") == files(root, "ts")


@pytest.mark.parametrize("cke", [
    {"name": "v2"}, {"name": "v2", "configuration": {"separator": "/"}},
    {"name": "default", "configuration": {"separator": "."}}])
def test_chunk_key_encodings_with_data(tmp_path, cke):
  root = str(tmp_path)
  md = {"shape": [3, 4], "data_type": "int16", "chunk_key_encoding": cke,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2, 3]}}}
  a = np.arange(12, dtype=np.int16).reshape(3, 4) + 1
  ts_open(root, "ts", md)[...] = a
  np.testing.assert_array_equal(_core.zarr_read(root, "ts"), a)
  _core.zarr_write(root, "ours", zarr_json(root, "ts"), None, a)
  assert files(root, "ours") == files(root, "ts")
