# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""A Flax NNX model with RNG streams and Dropout, and its AdamW optimizer,
round-trip through ocpx, and between ocpx and orbax-checkpoint 0.12.8."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ocpx import v1 as ocp

nnx = pytest.importorskip("flax.nnx")
optax = pytest.importorskip("optax")
orbax_v1 = pytest.importorskip("orbax.checkpoint.experimental.v1")


class _Mlp(nnx.Module):

  def __init__(self, rngs):
    self.hidden = nnx.Linear(4, 8, rngs=rngs)
    self.dropout = nnx.Dropout(0.5, rngs=rngs)
    self.out = nnx.Linear(8, 2, rngs=rngs)

  def __call__(self, x):
    return self.out(self.dropout(nnx.relu(self.hidden(x))))


def _make(seed):
  model = _Mlp(nnx.Rngs(seed, dropout=seed + 1))
  return model, nnx.Optimizer(model, optax.adamw(1e-2), wrt=nnx.Param)


def _trained():
  model, opt = _make(0)
  x = jnp.linspace(-1, 1, 12).reshape(3, 4)
  for _ in range(2):  # advances the step count, moments and dropout keys
    grads = nnx.grad(lambda m: (m(x) ** 2).mean())(model)
    opt.update(model, grads)
  return model, opt


def _abstract_state():
  return nnx.state(nnx.eval_shape(lambda: _make(7)))


def _assert_same_state(got, want):
  got_leaves = jax.tree.leaves(got)
  want_leaves = jax.tree.leaves(want)
  assert jax.tree.structure(got) == jax.tree.structure(want)
  typed_keys = 0
  for g, w in zip(got_leaves, want_leaves):
    assert g.dtype == w.dtype and g.shape == w.shape
    if jax.dtypes.issubdtype(w.dtype, jax.dtypes.prng_key):
      typed_keys += 1
      g, w = jax.random.key_data(g), jax.random.key_data(w)
    np.testing.assert_array_equal(np.asarray(g), np.asarray(w))
  assert typed_keys >= 1  # the RNG stream keys (key<fry>)


def _restore_into_fresh_model(state):
  model, opt = _make(7)
  nnx.update((model, opt), state)
  return model, opt


def _check_restored(state, model, opt):
  restored_model, restored_opt = _restore_into_fresh_model(state)
  x = jnp.ones((2, 4))
  model.eval()
  restored_model.eval()
  np.testing.assert_array_equal(restored_model(x), model(x))
  assert int(restored_opt.step.value) == int(opt.step.value) == 2
  # The restored dropout stream continues exactly where the saved one was.
  model.train()
  restored_model.train()
  np.testing.assert_array_equal(restored_model(x), model(x))


def test_nnx_model_and_optimizer_round_trip(tmp_path):
  model, opt = _trained()
  state = nnx.state((model, opt))
  ocp.save(tmp_path / "c", state)
  loaded = ocp.load(tmp_path / "c", _abstract_state())
  _assert_same_state(loaded, state)
  _check_restored(loaded, model, opt)


def test_nnx_checkpoint_from_orbax_loads_in_ocpx(tmp_path):
  model, opt = _trained()
  state = nnx.state((model, opt))
  orbax_v1.save(tmp_path / "c", state)
  loaded = ocp.load(tmp_path / "c", _abstract_state())
  _assert_same_state(loaded, state)
  _check_restored(loaded, model, opt)


def test_nnx_checkpoint_from_ocpx_loads_in_orbax(tmp_path):
  model, opt = _trained()
  state = nnx.state((model, opt))
  ocp.save(tmp_path / "c", state)
  loaded = orbax_v1.load(tmp_path / "c", _abstract_state())
  _assert_same_state(loaded, state)
  _check_restored(loaded, model, opt)
