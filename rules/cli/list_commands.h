// muhafiz-list subcommands for list publishers: keygen, build, verify, diff, hash, show.
// Usage and examples in rules/README.md ("muhafiz-list").
#pragma once

#include <CLI/CLI.hpp>

namespace muhafiz::rules::cli {

// Exit status of muhafiz-list: 0 done, 1 usage (CLI11 parse errors), 2 anything else, with one
// line on stderr. A subcommand fails by throwing; main() turns the exception into the line.
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 1;
inline constexpr int kExitError = 2;

void add_list_commands(CLI::App& app);

}  // namespace muhafiz::rules::cli
