# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""Bazel py_test: the C++ serving example reads a checkpoint saved by ocpx.

Usage: serving_test.py PATH_TO_SERVING_BINARY
"""

import os
import subprocess
import sys
import tempfile
import unittest

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402

import ocpx  # noqa: E402
from ocpx import _core  # noqa: E402

BINARY = None


def parse_output(text):
  """{name: fields} from the example's tab-separated lines."""
  out = {}
  for line in text.splitlines():
    if not line or line.startswith("#"):
      continue
    name, kind, *rest = line.split("\t")
    fields = {"kind": kind}
    for f in rest:
      k, _, v = f.partition("=")
      fields[k] = v
    out[name] = fields
  return out


class ServingTest(unittest.TestCase):

  def test_prints_values_of_an_ocpx_checkpoint(self):
    tree = {
        "params": {"w": np.arange(24, dtype=np.float32).reshape(4, 6) / 3,
                   "b": np.array([-2, 5, 7], dtype=np.int64)},
        "step": 12,
        "name": "run-a",
    }
    with tempfile.TemporaryDirectory() as d:
      path = os.path.join(d, "ckpt")
      ocpx.save(path, tree)
      r = subprocess.run([BINARY, path], capture_output=True, text=True)
      self.assertEqual(r.returncode, 0, r.stderr)
      got = parse_output(r.stdout)
    self.assertEqual(sorted(got), ["name", "params.b", "params.w", "step"])
    for name, arr in (("params.w", tree["params"]["w"]),
                      ("params.b", tree["params"]["b"]),
                      ("step", np.asarray(12, dtype=np.int64))):
      f = got[name]
      self.assertEqual(f["shape"], "[" + ",".join(map(str, arr.shape)) + "]")
      self.assertEqual(f["dtype"], arr.dtype.name)
      np.testing.assert_allclose(float(f["sum"]),
                                 arr.astype(np.float64).sum(), rtol=1e-12)
      self.assertEqual(int(f["crc32c"], 16), _core.crc32c(arr.tobytes()))
    self.assertEqual(got["name"], {"kind": "string", "value": "run-a"})


if __name__ == "__main__":
  BINARY = os.path.abspath(sys.argv.pop(1))
  unittest.main()
