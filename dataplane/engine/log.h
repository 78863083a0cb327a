// The engine's DPDK log type ("muhafiz.engine": --log-level=muhafiz.engine:debug). Start-up,
// shutdown and the main lcore log through it; a worker logs one line when it enters its loop
// and one when it leaves, never per packet.
#pragma once

#include <rte_log.h>

namespace muhafiz::engine {

int engine_logtype() noexcept;

}  // namespace muhafiz::engine

#define MUHAFIZ_ENGINE_LOG(level, ...) \
  rte_log(RTE_LOG_##level, ::muhafiz::engine::engine_logtype(), "muhafiz.engine: " __VA_ARGS__)
