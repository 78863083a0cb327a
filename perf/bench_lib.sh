# shellcheck shell=bash
# Shared by perf/run_dataplane_bench.sh and perf/run_worker_bench.sh (sourced, not run):
# pinning, waiting for a quiet machine, and the machine header every results log starts with.
# Reads CPU (core to pin to; empty: no pinning), MAX_LOAD and MAX_WAIT; sets the array `pin`.

bench_pin() {
  pin=()
  if [ -n "${cpu:-}" ] && command -v taskset >/dev/null; then pin=(taskset -c "$cpu"); fi
}

# Waits up to MAX_WAIT s (900) for the 1-minute load to drop below MAX_LOAD, when that is set.
bench_wait_for_quiet() {
  [ -n "${MAX_LOAD:-}" ] || return 0
  local waited=0
  while awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v m="$MAX_LOAD" 'BEGIN { exit !(l >= m) }' &&
    [ "$waited" -lt "${MAX_WAIT:-900}" ]; do
    sleep 15
    waited=$((waited + 15))
  done
  echo "waited ${waited}s for the load to drop below $MAX_LOAD"
}

bench_print_machine() {
  echo "== machine"
  lscpu | grep -E '^(Model name|CPU\(s\)|Thread\(s\) per core|L2 cache|L3 cache|Hypervisor vendor)' || true
  echo "pinned to: ${pin[*]:-(not pinned)}"
  echo "load before: $(cat /proc/loadavg)"
}
