// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/array/metadata.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cpp/ocpx/base/json_depth.h"
#include "cpp/ocpx/base/status_macros.h"

namespace ocpx {
namespace internal_zarr {

using ::ocpx::internal::CheckJsonDepth;

using json = nlohmann::json;

namespace {

absl::Status FieldError(absl::string_view field, absl::string_view msg) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", msg));
}

std::string Dump(const json& j) {
  std::string s = j.dump();
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

absl::StatusOr<int64_t> GetInt(const json& j, absl::string_view field,
                               int64_t min_value) {
  if (j.is_number_unsigned()) {
    uint64_t v = j.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return FieldError(field, "integer out of range");
    }
    if (static_cast<int64_t>(v) < min_value) {
      return FieldError(field, absl::StrCat("must be >= ", min_value));
    }
    return static_cast<int64_t>(v);
  }
  if (j.is_number_integer()) {
    int64_t v = j.get<int64_t>();
    if (v < min_value) {
      return FieldError(field, absl::StrCat("must be >= ", min_value));
    }
    return v;
  }
  return FieldError(field, absl::StrCat("expected an integer, got ", Dump(j)));
}

absl::StatusOr<std::vector<int64_t>> GetIntArray(const json& j,
                                                 absl::string_view field,
                                                 int64_t min_value) {
  if (!j.is_array()) {
    return FieldError(field, absl::StrCat("expected an array, got ", Dump(j)));
  }
  std::vector<int64_t> out;
  for (size_t i = 0; i < j.size(); ++i) {
    OCPX_ASSIGN_OR_RETURN(
        int64_t v, GetInt(j[i], absl::StrCat(field, "[", i, "]"), min_value));
    out.push_back(v);
  }
  return out;
}

// Checks that object `j` has only members from `allowed`.
absl::Status CheckMembers(const json& j, absl::string_view field,
                          std::initializer_list<absl::string_view> allowed) {
  if (!j.is_object()) {
    return FieldError(field, absl::StrCat("expected an object, got ", Dump(j)));
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    for (auto a : allowed) ok = ok || a == it.key();
    if (!ok) {
      return FieldError(field,
                        absl::StrCat("unexpected member \"", it.key(), "\""));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<CodecSpec>> ParseCodecs(const json& j,
                                                   absl::string_view field);

absl::StatusOr<CodecSpec> ParseCodec(const json& j, absl::string_view field) {
  if (j.is_string()) {
    // The zarr v3 spec allows a bare name for codecs without configuration.
    return ParseCodec(json{{"name", j}}, field);
  }
  OCPX_RETURN_IF_ERROR(CheckMembers(j, field, {"name", "configuration"}));
  auto name_it = j.find("name");
  if (name_it == j.end() || !name_it->is_string()) {
    return FieldError(absl::StrCat(field, ".name"), "missing codec name");
  }
  const std::string name = name_it->get<std::string>();
  static const json kEmpty = json::object();
  auto cfg_it = j.find("configuration");
  const json& cfg = cfg_it == j.end() ? kEmpty : *cfg_it;
  const std::string cfield = absl::StrCat(field, ".configuration");
  CodecSpec c;
  if (name == "bytes") {
    c.kind = CodecSpec::Kind::kBytes;
    OCPX_RETURN_IF_ERROR(CheckMembers(cfg, cfield, {"endian"}));
    if (auto e = cfg.find("endian"); e != cfg.end()) {
      if (*e == "little") {
        c.endian = Endian::kLittle;
      } else if (*e == "big") {
        c.endian = Endian::kBig;
      } else {
        return FieldError(
            absl::StrCat(cfield, ".endian"),
            absl::StrCat("expected \"little\" or \"big\", got ", Dump(*e)));
      }
    }
  } else if (name == "transpose") {
    c.kind = CodecSpec::Kind::kTranspose;
    OCPX_RETURN_IF_ERROR(CheckMembers(cfg, cfield, {"order"}));
    auto o = cfg.find("order");
    if (o == cfg.end()) {
      return FieldError(absl::StrCat(cfield, ".order"), "missing");
    }
    OCPX_ASSIGN_OR_RETURN(c.order,
                          GetIntArray(*o, absl::StrCat(cfield, ".order"), 0));
  } else if (name == "zstd") {
    c.kind = CodecSpec::Kind::kZstd;
    c.level = 3;
    OCPX_RETURN_IF_ERROR(CheckMembers(cfg, cfield, {"level", "checksum"}));
    if (auto l = cfg.find("level"); l != cfg.end()) {
      OCPX_ASSIGN_OR_RETURN(int64_t level,
                            GetInt(*l, absl::StrCat(cfield, ".level"),
                                   std::numeric_limits<int32_t>::min()));
      if (level < -131072 || level > 22) {
        return FieldError(absl::StrCat(cfield, ".level"), "out of range");
      }
      c.level = static_cast<int>(level);
    }
    if (auto cs = cfg.find("checksum"); cs != cfg.end()) {
      if (!cs->is_boolean()) {
        return FieldError(absl::StrCat(cfield, ".checksum"),
                          "expected a boolean");
      }
      c.checksum = cs->get<bool>();
    }
  } else if (name == "gzip") {
    c.kind = CodecSpec::Kind::kGzip;
    c.level = 6;
    OCPX_RETURN_IF_ERROR(CheckMembers(cfg, cfield, {"level"}));
    if (auto l = cfg.find("level"); l != cfg.end()) {
      OCPX_ASSIGN_OR_RETURN(int64_t level,
                            GetInt(*l, absl::StrCat(cfield, ".level"), 0));
      if (level > 9) {
        return FieldError(absl::StrCat(cfield, ".level"), "must be 0..9");
      }
      c.level = static_cast<int>(level);
    }
  } else if (name == "crc32c") {
    c.kind = CodecSpec::Kind::kCrc32c;
    OCPX_RETURN_IF_ERROR(CheckMembers(cfg, cfield, {}));
  } else if (name == "sharding_indexed") {
    c.kind = CodecSpec::Kind::kShardingIndexed;
    OCPX_RETURN_IF_ERROR(CheckMembers(
        cfg, cfield,
        {"chunk_shape", "codecs", "index_codecs", "index_location"}));
    for (const char* required : {"chunk_shape", "codecs", "index_codecs"}) {
      if (!cfg.contains(required)) {
        return FieldError(absl::StrCat(cfield, ".", required), "missing");
      }
    }
    OCPX_ASSIGN_OR_RETURN(c.chunk_shape,
                          GetIntArray(cfg["chunk_shape"],
                                      absl::StrCat(cfield, ".chunk_shape"), 1));
    OCPX_ASSIGN_OR_RETURN(
        c.codecs, ParseCodecs(cfg["codecs"], absl::StrCat(cfield, ".codecs")));
    OCPX_ASSIGN_OR_RETURN(c.index_codecs,
                          ParseCodecs(cfg["index_codecs"],
                                      absl::StrCat(cfield, ".index_codecs")));
    if (auto loc = cfg.find("index_location"); loc != cfg.end()) {
      if (*loc == "start") {
        c.index_at_start = true;
      } else if (*loc != "end") {
        return FieldError(
            absl::StrCat(cfield, ".index_location"),
            absl::StrCat("expected \"start\" or \"end\", got ", Dump(*loc)));
      }
    }
  } else {
    return FieldError(
        absl::StrCat(field, ".name"),
        absl::StrCat("unknown or unsupported codec \"", name, "\""));
  }
  return c;
}

absl::StatusOr<std::vector<CodecSpec>> ParseCodecs(const json& j,
                                                   absl::string_view field) {
  if (!j.is_array()) {
    return FieldError(field, absl::StrCat("expected an array, got ", Dump(j)));
  }
  std::vector<CodecSpec> out;
  for (size_t i = 0; i < j.size(); ++i) {
    OCPX_ASSIGN_OR_RETURN(CodecSpec c,
                          ParseCodec(j[i], absl::StrCat(field, "[", i, "]")));
    out.push_back(std::move(c));
  }
  return out;
}

bool IsArrayToArray(const CodecSpec& c) {
  return c.kind == CodecSpec::Kind::kTranspose;
}
bool IsArrayToBytes(const CodecSpec& c) {
  return c.kind == CodecSpec::Kind::kBytes ||
         c.kind == CodecSpec::Kind::kShardingIndexed;
}

// Validates a chain applied to arrays of `shape` and `dtype`.
// `fixed_size_only`: for index codecs (no compression or sharding).
absl::Status ValidateChain(const std::vector<CodecSpec>& chain,
                           std::vector<int64_t> shape, DataType dtype,
                           absl::string_view field, bool fixed_size_only) {
  size_t i = 0;
  for (; i < chain.size() && IsArrayToArray(chain[i]); ++i) {
    const CodecSpec& c = chain[i];
    std::string f = absl::StrCat(field, "[", i, "].configuration.order");
    if (c.order.size() != shape.size()) {
      return FieldError(
          f, absl::StrCat("rank ", c.order.size(),
                          " does not match array rank ", shape.size()));
    }
    std::vector<bool> seen(shape.size());
    std::vector<int64_t> next(shape.size());
    for (size_t k = 0; k < c.order.size(); ++k) {
      int64_t o = c.order[k];
      if (o < 0 || o >= static_cast<int64_t>(shape.size()) || seen[o]) {
        return FieldError(f, "not a permutation");
      }
      seen[o] = true;
      next[k] = shape[o];
    }
    shape = std::move(next);
  }
  if (i == chain.size() || !IsArrayToBytes(chain[i])) {
    return FieldError(
        field,
        absl::StrCat("expected exactly one array->bytes "
                     "codec (bytes or sharding_indexed)",
                     i < chain.size() ? absl::StrCat(" at index ", i) : ""));
  }
  const CodecSpec& ab = chain[i];
  if (ab.kind == CodecSpec::Kind::kBytes) {
    if (!ab.endian && ItemSize(dtype) > 1) {
      return FieldError(
          absl::StrCat(field, "[", i, "].configuration.endian"),
          absl::StrCat("required for data type ", DataTypeName(dtype)));
    }
  } else {
    if (fixed_size_only) {
      return FieldError(absl::StrCat(field, "[", i, "]"),
                        "sharding_indexed has no fixed encoded size");
    }
    std::string f = absl::StrCat(field, "[", i, "].configuration");
    if (ab.chunk_shape.size() != shape.size()) {
      return FieldError(
          absl::StrCat(f, ".chunk_shape"),
          absl::StrCat("rank ", ab.chunk_shape.size(),
                       " does not match array rank ", shape.size()));
    }
    std::vector<int64_t> grid;
    for (size_t k = 0; k < shape.size(); ++k) {
      if (shape[k] % ab.chunk_shape[k] != 0) {
        return FieldError(
            absl::StrCat(f, ".chunk_shape"),
            absl::StrCat("[", absl::StrJoin(ab.chunk_shape, ","),
                         "] does not evenly divide the shard shape [",
                         absl::StrJoin(shape, ","), "]"));
      }
      grid.push_back(shape[k] / ab.chunk_shape[k]);
    }
    OCPX_RETURN_IF_ERROR(ValidateChain(ab.codecs, ab.chunk_shape, dtype,
                                       absl::StrCat(f, ".codecs"), false));
    grid.push_back(2);
    OCPX_RETURN_IF_ERROR(ValidateChain(ab.index_codecs, grid, DataType::kUint64,
                                       absl::StrCat(f, ".index_codecs"), true));
  }
  for (++i; i < chain.size(); ++i) {
    const CodecSpec& c = chain[i];
    std::string f = absl::StrCat(field, "[", i, "]");
    if (IsArrayToArray(c) || IsArrayToBytes(c)) {
      return FieldError(f, "array codec after the array->bytes codec");
    }
    if (ab.kind == CodecSpec::Kind::kShardingIndexed) {
      // As TensorStore: whole-shard bytes->bytes codecs would defeat partial
      // reads; they belong in the inner codecs.
      return FieldError(f,
                        "bytes->bytes codecs may not follow "
                        "sharding_indexed (use its inner codecs)");
    }
    if (fixed_size_only && c.kind != CodecSpec::Kind::kCrc32c) {
      return FieldError(f, "index codecs must have a fixed encoded size");
    }
  }
  return absl::OkStatus();
}

json CodecToJson(const CodecSpec& c, DataType dtype);

json CodecsToJson(const std::vector<CodecSpec>& chain, DataType dtype) {
  json out = json::array();
  for (const auto& c : chain) out.push_back(CodecToJson(c, dtype));
  return out;
}

json CodecToJson(const CodecSpec& c, DataType dtype) {
  json j = json::object();
  switch (c.kind) {
    case CodecSpec::Kind::kBytes:
      j["name"] = "bytes";
      if (ItemSize(dtype) > 1 && c.endian) {
        j["configuration"] = {
            {"endian", *c.endian == Endian::kLittle ? "little" : "big"}};
      }
      break;
    case CodecSpec::Kind::kTranspose:
      j["name"] = "transpose";
      j["configuration"] = {{"order", c.order}};
      break;
    case CodecSpec::Kind::kZstd:
      j["name"] = "zstd";
      j["configuration"] = {{"checksum", c.checksum}, {"level", c.level}};
      break;
    case CodecSpec::Kind::kGzip:
      j["name"] = "gzip";
      j["configuration"] = {{"level", c.level}};
      break;
    case CodecSpec::Kind::kCrc32c:
      j["name"] = "crc32c";
      break;
    case CodecSpec::Kind::kShardingIndexed: {
      j["name"] = "sharding_indexed";
      json cfg = json::object();
      cfg["chunk_shape"] = c.chunk_shape;
      cfg["codecs"] = CodecsToJson(c.codecs, dtype);
      cfg["index_codecs"] = CodecsToJson(c.index_codecs, DataType::kUint64);
      if (c.index_at_start) cfg["index_location"] = "start";
      j["configuration"] = std::move(cfg);
      break;
    }
  }
  return j;
}

// --- fill values ------------------------------------------------------------

uint64_t LoadBits(absl::string_view bytes) {
  uint64_t v = 0;
  std::memcpy(&v, bytes.data(), std::min<size_t>(bytes.size(), 8));
  return v;  // little-endian host assumed (checked in dtype.cc users)
}

std::string StoreBits(uint64_t v, size_t n) {
  std::string s(n, '\0');
  std::memcpy(s.data(), &v, n);
  return s;
}

absl::StatusOr<uint64_t> ParseFloatBits(DataType dtype, const json& j,
                                        absl::string_view field) {
  if (j.is_number()) return DoubleToFloatBits(dtype, j.get<double>());
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (s == "NaN") return CanonicalNaNBits(dtype);
    if (s == "Infinity") return DoubleToFloatBits(dtype, INFINITY);
    if (s == "-Infinity") return DoubleToFloatBits(dtype, -INFINITY);
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
      uint64_t v;
      if (s.size() - 2 <= 16 && absl::SimpleHexAtoi(s.substr(2), &v)) {
        int bits = BitWidth(dtype);
        if (bits < 8) {
          v &= (uint64_t{1} << bits) - 1;
        } else if (bits < 64 && (v >> bits) != 0) {
          return FieldError(
              field, absl::StrCat("raw bits ", s, " exceed ", bits, " bits"));
        }
        return v;
      }
    }
  }
  return FieldError(field,
                    absl::StrCat("expected a number, \"NaN\", \"Infinity\", "
                                 "\"-Infinity\" or \"0x...\" raw bits for ",
                                 DataTypeName(dtype), ", got ", Dump(j)));
}

json FloatBitsToJson(DataType dtype, uint64_t bits) {
  if (IsNaNBits(dtype, bits)) {
    if (bits == CanonicalNaNBits(dtype)) return "NaN";
    char buf[24];
    std::snprintf(buf, sizeof(buf), "0x%0*llx",
                  static_cast<int>(2 * ItemSize(dtype)),
                  static_cast<unsigned long long>(bits));  // NOLINT
    return std::string(buf);
  }
  if (IsInfBits(dtype, bits)) {
    return FloatBitsToDouble(dtype, bits) > 0 ? "Infinity" : "-Infinity";
  }
  return FloatBitsToDouble(dtype, bits);
}

}  // namespace

CodecSpec CodecSpec::Bytes(std::optional<Endian> endian) {
  CodecSpec c;
  c.kind = Kind::kBytes;
  c.endian = endian;
  return c;
}
CodecSpec CodecSpec::Transpose(std::vector<int64_t> order) {
  CodecSpec c;
  c.kind = Kind::kTranspose;
  c.order = std::move(order);
  return c;
}
CodecSpec CodecSpec::Zstd(int level, bool checksum) {
  CodecSpec c;
  c.kind = Kind::kZstd;
  c.level = level;
  c.checksum = checksum;
  return c;
}
CodecSpec CodecSpec::Gzip(int level) {
  CodecSpec c;
  c.kind = Kind::kGzip;
  c.level = level;
  return c;
}
CodecSpec CodecSpec::Crc32c() {
  CodecSpec c;
  c.kind = Kind::kCrc32c;
  return c;
}
CodecSpec CodecSpec::ShardingIndexed(std::vector<int64_t> chunk_shape,
                                     std::vector<CodecSpec> codecs,
                                     bool index_at_start) {
  CodecSpec c;
  c.kind = Kind::kShardingIndexed;
  c.chunk_shape = std::move(chunk_shape);
  c.codecs = std::move(codecs);
  c.index_codecs = {Bytes(Endian::kLittle), Crc32c()};
  c.index_at_start = index_at_start;
  return c;
}

int64_t ArrayMetadata::chunk_num_elements() const {
  int64_t n = 1;
  for (int64_t d : chunk_shape) n *= d;
  return n;
}

absl::StatusOr<std::string> FillValueFromJson(DataType dtype, const json& j) {
  const size_t n = ItemSize(dtype);
  switch (GetKind(dtype)) {
    case DataTypeKind::kBool:
      if (!j.is_boolean()) {
        return FieldError(
            "fill_value",
            absl::StrCat("expected true or false, got ", Dump(j)));
      }
      return std::string(1, j.get<bool>() ? '\1' : '\0');
    case DataTypeKind::kSignedInt: {
      int bits = BitWidth(dtype);
      int64_t lo = bits == 64 ? std::numeric_limits<int64_t>::min()
                              : -(int64_t{1} << (bits - 1));
      int64_t hi = bits == 64 ? std::numeric_limits<int64_t>::max()
                              : (int64_t{1} << (bits - 1)) - 1;
      if (!j.is_number_integer() ||
          (j.is_number_unsigned() &&
           j.get<uint64_t>() > static_cast<uint64_t>(hi)) ||
          (!j.is_number_unsigned() &&
           (j.get<int64_t>() < lo || j.get<int64_t>() > hi))) {
        return FieldError(
            "fill_value",
            absl::StrCat("expected an integer in [", lo, ", ", hi, "] for ",
                         DataTypeName(dtype), ", got ", Dump(j)));
      }
      uint64_t v = static_cast<uint64_t>(j.get<int64_t>());
      if (bits < 8) v &= (uint64_t{1} << bits) - 1;
      return StoreBits(v, n);
    }
    case DataTypeKind::kUnsignedInt: {
      int bits = BitWidth(dtype);
      uint64_t hi = bits == 64 ? std::numeric_limits<uint64_t>::max()
                               : (uint64_t{1} << bits) - 1;
      if (!j.is_number_unsigned() || j.get<uint64_t>() > hi) {
        // nlohmann stores non-negative integers as unsigned.
        return FieldError(
            "fill_value",
            absl::StrCat("expected an integer in [0, ", hi, "] for ",
                         DataTypeName(dtype), ", got ", Dump(j)));
      }
      return StoreBits(j.get<uint64_t>(), n);
    }
    case DataTypeKind::kFloat: {
      OCPX_ASSIGN_OR_RETURN(uint64_t bits,
                            ParseFloatBits(dtype, j, "fill_value"));
      return StoreBits(bits, n);
    }
    case DataTypeKind::kComplex: {
      if (!j.is_array() || j.size() != 2) {
        return FieldError("fill_value",
                          absl::StrCat("expected a [real, imag] pair for ",
                                       DataTypeName(dtype), ", got ", Dump(j)));
      }
      DataType part = dtype == DataType::kComplex64 ? DataType::kFloat32
                                                    : DataType::kFloat64;
      OCPX_ASSIGN_OR_RETURN(uint64_t re,
                            ParseFloatBits(part, j[0], "fill_value[0]"));
      OCPX_ASSIGN_OR_RETURN(uint64_t im,
                            ParseFloatBits(part, j[1], "fill_value[1]"));
      return StoreBits(re, n / 2) + StoreBits(im, n / 2);
    }
  }
  return absl::InternalError("unreachable");
}

json FillValueToJson(DataType dtype, absl::string_view fill) {
  const size_t n = ItemSize(dtype);
  switch (GetKind(dtype)) {
    case DataTypeKind::kBool:
      return fill[0] != 0;
    case DataTypeKind::kSignedInt: {
      uint64_t v = LoadBits(fill);
      int bits = BitWidth(dtype);
      if (bits < 64) {
        // sign-extend from `bits`
        uint64_t m = uint64_t{1} << (bits - 1);
        v &= (uint64_t{1} << bits) - 1;
        v = (v ^ m) - m;
      }
      return static_cast<int64_t>(v);
    }
    case DataTypeKind::kUnsignedInt:
      return LoadBits(fill);
    case DataTypeKind::kFloat:
      return FloatBitsToJson(dtype, LoadBits(fill));
    case DataTypeKind::kComplex: {
      DataType part = dtype == DataType::kComplex64 ? DataType::kFloat32
                                                    : DataType::kFloat64;
      return json::array(
          {FloatBitsToJson(part, LoadBits(fill.substr(0, n / 2))),
           FloatBitsToJson(part, LoadBits(fill.substr(n / 2)))});
    }
  }
  return nullptr;
}

std::string ZeroFillValue(DataType dtype) {
  return std::string(ItemSize(dtype), '\0');
}

std::string ChunkKey(const ChunkKeyEncoding& encoding,
                     absl::Span<const int64_t> grid_index) {
  const char sep[2] = {encoding.separator, '\0'};
  if (encoding.kind == ChunkKeyEncoding::Kind::kV2) {
    if (grid_index.empty()) return "0";
    return absl::StrJoin(grid_index, sep);
  }
  std::string key = "c";
  for (int64_t i : grid_index) absl::StrAppend(&key, sep, i);
  return key;
}

namespace {

// Bounds on what a zarr.json may claim, checked before anything is sized
// from it.  Extents follow TensorStore's finite index range; byte counts must
// fit in int64 with room for the products computed from them.
constexpr size_t kMaxRank = 32;
constexpr int64_t kMaxExtent = (int64_t{1} << 62) - 2;
constexpr int64_t kMaxBytes = int64_t{1} << 62;

// `a * b` if it is at most `limit` (a, b >= 0), else nullopt.
std::optional<int64_t> CheckedMul(int64_t a, int64_t b, int64_t limit) {
  if (a == 0 || b == 0) return 0;
  if (a > limit / b) return std::nullopt;
  return a * b;
}

// Product of `dims` times `item_size`, if it stays below kMaxBytes.
std::optional<int64_t> CheckedBytes(const std::vector<int64_t>& dims,
                                    int64_t item_size) {
  std::optional<int64_t> n = item_size;
  for (int64_t d : dims) {
    if (!n) return std::nullopt;
    n = CheckedMul(*n, d, kMaxBytes);
  }
  return n;
}

// Checks the claimed sizes of a codec chain's sharding levels: the number of
// inner chunks (and so the shard index) must fit.
absl::Status CheckShardSizes(const std::vector<CodecSpec>& chain,
                             std::vector<int64_t> shape,
                             absl::string_view field) {
  for (size_t i = 0; i < chain.size(); ++i) {
    const CodecSpec& c = chain[i];
    if (c.kind != CodecSpec::Kind::kShardingIndexed) continue;
    std::string f = absl::StrCat(field, "[", i, "].configuration.chunk_shape");
    if (c.chunk_shape.size() != shape.size()) return absl::OkStatus();
    std::vector<int64_t> grid;
    for (size_t k = 0; k < shape.size(); ++k) {
      if (c.chunk_shape[k] < 1 || c.chunk_shape[k] > kMaxExtent) {
        return FieldError(
            f, absl::StrCat("extent ", c.chunk_shape[k], " is out of range"));
      }
      grid.push_back(shape[k] / c.chunk_shape[k]);
    }
    // The shard index holds 16 bytes per inner chunk.
    if (!CheckedBytes(grid, 16)) {
      return FieldError(f, "too many inner chunks per shard");
    }
    return CheckShardSizes(
        c.codecs, c.chunk_shape,
        absl::StrCat(field, "[", i, "].configuration.codecs"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateArrayMetadata(const ArrayMetadata& m) {
  if (m.shape.size() > kMaxRank) {
    return FieldError("shape",
                      absl::StrCat("rank ", m.shape.size(),
                                   " exceeds the maximum of ", kMaxRank));
  }
  if (m.zarr_format != 2 && m.zarr_format != 3) {
    return FieldError("zarr_format",
                      absl::StrCat("expected 2 or 3, got ", m.zarr_format));
  }
  if (m.zarr_format == 2 &&
      m.chunk_key_encoding.kind != ChunkKeyEncoding::Kind::kV2) {
    return FieldError("chunk_key_encoding",
                      "zarr v2 arrays use the v2 chunk key encoding");
  }
  if (m.chunk_shape.size() != m.shape.size()) {
    return FieldError(
        "chunk_grid.configuration.chunk_shape",
        absl::StrCat("rank ", m.chunk_shape.size(), " does not match the rank ",
                     m.shape.size(), " of shape"));
  }
  for (int64_t d : m.shape) {
    if (d < 0) return FieldError("shape", "negative extent");
    if (d > kMaxExtent) {
      return FieldError("shape", absl::StrCat("extent ", d, " is too large"));
    }
  }
  for (int64_t d : m.chunk_shape) {
    if (d < 1) {
      return FieldError("chunk_grid.configuration.chunk_shape",
                        "extents must be >= 1");
    }
    if (d > kMaxExtent) {
      return FieldError("chunk_grid.configuration.chunk_shape",
                        absl::StrCat("extent ", d, " is too large"));
    }
  }
  const int64_t item = static_cast<int64_t>(ItemSize(m.dtype));
  if (!CheckedBytes(m.shape, item)) {
    return FieldError("shape", absl::StrCat("[", absl::StrJoin(m.shape, ","),
                                            "] holds more than 2^62 bytes"));
  }
  if (!CheckedBytes(m.chunk_shape, item)) {
    return FieldError("chunk_grid.configuration.chunk_shape",
                      absl::StrCat("[", absl::StrJoin(m.chunk_shape, ","),
                                   "] holds more than 2^62 bytes"));
  }
  OCPX_RETURN_IF_ERROR(CheckShardSizes(m.codecs, m.chunk_shape, "codecs"));
  if (!m.dimension_names.empty() &&
      m.dimension_names.size() != m.shape.size()) {
    return FieldError("dimension_names",
                      absl::StrCat("has ", m.dimension_names.size(),
                                   " entries for rank ", m.shape.size()));
  }
  if (m.fill_value.size() != ItemSize(m.dtype)) {
    return FieldError("fill_value", "wrong size for the data type");
  }
  if (!m.attributes.is_null() && !m.attributes.is_object()) {
    return FieldError("attributes", "expected an object");
  }
  char sep = m.chunk_key_encoding.separator;
  if (sep != '/' && sep != '.') {
    return FieldError("chunk_key_encoding.configuration.separator",
                      "must be \"/\" or \".\"");
  }
  return ValidateChain(m.codecs, m.chunk_shape, m.dtype, "codecs", false);
}

absl::StatusOr<ArrayMetadata> ArrayMetadataFromJson(const json& j) {
  if (!j.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("zarr.json: expected a JSON object, got ", Dump(j)));
  }
  ArrayMetadata m;
  static constexpr absl::string_view kRequired[] = {
      "zarr_format", "node_type",          "shape",      "data_type",
      "chunk_grid",  "chunk_key_encoding", "fill_value", "codecs"};
  for (auto r : kRequired) {
    if (!j.contains(std::string(r))) return FieldError(r, "missing");
  }
  if (j["zarr_format"] != 3) {
    return FieldError("zarr_format",
                      absl::StrCat("expected 3, got ", Dump(j["zarr_format"])));
  }
  if (j["node_type"] != "array") {
    return FieldError("node_type", absl::StrCat("expected \"array\", got ",
                                                Dump(j["node_type"])));
  }
  OCPX_ASSIGN_OR_RETURN(m.shape, GetIntArray(j["shape"], "shape", 0));
  if (!j["data_type"].is_string()) {
    return FieldError("data_type", absl::StrCat("expected a string, got ",
                                                Dump(j["data_type"])));
  }
  OCPX_ASSIGN_OR_RETURN(m.dtype,
                        DataTypeFromName(j["data_type"].get<std::string>()));
  {
    const json& g = j["chunk_grid"];
    OCPX_RETURN_IF_ERROR(
        CheckMembers(g, "chunk_grid", {"name", "configuration"}));
    if (g.value("name", json()) != "regular") {
      return FieldError("chunk_grid.name", "only \"regular\" is supported");
    }
    if (!g.contains("configuration")) {
      return FieldError("chunk_grid.configuration", "missing");
    }
    OCPX_RETURN_IF_ERROR(CheckMembers(
        g["configuration"], "chunk_grid.configuration", {"chunk_shape"}));
    if (!g["configuration"].contains("chunk_shape")) {
      return FieldError("chunk_grid.configuration.chunk_shape", "missing");
    }
    OCPX_ASSIGN_OR_RETURN(
        m.chunk_shape, GetIntArray(g["configuration"]["chunk_shape"],
                                   "chunk_grid.configuration.chunk_shape", 1));
  }
  {
    const json& e = j["chunk_key_encoding"];
    OCPX_RETURN_IF_ERROR(
        CheckMembers(e, "chunk_key_encoding", {"name", "configuration"}));
    json name = e.value("name", json());
    if (name == "default") {
      m.chunk_key_encoding = {ChunkKeyEncoding::Kind::kDefault, '/'};
    } else if (name == "v2") {
      m.chunk_key_encoding = {ChunkKeyEncoding::Kind::kV2, '.'};
    } else {
      return FieldError(
          "chunk_key_encoding.name",
          absl::StrCat("expected \"default\" or \"v2\", got ", Dump(name)));
    }
    if (e.contains("configuration")) {
      OCPX_RETURN_IF_ERROR(CheckMembers(e["configuration"],
                                        "chunk_key_encoding.configuration",
                                        {"separator"}));
      if (e["configuration"].contains("separator")) {
        const json& s = e["configuration"]["separator"];
        if (s == "/") {
          m.chunk_key_encoding.separator = '/';
        } else if (s == ".") {
          m.chunk_key_encoding.separator = '.';
        } else {
          return FieldError(
              "chunk_key_encoding.configuration.separator",
              absl::StrCat("expected \"/\" or \".\", got ", Dump(s)));
        }
      }
    }
  }
  OCPX_ASSIGN_OR_RETURN(m.fill_value,
                        FillValueFromJson(m.dtype, j["fill_value"]));
  OCPX_ASSIGN_OR_RETURN(m.codecs, ParseCodecs(j["codecs"], "codecs"));
  if (auto it = j.find("dimension_names"); it != j.end()) {
    if (!it->is_array()) {
      return FieldError("dimension_names", "expected an array");
    }
    bool any = false;
    for (const auto& n : *it) {
      if (n.is_null()) {
        m.dimension_names.push_back(std::nullopt);
      } else if (n.is_string()) {
        m.dimension_names.push_back(n.get<std::string>());
        any = true;
      } else {
        return FieldError(
            "dimension_names",
            absl::StrCat("expected strings or null, got ", Dump(n)));
      }
    }
    if (m.dimension_names.size() != m.shape.size()) {
      return FieldError("dimension_names",
                        absl::StrCat("has ", m.dimension_names.size(),
                                     " entries for rank ", m.shape.size()));
    }
    if (!any) m.dimension_names.clear();
  }
  if (auto it = j.find("attributes"); it != j.end()) {
    if (!it->is_object()) return FieldError("attributes", "expected an object");
    m.attributes = *it;
  }
  static constexpr absl::string_view kKnown[] = {"zarr_format",
                                                 "node_type",
                                                 "shape",
                                                 "data_type",
                                                 "chunk_grid",
                                                 "chunk_key_encoding",
                                                 "fill_value",
                                                 "codecs",
                                                 "dimension_names",
                                                 "attributes",
                                                 "storage_transformers"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool known = false;
    for (auto k : kKnown) known = known || k == it.key();
    if (it.key() == "storage_transformers") {
      if (!it->is_array() || !it->empty()) {
        return FieldError("storage_transformers",
                          "only an empty array is supported");
      }
    }
    if (known) continue;
    const json& v = it.value();
    if (v.is_object() && v.contains("must_understand") &&
        v["must_understand"] == false) {
      continue;
    }
    return FieldError(it.key(),
                      "unknown member (not marked \"must_understand\": false)");
  }
  if (m.chunk_shape.size() != m.shape.size()) {
    return FieldError(
        "chunk_grid.configuration.chunk_shape",
        absl::StrCat("rank ", m.chunk_shape.size(), " does not match the rank ",
                     m.shape.size(), " of shape"));
  }
  OCPX_RETURN_IF_ERROR(ValidateArrayMetadata(m));
  return m;
}

absl::StatusOr<ArrayMetadata> ParseArrayMetadata(absl::string_view text) {
  OCPX_RETURN_IF_ERROR(CheckJsonDepth(text, "zarr.json"));
  json j = json::parse(text.begin(), text.end(), nullptr,
                       /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return absl::InvalidArgumentError("zarr.json: not valid JSON");
  }
  return ArrayMetadataFromJson(j);
}

json ArrayMetadataToJson(const ArrayMetadata& m) {
  json j = json::object();
  if (!m.attributes.is_null()) j["attributes"] = m.attributes;
  j["chunk_grid"] = {{"configuration", {{"chunk_shape", m.chunk_shape}}},
                     {"name", "regular"}};
  json cke = json::object();
  bool is_v2 = m.chunk_key_encoding.kind == ChunkKeyEncoding::Kind::kV2;
  cke["name"] = is_v2 ? "v2" : "default";
  char default_sep = is_v2 ? '.' : '/';
  if (m.chunk_key_encoding.separator != default_sep) {
    cke["configuration"] = {
        {"separator", std::string(1, m.chunk_key_encoding.separator)}};
  }
  j["chunk_key_encoding"] = std::move(cke);
  j["codecs"] = CodecsToJson(m.codecs, m.dtype);
  j["data_type"] = std::string(DataTypeName(m.dtype));
  bool any_name = false;
  for (const auto& n : m.dimension_names) any_name = any_name || n.has_value();
  if (any_name) {
    json names = json::array();
    for (const auto& n : m.dimension_names) {
      names.push_back(n ? json(*n) : json(nullptr));
    }
    j["dimension_names"] = std::move(names);
  }
  j["fill_value"] = FillValueToJson(m.dtype, m.fill_value);
  j["node_type"] = "array";
  j["shape"] = m.shape;
  j["zarr_format"] = 3;
  return j;
}

std::string SerializeArrayMetadata(const ArrayMetadata& m) {
  return ArrayMetadataToJson(m).dump();
}

ArrayMetadata MakeOrbaxArrayMetadata(std::vector<int64_t> shape, DataType dtype,
                                     std::vector<int64_t> chunk_shape,
                                     std::optional<int> zstd_level,
                                     bool chunk_checksums) {
  ArrayMetadata m;
  m.shape = std::move(shape);
  m.dtype = dtype;
  m.chunk_shape = std::move(chunk_shape);
  m.fill_value = ZeroFillValue(dtype);
  std::vector<CodecSpec> inner = {CodecSpec::Bytes(
      ItemSize(dtype) > 1 ? std::optional<Endian>(Endian::kLittle)
                          : std::nullopt)};
  if (zstd_level) inner.push_back(CodecSpec::Zstd(*zstd_level));
  if (chunk_checksums) inner.push_back(CodecSpec::Crc32c());
  m.codecs = {CodecSpec::ShardingIndexed(m.chunk_shape, std::move(inner))};
  return m;
}

namespace {

bool ChainEndsWithCrc32c(const std::vector<CodecSpec>& chain) {
  if (chain.empty()) return false;
  const CodecSpec& last = chain.back();
  if (last.kind == CodecSpec::Kind::kCrc32c) return true;
  if (last.kind == CodecSpec::Kind::kShardingIndexed) {
    return ChainEndsWithCrc32c(last.index_codecs) &&
           ChainEndsWithCrc32c(last.codecs);
  }
  return false;
}

}  // namespace

bool HasChunkChecksums(const ArrayMetadata& metadata) {
  return ChainEndsWithCrc32c(metadata.codecs);
}

}  // namespace internal_zarr
}  // namespace ocpx
