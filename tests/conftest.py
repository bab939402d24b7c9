# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Shared test setup: 8 simulated CPU devices, fixture locations."""

import os
import pathlib

# Must be set before JAX initialises its backends.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import pytest  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
ORBAX_FIXTURES = SHARED / "fixtures" / "orbax" / "v0_checkpoints"


@pytest.fixture
def orbax_fixtures():
  if not ORBAX_FIXTURES.is_dir():
    if os.environ.get("CI"):
      pytest.fail(f"{ORBAX_FIXTURES} is missing in CI")
    pytest.skip(f"{ORBAX_FIXTURES} not present")
  return ORBAX_FIXTURES
