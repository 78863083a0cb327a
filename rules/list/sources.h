// Reading list sources: the documented CSV format, plain domain lists, hosts files, DNS RPZ zone
// files and YAML. Every bad line is an error naming file:line and the reason; nothing is skipped
// silently (skip_invalid skips it and reports it in `skipped`).
#pragma once

#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/list/model.h"

namespace muhafiz::rules {

enum class SourceFormat : uint8_t { kCsv, kPlain, kHosts, kRpz, kYaml };
std::string_view to_string(SourceFormat f) noexcept;  // "csv", "plain", "hosts", "rpz", "yaml"
std::optional<SourceFormat> source_format_from_string(std::string_view s) noexcept;
// Guesses from the file name: .csv; .rpz/.zone; .yaml/.yml; "hosts", "hosts.*", "*.hosts";
// .txt/.list = plain. Extensions are compared case-insensitively.
std::optional<SourceFormat> guess_source_format(std::string_view path) noexcept;

struct SourceOptions {
  bool skip_invalid = false;
};

struct SourceResult {
  std::vector<Entry> entries;        // canonicalised, in file order, duplicates removed
  std::vector<SourceError> skipped;  // only with skip_invalid; sorted by line
  std::vector<SourceError> notes;    // things a list manager should know (duplicates, ...)
};

// Throws SourceException (carrying every error found, up to a cap) when the source has errors and
// skip_invalid is off, and always when the source cannot be read as a whole (no CSV header, a
// YAML syntax error, an RPZ zone without SOA or $ORIGIN). A UTF-8 byte order mark is ignored;
// lines may end in "\n" or "\r\n". `name` is the file name used in messages.
SourceResult read_source(const std::string& path, SourceFormat format, const SourceOptions& opts);
SourceResult read_source_text(std::string_view text, std::string_view name, SourceFormat format,
                              const SourceOptions& opts);

class SourceException : public std::exception {
 public:
  explicit SourceException(std::vector<SourceError> errors);
  const char* what() const noexcept override { return what_.c_str(); }
  const std::vector<SourceError>& errors() const noexcept { return errors_; }

 private:
  std::vector<SourceError> errors_;
  std::string what_;
};

}  // namespace muhafiz::rules
