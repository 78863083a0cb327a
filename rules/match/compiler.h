// The ruleset compiler: verified lists in, one snapshot file out (rules/match/snapshot_format.h).
// Runs in muhafiz-list and muhafiz-control, never in a dataplane worker. Throws CompileError
// naming the list and entry at fault.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "rules/list/model.h"

namespace muhafiz::rules {

struct CompileOptions {
  // Ids of lists compiled in shadow mode: their matches are reported, never enforced.
  std::vector<std::string> shadow_lists;
  // Seed of the table fingerprints. Fixed by default so that the same lists give a
  // byte-identical file; the tables never take runtime inserts, so there is nothing to flood.
  uint64_t hash_seed = 0x6d756861666973ull;  // "muhafis"
  // Compile Hyperscan databases for any x86-64 with SSSE3 (Hyperscan's floor) rather than
  // for this machine's CPU, so a file built elsewhere loads on the dataplane host.
  bool portable_patterns = true;
};

struct CompileStats {
  uint32_t lists = 0;
  uint32_t entries = 0;
  uint32_t kind_counts[8] = {};  // per EntryKind
  uint32_t host_names = 0;       // distinct names in the host table
  uint32_t hashed_digests = 0;   // distinct digests in the hashed table
  uint32_t ip_prefix_lengths = 0;
  uint32_t max_probe = 0;      // longest distance of a slot from its home (host table)
  size_t bytes = 0;            // snapshot size
  size_t pattern_bytes = 0;    // of which serialized Hyperscan databases
  double seconds = 0;          // whole compile
  double pattern_seconds = 0;  // of which Hyperscan
};

class CompileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Lists are numbered in the order given; that order breaks precedence ties. Throws
// CompileError (bad value, duplicate list id, unknown shadow list, bad hash key, Hyperscan
// rejecting an expression, a limit exceeded).
std::vector<uint8_t> compile(std::span<const List> lists, const CompileOptions& options,
                             CompileStats* stats = nullptr);

// Writes next to `path` and renames over it, so a reader never sees half a file.
// Throws std::runtime_error with the path and errno text.
void write_snapshot(const std::string& path, std::span<const uint8_t> bytes);

}  // namespace muhafiz::rules
