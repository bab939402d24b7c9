# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The v0 Checkpointers across processes (jax.distributed on localhost)."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

WORKER = textwrap.dedent(r"""
    import json, os, sys
    n, pid, port, devs, path = sys.argv[1:6]
    n, pid, devs = int(n), int(pid), int(devs)
    os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devs}"
    os.environ["JAX_PLATFORMS"] = "cpu"
    import jax, numpy as np
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}",
                               num_processes=n, process_id=pid,
                               initialization_timeout=60)
    import ocpx as ocp
    P, NS = jax.sharding.PartitionSpec, jax.sharding.NamedSharding
    devices = np.asarray(jax.devices())
    vals = np.arange(32 * 8, dtype=np.float32).reshape(32, 8)
    out = {"pid": pid, "ok": False}
    try:
      mesh = jax.sharding.Mesh(devices.reshape(n, devs), ("p", "d"))
      w = jax.make_array_from_callback(vals.shape, NS(mesh, P("p", "d")),
                                       lambda i: vals[i])
      opts = ocp.options.AsyncOptions(timeout_secs=30)
      with ocp.AsyncCheckpointer(ocp.CompositeCheckpointHandler(),
                                 async_options=opts) as ckptr:
        ckptr.save(path, args=ocp.args.Composite(
            state=ocp.args.StandardSave({"w": w, "step": 3}),
            cfg=ocp.args.JsonSave({"lr": 0.5})), custom_metadata={"n": n})
      other = jax.sharding.Mesh(devices.reshape(devs, n), ("a", "b"))
      target = {"w": jax.ShapeDtypeStruct(vals.shape, vals.dtype,
                                          sharding=NS(other, P("b", "a"))),
                "step": 0}
      with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as ckptr:
        got = ckptr.restore(path, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(target),
            cfg=ocp.args.JsonRestore()))
      for s in got.state["w"].addressable_shards:
        np.testing.assert_array_equal(np.asarray(s.data), vals[s.index])
      assert got.state["step"] == 3 and got.cfg == {"lr": 0.5}
      out["ok"] = True
    except Exception as e:
      out["error"] = f"{type(e).__name__}: {e}"
    print("RESULT " + json.dumps(out), flush=True)
    try:
      from jax._src import distributed
      distributed.global_state.client.wait_at_barrier("worker_done", 60000)
    except Exception:
      pass
    os._exit(0)
""")


def _free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@pytest.mark.slow
def test_async_composite_save_on_two_processes(tmp_path):
  n, devs, path = 2, 2, tmp_path / "ck"
  script = tmp_path / "worker.py"
  script.write_text(WORKER)
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  port = _free_port()
  procs = [subprocess.Popen(
      [sys.executable, str(script), str(n), str(i), str(port), str(devs),
       str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
      env=env) for i in range(n)]
  results = {}
  try:
    for i, p in enumerate(procs):
      out, err = p.communicate(timeout=120)
      for line in out.splitlines():
        if line.startswith("RESULT "):
          results[i] = json.loads(line[len("RESULT "):])
      results.setdefault(i, {"ok": False, "stderr": err[-3000:]})
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
        p.wait()
  assert all(r["ok"] for r in results.values()), results
  assert sorted(q.name for q in (path / "state").glob("ocdbt.process_*")) == [
      "ocdbt.process_0", "ocdbt.process_1"]
  # One process, with Orbax 0.12.8, reads what two wrote (the saved
  # shardings name the two processes' devices, so it needs a target).
  orbax = pytest.importorskip("orbax.checkpoint")
  target = {"w": jax.ShapeDtypeStruct(
      (32, 8), np.float32, sharding=jax.sharding.SingleDeviceSharding(
          jax.devices()[0])), "step": 0}
  with orbax.Checkpointer(orbax.CompositeCheckpointHandler()) as c:
    got = c.restore(path, args=orbax.args.Composite(
        state=orbax.args.StandardRestore(target),
        cfg=orbax.args.JsonRestore()))
  np.testing.assert_array_equal(
      np.asarray(got.state["w"]),
      np.arange(32 * 8, dtype=np.float32).reshape(32, 8))
  assert got.cfg == {"lr": 0.5}
  meta = json.loads((path / "_CHECKPOINT_METADATA").read_text())
  assert meta["custom_metadata"] == {"n": 2}
