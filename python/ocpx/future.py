# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Futures of async saves (mirrors `orbax.checkpoint.future`)."""

from ocpx._src.v0.future import CompletedFuture
from ocpx._src.v0.future import Future
from ocpx._src.v0.future import ThreadFuture

__all__ = ["CompletedFuture", "Future", "ThreadFuture"]
