#include "rules/bundle/bundle.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "rules/bundle/hashing.h"
#include "rules/bundle/utc_time.h"
#include "rules/list/canon.h"

namespace muhafiz::rules {

namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

constexpr std::string_view kDigestDomain = "muhafiz-list-digest 1\n";
constexpr std::string_view kSignatureAlgorithm = "ed25519";

std::string at(std::string_view name, size_t line) {
  return std::string(name) + ":" + std::to_string(line) + ": ";
}

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

bool has_control_char(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// List ids, publishers and categories end up in file names, metric labels and log lines.
bool is_meta_name(std::string_view s) {
  if (s.empty() || s.size() > kMaxMetaNameBytes) return false;
  const auto ok_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  };
  return std::all_of(s.begin(), s.end(), ok_char) && s.front() != '-' && s.front() != '.';
}

// ---------------------------------------------------------------------------------------------
// Canonical JSON text. Keys in a fixed order, compact, UTF-8 kept as is: the same list always
// gives the same bytes, which list_digest() relies on.

// `created` says when a bundle was written, not what the list holds: the digest leaves it out,
// so a full bundle and a delta of one version, built minutes apart, have the same digest.
enum class WithCreated : bool { kNo, kYes };

OrderedJson meta_json(const ListMeta& m, WithCreated with_created) {
  OrderedJson j;
  j["id"] = m.id;
  j["publisher"] = m.publisher;
  j["category"] = m.category;
  j["version"] = m.version;
  if (with_created == WithCreated::kYes) j["created"] = m.created;
  j["expires"] = m.expires;
  j["default_action"] = std::string(to_string(m.default_action));
  j["alert"] = m.alert;
  j["hash_key"] = m.hash_key;
  return j;
}

OrderedJson entry_json(const Entry& e) {
  OrderedJson j;
  j["id"] = e.id;
  j["kind"] = std::string(to_string(e.kind));
  j["value"] = e.value;
  if (e.action) j["action"] = std::string(to_string(*e.action));
  if (!e.evidence.empty()) j["evidence"] = e.evidence;
  return j;
}

std::string dump(const OrderedJson& j, std::string_view what) {
  try {
    return j.dump(-1, ' ', false, Json::error_handler_t::strict);
  } catch (const Json::exception&) {
    throw BundleError(std::string(what) + ": text is not valid UTF-8");
  }
}

// ---------------------------------------------------------------------------------------------
// Value checks shared by build and verify.

// nullopt when the entry is acceptable, else the reason.
std::optional<std::string> entry_problem(const Entry& e, const ListMeta& meta) {
  if (e.id.empty()) return "empty entry id";
  if (e.id.size() > kMaxEntryIdBytes) {
    return "entry id longer than " + std::to_string(kMaxEntryIdBytes) + " bytes";
  }
  const auto printable = [](char c) { return c > 0x20 && c < 0x7f; };
  if (!std::all_of(e.id.begin(), e.id.end(), printable)) {
    return "entry id must be printable ASCII without spaces";
  }
  if (e.evidence.size() > kMaxEvidenceBytes) {
    return "evidence longer than " + std::to_string(kMaxEvidenceBytes) + " bytes";
  }
  if (has_control_char(e.evidence)) return "evidence holds control characters";
  if (e.value.empty()) return "empty value";
  if (e.value.size() > kMaxEntryValueBytes) {
    return "value longer than " + std::to_string(kMaxEntryValueBytes) + " bytes";
  }
  std::string error;
  std::optional<std::string> canonical;
  switch (e.kind) {
    case EntryKind::kDomain:
    case EntryKind::kExact:
      canonical = canonical_host(e.value, &error);
      // An address is not a domain (no subdomains): rules/list refuses it when reading too.
      if (canonical && e.kind == EntryKind::kDomain &&
          (canonical->front() == '[' ||
           canonical->find_first_not_of("0123456789.") == std::string::npos)) {
        return "domain " + in_quotes(e.value) + " is an IP address: use kind exact or ip";
      }
      break;
    case EntryKind::kUrl:
      if (const auto url = canonical_url(e.value, &error)) canonical = url->text();
      break;
    case EntryKind::kIp:
      canonical = canonical_ip_prefix(e.value, &error);
      break;
    case EntryKind::kPattern:
      // Hyperscan syntax is checked when the ruleset is compiled (rules/match).
      if (e.value.size() > kMaxPatternBytes) {
        return "pattern longer than " + std::to_string(kMaxPatternBytes) + " bytes";
      }
      if (has_control_char(e.value)) return "pattern holds control characters";
      canonical = e.value;
      break;
    case EntryKind::kHashedDomain:
    case EntryKind::kHashedExact:
    case EntryKind::kHashedUrl:
      if (meta.hash_key.empty()) return "hashed entry in a list without a hash key";
      if (!is_lower_hex(e.value, kEntryHashBytes)) {
        return "hashed value is not " + std::to_string(kEntryHashHexChars) +
               " lower-case hex digits";
      }
      canonical = e.value;
      break;
  }
  if (!canonical) return std::string(to_string(e.kind)) + " " + in_quotes(e.value) + ": " + error;
  if (*canonical != e.value) {
    return std::string(to_string(e.kind)) + " " + in_quotes(e.value) + " is not canonical (" +
           in_quotes(*canonical) + ")";
  }
  return std::nullopt;
}

void check_meta(const ListMeta& m, const std::string& where) {
  const auto name_rule = " (lower-case letters, digits, '.', '-', '_'; at most " +
                         std::to_string(kMaxMetaNameBytes) + " bytes)";
  if (!is_meta_name(m.id))
    throw BundleError(where + "list id " + in_quotes(m.id) + " is not a name" + name_rule);
  if (!is_meta_name(m.publisher)) {
    throw BundleError(where + "publisher " + in_quotes(m.publisher) + " is not a name" + name_rule);
  }
  if (!is_meta_name(m.category)) {
    throw BundleError(where + "category " + in_quotes(m.category) + " is not a name" + name_rule);
  }
  if (m.version == 0) throw BundleError(where + "list version must be 1 or more");
  if (m.created < 0) throw BundleError(where + "created before 1970");
  if (m.expires < 0 || (m.expires != 0 && m.expires <= m.created)) {
    throw BundleError(where + "expires (" + format_utc(m.expires) + ") is not after created (" +
                      format_utc(m.created) + ")");
  }
  if (!m.hash_key.empty() && !is_lower_hex(m.hash_key, kHashKeyBytes)) {
    throw BundleError(where + "hash_key is not " + std::to_string(2 * kHashKeyBytes) +
                      " lower-case hex digits");
  }
}

void check_digest_text(std::string_view digest, std::string_view field, const std::string& where) {
  if (!is_lower_hex(digest, kDigestBytes)) {
    throw BundleError(where + std::string(field) + " is not " + std::to_string(2 * kDigestBytes) +
                      " lower-case hex digits");
  }
}

// Entry ids unique, one entry per (kind, value). `line_of` gives the line for messages (0: none).
template <typename LineOf>
void check_entries(const std::vector<Entry>& entries, const ListMeta& meta, std::string_view name,
                   LineOf line_of) {
  std::unordered_map<std::string_view, size_t> by_id;
  std::unordered_map<std::string, size_t> by_value;
  by_id.reserve(entries.size());
  by_value.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    const size_t line = line_of(i);
    const std::string where = line != 0 ? at(name, line) : std::string(name) + ": ";
    if (const auto problem = entry_problem(e, meta)) {
      throw BundleError(where + "entry " + in_quotes(e.id) + ": " + *problem);
    }
    if (const auto [it, fresh] = by_id.emplace(e.id, i); !fresh) {
      throw BundleError(where + "entry id " + in_quotes(e.id) + " is used twice");
    }
    std::string key = std::string(to_string(e.kind)) + " " + e.value;
    if (const auto [it, fresh] = by_value.emplace(std::move(key), i); !fresh) {
      throw BundleError(where + "entries " + in_quotes(entries[it->second].id) + " and " +
                        in_quotes(e.id) + " both hold " + std::string(to_string(e.kind)) + " " +
                        e.value);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Strict JSON reading: unknown, missing, duplicate or mistyped fields are errors.

Json parse_json_line(std::string_view line, const std::string& where) {
  std::vector<std::vector<std::string>> keys;  // per open object
  std::string duplicate;
  const Json::parser_callback_t track = [&](int, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (event == Json::parse_event_t::object_end) {
      if (!keys.empty()) keys.pop_back();
    } else if (event == Json::parse_event_t::key && !keys.empty()) {
      auto& seen = keys.back();
      const auto& key = parsed.get_ref<const std::string&>();
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
        if (duplicate.empty()) duplicate = key;
      } else {
        seen.push_back(key);
      }
    }
    return true;
  };
  Json j;
  try {
    j = Json::parse(line.begin(), line.end(), track);
  } catch (const Json::parse_error& e) {
    std::string msg = e.what();
    if (const auto pos = msg.find("] "); pos != std::string::npos) msg.erase(0, pos + 2);
    throw BundleError(where + "not valid JSON: " + msg);
  }
  if (!duplicate.empty())
    throw BundleError(where + "field " + in_quotes(duplicate) + " appears twice");
  if (!j.is_object()) throw BundleError(where + "expected a JSON object");
  return j;
}

class StrictObject {
 public:
  StrictObject(const Json& j, std::string where) : j_(j), where_(std::move(where)) {}

  bool has(const char* key) const { return j_.contains(key); }

  std::string str(const char* key, size_t max_bytes) {
    const Json& v = get(key);
    if (!v.is_string()) throw wrong_type(key, "a string");
    const auto& s = v.get_ref<const std::string&>();
    if (s.size() > max_bytes) {
      throw BundleError(where_ + "field " + in_quotes(key) + " is longer than " +
                        std::to_string(max_bytes) + " bytes");
    }
    return s;
  }

  uint64_t u64(const char* key) {
    const Json& v = get(key);
    if (!v.is_number_unsigned()) throw wrong_type(key, "a non-negative integer");
    return v.get<uint64_t>();
  }

  int64_t i64(const char* key) {
    const Json& v = get(key);
    if (v.is_number_unsigned()) {
      const auto u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        throw wrong_type(key, "an integer of 63 bits");
      }
      return static_cast<int64_t>(u);
    }
    if (!v.is_number_integer()) throw wrong_type(key, "an integer");
    return v.get<int64_t>();
  }

  bool boolean(const char* key) {
    const Json& v = get(key);
    if (!v.is_boolean()) throw wrong_type(key, "true or false");
    return v.get<bool>();
  }

  const Json& object(const char* key) {
    const Json& v = get(key);
    if (!v.is_object()) throw wrong_type(key, "an object");
    return v;
  }

  // Every field must have been read: unknown fields are errors (a newer format, or a typo).
  void done() const {
    for (const auto& [key, value] : j_.items()) {
      if (std::find(read_.begin(), read_.end(), key) == read_.end()) {
        throw BundleError(where_ + "unknown field " + in_quotes(key));
      }
    }
  }

  const std::string& where() const { return where_; }

 private:
  const Json& get(const char* key) {
    const auto it = j_.find(key);
    if (it == j_.end()) throw BundleError(where_ + "missing field " + in_quotes(key));
    read_.emplace_back(key);
    return *it;
  }

  BundleError wrong_type(const char* key, const char* expected) const {
    return BundleError(where_ + "field " + in_quotes(key) + " must be " + expected);
  }

  const Json& j_;
  std::string where_;
  std::vector<std::string> read_;
};

ListMeta read_meta(const Json& j, const std::string& where) {
  StrictObject o(j, where + "list: ");
  ListMeta m;
  m.id = o.str("id", kMaxMetaNameBytes);
  m.publisher = o.str("publisher", kMaxMetaNameBytes);
  m.category = o.str("category", kMaxMetaNameBytes);
  m.version = o.u64("version");
  m.created = o.i64("created");
  m.expires = o.i64("expires");
  const std::string action = o.str("default_action", kMaxMetaNameBytes);
  const auto parsed_action = action_from_string(action);
  if (!parsed_action) throw BundleError(o.where() + "unknown default_action " + in_quotes(action));
  m.default_action = *parsed_action;
  m.alert = o.boolean("alert");
  m.hash_key = o.str("hash_key", 2 * kHashKeyBytes);
  o.done();
  check_meta(m, where);
  return m;
}

Entry read_entry(std::string_view line, const std::string& where) {
  const Json j = parse_json_line(line, where);
  StrictObject o(j, where + "entry: ");
  Entry e;
  e.id = o.str("id", kMaxEntryIdBytes);
  const std::string kind = o.str("kind", kMaxMetaNameBytes);
  const auto parsed_kind = entry_kind_from_string(kind);
  if (!parsed_kind) throw BundleError(o.where() + "unknown kind " + in_quotes(kind));
  e.kind = *parsed_kind;
  e.value = o.str("value", kMaxEntryValueBytes);
  if (o.has("action")) {
    const std::string action = o.str("action", kMaxMetaNameBytes);
    const auto parsed_action = action_from_string(action);
    if (!parsed_action) throw BundleError(o.where() + "unknown action " + in_quotes(action));
    e.action = *parsed_action;
  }
  if (o.has("evidence")) {
    e.evidence = o.str("evidence", kMaxEvidenceBytes);
    if (e.evidence.empty())
      throw BundleError(o.where() + "empty evidence is written by leaving it out");
  }
  o.done();
  return e;
}

// ---------------------------------------------------------------------------------------------
// Reading the file.

struct SignatureLine {
  std::string key_id;
  std::array<uint8_t, kSignatureBytes> signature{};
};

// Lines of `text` (each without its '\n'); `text` ends with '\n'.
class LineCursor {
 public:
  LineCursor(std::string_view text, size_t first_line_no) : text_(text), line_no_(first_line_no) {}
  bool done() const { return pos_ >= text_.size(); }
  size_t line_no() const { return line_no_; }
  std::string_view next() {
    const size_t end = text_.find('\n', pos_);
    const std::string_view line = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    ++line_no_;
    return line;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  size_t line_no_;  // of the line next() returns next, minus one
};

uint32_t read_format_line(std::string_view bytes, std::string_view name) {
  const std::string not_bundle = std::string(name) +
                                 ": not a muhafiz bundle (the first line is not " +
                                 in_quotes(std::string(kBundleMagic) + " 1") + ")";
  const size_t eol = bytes.find('\n');
  const std::string_view first = bytes.substr(0, std::min(eol, size_t{64}));
  if (!first.starts_with(kBundleMagic) || first.size() <= kBundleMagic.size() ||
      first[kBundleMagic.size()] != ' ') {
    throw BundleError(not_bundle);
  }
  if (eol == std::string_view::npos)
    throw BundleError(std::string(name) + ": truncated after the first line");
  const std::string_view digits = first.substr(kBundleMagic.size() + 1);
  uint32_t version = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), version);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || digits.empty() ||
      (digits.size() > 1 && digits.front() == '0')) {
    throw BundleError(not_bundle);
  }
  if (version != kBundleFormatVersion) {
    throw BundleError(std::string(name) + ": bundle format version " + std::to_string(version) +
                      " is not supported (this muhafiz reads version " +
                      std::to_string(kBundleFormatVersion) + "); upgrade muhafiz");
  }
  return version;
}

// Splits the file into signed bytes and the signature line.
SignatureLine read_signature_line(std::string_view bytes, std::string_view name, size_t* signed_len,
                                  size_t* line_count) {
  if (bytes.back() != '\n') {
    throw BundleError(std::string(name) +
                      ": truncated: the last line is incomplete (no signature line at the end)");
  }
  const size_t prev_eol = bytes.rfind('\n', bytes.size() - 2);
  const size_t start = prev_eol == std::string_view::npos ? 0 : prev_eol + 1;
  *line_count = static_cast<size_t>(std::count(bytes.begin(), bytes.end(), '\n'));
  const std::string_view line = bytes.substr(start, bytes.size() - 1 - start);
  if (start == 0 || !line.starts_with(kSignaturePrefix)) {
    throw BundleError(std::string(name) +
                      ": no signature line at the end: the file is truncated or was never signed");
  }
  const std::string where = at(name, *line_count);
  // "SIGNATURE ed25519 <16 hex key id> <128 hex signature>", single spaces.
  std::vector<std::string_view> f;
  size_t pos = 0;
  while (f.size() < 5) {
    const size_t sp = line.find(' ', pos);
    f.push_back(line.substr(pos, sp == std::string_view::npos ? std::string_view::npos : sp - pos));
    if (sp == std::string_view::npos) break;
    pos = sp + 1;
  }
  if (f.size() != 4) {
    throw BundleError(where + "signature line is not \"SIGNATURE ed25519 <key id> <signature>\"");
  }
  if (f[1] != kSignatureAlgorithm) {
    throw BundleError(where + "unsupported signature algorithm " + in_quotes(f[1]) +
                      " (only ed25519)");
  }
  SignatureLine sig;
  if (!is_lower_hex(f[2], kKeyIdBytes))
    throw BundleError(where + "key id is not 16 lower-case hex digits");
  sig.key_id = std::string(f[2]);
  if (!is_lower_hex(f[3], kSignatureBytes) || !from_hex(f[3], sig.signature)) {
    throw BundleError(where + "signature is not 128 lower-case hex digits");
  }
  *signed_len = start;
  return sig;
}

void check_signature(std::string_view signed_bytes, const SignatureLine& sig, std::string_view name,
                     const PublicKey& key) {
  const std::string pinned = key.id();
  if (!verify_signature(key, signed_bytes, sig.signature)) {
    if (sig.key_id != pinned) {
      throw BundleError(std::string(name) + ": signature does not verify with the pinned key " +
                        pinned + ": the bundle says it was signed by key " + sig.key_id +
                        " (another publisher's key, or a new key not pinned here)");
    }
    throw BundleError(std::string(name) + ": signature does not verify with key " + pinned +
                      ": the bundle was changed after signing or signed by another key");
  }
  if (sig.key_id != pinned) {
    throw BundleError(std::string(name) + ": the signature line names key " + sig.key_id +
                      " but the signature is by key " + pinned + ": the line was edited");
  }
}

Bundle parse_bundle(std::string_view bytes, std::string_view name, const PublicKey* key) {
  if (bytes.size() > kMaxBundleBytes) {
    throw BundleError(std::string(name) + ": larger than the limit of " +
                      std::to_string(kMaxBundleBytes) + " bytes");
  }
  if (bytes.empty()) throw BundleError(std::string(name) + ": empty file");
  read_format_line(bytes, name);
  size_t signed_len = 0;
  size_t line_count = 0;
  const SignatureLine sig = read_signature_line(bytes, name, &signed_len, &line_count);
  const std::string_view signed_bytes = bytes.substr(0, signed_len);
  if (key != nullptr) check_signature(signed_bytes, sig, name, *key);

  Bundle b;
  b.signer_key_id = sig.key_id;
  LineCursor lines(signed_bytes.substr(signed_bytes.find('\n') + 1), 1);
  if (lines.done()) throw BundleError(std::string(name) + ": no header line");

  // Header.
  const std::string_view header_line = lines.next();
  const std::string hwhere = at(name, lines.line_no());
  if (header_line.size() > kMaxBundleLineBytes) throw BundleError(hwhere + "header line too long");
  const Json hj = parse_json_line(header_line, hwhere);
  StrictObject h(hj, hwhere + "header: ");
  const std::string type = h.str("type", 16);
  if (type == "full") {
    b.type = BundleType::kFull;
  } else if (type == "delta") {
    b.type = BundleType::kDelta;
  } else {
    throw BundleError(h.where() + "type " + in_quotes(type) + " is neither \"full\" nor \"delta\"");
  }
  b.meta = read_meta(h.object("list"), hwhere);
  b.digest = h.str("digest", 2 * kDigestBytes);
  check_digest_text(b.digest, "digest", h.where());
  uint64_t removed_count = 0;
  if (b.type == BundleType::kDelta) {
    b.base_version = h.u64("base_version");
    b.base_digest = h.str("base_digest", 2 * kDigestBytes);
    check_digest_text(b.base_digest, "base_digest", h.where());
    if (b.base_version == 0 || b.base_version >= b.meta.version) {
      throw BundleError(h.where() + "base_version " + std::to_string(b.base_version) +
                        " is not below the list version " + std::to_string(b.meta.version));
    }
    removed_count = h.u64("removed");
  }
  const uint64_t entry_count = h.u64("entries");
  h.done();
  if (entry_count > kMaxBundleEntries || removed_count > kMaxBundleEntries) {
    throw BundleError(hwhere + "more than " + std::to_string(kMaxBundleEntries) + " entries");
  }

  // Lines between the header and the signature: format, header and signature lines excluded.
  const uint64_t body_lines = line_count - 3;
  if (body_lines != entry_count + removed_count) {
    std::string claimed = std::to_string(entry_count) + " entries";
    if (b.type == BundleType::kDelta)
      claimed += " and " + std::to_string(removed_count) + " removals";
    throw BundleError(hwhere + "the header announces " + claimed + " but the bundle holds " +
                      std::to_string(body_lines) + " lines between header and signature");
  }

  b.entries.reserve(static_cast<size_t>(entry_count));
  const size_t first_entry_line = lines.line_no() + 1;
  for (uint64_t i = 0; i < entry_count; ++i) {
    const std::string_view line = lines.next();
    const std::string where = at(name, lines.line_no());
    if (line.size() > kMaxBundleLineBytes) throw BundleError(where + "line too long");
    b.entries.push_back(read_entry(line, where));
  }
  const size_t first_removed_line = lines.line_no() + 1;
  b.removed.reserve(static_cast<size_t>(removed_count));
  for (uint64_t i = 0; i < removed_count; ++i) {
    const std::string_view line = lines.next();
    const std::string where = at(name, lines.line_no());
    if (line.size() > kMaxBundleLineBytes) throw BundleError(where + "line too long");
    const Json j = parse_json_line(line, where);
    StrictObject o(j, where + "removal: ");
    b.removed.push_back(o.str("removed", kMaxEntryIdBytes));
    o.done();
    if (b.removed.back().empty()) throw BundleError(o.where() + "empty entry id");
  }

  check_entries(b.entries, b.meta, name, [&](size_t i) { return first_entry_line + i; });
  if (b.type == BundleType::kFull) {
    const std::string digest = list_digest(List{b.meta, b.entries});
    if (digest != b.digest) {
      throw BundleError(hwhere + "header digest " + b.digest + " does not match the entries (" +
                        digest + "): the bundle was made by a faulty tool");
    }
  } else {
    std::unordered_set<std::string_view> added;
    for (const Entry& e : b.entries) added.insert(e.id);
    std::unordered_set<std::string_view> seen;
    for (size_t i = 0; i < b.removed.size(); ++i) {
      const std::string& id = b.removed[i];
      const std::string where = at(name, first_removed_line + i);
      if (!seen.insert(id).second)
        throw BundleError(where + "entry " + in_quotes(id) + " removed twice");
      if (added.contains(id))
        throw BundleError(where + "entry " + in_quotes(id) + " both added and removed");
    }
  }
  return b;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string list_digest(const List& list) {
  init_sodium();
  std::vector<const Entry*> sorted;
  sorted.reserve(list.entries.size());
  for (const Entry& e : list.entries) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(),
            [](const Entry* a, const Entry* b) { return a->id < b->id; });

  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, kDigestBytes);
  const auto feed = [&state](std::string_view s) {
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(s.data()), s.size());
  };
  feed(kDigestDomain);
  feed(dump(meta_json(list.meta, WithCreated::kNo), "list " + list.meta.id));
  feed("\n");
  for (const Entry* e : sorted) {
    feed(dump(entry_json(*e), "entry " + in_quotes(e->id)));
    feed("\n");
  }
  std::array<uint8_t, kDigestBytes> out{};
  crypto_generichash_final(&state, out.data(), out.size());
  return to_hex(out);
}

void validate_list(const List& list, std::string_view name) {
  check_meta(list.meta, std::string(name) + ": ");
  if (list.entries.size() > kMaxBundleEntries) {
    throw BundleError(std::string(name) + ": more than " + std::to_string(kMaxBundleEntries) +
                      " entries");
  }
  check_entries(list.entries, list.meta, name, [](size_t) { return size_t{0}; });
}

Bundle make_full_bundle(const List& list) {
  Bundle b;
  b.type = BundleType::kFull;
  b.meta = list.meta;
  b.entries = list.entries;
  b.digest = list_digest(list);
  return b;
}

Bundle make_delta(const List& old_list, const List& new_list) {
  if (old_list.meta.id != new_list.meta.id) {
    throw BundleError("delta: lists " + in_quotes(old_list.meta.id) + " and " +
                      in_quotes(new_list.meta.id) +
                      " differ; a delta joins two versions of one list");
  }
  if (new_list.meta.version <= old_list.meta.version) {
    throw BundleError("delta: the new version " + std::to_string(new_list.meta.version) +
                      " is not above the base version " + std::to_string(old_list.meta.version));
  }
  Bundle d;
  d.type = BundleType::kDelta;
  d.meta = new_list.meta;
  d.digest = list_digest(new_list);
  d.base_version = old_list.meta.version;
  d.base_digest = list_digest(old_list);
  const ListDiff diff = diff_lists(old_list, new_list);
  std::unordered_set<std::string_view> changed;
  for (const auto& [before, after] : diff.changed) changed.insert(after.id);
  std::unordered_set<std::string_view> added;
  for (const Entry& e : diff.added) added.insert(e.id);
  // New-list order, so a delta reads like the list it produces.
  for (const Entry& e : new_list.entries) {
    if (added.contains(e.id) || changed.contains(e.id)) d.entries.push_back(e);
  }
  for (const Entry& e : diff.removed) d.removed.push_back(e.id);
  return d;
}

List apply_delta(const List& base, const Bundle& delta, std::string_view delta_name) {
  const std::string name(delta_name);
  if (delta.type != BundleType::kDelta) throw BundleError(name + ": not a delta bundle");
  if (base.meta.id != delta.meta.id) {
    throw BundleError(name + ": a delta of list " + in_quotes(delta.meta.id) +
                      " cannot apply to list " + in_quotes(base.meta.id));
  }
  if (base.meta.version != delta.base_version) {
    throw BundleError(name + ": applies to version " + std::to_string(delta.base_version) + " of " +
                      delta.meta.id + ", but the list at hand is version " +
                      std::to_string(base.meta.version) + "; fetch the full bundle");
  }
  if (list_digest(base) != delta.base_digest) {
    throw BundleError(name + ": the list at hand is version " + std::to_string(base.meta.version) +
                      " but not the content this delta was made from; fetch the full bundle");
  }
  List out;
  out.meta = delta.meta;
  out.entries.reserve(base.entries.size() + delta.entries.size());
  std::unordered_set<std::string_view> removed(delta.removed.begin(), delta.removed.end());
  std::unordered_map<std::string_view, const Entry*> replaced;
  for (const Entry& e : delta.entries) replaced.emplace(e.id, &e);
  std::unordered_set<std::string_view> base_ids;
  for (const Entry& e : base.entries) {
    base_ids.insert(e.id);
    if (removed.contains(e.id)) continue;
    const auto it = replaced.find(e.id);
    out.entries.push_back(it == replaced.end() ? e : *it->second);
  }
  for (const std::string& id : delta.removed) {
    if (!base_ids.contains(id)) {
      throw BundleError(name + ": removes entry " + in_quotes(id) + ", which version " +
                        std::to_string(base.meta.version) + " does not hold");
    }
  }
  for (const Entry& e : delta.entries) {
    if (!base_ids.contains(e.id)) out.entries.push_back(e);
  }
  validate_list(out, name);
  if (list_digest(out) != delta.digest) {
    throw BundleError(name +
                      ": the list after applying the delta differs from the publisher's version " +
                      std::to_string(delta.meta.version) + "; fetch the full bundle");
  }
  return out;
}

List bundle_list(const Bundle& full, std::string_view name) {
  if (full.type != BundleType::kFull) {
    throw BundleError(std::string(name) + ": a delta bundle (from version " +
                      std::to_string(full.base_version) + "); a full bundle is needed here");
  }
  return List{full.meta, full.entries};
}

std::string bundle_body(const Bundle& b) {
  OrderedJson header;
  header["type"] = b.type == BundleType::kFull ? "full" : "delta";
  header["list"] = meta_json(b.meta, WithCreated::kYes);
  header["digest"] = b.digest;
  if (b.type == BundleType::kDelta) {
    header["base_version"] = b.base_version;
    header["base_digest"] = b.base_digest;
  }
  header["entries"] = b.entries.size();
  if (b.type == BundleType::kDelta) header["removed"] = b.removed.size();

  std::string out = std::string(kBundleMagic) + " " + std::to_string(kBundleFormatVersion) + "\n";
  out += dump(header, "list " + b.meta.id);
  out += '\n';
  for (const Entry& e : b.entries) {
    out += dump(entry_json(e), "entry " + in_quotes(e.id));
    out += '\n';
  }
  for (const std::string& id : b.removed) {
    OrderedJson r;
    r["removed"] = id;
    out += dump(r, "removal " + in_quotes(id));
    out += '\n';
  }
  return out;
}

std::string sign_bundle_body(std::string body, const SecretKey& key) {
  const auto sig = key.sign(body);
  body += kSignaturePrefix;
  body += kSignatureAlgorithm;
  body += ' ';
  body += key.public_key().id();
  body += ' ';
  body += to_hex(sig);
  body += '\n';
  return body;
}

std::string write_bundle_text(const Bundle& bundle, const SecretKey& key) {
  return sign_bundle_body(bundle_body(bundle), key);
}

Bundle verify_bundle(std::string_view bytes, std::string_view name, const PublicKey& key,
                     const VerifyOptions& opts) {
  Bundle b = parse_bundle(bytes, name, &key);
  const std::string where = std::string(name) + ": ";
  const std::string list = b.meta.id + " version " + std::to_string(b.meta.version);
  if (opts.expected_list_id && *opts.expected_list_id != b.meta.id) {
    throw BundleError(where + "holds list " + in_quotes(b.meta.id) + ", expected " +
                      in_quotes(*opts.expected_list_id));
  }
  const int64_t now = opts.now != 0 ? opts.now : unix_now();
  if (!opts.allow_expired && b.meta.expires != 0 && b.meta.expires <= now) {
    throw BundleError(where + "list " + list + " expired on " + format_utc(b.meta.expires) +
                      " (UTC); ask the publisher for a current version");
  }
  if (b.meta.version < opts.min_version) {
    throw BundleError(where + "list " + list + " is older than version " +
                      std::to_string(opts.min_version) + " already accepted: refusing a rollback");
  }
  if (b.meta.version == opts.min_version && !opts.known_digest.empty() &&
      b.digest != opts.known_digest) {
    throw BundleError(where + "list " + list + " differs from the version " +
                      std::to_string(opts.min_version) + " already accepted (digest " +
                      b.digest.substr(0, 16) + "..., accepted " + opts.known_digest.substr(0, 16) +
                      "...): a publisher must not reuse a version number");
  }
  return b;
}

Bundle read_bundle(const std::string& path, const PublicKey& key, const VerifyOptions& opts) {
  return verify_bundle(read_file(path, kMaxBundleBytes), path, key, opts);
}

Bundle inspect_bundle(std::string_view bytes, std::string_view name) {
  return parse_bundle(bytes, name, nullptr);
}

Bundle inspect_bundle_file(const std::string& path) {
  return inspect_bundle(read_file(path, kMaxBundleBytes), path);
}

ListDiff diff_lists(const List& old_list, const List& new_list) {
  std::unordered_map<std::string_view, const Entry*> old_by_id;
  old_by_id.reserve(old_list.entries.size());
  for (const Entry& e : old_list.entries) old_by_id.emplace(e.id, &e);
  std::unordered_set<std::string_view> new_ids;
  new_ids.reserve(new_list.entries.size());
  ListDiff diff;
  for (const Entry& e : new_list.entries) {
    new_ids.insert(e.id);
    const auto it = old_by_id.find(e.id);
    if (it == old_by_id.end()) {
      diff.added.push_back(e);
    } else if (!(*it->second == e)) {
      diff.changed.emplace_back(*it->second, e);
    }
  }
  for (const Entry& e : old_list.entries) {
    if (!new_ids.contains(e.id)) diff.removed.push_back(e);
  }
  return diff;
}

}  // namespace muhafiz::rules
