# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Writes the small checkpoints of tests/fixtures/old_orbax/<version>/.

They are written by older orbax-checkpoint releases, so that tests can check
that ocpx loads what users saved with them.  Run it with an interpreter that
has the old release installed, in a throwaway virtual environment (never the
project's), e.g. for 0.10.3:

    python3.11 -m venv /tmp/orbax-0.10.3
    /tmp/orbax-0.10.3/bin/pip install orbax-checkpoint==0.10.3 'jax[cpu]==0.4.37'
    /tmp/orbax-0.10.3/bin/python tools/make_old_orbax_fixtures.py \
        tests/fixtures/old_orbax

and for 0.11.5 the same with orbax-checkpoint==0.11.5 'jax[cpu]==0.5.0'.
The fixtures in the repository were made this way.  Each version directory
holds:

  pytree/          PyTreeCheckpointer: a flat v0 PyTree checkpoint
  standard/        StandardCheckpointer: the same tree without the string
  manager/<step>/  CheckpointManager steps with a PyTree item 'state' and a
                   JSON item 'meta', written through the legacy
                   `checkpointers=` API, which records no handler types
  manager_args/<step>/  the same through the `args=` API (handler types
                   recorded)
  expected.json    what each checkpoint holds, for the tests
"""

import json
import pathlib
import shutil
import sys

import jax
import numpy as np
import orbax.checkpoint as ocp


def _tree():
  return {
      "a": np.arange(8, dtype=np.int32),
      "b": {"c": np.asarray([1.5, 2.5, 3.5], dtype=np.float32), "i": 7,
            "f": 0.25},
      "j": jax.numpy.arange(6, dtype=jax.numpy.float32).reshape(2, 3),
      "s": "hello",
  }


def main(out_root: str) -> None:
  version = ocp.__version__ if hasattr(ocp, "__version__") else "unknown"
  out = pathlib.Path(out_root).absolute() / version
  if out.exists():
    shutil.rmtree(out)
  out.mkdir(parents=True)
  tree = _tree()

  ocp.PyTreeCheckpointer().save(out / "pytree", tree)
  ocp.StandardCheckpointer().save(
      out / "standard", {k: v for k, v in tree.items() if k != "s"})

  meta = {"epoch": 3, "note": "old orbax", "lr": [0.1, 0.01]}
  with ocp.CheckpointManager(
      out / "manager",
      checkpointers={
          "state": ocp.PyTreeCheckpointer(),
          "meta": ocp.Checkpointer(ocp.JsonCheckpointHandler()),
      }) as mngr:
    for step in (1, 2):
      mngr.save(step, {"state": tree, "meta": dict(meta, step=step)})
      mngr.wait_until_finished()

  with ocp.CheckpointManager(out / "manager_args",
                             item_names=("state", "meta")) as mngr:
    mngr.save(5, args=ocp.args.Composite(
        state=ocp.args.PyTreeSave(tree),
        meta=ocp.args.JsonSave(dict(meta, step=5))))
    mngr.wait_until_finished()

  expected = {
      "version": version,
      "tree": {
          "a": tree["a"].tolist(), "b": {"c": tree["b"]["c"].tolist(),
                                         "i": 7, "f": 0.25},
          "j": np.asarray(tree["j"]).tolist(), "s": "hello"},
      "meta": meta,
  }
  (out / "expected.json").write_text(json.dumps(expected, indent=1))
  # Drop files that only make the fixtures larger and are not checkpoints.
  for p in out.rglob("*.orbax-checkpoint-tmp-*"):
    shutil.rmtree(p, ignore_errors=True)
  print(f"wrote {out}")


if __name__ == "__main__":
  main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/old_orbax")
