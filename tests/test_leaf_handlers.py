# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""`leaf_handlers.select`: which handler builds a saved leaf, given the
abstract leaf the caller passed (Orbax's rules), without reading data."""

import types

import jax
import numpy as np
import pytest

from ocpx._src import engine
from ocpx._src import tree as tree_lib
from ocpx._src.handlers import leaf_handlers as lh

_SAVED_SHARDING = jax.sharding.SingleDeviceSharding(jax.devices()[0])


class _Reads:
  """The loader's side of the protocol, as far as `select` uses it."""

  global_mesh = None
  ctx = types.SimpleNamespace(array_options=types.SimpleNamespace(
      loading=types.SimpleNamespace(enable_padding_and_truncation=False)))

  def where(self, saved):
    return f"/ckpt: leaf {saved.param_name!r}"

  def default_sharding(self, saved):
    del saved
    return _SAVED_SHARDING


def _saved(value_type):
  return tree_lib.LeafMetadata(("x",), (tree_lib.DICT_KEY,), value_type)


_INFO = engine.ArrayInfo((4, 2), np.dtype(np.uint32), (4, 2))


def test_as_saved_without_an_abstract_leaf():
  h = lh.select(_Reads(), _saved(tree_lib.JAX_ARRAY), _INFO, None)
  assert h == lh.JaxArrayLeaf((4, 2), np.dtype(np.uint32), _SAVED_SHARDING)
  h = lh.select(_Reads(), _saved(tree_lib.NP_ARRAY), _INFO, None)
  assert h == lh.NumpyArrayLeaf((4, 2), np.dtype(np.uint32))
  assert lh.select(_Reads(), _saved(tree_lib.SCALAR), _INFO, None) == (
      lh.ScalarLeaf())
  # A recorded PRNG implementation wraps the key data.
  h = lh.select(_Reads(), _saved(tree_lib.JAX_ARRAY), _INFO, None,
                key_impl="threefry2x32")
  assert isinstance(h, lh.PrngKeyLeaf) and h.impl == "threefry2x32"


def test_abstract_types_and_values():
  saved = _saved(tree_lib.JAX_ARRAY)
  assert lh.select(_Reads(), saved, _INFO, int) == lh.ScalarLeaf(int)
  assert lh.select(_Reads(), saved, _INFO, np.float32(0)) == (
      lh.ScalarLeaf(np.float32))
  assert isinstance(lh.select(_Reads(), saved, _INFO, np.ndarray),
                    lh.NumpyArrayLeaf)
  # A numpy abstract leaf takes its dtype, never its shape (as Orbax).
  h = lh.select(_Reads(), saved, _INFO, np.zeros((1,), np.float16))
  assert h == lh.NumpyArrayLeaf((4, 2), np.dtype(np.float16))
  with pytest.raises(ValueError, match="requested as a string"):
    lh.select(_Reads(), saved, _INFO, str)
  with pytest.raises(TypeError, match="unsupported abstract leaf"):
    lh.select(_Reads(), saved, _INFO, object())


def test_abstract_prng_key_loads_its_key_data():
  key = jax.random.key(0)
  abstract = jax.ShapeDtypeStruct((4,), key.dtype, sharding=_SAVED_SHARDING)
  h = lh.select(_Reads(), _saved(tree_lib.JAX_ARRAY), _INFO, abstract,
                key_impl="threefry2x32")
  assert isinstance(h, lh.PrngKeyLeaf)
  assert h.data.shape == (4, 2)  # threefry keys are two uint32 words
  with pytest.raises(ValueError, match="saved as a rbg PRNG key"):
    lh.select(_Reads(), _saved(tree_lib.JAX_ARRAY), _INFO, abstract,
              key_impl="rbg")


def test_leaf_kind_of_saved_values():
  assert lh.leaf_kind(jax.numpy.zeros(2)) == tree_lib.JAX_ARRAY
  assert lh.leaf_kind(np.zeros(2)) == tree_lib.NP_ARRAY
  assert lh.leaf_kind(True) == tree_lib.SCALAR
  assert lh.leaf_kind("s") == tree_lib.STRING
  assert lh.leaf_kind(object()) is None
