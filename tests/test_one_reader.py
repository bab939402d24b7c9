# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The C++ checkpoint reader and `ocp.load` read the same trees.

Every fixture (Orbax-written v0 checkpoints, shared or generated; the old
Orbax 0.10.3/0.11.5 checkpoints in tests/fixtures/old_orbax) and checkpoints
written by ocpx and by Orbax 0.12.8 here are opened twice: through
`ocpx._core.CheckpointReader` (the reader the CLI and serving binaries use,
AUTO resolution) and through `ocpx.v1.load` without an abstract tree.  Both
must succeed with identical leaves (key path, dtype, shape, values), or both
must fail.
"""

import pathlib

import jax
import numpy as np
import pytest

from ocpx import _core
from ocpx import v1 as ocp

OLD_ORBAX = pathlib.Path(__file__).resolve().parent / "fixtures" / "old_orbax"

_EMPTY = {"None": None, "Dict": {}, "List": [], "Tuple": ()}


def _key_name(k) -> str:
  for attr in ("key", "idx", "name"):
    if hasattr(k, attr):
      return str(getattr(k, attr))
  raise AssertionError(f"unexpected key {k!r}")


def _flat_load(path) -> dict:
  """`ocp.load(path)` as {key names: numpy value or empty node}."""
  tree = ocp.load(path)
  out = {}
  leaves, _ = jax.tree_util.tree_flatten_with_path(
      tree, is_leaf=lambda x: x is None or (
          type(x) in (dict, list, tuple) and not x))
  for keypath, v in leaves:
    names = tuple(_key_name(k) for k in keypath)
    if v is ... or isinstance(v, (str, type(None), dict, list, tuple)):
      out[names] = v
    else:
      out[names] = np.asarray(v)
  return out


def _flat_native(path) -> dict:
  """The same through the C++ reader."""
  r = _core.CheckpointReader(str(path))
  leaves = r.leaves()
  data = [l for l in leaves if l["kind"] in ("array", "scalar")]
  # Every array in one call, as serving code would read them.
  read = dict(zip((l["name"] for l in data), r.read_many(
      [(l["name"], [0] * len(l["shape"]), list(l["shape"])) for l in data])))
  out = {}
  for leaf in leaves:
    names = tuple(k for k, _ in leaf["key_path"])
    if leaf["value_type"] in _EMPTY:  # saved empty nodes load as themselves
      out[names] = _EMPTY[leaf["value_type"]]
    elif leaf["value_type"] == "placeholder":  # Orbax's `...`: no data
      assert leaf["kind"] == "empty"
      out[names] = ...
    elif leaf["skip_deserialize"]:
      continue
    elif leaf["kind"] in ("array", "scalar"):
      out[names] = read[leaf["name"]]
    elif leaf["kind"] == "string":
      out[names] = r.read_string(leaf["name"])
    else:
      raise ValueError(f"{path}: leaf {leaf['name']!r} is a "
                       f"{leaf['value_type']} leaf")
  return out


def _outcome(fn, path):
  try:
    return "ok", fn(path)
  except (ValueError, OSError) as e:
    return "error", e


def _assert_same(path):
  py_kind, py = _outcome(_flat_load, path)
  cc_kind, cc = _outcome(_flat_native, path)
  assert py_kind == cc_kind, (path, py, cc)
  if py_kind == "error":
    return
  assert sorted(py) == sorted(cc), path
  for names, want in py.items():
    got = cc[names]
    if isinstance(want, np.ndarray):
      assert isinstance(got, np.ndarray), (path, names)
      assert got.shape == want.shape, (path, names)
      # A scalar loads as a Python number (int64/float64/bool storage).
      if want.shape or want.dtype == got.dtype:
        assert got.dtype == want.dtype, (path, names, got.dtype, want.dtype)
      np.testing.assert_array_equal(got, want, err_msg=f"{path} {names}")
    else:
      assert got == want, (path, names)


def _fixture_cases(root):
  out = []
  for kind in ("direct_checkpoint", "composite_checkpoint"):
    for group in sorted(p for p in (root / kind).iterdir() if p.is_dir()):
      out.extend(sorted(p for p in group.iterdir() if p.is_dir()))
  return out


def test_every_orbax_fixture_reads_the_same(orbax_fixtures):
  cases = _fixture_cases(orbax_fixtures)
  assert len(cases) >= 20
  for path in cases:
    _assert_same(path)


def test_old_orbax_fixtures_read_the_same():
  cases = []
  for version in sorted(OLD_ORBAX.iterdir()):
    for name in ("pytree", "standard"):
      cases.append(version / name)
    for name in ("manager", "manager_args"):
      cases.extend(sorted(p for p in (version / name).iterdir()
                          if p.is_dir() and p.name.isdigit()))
  assert len(cases) >= 8
  for path in cases:
    _assert_same(path)


def _tree():
  return {
      "w": jax.numpy.arange(12, dtype=jax.numpy.bfloat16).reshape(3, 4),
      "n": np.arange(5, dtype=np.int16),
      "layers": [{"b": np.ones((2,), np.float32)}, {"b": np.zeros((2,))}],
      "step": 7,
      "lr": np.float32(0.5),
      "flag": True,
      "name": "run/1",
      "none": None,
      "empty": {},
  }


@pytest.mark.parametrize("use_ocdbt", [True, False])
def test_ocpx_written_reads_the_same(tmp_path, use_ocdbt):
  ctx = ocp.Context(array_options=ocp.options.ArrayOptions(
      saving=ocp.options.ArrayOptions.Saving(use_ocdbt=use_ocdbt)))
  with ctx:
    ocp.save_pytree(tmp_path / "ck", _tree())
  _assert_same(tmp_path / "ck")


def test_orbax_written_reads_the_same(tmp_path):
  orbax = pytest.importorskip("orbax.checkpoint")
  tree = {k: v for k, v in _tree().items() if k not in ("none", "empty", "lr")}
  orbax.v1.save_pytree(tmp_path / "v1", tree)
  _assert_same(tmp_path / "v1")
  with orbax.StandardCheckpointer() as ckptr:
    ckptr.save(tmp_path / "v0", {k: v for k, v in tree.items()
                                 if k != "name"})
  _assert_same(tmp_path / "v0")


def test_orbax_placeholder_loads_as_orbax_does(tmp_path):
  # Orbax records a `...` leaf as value_type "placeholder" and restores it
  # as `...`; ocp.load does the same, and the C++ reader reports no data.
  orbax = pytest.importorskip("orbax.checkpoint")
  with orbax.PyTreeCheckpointer() as ckptr:
    ckptr.save(tmp_path / "p", {"a": np.ones(2), "b": orbax.PLACEHOLDER})
  _assert_same(tmp_path / "p")
  got = ocp.load(tmp_path / "p")
  assert got["b"] is ...
  np.testing.assert_array_equal(got["a"], np.ones(2))
  assert ocp.metadata(tmp_path / "p").metadata["b"] is ...


def test_a_missing_checkpoint_fails_both_ways(tmp_path):
  _assert_same(tmp_path / "absent")
  with pytest.raises(FileNotFoundError):
    _core.CheckpointReader(str(tmp_path / "absent"))


def test_flat_pytree_without_metadata_by_name(orbax_fixtures):
  # Orbax 0.12.8 refuses checkpointable_name=None when the root has no
  # _METADATA; so does ocp.load.  AUTO rebuilds the tree from the stored
  # arrays (an ocpx extension), and the C++ reader opens the root by name
  # ("") too, so that `ocpx verify` can check it.
  path = (orbax_fixtures / "direct_checkpoint" / "checkpoint_metadata_present"
          / "pytree_checkpointable_missing_metadata")
  with pytest.raises(ocp.errors.InvalidLayoutError, match="no PyTree metadata"):
    ocp.load(path, checkpointable_name=None)
  orbax_v1 = pytest.importorskip("orbax.checkpoint.experimental.v1")
  with pytest.raises(orbax_v1.errors.InvalidLayoutError):
    orbax_v1.load_pytree(path, checkpointable_name=None)
  assert sorted(ocp.load(path)) == ["a", "b"]
  r = _core.CheckpointReader(str(path), "")
  assert r.layout == "v0-flat" and r.metadata_inferred
  assert sorted(l["name"] for l in r.leaves()) == ["a", "b.c"]
