# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Every stored Orbax (v0 API) checkpoint under shared/fixtures loads, or,
where its data was deliberately removed, fails with a clear error."""

import jax
import numpy as np
import pytest

from ocpx import v1 as ocp

EXPECTED = {"a": np.arange(8, dtype=np.int32),
            "b": {"c": np.array([1, 2, 3], dtype=np.int32)}}


def _cases(root, kind):
  base = root / kind
  out = []
  for group in ("checkpoint_metadata_present", "checkpoint_metadata_missing"):
    for case in ("pytree_checkpointable_has_metadata",
                 "pytree_checkpointable_missing_metadata"):
      out.append(base / group / case)
  for p in sorted((base / "non_critical_metadata_alterations").iterdir()):
    out.append(p)
  return out


def _check_values(tree):
  assert set(tree) == {"a", "b"}
  np.testing.assert_array_equal(np.asarray(tree["a"]), EXPECTED["a"])
  np.testing.assert_array_equal(np.asarray(tree["b"]["c"]), EXPECTED["b"]["c"])


def _abstract():
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype),
                      EXPECTED)


@pytest.mark.parametrize("kind", ["direct_checkpoint", "composite_checkpoint"])
def test_loadable_fixtures(orbax_fixtures, kind):
  cases = _cases(orbax_fixtures, kind)
  assert len(cases) >= 10
  for path in cases:
    assert ocp.is_orbax_checkpoint(path), path
    # Without _METADATA the tree is rebuilt from the stored array names.
    # Direct checkpoints keep the tree at the root: AUTO finds it.
    got = ocp.load(path, _abstract())
    _check_values(got)
    assert isinstance(got["a"], jax.Array)
    _check_values(ocp.load(path))  # without an abstract tree
    if "pytree_checkpointable_missing_metadata" in str(path):
      # Without _METADATA there is no PyTree metadata: as in Orbax, the
      # item's metadata is None (it is not rebuilt by opening the arrays).
      if (path / "state").is_dir():
        assert ocp.checkpointables_metadata(path).metadata["state"] is None
      continue
    meta = ocp.metadata(path)
    assert meta.metadata["a"].shape == (8,)
    assert meta.metadata["b"]["c"].dtype == np.int32
    if (path / "_CHECKPOINT_METADATA").exists() and \
        "custom_metadata" not in path.name:
      assert meta.custom_metadata == {"custom": "meta"}, path


def test_composite_json_checkpointable(orbax_fixtures):
  path = (orbax_fixtures / "composite_checkpoint" /
          "checkpoint_metadata_present" / "pytree_checkpointable_has_metadata")
  got = ocp.load_checkpointables(path)
  assert got["metadata"] == {"metadata": "json_data"}
  _check_values(got["state"])
  got = ocp.load_checkpointables(path, {"metadata": None})
  assert set(got) == {"metadata"}


@pytest.mark.parametrize("kind", ["direct_checkpoint", "composite_checkpoint"])
@pytest.mark.parametrize("case,needle", [
    ("missing_pytree_data_dir_d", "d/"),
    ("missing_pytree_data_file_manifest.ocdbt", "manifest.ocdbt"),
])
def test_critical_fixtures_fail_clearly(orbax_fixtures, kind, case, needle):
  path = orbax_fixtures / kind / "critical_metadata_alterations" / case
  with pytest.raises((FileNotFoundError, ValueError)) as e:
    ocp.load(path, _abstract())
  msg = str(e.value)
  assert needle in msg and str(path) in msg, msg
  with pytest.raises((FileNotFoundError, ValueError)):
    ocp.load(path)
