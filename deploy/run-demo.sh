#!/usr/bin/env bash
# The embedded default, on an already built tree (deploy/demo.sh installs and builds first; the
# ctest `demo_end_to_end` runs this script as it is):
#   1. the FIA and the PTA each sign a sample list; the ISP verifies and compiles them
#      (muhafiz-list);
#   2. a generated capture of subscriber traffic is split into its two sides;
#   3. muhafiz-dataplane runs inline between two net_pcap ports (DPDK, --no-huge), the
#      subscribers' side replayed into port 0 and the upstream side into port 1;
#      muhafiz-dataplane-ctl stands in for muhafiz-control on the event channel;
#   4. once every frame went through, the dataplane is stopped and the summary printed.
# Usage: deploy/run-demo.sh BUILD_DIR [OUT_DIR]   (OUT_DIR defaults to BUILD_DIR/demo)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: run-demo.sh BUILD_DIR [OUT_DIR]}
build=$(cd "$build" && pwd)
out=${2:-$build/demo}

list="$build/rules/cli/muhafiz-list"
dataplane="$build/dataplane/engine/muhafiz-dataplane"
ctl="$build/dataplane/runtime/muhafiz-dataplane-ctl"
for tool in "$list" "$dataplane" "$ctl" "$build/tests/integration/muhafiz-make-captures"; do
  [ -x "$tool" ] || { echo "run-demo.sh: $tool is missing: build the tree first" >&2; exit 2; }
done

rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)

# 1. Lists. The regulator and the police sign; the ISP verifies against their pinned keys.
lists="$top/deploy/sample-lists"
"$list" keygen --secret "$out/pta.key" --public "$out/pta.pub" >/dev/null
"$list" keygen --secret "$out/fia.key" --public "$out/fia.pub" >/dev/null
"$list" build --list-id fia-csam --publisher fia --category csam --alert --version 1 --expires never \
  --in "$lists/fia-csam.csv" --key "$out/fia.key" --out "$out/fia-csam-1.bundle" >/dev/null
"$list" build --list-id pta-blocklist --publisher pta --category csam --version 1 --expires never \
  --in "$lists/pta-blocklist.rpz" --key "$out/pta.key" --out "$out/pta-blocklist-1.bundle" >/dev/null
"$list" compile --public "$out/fia.pub" --public "$out/pta.pub" --out "$out/ruleset.bin" \
  "$out/fia-csam-1.bundle" "$out/pta-blocklist-1.bundle" >"$out/compile.log"

# 2. Traffic: the capture holds both directions of every visit. What the subscribers
# (192.0.2.96/27, 2001:db8:100::/48) sent is replayed into port 0. The servers' answers are
# left out: a real server never answers a request the filter stopped, and replaying recorded
# answers to blocked requests would only muddle the output. Port 1 replays an empty capture.
"$build/tests/integration/muhafiz-make-captures" "$out/captures" >/dev/null
python3 - "$out/captures/mixed_sample.pcap" "$out/subscribers.pcap" "$out/upstream.pcap" <<'PY'
import ipaddress, struct, sys
src, subs, ups = sys.argv[1:]
data = open(src, "rb").read()
assert struct.unpack("<I", data[:4])[0] == 0xA1B2C3D4 and struct.unpack("<I", data[20:24])[0] == 1
clients4 = ipaddress.ip_network("192.0.2.96/27")
clients6 = ipaddress.ip_network("2001:db8:100::/48")
out = {False: [data[:24]], True: [data[:24]]}
off = 24
while off + 16 <= len(data):
    caplen = struct.unpack("<I", data[off + 8:off + 12])[0]
    rec = data[off:off + 16 + caplen]
    frame = rec[16:]
    ethertype = struct.unpack("!H", frame[12:14])[0]
    if ethertype == 0x0800:
        from_client = ipaddress.ip_address(frame[26:30]) in clients4
    elif ethertype == 0x86DD:
        from_client = ipaddress.ip_address(frame[22:38]) in clients6
    else:
        from_client = True
    out[from_client].append(rec)
    off += 16 + caplen
open(subs, "wb").write(b"".join(out[True]))
open(ups, "wb").write(data[:24])  # no frames
PY

# 3. The dataplane. No hugepages: EAL takes 256 MB of ordinary memory (--no-huge); the
# control and event sockets live in the demo directory; /metrics is off (the same numbers come
# from muhafiz-dataplane-ctl stats).
cat >"$out/dataplane.yaml" <<EOF
# Written by deploy/run-demo.sh. Every key: deploy/dataplane.example.yaml.
mode: inline
ports:
  - "net_pcap0,rx_pcap=$out/subscribers.pcap,tx_pcap=$out/to-subscribers.pcap"
  - "net_pcap1,rx_pcap=$out/upstream.pcap,tx_pcap=$out/to-upstream.pcap"
eal:
  args: ["-l", "0-1", "--no-huge", "--no-shconf", "-m", "256", "--file-prefix", "muhafiz-demo-$$"]
workers: 1
ruleset: $out/ruleset.bin
fail_mode: open
stop_page:
  ipv4: 192.0.2.80
  ipv6: "2001:db8::80"
  url: http://stop.muhafiz.example/blocked
dns:
  reply: stop_page
  ede_code: 15
  ede_text: "Blocked under PTA/FIA order"
events:
  endpoint: ipc://$out/events.sock
control:
  endpoint: ipc://$out/control.sock
metrics:
  listen: ""
EOF
"$dataplane" --config "$out/dataplane.yaml" --check >/dev/null

"$ctl" events --listen "ipc://$out/events.sock" >"$out/events.jsonl" 2>"$out/events.log" &
listener=$!
"$dataplane" --config "$out/dataplane.yaml" >"$out/dataplane.log" 2>&1 &
dp=$!
cleanup() {
  kill -TERM "$dp" "$listener" 2>/dev/null || true
}
trap cleanup EXIT

frames=$(python3 -c "
import struct, sys
n = 0
for path in sys.argv[1:]:
    d = open(path, 'rb').read(); off = 24
    while off + 16 <= len(d):
        off += 16 + struct.unpack('<I', d[off + 8:off + 12])[0]; n += 1
print(n)" "$out/subscribers.pcap" "$out/upstream.pcap")

# Wait until the dataplane has received every frame of both captures (net_pcap replays a file
# once, then its queue stays empty).
received=0
for _ in $(seq 1 600); do
  if ! kill -0 "$dp" 2>/dev/null; then
    echo "run-demo.sh: muhafiz-dataplane stopped early; its log:" >&2
    cat "$out/dataplane.log" >&2
    exit 1
  fi
  if "$ctl" --socket "ipc://$out/control.sock" --timeout-ms 1000 stats >"$out/stats.txt" 2>/dev/null; then
    received=$(awk '/^rx_packets_total/ {s += $2} END {print s + 0}' "$out/stats.txt")
    [ "$received" -ge "$frames" ] && break
  fi
  sleep 0.1
done
if [ "$received" -lt "$frames" ]; then
  echo "run-demo.sh: the dataplane received $received of $frames frames within 60 s; its log:" >&2
  cat "$out/dataplane.log" >&2
  exit 1
fi
sleep 1  # TX buffers are flushed every 100 us, events every millisecond: let both drain
"$ctl" --socket "ipc://$out/control.sock" stats >"$out/stats.txt"
kill -TERM "$dp"
wait "$dp" || { echo "run-demo.sh: muhafiz-dataplane exited with $?; log: $out/dataplane.log" >&2; exit 1; }
sleep 0.5
kill -TERM "$listener"
wait "$listener" || true
trap - EXIT

# 4. The summary.
python3 "$top/deploy/demo_summary.py" "$out" "$list"
