#!/usr/bin/env bash
# The README's first command: installs dependencies, builds, and runs Muhafiz on its embedded
# default, ending in a summary. The FIA and the PTA sign sample lists, muhafiz-list verifies and
# compiles them, and muhafiz-dataplane (DPDK, no hugepages) filters a generated capture of
# subscriber traffic inline between two net_pcap ports; deploy/run-demo.sh has the steps.
# The control daemon and the FIA collector join this demo as their issues land.
# Usage: deploy/demo.sh [BUILD_DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
jobs=${MUHAFIZ_JOBS:-2}

"$top/deploy/install-deps.sh"
cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$jobs" --target muhafiz-list muhafiz-make-captures muhafiz-dataplane \
  muhafiz-dataplane-ctl
exec "$top/deploy/run-demo.sh" "$build"
