# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Helpers of the reliability suite (tests/test_reliability.py)."""
