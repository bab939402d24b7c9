# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Step managers: step naming, policies, deletion and the step engine."""
