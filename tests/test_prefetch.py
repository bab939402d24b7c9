# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""A load first warms the page cache for the checkpoint (`path.prefetch`).

The prefetch reads the checkpoint's small files from native I/O threads
while the load starts; it must be bounded, must never block on or follow
what a hostile directory holds, and must not change what is loaded.
"""

import os

import numpy as np

from ocpx import _core
from ocpx import v1 as ocp
from ocpx._src import path as path_lib


def _save(tmp_path):
  tree = {"a": np.arange(1024, dtype=np.float32), "b": {"c": np.ones(3)}}
  ocp.save(tmp_path / "ckpt", tree)
  return tmp_path / "ckpt", tree


def test_prefetch_reads_every_small_file_of_a_checkpoint(tmp_path):
  root, _ = _save(tmp_path)
  files = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
  dirs = [d for d, _, _ in os.walk(root)]
  n_dirs, n_files, n_bytes = _core.prefetch_tree(str(root), wait=True)
  assert (n_dirs, n_files) == (len(dirs), len(files))
  assert n_bytes == sum(min(os.path.getsize(f), 64 << 10) for f in files)


def test_prefetch_is_bounded_and_skips_fifos_and_links(tmp_path):
  big = tmp_path / "big"
  big.mkdir()
  (big / "large").write_bytes(b"x" * (1 << 20))  # only its tail is read
  os.mkfifo(big / "fifo")  # opening it for reading would block
  os.symlink("/", big / "root_link")  # not followed
  for i in range(1500):  # more entries than one prefetch visits
    (big / f"f{i}").write_bytes(b"y")
  n_dirs, n_files, n_bytes = _core.prefetch_tree(str(big), wait=True)
  assert n_dirs == 1
  assert n_files <= 1024
  assert n_bytes <= (64 << 10) + n_files


def test_prefetch_of_a_missing_path_does_nothing(tmp_path):
  assert _core.prefetch_tree(str(tmp_path / "none"), wait=True) == (0, 0, 0)
  assert _core.prefetch_tree(str(tmp_path / "none")) is None


def test_load_prefetches_the_checkpoint_and_loads_the_same(tmp_path,
                                                           monkeypatch):
  root, tree = _save(tmp_path)
  os.mkfifo(root / "fifo_left_by_someone")
  seen = []
  real = path_lib.prefetch
  monkeypatch.setattr(path_lib, "prefetch",
                      lambda p: (seen.append(p), real(p))[1])
  loaded = ocp.load(root)
  assert seen == [root.absolute()]
  np.testing.assert_array_equal(loaded["a"], tree["a"])
  np.testing.assert_array_equal(loaded["b"]["c"], tree["b"]["c"])
  seen.clear()
  ocp.load_checkpointables(tmp_path / "ckpt")
  assert seen == [root.absolute()]
