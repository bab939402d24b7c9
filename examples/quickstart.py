# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Saves a JAX PyTree with ocpx and loads it back, checking every value.

    .venv/bin/python examples/quickstart.py [DIRECTORY]
"""

import sys
import tempfile

import jax
import jax.numpy as jnp
import numpy as np

from ocpx import v1 as ocp


def main(directory: str) -> None:
  state = {
      "params": {
          "w": jnp.arange(64 * 16, dtype=jnp.float32).reshape(64, 16),
          "b": jnp.zeros(16, dtype=jnp.bfloat16),
      },
      "opt": [jnp.ones(4), np.arange(5, dtype=np.int8)],
      "step": 100,
      "name": "quickstart",
  }
  path = f"{directory}/ckpt_100"
  ocp.save(path, state)
  print(f"saved to {path}: is_orbax_checkpoint={ocp.is_orbax_checkpoint(path)}")

  abstract = jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype)
      if isinstance(x, jax.Array) else x, state)
  restored = ocp.load(path, abstract)
  for (kp, want), got in zip(jax.tree_util.tree_flatten_with_path(state)[0],
                             jax.tree.leaves(restored)):
    assert type(got) is type(want) or isinstance(got, jax.Array), (kp, got)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
  meta = ocp.metadata(path)
  print("leaves:", jax.tree.map(
      lambda m: getattr(m, "shape", m), meta.metadata))
  print("quickstart: save/load round trip OK")


if __name__ == "__main__":
  if len(sys.argv) > 1:
    main(sys.argv[1])
  else:
    with tempfile.TemporaryDirectory() as d:
      main(d)
