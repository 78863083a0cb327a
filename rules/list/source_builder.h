// Internal to muhafiz_rules_list: what every source reader shares (entry validation, ids,
// duplicates, error collection). Not installed, not used outside rules/list/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rules/list/model.h"
#include "rules/list/sources.h"

namespace muhafiz::rules::detail {

// Errors, skipped lines and notes kept per source; past the cap only a count is kept, reported
// in one closing line.
inline constexpr size_t kMaxReported = 100;
// Hyperscan compiles patterns offline; 1 KiB is far beyond any sane blocking pattern and keeps
// a typo (a pasted file) from reaching the compiler.
inline constexpr size_t kMaxPatternLen = 1024;
inline constexpr size_t kMaxIdLen = 128;
inline constexpr size_t kMaxEvidenceLen = 1024;
inline constexpr size_t kHashedValueHexLen = 32;  // 16-byte BLAKE2b (rules/bundle/hashing.h)
inline constexpr size_t kDerivedIdHexLen = 16;    // first 8 bytes of SHA-256

// The fields of one entry as a source wrote them; empty means absent.
struct RawEntry {
  std::string_view kind;
  std::string_view value;
  std::string_view action;
  std::string_view id;
  std::string_view evidence;
};

enum class EntryField : uint8_t { kKind, kValue, kAction, kId, kEvidence };

// Validates and canonicalises; nullopt with *error (and *bad_field when given) set on a bad
// field. The id stays empty when the source gave none (SourceBuilder derives it).
std::optional<Entry> make_entry(const RawEntry& raw, std::string* error,
                                EntryField* bad_field = nullptr);

// Canonical value of `value` for `kind`, as lists hold it.
std::optional<std::string> canonical_value(EntryKind kind, std::string_view value,
                                           std::string* error);

// Lower-case hex of the first 8 bytes of SHA-256("<kind>:<value>"), e.g. for kind domain and
// value example.com the digest of "domain:example.com".
std::string derive_id(EntryKind kind, std::string_view value);

// Text without a leading UTF-8 byte order mark.
std::string_view strip_bom(std::string_view text);

// Lines without their "\n" or "\r\n" ends; lines()[i] is line i + 1.
std::vector<std::string_view> split_lines(std::string_view text);

std::string_view trim(std::string_view s);

// Thrown by SourceBuilder::fatal; caught by read_source_text, which throws SourceException.
struct FatalSourceError {};

class SourceBuilder {
 public:
  SourceBuilder(std::string_view name, const SourceOptions& opts) : name_(name), opts_(opts) {}

  void error(size_t line, std::string reason);
  void note(size_t line, std::string reason);
  // A problem after which the rest of the source cannot be read: records it and unwinds.
  [[noreturn]] void fatal(size_t line, std::string reason);

  // Derives the id when absent, drops a duplicate (kind, value) with a note, refuses a
  // conflicting duplicate or a reused id as an error.
  void add(size_t line, Entry entry);

  bool has_value(EntryKind kind, std::string_view value) const;

  // Throws SourceException when errors were found and skip_invalid is off, or after fatal().
  SourceResult finish();

 private:
  struct Seen {
    size_t line;
    size_t index;
  };
  void push(std::vector<SourceError>& to, size_t& overflow, size_t line, std::string reason);

  std::string name_;
  SourceOptions opts_;
  std::vector<Entry> entries_;
  std::vector<SourceError> errors_;
  std::vector<SourceError> notes_;
  size_t errors_overflow_ = 0;
  size_t notes_overflow_ = 0;
  bool fatal_ = false;
  std::unordered_map<std::string, Seen> by_value_;  // key: kind name + '\0' + value
  std::unordered_map<std::string, size_t> by_id_;   // id -> line
};

// Readers, one per format, filling `out`.
void read_csv(std::string_view text, SourceBuilder& out);
void read_plain(std::string_view text, SourceBuilder& out);
void read_hosts(std::string_view text, SourceBuilder& out);
void read_rpz(std::string_view text, SourceBuilder& out);
void read_yaml(std::string_view text, SourceBuilder& out);

}  // namespace muhafiz::rules::detail
