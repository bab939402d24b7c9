# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""A small JAX training loop that checkpoints asynchronously and resumes.

    .venv/bin/python examples/train_loop.py --dir /tmp/run --steps 30

Run it twice: the second run resumes from the newest committed checkpoint.
Checkpoints are written with `ocpx.save_async` while training continues;
the previous save is awaited before the next one starts.
"""

import argparse
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

from ocpx import v1 as ocp


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


def latest_checkpoint(root: pathlib.Path):
  steps = [int(p.name) for p in root.glob("[0-9]*")
           if p.name.isdigit() and ocp.is_orbax_checkpoint(p)]
  return root / str(max(steps)) if steps else None


def main():
  ap = argparse.ArgumentParser()
  ap.add_argument("--dir", required=True)
  ap.add_argument("--steps", type=int, default=30)
  ap.add_argument("--every", type=int, default=10)
  args = ap.parse_args()
  root = pathlib.Path(args.dir)
  root.mkdir(parents=True, exist_ok=True)

  state = init_state(jax.random.key(0))
  ckpt = latest_checkpoint(root)
  if ckpt is not None:
    abstract = jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype)
        if isinstance(x, jax.Array) else x, state)
    state = ocp.load(ckpt, abstract)
    print(f"resumed from {ckpt} at step {state['step']}")

  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.standard_normal((64, 16)), jnp.float32)
  y = jnp.asarray(rng.standard_normal((64, 4)), jnp.float32)
  pending = None
  start = int(state["step"])
  for _ in range(start, start + args.steps):
    state, loss = train_step(state, x, y)
    step = int(state["step"])
    if step % args.every == 0:
      if pending is not None:
        pending.result()  # one save in flight at a time
      host_state = dict(state, step=step)
      pending = ocp.save_async(root / str(step), host_state,
                               custom_metadata={"loss": float(loss)})
      print(f"step {step}: loss {float(loss):.4f}, checkpoint started")
  if pending is not None:
    pending.result()
  print("latest:", latest_checkpoint(root))


if __name__ == "__main__":
  main()
