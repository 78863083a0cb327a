#!/usr/bin/env bash
# The README's test command: installs dependencies, builds, runs every test (CTest).
# .ci/run calls this same script. Usage: deploy/test.sh [BUILD_DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
jobs=${MUHAFIZ_JOBS:-2}

"$top/deploy/install-deps.sh"
cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs"
