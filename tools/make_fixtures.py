# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Generates the Orbax-written checkpoints the tests read, with the pinned
orbax-checkpoint (see requirements-dev.txt).

    .venv/bin/python tools/make_fixtures.py OUT_DIR

writes `OUT_DIR/v0_checkpoints/<kind>/<group>/<case>/`, where

  kind   direct_checkpoint (a `StandardCheckpointer` PyTree at the root) or
         composite_checkpoint (`CompositeCheckpointHandler` with a PyTree
         `state` and a JSON `metadata` item);
  group  checkpoint_metadata_present / checkpoint_metadata_missing (with or
         without `_CHECKPOINT_METADATA`), each with the cases
         pytree_checkpointable_has_metadata / ..._missing_metadata (with or
         without the PyTree's `_METADATA`);
         non_critical_metadata_alterations: one `_CHECKPOINT_METADATA`
         member, the PyTree's `array_metadatas/` or its `_sharding` removed
         (all still load);
         critical_metadata_alterations: the PyTree's `d/` or
         `manifest.ocdbt` removed (loading fails).

Every checkpoint holds the tree {"a": arange(8) int32, "b": {"c": [1, 2, 3]
int32}} as jax.Arrays and the custom metadata {"custom": "meta"}.  The tests
use these when the shared fixture directory is absent
(`tests/conftest.py`); `generate()` is also importable.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import sys

TREE_NOTE = "{'a': arange(8, int32), 'b': {'c': [1, 2, 3] int32}}"
CUSTOM_METADATA = {"custom": "meta"}
STEP_METADATA_MEMBERS = ("commit_timestamp_nsecs", "custom_metadata",
                         "init_timestamp_nsecs", "item_handlers", "metrics",
                         "performance_metrics")


def _tree():
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  return {"a": jnp.arange(8, dtype=jnp.int32),
          "b": {"c": jnp.asarray([1, 2, 3], dtype=jnp.int32)}}


def _save_direct(path: pathlib.Path) -> None:
  import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
  with ocp.StandardCheckpointer() as ckptr:
    ckptr.save(path, _tree(), custom_metadata=CUSTOM_METADATA)
    ckptr.wait_until_finished()


def _save_composite(path: pathlib.Path) -> None:
  import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
  with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as ckptr:
    ckptr.save(path,
               ocp.args.Composite(
                   state=ocp.args.PyTreeSave(_tree()),
                   metadata=ocp.args.JsonSave({"metadata": "json_data"})),
               custom_metadata=CUSTOM_METADATA)


def _remove(path: pathlib.Path) -> None:
  if path.is_dir():
    shutil.rmtree(path)
  else:
    path.unlink()


def _variant(base: pathlib.Path, dest: pathlib.Path, pytree: str,
             remove: tuple[str, ...] = (),
             drop_step_member: str | None = None) -> None:
  """Copies `base` to `dest`, then removes the named parts.

  `remove` holds paths relative to the PyTree directory (`pytree`, "" for
  the checkpoint root), except `_CHECKPOINT_METADATA`, which is at the root.
  """
  shutil.copytree(base, dest)
  for name in remove:
    target = (dest / name if name == "_CHECKPOINT_METADATA"
              else dest / pytree / name)
    _remove(target)
  if drop_step_member is not None:
    meta_file = dest / "_CHECKPOINT_METADATA"
    meta = json.loads(meta_file.read_text())
    del meta[drop_step_member]
    meta_file.write_text(json.dumps(meta))


def generate(out: pathlib.Path) -> pathlib.Path:
  """Writes the fixtures under `out`; returns `out / "v0_checkpoints"`.

  Example:

      root = generate(pathlib.Path("/tmp/fixtures"))
      ocpx.v1.load(root / "direct_checkpoint" /
                   "checkpoint_metadata_present" /
                   "pytree_checkpointable_has_metadata")
  """
  root = pathlib.Path(out) / "v0_checkpoints"
  if root.exists():
    raise FileExistsError(f"{root} exists; choose an empty directory")
  scratch = pathlib.Path(out) / ".bases"
  scratch.mkdir(parents=True, exist_ok=True)
  for kind, save, pytree in (("direct_checkpoint", _save_direct, ""),
                             ("composite_checkpoint", _save_composite,
                              "state")):
    base = scratch / kind
    save(base)
    k = root / kind
    for group, step_removed in (("checkpoint_metadata_present", ()),
                                ("checkpoint_metadata_missing",
                                 ("_CHECKPOINT_METADATA",))):
      _variant(base, k / group / "pytree_checkpointable_has_metadata",
               pytree, step_removed)
      _variant(base, k / group / "pytree_checkpointable_missing_metadata",
               pytree, step_removed + ("_METADATA",))
    for member in STEP_METADATA_MEMBERS:
      _variant(base, k / "non_critical_metadata_alterations" /
               f"missing_{member}_metadata", pytree,
               drop_step_member=member)
    _variant(base, k / "non_critical_metadata_alterations" /
             "missing_pytree_data_dir_array_metadatas", pytree,
             ("array_metadatas",))
    _variant(base, k / "non_critical_metadata_alterations" /
             "missing_pytree_data_file__sharding", pytree, ("_sharding",))
    _variant(base, k / "critical_metadata_alterations" /
             "missing_pytree_data_dir_d", pytree, ("d",))
    _variant(base, k / "critical_metadata_alterations" /
             "missing_pytree_data_file_manifest.ocdbt", pytree,
             ("manifest.ocdbt",))
  shutil.rmtree(scratch)
  return root


def main(argv: list[str]) -> int:
  if len(argv) != 2:
    print(__doc__, file=sys.stderr)
    return 2
  print(generate(pathlib.Path(argv[1])))
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv))
