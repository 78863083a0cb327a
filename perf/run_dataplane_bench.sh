#!/usr/bin/env bash
# Extraction benchmarks of issue 2; method and results in perf/RESULTS.md, "Extraction (issue 2)".
# Builds nothing: point it at a build tree that has muhafiz-inspect, muhafiz-make-bench-capture
# and muhafiz_extract_bench (RelWithDebInfo).
#
#   perf/run_dataplane_bench.sh [BUILD_DIR] [WORK_DIR]
#
# BUILD_DIR defaults to build, WORK_DIR (captures, JSON results) to /tmp/muhafiz-dataplane-bench.
# Environment: PACKETS (1000000) frames in the generated capture; RUNS (5) timed runs per tool;
# CPU (1) core that every measured process is pinned to with taskset, empty for no pinning;
# MIN_TIME (0.5) and REPS (3) for Google Benchmark, BENCH_FILTER (all) its --benchmark_filter;
# CORPUS (../shared/corpus/ndpi/pcap beside the repository), SKIP_CORPUS=1 to skip that run;
# MAX_LOAD / MAX_WAIT (unset / 900): wait up to MAX_WAIT s for the 1-minute load to drop below
# MAX_LOAD before measuring (the load measured is printed either way).
#
# Steps: 1. generate the capture (and a 1-frame one, for start-up cost); 2. check that
# muhafiz-inspect --summary reports exactly what the generator says it wrote; 3. time
# `muhafiz-inspect CAPTURE` (output discarded) against `ndpiReader -i CAPTURE -q` with hyperfine
# (else /usr/bin/time), on the generated capture and on the concatenated Ethernet captures of
# the shared corpus; 4. run the Google Benchmark binary; 5. print packets/s and the ratios.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$repo/$build ;; esac
work=${2:-/tmp/muhafiz-dataplane-bench}
packets=${PACKETS:-1000000}
runs=${RUNS:-5}
cpu=${CPU-1}
min_time=${MIN_TIME:-0.5}
reps=${REPS:-3}
filter=${BENCH_FILTER:-.}
corpus=${CORPUS:-$repo/../shared/corpus/ndpi/pcap}

inspect=$build/dataplane/inspect/muhafiz-inspect
generator=$build/perf/dataplane/muhafiz-make-bench-capture
bench=$build/perf/dataplane/muhafiz_extract_bench
ndpi=${NDPI_READER:-/usr/bin/ndpiReader}

die() { echo "run_dataplane_bench.sh: $*" >&2; exit 1; }
for f in "$inspect" "$generator" "$bench"; do
  [ -x "$f" ] || die "$f is missing: build it first (ninja -C $build muhafiz-inspect muhafiz-make-bench-capture muhafiz_extract_bench)"
done
[ -x "$ndpi" ] || die "$ndpi is missing: apt-get install libndpi-bin (deploy/install-deps.sh)"
command -v python3 >/dev/null || die "python3 is needed to summarise the results"
mkdir -p "$work"

# shellcheck source=perf/bench_lib.sh
. "$here/bench_lib.sh"
bench_pin
bench_wait_for_quiet
bench_print_machine
"$ndpi" -h 2>/dev/null | grep -m1 'nDPI' || true
command -v hyperfine >/dev/null && hyperfine --version

# ---- 1. captures ------------------------------------------------------------------------------
echo "== generating $packets frames into $work/bench.pcap"
"$generator" "$work/bench.pcap" --packets "$packets" | tee "$work/bench.json"
"$generator" "$work/one.pcap" --packets 1 >/dev/null

# ---- 2. the extractor does find what was written ---------------------------------------------
"$inspect" --summary "$work/bench.pcap" >"$work/inspect_summary.json"
python3 - "$work/bench.json" "$work/inspect_summary.json" <<'EOF'
import json, sys
want = json.load(open(sys.argv[1]))["expected_observations"]
got = json.load(open(sys.argv[2]))["observations"]
bad = {k: (v, got.get(k)) for k, v in want.items() if got.get(k) != v}
print("muhafiz-inspect observations:", got, "== generator's" if not bad else f"MISMATCH (want, got): {bad}")
sys.exit(1 if bad else 0)
EOF
# ndpiReader's own report once (not timed): it read every frame, and what it detected.
"$ndpi" -i "$work/bench.pcap" >"$work/ndpi_report.txt" 2>&1
grep -E 'IP packets:|Unique flows:|Setup Time:|Packet Processing Time:' "$work/ndpi_report.txt" | sed 's/^\s*/ndpiReader: /'

# ---- 3. whole-program timings ----------------------------------------------------------------
# time_tools NAME CAPTURE: writes $work/NAME.json in hyperfine's --export-json shape.
time_tools() {
  local name=$1 cap=$2
  local cmd_inspect="${pin[*]} $inspect $cap"
  local cmd_ndpi="${pin[*]} $ndpi -i $cap -q"
  if command -v hyperfine >/dev/null; then
    hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/$name.json" \
      -n muhafiz-inspect "$cmd_inspect" -n ndpiReader "$cmd_ndpi"
  else
    local out=$work/$name.times
    : >"$out"
    for label in muhafiz-inspect ndpiReader; do
      local cmd=$cmd_inspect
      [ "$label" = ndpiReader ] && cmd=$cmd_ndpi
      $cmd >/dev/null 2>&1  # warm-up: the capture in the page cache
      for _ in $(seq "$runs"); do
        /usr/bin/time -f "$label %e %U %S" -a -o "$out" $cmd >/dev/null 2>&1
      done
    done
    python3 - "$out" "$work/$name.json" <<'EOF'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    label, e, u, s = line.split()
    rows.setdefault(label, []).append((float(e), float(u), float(s)))
res = [{"command": k, "times": [r[0] for r in v], "median": statistics.median(r[0] for r in v),
        "mean": statistics.mean(r[0] for r in v), "user": statistics.mean(r[1] for r in v),
        "system": statistics.mean(r[2] for r in v)} for k, v in rows.items()]
json.dump({"results": res}, open(sys.argv[2], "w"))
EOF
  fi
}

echo "== timing on the generated capture"
time_tools bench "$work/bench.pcap"
echo "== timing on a 1-frame capture (start-up cost)"
time_tools one "$work/one.pcap"

corpus_packets=0
if [ "${SKIP_CORPUS:-0}" != 1 ] && [ -d "$corpus" ] && command -v mergecap >/dev/null && command -v capinfos >/dev/null; then
  echo "== the shared corpus: its Ethernet captures concatenated"
  # capinfos fails on the corpus's few unreadable files; the others are still listed.
  { capinfos -T -E -M "$corpus"/* 2>/dev/null || true; } | awk -F'\t' '$2 == "ether" { print $1 }' >"$work/corpus.list"
  xargs -a "$work/corpus.list" -d '\n' mergecap -a -F pcap -w "$work/corpus.pcap"
  corpus_packets=$(capinfos -c -M "$work/corpus.pcap" | awk -F': *' '/Number of packets/ { print $2 }')
  echo "$(wc -l <"$work/corpus.list") captures, $corpus_packets frames"
  time_tools corpus "$work/corpus.pcap"
else
  echo "== corpus run skipped (no $corpus, or no mergecap/capinfos, or SKIP_CORPUS=1)"
fi

# ---- 4. per-packet costs ---------------------------------------------------------------------
echo "== Google Benchmark: $bench"
"${pin[@]}" "$bench" --benchmark_filter="$filter" --benchmark_min_time="$min_time" \
  --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
  --benchmark_out="$work/extract_bench.json" --benchmark_out_format=json
echo "load after: $(cat /proc/loadavg)"

# ---- 5. summary --------------------------------------------------------------------------------
python3 - "$work" "$packets" "$corpus_packets" <<'EOF'
import json, os, sys
work, packets, corpus_packets = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def load(name):
    path = os.path.join(work, name + ".json")
    if not os.path.exists(path):
        return None
    return {r["command"].split()[0] if "/" in r["command"] else r["command"]: r
            for r in json.load(open(path))["results"]}

def by_tool(res):
    out = {}
    for k, r in res.items():
        out["muhafiz-inspect" if "inspect" in k else "ndpiReader"] = r
    return out

one = by_tool(load("one"))
print("\n== whole program (median wall of the runs; CPU = mean user+sys)")
print(f"{'capture':<10} {'tool':<16} {'frames':>9} {'wall s':>8} {'CPU s':>7} {'Mpkt/s wall':>12} "
      f"{'Mpkt/s excl. start-up':>22}")
for name, n in (("bench", packets), ("corpus", corpus_packets)):
    res = load(name)
    if res is None or n == 0:
        continue
    res = by_tool(res)
    rate = {}
    for tool in ("muhafiz-inspect", "ndpiReader"):
        r = res[tool]
        wall, cpu = r["median"], r["user"] + r["system"]
        net = wall - one[tool]["median"]
        rate[tool] = (n / wall, n / net if net > 0 else float("nan"), cpu)
        print(f"{name:<10} {tool:<16} {n:>9} {wall:>8.3f} {cpu:>7.3f} {n / wall / 1e6:>12.3f} "
              f"{rate[tool][1] / 1e6:>22.3f}")
    i, d = rate["muhafiz-inspect"], rate["ndpiReader"]
    print(f"{name:<10} ratio inspect/ndpiReader: {i[0] / d[0]:.2f}x wall, {i[1] / d[1]:.2f}x excl. start-up, "
          f"{d[2] / i[2]:.2f}x CPU")
print(f"start-up (1-frame capture, median wall): inspect {one['muhafiz-inspect']['median'] * 1e3:.1f} ms, "
      f"ndpiReader {one['ndpiReader']['median'] * 1e3:.1f} ms")

bench = json.load(open(os.path.join(work, "extract_bench.json")))
med = {}
for b in bench["benchmarks"]:
    if b.get("aggregate_name") == "median":
        med[b["run_name"]] = b
print("\n== per packet, one core (median of the repetitions; ns = CPU time per item)")
# burst ns: the extract_burst/ run of the case (32 frames per iteration), CPU ns per item.
print(f"{'case':<26} {'extract ns':>10} {'burst ns':>9} {'decode ns':>10} {'ratio':>6} "
      f"{'extract items/s':>16} {'obs/item':>9} {'allocs/item':>11}")
for name, b in med.items():
    if not name.startswith("extract/"):
        continue
    case = name.split("/", 1)[1]
    d = med.get("decode/" + case)
    burst = med.get("extract_burst/" + case)
    e_ns = b["cpu_time"]
    d_ns = d["cpu_time"] if d else float("nan")
    b_ns = 1e9 / burst["items_per_second"] if burst else float("nan")
    print(f"{case:<26} {e_ns:>10.1f} {b_ns:>9.1f} {d_ns:>10.1f} {e_ns / d_ns:>6.1f} "
          f"{b['items_per_second']:>16,.0f} {b.get('obs_per_item', 0):>9.3f} "
          f"{b.get('allocs_per_item', 0):>11.2f}")
for name, b in med.items():
    if name.startswith(("rewrite/", "parts/")):
        extra = f"  allocs/item {b['allocs_per_item']:.1f}" if "allocs_per_item" in b else ""
        print(f"{name:<38} {b['cpu_time']:>10.1f} ns{extra}")
EOF
