# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""A save makes every file and directory durable before its commit rename.

Inside the temporary directory nothing is synced file by file (OCDBT commits
run with sync=False, metadata files are written in place); `fsync_tree`
syncs the whole tree in one concurrent batch right before the rename.
"""

import os
import pathlib

import jax.numpy as jnp
import numpy as np

from ocpx import _core
from ocpx import v1 as ocp
from ocpx._src import path as path_lib


def _record_fsyncs(monkeypatch):
  events = []
  real_fsync, real_rename = os.fsync, os.rename

  def fsync(fd):
    events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
    return real_fsync(fd)

  def rename(a, b, *args, **kwargs):
    events.append(("rename", os.fspath(a), os.fspath(b)))
    return real_rename(a, b, *args, **kwargs)

  real_sync_tree = _core.sync_tree

  def sync_tree(root):  # the native batch: it returns what it synced
    synced, method = real_sync_tree(root)
    assert method in ("syncfs", "fsync")
    events.extend(("fsync", p) for p in synced)
    return synced, method

  monkeypatch.setattr(os, "fsync", fsync)
  monkeypatch.setattr(os, "rename", rename)
  monkeypatch.setattr(_core, "sync_tree", sync_tree)
  return events


def test_every_file_and_directory_synced_before_commit(tmp_path, monkeypatch):
  tree = {"a": jnp.arange(4096, dtype=jnp.float32),
          "b": {"c": np.ones((3, 5), np.int32), "d": 7}}
  events = _record_fsyncs(monkeypatch)
  final = tmp_path / "ck"
  ocp.save(final, tree)
  tmp = str(path_lib.tmp_path_for(final))
  commit = [i for i, e in enumerate(events)
            if e[0] == "rename" and e[1] == tmp and e[2] == str(final)]
  assert len(commit) == 1, events
  synced = {e[1] for e in events[:commit[0]] if e[0] == "fsync"}
  expected = set()
  for root, _, files in os.walk(final):
    rel = os.path.relpath(root, final)
    base = tmp if rel == "." else os.path.join(tmp, rel)
    expected.add(base)
    expected.update(os.path.join(base, f) for f in files)
  missing = sorted(expected - synced)
  assert not missing, missing
  # ... and the parent after the rename.
  assert ("fsync", str(tmp_path)) in events[commit[0]:]
  got = ocp.load(final)
  np.testing.assert_array_equal(got["a"], tree["a"])
  np.testing.assert_array_equal(got["b"]["c"], tree["b"]["c"])


def test_durable_write_outside_a_save_is_atomic_and_synced(tmp_path,
                                                           monkeypatch):
  events = _record_fsyncs(monkeypatch)
  target = tmp_path / "f.json"
  path_lib.write_file_durably(target, "{}")
  assert target.read_text() == "{}"
  assert any(e[0] == "fsync" for e in events)
  assert not path_lib.inside_tmp_checkpoint(target)
  inside = pathlib.Path(str(tmp_path / "x") + path_lib.TMP_SUFFIX) / "s" / "m"
  assert path_lib.inside_tmp_checkpoint(inside)
  assert path_lib.inside_tmp_checkpoint(inside.parent.parent)
