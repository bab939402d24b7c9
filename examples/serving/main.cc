// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

// A minimal serving-side program: opens an Orbax checkpoint with the ocpx C++
// reader (no Python) and prints every leaf's name, shape, dtype and two
// checksums -- the sum of its elements as a double and the CRC-32C of its
// native little-endian bytes.  Arrays are streamed in slabs of whole chunk
// rows, so memory stays bounded for any checkpoint size.
//
//   serving CHECKPOINT_DIR [CHECKPOINTABLE]
//
// Output, one leaf per line (tab-separated):
//   <name> <value_type> shape=[d0,d1] dtype=<dtype> sum=<%.17g> crc32c=<hex>
//   <name> string value=<text>
//   <name> <None|Dict|...>                          (empty nodes)

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "ocpx/checkpoint_reader.h"

namespace {

constexpr size_t kSlabBytes = size_t{64} << 20;

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of `data`, continuing
// from `crc` (0 to start).  Bitwise and table-free: this program uses only
// the public ocpx API, and speed does not matter here.
uint32_t Crc32cExtend(uint32_t crc, absl::string_view data) {
  crc = ~crc;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
  }
  return ~crc;
}

// Reads `leaf` in slabs along axis 0 (whole chunk rows) and accumulates the
// checksums.
absl::Status Checksum(const ocpx::CheckpointReader& reader,
                      const ocpx::LeafInfo& leaf, double* sum, uint32_t* crc) {
  *sum = 0;
  *crc = 0;
  const size_t item = ocpx::ItemSize(leaf.dtype);
  std::vector<int64_t> origin(leaf.shape.size(), 0);
  std::vector<int64_t> box = leaf.shape;
  int64_t rows_per_slab = 1;
  if (!leaf.shape.empty()) {
    const size_t row_bytes =
        leaf.num_bytes() / std::max<int64_t>(leaf.shape[0], 1);
    const int64_t chunk_rows = std::max<int64_t>(leaf.grid_chunk_shape[0], 1);
    const int64_t chunks = std::max<int64_t>(
        1, static_cast<int64_t>(kSlabBytes /
                                std::max<size_t>(row_bytes * chunk_rows, 1)));
    rows_per_slab = chunks * chunk_rows;
  }
  const int64_t rows = leaf.shape.empty() ? 1 : leaf.shape[0];
  std::vector<unsigned char> buf;
  for (int64_t r = 0; r < rows; r += rows_per_slab) {
    if (!leaf.shape.empty()) {
      origin[0] = r;
      box[0] = std::min(rows_per_slab, rows - r);
    }
    int64_t n = 1;
    for (int64_t d : box) n *= d;
    buf.resize(static_cast<size_t>(n) * item);
    if (n == 0) continue;
    absl::Status s =
        reader.ReadBox(leaf.name, origin, box, buf.data(), buf.size());
    if (!s.ok()) return s;
    for (int64_t i = 0; i < n; ++i) {
      *sum += ocpx::ElementToDouble(leaf.dtype, buf.data() + i * item);
    }
    *crc = Crc32cExtend(
        *crc, absl::string_view(reinterpret_cast<const char*>(buf.data()),
                                buf.size()));
  }
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s CHECKPOINT_DIR [CHECKPOINTABLE]\n",
                 argv[0]);
    return 2;
  }
  ocpx::CheckpointReaderOptions options;
  if (argc == 3) options.checkpointable = argv[2];
  auto reader = ocpx::CheckpointReader::Open(argv[1], options);
  if (!reader.ok()) {
    std::fprintf(stderr, "error: %s\n", reader.status().ToString().c_str());
    return 1;
  }
  const ocpx::CheckpointReader& r = **reader;
  std::printf("# checkpoint %s layout=%s checkpointable=%s leaves=%zu\n",
              r.path().c_str(),
              std::string(ocpx::CheckpointLayoutName(r.layout())).c_str(),
              r.checkpointable().c_str(), r.leaves().size());
  for (const ocpx::LeafInfo& leaf : r.leaves()) {
    switch (leaf.kind) {
      case ocpx::LeafKind::kArray:
      case ocpx::LeafKind::kScalar: {
        double sum = 0;
        uint32_t crc = 0;
        absl::Status s = Checksum(r, leaf, &sum, &crc);
        if (!s.ok()) {
          std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
          return 1;
        }
        std::printf(
            "%s\t%s\tshape=[%s]\tdtype=%s\tsum=%.17g\tcrc32c=%08" PRIx32 "\n",
            leaf.name.c_str(), leaf.value_type.c_str(),
            absl::StrJoin(leaf.shape, ",").c_str(),
            std::string(ocpx::DataTypeName(leaf.dtype)).c_str(), sum, crc);
        break;
      }
      case ocpx::LeafKind::kString: {
        auto v = r.ReadString(leaf.name);
        if (!v.ok()) {
          std::fprintf(stderr, "error: %s\n", v.status().ToString().c_str());
          return 1;
        }
        std::printf("%s\tstring\tvalue=%s\n", leaf.name.c_str(), v->c_str());
        break;
      }
      case ocpx::LeafKind::kEmpty:
        std::printf("%s\t%s\n", leaf.name.c_str(), leaf.value_type.c_str());
        break;
    }
  }
  return 0;
}
