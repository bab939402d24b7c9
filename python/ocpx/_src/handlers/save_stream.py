# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Writing a blocking save's small arrays while the rest are planned.

Planning a save is Python work, one leaf at a time: ~25 µs a leaf, 0.1 s for
the 4096 leaves of the bench's `many` tree, during which the disk and the
second CPU would sit idle.  For a blocking save (the caller waits for all of
it, and the directories already exist) `PyTreeHandler` hands each planned
leaf whose boxes are small to a `SmallWriteStream`.  Once a batch is full,
the stream takes the batch's host views (zero-copy on the CPU backend, the
copies started together elsewhere) and queues one native `write_many` per
writer on a background thread.  The native call releases the GIL, so the
boxes are encoded and written while the main thread plans the next leaves.

Leaves added after the last full batch are flushed by `finish_planning` if
any batch was written (so the save's own write phase has only its large
arrays and metadata left), and otherwise left to the save's write phase
(a tree too small to fill a batch is not worth a thread).

Example:
  >>> stream = SmallWriteStream(write_tasks, pinned=False)
  >>> for plan in plans:
  ...   stream.add(plan)          # may start a batch
  >>> stream.finish_planning()    # the rest, if a batch was started
  >>> stream.wait()               # re-raises the first write error
"""

from __future__ import annotations

import concurrent.futures
from typing import Any, Callable, Optional, Sequence

from ocpx._src import serialization
from ocpx._src import tree as tree_lib

# A batch is written once it holds this many bytes or boxes.  The first
# batch starts ~6 ms into planning `many`; each keeps the native pool busy
# for longer than the next takes to plan.
BATCH_BYTES = 8 << 20
BATCH_BOXES = 256


class SmallWriteStream:
  """Writes planned small boxes in batches on a background thread.

  Args:
    write_tasks: Maps a batch of plans (their boxes on the host) to
      callables, each writing its part (one native call per writer) and
      dropping the host views it wrote.
    pinned: Transfer through pinned host memory (`use_pinned_host`).
    batch_bytes, batch_boxes: When a batch is written.
  """

  def __init__(self, write_tasks: Callable[[list], Sequence[Callable[[], Any]]],
               *, pinned: bool, batch_bytes: int = BATCH_BYTES,
               batch_boxes: int = BATCH_BOXES):
    self._write_tasks = write_tasks
    self._pinned = pinned
    self._batch_bytes = batch_bytes
    self._batch_boxes = batch_boxes
    self._pending: list = []  # ArrayPlans, not yet transferred
    self._bytes = 0
    self._boxes = 0
    self._executor: Optional[concurrent.futures.ThreadPoolExecutor] = None
    self._futures: list[concurrent.futures.Future] = []

  @property
  def started(self) -> bool:
    """Whether any batch was handed to the background thread."""
    return self._executor is not None

  def add(self, plan) -> None:
    """Queues `plan` (all boxes small; a jax.Array's not yet transferred,
    anything else's already on the host); writes the batch once full."""
    self._pending.append(plan)
    self._bytes += sum(b.nbytes for b in plan.boxes)
    self._boxes += len(plan.boxes)
    if self._bytes >= self._batch_bytes or self._boxes >= self._batch_boxes:
      self._flush()

  def finish_planning(self) -> list:
    """After the last `add`: writes what is pending if a batch was already
    started and returns [] (every added plan is then `streamed`); otherwise
    returns the pending plans, untouched, for the save's own write phase."""
    if not self.started:
      pending, self._pending = self._pending, []
      return pending
    if self._pending:
      self._flush()
    return []

  def _flush(self) -> None:
    plans, self._pending = self._pending, []
    self._bytes = self._boxes = 0
    # A blocking save: the caller waits, so views of its arrays suffice.
    serialization.transfer_plans(
        [p for p in plans if p.kind == tree_lib.JAX_ARRAY], copy=False,
        pinned=self._pinned)
    for p in plans:
      p.streamed = True
    tasks = self._write_tasks(plans)
    del plans
    if self._executor is None:
      self._executor = concurrent.futures.ThreadPoolExecutor(
          1, thread_name_prefix="ocpx-stream")
    self._futures.extend(self._executor.submit(t) for t in tasks)

  def wait(self) -> None:
    """Waits for every batch; re-raises the first error (in batch order)."""
    if self._executor is None:
      return
    concurrent.futures.wait(self._futures)
    self._executor.shutdown(wait=True)
    self._executor = None
    futures, self._futures = self._futures, []
    for f in futures:
      f.result()

  def abort(self) -> None:
    """Waits for the batches already queued (their native calls cannot be
    interrupted), dropping what was not started and any error."""
    self._pending = []
    for f in self._futures:
      f.cancel()
    try:
      self.wait()
    except BaseException:  # pylint: disable=broad-except
      pass  # the save is failing for another reason, already being raised
