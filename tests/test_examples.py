# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The Python examples run and do what they say."""

import os
import pathlib
import subprocess

import pytest
import sys

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def _run(*args):
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  return subprocess.run([sys.executable, *map(str, args)], env=env,
                        capture_output=True, text=True, timeout=300)


def test_quickstart(tmp_path):
  r = _run(EXAMPLES / "quickstart.py", tmp_path)
  assert r.returncode == 0, r.stderr[-3000:]
  assert "round trip OK" in r.stdout
  assert (tmp_path / "ckpt_100" / "state" / "_METADATA").exists()


def test_train_loop_checkpoints_and_resumes(tmp_path):
  r = _run(EXAMPLES / "train_loop.py", "--dir", tmp_path, "--steps", "20")
  assert r.returncode == 0, r.stderr[-3000:]
  # Orbax's default policies also save the first step (InitialSavePolicy).
  assert sorted(p.name for p in tmp_path.iterdir()) == ["1", "10", "20"]
  r = _run(EXAMPLES / "train_loop.py", "--dir", tmp_path, "--steps", "10")
  assert r.returncode == 0, r.stderr[-3000:]
  assert "resumed from" in r.stdout and "at step 20" in r.stdout
  assert (tmp_path / "30").is_dir()
  # max_to_keep=3, applied once step 30 committed.
  assert sorted(p.name for p in tmp_path.iterdir()) == ["10", "20", "30"]


def test_flax_nnx_example_checkpoints_and_resumes(tmp_path):
  pytest.importorskip("flax.nnx")
  r = _run(EXAMPLES / "flax_nnx_train.py", "--dir", tmp_path, "--steps", "20")
  assert r.returncode == 0, r.stderr[-3000:]
  assert "steps kept: [10, 20]" in r.stdout
  r = _run(EXAMPLES / "flax_nnx_train.py", "--dir", tmp_path, "--steps", "10")
  assert r.returncode == 0, r.stderr[-3000:]
  assert "resumed at step 20" in r.stdout
  first_loss = float(r.stdout.split("step 30: loss ")[1].split(",")[0])
  assert first_loss < 1.0  # training continued from the restored state
  assert sorted(p.name for p in tmp_path.iterdir()) == ["20", "30"]
