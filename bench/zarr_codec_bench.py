"""Per-core throughput of the ocpx zarr3 chunk codec vs. raw zstd.

Encodes/decodes one Orbax-style chunk (sharding_indexed with one inner chunk,
bytes little + zstd level 3, index bytes + crc32c) on one thread and compares
with the `zstandard` package compressing the same bytes at the same level.
Also measures what chunk checksums (a `crc32c` codec after zstd, ocpx's
default) cost, and times parallel zarr_write/zarr_read of a multi-chunk
array.

  PYTHONPATH=build/dev-zarr/stage .venv/bin/python bench/zarr_codec_bench.py
"""

import argparse
import os
import tempfile
import time

import numpy as np
import zstandard

from ocpx import _core


def best_rate(fn, nbytes, min_time=0.3):
  fn()
  best, total, reps = float("inf"), 0.0, 0
  while total < min_time or reps < 3:
    t = time.perf_counter()
    fn()
    dt = time.perf_counter() - t
    best, total, reps = min(best, dt), total + dt, reps + 1
  return nbytes / best / 1e6


def make_data(kind, n):
  rng = np.random.default_rng(0)
  if kind == "normal_f32":   # typical weights: poorly compressible
    return rng.standard_normal(n).astype(np.float32)
  if kind == "smooth_f32":   # compressible
    return np.cumsum(rng.integers(-2, 3, n)).astype(np.float32)
  if kind == "zeros_f32":
    return np.zeros(n, np.float32)
  raise ValueError(kind)


def main():
  ap = argparse.ArgumentParser()
  ap.add_argument("--mib", type=float, default=16, help="chunk size in MiB")
  ap.add_argument("--level", type=int, default=3)
  ap.add_argument("--rounds", type=int, default=15,
                  help="alternating timing rounds for the checksum figure")
  args = ap.parse_args()
  n = int(args.mib * (1 << 20)) // 4
  shape = [n // 256, 256]
  n = shape[0] * shape[1]
  md = _core.zarr_make_metadata(shape, "float32", shape, zstd_level=args.level)
  cctx = zstandard.ZstdCompressor(level=args.level)
  dctx = zstandard.ZstdDecompressor()
  print(f"chunk {shape} float32 = {n * 4 / 2**20:.1f} MiB, zstd level "
        f"{args.level}; MB/s on one core (best of several)")
  print(f"{'data':<12}{'ratio':>7}{'ocpx enc':>10}{'zstd enc':>10}"
        f"{'ocpx dec':>10}{'zstd dec':>10}")
  for kind in ("normal_f32", "smooth_f32", "zeros_f32"):
    a = make_data(kind, n).reshape(shape)
    raw = a.tobytes()
    enc = _core.zarr_encode_chunk(md, a, True)
    frame = cctx.compress(raw)
    assert np.array_equal(_core.zarr_decode_chunk(md, enc), a)
    e1 = best_rate(lambda: _core.zarr_encode_chunk(md, a, True), len(raw))
    e2 = best_rate(lambda: cctx.compress(raw), len(raw))
    d1 = best_rate(lambda: _core.zarr_decode_chunk(md, enc), len(raw))
    d2 = best_rate(lambda: dctx.decompress(frame), len(raw))
    print(f"{kind:<12}{len(raw) / len(enc):>7.2f}{e1:>10.0f}{e2:>10.0f}"
          f"{d1:>10.0f}{d2:>10.0f}")

  # What chunk checksums (`enable_chunk_checksums`: a crc32c codec after
  # zstd in every chunk) cost: the same chunk with and without, timed in
  # alternation (best of each) so machine noise hits both alike.
  print("chunk checksums (crc32c inner codec, ISA-L), MB/s of decoded data "
        "on one core")
  print(f"{'data':<12}{'enc':>8}{'enc+crc':>9}{'dec':>8}{'dec+crc':>9}"
        f"{'enc cost':>10}{'dec cost':>10}{'crc32c':>9}")
  crc_md = _core.zarr_make_metadata(shape, "float32", shape,
                                    zstd_level=args.level,
                                    chunk_checksums=True)
  for kind in ("normal_f32", "smooth_f32"):
    a = make_data(kind, n).reshape(shape)
    enc = _core.zarr_encode_chunk(md, a, True)
    enc_crc = _core.zarr_encode_chunk(crc_md, a, True)
    assert len(enc_crc) == len(enc) + 4
    assert np.array_equal(_core.zarr_decode_chunk(crc_md, enc_crc), a)
    fns = [lambda: _core.zarr_encode_chunk(md, a, True),
           lambda: _core.zarr_encode_chunk(crc_md, a, True),
           lambda: _core.zarr_decode_chunk(md, enc),
           lambda: _core.zarr_decode_chunk(crc_md, enc_crc)]
    best = [float("inf")] * len(fns)
    for _ in range(args.rounds):
      for i, fn in enumerate(fns):
        t = time.perf_counter()
        fn()
        best[i] = min(best[i], time.perf_counter() - t)
    e0, e1, d0, d1 = (a.nbytes / b / 1e6 for b in best)
    crc_rate = best_rate(lambda: _core.crc32c(enc), len(enc))
    print(f"{kind:<12}{e0:>8.0f}{e1:>9.0f}{d0:>8.0f}{d1:>9.0f}"
          f"{(best[1] / best[0] - 1) * 100:>9.1f}%"
          f"{(best[3] / best[2] - 1) * 100:>9.1f}%{crc_rate:>9.0f}")

  # Whole-array parallel I/O through the file chunk store.
  cores = os.cpu_count() or 1
  big = make_data("normal_f32", 4 * n).reshape(shape[0], 1024)
  chunk = [shape[0] // 2, 256]
  amd = _core.zarr_make_metadata(list(big.shape), "float32", chunk,
                                 zstd_level=args.level)
  with tempfile.TemporaryDirectory() as d:
    w = best_rate(lambda: _core.zarr_write(d, "a", amd, None, big, True),
                  big.nbytes, min_time=0.5)
    r = best_rate(lambda: _core.zarr_read(d, "a"), big.nbytes, min_time=0.5)
  print(f"array {list(big.shape)} in {chunk} chunks via files, {cores} cores: "
        f"write {w:.0f} MB/s ({w / cores:.0f}/core), read {r:.0f} MB/s "
        f"({r / cores:.0f}/core)")


if __name__ == "__main__":
  main()
