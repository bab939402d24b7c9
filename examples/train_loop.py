# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""A small JAX training loop that checkpoints asynchronously and resumes.

    .venv/bin/python examples/train_loop.py --dir /tmp/run --steps 30

Run it twice: the second run resumes from the newest committed checkpoint.
An `ocpx.CheckpointManager` (Orbax's API: `import ocpx as ocp` instead of
`import orbax.checkpoint as ocp`) decides when to save, writes in the
background while training continues, keeps the last 3 steps and records the
loss as the step's metrics.
"""

import argparse
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

import ocpx as ocp


def init_state(key):
  k1, k2 = jax.random.split(key)
  return {
      "params": {"w": jax.random.normal(k1, (16, 4)) * 0.1,
                 "b": jnp.zeros(4)},
      "opt": {"momentum": {"w": jnp.zeros((16, 4)), "b": jnp.zeros(4)}},
      "step": 0,
  }


@jax.jit
def train_step(state, x, y):
  def loss_fn(p):
    return jnp.mean((x @ p["w"] + p["b"] - y) ** 2)
  loss, grads = jax.value_and_grad(loss_fn)(state["params"])
  mom = jax.tree.map(lambda m, g: 0.9 * m + g, state["opt"]["momentum"], grads)
  params = jax.tree.map(lambda p, m: p - 0.05 * m, state["params"], mom)
  return {"params": params, "opt": {"momentum": mom},
          "step": state["step"] + 1}, loss


def main():
  ap = argparse.ArgumentParser()
  ap.add_argument("--dir", required=True)
  ap.add_argument("--steps", type=int, default=30)
  ap.add_argument("--every", type=int, default=10)
  args = ap.parse_args()
  root = pathlib.Path(args.dir)
  root.mkdir(parents=True, exist_ok=True)

  options = ocp.CheckpointManagerOptions(save_interval_steps=args.every,
                                         max_to_keep=3)
  with ocp.CheckpointManager(root, options=options) as mngr:
    state = init_state(jax.random.key(0))
    if mngr.latest_step() is not None:
      abstract = jax.tree.map(
          lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype)
          if isinstance(x, jax.Array) else x, state)
      state = mngr.restore(mngr.latest_step(),
                           args=ocp.args.StandardRestore(abstract))
      print(f"resumed from {root / str(mngr.latest_step())} at step "
            f"{int(state['step'])}")

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((64, 16)), jnp.float32)
    y = jnp.asarray(rng.standard_normal((64, 4)), jnp.float32)
    start = int(state["step"])
    for _ in range(start, start + args.steps):
      state, loss = train_step(state, x, y)
      step = int(state["step"])
      if mngr.save(step, args=ocp.args.StandardSave(dict(state, step=step)),
                   metrics={"loss": float(loss)}):
        print(f"step {step}: loss {float(loss):.4f}, checkpoint started")
    mngr.wait_until_finished()
    print("latest:", mngr.latest_step())


if __name__ == "__main__":
  main()
