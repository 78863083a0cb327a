#!/usr/bin/env python3
"""muhafiz-dataplane in tap mode, the real binary: a mirror port (net_pcap) replays both
directions of the generated mixed sample, replies leave through the second port
(`tap.inject: second_port`). Nothing may be forwarded; every frame injected must be one of
our replies (a DNS answer from the resolver's address, a TCP reset, an HTTP 302), as many as
the dataplane counted; QUIC blocks, which a tap cannot enforce, are counted as races.

usage: run_dataplane_tap.py MUHAFIZ_LIST MUHAFIZ_DATAPLANE MUHAFIZ_DATAPLANE_CTL CAPTURES_DIR
"""
import os
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_dataplane import read_pcap, run_until_received, write_pcap  # noqa: E402


def metric(reply, name, **want):
    total = 0
    for m in reply.get("metrics", []):
        labels = m.get("labels", {})
        if isinstance(labels, list):
            labels = {k: v for k, v in labels}
        if m.get("name") == name and all(labels.get(k) == v for k, v in want.items()):
            total += int(m["value"])
    return total


def classify(frame):
    """What one injected frame is: 'dns_nxdomain', 'dns_stop_page', 'rst', 'http_302' or why not."""
    ethertype = struct.unpack("!H", frame[12:14])[0]
    if ethertype == 0x0800:
        ihl = (frame[14] & 0x0F) * 4
        proto, l4 = frame[23], frame[14 + ihl:]
    elif ethertype == 0x86DD:
        proto, l4 = frame[20], frame[54:]
    else:
        return "not ip: %04x" % ethertype
    if proto == 17:
        sport = struct.unpack("!H", l4[0:2])[0]
        dns = l4[8:]
        flags, ancount = struct.unpack("!H", dns[2:4])[0], struct.unpack("!H", dns[6:8])[0]
        if sport != 53 or not flags & 0x8000:
            return "udp but not a DNS response"
        if flags & 0x000F == 3:
            return "dns_nxdomain"
        return "dns_stop_page" if ancount >= 1 else "dns answer without records"
    if proto == 6:
        offset = (l4[12] >> 4) * 4
        if l4[13] & 0x04:
            return "rst"
        if l4[offset:].startswith(b"HTTP/1.1 302 Found\r\n"):
            return "http_302"
        return "tcp segment that is not ours"
    return "protocol %d" % proto


def main():
    muhafiz_list, binary, ctl, captures = sys.argv[1:5]
    with tempfile.TemporaryDirectory(prefix="muhafiz-tap-") as tmp:
        # The same sample lists as the demo: a plain CSV (FIA) and an RPZ zone (PTA).
        lists = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "deploy",
                             "sample-lists")
        run = lambda *a: subprocess.run([muhafiz_list, *a], check=True, capture_output=True)
        run("keygen", "--secret", f"{tmp}/k.key", "--public", f"{tmp}/k.pub")
        run("build", "--list-id", "fia-csam", "--publisher", "fia", "--category", "csam", "--alert",
            "--version", "1", "--expires", "never", "--in", f"{lists}/fia-csam.csv", "--key",
            f"{tmp}/k.key", "--out", f"{tmp}/fia.bundle")
        run("build", "--list-id", "pta", "--publisher", "pta", "--category", "csam", "--version", "1",
            "--expires", "never", "--in", f"{lists}/pta-blocklist.rpz", "--key", f"{tmp}/k.key",
            "--out", f"{tmp}/pta.bundle")
        run("compile", "--public", f"{tmp}/k.pub", "--out", f"{tmp}/ruleset.bin", f"{tmp}/fia.bundle",
            f"{tmp}/pta.bundle")

        mirror = os.path.join(captures, "mixed_sample.pcap")
        frames_in = len(read_pcap(mirror))
        write_pcap(f"{tmp}/empty.pcap", [])
        control = f"ipc://{tmp}/control.sock"
        cfg = f"{tmp}/dataplane.yaml"
        with open(cfg, "w") as f:
            f.write(f"""mode: tap
tap: {{inject: second_port}}
ports:
  - "net_pcap0,rx_pcap={mirror},tx_pcap={tmp}/out0.pcap"
  - "net_pcap1,rx_pcap={tmp}/empty.pcap,tx_pcap={tmp}/out1.pcap"
eal:
  args: ["-l", "0-1", "--no-huge", "--no-shconf", "-m", "128", "--log-level", "lib.eal:warning"]
dpdk: {{rx_descriptors: 256, tx_descriptors: 256}}
ruleset: {tmp}/ruleset.bin
stop_page: {{ipv4: 192.0.2.80, ipv6: "2001:db8::80", url: "http://stop.example/blocked"}}
dns: {{reply: stop_page}}
flows: {{capacity: 4096, buffers: 64}}
events: {{endpoint: "ipc://{tmp}/events.sock", ring_size: 256}}
control: {{endpoint: "{control}"}}
metrics: {{listen: ""}}
""")
        # TX buffers drain within tx_flush_us: wait a little before the last stats.
        reply, out, code = run_until_received(binary, cfg, ctl, control, "net_pcap0", frames_in, 60,
                                              lambda: time.sleep(0.5))
        assert code == 0, f"exit {code}:\n{out}"

        forwarded = read_pcap(f"{tmp}/out0.pcap")
        injected = read_pcap(f"{tmp}/out1.pcap")
        assert forwarded == [], f"tap mode forwarded {len(forwarded)} frames out of the mirror port"
        kinds = {}
        for fr in injected:
            k = classify(fr)
            kinds[k] = kinds.get(k, 0) + 1
        actions = {a: metric(reply, "actions_total", reason=a)
                   for a in ("dns_nxdomain", "dns_stop_page", "http_redirect", "tcp_reset_client",
                             "tcp_reset_server")}
        expected = {"dns_nxdomain": actions["dns_nxdomain"], "dns_stop_page": actions["dns_stop_page"],
                    "http_302": actions["http_redirect"],
                    "rst": actions["tcp_reset_client"] + actions["tcp_reset_server"]}
        expected = {k: v for k, v in expected.items() if v}
        assert kinds == expected, f"injected {kinds}, the dataplane counted {expected}"
        # The sample blocks on every path: DNS both ways, HTTP, TLS and QUIC.
        assert all(expected.get(k) for k in ("dns_nxdomain", "dns_stop_page", "http_302", "rst")), expected
        cannot_drop = metric(reply, "tap_races_total", reason="cannot_drop")
        assert cannot_drop > 0, "QUIC blocks in tap mode must be counted as cannot_drop races"
        assert metric(reply, "reply_failures_total") == 0, "reply failures"
        print("ok: tap mode forwarded nothing and injected %d replies %s; %d QUIC blocks counted as races"
              % (len(injected), kinds, cannot_drop))


if __name__ == "__main__":
    main()
