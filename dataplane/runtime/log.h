// The runtime's DPDK log type ("muhafiz.runtime"), so operators set its level with
// --log-level=muhafiz.runtime:debug. Main-lcore and control paths only: workers never log.
#pragma once

#include <rte_log.h>

namespace muhafiz::runtime {

int runtime_logtype() noexcept;

}  // namespace muhafiz::runtime

#define MUHAFIZ_RUNTIME_LOG(level, ...) \
  rte_log(RTE_LOG_##level, ::muhafiz::runtime::runtime_logtype(), "muhafiz.runtime: " __VA_ARGS__)
