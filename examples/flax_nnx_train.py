# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Flax NNX + optax training with `ocpx.CheckpointManager`; resumes on rerun.

    .venv/bin/python examples/flax_nnx_train.py --dir /tmp/nnx --steps 30

The model and optimizer state are split with `nnx.split`, saved as one
PyTree (`ocp.args.StandardSave`), and restored into the abstract state of a
freshly built model, exactly as with `orbax.checkpoint`.  The manager keeps
the 2 latest steps plus the best one by loss.
"""

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import ocpx as ocp


class MLP(nnx.Module):

  def __init__(self, rngs: nnx.Rngs):
    self.l1 = nnx.Linear(8, 32, rngs=rngs)
    self.l2 = nnx.Linear(32, 1, rngs=rngs)

  def __call__(self, x):
    return self.l2(nnx.relu(self.l1(x)))


def make():
  model = MLP(nnx.Rngs(0))
  optimizer = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)
  return model, optimizer


@nnx.jit
def train_step(model, optimizer, x, y):
  def loss_fn(m):
    return jnp.mean((m(x) - y) ** 2)
  loss, grads = nnx.value_and_grad(loss_fn)(model)
  optimizer.update(model, grads)
  return loss


def main():
  ap = argparse.ArgumentParser()
  ap.add_argument("--dir", required=True)
  ap.add_argument("--steps", type=int, default=30)
  args = ap.parse_args()

  model, optimizer = make()
  options = ocp.CheckpointManagerOptions(
      save_interval_steps=10, max_to_keep=2,
      best_fn=lambda m: m["loss"], best_mode="min")
  with ocp.CheckpointManager(args.dir, options=options) as mngr:
    start = 0
    if mngr.latest_step() is not None:
      start = mngr.latest_step()
      _, abstract_state = nnx.split((model, optimizer))
      abstract_state = jax.tree.map(
          lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), abstract_state)
      state = mngr.restore(start,
                           args=ocp.args.StandardRestore(abstract_state))
      nnx.update((model, optimizer), state)
      print(f"resumed at step {start}")

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((128, 8)), jnp.float32)
    y = jnp.sum(x, axis=1, keepdims=True)
    for step in range(start + 1, start + args.steps + 1):
      loss = train_step(model, optimizer, x, y)
      _, state = nnx.split((model, optimizer))
      if mngr.save(step, args=ocp.args.StandardSave(state),
                   metrics={"loss": float(loss)}):
        print(f"step {step}: loss {float(loss):.4f}, saved")
    mngr.wait_until_finished()
    print("steps kept:", mngr.all_steps(), "best:", mngr.best_step())


if __name__ == "__main__":
  main()
