# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The native OCDBT store against TensorStore (the oracle), both directions."""

import glob
import os
import random
import shutil
import threading

import pytest

from ocpx import _core

ts = pytest.importorskip("tensorstore")



def ts_open(path, version=None, config=None):
  spec = {"driver": "ocdbt", "base": "file://" + str(path) + "/"}
  if version is not None:
    spec["version"] = version
  if config is not None:
    spec["config"] = config
  return ts.KvStore.open(spec).result()


def ts_read_all(kv):
  return {k: kv.read(k).result().value for k in kv.list().result()}


def ours_read_all(path, generation=None):
  return dict(_core.OcdbtReader(str(path), generation).list())


def sample_items():
  return {
      b"a": b"hello",
      b"b": b"B" * 200,
      b"empty": b"",
      b"exactly100": b"x" * 100,
      b"101": b"y" * 101,
      b"big": os.urandom(300_000),
      b"\x00": b"nul key",
      b"\xff\xfe": b"high bytes",
      b"": b"empty key",
  }


# ---------------------------------------------------------------- basics


@pytest.mark.parametrize("compression", ["zstd", "none"])
def test_ts_reads_ours(tmp_path, compression):
  items = sample_items()
  gen = _core.ocdbt_commit(str(tmp_path), items, compression=compression)
  assert gen == 1
  kv = ts_open(tmp_path)
  assert ts_read_all(kv) == items
  r = _core.OcdbtReader(str(tmp_path))
  assert r.generation == 1 and r.num_keys == len(items)
  assert r.get(b"missing") is None
  assert r.config["max_inline_value_bytes"] == 100
  assert r.config["compression"] == compression


def test_ours_reads_ts(tmp_path):
  items = sample_items()
  kv = ts_open(tmp_path)
  txn = ts.Transaction()
  for k, v in items.items():
    kv.with_transaction(txn).write(k, v).result()
  txn.commit_async().result()
  r = _core.OcdbtReader(str(tmp_path))
  assert r.generation == 2  # TS starts with an empty generation 1.
  assert dict(r.list()) == items
  for k, v in items.items():
    assert r.get(k) == v
  assert r.keys(b"e") == [b"empty", b"exactly100"]
  assert _core.OcdbtReader(str(tmp_path), 1).num_keys == 0
  assert _core.OcdbtReader(str(tmp_path), 1).list() == []


def test_orbax_options_and_empty_values(tmp_path):
  items = {b"k%d" % i: b"v" * (i * 100) for i in range(25)}
  _core.ocdbt_commit(str(tmp_path), items, orbax=True)
  kv = ts_open(tmp_path)
  assert ts_read_all(kv) == items
  dump = ts.ocdbt.dump(ts.KvStore.open("file://%s/" % tmp_path).result()).result()
  assert dump["config"]["max_inline_value_bytes"] == 1024
  assert dump["config"]["max_decoded_node_bytes"] == 100000000
  assert dump["config"]["compression"] == {"id": "zstd"}


def test_max_inline_zero_keeps_empty_inline(tmp_path):
  items = {b"e": b"", b"one": b"1"}
  _core.ocdbt_commit(str(tmp_path), items, max_inline_value_bytes=0)
  assert ts_read_all(ts_open(tmp_path)) == items


def test_deletes_and_delete_all(tmp_path):
  p = str(tmp_path)
  _core.ocdbt_commit(p, {b"a": b"1", b"b": b"2" * 500, b"c": b"3"})
  _core.ocdbt_commit(p, {b"d": b"4"}, [b"a", b"nonexistent"])
  assert ts_read_all(ts_open(tmp_path)) == {b"b": b"2" * 500, b"c": b"3",
                                             b"d": b"4"}
  g = _core.ocdbt_commit(p, {}, [b"b", b"c", b"d"])
  assert g == 3
  assert ts_read_all(ts_open(tmp_path)) == {}
  assert _core.OcdbtReader(p).num_keys == 0
  assert ts_read_all(ts_open(tmp_path, version=2))[b"d"] == b"4"


# ---------------------------------------------------------------- scale


def test_100k_keys_multilevel(tmp_path):
  p = str(tmp_path)
  n = 100_000
  items = {b"param/c/%d.%d" % (i // 300, i % 300): b"%d" % i for i in range(n)}
  gen = _core.ocdbt_commit(p, items, max_decoded_node_bytes=16384)
  r = _core.OcdbtReader(p)
  assert r.num_keys == n and r.root_height >= 2
  keys = r.keys()
  assert keys == sorted(items)
  assert r.keys(b"param/c/12.") == sorted(k for k in items
                                          if k.startswith(b"param/c/12."))
  kv = ts_open(tmp_path)
  assert len(kv.list().result()) == n
  rng = random.Random(0)
  for k in rng.sample(sorted(items), 200):
    assert kv.read(k).result().value == items[k]
    assert r.get(k) == items[k]
  assert r.get(b"param/c/12.x") is None
  assert r.get(b"param/c/") is None
  assert r.get(b"zzz") is None
  assert gen == 1


def test_ts_multilevel_tree_read_by_us(tmp_path):
  kv = ts_open(tmp_path, config={"max_decoded_node_bytes": 500})
  items = {b"prefix/%05d/suffix" % i: b"v%d" % i * (i % 7) for i in range(3000)}
  txn = ts.Transaction()
  for k, v in items.items():
    kv.with_transaction(txn).write(k, v).result()
  txn.commit_async().result()
  r = _core.OcdbtReader(str(tmp_path))
  assert r.root_height >= 2
  assert dict(r.list()) == items
  assert r.keys(b"prefix/0012") == sorted(k for k in items
                                          if k.startswith(b"prefix/0012"))
  for k in list(items)[::97]:
    assert r.get(k) == items[k]
  assert r.get(b"prefix/00123") is None


def test_long_prefixes_binary_and_max_length_keys(tmp_path):
  rng = random.Random(1)
  base = b"shared/" * 2000
  items = {}
  for i in range(200):
    items[base + bytes([rng.randrange(256) for _ in range(rng.randrange(8))])
          + b"%d" % i] = b"v%d" % i
  for i in range(50):
    items[bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))] = (
        os.urandom(rng.randrange(0, 400)))
  items[b"K" * 65535] = b"longest key"
  items[b"K" * 65534] = b"second longest"
  p = str(tmp_path)
  _core.ocdbt_commit(p, items, max_decoded_node_bytes=20000)
  assert ts_read_all(ts_open(tmp_path)) == items
  assert ours_read_all(p) == items
  with pytest.raises(ValueError, match="65536"):
    _core.ocdbt_commit(p, {b"K" * 65536: b""})
  # TS writes them too and we read them.
  q = tmp_path / "ts"
  kv = ts_open(q, config={"max_decoded_node_bytes": 20000})
  txn = ts.Transaction()
  for k, v in items.items():
    kv.with_transaction(txn).write(k, v).result()
  txn.commit_async().result()
  assert ours_read_all(q) == items


# ---------------------------------------------------------------- versions


@pytest.mark.parametrize("arity_log2", [1, 2, 4])
def test_many_generations_version_tree(tmp_path, arity_log2):
  p = str(tmp_path)
  expected = {}
  state = {}
  num = 35
  for g in range(1, num + 1):
    puts = {b"gen": b"%d" % g, b"k%02d" % g: b"x" * (g * 10)}
    deletes = [b"k%02d" % (g - 3)] if g > 3 else []
    assert _core.ocdbt_commit(p, puts, deletes,
                              version_tree_arity_log2=arity_log2) == g
    state.update(puts)
    for d in deletes:
      state.pop(d, None)
    expected[g] = dict(state)
  r = _core.OcdbtReader(p)
  assert r.generations() == list(range(1, num + 1))
  for g in range(1, num + 1):
    assert ts_read_all(ts_open(tmp_path, version=g)) == expected[g], g
    assert ours_read_all(p, g) == expected[g], g
  with pytest.raises(FileNotFoundError):
    _core.OcdbtReader(p, num + 1)
  # TS appends on top of our version tree; we read every generation.
  kv = ts_open(tmp_path)
  for i in range(2 << arity_log2 if arity_log2 < 4 else 3):
    kv.write(b"ts%d" % i, b"t").result()
  r = _core.OcdbtReader(p)
  for g in range(1, r.generation + 1):
    assert ours_read_all(p, g) == ts_read_all(ts_open(tmp_path, version=g))


def test_ts_generations_read_by_us(tmp_path):
  kv = ts_open(tmp_path, config={"version_tree_arity_log2": 2})
  for g in range(2, 40):
    kv.write(b"k%d" % g, b"v" * g).result()
  r = _core.OcdbtReader(str(tmp_path))
  assert r.generation == 39
  for g in range(1, 40):
    assert ours_read_all(tmp_path, g) == ts_read_all(ts_open(tmp_path, version=g))
  # We append on top of TS's version tree; TS reads every generation.
  for g in range(40, 60):
    assert _core.ocdbt_commit(str(tmp_path), {b"o%d" % g: b"o"}) == g
  for g in (1, 16, 17, 32, 39, 40, 48, 49, 59):
    assert ts_read_all(ts_open(tmp_path, version=g)) == ours_read_all(tmp_path, g)


def test_prune_history(tmp_path):
  p = str(tmp_path)
  for g in range(1, 20):
    _core.ocdbt_commit(p, {b"g": b"%d" % g}, version_tree_arity_log2=2,
                       keep_version_history=False)
  r = _core.OcdbtReader(p)
  assert r.generations() == [17, 18, 19]
  assert ts_open(tmp_path, version=18).read(b"g").result().value == b"18"
  kv = ts_open(tmp_path)
  kv.write(b"g", b"ts").result()
  assert _core.OcdbtReader(p).get(b"g") == b"ts"


def test_appends_both_ways(tmp_path):
  ours = str(tmp_path / "ours")
  _core.ocdbt_commit(ours, {b"a": b"1", b"big": b"B" * 5000})
  kv = ts_open(ours)
  kv.write(b"b", b"2" * 3000).result()
  kv.write(b"a", None).result()
  _core.ocdbt_commit(ours, {b"c": b"3"})
  assert ts_read_all(ts_open(ours)) == {b"b": b"2" * 3000, b"big": b"B" * 5000,
                                        b"c": b"3"}
  theirs = tmp_path / "theirs"
  kv = ts_open(theirs)
  kv.write(b"x", b"X" * 1000).result()
  _core.ocdbt_commit(str(theirs), {b"y": b"Y"}, [b"x"])
  kv.write(b"z", b"Z").result()
  assert ours_read_all(theirs) == {b"y": b"Y", b"z": b"Z"}
  assert ts_read_all(ts_open(theirs)) == {b"y": b"Y", b"z": b"Z"}


def test_numbered_manifest(tmp_path):
  kv = ts_open(tmp_path, config={"manifest_kind": "numbered"})
  kv.write(b"a", b"1").result()
  kv.write(b"b", b"2" * 300).result()
  assert ours_read_all(tmp_path) == {b"a": b"1", b"b": b"2" * 300}
  g = _core.ocdbt_commit(str(tmp_path), {b"c": b"3"})
  assert os.path.exists(tmp_path / ("manifest.%016x" % g))
  kv = ts_open(tmp_path)
  assert ts_read_all(kv) == {b"a": b"1", b"b": b"2" * 300, b"c": b"3"}
  ours = tmp_path / "ours"
  _core.ocdbt_commit(str(ours), {b"a": b"1"}, manifest_kind="numbered")
  _core.ocdbt_commit(str(ours), {b"b": b"2"})
  kv = ts_open(ours)
  assert ts_read_all(kv) == {b"a": b"1", b"b": b"2"}
  kv.write(b"c", b"3").result()
  assert _core.OcdbtReader(str(ours)).generation == 3


# ---------------------------------------------------------------- writer


def test_writer_threads_and_data_file_rolling(tmp_path):
  p = str(tmp_path)
  w = _core.OcdbtWriter(p, target_data_file_size=50_000)
  items = {b"t%d/%d" % (t, i): os.urandom(1000 + i) for t in range(4)
           for i in range(60)}

  def work(t):
    for i in range(60):
      w.put(b"t%d/%d" % (t, i), items[b"t%d/%d" % (t, i)])

  threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  w.put(b"small", b"s")
  assert w.get(b"t1/5") == items[b"t1/5"]
  w.delete(b"t0/0")
  assert w.get(b"t0/0") is None
  del items[b"t0/0"]
  items[b"small"] = b"s"
  assert w.commit() == 1
  with pytest.raises(ValueError):
    w.put(b"late", b"x")
  data_files = os.listdir(tmp_path / "d")
  assert len(data_files) > 4
  assert all(os.path.getsize(tmp_path / "d" / f) <= 60_000 for f in data_files)
  assert ts_read_all(ts_open(tmp_path)) == items


# ---------------------------------------------------------------- merge


def _write_children(parent, how, n=4):
  """Children with interleaving key ranges, like per-process Orbax DBs."""
  expected = {}
  for c in range(n):
    child = parent / ("ocdbt.process_%d" % c)
    items = {}
    for i in range(30):
      chunk = i * n + c  # chunks of the same arrays interleave across children
      items[b"params.w/c/%d" % chunk] = bytes([c]) * (10 + 100 * (chunk % 25))
    items[b"p%d/zarr.json" % c] = b'{"zarr_format":3}'
    if how == "ours":
      _core.ocdbt_commit(str(child), items, orbax=True, max_decoded_node_bytes=2000)
    else:
      kv = ts_open(child, config={"max_inline_value_bytes": 1024,
                                  "max_decoded_node_bytes": 2000})
      txn = ts.Transaction()
      for k, v in items.items():
        kv.with_transaction(txn).write(k, v).result()
      txn.commit_async().result()
    expected.update(items)
  return expected


@pytest.mark.parametrize("how", ["ours", "ts"])
def test_merge_children(tmp_path, how):
  expected = _write_children(tmp_path, how)
  subdirs = ["ocdbt.process_%d" % c for c in range(4)]
  assert _core.ocdbt_merge(str(tmp_path), subdirs) == 1
  kv = ts_open(tmp_path)
  assert ts_read_all(kv) == expected
  assert ours_read_all(tmp_path) == expected
  # No value was copied: the parent only has node files.
  parent_bytes = sum(os.path.getsize(f) for f in glob.glob(str(tmp_path / "d/*")))
  assert parent_bytes < sum(len(v) for v in expected.values()) // 4
  dump = ts.ocdbt.dump(ts.KvStore.open("file://%s/" % tmp_path).result()).result()
  assert dump["config"]["max_inline_value_bytes"] == 1024
  # TS can append to the merged database.
  kv.write(b"extra", b"e" * 2000).result()
  expected[b"extra"] = b"e" * 2000
  assert ours_read_all(tmp_path) == expected


def test_merge_duplicate_key_fails(tmp_path):
  _core.ocdbt_commit(str(tmp_path / "c0"), {b"a": b"1", b"dup": b"x"})
  _core.ocdbt_commit(str(tmp_path / "c1"), {b"b": b"2", b"dup": b"y"})
  with pytest.raises(ValueError, match="dup"):
    _core.ocdbt_merge(str(tmp_path), ["c0", "c1"])
  with pytest.raises(ValueError):
    _core.ocdbt_merge(str(tmp_path), ["../c0"])
  with pytest.raises(FileNotFoundError, match="nope"):
    _core.ocdbt_merge(str(tmp_path), ["nope"])


# ---------------------------------------------------------------- Orbax


def _orbax_roots(fixtures):
  roots = []
  for m in glob.glob(str(fixtures) + "/**/manifest.ocdbt", recursive=True):
    d = os.path.dirname(m)
    if not os.path.basename(d).startswith("ocdbt.process_"):
      roots.append(d)
  return sorted(roots)


def test_orbax_fixture_roots(orbax_fixtures):
  roots = _orbax_roots(orbax_fixtures)
  assert roots
  matched = 0
  for root in roots:
    try:
      expected = ts_read_all(ts_open(root))
    except Exception:  # pylint: disable=broad-except
      expected = None
    if expected is None:
      with pytest.raises((ValueError, OSError)):
        ours_read_all(root)
      continue
    assert ours_read_all(root) == expected, root
    # These fixtures hold zarr2 arrays (`a/.zarray`, `a/0`); zarr3 would
    # give `a/zarr.json`, `a/c/0`.
    assert any(k.endswith((b"/.zarray", b"/zarr.json")) for k in expected)
    matched += 1
  assert matched >= len(roots) // 2


# ---------------------------------------------------------------- corruption


def _read_everything(path):
  r = _core.OcdbtReader(str(path))
  return [_core.OcdbtReader(str(path), g).list() for g in r.generations()]


def _make_db(path):
  p = str(path)
  for g in range(1, 20):  # version nodes (arity 2) + out-of-line values
    _core.ocdbt_commit(p, {b"k%03d" % (g * 7 + i): b"v%d" % i * (i * 10)
                           for i in range(12)},
                       version_tree_arity_log2=1, max_decoded_node_bytes=300)


def test_corrupt_files_raise_clear_errors(tmp_path):
  src = tmp_path / "src"
  _make_db(src)
  good = _read_everything(src)
  rng = random.Random(5)
  files = ["manifest.ocdbt"] + ["d/" + f for f in sorted(os.listdir(src / "d"))]
  checked = unnoticed = 0
  for rel in files:
    size = os.path.getsize(src / rel)
    offsets = sorted(set([0, 4, 5, 11, 12, 13, size - 1, size - 4] +
                         [rng.randrange(size) for _ in range(12)]))
    for off in offsets:
      dst = tmp_path / ("c%d" % checked)
      shutil.copytree(src, dst)
      with open(dst / rel, "r+b") as f:
        f.seek(off)
        b = f.read(1)
        f.seek(off)
        f.write(bytes([b[0] ^ (1 << rng.randrange(8))]))
      try:
        result = _read_everything(dst)
      except (ValueError, OSError) as e:
        assert str(dst) in str(e), str(e)
      else:
        # Only raw out-of-line value bytes carry no checksum; superseded
        # version-tree nodes are unreferenced garbage.
        assert rel.startswith("d/")
        unnoticed += result == good
      shutil.rmtree(dst)
      checked += 1
  assert unnoticed < checked // 10
  # Truncations, of files the latest generation references (older data
  # files may hold only superseded nodes; removing those changes nothing).
  referenced = []
  for rel in files:
    dst = tmp_path / "probe"
    shutil.copytree(src, dst)
    os.remove(dst / rel)
    try:
      _read_everything(dst)
    except (ValueError, OSError):
      referenced.append(rel)
    shutil.rmtree(dst)
  assert "manifest.ocdbt" in referenced and len(referenced) >= 2
  for rel in referenced[:4]:
    size = os.path.getsize(src / rel)
    for cut in (0, 3, 15, size // 2):
      dst = tmp_path / ("t%d" % checked)
      shutil.copytree(src, dst)
      with open(dst / rel, "r+b") as f:
        f.truncate(cut)
      with pytest.raises((ValueError, OSError)) as e:
        _read_everything(dst)
      assert str(dst) in str(e.value)
      shutil.rmtree(dst)
      checked += 1
  assert checked > 50


def test_missing_files(tmp_path):
  with pytest.raises(FileNotFoundError, match="manifest.ocdbt"):
    _core.OcdbtReader(str(tmp_path / "nothing"))
  _core.ocdbt_commit(str(tmp_path), {b"a": b"1" * 500, b"b": b"2"})
  for f in os.listdir(tmp_path / "d"):
    os.rename(tmp_path / "d" / f, tmp_path / ("moved_" + f))
  with pytest.raises(FileNotFoundError, match="d/"):
    _core.OcdbtReader(str(tmp_path)).get(b"a")


def test_bad_lengths_raise_corruption_error(tmp_path):
  _core.ocdbt_commit(str(tmp_path), {b"a": b"1"}, compression="none")
  m = tmp_path / "manifest.ocdbt"
  data = bytearray(m.read_bytes())
  # Claim a huge length in the envelope header.
  bad = bytearray(data)
  bad[4:12] = (2**62).to_bytes(8, "little")
  m.write_bytes(bad)
  with pytest.raises(_core.CorruptionError, match="length"):
    _core.OcdbtReader(str(tmp_path))
  # Unsupported format version (with a valid CRC).
  bad = bytearray(data)
  bad[12] = 1
  crc = _core.crc32c(bytes(bad[:-4]))
  bad[-4:] = crc.to_bytes(4, "little")
  m.write_bytes(bad)
  with pytest.raises(NotImplementedError, match="format_version"):
    _core.OcdbtReader(str(tmp_path))


def test_reader_shared_across_threads(tmp_path):
  items = {b"k%05d" % i: (b"%d" % i) * (1 + i % 300) for i in range(5000)}
  _core.ocdbt_commit(str(tmp_path), items, max_decoded_node_bytes=3000)
  r = _core.OcdbtReader(str(tmp_path))
  errors = []

  def work(seed):
    rng = random.Random(seed)
    try:
      for _ in range(500):
        k = b"k%05d" % rng.randrange(5000)
        assert r.get(k) == items[k]
      assert len(r.keys(b"k01")) == 1000
    except Exception as e:  # pylint: disable=broad-except
      errors.append(e)

  threads = [threading.Thread(target=work, args=(s,)) for s in range(6)]
  for t in threads:
    t.start()
  for t in threads:
    t.join()
  assert not errors
