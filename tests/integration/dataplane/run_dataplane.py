#!/usr/bin/env python3
"""muhafiz-dataplane as an operator runs it: the real binary, a YAML config, net_pcap ports,
SIGTERM to stop. Without a ruleset the fail_mode decides: `open` forwards every frame byte for
byte, `closed` drops every IP frame and still passes ARP. The control socket answers ping and
stats (through muhafiz-dataplane-ctl) while it runs.

usage: run_dataplane.py MUHAFIZ_DATAPLANE MUHAFIZ_DATAPLANE_CTL
"""
import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp_frame(n):
    """Ethernet + IPv4 + UDP from 192.0.2.10:(30000+n) to 198.51.100.20:9999 (RFC 5737)."""
    payload = b"muhafiz frame %d" % n
    udp = struct.pack("!HHHH", 30000 + n, 9999, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), n, 0, 64, 17, 0,
                     bytes([192, 0, 2, 10]), bytes([198, 51, 100, 20]))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    eth = bytes.fromhex("02005e100002" "02005e100001" "0800")
    frame = eth + ip + udp
    return frame + b"\0" * max(0, 60 - len(frame))


def arp_frame():
    return bytes.fromhex("ffffffffffff" "02005e100001" "0806") + b"\0" * 46


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000, i, len(fr), len(fr)))
            f.write(fr)


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    assert magic in (0xA1B2C3D4, 0xA1B23C4D), hex(magic)
    frames, off = [], 24
    while off + 16 <= len(data):
        caplen = struct.unpack("<I", data[off + 8:off + 12])[0]
        frames.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return frames


def stats(ctl, endpoint):
    out = subprocess.run([ctl, "--socket", endpoint, "--timeout-ms", "1000", "--json", "stats"],
                         capture_output=True, text=True, timeout=10)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout)


def rx_packets(reply, port):
    total = 0
    for m in reply.get("metrics", []):
        labels = m.get("labels", {})
        if isinstance(labels, list):
            labels = {k: v for k, v in labels}
        if m.get("name") == "rx_packets_total" and labels.get("port") == port:
            total += int(m["value"])
    return total


def run_until_received(binary, cfg, ctl, control, port, expected, timeout, before_stop=None):
    """Runs muhafiz-dataplane with `cfg` until `port` has received `expected` frames, then calls
    before_stop(), takes the last stats and stops it with SIGTERM. Returns (stats, log, exit code)."""
    proc = subprocess.Popen([binary, "--config", cfg], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + timeout
        seen = 0
        while time.time() < deadline:
            reply = stats(ctl, control)
            if reply is not None:
                seen = rx_packets(reply, port)
                if seen == expected:
                    break
            time.sleep(0.2)
        assert seen == expected, f"the dataplane received {seen} of {expected} frames on {port}"
        if before_stop:
            before_stop()
        reply = stats(ctl, control)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    except Exception:
        proc.kill()
        print(proc.communicate()[0])
        raise
    return reply, out, proc.returncode


def run(binary, ctl, tmp, fail_mode, frames):
    sub = os.path.join(tmp, "in0.pcap")
    up = os.path.join(tmp, "in1.pcap")
    write_pcap(sub, frames)
    write_pcap(up, [])
    control = "ipc://" + os.path.join(tmp, "control.sock")
    cfg = os.path.join(tmp, "dataplane.yaml")
    with open(cfg, "w") as f:
        f.write(f"""mode: inline
ports:
  - "net_pcap0,rx_pcap={sub},tx_pcap={tmp}/out0.pcap"
  - "net_pcap1,rx_pcap={up},tx_pcap={tmp}/out1.pcap"
eal:
  args: ["-l", "0-1", "--no-huge", "--no-shconf", "-m", "128", "--log-level", "lib.eal:warning"]
dpdk: {{rx_descriptors: 256, tx_descriptors: 256}}
ruleset: {tmp}/no-ruleset-yet.snapshot
fail_mode: {fail_mode}
flows: {{capacity: 4096, buffers: 16}}
events: {{endpoint: "ipc://{tmp}/events.sock", ring_size: 256}}
control: {{endpoint: "{control}"}}
metrics: {{listen: ""}}
""")
    check = subprocess.run([binary, "--config", cfg, "--check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr

    def before_stop():
        ping = subprocess.run([ctl, "--socket", control, "ping"], capture_output=True, text=True, timeout=10)
        assert ping.returncode == 0, ping.stdout + ping.stderr

    _, out, code = run_until_received(binary, cfg, ctl, control, "net_pcap0", len(frames), 30, before_stop)
    assert code == 0, f"exit {code}:\n{out}"
    assert "entering its loop" in out and "left its loop" in out, out
    return read_pcap(os.path.join(tmp, "out1.pcap")), out


def main():
    binary, ctl = sys.argv[1], sys.argv[2]
    frames = [arp_frame()] + [udp_frame(n) for n in range(1, 41)]
    with tempfile.TemporaryDirectory(prefix="muhafiz-dp-") as tmp:
        forwarded, log = run(binary, ctl, tmp, "open", frames)
        assert forwarded == frames, f"fail open: {len(forwarded)} of {len(frames)} frames forwarded unchanged"
        assert "NO RULESET" in log, log
    with tempfile.TemporaryDirectory(prefix="muhafiz-dp-") as tmp:
        forwarded, _ = run(binary, ctl, tmp, "closed", frames)
        assert forwarded == [arp_frame()], f"fail closed: {len(forwarded)} frames forwarded, only ARP expected"
    print("ok: fail open forwarded %d frames unchanged; fail closed passed ARP only" % len(frames))


if __name__ == "__main__":
    main()
