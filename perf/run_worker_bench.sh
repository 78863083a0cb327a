#!/usr/bin/env bash
# Worker benchmark of issue 4; method and results in perf/RESULTS.md, "Dataplane worker (issue 4)".
# Builds nothing: point it at a build tree that has muhafiz_worker_bench (RelWithDebInfo,
# -DMUHAFIZ_BUILD_PERF=ON).
#
#   perf/run_worker_bench.sh [BUILD_DIR] [WORK_DIR]
#
# BUILD_DIR defaults to build, WORK_DIR (captures, JSON results) to /tmp/muhafiz-worker-bench.
# Environment: RUNS (3) timed hyperfine runs per capture after 1 warm-up; CPU (1) core every
# measured process is pinned to with taskset, empty for no pinning; REPS (3) repetitions of each
# Google Benchmark case (each walks its whole mix once on a fresh stage); SCALE (1) shrinks every
# mix for a quick try; SKIP_NDPI=1 skips the ndpiReader timings; MAX_LOAD / MAX_WAIT (unset /
# 900): wait up to MAX_WAIT s for the 1-minute load to drop below MAX_LOAD before measuring.
#
# Steps: 1. `muhafiz_worker_bench --write_pcap=WORK` writes each mix as a pcap (Ethernet, DLT 1),
# after checking every frame's verdict on a fresh stage; 2. times `ndpiReader -i CAPTURE -q` on
# each with hyperfine, plus a 1-frame capture (start-up cost), plus, for the mixes whose timed
# part follows a setup (a_tcp_established, d_mix), the setup alone and setup + timed; 3. runs the
# benchmark binary pinned; 4. prints worker Mpps, ndpiReader packets/s and the ratios.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$repo/$build ;; esac
work=${2:-/tmp/muhafiz-worker-bench}
runs=${RUNS:-3}
cpu=${CPU-1}
reps=${REPS:-3}
scale=${SCALE:-1}
bench=$build/perf/dataplane/muhafiz_worker_bench
ndpi=${NDPI_READER:-/usr/bin/ndpiReader}

die() { echo "run_worker_bench.sh: $*" >&2; exit 1; }
[ -x "$bench" ] || die "$bench is missing: build it first (ninja -C $build muhafiz_worker_bench)"
[ "${SKIP_NDPI:-0}" = 1 ] || [ -x "$ndpi" ] || die "$ndpi is missing: apt-get install libndpi-bin"
[ "${SKIP_NDPI:-0}" = 1 ] || command -v hyperfine >/dev/null || die "hyperfine is needed (apt-get install hyperfine)"
command -v python3 >/dev/null || die "python3 is needed to summarise the results"
mkdir -p "$work"

# shellcheck source=perf/bench_lib.sh
. "$here/bench_lib.sh"
bench_pin
bench_wait_for_quiet
bench_print_machine
[ "${SKIP_NDPI:-0}" = 1 ] || { "$ndpi" -h 2>/dev/null | grep -m1 'nDPI' || true; hyperfine --version; }

# ---- 1. captures (each mix checked frame by frame on the way) -------------------------------
echo "== writing the mixes as captures into $work"
"$bench" --write_pcap="$work" --worker_scale="$scale" | tee "$work/mixes.out"
mixes=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))))' "$work/mixes.json")

# ---- 2. ndpiReader ---------------------------------------------------------------------------
time_ndpi() {  # NAME CAPTURE -> $work/ndpi_NAME.json
  hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/ndpi_$1.json" -n "$1" \
    "${pin[*]} $ndpi -i $2 -q"
}
if [ "${SKIP_NDPI:-0}" != 1 ]; then
  echo "== ndpiReader, $runs runs each after 1 warm-up"
  time_ndpi one "$work/one.pcap"
  for m in $mixes; do
    # Its own report once (not timed): it read every frame.
    "$ndpi" -i "$work/$m.pcap" 2>&1 | grep -E 'IP packets:|Unique flows:' | sed "s/^\s*/ndpiReader $m: /"
    time_ndpi "$m" "$work/$m.pcap"
    if [ -f "$work/$m.setup.pcap" ]; then
      time_ndpi "$m.setup" "$work/$m.setup.pcap"
      time_ndpi "$m.full" "$work/$m.full.pcap"
    fi
  done
fi

# ---- 3. the worker ---------------------------------------------------------------------------
echo "== $bench"
"${pin[@]}" "$bench" --worker_scale="$scale" --worker_reps="$reps" \
  --benchmark_out="$work/worker_bench.json" --benchmark_out_format=json
echo "load after: $(cat /proc/loadavg)"

# ---- 4. summary ------------------------------------------------------------------------------
python3 - "$work" <<'EOF'
import json, os, sys
work = sys.argv[1]
mixes = json.load(open(os.path.join(work, "mixes.json")))

def ndpi(name):
    p = os.path.join(work, f"ndpi_{name}.json")
    return json.load(open(p))["results"][0]["median"] if os.path.exists(p) else None

worker = {}  # the median aggregate, or the single run when REPS=1
for b in json.load(open(os.path.join(work, "worker_bench.json")))["benchmarks"]:
    if b.get("run_type") == "iteration" or b.get("aggregate_name") == "median":
        worker[b["run_name"].split("/")[1]] = b
aims = {"a_tcp_established": 20, "a_udp_other": 20, "b_dns": 5, "c_tls": 2, "c_tls_pq": 2}
one = ndpi("one")
print("\n== worker (median of the repetitions, CPU time) vs ndpiReader (median wall of the runs)")
print(f"{'mix':<18} {'frames':>8} {'worker ns':>9} {'worker Mpps':>11} {'aim':>4} "
      f"{'ndpi pkt/s raw':>14} {'excl. start-up':>14} {'after setup':>12} "
      f"{'ratio raw':>9} {'excl.':>7} {'setup':>7}")
for m, info in mixes.items():
    w = worker.get(m)
    if w is None:
        continue
    n = info["timed"]
    mpps = w["items_per_second"] / 1e6
    aim = aims.get(m)
    aim_s = f"{aim}" if aim else "-"
    t = ndpi(m)
    raw = n / t if t else float("nan")
    net = n / (t - one) if t and one and t > one else float("nan")
    full, setup = ndpi(m + ".full"), ndpi(m + ".setup")
    after = n / (full - setup) if full and setup and full > setup else float("nan")
    r = lambda x: mpps * 1e6 / x if x == x else float("nan")
    print(f"{m:<18} {n:>8} {w['cpu_time']:>9.1f} {mpps:>11.3f} {aim_s:>4} {raw:>14,.0f} {net:>14,.0f} "
          f"{after:>12,.0f} {r(raw):>8.1f}x {r(net):>6.1f}x {r(after):>6.1f}x")
if one:
    print(f"ndpiReader start-up (1-frame capture, median wall): {one * 1e3:.1f} ms")
EOF
