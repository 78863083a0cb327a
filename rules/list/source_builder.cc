#include "rules/list/source_builder.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>

#include "rules/list/canon.h"

namespace muhafiz::rules::detail {
namespace {

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Well-formed UTF-8 (RFC 3629 §4): no overlongs, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (b < 0x80) {
      ++i;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      n = 1;
      cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      cp = b & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

constexpr std::string_view kKindList =
    "domain, exact, url, pattern, ip, hashed_domain, hashed_exact or hashed_url";
constexpr std::string_view kActionList = "block, nxdomain, nodata, redirect, drop or allow";

std::string value_key(EntryKind kind, std::string_view value) {
  std::string key(to_string(kind));
  key += '\0';
  key += value;
  return key;
}

std::string action_text(const std::optional<Action>& a) {
  return a ? std::string(to_string(*a)) : std::string("(list default)");
}

}  // namespace

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view strip_bom(std::string_view text) {
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (text.substr(0, kBom.size()) == kBom) text.remove_prefix(kBom.size());
  return text;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    const size_t next = end == std::string_view::npos ? text.size() : end + 1;
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = next;
  }
  return lines;
}

std::string derive_id(EntryKind kind, std::string_view value) {
  std::string input(to_string(kind));
  input += ':';
  input += value;
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int md_len = 0;
  EVP_Digest(input.data(), input.size(), md.data(), &md_len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (size_t i = 0; i < kDerivedIdHexLen / 2; ++i) {
    id += kHex[md[i] >> 4];
    id += kHex[md[i] & 0xf];
  }
  return id;
}

std::optional<std::string> canonical_value(EntryKind kind, std::string_view value,
                                           std::string* error) {
  if (value.empty()) {
    *error = "empty value";
    return std::nullopt;
  }
  switch (kind) {
    case EntryKind::kDomain:
    case EntryKind::kExact: {
      if (value.substr(0, 2) == "*.") {
        *error = "'" + std::string(value) +
                 "': no wildcard needed, kind domain covers the name and every subdomain";
        return std::nullopt;
      }
      if (value.find("://") != std::string_view::npos) {
        *error = "'" + std::string(value) +
                 "' is a URL, not a host name (give the host alone, or use kind url)";
        return std::nullopt;
      }
      auto host = canonical_host(value, error);
      if (host && kind == EntryKind::kDomain &&
          (host->front() == '[' || host->find_first_not_of("0123456789.") == std::string::npos)) {
        *error = "'" + *host + "' is an IP address, not a domain: use kind exact (HTTP Host) " +
                 "or ip (destination address)";
        return std::nullopt;
      }
      return host;
    }
    case EntryKind::kUrl: {
      auto url = canonical_url(value, error);
      if (!url) return std::nullopt;
      return url->text();
    }
    case EntryKind::kPattern:
      if (value.size() > kMaxPatternLen) {
        *error = "pattern longer than " + std::to_string(kMaxPatternLen) + " bytes";
        return std::nullopt;
      }
      return std::string(value);
    case EntryKind::kIp:
      return canonical_ip_prefix(value, error);
    case EntryKind::kHashedDomain:
    case EntryKind::kHashedExact:
    case EntryKind::kHashedUrl:
      if (value.size() != kHashedValueHexLen ||
          !std::all_of(value.begin(), value.end(), [](char c) { return is_hex(c); })) {
        *error = "hashed value must be exactly " + std::to_string(kHashedValueHexLen) +
                 " hex digits, got '" + std::string(value) + "'";
        return std::nullopt;
      }
      return ascii_lower(value);
  }
  *error = "unknown kind";
  return std::nullopt;
}

std::optional<Entry> make_entry(const RawEntry& raw, std::string* error, EntryField* bad_field) {
  const auto bad = [&](EntryField f) {
    if (bad_field != nullptr) *bad_field = f;
    return std::nullopt;
  };
  Entry e;
  const auto kind = entry_kind_from_string(ascii_lower(raw.kind));
  if (!kind) {
    *error = raw.kind.empty() ? "missing kind (expected " + std::string(kKindList) + ")"
                              : "unknown kind '" + std::string(raw.kind) + "' (expected " +
                                    std::string(kKindList) + ")";
    return bad(EntryField::kKind);
  }
  e.kind = *kind;
  auto value = canonical_value(*kind, raw.value, error);
  if (!value) return bad(EntryField::kValue);
  e.value = std::move(*value);
  if (!raw.action.empty()) {
    e.action = action_from_string(ascii_lower(raw.action));
    if (!e.action) {
      *error = "unknown action '" + std::string(raw.action) + "' (expected " +
               std::string(kActionList) + ")";
      return bad(EntryField::kAction);
    }
  }
  if (!raw.id.empty()) {
    if (raw.id.size() > kMaxIdLen) {
      *error = "id longer than " + std::to_string(kMaxIdLen) + " bytes";
      return bad(EntryField::kId);
    }
    for (char c : raw.id) {
      const auto b = static_cast<unsigned char>(c);
      if (b <= 0x20 || b >= 0x7f) {
        *error = "id '" + std::string(raw.id) + "' must be printable ASCII without spaces";
        return bad(EntryField::kId);
      }
    }
    e.id = std::string(raw.id);
  }
  if (raw.evidence.size() > kMaxEvidenceLen) {
    *error = "evidence longer than " + std::to_string(kMaxEvidenceLen) + " bytes";
    return bad(EntryField::kEvidence);
  }
  for (char c : raw.evidence) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f) {
      *error = "control character in evidence";
      return bad(EntryField::kEvidence);
    }
  }
  if (!valid_utf8(raw.evidence)) {
    *error = "evidence is not valid UTF-8";
    return bad(EntryField::kEvidence);
  }
  e.evidence = std::string(raw.evidence);
  return e;
}

void SourceBuilder::push(std::vector<SourceError>& to, size_t& overflow, size_t line,
                         std::string reason) {
  if (to.size() < kMaxReported) {
    to.push_back(SourceError{name_, line, std::move(reason)});
  } else {
    ++overflow;
  }
}

void SourceBuilder::error(size_t line, std::string reason) {
  push(errors_, errors_overflow_, line, std::move(reason));
}

void SourceBuilder::note(size_t line, std::string reason) {
  push(notes_, notes_overflow_, line, std::move(reason));
}

void SourceBuilder::fatal(size_t line, std::string reason) {
  // Always kept, even past the cap: it is why reading stopped.
  errors_.push_back(SourceError{name_, line, std::move(reason)});
  fatal_ = true;
  throw FatalSourceError{};
}

bool SourceBuilder::has_value(EntryKind kind, std::string_view value) const {
  return by_value_.contains(value_key(kind, value));
}

void SourceBuilder::add(size_t line, Entry entry) {
  std::string key = value_key(entry.kind, entry.value);
  if (const auto it = by_value_.find(key); it != by_value_.end()) {
    const Entry& first = entries_[it->second.index];
    const std::string what = std::string(to_string(entry.kind)) + " " + entry.value;
    if (first.action != entry.action) {
      error(line, what + ": action " + action_text(entry.action) + " conflicts with action " +
                      action_text(first.action) + " at line " + std::to_string(it->second.line));
    } else {
      note(line, "duplicate " + what + " (first at line " + std::to_string(it->second.line) +
                     "), dropped");
    }
    return;
  }
  const bool derived = entry.id.empty();
  if (derived) entry.id = derive_id(entry.kind, entry.value);
  if (const auto it = by_id_.find(entry.id); it != by_id_.end()) {
    error(line, "id '" + entry.id + "' already used at line " + std::to_string(it->second) +
                    (derived ? " (derived from the value; give this entry an explicit id)" : ""));
    return;
  }
  by_id_.emplace(entry.id, line);
  by_value_.emplace(std::move(key), Seen{line, entries_.size()});
  entries_.push_back(std::move(entry));
}

SourceResult SourceBuilder::finish() {
  const auto by_line = [](const SourceError& a, const SourceError& b) { return a.line < b.line; };
  std::stable_sort(errors_.begin(), errors_.end(), by_line);
  std::stable_sort(notes_.begin(), notes_.end(), by_line);
  if (errors_overflow_ > 0) {
    errors_.push_back(
        SourceError{name_, 0, std::to_string(errors_overflow_) + " more problems not listed"});
  }
  if (notes_overflow_ > 0) {
    notes_.push_back(
        SourceError{name_, 0, std::to_string(notes_overflow_) + " more notes not listed"});
  }
  if (fatal_ || (!errors_.empty() && !opts_.skip_invalid))
    throw SourceException(std::move(errors_));
  SourceResult r;
  r.entries = std::move(entries_);
  r.skipped = std::move(errors_);
  r.notes = std::move(notes_);
  return r;
}

}  // namespace muhafiz::rules::detail
