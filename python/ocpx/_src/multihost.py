# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Cross-process synchronisation through the jax.distributed coordination
service, with timeouts and errors that name the processes that are missing.

Barriers are built on the coordination service's key-value store: each
process records its arrival (or its failure) under the operation's key
prefix and polls for the others.  A process that raised reports it at once;
a process that died is named when the operation's timeout expires (the
coordination service's liveness query is itself a collective, so it cannot
be used to find a dead peer).
Either way every surviving process raises instead of hanging.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any, Iterable, Optional, cast

import jax

_POLL_SECS = 0.05
_op_counters: dict = {}
_op_lock = threading.Lock()


class ProcessFailedError(RuntimeError):
  """Another process failed or disappeared during a collective operation."""


def _client():
  try:
    from jax._src import distributed  # pylint: disable=g-import-not-at-top
  except ImportError:  # pragma: no cover
    return None
  return distributed.global_state.client


def process_index() -> int:
  return jax.process_index()


def process_count() -> int:
  return jax.process_count()


class Sync:
  """Barriers for one save or load, among `active` processes."""

  def __init__(self, name: str, *, timeout_secs: float,
               active_processes: Optional[Iterable[int]] = None,
               key_prefix: Optional[str] = None):
    self.process = process_index()
    count = process_count()
    self.active = sorted(active_processes) if active_processes else list(
        range(count))
    if any(p < 0 or p >= count for p in self.active):
      raise ValueError(
          f"active_processes {self.active} must be within [0, {count})")
    self.timeout = float(timeout_secs)
    # Every wait of this operation ends by this time (the operation's own
    # timeout counts from its start).
    self.deadline = time.monotonic() + self.timeout
    self.client: Any = _client() if count > 1 else None
    if self.client is None and count > 1:
      raise RuntimeError(
          "jax.process_count() > 1 but jax.distributed is not initialized")
    # Operations are numbered per name, so processes that take part in
    # different subsets of operations still agree on the keys.
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    with _op_lock:
      op = _op_counters.get(digest, 0)
      _op_counters[digest] = op + 1
    self.prefix = f"{key_prefix or ''}ocpx/{digest}/{op}"
    self.multi = self.client is not None and len(self.active) > 1
    if self.multi and self.process not in self.active:
      raise ValueError(
          f"process {self.process} is not among active_processes "
          f"{self.active}")

  # -- primitives ---------------------------------------------------------------
  def _set(self, key: str, value: str) -> None:
    self.client.key_value_set(f"{self.prefix}/{key}", value,
                              allow_overwrite=True)

  def _dir(self, key: str) -> dict[int, str]:
    out = {}
    for k, v in self.client.key_value_dir_get(f"{self.prefix}/{key}/"):
      try:
        out[int(k.rsplit("/", 1)[-1])] = v
      except ValueError:
        continue
    return out

  def fail(self, error: BaseException) -> None:
    """Tells the other processes this one failed (best effort)."""
    if not self.multi:
      return
    try:
      self._set(f"failed/{self.process}", f"{type(error).__name__}: {error}"[:2000])
    except Exception:  # pylint: disable=broad-except
      pass

  def barrier(self, name: str, timeout: Optional[float] = None) -> None:
    """Waits until every active process arrived at `name`."""
    if not self.multi:
      return
    deadline = self.deadline if timeout is None else min(
        self.deadline, time.monotonic() + timeout)
    timeout = self.timeout if timeout is None else timeout
    self._set(f"{name}/{self.process}", "1")
    while True:
      arrived = self._dir(name)
      if all(p in arrived for p in self.active):
        return
      failed = self._dir("failed")
      if failed:
        raise ProcessFailedError(
            f"barrier {name!r}: process(es) {sorted(failed)} failed: "
            + "; ".join(f"{p}: {m}" for p, m in sorted(failed.items())))
      missing = [p for p in self.active if p not in arrived]
      now = time.monotonic()
      if now >= deadline:
        raise TimeoutError(
            f"barrier {name!r}: process(es) {missing} did not arrive within "
            f"{timeout:.0f} s (AsyncOptions.timeout_secs)")
      time.sleep(_POLL_SECS)

  def broadcast(self, name: str, value: Optional[str], source: int) -> str:
    """`value` from process `source`, on every active process.

    `value` must be a str on `source`; the other processes may pass None.
    """
    if not self.multi:
      return cast(str, value)
    if self.process == source:
      self._set(f"bcast/{name}", cast(str, value))
      return cast(str, value)
    deadline = self.deadline
    while True:
      try:
        return self.client.key_value_try_get(f"{self.prefix}/bcast/{name}")
      except Exception:  # pylint: disable=broad-except
        pass
      failed = self._dir("failed")
      if failed:
        raise ProcessFailedError(
            f"waiting for {name!r} from process {source}: process(es) "
            f"{sorted(failed)} failed: {failed}")
      if time.monotonic() >= deadline:
        raise TimeoutError(
            f"waiting for {name!r} from process {source}: no answer within "
            f"{self.timeout:.0f} s")
      time.sleep(_POLL_SECS)


def is_pathways_backend() -> bool:
  """True if JAX runs on a Pathways (native or proxy) backend."""
  client = jax.devices()[0].client
  return (hasattr(client, "pathways")
          or getattr(client, "runtime_type", None) in ("pathways",
                                                        "proxy/pathways"))


def is_primary_host(primary_host: Optional[int]) -> bool:
  """True if this process is `primary_host` (every process is when None)."""
  return primary_host is None or primary_host == process_index()


_DEFAULT_BARRIER_TIMEOUT_SECS = 300


async def sync_global_processes(
    key: str,
    *,
    operation_id: str,
    timeout: Optional[int] = None,
    processes: Optional[Iterable[int]] = None,
    record_event_name: str = "/jax/checkpoint/sync_global_devices_duration_sec",
) -> None:
  """Waits until every process (or every one of `processes`) reaches `key`.

  A barrier name must be used once per operation: give each barrier a unique
  `key` (it is combined with `operation_id`).  Returns at once with a single
  process, when `processes` holds only this process, or on Pathways.

  Example:

    await ocp.multihost.sync_global_processes("saved", operation_id="step_7")

  Raises:
    ValueError: `timeout` is not positive, or this process is not in
      `processes`.
    TimeoutError: Some process did not arrive within `timeout` seconds.
    ProcessFailedError: Another process reported a failure.
  """
  name = f"[op={operation_id}] {key}"
  procs = None if processes is None else sorted(set(processes))
  if procs is not None and process_index() not in procs:
    raise ValueError(
        "Attempted to create a barrier across a subset of processes, but the "
        f"current process {process_index()} is not in {procs}.")
  if ((procs is not None and len(procs) == 1) or process_count() == 1
      or is_pathways_backend()):
    return
  timeout = timeout or _DEFAULT_BARRIER_TIMEOUT_SECS
  if timeout <= 0:
    raise ValueError(f"Timeout must be positive, but got {timeout} seconds.")
  start = time.monotonic()
  import asyncio  # pylint: disable=g-import-not-at-top
  sync = Sync(name, timeout_secs=timeout, active_processes=procs)
  await asyncio.to_thread(sync.barrier, "arrived")
  jax.monitoring.record_event_duration_secs(
      record_event_name, time.monotonic() - start)
