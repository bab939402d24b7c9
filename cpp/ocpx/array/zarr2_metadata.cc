// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/array/zarr2_metadata.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cpp/ocpx/array/dtype.h"
#include "cpp/ocpx/base/json_depth.h"
#include "cpp/ocpx/base/status_macros.h"

namespace ocpx {
namespace internal_zarr {

using ::ocpx::internal::CheckJsonDepth;

namespace {

using json = nlohmann::json;

absl::Status Bad(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat(".zarray: field '", field, "': ", why));
}

absl::StatusOr<std::vector<int64_t>> IntList(const json& j,
                                             absl::string_view field,
                                             bool positive) {
  if (!j.contains(std::string(field)) || !j.at(std::string(field)).is_array()) {
    return Bad(field, "missing or not an array");
  }
  std::vector<int64_t> out;
  for (const json& v : j.at(std::string(field))) {
    if (!v.is_number_integer()) return Bad(field, "not an integer");
    const int64_t x = v.get<int64_t>();
    if (x < 0 || (positive && x == 0)) return Bad(field, "out of range");
    out.push_back(x);
  }
  return out;
}

// `compressor.level`: `fallback` when absent, else an integer in [lo, hi].
absl::StatusOr<int> CompressorLevel(const json& compressor, int fallback,
                                    int lo, int hi) {
  auto it = compressor.find("level");
  if (it == compressor.end() || it->is_null()) return fallback;
  if (!it->is_number_integer())
    return Bad("compressor.level", "not an integer");
  const int64_t level = it->is_number_unsigned()
                            ? static_cast<int64_t>(std::min<uint64_t>(
                                  it->get<uint64_t>(), uint64_t{1} << 62))
                            : it->get<int64_t>();
  if (level < lo || level > hi) {
    return Bad("compressor.level",
               absl::StrCat(level, " is outside [", lo, ", ", hi, "]"));
  }
  return static_cast<int>(level);
}

struct Zarr2Dtype {
  DataType dtype;
  std::optional<Endian> endian;
};

absl::StatusOr<Zarr2Dtype> ParseDtype(const json& j) {
  if (!j.is_string()) return Bad("dtype", "structured dtypes are unsupported");
  const std::string s = j.get<std::string>();
  // Extension types are written by name.
  if (auto named = DataTypeFromName(s); named.ok() && s.size() > 3) {
    const size_t size = ItemSize(*named);
    return Zarr2Dtype{*named, size > 1 ? std::optional<Endian>(Endian::kLittle)
                                       : std::nullopt};
  }
  if (s.size() < 3) return Bad("dtype", absl::StrCat("unsupported '", s, "'"));
  const char order = s[0];
  const char kind = s[1];
  int size = 0;
  if (!absl::SimpleAtoi(absl::string_view(s).substr(2), &size)) {
    return Bad("dtype", absl::StrCat("unsupported '", s, "'"));
  }
  std::string name;
  switch (kind) {
    case 'b':
      if (size == 1) name = "bool";
      break;
    case 'i':
      if (size == 1 || size == 2 || size == 4 || size == 8)
        name = absl::StrCat("int", size * 8);
      break;
    case 'u':
      if (size == 1 || size == 2 || size == 4 || size == 8)
        name = absl::StrCat("uint", size * 8);
      break;
    case 'f':
      if (size == 2 || size == 4 || size == 8)
        name = absl::StrCat("float", size * 8);
      break;
    case 'c':
      if (size == 8 || size == 16) name = absl::StrCat("complex", size * 8);
      break;
    default:
      break;
  }
  if (name.empty()) return Bad("dtype", absl::StrCat("unsupported '", s, "'"));
  OCPX_ASSIGN_OR_RETURN(DataType dtype, DataTypeFromName(name));
  std::optional<Endian> endian;
  if (size > 1) {
    if (order == '<' || order == '|') {
      endian = Endian::kLittle;
    } else if (order == '>') {
      endian = Endian::kBig;
    } else {
      return Bad("dtype", absl::StrCat("bad byte order in '", s, "'"));
    }
  }
  return Zarr2Dtype{dtype, endian};
}

// The numpy type string of `dtype` (`<f4`, `|b1`, ...), or its name for the
// types numpy does not know (`bfloat16`, `int4`, `float8_*`), as TensorStore
// writes them.
std::string DtypeString(DataType dtype, std::optional<Endian> endian) {
  char kind = 0;
  switch (dtype) {
    case DataType::kBool:
      return "|b1";
    case DataType::kInt8:
    case DataType::kInt16:
    case DataType::kInt32:
    case DataType::kInt64:
      kind = 'i';
      break;
    case DataType::kUint8:
    case DataType::kUint16:
    case DataType::kUint32:
    case DataType::kUint64:
      kind = 'u';
      break;
    case DataType::kFloat16:
    case DataType::kFloat32:
    case DataType::kFloat64:
      kind = 'f';
      break;
    case DataType::kComplex64:
    case DataType::kComplex128:
      kind = 'c';
      break;
    default:
      return std::string(DataTypeName(dtype));
  }
  const size_t size = ItemSize(dtype);
  const char order = size == 1 ? '|' : (endian == Endian::kBig ? '>' : '<');
  return absl::StrCat(std::string(1, order), std::string(1, kind), size);
}

}  // namespace

absl::StatusOr<std::string> SerializeZarr2ArrayMetadata(
    const ArrayMetadata& md) {
  if (md.zarr_format != 2) {
    return Bad("zarr_format", "metadata is not a zarr v2 array");
  }
  OCPX_RETURN_IF_ERROR(ValidateArrayMetadata(md));
  json j = json::object();
  j["chunks"] = md.chunk_shape;
  j["shape"] = md.shape;
  j["zarr_format"] = 2;
  j["filters"] = nullptr;
  j["dimension_separator"] = std::string(1, md.chunk_key_encoding.separator);
  size_t i = 0;
  std::string order = "C";
  if (i < md.codecs.size() &&
      md.codecs[i].kind == CodecSpec::Kind::kTranspose) {
    const auto& perm = md.codecs[i].order;
    for (size_t k = 0; k < perm.size(); ++k) {
      if (perm[k] != static_cast<int64_t>(perm.size() - 1 - k)) {
        return Bad("order", "only C and F order have a zarr v2 form");
      }
    }
    order = "F";
    ++i;
  }
  j["order"] = order;
  if (i >= md.codecs.size() || md.codecs[i].kind != CodecSpec::Kind::kBytes) {
    return Bad("compressor",
               "the codec chain has no zarr v2 form (expected "
               "bytes + at most one compressor)");
  }
  j["dtype"] = DtypeString(md.dtype, md.codecs[i].endian);
  ++i;
  j["compressor"] = nullptr;
  if (i < md.codecs.size()) {
    const CodecSpec& c = md.codecs[i];
    if (c.kind == CodecSpec::Kind::kZstd && !c.checksum) {
      j["compressor"] = {{"id", "zstd"}, {"level", c.level}};
    } else if (c.kind == CodecSpec::Kind::kGzip) {
      j["compressor"] = {{"id", "gzip"}, {"level", c.level}};
    } else {
      return Bad("compressor",
                 "only zstd (without checksum) and gzip have a "
                 "zarr v2 form here");
    }
    ++i;
  }
  if (i != md.codecs.size()) {
    return Bad("compressor", "a zarr v2 array has at most one compressor");
  }
  if (md.fill_value == ZeroFillValue(md.dtype)) {
    j["fill_value"] = nullptr;
  } else {
    j["fill_value"] = FillValueToJson(md.dtype, md.fill_value);
  }
  return j.dump();
}

ArrayMetadata MakeOrbaxZarr2ArrayMetadata(std::vector<int64_t> shape,
                                          DataType dtype,
                                          std::vector<int64_t> chunk_shape,
                                          std::optional<int> zstd_level) {
  ArrayMetadata md;
  md.zarr_format = 2;
  md.shape = std::move(shape);
  md.dtype = dtype;
  md.chunk_shape = std::move(chunk_shape);
  md.chunk_key_encoding = {ChunkKeyEncoding::Kind::kV2, '.'};
  md.fill_value = ZeroFillValue(dtype);
  md.codecs = {CodecSpec::Bytes(ItemSize(dtype) > 1
                                    ? std::optional<Endian>(Endian::kLittle)
                                    : std::nullopt)};
  if (zstd_level) md.codecs.push_back(CodecSpec::Zstd(*zstd_level));
  return md;
}

absl::StatusOr<ArrayMetadata> ParseZarr2ArrayMetadata(absl::string_view text) {
  OCPX_RETURN_IF_ERROR(CheckJsonDepth(text, ".zarray"));
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(".zarray: not a JSON object");
  }
  if (!j.contains("zarr_format") || j["zarr_format"] != 2) {
    return Bad("zarr_format", "must be 2");
  }
  ArrayMetadata md;
  md.zarr_format = 2;
  OCPX_ASSIGN_OR_RETURN(md.shape, IntList(j, "shape", /*positive=*/false));
  OCPX_ASSIGN_OR_RETURN(md.chunk_shape, IntList(j, "chunks", true));
  if (md.shape.size() != md.chunk_shape.size()) {
    return Bad("chunks", "rank differs from shape");
  }
  if (!j.contains("dtype")) return Bad("dtype", "missing");
  OCPX_ASSIGN_OR_RETURN(Zarr2Dtype dt, ParseDtype(j["dtype"]));
  md.dtype = dt.dtype;
  if (j.contains("filters") && !j["filters"].is_null() &&
      !(j["filters"].is_array() && j["filters"].empty())) {
    return Bad("filters", "filters are unsupported");
  }
  std::string order = "C";
  if (auto it = j.find("order"); it != j.end()) {
    if (!it->is_string()) return Bad("order", "must be \"C\" or \"F\"");
    order = it->get<std::string>();
  }
  if (order == "F" && md.shape.size() > 1) {
    std::vector<int64_t> perm;
    for (int64_t i = static_cast<int64_t>(md.shape.size()) - 1; i >= 0; --i) {
      perm.push_back(i);
    }
    md.codecs.push_back(CodecSpec::Transpose(perm));
  } else if (order != "C" && order != "F") {
    return Bad("order", "must be \"C\" or \"F\"");
  }
  md.codecs.push_back(CodecSpec::Bytes(dt.endian));
  if (j.contains("compressor") && !j["compressor"].is_null()) {
    const json& c = j["compressor"];
    std::string id;
    if (c.is_object()) {
      if (auto it = c.find("id"); it != c.end() && it->is_string()) {
        id = it->get<std::string>();
      }
    }
    if (id == "zstd") {
      OCPX_ASSIGN_OR_RETURN(int level, CompressorLevel(c, 3, -131072, 22));
      md.codecs.push_back(CodecSpec::Zstd(level));
    } else if (id == "gzip") {
      OCPX_ASSIGN_OR_RETURN(int level, CompressorLevel(c, 6, 0, 9));
      md.codecs.push_back(CodecSpec::Gzip(level));
    } else {
      return Bad("compressor",
                 absl::StrCat("unsupported compressor '", id, "'"));
    }
  }
  md.chunk_key_encoding.kind = ChunkKeyEncoding::Kind::kV2;
  md.chunk_key_encoding.separator = '.';
  if (j.contains("dimension_separator")) {
    const json& sep = j["dimension_separator"];
    if (sep == "/") {
      md.chunk_key_encoding.separator = '/';
    } else if (sep != ".") {
      return Bad("dimension_separator", "must be \".\" or \"/\"");
    }
  }
  if (!j.contains("fill_value") || j["fill_value"].is_null()) {
    md.fill_value = ZeroFillValue(md.dtype);
  } else {
    OCPX_ASSIGN_OR_RETURN(md.fill_value,
                          FillValueFromJson(md.dtype, j["fill_value"]));
  }
  OCPX_RETURN_IF_ERROR(ValidateArrayMetadata(md));
  return md;
}

}  // namespace internal_zarr
}  // namespace ocpx
