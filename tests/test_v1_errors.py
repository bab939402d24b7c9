# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Bad input raises the exception types Orbax 0.12.8 raises for it.

Each case runs against ocpx and against orbax-checkpoint itself on the same
files, so a type that drifts from Orbax's fails here.
"""

import re
import shutil

import numpy as np
import orbax.checkpoint.experimental.v1 as orbax_v1
import pytest

from ocpx import v1 as ocp

LIBS = {"ocpx": ocp, "orbax": orbax_v1}


@pytest.fixture(params=sorted(LIBS))
def lib(request):
  return LIBS[request.param]


def _invalid_layout(lib):
  return lib.errors.InvalidLayoutError


@pytest.fixture
def composite(tmp_path):
  path = tmp_path / "composite"
  ocp.save_checkpointables(path, {"state": {"a": np.arange(4)},
                                  "extra": {"b": np.ones(2)}})
  return path


@pytest.fixture
def flat(tmp_path):
  """A V0 direct checkpoint (PyTree at the root), written by Orbax."""
  import orbax.checkpoint as ocp_v0  # pylint: disable=g-import-not-at-top
  path = tmp_path / "flat"
  with ocp_v0.StandardCheckpointer() as ckptr:
    ckptr.save(path, {"a": np.arange(4)})
  return path


def test_missing_path_is_an_invalid_layout(lib, tmp_path):
  with pytest.raises(_invalid_layout(lib), match="does not exist|recognize"):
    lib.load(tmp_path / "nope")
  with pytest.raises(_invalid_layout(lib)):
    lib.metadata(tmp_path / "nope")
  if lib is ocp:  # ocpx's is also a FileNotFoundError, as before
    with pytest.raises(FileNotFoundError, match="does not exist"):
      ocp.load(tmp_path / "nope")


def test_file_instead_of_directory(lib, tmp_path):
  (tmp_path / "f").write_text("x")
  with pytest.raises(_invalid_layout(lib)):
    lib.load(tmp_path / "f")


def test_v1_checkpoint_without_checkpoint_metadata(lib, composite):
  (composite / "_CHECKPOINT_METADATA").unlink()
  with pytest.raises(_invalid_layout(lib),
                     match="Could not recognize the checkpoint"):
    lib.load(composite, checkpointable_name="state")


def test_unknown_checkpointable_name(lib, composite):
  with pytest.raises(_invalid_layout(lib), match="Failed to interpret path"):
    lib.load(composite, checkpointable_name="nope")
  with pytest.raises(_invalid_layout(lib)):
    lib.metadata(composite, checkpointable_name="nope")


def test_name_none_on_a_v1_checkpoint(lib, composite):
  with pytest.raises(ValueError):
    lib.load(composite, checkpointable_name=None)


def test_reserved_and_empty_names_are_value_errors(lib, composite):
  for bad in ("", "metrics"):
    with pytest.raises(ValueError):
      lib.load(composite, checkpointable_name=bad)


def test_flat_checkpoint_refused_by_checkpointable_apis(lib, flat):
  with pytest.raises(_invalid_layout(lib), match="no named checkpointables"):
    lib.load_checkpointables(flat)
  with pytest.raises(_invalid_layout(lib)):
    lib.checkpointables_metadata(flat)
  with pytest.raises(_invalid_layout(lib)):
    lib.load(flat, checkpointable_name="state")
  np.testing.assert_array_equal(
      lib.load(flat, checkpointable_name=None)["a"], np.arange(4))


def test_missing_requested_checkpointable_is_a_key_error(lib, composite):
  with pytest.raises(KeyError, match="Requested checkpointables"):
    lib.load_checkpointables(composite, {"nope": None})


def test_save_argument_errors(lib, tmp_path):
  with pytest.raises(TypeError):
    lib.save(tmp_path / "a", {"x": np.ones(2)},
             custom_metadata={"f": object()})
  with pytest.raises(ValueError, match="Found empty item"):
    lib.save(tmp_path / "b", {})
  with pytest.raises(ValueError, match="must not be None"):
    lib.save(tmp_path / "c", None)
  with pytest.raises(ValueError, match="zero size"):
    lib.save(tmp_path / "d", {"k": np.ones((0,))})
  with pytest.raises(ValueError):
    lib.save(tmp_path / "e", {"k": 2j})
  with pytest.raises(ValueError):
    lib.save_checkpointables(tmp_path / "f", {})
  for name in "abcdef":
    assert not (tmp_path / name).exists()


def test_missing_array_data_is_a_value_error(lib, composite):
  shutil.rmtree(composite / "state" / "d")
  for child in (composite / "state").glob("ocdbt.process_*"):
    shutil.rmtree(child)
  with pytest.raises(ValueError):
    lib.load(composite, checkpointable_name="state")


def test_ocpx_messages_keep_the_details(composite, tmp_path):
  shutil.rmtree(composite / "state" / "d")
  for child in (composite / "state").glob("ocdbt.process_*"):
    shutil.rmtree(child)
  with pytest.raises(FileNotFoundError, match="Error opening"):
    ocp.load(composite)
  with pytest.raises(ocp.errors.InvalidLayoutError,
                     match=r"'nope'.*valid PyTree checkpointable names"):
    ocp.load(composite, checkpointable_name="nope")
  with pytest.raises(ValueError, match=r"\['k'\].*zero size.*\(0, 3\)"):
    ocp.save(tmp_path / "z", {"k": np.ones((0, 3))})


def test_indicator_without_metadata_is_not_loaded_as_v0(composite):
  # A V1 checkpoint that lost _CHECKPOINT_METADATA must not be mistaken for
  # a legacy V0 one.
  (composite / "_CHECKPOINT_METADATA").unlink()
  assert ocp.is_orbax_checkpoint(composite)  # still a valid V0 directory
  with pytest.raises(ocp.errors.InvalidLayoutError, match="indicator"):
    ocp.load_checkpointables(composite)


def test_error_hierarchy_matches_orbax():
  assert issubclass(ocp.errors.InvalidLayoutError, ValueError)
  assert issubclass(ocp.errors.DeletionInProgressError, RuntimeError)
  assert issubclass(ocp.errors.DeletionRecoveryError, RuntimeError)
  assert issubclass(ocp.handlers.NoEntryError, KeyError)
  assert issubclass(ocp.handlers.AlreadyExistsError, ValueError)
  for name in ("InvalidLayoutError", "DeletionInProgressError",
               "DeletionRecoveryError"):
    assert getattr(orbax_v1.errors, name).__mro__[1] is getattr(
        ocp.errors, name).__mro__[1]


def test_load_checkpointables_names_the_failing_checkpointable(lib, composite):
  shutil.rmtree(composite / "state" / "d")
  for child in (composite / "state").glob("ocdbt.process_*"):
    shutil.rmtree(child)
  with pytest.raises(KeyError, match="Failed to load checkpointable: state"):
    lib.load_checkpointables(composite)
  if lib is ocp:  # the cause stays attached, with ocpx's message
    with pytest.raises(ocp.handlers.NoEntryError) as info:
      ocp.load_checkpointables(composite)
    assert isinstance(info.value.__cause__, FileNotFoundError)
    assert "Error opening" in str(info.value)


def test_corrupt_pytree_metadata_in_load_checkpointables(lib, composite):
  (composite / "state" / "_METADATA").write_text("{not json")
  with pytest.raises(KeyError, match="Failed to load checkpointable: state"):
    lib.load_checkpointables(composite)
  with pytest.raises(ValueError):  # `load` keeps the underlying error
    lib.load(composite, checkpointable_name="state")


def test_pytree_without_metadata_only_recovered_by_auto_load(lib, composite):
  (composite / "state" / "_METADATA").unlink()
  with pytest.raises(KeyError, match="Failed to load checkpointable: state"):
    lib.load_checkpointables(composite, {"state": None})
  with pytest.raises(_invalid_layout(lib)):
    lib.load(composite, checkpointable_name="state")
  if lib is ocp:  # ocpx's recovery: the default name rebuilds the tree
    shutil.rmtree(composite / "extra")  # AUTO prefers PyTrees with metadata
    np.testing.assert_array_equal(ocp.load(composite)["a"], np.arange(4))


def test_abstract_tree_mismatch_and_unsupported_leaf_wording(lib, tmp_path):
  lib.save(tmp_path / "c", {"a": np.arange(2), "b": np.arange(3)})
  for abstract in ({"a": np.zeros(2, np.int64)},
                   {"a": np.zeros(2, np.int64), "b": np.zeros(3, np.int64),
                    "z": np.zeros(1)}):
    with pytest.raises(ValueError, match="User-provided restore item"):
      lib.load(tmp_path / "c", abstract)
  with pytest.raises(ValueError, match="Unsupported leaf type for saving"):
    lib.save(tmp_path / "d", {"k": object()})


def test_unsupported_leaf_lists_the_supported_types_as_orbax_does(tmp_path):
  """Orbax's own tests match the list of supported leaf types exactly."""

  class Opaque:
    pass

  messages = {}
  for name, lib in LIBS.items():
    with pytest.raises(ValueError) as e:
      lib.save(tmp_path / name, {"k": Opaque()})
    messages[name] = str(e.value)
  listed = {re.search(r"Supported leaf types are: (.+?)\.(?: |$)", m).group(1)
            for m in messages.values()}
  assert len(listed) == 1, messages
  assert "ndarray | " in listed.pop(), messages
  assert all(m.startswith(f"Unsupported leaf type for saving: `{Opaque}`.")
             for m in messages.values()), messages
