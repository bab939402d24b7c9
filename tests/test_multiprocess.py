# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Multi-process saves and loads with jax.distributed on localhost.

Each test spawns N worker processes (a few CPU devices each), bounded in
time; every process it starts is killed at the end whatever happens.
"""

import json
import os
import pathlib
import socket
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from ocpx import v1 as ocp

WORKER = textwrap.dedent(r"""
    import json, os, signal, sys, time
    n, pid, port, devs, path, mode = sys.argv[1:7]
    n, pid, devs = int(n), int(pid), int(devs)
    os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devs}"
    os.environ["JAX_PLATFORMS"] = "cpu"
    import jax, numpy as np
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}",
                               num_processes=n, process_id=pid,
                               initialization_timeout=60,
                               heartbeat_timeout_seconds=100)
    from ocpx import v1 as ocp
    from ocpx.v1 import options
    from ocpx._src import engine
    P = jax.sharding.PartitionSpec
    NS = jax.sharding.NamedSharding

    def global_values():
      return {
          "w": np.arange(64 * 32, dtype=np.float32).reshape(64, 32),
          "r": np.arange(48, dtype=np.int32),
          "b": (np.arange(16 * 8) % 7).astype(np.float32).reshape(16, 8),
      }

    def make(mesh, specs):
      vals = global_values()
      return {k: jax.make_array_from_callback(
                  v.shape, NS(mesh, specs[k]), lambda idx, v=v: v[idx])
              for k, v in vals.items()}

    def check(tree):
      vals = global_values()
      for k, arr in tree.items():
        for s in arr.addressable_shards:
          np.testing.assert_array_equal(np.asarray(s.data), vals[k][s.index])

    devices = np.asarray(jax.devices())
    out = {"pid": pid, "ok": False}
    try:
      if mode in ("save", "save_load", "kill", "raise"):
        mesh = jax.sharding.Mesh(devices.reshape(n, devs), ("proc", "dev"))
        tree = make(mesh, {"w": P("proc", "dev"), "r": P(),
                           "b": P(None, "dev")})
        if mode == "kill" and pid == 1:
          real = engine.ArrayWriteSession.write
          def die(self, *a, **k):
            os.kill(os.getpid(), signal.SIGKILL)
          # Small boxes are written in batches (write_many_later), large
          # ones one by one (write): both fail, in the write itself.
          engine.ArrayWriteSession.write = die
          engine.ArrayWriteSession.write_many = die
          engine.ArrayWriteSession.write_many_later = (
              lambda self, reqs: lambda: die(self))
        if mode == "raise" and pid == 1:
          def boom(self, *a, **k):
            raise RuntimeError("injected failure on process 1")
          engine.ArrayWriteSession.write = boom
          engine.ArrayWriteSession.write_many = boom
          engine.ArrayWriteSession.write_many_later = (
              lambda self, reqs: lambda: boom(self))
        t0 = time.monotonic()
        try:
          # Below JAX's heartbeat timeout, so a dead peer surfaces as a Python
          # exception here before JAX's own failure handling ends the process.
          with ocp.Context(async_options=options.AsyncOptions(timeout_secs=10)):
            ocp.save(path, tree, custom_metadata={"n": n})
        except Exception as e:
          out["error"] = f"{type(e).__name__}: {e}"
          out["seconds"] = time.monotonic() - t0
          raise
      if mode == "subset":
        # Each process saves an array on its own devices, alone: the other
        # process is not part of the operation and nothing waits for it.
        mesh = jax.sharding.Mesh(np.asarray(jax.local_devices()), ("d",))
        arr = jax.make_array_from_callback(
            (8 * devs,), NS(mesh, P("d")),
            lambda idx: np.arange(8 * devs, dtype=np.float32)[idx] + pid)
        mp = options.MultiprocessingOptions(
            primary_host=pid, active_processes={pid},
            barrier_sync_key_prefix=f"solo{pid}_")
        with ocp.Context(multiprocessing_options=mp,
                         async_options=options.AsyncOptions(timeout_secs=20)):
          ocp.save(f"{path}_{pid}", {"x": arr})
          got = ocp.load(f"{path}_{pid}", {"x": jax.ShapeDtypeStruct(
              arr.shape, arr.dtype, sharding=arr.sharding)})
        check_x = np.asarray(got["x"].addressable_shards[0].data)
        assert check_x[0] == pid, check_x
      if mode in ("save_load", "load"):
        # A different mesh and sharding than the save used.
        mesh = jax.sharding.Mesh(devices.reshape(devs, n), ("a", "b"))
        abstract = {k: jax.ShapeDtypeStruct(
                        v.shape, v.dtype,
                        sharding=NS(mesh, P("b", "a") if v.ndim == 2 else P("a")))
                    for k, v in global_values().items()}
        check(ocp.load(path, abstract))
      out["ok"] = True
    except Exception as e:
      out.setdefault("error", f"{type(e).__name__}: {e}")
    print("RESULT " + json.dumps(out), flush=True)
    if mode != "kill":
      # Nobody exits (taking the coordination service down) before every
      # process has reported.
      try:
        from jax._src import distributed
        distributed.global_state.client.wait_at_barrier("worker_done", 60000)
      except Exception:
        pass
    os._exit(0)  # skip jax.distributed shutdown (peers may be gone)
""")


def _free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _run(tmp_path, n, devs, path, mode, timeout=120):
  port = _free_port()
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  script = tmp_path / "worker.py"
  script.write_text(WORKER)
  procs = [subprocess.Popen(
      [sys.executable, str(script), str(n), str(i), str(port), str(devs),
       str(path), mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
      text=True, env=env) for i in range(n)]
  results = {}
  try:
    for i, p in enumerate(procs):
      out, err = p.communicate(timeout=timeout)
      for line in out.splitlines():
        if line.startswith("RESULT "):
          results[i] = json.loads(line[len("RESULT "):])
      if i not in results:
        results[i] = {"pid": i, "ok": False, "returncode": p.returncode,
                      "stderr": err[-3000:]}
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
        p.wait()
  return results


def _expected():
  return {
      "w": np.arange(64 * 32, dtype=np.float32).reshape(64, 32),
      "r": np.arange(48, dtype=np.int32),
      "b": (np.arange(16 * 8) % 7).astype(np.float32).reshape(16, 8),
  }


@pytest.mark.slow
@pytest.mark.parametrize("n,devs", [(2, 4), (4, 2)])
def test_save_and_load_across_process_counts(tmp_path, n, devs):
  path = tmp_path / "ck"
  results = _run(tmp_path, n, devs, path, "save_load")
  assert all(r["ok"] for r in results.values()), results
  assert sorted(p.name for p in (path / "state").glob("ocdbt.process_*")) == [
      f"ocdbt.process_{i}" for i in range(n)]
  assert sorted(p.name for p in (path / "state/array_metadatas").iterdir()) == [
      f"process_{i}" for i in range(n)]
  # A different process count loads it.
  other = 2 if n == 4 else 4
  results = _run(tmp_path, other, 8 // other, path, "load")
  assert all(r["ok"] for r in results.values()), results
  # A single process loads it, with ocpx and with Orbax 0.12.8.
  got = ocp.load(path)
  for k, v in _expected().items():
    np.testing.assert_array_equal(np.asarray(got[k]), v)
  orbax_v1 = pytest.importorskip("orbax.checkpoint.experimental.v1")
  mesh = jax.sharding.Mesh(np.asarray(jax.devices()[:8]).reshape(4, 2),
                           ("x", "y"))
  abstract = {k: jax.ShapeDtypeStruct(
      v.shape, v.dtype, sharding=jax.sharding.NamedSharding(
          mesh, jax.sharding.PartitionSpec("x")))
      for k, v in _expected().items()}
  got = orbax_v1.load(path, abstract)
  for k, v in _expected().items():
    np.testing.assert_array_equal(np.asarray(got[k]), v)
  assert ocp.metadata(path).custom_metadata == {"n": n}


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["kill", "raise"])
def test_failure_on_one_process_fails_all_without_commit(tmp_path, mode):
  path = tmp_path / "ck"
  results = _run(tmp_path, 2, 2, path, mode, timeout=90)
  survivor = results[0]
  assert not survivor["ok"], results
  assert "1" in survivor["error"], survivor
  assert survivor["seconds"] < 30, survivor
  if mode == "kill":
    assert results[1].get("returncode") == -9, results
  else:
    assert "injected" in results[1]["error"], results
  assert not path.exists()
  assert not ocp.is_orbax_checkpoint(pathlib.Path(str(path) +
                                                  ".orbax-checkpoint-tmp"))


@pytest.mark.slow
def test_active_processes_subsets_save_independently(tmp_path):
  path = tmp_path / "ck"
  results = _run(tmp_path, 2, 2, path, "subset", timeout=90)
  assert all(r["ok"] for r in results.values()), results
  for pid in (0, 1):
    got = ocp.load(f"{path}_{pid}")
    np.testing.assert_array_equal(np.asarray(got["x"]),
                                  np.arange(16, dtype=np.float32) + pid)
