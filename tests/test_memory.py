# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Memory bounds of saves (peak RSS via VmHWM in a fresh process) and the
async save pipeline (returns before I/O, copies, priorities, timeouts)."""

import json
import os
import subprocess
import sys
import textwrap
import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ocpx import v1 as ocp
from ocpx.v1 import options
from ocpx._src import engine
from ocpx._src import serialization

_MIB = 1 << 20

_SCRIPT = textwrap.dedent("""
    import gc, json, os, sys
    import numpy as np, jax, jax.numpy as jnp
    from ocpx import v1 as ocp
    from ocpx.v1 import options

    def status(field):
      for line in open("/proc/self/status"):
        if line.startswith(field):
          return int(line.split()[1]) * 1024
    n_leaves, leaf_mib, limit, mode, path = sys.argv[1:]
    n_leaves, leaf_mib = int(n_leaves), int(leaf_mib)
    limit = None if limit == "none" else int(limit)
    rng = np.random.default_rng(0)
    tree = {}
    for i in range(n_leaves):
      host = rng.standard_normal(leaf_mib << 18, dtype=np.float32)
      tree[f"w{i}"] = jnp.asarray(host)
      del host
    jax.block_until_ready(tree)
    # Warm up imports, thread pools and codecs on a tiny save.
    ocp.save(path + "_warm", {"x": jnp.ones(1024)})
    gc.collect()
    base = status("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
      f.write("5")  # resets VmHWM to the current RSS
    ctx = ocp.Context(memory_options=options.MemoryOptions(
        write_concurrent_bytes=limit))
    with ctx:
      if mode == "async":
        ocp.save_async(path, tree).result()
      else:
        ocp.save(path, tree)
    peak = status("VmHWM")
    print(json.dumps({"above": peak - base, "tree": n_leaves * leaf_mib << 20}))
""")


def _peak_above_baseline(tmp_path, n_leaves, leaf_mib, limit, mode="sync"):
  env = dict(os.environ)
  env.pop("XLA_FLAGS", None)  # one device: arrays are plain host buffers
  out = subprocess.run(
      [sys.executable, "-c", _SCRIPT, str(n_leaves), str(leaf_mib),
       "none" if limit is None else str(limit), mode, str(tmp_path / "ck")],
      capture_output=True, text=True, env=env, timeout=600, check=True)
  return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_peak_rss_without_limits(tmp_path):
  r = _peak_above_baseline(tmp_path, 8, 32, None)
  assert r["above"] <= 1.1 * r["tree"] + 100 * _MIB, r


@pytest.mark.slow
def test_peak_rss_bounded_by_write_concurrent_bytes(tmp_path):
  tree_bytes = 16 * 16 * _MIB
  limit = tree_bytes // 8
  r = _peak_above_baseline(tmp_path, 16, 16, limit)
  # The limit bounds bytes being encoded/written at once; the rest is a small
  # constant (thread stacks, zstd contexts, metadata).
  assert r["above"] <= limit + 64 * _MIB, r
  assert ocp.load(tmp_path / "ck")["w3"].shape == (16 << 18,)


def test_save_async_returns_before_io_and_copies(tmp_path, hook_array_writes):
  gate = threading.Event()
  started = threading.Event()
  real = engine.ArrayWriteSession.write

  def blocked(self, *a, **k):
    started.set()
    assert gate.wait(30)
    return real(self, *a, **k)

  hook_array_writes(blocked)
  x = jnp.arange(4096, dtype=jnp.float32)
  n = np.arange(100)
  r = ocp.save_async(tmp_path / "c", {"x": x, "n": n})
  assert not r.done()
  assert not (tmp_path / "c").exists()
  # The source buffers may be changed or freed once save_async returned.
  n[:] = -1
  x.delete()
  gate.set()
  r.result()
  got = ocp.load(tmp_path / "c")
  np.testing.assert_array_equal(np.asarray(got["x"]), np.arange(4096))
  np.testing.assert_array_equal(got["n"], np.arange(100))


def test_prioritized_keys_transfer_before_return(tmp_path, monkeypatch):
  calls = []
  real = serialization.start_transfer

  def record(boxes, **k):
    calls.append((threading.current_thread() is threading.main_thread(),
                  [b.shape for b in boxes]))
    return real(boxes, **k)

  monkeypatch.setattr(serialization, "start_transfer", record)
  tree = {"a": jnp.ones(3), "b": jnp.zeros(5)}
  with ocp.Context(memory_options=options.MemoryOptions(
      transfer_concurrent_bytes=64,
      is_prioritized_key_fn=lambda kp: "a" in jax.tree_util.keystr(kp))):
    r = ocp.save_async(tmp_path / "c", tree)
    main_calls = [c for c in calls if c[0]]
    assert main_calls == [(True, [(3,)])]
    r.result()
  assert (False, [(5,)]) in calls
  got = ocp.load(tmp_path / "c")
  np.testing.assert_array_equal(np.asarray(got["b"]), np.zeros(5))


def test_async_timeout_commits_nothing(tmp_path, hook_array_writes):
  gate = threading.Event()
  real = engine.ArrayWriteSession.write

  def slow(self, *a, **k):
    gate.wait(30)
    return real(self, *a, **k)

  hook_array_writes(slow)
  with ocp.Context(async_options=options.AsyncOptions(timeout_secs=1)):
    r = ocp.save_async(tmp_path / "c", {"x": np.arange(3)})
  with pytest.raises(TimeoutError):
    r.result()
  gate.set()
  # The abandoned save finishes its writes but never commits.
  for _ in range(100):
    if not (tmp_path / "c.orbax-checkpoint-tmp").exists():
      break
    threading.Event().wait(0.05)
  assert not (tmp_path / "c").exists()
  assert not (tmp_path / "c.orbax-checkpoint-tmp").exists()


def test_read_concurrent_bytes_and_many_leaves(tmp_path):
  tree = {f"l{i}": np.full((64, 64), i, np.float32) for i in range(64)}
  ocp.save(tmp_path / "c", tree)
  with ocp.Context(memory_options=options.MemoryOptions(
      read_concurrent_bytes=3 * 64 * 64 * 4)):
    got = ocp.load(tmp_path / "c")
  for k, v in tree.items():
    np.testing.assert_array_equal(got[k], v)
