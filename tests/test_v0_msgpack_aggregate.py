# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Legacy msgpack aggregate checkpoints (`<dir>/checkpoint`): written with
orbax-checkpoint 0.12.8's own msgpack encoder, read by ocpx's v0
PyTreeCheckpointHandler; hostile files fail with a ValueError naming the
file."""

import os
import subprocess
import sys

import jax
import msgpack
import numpy as np
import pytest

import ocpx
from ocpx._src.v0 import msgpack_aggregate

orbax = pytest.importorskip("orbax.checkpoint")
msgpack_utils = orbax.msgpack_utils


def _write(directory, tree, name="checkpoint"):
  directory.mkdir(parents=True, exist_ok=True)
  (directory / name).write_bytes(msgpack_utils.msgpack_serialize(tree))
  return directory


def _same(got, want):
  assert jax.tree.structure(got) == jax.tree.structure(want), (got, want)
  for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
    assert type(g) is type(w), (g, w)
    np.testing.assert_array_equal(np.asarray(g), np.asarray(w))


def test_only_aggregate_file_restores_every_value_kind(tmp_path):
  import ml_dtypes  # pylint: disable=g-import-not-at-top
  tree = {
      "step": 7, "lr": 0.5, "flag": True, "name": "run", "nothing": None,
      "c": complex(1, -2),
      "arrays": {"f": np.arange(6, dtype=np.float32).reshape(2, 3),
                 "bf": np.ones(4, ml_dtypes.bfloat16),
                 "i": np.int16(-3)},
      "seq": [np.zeros((2, 2), np.uint8), (np.float64(1.5), "t")],
  }
  d = _write(tmp_path / "ckpt", tree)
  got = ocpx.PyTreeCheckpointHandler().restore(d)
  _same(got, tree)
  assert got["arrays"]["bf"].dtype == ml_dtypes.bfloat16


def test_restore_args_and_item_apply_to_aggregated_values(tmp_path):
  tree = {"a": 1, "b": {"w": np.arange(8, dtype=np.float32)}}
  d = _write(tmp_path / "ckpt", tree)
  h = ocpx.PyTreeCheckpointHandler()
  # RestoreArgs(restore_type=...) as in a user's restore of such a file.
  ra = jax.tree.map(lambda x: ocpx.RestoreArgs(restore_type=type(x)), tree)
  _same(h.restore(d, args=ocpx.args.PyTreeRestore(restore_args=ra)), tree)
  # dtype cast, and ArrayRestoreArgs -> a jax.Array on the given sharding.
  mesh = jax.sharding.Mesh(np.array(jax.devices()[:2]), ("x",))
  sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("x"))
  ra = {"a": ocpx.RestoreArgs(dtype=np.float32),
        "b": {"w": ocpx.ArrayRestoreArgs(sharding=sharding,
                                         dtype=np.float16)}}
  got = h.restore(d, args=ocpx.args.PyTreeRestore(restore_args=ra))
  assert got["a"] == 1.0 and isinstance(got["a"], float)
  assert isinstance(got["b"]["w"], jax.Array)
  assert got["b"]["w"].sharding == sharding
  assert got["b"]["w"].dtype == np.float16
  np.testing.assert_array_equal(np.asarray(got["b"]["w"]), np.arange(8))
  # An item chooses the structure; a missing key needs partial_restore.
  item = {"a": 0, "b": {"w": np.zeros(8, np.float32)}, "extra": 3}
  with pytest.raises(ValueError, match="extra"):
    h.restore(d, args=ocpx.args.PyTreeRestore(item=item))
  got = h.restore(d, args=ocpx.args.PyTreeRestore(item=item,
                                                  partial_restore=True))
  assert got["extra"] == 3 and got["a"] == 1


def test_custom_aggregate_filename_and_checkpointer(tmp_path):
  tree = {"x": np.arange(3), "y": 2}
  d = _write(tmp_path / "step", tree, name="state.msgpack")
  h = ocpx.PyTreeCheckpointHandler(aggregate_filename="state.msgpack")
  _same(h.restore(d), tree)
  _same(ocpx.Checkpointer(h).restore(d), tree)


def test_placeholders_read_from_stored_arrays(tmp_path):
  """Old mixed checkpoints: arrays stored as zarr, the file holds their
  placeholders next to aggregated values."""
  d = tmp_path / "mixed"
  stored = {"w": np.arange(10, dtype=np.int32)}
  ocpx.PyTreeCheckpointHandler().save(d, args=ocpx.args.PyTreeSave(stored))
  _write(d, {"w": "PLACEHOLDER://w", "meta": {"epoch": 4}})
  got = ocpx.PyTreeCheckpointHandler().restore(d)
  assert got["meta"] == {"epoch": 4}
  np.testing.assert_array_equal(np.asarray(got["w"]), stored["w"])


def test_placeholder_only_file_is_ignored_when_metadata_exists(tmp_path):
  d = tmp_path / "c"
  tree = {"w": np.arange(4)}
  ocpx.PyTreeCheckpointHandler().save(d, args=ocpx.args.PyTreeSave(tree))
  _write(d, {"w": "PLACEHOLDER://w"})
  _same(ocpx.PyTreeCheckpointHandler().restore(d), {"w": np.arange(4)})


def _ext(code, payload):
  return msgpack.packb(msgpack.ExtType(code, payload))


def _ndarray_ext(shape, dtype, data):
  return msgpack.ExtType(1, msgpack.packb((shape, dtype, data),
                                          use_bin_type=True))


HOSTILE = {
    "random bytes": os.urandom(64) + b"\xc1",
    "truncated": msgpack_utils.msgpack_serialize(
        {"a": np.arange(100)})[:-7],
    "trailing data": msgpack.packb({"a": 1}) + b"\x00",
    "map claims 2^32 entries": b"\xdf\xff\xff\xff\xff" + b"\x00" * 8,
    "bin claims 4 GiB": b"\x81\xa1a\xc6\xff\xff\xff\xff" + b"\x00" * 8,
    "nested 100k lists": b"\x91" * 100_000 + b"\x00",
    "unknown ext": msgpack.packb({"a": msgpack.ExtType(42, b"zz")}),
    "shape vs bytes": msgpack.packb(
        {"a": _ndarray_ext([1000, 1000], b"float32", b"\x00" * 16)}),
    "huge shape": msgpack.packb(
        {"a": _ndarray_ext([2 ** 62, 2 ** 62], b"float64", b"")}),
    "negative dim": msgpack.packb(
        {"a": _ndarray_ext([-1], b"int8", b"\x00")}),
    "object dtype": msgpack.packb(
        {"a": _ndarray_ext([1], b"object", b"\x00" * 8)}),
    "unknown dtype": msgpack.packb(
        {"a": _ndarray_ext([1], b"nope", b"\x00")}),
    "bad chunked": msgpack.packb(
        {"a": {"__msgpack_chunked_array__": True, "shape": {"0": 5},
               "chunks": {"1": 3}}}),
    "chunked size": msgpack.packb(
        {"a": {"__msgpack_chunked_array__": True, "shape": {"0": 10 ** 12},
               "chunks": {"0": _ndarray_ext([2], b"int8", b"\x00\x01")}}}),
    "bad complex": msgpack.packb({"c": msgpack.ExtType(2, b"\x92\xa1x\x01")}),
}


def _deep_tuple(levels):
  inner = msgpack.packb([1])
  for _ in range(levels):
    inner = msgpack.packb(msgpack.ExtType(4, b"\x91" + inner))
  return inner


HOSTILE["nested tuple exts"] = _deep_tuple(5000)


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_aggregate_file_is_a_clear_value_error(tmp_path, case):
  d = tmp_path / "h"
  d.mkdir()
  (d / "checkpoint").write_bytes(HOSTILE[case])
  with pytest.raises(ValueError, match=str(d / "checkpoint")):
    ocpx.PyTreeCheckpointHandler().restore(d)


def test_hostile_claims_do_not_allocate(tmp_path):
  """A file claiming huge sizes is rejected before any large allocation
  (peak RSS in a fresh process stays far below the claims)."""
  files = []
  for case in ("map claims 2^32 entries", "bin claims 4 GiB", "huge shape",
               "chunked size"):
    p = tmp_path / f"{len(files)}.msgpack"
    p.write_bytes(HOSTILE[case])
    files.append(str(p))
  code = (
      "import resource, sys\n"
      "from ocpx._src.v0 import msgpack_aggregate as m\n"
      "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
      "for f in sys.argv[1:]:\n"
      "  try:\n"
      "    m.read_aggregate_file(f)\n"
      "    raise SystemExit('no error for ' + f)\n"
      "  except ValueError:\n"
      "    pass\n"
      "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)\n")
  env = dict(os.environ, PYTHONPATH=os.pathsep.join(
      [os.path.dirname(os.path.dirname(ocpx.__file__))] + sys.path))
  out = subprocess.run([sys.executable, "-c", code, *files], env=env,
                       capture_output=True, text=True, check=True)
  grown_kib = int(out.stdout.split()[-1])
  assert grown_kib < 64 * 1024, grown_kib


def test_decode_matches_orbax_restore_on_random_trees():
  rng = np.random.default_rng(0)
  for _ in range(20):
    tree = {f"k{i}": rng.standard_normal(rng.integers(1, 50)).astype(
        rng.choice(["float32", "float64", "int8"])) for i in range(5)}
    tree["n"] = {"s": int(rng.integers(0, 100))}
    data = msgpack_utils.msgpack_serialize(tree)
    _same(msgpack_aggregate.decode(data, "mem"),
          msgpack_utils.msgpack_restore(data))
