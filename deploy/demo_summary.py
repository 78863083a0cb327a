#!/usr/bin/env python3
"""The summary of deploy/run-demo.sh, from what the run left in OUT_DIR: the input and output
captures, the dataplane's counters (muhafiz-dataplane-ctl stats), the access events it sent
and the ruleset. It checks that the numbers agree (every frame received is forwarded or
blocked, every output frame is a forwarded frame or a reply, every event sent arrived) and
exits 1 when they do not.

usage: demo_summary.py OUT_DIR MUHAFIZ_LIST
"""
import collections
import json
import os
import re
import shutil
import struct
import subprocess
import sys

out, muhafiz_list = sys.argv[1:3]
problems = []


def path(name):
    return os.path.join(out, name)


def pcap_frames(name):
    data = open(path(name), "rb").read()
    if len(data) < 24:
        return 0
    off, n = 24, 0
    while off + 16 <= len(data):
        off += 16 + struct.unpack("<I", data[off + 8:off + 12])[0]
        n += 1
    return n


# "name{a="x",b="y"} 12" lines -> {(name, (("a","x"),("b","y"))): 12}
stats = {}
for line in open(path("stats.txt")):
    m = re.match(r'^(\w+)(?:\{(.*)\})? (\S+)$', line.strip())
    if m:
        labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', m.group(2) or "")))
        stats[(m.group(1), labels)] = float(m.group(3))


def total(name, **want):
    return int(sum(v for (n, labels), v in stats.items()
                   if n == name and all((k, w) in labels for k, w in want.items())))


events = [json.loads(l) for l in open(path("events.jsonl")) if l.strip()]

# Which list and entry each event names (events carry indexes into the ruleset in force).
entry_names = {}
for ev in events:
    key = (ev["kind"], ev["name"])
    if key in entry_names or ev["list"] is None:
        continue
    args = [muhafiz_list, "lookup", "--ruleset", path("ruleset.bin"), "--kind", ev["kind"]]
    args += ["--url", ev["name"]] if ev["kind"] == "http" else [ev["name"]]
    r = subprocess.run(args, capture_output=True, text=True)
    verdict = json.loads(r.stdout) if r.stdout.strip() else {}
    hits = [verdict.get(k) for k in ("match", "alert_match", "url_only_match", "shadow_match")]
    hit = next((h for h in hits if h and h.get("list_index") == ev["list"]), None)
    entry_names[key] = (hit["list"], hit["id"]) if hit else ("list %d" % ev["list"], "?")

frames_in = {"subscribers": pcap_frames("subscribers.pcap"), "upstream": pcap_frames("upstream.pcap")}
frames_out = {"subscribers": pcap_frames("to-subscribers.pcap"),
              "upstream": pcap_frames("to-upstream.pcap")}
rx = total("rx_packets_total")
passed = total("packets_total", reason="passed")
blocked = {r: total("packets_total", reason=r) for r in ("blocked", "ip_blocked", "flow_blocked")}
dropped_other = total("packets_total") - passed - sum(blocked.values())
replies = {r: total("actions_total", reason=r)
           for r in ("dns_nxdomain", "dns_stop_page", "http_redirect", "tcp_reset_client",
                     "tcp_reset_server")}
seen = {k: total("inspected_total", reason=k) for k in ("dns", "tls_sni", "quic_sni", "http")}

# The books must balance.
if rx != sum(frames_in.values()):
    problems.append("received %d frames, the captures hold %d" % (rx, sum(frames_in.values())))
if passed + sum(blocked.values()) + dropped_other != rx:
    problems.append("packets_total does not add up to the frames received")
if sum(frames_out.values()) != passed + sum(replies.values()):
    problems.append("output captures hold %d frames, expected %d forwarded + %d replies"
                    % (sum(frames_out.values()), passed, sum(replies.values())))
if len(events) != total("events_sent"):
    problems.append("%d events arrived, the dataplane sent %d" % (len(events), total("events_sent")))
if total("events_dropped_ring_full") or total("events_dropped_backlog_full"):
    problems.append("the dataplane dropped events")

# What the subscribers actually received, as tshark decodes it.
decoded = {}
if shutil.which("tshark"):
    filters = {
        "stop-page DNS answers": "dns.flags.response == 1 && (dns.a == 192.0.2.80 || dns.aaaa == 2001:db8::80)",
        "NXDOMAIN answers": "dns.flags.response == 1 && dns.flags.rcode == 3",
        "HTTP 302 to the stop page": 'http.response.code == 302 && http.location contains "stop.muhafiz.example"',
        "TCP resets": "tcp.flags.reset == 1",
    }
    for side in ("subscribers", "upstream"):
        for what, f in filters.items():
            r = subprocess.run(["tshark", "-n", "-r", path("to-%s.pcap" % side), "-Y", f, "-T", "fields",
                                "-e", "frame.number"], capture_output=True, text=True)
            decoded[(side, what)] = len(r.stdout.split())

enforced = [e for e in events if "enforced" in e["flags"]]
alerts = [e for e in events if "alert" in e["flags"]]
by_name_only = [e for e in events if "url_not_enforceable" in e["flags"]]

print()
print("Muhafiz demo: the DPDK dataplane filtering a sample of subscriber traffic")
print("=" * 74)
print("lists        fia-csam v1 (signed by the FIA, raises alerts), pta-blocklist v1 (signed by")
print("             the PTA, an RPZ zone); verified and compiled into %s" % path("ruleset.bin"))
print("dataplane    muhafiz-dataplane, inline between two net_pcap ports (DPDK, no hugepages), 1 worker")
print("in           %d frames sent by subscribers (DNS, TLS, QUIC, HTTP; IPv4 and IPv6)" % frames_in["subscribers"])
print("seen         %d DNS queries, %d TLS ClientHellos, %d QUIC Initials, %d HTTP requests"
      % (seen["dns"], seen["tls_sni"], seen["quic_sni"], seen["http"]))
print("blocked      %d requests, and %d later packets of flows already blocked"
      % (blocked["blocked"] + blocked["ip_blocked"], blocked["flow_blocked"]))
print("answered     %d DNS stop-page answers (192.0.2.80, 2001:db8::80) and %d NXDOMAIN, with EDE 15"
      % (replies["dns_stop_page"], replies["dns_nxdomain"]))
print("             %d HTTP 302 redirects to http://stop.muhafiz.example/blocked" % replies["http_redirect"])
print("             %d TCP resets to subscribers, %d to servers; QUIC: flow dropped (browsers fall back to TCP)"
      % (replies["tcp_reset_client"], replies["tcp_reset_server"]))
print("forwarded    %d frames upstream, untouched" % passed)
print("FIA alerts   %d access events on the FIA's alert list (sent to muhafiz-control's socket;"
      % len(alerts))
print("             the FIA collector arrives with a later issue)")
print()
print("Blocked (one line per name and kind; x = how often):")
rows = collections.Counter((e["kind"], e["name"]) + entry_names.get((e["kind"], e["name"]), ("?", "?"))
                           + (e["action"], "alert" in e["flags"]) for e in enforced)
for (kind, name, lst, entry, action, alert), n in sorted(rows.items()):
    print("  %-9s %-34s list %-14s entry %-6s %-9s%s x%d"
          % (kind, name, lst, entry, action, " FIA alert" if alert else "", n))
if by_name_only:
    print()
    print("Seen but not blocked: a URL entry matched the host only (DNS, TLS or QUIC name), and a URL")
    print("entry never blocks a whole host. The same URL over HTTP is blocked above.")
    for (kind, name), n in sorted(collections.Counter((e["kind"], e["name"]) for e in by_name_only).items()):
        print("  %-9s %-34s x%d" % (kind, name, n))
if decoded:
    print()
    print("What tshark reads in the output captures:")
    for side in ("subscribers", "upstream"):
        found = ", ".join("%d %s" % (n, what) for (s, what), n in decoded.items() if s == side and n)
        print("  to-%-12s %s" % (side + ":", found or "no replies"))
print()
print("Open the results in Wireshark:")
for name, what in (("subscribers.pcap", "what subscribers sent"),
                   ("to-upstream.pcap", "what went on upstream: blocked requests are absent"),
                   ("to-subscribers.pcap", "what the filter answered: stop page, NXDOMAIN, 302, resets")):
    print("  %-*s # %s" % (len(path("to-subscribers.pcap")) + 10, "wireshark " + path(name), what))
print("Access events: %s   counters: %s" % (path("events.jsonl"), path("stats.txt")))
print("Dataplane config and log: %s, %s" % (path("dataplane.yaml"), path("dataplane.log")))
print()
if problems:
    for p in problems:
        print("INCONSISTENT: " + p)
    sys.exit(1)
print("Every frame is accounted for: %d in = %d forwarded + %d blocked; %d replies built; %d events delivered."
      % (rx, passed, rx - passed, sum(replies.values()), len(events)))
