// Copyright 2026 The ocpx Authors.
// SPDX-License-Identifier: Apache-2.0

#include "cpp/ocpx/reader/checkpoint_files.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cpp/ocpx/base/json_depth.h"
#include "cpp/ocpx/base/status.h"
#include "cpp/ocpx/base/status_macros.h"

namespace ocpx {
namespace internal_reader {

using ::ocpx::internal::AnnotateStatus;
using ::ocpx::internal::CheckJsonDepth;

namespace {

using json = nlohmann::json;

absl::StatusOr<json> ParseJson(absl::string_view bytes,
                               absl::string_view file) {
  OCPX_RETURN_IF_ERROR(CheckJsonDepth(bytes, file));
  json j = json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": not valid JSON"));
  }
  return j;
}

const char* TypeName(const json& j) {
  switch (j.type()) {
    case json::value_t::object:
      return "dict";
    case json::value_t::array:
      return "list";
    case json::value_t::string:
      return "str";
    case json::value_t::boolean:
      return "bool";
    case json::value_t::number_float:
      return "float";
    case json::value_t::null:
      return "None";
    default:
      return "int";
  }
}

// A JSON value shortened for an error message.
std::string Quote(const json& j) {
  std::string s = j.dump();
  if (s.size() > 80) s = absl::StrCat(s.substr(0, 77), "...");
  return s;
}

// Truthiness as Python sees a parsed JSON value (`x or {}`).
bool Truthy(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return false;
    case json::value_t::boolean:
      return j.get<bool>();
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return j.get<int64_t>() != 0;
    case json::value_t::number_float:
      return j.get<double>() != 0.0;
    default:
      return !j.empty();
  }
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Parses a Python string literal (as `repr(str)` writes it) at `*s`.
bool ParsePyString(absl::string_view* s, std::string* out) {
  if (s->empty() || ((*s)[0] != '\'' && (*s)[0] != '"')) return false;
  const char q = (*s)[0];
  size_t i = 1;
  while (i < s->size() && (*s)[i] != q) {
    char c = (*s)[i++];
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (i >= s->size()) return false;
    c = (*s)[i++];
    int hex = 0;
    switch (c) {
      case '\\':
      case '\'':
      case '"':
        out->push_back(c);
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 'x':
        hex = 2;
        break;
      case 'u':
        hex = 4;
        break;
      case 'U':
        hex = 8;
        break;
      default:
        return false;
    }
    if (hex > 0) {
      if (i + hex > s->size()) return false;
      uint32_t cp = 0;
      for (int k = 0; k < hex; ++k) {
        const char h = (*s)[i++];
        if (!absl::ascii_isxdigit(h)) return false;
        cp = cp * 16 +
             static_cast<uint32_t>(absl::ascii_isdigit(h)
                                       ? h - '0'
                                       : absl::ascii_tolower(h) - 'a' + 10);
      }
      if (cp > 0x10FFFF) return false;
      AppendUtf8(cp, out);
    }
  }
  if (i >= s->size()) return false;
  s->remove_prefix(i + 1);
  return true;
}

// Parses Python's `str(tuple_of_str)`: "()", "('a',)", "('a', 'b')".
std::optional<std::vector<std::string>> ParsePyTuple(absl::string_view s) {
  std::vector<std::string> out;
  if (!absl::ConsumePrefix(&s, "(")) return std::nullopt;
  if (s == ")") return out;
  for (;;) {
    std::string item;
    if (!ParsePyString(&s, &item)) return std::nullopt;
    out.push_back(std::move(item));
    if (s == ")")
      return out.size() == 1 ? std::nullopt : std::optional(std::move(out));
    if (s == ",)" && out.size() == 1) return out;
    if (!absl::ConsumePrefix(&s, ", ")) return std::nullopt;
  }
}

constexpr int kSequenceKey = 1;
constexpr int kDictKey = 2;

LeafKind KindOf(const std::string& value_type, bool skip_deserialize) {
  if (skip_deserialize) return LeafKind::kEmpty;
  if (value_type == "scalar") return LeafKind::kScalar;
  if (value_type == "string") return LeafKind::kString;
  if (value_type == "jax.Array" || value_type == "np.ndarray") {
    return LeafKind::kArray;
  }
  return LeafKind::kEmpty;  // None, Dict, List, Tuple, placeholder, ...
}

// One `tree_metadata` entry; every field must have its JSON type (a value of
// the wrong type is an error, never converted).  Returns the problem, or "".
std::string LeafFromJson(const json& entry, LeafInfo* leaf) {
  if (!entry.is_object()) {
    return absl::StrCat("expected an object, got ", TypeName(entry));
  }
  auto km = entry.find("key_metadata");
  if (km == entry.end()) return "no key_metadata";
  if (!km->is_array()) return "key_metadata must be a list";
  for (const json& x : *km) {
    if (!x.is_object()) return "key_metadata entries must be objects";
    auto key = x.find("key");
    auto key_type = x.find("key_type");
    if (key == x.end()) return "a key_metadata entry has no key";
    if (key_type == x.end()) return "a key_metadata entry has no key_type";
    if (!key->is_string()) {
      return absl::StrCat("key ", Quote(*key), " is not a string");
    }
    if (!key_type->is_number_integer() ||
        (key_type->get<int64_t>() != kSequenceKey &&
         key_type->get<int64_t>() != kDictKey)) {
      return absl::StrCat("key_type ", Quote(*key_type), " is not 1 or 2");
    }
    leaf->key_path.push_back(PathKey{key->get<std::string>(),
                                     key_type->get<int64_t>() == kSequenceKey
                                         ? KeyType::kSequence
                                         : KeyType::kDict});
  }
  auto vm = entry.find("value_metadata");
  if (vm == entry.end()) return "no value_metadata";
  if (!vm->is_object()) return "value_metadata must be an object";
  auto vt = vm->find("value_type");
  if (vt == vm->end()) return "no value_metadata.value_type";
  if (!vt->is_string()) {
    return absl::StrCat("value_type ", Quote(*vt), " is not a string");
  }
  leaf->value_type = vt->get<std::string>();
  if (auto skip = vm->find("skip_deserialize"); skip != vm->end()) {
    if (!skip->is_boolean() && !skip->is_null()) {
      return absl::StrCat("skip_deserialize ", Quote(*skip),
                          " is not a boolean");
    }
    leaf->skip_deserialize = skip->is_boolean() && skip->get<bool>();
  }
  if (auto ws = vm->find("write_shape"); ws != vm->end() && !ws->is_null()) {
    bool ok = ws->is_array();
    std::vector<int64_t> shape;
    if (ok) {
      for (const json& n : *ws) {
        if (!n.is_number_integer() || n.get<int64_t>() < 0) {
          ok = false;
          break;
        }
        shape.push_back(n.get<int64_t>());
      }
    }
    if (!ok) {
      return absl::StrCat("write_shape ", Quote(*ws),
                          " is not a list of sizes");
    }
    leaf->write_shape = std::move(shape);
  }
  leaf->kind = KindOf(leaf->value_type, leaf->skip_deserialize);
  leaf->name = absl::StrJoin(
      leaf->key_path, ".",
      [](std::string* out, const PathKey& k) { out->append(k.key); });
  return "";
}

// Sequence indices sort numerically before dict keys, which sort as strings
// (UTF-8 byte order is code point order).
struct SortPart {
  bool is_key = false;
  std::string digits;  // an index without leading zeros (any length)
  std::string key;

  bool operator<(const SortPart& o) const {
    if (is_key != o.is_key) return !is_key;
    if (is_key) return key < o.key;
    if (digits.size() != o.digits.size()) {
      return digits.size() < o.digits.size();
    }
    return digits < o.digits;
  }
};
using SortKey = std::vector<SortPart>;

SortKey MakeSortKey(const std::vector<PathKey>& path) {
  SortKey k;
  for (const PathKey& p : path) {
    const bool digits =
        !p.key.empty() && std::all_of(p.key.begin(), p.key.end(), [](char c) {
          return absl::ascii_isdigit(c);
        });
    SortPart part;
    if (p.type == KeyType::kSequence && digits) {
      part.digits = p.key.substr(
          std::min(p.key.find_first_not_of('0'), p.key.size() - 1));
    } else {
      part.is_key = true;
      part.key = p.key;
    }
    k.push_back(std::move(part));
  }
  return k;
}

// Sorts leaves by key path and drops those whose name tuple is a strict
// prefix of another's (a node recorded as a leaf and as a parent).
void SortAndDropPrefixes(std::vector<LeafInfo>* leaves) {
  std::vector<std::pair<SortKey, size_t>> order;
  order.reserve(leaves->size());
  for (size_t i = 0; i < leaves->size(); ++i) {
    order.emplace_back(MakeSortKey((*leaves)[i].key_path), i);
  }
  std::stable_sort(
      order.begin(), order.end(),
      [](const auto& a, const auto& b) { return a.first < b.first; });
  absl::flat_hash_map<std::string, bool> prefixes;  // joined with '\0'
  for (const LeafInfo& l : *leaves) {
    std::string p;
    for (size_t k = 0; k < l.key_path.size(); ++k) {
      prefixes[p] = true;
      absl::StrAppend(&p, l.key_path[k].key, std::string(1, '\0'));
    }
  }
  std::vector<LeafInfo> sorted;
  sorted.reserve(leaves->size());
  for (const auto& [key, i] : order) {
    LeafInfo& l = (*leaves)[i];
    std::string p;
    for (const PathKey& k : l.key_path) {
      absl::StrAppend(&p, k.key, std::string(1, '\0'));
    }
    if (!prefixes.contains(p)) sorted.push_back(std::move(l));
  }
  *leaves = std::move(sorted);
}

}  // namespace

absl::StatusOr<StepMetadata> ParseStepMetadata(absl::string_view bytes,
                                               absl::string_view file) {
  OCPX_ASSIGN_OR_RETURN(json d, ParseJson(bytes, file));
  if (!d.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": expected a JSON object, got ", TypeName(d)));
  }
  StepMetadata m;
  json custom = json::object();
  json extra = json::object();
  for (const auto& [k, v] : d.items()) {
    if (k == "item_handlers") {
      m.item_handlers = v.dump();
    } else if (k == "metrics") {
      if (v.is_object()) m.metrics = v.dump();
    } else if (k == "performance_metrics") {
      if (v.is_object()) m.performance_metrics = v.dump();
    } else if (k == "init_timestamp_nsecs" || k == "commit_timestamp_nsecs") {
      if (v.is_null()) continue;
      if (!v.is_number_integer()) {
        return absl::InvalidArgumentError(
            absl::StrCat(file, ": ", k, " is not an integer"));
      }
      (k == "init_timestamp_nsecs" ? m.init_timestamp_nsecs
                                   : m.commit_timestamp_nsecs) =
          v.get<int64_t>();
    } else if (k == "custom_metadata") {
      if (Truthy(v)) custom = v;
    } else {
      extra[k] = v;
    }
  }
  if (!extra.empty()) {
    if (Truthy(custom)) {
      std::vector<std::string> keys;
      for (const auto& [k, v] : extra.items()) keys.push_back(k);
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": unknown keys [", absl::StrJoin(keys, ", "),
                       "] alongside custom_metadata"));
    }
    custom = std::move(extra);
  }
  m.custom_metadata = custom.dump();
  return m;
}

absl::StatusOr<TreeMetadata> ParseTreeMetadata(absl::string_view bytes,
                                               absl::string_view file,
                                               bool has_ocdbt_manifest) {
  OCPX_ASSIGN_OR_RETURN(json d, ParseJson(bytes, file));
  auto tm = d.is_object() ? d.find("tree_metadata") : d.end();
  if (!d.is_object() || tm == d.end() || !tm->is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": missing 'tree_metadata' object"));
  }
  TreeMetadata out;
  for (const auto& [k, entry] : tm->items()) {
    LeafInfo leaf;
    std::string problem = LeafFromJson(entry, &leaf);
    if (problem.empty()) {
      // Each entry is keyed by its own key path (as Orbax writes it): a
      // mismatch means one of the two was damaged.
      std::vector<std::string> names;
      for (const PathKey& p : leaf.key_path) names.push_back(p.key);
      auto keyed = ParsePyTuple(k);
      if (!keyed.has_value() || *keyed != names) {
        problem = "its key_metadata names a different key path";
      }
    }
    if (!problem.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          file, ": malformed entry ", Quote(json(k)), ": ", problem));
    }
    out.leaves.push_back(std::move(leaf));
  }
  if (out.leaves.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": the saved PyTree is empty."));
  }
  SortAndDropPrefixes(&out.leaves);
  for (const char* field :
       {"use_ocdbt", "use_zarr3", "store_array_data_equal_to_fill_value"}) {
    auto f = d.find(field);
    if (f != d.end() && !f->is_boolean() && !f->is_null()) {
      return absl::InvalidArgumentError(absl::StrCat(
          file, ": ", field, " is ", Quote(*f), ", not a boolean"));
    }
  }
  auto flag = [&d](const char* field) -> std::optional<bool> {
    auto f = d.find(field);
    if (f == d.end() || f->is_null()) return std::nullopt;
    return f->get<bool>();
  };
  out.use_ocdbt = flag("use_ocdbt").value_or(has_ocdbt_manifest);
  out.use_zarr3 = flag("use_zarr3").value_or(false);
  out.store_array_data_equal_to_fill_value =
      flag("store_array_data_equal_to_fill_value").value_or(false);
  if (auto c = d.find("custom_metadata"); c != d.end()) {
    out.custom_metadata = c->dump();
  }
  if (auto v = d.find("value_metadata_tree"); v != d.end() && !v->is_null()) {
    if (!v->is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": value_metadata_tree is not a string"));
    }
    out.value_metadata_tree = v->get<std::string>();
  }
  return out;
}

absl::StatusOr<TreeMetadata> InferTreeMetadata(
    std::vector<std::string> params,
    const absl::flat_hash_map<std::string, std::string>& shardings,
    bool use_ocdbt, absl::string_view metadata_file) {
  if (params.empty()) {
    return absl::NotFoundError(absl::StrCat(
        metadata_file,
        ": PyTree metadata file not found and no arrays are stored beside "
        "it"));
  }
  std::sort(params.begin(), params.end());
  TreeMetadata out;
  out.inferred = true;
  out.use_ocdbt = use_ocdbt;
  out.use_zarr3 = std::nullopt;
  for (std::string& p : params) {
    LeafInfo leaf;
    for (absl::string_view part : absl::StrSplit(p, '.')) {
      leaf.key_path.push_back(PathKey{std::string(part), KeyType::kDict});
    }
    leaf.value_type = shardings.contains(p) ? "jax.Array" : "np.ndarray";
    leaf.kind = LeafKind::kArray;
    leaf.name = std::move(p);
    out.leaves.push_back(std::move(leaf));
  }
  return out;
}

absl::StatusOr<Shardings> ParseShardings(absl::string_view bytes,
                                         absl::string_view file) {
  Shardings out;
  auto doc = ParseJson(bytes, file);
  if (!doc.ok()) {
    out.warnings.push_back(
        absl::StrCat(doc.status().message(), "; ignoring the sharding file"));
    return out;
  }
  if (!doc->is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file,
                     ": expected a JSON object of param -> sharding, "
                     "got ",
                     TypeName(*doc)));
  }
  for (const auto& [k, v] : doc->items()) {
    if (!v.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(file, ": the sharding of ", Quote(json(k)), " is a ",
                       TypeName(v), ", not a JSON string"));
    }
    std::string name;
    if (!absl::WebSafeBase64Unescape(k, &name)) {
      out.warnings.push_back(
          absl::StrCat(file, ": bad key ", Quote(json(k)), "; ignoring it"));
      continue;
    }
    out.by_name[name] = v.get<std::string>();
  }
  return out;
}

struct StringValues::Doc {
  json value;
};

StringValues::StringValues(std::unique_ptr<Doc> doc, std::string file)
    : doc_(std::move(doc)), file_(std::move(file)) {}
StringValues::StringValues(StringValues&&) = default;
StringValues& StringValues::operator=(StringValues&&) = default;
StringValues::~StringValues() = default;

absl::StatusOr<StringValues> StringValues::Parse(absl::string_view bytes,
                                                 absl::string_view file) {
  OCPX_ASSIGN_OR_RETURN(json d, ParseJson(bytes, file));
  if (!d.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": expected a JSON object, got ", TypeName(d)));
  }
  auto doc = std::make_unique<Doc>();
  doc->value = std::move(d);
  return StringValues(std::move(doc), std::string(file));
}

absl::StatusOr<std::string> StringValues::Get(absl::string_view name) const {
  const json* node = &doc_->value;
  for (absl::string_view part : absl::StrSplit(name, '/')) {
    auto it = node->is_object() ? node->find(std::string(part)) : node->end();
    if (!node->is_object() || it == node->end()) {
      return absl::NotFoundError(
          absl::StrCat(file_, ": string leaf '", name, "' is missing"));
    }
    node = &*it;
  }
  if (!node->is_string()) {
    // A value of another JSON type was not written by a save: never convert.
    return absl::InvalidArgumentError(
        absl::StrCat(file_, ": string leaf '", name, "' holds a ",
                     TypeName(*node), ", not a string"));
  }
  return node->get<std::string>();
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
ParseRandomKeyImpls(absl::string_view bytes, absl::string_view file) {
  auto malformed = [file](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": malformed array metadata file: ", why));
  };
  auto doc = ParseJson(bytes, file);
  if (!doc.ok()) return malformed(doc.status().message());
  auto entries = doc->is_object() ? doc->find("array_metadatas") : doc->end();
  if (!doc->is_object() || entries == doc->end() || !entries->is_array()) {
    return malformed("no 'array_metadatas' list");
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (const json& e : *entries) {
    auto am = e.is_object() ? e.find("array_metadata") : e.end();
    if (!e.is_object() || am == e.end() || !am->is_object()) {
      return malformed(
          absl::StrCat("entry ", Quote(e), " has no 'array_metadata' object"));
    }
    auto ext = am->find("ext_metadata");
    if (ext == am->end() || !ext->is_object()) continue;
    auto impl = ext->find("random_key_impl");
    if (impl == ext->end() || !Truthy(*impl)) continue;
    auto param = am->find("param_name");
    if (param == am->end() || !param->is_string() || !impl->is_string()) {
      return malformed(absl::StrCat("entry ", Quote(*am),
                                    " needs a string param_name and "
                                    "random_key_impl"));
    }
    out.emplace_back(param->get<std::string>(), impl->get<std::string>());
  }
  return out;
}

}  // namespace internal_reader
}  // namespace ocpx
