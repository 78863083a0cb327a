#!/usr/bin/env bash
# The README's first command: installs dependencies, builds, and runs Muhafiz on its embedded
# default, ending in a summary. Today that is the dataplane's decoders and extractors
# (muhafiz-inspect) over a sample capture the project generates itself; the DPDK dataplane,
# signed lists and alerting join this demo as their issues land.
# Usage: deploy/demo.sh [BUILD_DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
jobs=${MUHAFIZ_JOBS:-2}

"$top/deploy/install-deps.sh"
cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$jobs" --target muhafiz-inspect muhafiz-make-captures

out="$build/demo"
rm -rf "$out"
mkdir -p "$out"
"$build/tests/integration/muhafiz-make-captures" "$out/captures" >/dev/null
capture="$out/captures/mixed_sample.pcap"
"$build/dataplane/inspect/muhafiz-inspect" "$capture" > "$out/observations.jsonl"
"$build/dataplane/inspect/muhafiz-inspect" --summary "$capture" > "$out/summary.json"

python3 - "$capture" "$out/observations.jsonl" "$out/summary.json" <<'PY'
import collections, json, sys
capture, lines, summary = sys.argv[1:]
obs = [json.loads(l) for l in open(lines)]
s = json.load(open(summary))
print()
print("Muhafiz demo: what the filter sees in a sample of subscriber traffic")
print("=" * 68)
print("capture      %s" % capture)
print("frames       %d (every one decoded by the same code the DPDK workers run)" % s["frames"])
kinds = s["observations"]
print("observed     %d DNS queries, %d TLS SNI, %d QUIC SNI, %d HTTP requests"
      % (kinds["dns"], kinds["tls_sni"], kinds["quic_sni"], kinds["http"]))
flags = s["observation_flags"]
if flags:
    print("notable      " + ", ".join("%s %d" % kv for kv in sorted(flags.items())))
print()
print("Names seen, most frequent first:")
names = collections.Counter((o["kind"], o["host"]) for o in obs)
for (kind, host), n in names.most_common(12):
    print("  %-9s %-40s x%d" % (kind, host, n))
print()
print("Every observation:   %s (JSON Lines, one per name)" % lines)
print("Counters:            %s" % summary)
print("Open the capture in Wireshark to compare: wireshark %s" % capture)
print("Blocking, signed PTA/FIA lists and FIA alerts arrive with the next issues (see README).")
PY
