# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The v0 API (Checkpointers, CheckpointHandlers, args) on the native engine."""
