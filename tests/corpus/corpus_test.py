#!/usr/bin/env python3
"""Extraction agreement with Wireshark over the shared nDPI capture corpus.

usage: corpus_test.py INSPECT CORPUS_DIR [--min 0.99] [--exceptions FILE] [--list-misses N] [--jobs N]

For every capture in CORPUS_DIR/pcap, runs `INSPECT capture` and compares the multiset of
(kind, name) with CORPUS_DIR/expected/<capture>.tsv (tshark's extraction): DNS query names,
TLS and QUIC SNI together, HTTP hosts (port stripped) and HTTP request-targets. Prints recall
and precision per kind; fails when any is below --min, or when any capture crashes, hangs, or
the sanitizers report (a sanitizer report is a non-zero exit through abort).

Where the reference is wrong, an exception names the capture, the kind, the value, whether
tshark has it and we do not ("missed") or the reverse ("extra"), and why. Exceptions are
subtracted before scoring and listed in the output; an exception that no longer matches
anything fails the test, so the list cannot go stale.

Exits 77 (CTest's skip code) when the corpus is absent.
"""
import argparse
import collections
import concurrent.futures
import json
import os
import subprocess
import sys

KINDS = ("dns", "sni", "http", "uri")


def norm_host(h):
    h = h.strip().lower()
    if h in ("<root>", "", "."):
        return None
    if h.startswith("[") and "]" in h:
        h = h[1:h.index("]")]
    elif h.count(":") == 1:
        h = h.split(":")[0]
    return h.rstrip(".") or None


def reference(path):
    m = collections.Counter()
    with open(path, errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            parts += [""] * (5 - len(parts))
            _, dns, sni, host, uri = parts[:5]
            for kind, field in (("dns", dns), ("sni", sni), ("http", host)):
                for n in filter(None, field.split(",")):
                    n = norm_host(n)
                    if n:
                        m[(kind, n)] += 1
            for u in filter(None, uri.split(",")):
                m[("uri", u)] += 1
    return m


def observed(binary, pcap, timeout):
    try:
        r = subprocess.run([binary, pcap], capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "hang", ""
    if r.returncode == 2 and not open(os.path.join(os.path.dirname(os.path.dirname(pcap)), "expected",
                                                  os.path.basename(pcap) + ".tsv")).read().strip():
        return collections.Counter(), "ok", ""  # not a capture (e.g. a README), and nothing expected
    if r.returncode not in (0, 3):  # 3: truncated capture, output still valid
        return None, "crash (exit %d)" % r.returncode, r.stderr.decode(errors="replace")[-2000:]
    m = collections.Counter()
    # The reference joins several values of one frame with commas, so a value that itself
    # holds a comma (a URI query, a binary DNS label) reaches us split; split ours the same way.
    def add(kind, value, host):
        for part in filter(None, value.split(",")):
            part = norm_host(part) if host else part
            if part:
                m[(kind, part)] += 1
    for line in r.stdout.decode(errors="replace").splitlines():
        o = json.loads(line)
        kind = o["kind"]
        host = str(o.get("host", ""))
        if kind == "dns":
            add("dns", host, True)
        elif kind in ("tls_sni", "quic_sni"):
            add("sni", host, True)
        elif kind == "http":
            add("http", host, True)
            add("uri", o.get("uri", ""), False)
    return m, "ok", ""


def load_exceptions(path):
    out = []
    if not path:
        return out
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 6 or parts[3] not in ("missed", "extra") or parts[1] not in KINDS:
                sys.exit("%s:%d: want capture<TAB>kind<TAB>value<TAB>missed|extra<TAB>count<TAB>reason" % (path, n))
            out.append({"capture": parts[0], "kind": parts[1], "value": parts[2], "dir": parts[3],
                        "count": int(parts[4]), "reason": parts[5], "line": n})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("inspect")
    ap.add_argument("corpus")
    ap.add_argument("--min", type=float, default=0.99)
    ap.add_argument("--exceptions")
    ap.add_argument("--list-misses", type=int, default=30)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()

    pcap_dir = os.path.join(a.corpus, "pcap")
    ref_dir = os.path.join(a.corpus, "expected")
    if not os.path.isdir(pcap_dir) or not os.path.isdir(ref_dir):
        print("corpus not found at %s: skipping (the shared nDPI corpus is not on this machine)" % a.corpus)
        return 77
    captures = sorted(n for n in os.listdir(pcap_dir) if os.path.exists(os.path.join(ref_dir, n + ".tsv")))
    exceptions = load_exceptions(a.exceptions)

    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as pool:
        results = list(pool.map(lambda n: observed(a.inspect, os.path.join(pcap_dir, n), a.timeout), captures))

    tp = collections.Counter(); fn = collections.Counter(); fp = collections.Counter()
    failures = []; misses = []; used = set()
    for name, (got, status, stderr) in zip(captures, results):
        want = reference(os.path.join(ref_dir, name + ".tsv"))
        if got is None:
            failures.append("%s: %s %s" % (name, status, stderr.strip().splitlines()[-1:] if stderr else ""))
            got = collections.Counter()
        for i, e in enumerate(exceptions):
            if e["capture"] != name:
                continue
            key = (e["kind"], e["value"])
            side = want if e["dir"] == "missed" else got
            other = got if e["dir"] == "missed" else want
            if side[key] - other[key] >= e["count"]:
                side[key] -= e["count"]
                used.add(i)
        for key in set(want) | set(got):
            k = key[0]
            both = min(want[key], got[key])
            tp[k] += both
            fn[k] += want[key] - both
            fp[k] += got[key] - both
            if want[key] > got[key]:
                misses.append("%s: missed %s %r x%d" % (name, k, key[1][:100], want[key] - got[key]))
            elif got[key] > want[key]:
                misses.append("%s: extra %s %r x%d" % (name, k, key[1][:100], got[key] - want[key]))

    worst = 1.0
    print("%-5s %9s %9s %8s %9s" % ("kind", "reference", "found", "recall", "precision"))
    for k in KINDS:
        rec = tp[k] / (tp[k] + fn[k]) if tp[k] + fn[k] else 1.0
        pre = tp[k] / (tp[k] + fp[k]) if tp[k] + fp[k] else 1.0
        worst = min(worst, rec, pre)
        print("%-5s %9d %9d %8.4f %9.4f" % (k, tp[k] + fn[k], tp[k] + fp[k], rec, pre))
    print("captures %d, failures (crash/hang/sanitizer) %d, exceptions applied %d of %d"
          % (len(captures), len(failures), len(used), len(exceptions)))
    for i, e in enumerate(exceptions):
        mark = "applied" if i in used else "STALE"
        print("  exception %s: %s %s %s %r x%d: %s" % (mark, e["capture"], e["dir"], e["kind"], e["value"], e["count"], e["reason"]))
    for m in misses[:a.list_misses]:
        print("  " + m)
    if len(misses) > a.list_misses:
        print("  ... %d more differences" % (len(misses) - a.list_misses))
    for f in failures:
        print("  FAILURE " + f)
    stale = len(exceptions) - len(used)
    ok = not failures and worst >= a.min and stale == 0
    print("corpus agreement: worst recall/precision %.4f (minimum %.2f), %d failures, %d stale exceptions: %s"
          % (worst, a.min, len(failures), stale, "PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
