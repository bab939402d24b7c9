# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The metadata files a save writes are the JSON documents Orbax writes, in
`json.dumps`' formatting, though ocpx makes their text entry by entry."""

import json

import jax
import jax.numpy as jnp
import numpy as np

import ocpx
from ocpx._src import tree as tree_lib
from ocpx._src.handlers import pytree_files


def _tree():
  return {
      "params": {"w\"é": jnp.ones((2, 3)), "layers": [jnp.zeros(4), 3.5]},
      "empty": {},
      "none": None,
      "key": jax.random.key(0),
      "np": np.arange(5),
      "step": 7,
  }


def test_metadata_files_are_json_dumps_documents(tmp_path):
  ocpx.save(tmp_path / "c", _tree(), custom_metadata={"run": ["ü", 1]})
  state = tmp_path / "c" / "state"
  for name in ("_METADATA", "array_metadatas/process_0"):
    text = (state / name).read_text()
    doc = json.loads(text)
    assert json.dumps(doc) == text, name  # json.dumps' own formatting
  meta = json.loads((state / "_METADATA").read_text())
  keys = list(meta["tree_metadata"])
  assert "('params', 'w\"é')" in keys and "('empty',)" in keys
  assert meta["tree_metadata"]["('params', 'layers', '1')"] == {
      "key_metadata": [{"key": "params", "key_type": 2},
                       {"key": "layers", "key_type": 2},
                       {"key": "1", "key_type": 1}],
      "value_metadata": {"value_type": "scalar", "skip_deserialize": False}}
  assert list(meta)[-4:] == ["use_ocdbt", "use_zarr3",
                             "store_array_data_equal_to_fill_value",
                             "custom_metadata"]
  impls = [e["array_metadata"]["ext_metadata"]
           for e in json.loads((state / "array_metadatas/process_0")
                               .read_text())["array_metadatas"]]
  assert {"random_key_impl": "threefry2x32"} in impls and None in impls
  got = ocpx.load(tmp_path / "c")
  np.testing.assert_array_equal(got["params"]["w\"é"], np.ones((2, 3)))


def test_repeated_leaf_name_keeps_first_place_and_last_value():
  # As a dict would: the entry stays where it first appeared.
  leaves = [tree_lib.LeafMetadata(("a",), (2,), "None", True),
            tree_lib.LeafMetadata(("b",), (2,), "scalar"),
            tree_lib.LeafMetadata(("a",), (2,), "Dict", True)]
  meta = tree_lib.TreeMetadata(
      leaves=leaves, use_ocdbt=True, use_zarr3=True,
      store_array_data_equal_to_fill_value=True, custom_metadata=None,
      value_metadata_tree='{"v": 1}')
  text = meta.to_json()
  doc = json.loads(text)
  assert json.dumps(doc) == text
  assert list(doc["tree_metadata"]) == ["('a',)", "('b',)"]
  assert doc["tree_metadata"]["('a',)"]["value_metadata"]["value_type"] == \
      "Dict"
  assert list(doc)[:2] == ["tree_metadata", "value_metadata_tree"]


def test_empty_documents():
  meta = tree_lib.TreeMetadata(
      leaves=[], use_ocdbt=False, use_zarr3=False,
      store_array_data_equal_to_fill_value=True, custom_metadata={})
  assert meta.to_json() == json.dumps({
      "tree_metadata": {}, "use_ocdbt": False, "use_zarr3": False,
      "store_array_data_equal_to_fill_value": True, "custom_metadata": {}})
  assert pytree_files.array_metadatas_json([]) == json.dumps(
      {"array_metadatas": []})
