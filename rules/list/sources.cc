#include "rules/list/sources.h"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "rules/list/source_builder.h"

namespace muhafiz::rules {
namespace {

using detail::RawEntry;
using detail::SourceBuilder;

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// Whitespace-separated tokens of one line.
std::vector<std::string_view> tokens(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_blank(line[i])) ++i;
    const size_t start = i;
    while (i < line.size() && !is_blank(line[i])) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::string_view without_comment(std::string_view line) {
  const size_t hash = line.find('#');
  return hash == std::string_view::npos ? line : line.substr(0, hash);
}

// ---- CSV (RFC 4180) ----

struct CsvField {
  std::string text;
  bool quoted = false;
};

struct CsvRecord {
  size_t line = 0;
  std::vector<CsvField> fields;
};

constexpr std::array<std::string_view, 5> kCsvColumns = {"kind", "value", "action", "id",
                                                         "evidence"};

// Records in file order. A record may span lines inside quotes; it is reported at the line it
// starts on. Blank lines and lines starting with '#' between records are skipped (not RFC 4180,
// but no kind starts with '#', so nothing valid is lost).
std::vector<CsvRecord> parse_csv(std::string_view text, SourceBuilder& out) {
  std::vector<CsvRecord> records;
  size_t i = 0;
  size_t line = 1;
  const size_t n = text.size();
  const auto at_line_end = [&](size_t k) {
    return k >= n || text[k] == '\n' || (text[k] == '\r' && k + 1 < n && text[k + 1] == '\n');
  };
  const auto skip_line_end = [&] {
    if (i < n && text[i] == '\r') ++i;
    if (i < n && text[i] == '\n') {
      ++i;
      ++line;
    }
  };
  const auto skip_rest_of_line = [&] {
    while (!at_line_end(i)) ++i;
    skip_line_end();
  };
  while (i < n) {
    if (at_line_end(i)) {
      skip_line_end();
      continue;
    }
    if (text[i] == '#') {
      skip_rest_of_line();
      continue;
    }
    CsvRecord rec;
    rec.line = line;
    bool bad = false;
    while (true) {
      CsvField field;
      if (i < n && text[i] == '"') {
        field.quoted = true;
        ++i;
        bool closed = false;
        while (i < n) {
          if (text[i] == '"') {
            if (i + 1 < n && text[i + 1] == '"') {
              field.text += '"';
              i += 2;
              continue;
            }
            ++i;
            closed = true;
            break;
          }
          if (text[i] == '\n') ++line;
          field.text += text[i++];
        }
        if (!closed) {
          out.error(rec.line, "unterminated quoted field");
          return records;
        }
        if (!at_line_end(i) && text[i] != ',') {
          out.error(line,
                    "unexpected character after a closing quote (a quote inside a "
                    "quoted field is written \"\")");
          bad = true;
          skip_rest_of_line();
          break;
        }
      } else {
        while (!at_line_end(i) && text[i] != ',') {
          if (text[i] == '"') {
            out.error(line, "quote inside an unquoted field (quote the whole field)");
            bad = true;
            break;
          }
          field.text += text[i++];
        }
        if (bad) {
          skip_rest_of_line();
          break;
        }
      }
      rec.fields.push_back(std::move(field));
      if (i < n && text[i] == ',') {
        ++i;
        continue;
      }
      skip_line_end();
      break;
    }
    if (!bad) records.push_back(std::move(rec));
  }
  return records;
}

std::string_view field_value(const CsvField& f) {
  return f.quoted ? std::string_view(f.text) : detail::trim(f.text);
}

}  // namespace

namespace detail {

void read_csv(std::string_view text, SourceBuilder& out) {
  const std::vector<CsvRecord> records = parse_csv(text, out);
  if (records.empty()) out.fatal(1, "missing header row (kind,value[,action,id,evidence])");
  // Column index per known name; npos when absent.
  std::array<size_t, kCsvColumns.size()> column{};
  column.fill(std::string::npos);
  const CsvRecord& header = records.front();
  for (size_t c = 0; c < header.fields.size(); ++c) {
    const std::string name = ascii_lower(field_value(header.fields[c]));
    size_t known = kCsvColumns.size();
    for (size_t k = 0; k < kCsvColumns.size(); ++k) {
      if (kCsvColumns[k] == name) known = k;
    }
    if (known == kCsvColumns.size()) {
      if (entry_kind_from_string(name)) {
        out.fatal(header.line,
                  "missing header row: the first row must name the columns "
                  "(kind,value[,action,id,evidence])");
      }
      out.fatal(header.line, "unknown column '" + std::string(field_value(header.fields[c])) +
                                 "' (expected kind, value, action, id, evidence)");
    }
    if (column[known] != std::string::npos) {
      out.fatal(header.line, "column '" + name + "' appears twice");
    }
    column[known] = c;
  }
  for (size_t k = 0; k < 2; ++k) {
    if (column[k] == std::string::npos) {
      out.fatal(header.line, "header has no '" + std::string(kCsvColumns[k]) + "' column");
    }
  }
  for (size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& rec = records[r];
    if (rec.fields.size() != header.fields.size()) {
      out.error(rec.line, std::to_string(rec.fields.size()) + " fields, the header has " +
                              std::to_string(header.fields.size()));
      continue;
    }
    const auto get = [&](size_t k) {
      return column[k] == std::string::npos ? std::string_view()
                                            : field_value(rec.fields[column[k]]);
    };
    const RawEntry raw{get(0), get(1), get(2), get(3), get(4)};
    std::string error;
    auto entry = make_entry(raw, &error);
    if (!entry) {
      out.error(rec.line, error);
      continue;
    }
    out.add(rec.line, std::move(*entry));
  }
}

void read_plain(std::string_view text, SourceBuilder& out) {
  const auto lines = split_lines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    const size_t line = i + 1;
    const auto words = tokens(without_comment(lines[i]));
    if (words.empty()) continue;
    if (words.size() > 1) {
      out.error(line, "expected one domain per line, found " + std::to_string(words.size()) +
                          " words (a hosts file? use format hosts)");
      continue;
    }
    std::string error;
    auto value = canonical_value(EntryKind::kDomain, words[0], &error);
    if (!value) {
      out.error(line, error);
      continue;
    }
    Entry e;
    e.kind = EntryKind::kDomain;
    e.value = std::move(*value);
    out.add(line, std::move(e));
  }
}

namespace {

// Names every stock hosts file maps to the local machine; they are not blocks.
bool is_local_hosts_name(std::string_view name) {
  static constexpr std::array<std::string_view, 10> kNames = {
      "localhost",  "localhost.localdomain",
      "localhost4", "localhost4.localdomain4",
      "localhost6", "localhost6.localdomain6",
      "local",      "broadcasthost",
      "0.0.0.0",    "ip6-localhost"};
  const std::string lower_name = ascii_lower(name);
  if (lower_name.starts_with("ip6-")) return true;  // Debian: ip6-localhost, ip6-allnodes, ...
  for (std::string_view n : kNames) {
    if (n == lower_name) return true;
  }
  return false;
}

// Addresses blocking hosts files point names at: "this host" (RFC 1122 §3.2.1.3, RFC 4291
// §2.5.2) and loopback (RFC 1122 §3.2.1.3: all of 127/8; RFC 4291 §2.5.3).
bool is_blocking_address(std::string_view text) {
  const std::string s(text);
  std::array<uint8_t, 16> a{};
  if (inet_pton(AF_INET, s.c_str(), a.data()) == 1) {
    return a[0] == 127 || (a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == 0);
  }
  if (inet_pton(AF_INET6, s.c_str(), a.data()) == 1) {
    for (size_t k = 0; k < 15; ++k) {
      if (a[k] != 0) return false;
    }
    return a[15] == 0 || a[15] == 1;
  }
  return false;
}

}  // namespace

void read_hosts(std::string_view text, SourceBuilder& out) {
  const auto lines = split_lines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    const size_t line = i + 1;
    const auto words = tokens(without_comment(lines[i]));
    if (words.empty()) continue;
    if (words.size() == 1) {
      out.error(line, "address '" + std::string(words[0]) + "' without a name");
      continue;
    }
    std::string local;
    std::vector<std::string_view> names;
    for (size_t w = 1; w < words.size(); ++w) {
      if (is_local_hosts_name(words[w])) {
        local += local.empty() ? "" : ", ";
        local += words[w];
      } else {
        names.push_back(words[w]);
      }
    }
    if (!local.empty()) out.note(line, "ignored local name(s) " + local + " (not blocks)");
    if (names.empty()) continue;  // a stock local line; its address does not matter
    if (!is_blocking_address(words[0])) {
      out.error(line, "address '" + std::string(words[0]) +
                          "' is not a blocking address (0.0.0.0, 127.x.x.x, :: or ::1): this "
                          "line maps names elsewhere");
      continue;
    }
    for (std::string_view name : names) {
      std::string error;
      auto value = canonical_value(EntryKind::kExact, name, &error);
      if (!value) {
        out.error(line, error);
        continue;
      }
      Entry e;
      e.kind = EntryKind::kExact;
      e.value = std::move(*value);
      out.add(line, std::move(e));
    }
  }
}

namespace {

// In EntryField order.
constexpr std::array<std::string_view, 5> kYamlKeys = {"kind", "value", "action", "id", "evidence"};

size_t yaml_line(const YAML::Node& n) { return static_cast<size_t>(n.Mark().line) + 1; }

}  // namespace

void read_yaml(std::string_view text, SourceBuilder& out) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    out.fatal(static_cast<size_t>(e.mark.line) + 1, "YAML: " + e.msg);
  }
  if (!root || root.IsNull()) return;
  if (!root.IsMap()) out.fatal(yaml_line(root), "expected a mapping with the key 'entries'");
  YAML::Node entries;
  bool found = false;
  for (const auto& kv : root) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string("?");
    if (key != "entries") {
      out.error(yaml_line(kv.first), "unknown key '" + key + "' (expected 'entries')");
      continue;
    }
    if (found) out.error(yaml_line(kv.first), "key 'entries' appears twice");
    entries = kv.second;
    found = true;
  }
  if (!found) out.fatal(yaml_line(root), "missing key 'entries'");
  if (entries.IsNull()) return;
  if (!entries.IsSequence()) out.fatal(yaml_line(entries), "'entries' must be a sequence");
  for (const YAML::Node& item : entries) {
    const size_t line = yaml_line(item);
    if (!item.IsMap()) {
      out.error(line, "an entry must be a mapping (kind, value, action, id, evidence)");
      continue;
    }
    std::array<std::string, kYamlKeys.size()> text_of{};
    std::array<size_t, kYamlKeys.size()> line_of{};
    line_of.fill(line);
    std::array<bool, kYamlKeys.size()> seen{};
    bool ok = true;
    for (const auto& kv : item) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string("?");
      size_t k = 0;
      while (k < kYamlKeys.size() && kYamlKeys[k] != key) ++k;
      if (k == kYamlKeys.size()) {
        out.error(yaml_line(kv.first),
                  "unknown key '" + key + "' (expected kind, value, action, id, evidence)");
        ok = false;
        continue;
      }
      if (seen[k]) {
        out.error(yaml_line(kv.first), "key '" + key + "' appears twice");
        ok = false;
        continue;
      }
      seen[k] = true;
      line_of[k] = yaml_line(kv.first);
      if (kv.second.IsNull()) continue;
      if (!kv.second.IsScalar()) {
        out.error(yaml_line(kv.second), "'" + key + "' must be a string");
        ok = false;
        continue;
      }
      text_of[k] = kv.second.Scalar();
    }
    if (!ok) continue;
    const RawEntry raw{text_of[0], text_of[1], text_of[2], text_of[3], text_of[4]};
    std::string error;
    EntryField bad = EntryField::kKind;
    auto entry = make_entry(raw, &error, &bad);
    if (!entry) {
      out.error(line_of[static_cast<size_t>(bad)], error);
      continue;
    }
    out.add(line, std::move(*entry));
  }
}

}  // namespace detail

std::string_view to_string(SourceFormat f) noexcept {
  switch (f) {
    case SourceFormat::kCsv:
      return "csv";
    case SourceFormat::kPlain:
      return "plain";
    case SourceFormat::kHosts:
      return "hosts";
    case SourceFormat::kRpz:
      return "rpz";
    case SourceFormat::kYaml:
      return "yaml";
  }
  return "unknown";
}

std::optional<SourceFormat> source_format_from_string(std::string_view s) noexcept {
  for (SourceFormat f : {SourceFormat::kCsv, SourceFormat::kPlain, SourceFormat::kHosts,
                         SourceFormat::kRpz, SourceFormat::kYaml}) {
    if (to_string(f) == s) return f;
  }
  return std::nullopt;
}

std::optional<SourceFormat> guess_source_format(std::string_view path) noexcept {
  const size_t slash = path.rfind('/');
  const std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const size_t dot = base.rfind('.');
  const std::string_view ext =
      dot == std::string_view::npos ? std::string_view() : base.substr(dot + 1);
  const auto ext_is = [&](std::string_view e) {
    if (ext.size() != e.size()) return false;
    for (size_t i = 0; i < e.size(); ++i) {
      const char c =
          ext[i] >= 'A' && ext[i] <= 'Z' ? static_cast<char>(ext[i] - 'A' + 'a') : ext[i];
      if (c != e[i]) return false;
    }
    return true;
  };
  if (ext_is("csv")) return SourceFormat::kCsv;
  if (ext_is("rpz") || ext_is("zone")) return SourceFormat::kRpz;
  if (ext_is("yaml") || ext_is("yml")) return SourceFormat::kYaml;
  if (base == "hosts" || base.starts_with("hosts.") || ext_is("hosts")) return SourceFormat::kHosts;
  if (ext_is("txt") || ext_is("list")) return SourceFormat::kPlain;
  return std::nullopt;
}

SourceException::SourceException(std::vector<SourceError> errors) : errors_(std::move(errors)) {
  for (size_t i = 0; i < errors_.size(); ++i) {
    if (i > 0) what_ += '\n';
    what_ += errors_[i].message();
  }
}

SourceResult read_source_text(std::string_view text, std::string_view name, SourceFormat format,
                              const SourceOptions& opts) {
  SourceBuilder builder(name, opts);
  text = detail::strip_bom(text);
  try {
    switch (format) {
      case SourceFormat::kCsv:
        detail::read_csv(text, builder);
        break;
      case SourceFormat::kPlain:
        detail::read_plain(text, builder);
        break;
      case SourceFormat::kHosts:
        detail::read_hosts(text, builder);
        break;
      case SourceFormat::kRpz:
        detail::read_rpz(text, builder);
        break;
      case SourceFormat::kYaml:
        detail::read_yaml(text, builder);
        break;
    }
  } catch (const detail::FatalSourceError&) {
    // Recorded by the builder; finish() throws it with everything found before.
  }
  return builder.finish();
}

SourceResult read_source(const std::string& path, SourceFormat format, const SourceOptions& opts) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw SourceException(
        {SourceError{path, 0, std::string("cannot read: ") + std::strerror(errno)}});
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    throw SourceException({SourceError{path, 0, "read error"}});
  }
  return read_source_text(buf.str(), path, format, opts);
}

}  // namespace muhafiz::rules
