// muhafiz-dataplane --config FILE [--check]: the DPDK filter. --check validates the config and
// exits; otherwise EAL starts, the ports open and the workers run until SIGINT or SIGTERM.
#include <rte_eal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <exception>
#include <iostream>

#include "dataplane/engine/config.h"
#include "dataplane/engine/engine.h"
#include "dataplane/engine/ports.h"
#include "dataplane/runtime/zmq_socket.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitUsage = 1;
constexpr int kExitConfig = 2;
constexpr int kExitRuntime = 3;

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

extern "C" void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool check = false;
  CLI::App app{
      "Muhafiz DPDK dataplane: filters DNS, TLS/QUIC SNI and HTTP against the compiled ruleset.\n"
      "Exit status: 0 done, 1 usage, 2 config invalid, 3 start-up or runtime failure.",
      "muhafiz-dataplane"};
  app.add_option("--config", config_path, "YAML config (deploy/dataplane.example.yaml)")
      ->required();
  app.add_flag("--check", check, "validate the config, print it, and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }

  muhafiz::engine::EngineConfig cfg;
  try {
    cfg = muhafiz::engine::load_config(config_path);
  } catch (const muhafiz::engine::ConfigError& e) {
    std::cerr << e.what() << "\n";
    return kExitConfig;
  }
  if (check) {
    std::cout << config_path << ": OK\n" << muhafiz::engine::describe(cfg);
    return kExitOk;
  }

  try {
    muhafiz::engine::init_eal(muhafiz::engine::eal_arguments(cfg, argv[0]));
  } catch (const std::exception& e) {
    std::cerr << "muhafiz-dataplane: " << e.what() << "\n";
    return kExitRuntime;
  }
  int rc = kExitOk;
  try {
    muhafiz::engine::Engine engine(cfg);
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    engine.start();
    engine.run(g_stop);
  } catch (const std::exception& e) {
    std::cerr << "muhafiz-dataplane: " << e.what() << "\n";
    rc = kExitRuntime;
  }
  rte_eal_cleanup();
  return rc;
}
