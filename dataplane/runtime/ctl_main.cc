// muhafiz-dataplane-ctl: see dataplane/runtime/ctl.h.
#include <iostream>

#include "dataplane/runtime/ctl.h"

int main(int argc, char** argv) {
  return muhafiz::runtime::run_ctl(argc, argv, std::cout, std::cerr);
}
