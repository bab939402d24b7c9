# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Peak RSS of loads (VmHWM in a fresh process): a load holds the tree once.

The arrays ocpx reads are handed to JAX without a second copy (on the CPU
backend `jax.device_put` adopts suitably aligned host buffers), and devices
that hold the same box of a replicated array share its one host buffer.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

_MIB = 1 << 20

_SCRIPT = textwrap.dedent("""
    import gc, json, sys
    import numpy as np, jax, jax.numpy as jnp
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    from ocpx import v1 as ocp
    from ocpx.v1 import options

    def status(field):
      for line in open("/proc/self/status"):
        if line.startswith(field):
          return int(line.split()[1]) * 1024

    mode, leaf_mib, limit, path = sys.argv[1:]
    leaf_mib = int(leaf_mib)
    limit = None if limit == "none" else int(limit)
    n = leaf_mib << 18  # float32 elements per leaf
    devices = jax.devices()
    if mode == "sharded":
      mesh = Mesh(np.array(devices).reshape(4, 2), ("data", "model"))
      specs = [P("data", "model"), P("data", None), P()]
      shardings = [NamedSharding(mesh, s) for s in specs]
    else:
      shardings = [jax.sharding.SingleDeviceSharding(devices[0])] * 3

    def leaf(i, sharding):
      x = np.random.default_rng(i).standard_normal(n, dtype=np.float32)
      return jax.device_put(x.reshape(1024, -1), sharding)

    tree = {f"w{i}": leaf(i, s) for i, s in enumerate(shardings * 2)}
    tree_bytes = sum(x.nbytes for x in tree.values())
    ocp.save(path, tree)
    abstract = jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding),
        tree)
    del tree
    gc.collect()
    base = status("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
      f.write("5")  # resets VmHWM to the current RSS
    ctx = ocp.Context(memory_options=options.MemoryOptions(
        read_concurrent_bytes=limit))
    with ctx:
      got = ocp.load(path, abstract)
    jax.block_until_ready(got)
    peak = status("VmHWM")
    for i, s in enumerate(shardings * 2):
      want = np.random.default_rng(i).standard_normal(n, dtype=np.float32)
      np.testing.assert_array_equal(np.asarray(got[f"w{i}"]).reshape(-1), want)
      assert got[f"w{i}"].sharding == s
    print(json.dumps({"above": peak - base, "tree": tree_bytes}))
""")


def _load_peak(tmp_path, mode, leaf_mib, limit=None):
  env = dict(os.environ)
  if mode == "sharded":
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
  else:
    env.pop("XLA_FLAGS", None)
  out = subprocess.run(
      [sys.executable, "-c", _SCRIPT, mode, str(leaf_mib),
       "none" if limit is None else str(limit), str(tmp_path / "ck")],
      capture_output=True, text=True, env=env, timeout=600)
  assert out.returncode == 0, out.stderr[-3000:]
  return json.loads(out.stdout.strip().splitlines()[-1])


def test_load_peak_rss_single_device(tmp_path):
  r = _load_peak(tmp_path, "single", 16)
  # The loaded tree itself, plus the chunks being read and decoded.
  assert r["above"] <= 1.1 * r["tree"] + 32 * _MIB, r


def test_load_peak_rss_sharded_with_replicas(tmp_path):
  # 8 devices: replicated leaves and leaves replicated over the "model" axis
  # share one host buffer per distinct box, as the tree's bytes count them.
  r = _load_peak(tmp_path, "sharded", 16)
  assert r["above"] <= 1.1 * r["tree"] + 32 * _MIB, r


@pytest.mark.slow
def test_load_peak_rss_with_read_limit(tmp_path):
  r = _load_peak(tmp_path, "single", 32, limit=8 * _MIB)
  assert r["above"] <= 1.1 * r["tree"] + 32 * _MIB, r
