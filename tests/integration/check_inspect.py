#!/usr/bin/env python3
"""Checks muhafiz-inspect on the project's generated captures, observation by observation.

usage: check_inspect.py INSPECT CAPTURES_DIR

For every X.pcap / X.pcapng with an X.expected.jsonl manifest (written by
muhafiz-make-captures), runs `INSPECT X` and requires exactly the manifest's observations:
same frame, kind, host, HTTP request-target, and every flag the manifest names ("ech",
"ip_fragment", ...) present. Nothing missing, nothing extra. Also runs `--summary` once per
capture and checks it is valid JSON whose per-kind counts equal the observations printed.
Prints "N passed, N failed"; exit 0 when all agree. Standard library only.
"""
import collections
import json
import os
import subprocess
import sys


def key(o):
    return (o["frame"], o["kind"], o["host"], o.get("uri", ""))


def main():
    inspect, folder = sys.argv[1], sys.argv[2]
    captures = sorted(f for f in os.listdir(folder) if f.endswith((".pcap", ".pcapng")))
    if not captures:
        print("no captures in %s: did muhafiz-make-captures run?" % folder)
        return 1
    passed = failed = 0
    for name in captures:
        path = os.path.join(folder, name)
        manifest = os.path.join(folder, os.path.splitext(name)[0] + ".expected.jsonl")
        want = [json.loads(l) for l in open(manifest) if l.strip()]
        r = subprocess.run([inspect, path], capture_output=True, text=True, timeout=60)
        problems = []
        if r.returncode != 0:
            problems.append("exit %d: %s" % (r.returncode, r.stderr.strip()))
        got = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        got_by_key = collections.defaultdict(list)
        for o in got:
            got_by_key[key(o)].append(o)
        for w in want:
            matches = got_by_key.get(key(w))
            if not matches:
                problems.append("missing %s" % json.dumps(w))
                continue
            o = matches.pop(0)
            for flag in w.get("flags", []):
                if flag not in o["flags"]:
                    problems.append("frame %d: flag %r missing in %s" % (w["frame"], flag, json.dumps(o)))
        for rest in got_by_key.values():
            for o in rest:
                problems.append("extra %s" % json.dumps(o))
        s = subprocess.run([inspect, "--summary", path], capture_output=True, text=True, timeout=60)
        try:
            summary = json.loads(s.stdout)
            counts = collections.Counter(o["kind"] for o in got)
            for kind, n in summary["observations"].items():
                if counts.get(kind, 0) != n:
                    problems.append("--summary says %d %s, the lines say %d" % (n, kind, counts.get(kind, 0)))
            flag_counts = collections.Counter(f for o in got for f in o["flags"])
            summary_flags = summary["observation_flags"]
            for flag in set(flag_counts) | set(summary_flags):
                if summary_flags.get(flag, 0) != flag_counts.get(flag, 0):
                    problems.append("--summary says %d observations flagged %s, the lines say %d"
                                    % (summary_flags.get(flag, 0), flag, flag_counts.get(flag, 0)))
        except (ValueError, KeyError) as e:
            problems.append("--summary is not the expected JSON: %s" % e)
        if problems:
            failed += 1
            print("FAIL %s" % name)
            for p in problems:
                print("   " + p)
        else:
            passed += 1
            print("ok   %s (%d observations)" % (name, len(want)))
    # Bad input: a missing file, a file that is not a capture, and a capture cut mid-record.
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        def expect(name, args, code, stdout_check, stderr_word):
            nonlocal passed, failed
            r = subprocess.run([inspect] + args, capture_output=True, text=True, timeout=60)
            err_lines = [l for l in r.stderr.splitlines() if l.strip()]
            ok = r.returncode == code and len(err_lines) == 1 and stderr_word in r.stderr and stdout_check(r.stdout)
            print("%s %s (exit %d: %s)" % ("ok  " if ok else "FAIL", name, r.returncode, r.stderr.strip()))
            passed, failed = (passed + 1, failed) if ok else (passed, failed + 1)
        expect("missing capture", [os.path.join(tmp, "nope.pcap")], 2, lambda o: o == "", "nope.pcap")
        junk = os.path.join(tmp, "junk.pcap")
        with open(junk, "w") as f:
            f.write("this is not a capture\n")
        expect("not a capture", [junk], 2, lambda o: o == "", "junk.pcap")
        src = os.path.join(folder, "mixed_sample.pcap")
        data = open(src, "rb").read()
        cut = os.path.join(tmp, "cut.pcap")
        with open(cut, "wb") as f:
            f.write(data[:len(data) // 2 + 7])  # ends inside a record
        whole = subprocess.run([inspect, src], capture_output=True, text=True, timeout=60).stdout.splitlines()
        expect("truncated capture yields what it holds", [cut], 3,
               lambda o: 0 < len(o.splitlines()) < len(whole) and all(l in whole for l in o.splitlines()),
               "truncated")
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
