# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The `ocpx` console script: `ocpx inspect|verify|export PATH ...`.

Also runnable as `python -m ocpx.cli`.  See `ocpx._src.cli`.
"""

import sys

from ocpx._src.cli import main

__all__ = ["main"]

if __name__ == "__main__":
  sys.exit(main())
