#!/usr/bin/env python3
"""Checks the generated captures against Wireshark's tshark.

usage: check_with_tshark.py CAPTURES_DIR

For every X.pcap / X.pcapng in CAPTURES_DIR (written by muhafiz-make-captures) this
 1. runs tshark with checksum validation on and fails on any malformed frame, bad IP/TCP/UDP
    checksum or error-level expert item, so the captures are well-formed traffic;
 2. extracts DNS query names, TLS/QUIC SNI, HTTP Host and request URI per frame, and compares
    them with X.expected.jsonl: same frame, same names, nothing missing, nothing extra.
A manifest entry may carry "tshark": {"frame": N, "why": ...} or {"absent": true, "why": ...}
where tshark legitimately reports otherwise; the reason is printed.
Exit 0 when every capture agrees, 1 otherwise, 77 (skip) when tshark is not installed.
Standard library only.
"""
import collections
import json
import os
import shutil
import subprocess
import sys

SKIP = 77
FIELDS = ["frame.number", "dns.qry.name", "tls.handshake.extensions_server_name", "http.host",
          "http.request.uri"]
EXTRACT_FILTER = "(dns.flags.response==0 and dns.qry.name) or tls.handshake.type==1 or http.request"
DEFECT_FILTER = ('_ws.malformed or _ws.expert.severity >= "error" or ip.checksum.status == "Bad" '
                 'or tcp.checksum.status == "Bad" or udp.checksum.status == "Bad"')
KINDS = {"dns": "dns", "tls_sni": "sni", "quic_sni": "sni", "http": "http"}


def norm_host(h):
    """Lower case, no trailing dot, no port: how the manifest writes hosts."""
    h = h.strip().lower()
    if h.startswith("[") and "]" in h:
        h = h[1:h.index("]")]
    elif h.count(":") == 1:
        h = h.split(":")[0]
    return h.rstrip(".")


def run_tshark(tshark, path, args):
    r = subprocess.run([tshark, "-r", path, "-n"] + args, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError("tshark failed on %s: %s" % (path, r.stderr.strip()))
    return r.stdout


def tshark_observations(tshark, path):
    args = ["-o", "tcp.desegment_tcp_streams:TRUE", "-T", "fields", "-E", "separator=/t"]
    for f in FIELDS:
        args += ["-e", f]
    args += ["-Y", EXTRACT_FILTER]
    got = collections.Counter()
    for line in run_tshark(tshark, path, args).splitlines():
        parts = line.split("\t") + [""] * len(FIELDS)
        frame, dns, sni, host, uri = parts[:5]
        frame = int(frame)
        for n in filter(None, dns.split(",")):
            got[(frame, "dns", norm_host(n))] += 1
        for n in filter(None, sni.split(",")):
            got[(frame, "sni", norm_host(n))] += 1
        for n in filter(None, host.split(",")):
            got[(frame, "http", norm_host(n))] += 1
        for u in filter(None, uri.split(",")):
            got[(frame, "uri", u)] += 1
    return got


def defects(tshark, path):
    args = ["-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
            "-Y", DEFECT_FILTER]
    return [line for line in run_tshark(tshark, path, args).splitlines() if line.strip()]


def manifest_observations(path, notes):
    """The manifest as tshark should see it; `notes` collects the documented differences."""
    want = collections.Counter()
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            o = json.loads(line)
            where = "%s:%d" % (os.path.basename(path), number)
            if o.get("kind") not in KINDS or not o.get("host") or not isinstance(o.get("frame"), int):
                raise ValueError("%s: needs frame, kind in %s and host: %s" % (where, sorted(KINDS), line.strip()))
            if (o["kind"] == "http") != ("uri" in o):
                raise ValueError("%s: uri goes with kind http, and only there" % where)
            frame = o["frame"]
            differs = o.get("tshark")
            if differs is not None:
                if not differs.get("why"):
                    raise ValueError("%s: a tshark difference needs a why" % where)
                if differs.get("absent"):
                    notes.append("%s %s: not expected from tshark: %s" % (where, o["host"], differs["why"]))
                    continue
                notes.append("%s %s: tshark reports at frame %d, not %d: %s"
                             % (where, o["host"], differs["frame"], frame, differs["why"]))
                frame = differs["frame"]
            want[(frame, KINDS[o["kind"]], norm_host(o["host"]))] += 1
            if o["kind"] == "http":
                want[(frame, "uri", o["uri"])] += 1
    return want


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    folder = sys.argv[1]
    tshark = shutil.which("tshark")
    if tshark is None:
        print("tshark not found (Debian package tshark): skipping the check of generated captures")
        return SKIP
    version = subprocess.run([tshark, "--version"], capture_output=True, text=True).stdout.splitlines()
    print("using", version[0] if version else tshark)

    captures = sorted(n for n in os.listdir(folder) if n.endswith((".pcap", ".pcapng")))
    stems = {os.path.splitext(n)[0] for n in captures}
    orphans = sorted(n for n in os.listdir(folder)
                     if n.endswith(".expected.jsonl") and n[:-len(".expected.jsonl")] not in stems)
    passed = failed = 0
    for name in orphans:
        print("FAIL %s: manifest without a capture" % name)
        failed += 1
    if not captures:
        print("FAIL no captures in %s" % folder)
        failed += 1
    for name in captures:
        path = os.path.join(folder, name)
        manifest = os.path.join(folder, os.path.splitext(name)[0] + ".expected.jsonl")
        problems = []
        notes = []
        if not os.path.exists(manifest):
            problems.append("no manifest %s" % os.path.basename(manifest))
        else:
            want = manifest_observations(manifest, notes)
            got = tshark_observations(tshark, path)
            for key in sorted(set(want) | set(got), key=lambda k: (k[0], k[1], k[2])):
                if want[key] > got[key]:
                    problems.append("tshark lacks frame %d %s %s (x%d)" % (key + (want[key] - got[key],)))
                elif got[key] > want[key]:
                    problems.append("tshark has unlisted frame %d %s %s (x%d)" % (key + (got[key] - want[key],)))
            if not want:
                problems.append("manifest lists nothing")
            problems += ["defect: " + d for d in defects(tshark, path)]
        for n in notes:
            print("  note", n)
        if problems:
            failed += 1
            print("FAIL", name)
            for p in problems:
                print("   ", p)
        else:
            passed += 1
            print("ok  ", name)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
