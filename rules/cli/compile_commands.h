// muhafiz-list compile and lookup (rules/match): verified bundles in, one ruleset snapshot out;
// and one lookup against a snapshot, printed as JSON. Usage in rules/README.md ("Compiler,
// snapshot and matcher").
#pragma once

#include <CLI/CLI.hpp>

namespace muhafiz::rules::cli {

// compile: exit 0 written, 2 error. lookup: exit 0 an entry matched, 1 none, 2 error.
void add_compile_commands(CLI::App& app);

}  // namespace muhafiz::rules::cli
