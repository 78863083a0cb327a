// muhafiz-list subcommands for list publishers: keygen, build, verify, diff, hash, show.
// Usage and examples in rules/README.md ("muhafiz-list").
#pragma once

#include <CLI/CLI.hpp>

namespace muhafiz::rules::cli {

// Exit status of muhafiz-list, as grep has it: 0 done, 1 only for lookup's "nothing matched", 2
// anything else, usage errors (CLI11 parse errors) included, so a script never takes a typo for
// "not listed". One line on stderr. A subcommand fails by throwing; main() turns the exception
// into the line.
inline constexpr int kExitOk = 0;
inline constexpr int kExitNoMatch = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitError = 2;

void add_list_commands(CLI::App& app);

}  // namespace muhafiz::rules::cli
