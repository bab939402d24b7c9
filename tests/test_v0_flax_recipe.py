# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Flax's "Save and load checkpoints" guide (NNX), with `import ocpx as ocp`.

The code below is the guide's, unchanged except for the import line: a user
following the Flax documentation switches to ocpx by editing one import.
"""

import pytest

nnx = pytest.importorskip("flax.nnx")


def test_flax_nnx_checkpointing_guide(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  root = tmp_path / "my-checkpoints"

  # --- Setup -------------------------------------------------------------
  from flax import nnx  # pylint: disable=redefined-outer-name,g-import-not-at-top
  import ocpx as ocp  # the guide: import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top

  ckpt_dir = ocp.test_utils.erase_and_create_empty(str(root) + "/")

  class TwoLayerMLP(nnx.Module):

    def __init__(self, dim, rngs: nnx.Rngs):
      self.linear1 = nnx.Linear(dim, dim, rngs=rngs, use_bias=False)
      self.linear2 = nnx.Linear(dim, dim, rngs=rngs, use_bias=False)

    def __call__(self, x):
      x = self.linear1(x)
      return self.linear2(x)

  # Instantiate the model and show we can run it.
  model = TwoLayerMLP(4, rngs=nnx.Rngs(0))
  x = jax.random.normal(jax.random.key(42), (3, 4))
  assert model(x).shape == (3, 4)

  # --- Save checkpoints -------------------------------------------------------
  _, state = nnx.split(model)
  nnx.display(state)

  checkpointer = ocp.StandardCheckpointer()
  checkpointer.save(ckpt_dir / "state", state)

  # --- Restore checkpoints ------------------------------------------------------
  # Restore the checkpoint back to its `nnx.State` structure - need an
  # abstract reference.
  abstract_model = nnx.eval_shape(lambda: TwoLayerMLP(4, rngs=nnx.Rngs(0)))
  graphdef, abstract_state = nnx.split(abstract_model)
  print("The abstract NNX state (all leaves are abstract arrays):")
  nnx.display(abstract_state)

  state_restored = checkpointer.restore(ckpt_dir / "state", abstract_state)
  jax.tree.map(np.testing.assert_array_equal, state, state_restored)
  print("NNX State restored: ")
  nnx.display(state_restored)

  # The model is now good to use!
  model = nnx.merge(graphdef, state_restored)
  assert model(x).shape == (3, 4)

  # --- Save and restore as pure dictionaries --------------------------------
  # Save as pure dict
  pure_dict_state = nnx.to_pure_dict(state)
  nnx.display(pure_dict_state)
  checkpointer.save(ckpt_dir / "pure_dict", pure_dict_state)

  # Restore as a pure dictionary.
  restored_pure_dict = checkpointer.restore(ckpt_dir / "pure_dict")
  abstract_model = nnx.eval_shape(lambda: TwoLayerMLP(4, rngs=nnx.Rngs(0)))
  graphdef, abstract_state = nnx.split(abstract_model)
  nnx.replace_by_pure_dict(abstract_state, restored_pure_dict)
  model = nnx.merge(graphdef, abstract_state)
  assert model(x).shape == (3, 4)  # The model still works!

  # --- nnx.state variant: restore onto an existing model's state -------------
  model2 = TwoLayerMLP(4, rngs=nnx.Rngs(1))
  abstract_state2 = nnx.state(model2)
  restored2 = checkpointer.restore(ckpt_dir / "state", abstract_state2)
  nnx.update(model2, restored2)
  np.testing.assert_allclose(model2(x), model(x), rtol=1e-6)

  checkpointer.wait_until_finished()
  assert (ckpt_dir / "state" / "_CHECKPOINT_METADATA").exists()


def test_flax_checkpoint_readable_by_orbax(tmp_path):
  orbax = pytest.importorskip("orbax.checkpoint")
  from flax import nnx  # pylint: disable=redefined-outer-name,g-import-not-at-top
  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  import ocpx as ocp  # pylint: disable=g-import-not-at-top

  model = nnx.Linear(3, 2, rngs=nnx.Rngs(0))
  _, state = nnx.split(model)
  with ocp.StandardCheckpointer() as c:
    c.save(tmp_path / "s", state)
  _, abstract_state = nnx.split(nnx.eval_shape(
      lambda: nnx.Linear(3, 2, rngs=nnx.Rngs(0))))
  with orbax.StandardCheckpointer() as c:
    restored = c.restore(tmp_path / "s", abstract_state)
  jax.tree.map(np.testing.assert_array_equal, state, restored)
