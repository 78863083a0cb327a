// Small file helpers for keys and bundles. Errors throw BundleError naming the path.
#pragma once

#include <sys/types.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace muhafiz::rules {

// Every error of rules/bundle/: the message names the file and what a list manager can do.
class BundleError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Whole file, refusing files larger than max_bytes.
std::string read_file(const std::string& path, size_t max_bytes);
// Creates path with `mode`, refusing to replace an existing file (keys are never overwritten).
void write_new_file(const std::string& path, std::string_view content, mode_t mode);
// Writes path.tmp then renames it over path, so readers never see half a file.
void write_file_replacing(const std::string& path, std::string_view content);

}  // namespace muhafiz::rules
