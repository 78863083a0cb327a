#include "dataplane/runtime/log.h"

namespace muhafiz::runtime {

int runtime_logtype() noexcept {
  // Registration works before rte_eal_init too (the EAL-free unit tests log through it).
  static const int type = [] {
    const int t = rte_log_register_type_and_pick_level("muhafiz.runtime", RTE_LOG_INFO);
    return t >= 0 ? t : static_cast<int>(RTE_LOGTYPE_USER1);
  }();
  return type;
}

}  // namespace muhafiz::runtime
