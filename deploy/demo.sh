#!/usr/bin/env bash
# The README's first command: installs dependencies, builds, and runs Muhafiz on its embedded
# default, ending in a summary. Today: sample FIA and PTA lists are signed and compiled with
# muhafiz-list, and the dataplane's decoders, extractors and matcher (muhafiz-inspect
# --ruleset) judge a sample capture the project generates itself. The DPDK dataplane and
# FIA alerting join this demo as their issues land.
# Usage: deploy/demo.sh [BUILD_DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
jobs=${MUHAFIZ_JOBS:-2}

"$top/deploy/install-deps.sh"
cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$jobs" --target muhafiz-inspect muhafiz-make-captures muhafiz-list

out="$build/demo"
rm -rf "$out"
mkdir -p "$out"
"$build/tests/integration/muhafiz-make-captures" "$out/captures" >/dev/null
capture="$out/captures/mixed_sample.pcap"
# The regulator and the police each sign their list; the ISP verifies and compiles them.
list="$build/rules/cli/muhafiz-list"
lists="$top/deploy/sample-lists"
"$list" keygen --secret "$out/pta.key" --public "$out/pta.pub" >/dev/null
"$list" keygen --secret "$out/fia.key" --public "$out/fia.pub" >/dev/null
"$list" build --list-id fia-csam --publisher fia --category csam --alert --version 1 --expires never \
  --in "$lists/fia-csam.csv" --key "$out/fia.key" --out "$out/fia-csam-1.bundle" >/dev/null
"$list" build --list-id pta-blocklist --publisher pta --category csam --version 1 --expires never \
  --in "$lists/pta-blocklist.rpz" --key "$out/pta.key" --out "$out/pta-blocklist-1.bundle" >/dev/null
"$list" compile --public "$out/fia.pub" --public "$out/pta.pub" --out "$out/ruleset.bin" \
  "$out/fia-csam-1.bundle" "$out/pta-blocklist-1.bundle" >/dev/null
"$build/dataplane/inspect/muhafiz-inspect" --ruleset "$out/ruleset.bin" "$capture" > "$out/observations.jsonl"
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
enforced = [o for o in obs if o["verdict"]["matched"] and o["verdict"]["enforce"]]
report_only = [o for o in obs if o["verdict"]["matched"] and not o["verdict"]["enforce"]]
alerts = [o for o in enforced if o["verdict"]["alert"]]
print("verdicts     %d would be blocked (%d raise an FIA alert), %d matched a URL entry by name only"
      " (never blocked), %d allowed" % (len(enforced), len(alerts), len(report_only),
                                        len(obs) - len(enforced) - len(report_only)))
print()
print("Would be blocked:")
rows = collections.Counter((o["kind"], o["host"], o.get("uri", ""), o["verdict"]["list"], o["verdict"]["entry"])
                           for o in enforced)
for (kind, host, uri, lst, entry), n in sorted(rows.items()):
    print("  %-9s %-28s %-16s list %-14s entry %-6s x%d" % (kind, host, uri, lst, entry, n))
print()
print("Most frequent allowed names:")
names = collections.Counter((o["kind"], o["host"]) for o in obs if not o["verdict"]["matched"])
for (kind, host), n in names.most_common(6):
    print("  %-9s %-40s x%d" % (kind, host, n))
print()
print("Every observation:   %s (JSON Lines, one per name)" % lines)
print("Counters:            %s" % summary)
print("Open the capture in Wireshark to compare: wireshark %s" % capture)
print("Signed lists and ruleset: %s (muhafiz-list show/verify them)" % __import__("os").path.dirname(lines))
print("The DPDK dataplane that acts on these verdicts, and FIA alerting, arrive with the next issues.")
PY
