// muhafiz-list: builds, signs, verifies and compares list bundles (list_commands.h), and
// compiles rulesets (compile_commands.h). Exit status: 0 done, 1 lookup found nothing, 2 an error
// or a usage error (one line per problem on stderr).
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "rules/cli/compile_commands.h"
#include "rules/cli/list_commands.h"
#include "rules/list/sources.h"

namespace {

int run(int argc, char** argv) {
  namespace cli = muhafiz::rules::cli;
  CLI::App app{
      "Muhafiz list tool for PTA and FIA list managers: make keys, build signed list bundles from "
      "CSV, RPZ, hosts, plain or YAML sources, verify, diff and hash them, compile rulesets.\n"
      "Exit status: 0 done, 1 lookup found nothing, 2 error or usage error (the reason on "
      "stderr).",
      "muhafiz-list"};
  app.require_subcommand(1);
  cli::add_list_commands(app);
  cli::add_compile_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    // A subcommand's own status with nothing to print (lookup: 1 = no match).
    return e.get_exit_code();
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? cli::kExitOk : cli::kExitUsage;
  } catch (const muhafiz::rules::SourceException& e) {
    // One line per bad source line, each "file:line: reason".
    for (const auto& err : e.errors()) std::cerr << "muhafiz-list: " << err.message() << "\n";
    return cli::kExitError;
  } catch (const std::exception& e) {
    std::cerr << "muhafiz-list: " << e.what() << "\n";
    return cli::kExitError;
  }
  return cli::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (...) {
    // Only std::bad_alloc and the like get here (run() handles the rest): still exit 2.
    std::cerr << "muhafiz-list: unexpected error\n";
    return muhafiz::rules::cli::kExitError;
  }
}
