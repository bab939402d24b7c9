# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""A save starts the device-to-host copies of all its arrays before it waits
on any of them."""

import jax.numpy as jnp
import numpy as np
import pytest

import ocpx
from ocpx._src import serialization


@pytest.mark.parametrize("save", ["save", "save_async"])
def test_all_copies_start_before_any_is_awaited(tmp_path, monkeypatch, save):
  events = []
  start, finish = serialization.start_transfer, serialization.finish_transfer

  def recording_start(boxes, **kw):
    events.append(("start", len(boxes)))
    return start(boxes, **kw)

  def recording_finish(boxes, staged, **kw):
    events.append(("finish", len(boxes)))
    return finish(boxes, staged, **kw)

  monkeypatch.setattr(serialization, "start_transfer", recording_start)
  monkeypatch.setattr(serialization, "finish_transfer", recording_finish)
  tree = {f"a{i}": jnp.arange(8 * (i + 1), dtype=jnp.float32) for i in range(4)}
  if save == "save":
    ocpx.save(tmp_path / "ckpt", tree)
  else:
    ocpx.save_async(tmp_path / "ckpt", tree).result()
  kinds = [k for k, _ in events]
  # Every array's box is started (in one or several calls) before the first
  # finish.
  assert sum(n for k, n in events if k == "start") == 4, events
  assert sum(n for k, n in events if k == "finish") == 4, events
  assert kinds.index("finish") > max(
      i for i, k in enumerate(kinds) if k == "start"), events
  restored = ocpx.load(tmp_path / "ckpt")
  for k, v in tree.items():
    np.testing.assert_array_equal(np.asarray(restored[k]), np.asarray(v))


def test_copy_to_host_async_is_called_off_cpu(monkeypatch):
  """Off the CPU backend every box's copy is started in start_transfer."""

  class FakeDevice:
    platform = "gpu"

  class FakeArray:
    started = 0
    shape = (3,)

    def devices(self):
      return {FakeDevice()}

    def copy_to_host_async(self):
      FakeArray.started += 1

    def __array__(self, dtype=None, copy=None):
      return np.arange(3, dtype=np.float32)

  boxes = [serialization.Box(origin=(0,), shape=(3,), shard_data=FakeArray(),
                             slices=(slice(0, 3),), itemsize=4)
           for _ in range(3)]
  staged = serialization.start_transfer(boxes, pinned=False)
  assert FakeArray.started == 3
  assert all(b.host is None for b in boxes)
  serialization.finish_transfer(boxes, staged, copy=False, pinned=False)
  for b in boxes:
    np.testing.assert_array_equal(b.host, np.arange(3, dtype=np.float32))
