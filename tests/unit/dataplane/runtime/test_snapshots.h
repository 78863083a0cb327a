// Test helpers shared by the runtime unit and integration tests: a temporary directory and
// small ruleset snapshots compiled from rules::List with the real compiler.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "rules/list/model.h"
#include "rules/match/compiler.h"

namespace muhafiz::runtime::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "muhafiz-rt-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::string ipc(const std::string& name) const { return "ipc://" + file(name); }

 private:
  std::string path_;
};

inline rules::List make_list(const std::string& id, uint64_t version,
                             const std::vector<std::string>& domains, bool alert = false) {
  rules::List l;
  l.meta.id = id;
  l.meta.publisher = "pta";
  l.meta.category = "csam";
  l.meta.version = version;
  l.meta.alert = alert;
  for (const std::string& d : domains) {
    rules::Entry e;
    e.id = d;
    e.kind = rules::EntryKind::kDomain;
    e.value = d;
    l.entries.push_back(e);
  }
  return l;
}

// Compiles `lists` into a snapshot file at `path` and returns the path.
inline std::string write_ruleset(const std::string& path, const std::vector<rules::List>& lists) {
  rules::write_snapshot(path, rules::compile(lists, rules::CompileOptions{}));
  return path;
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace muhafiz::runtime::testing
