# Copyright 2026 The ocpx Authors.
# SPDX-License-Identifier: Apache-2.0
"""The native CRC-32C and zstd primitives, checked against independent oracles."""

import os
import sys

import numpy as np
import pytest

import ocpx
from ocpx import _core


def test_extension_location():
  # Under Bazel the extension must be the Bazel-built one, not a pip install.
  if "TEST_SRCDIR" in os.environ:
    assert os.environ["TEST_SRCDIR"] in os.path.realpath(_core.__file__) or (
        ".runfiles" in _core.__file__), _core.__file__
  assert ocpx.__version__


def test_crc32c_standard_vector():
  assert _core.crc32c(b"123456789") == 0xE3069283
  assert _core.crc32c(b"") == 0


def test_crc32c_matches_google_crc32c():
  google_crc32c = pytest.importorskip("google_crc32c")
  rng = np.random.default_rng(0)
  for n in (1, 7, 12345, 1 << 20):
    data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
    assert _core.crc32c(data) == google_crc32c.value(data)


def test_crc32c_array_is_zero_copy_and_rejects_non_contiguous():
  a = np.arange(1000, dtype=np.float32)
  assert _core.crc32c_array(a) == _core.crc32c(a.tobytes())
  with pytest.raises(TypeError):
    _core.crc32c_array(a[::2])


def test_zstd_interoperates_with_zstandard():
  zstandard = pytest.importorskip("zstandard")
  data = np.random.default_rng(1).integers(0, 4, 200000, dtype=np.uint8).tobytes()
  ours = _core.zstd_compress(data, 3)
  assert ours[:4] == b"\x28\xb5\x2f\xfd"
  assert zstandard.ZstdDecompressor().decompress(ours) == data
  theirs = zstandard.ZstdCompressor(level=5, write_checksum=True).compress(data)
  assert _core.zstd_decompress(theirs, len(data)) == data


def test_zstd_errors_are_python_exceptions():
  frame = _core.zstd_compress(b"hello world" * 100)
  with pytest.raises(ValueError, match="exactly one frame"):
    _core.zstd_decompress(frame + frame, 10000)
  with pytest.raises(_core.CorruptionError):
    _core.zstd_decompress(frame[:-3], 10000)
  with pytest.raises(MemoryError, match="limit"):
    _core.zstd_decompress(frame, 10)
  with pytest.raises(ValueError, match="level"):
    _core.zstd_compress(b"x", 1000)
  assert issubclass(_core.CorruptionError, ValueError)


if __name__ == "__main__":
  sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
