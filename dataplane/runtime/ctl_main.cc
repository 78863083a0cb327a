// muhafiz-dataplane-ctl: see dataplane/runtime/ctl.h.
#include <csignal>
#include <iostream>

#include "dataplane/runtime/ctl.h"

namespace {
extern "C" void on_signal(int) {
  muhafiz::runtime::ctl_stop_flag().store(true, std::memory_order_relaxed);
}
}  // namespace

int main(int argc, char** argv) {
  static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  return muhafiz::runtime::run_ctl(argc, argv, std::cout, std::cerr);
}
