#!/usr/bin/env python3
"""muhafiz-inspect --ruleset: the PTA workflow end to end on a generated capture.

usage: check_inspect_ruleset.py MUHAFIZ_LIST MUHAFIZ_INSPECT CAPTURES_DIR

Signs a small list with muhafiz-list (keygen, build, compile), runs muhafiz-inspect with the
compiled ruleset over mixed_sample.pcap, and checks each observation's verdict: a domain entry
blocks the name and its subdomains over DNS, TLS, QUIC and HTTP; an exact entry blocks only
the name; a url entry blocks matching HTTP requests and is "not enforceable" (never enforced)
over DNS/TLS/QUIC; unlisted names have no match. Also checks `muhafiz-list lookup`'s exit
status (0 match, 1 none, 2 error or usage error) and that a corrupt ruleset is refused with
exit 2 and a message. Prints "N passed, N failed". Standard library only.
"""
import json
import os
import subprocess
import sys
import tempfile

LIST_CSV = """kind,value,action,id,evidence
domain,csam-sample.example,,d1,case-1
exact,blocked.example,,x1,case-2
url,news.example.org/today.html,,u1,case-3
"""


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


def main():
    mlist, inspect, captures = sys.argv[1:4]
    capture = os.path.join(captures, "mixed_sample.pcap")
    checks = []
    with tempfile.TemporaryDirectory() as tmp:
        p = lambda n: os.path.join(tmp, n)
        with open(p("entries.csv"), "w") as f:
            f.write(LIST_CSV)
        for cmd in ([mlist, "keygen", "--secret", p("pta.key"), "--public", p("pta.pub")],
                    [mlist, "build", "--list-id", "pta-csam", "--version", "3", "--category", "csam", "--alert",
                     "--expires", "never", "--publisher", "pta", "--in", p("entries.csv"), "--key", p("pta.key"),
                     "--out", p("pta.bundle")],
                    [mlist, "compile", "--public", p("pta.pub"), "--out", p("ruleset.bin"), p("pta.bundle")]):
            r = run(cmd)
            if r.returncode != 0:
                print("setup failed: %s\n%s" % (" ".join(cmd), r.stderr))
                print("0 passed, 1 failed")
                return 1
        r = run([inspect, "--ruleset", p("ruleset.bin"), capture])
        obs = [json.loads(l) for l in r.stdout.splitlines()]
        checks.append(("inspect exits 0", r.returncode == 0, r.stderr))
        checks.append(("every observation has a verdict", obs and all("verdict" in o for o in obs), ""))

        def verdicts(pred):
            return [o["verdict"] for o in obs if pred(o)]

        listed = verdicts(lambda o: o["host"] == "csam-sample.example" or o["host"].endswith(".csam-sample.example"))
        kinds = {o["kind"] for o in obs if o["host"].endswith("csam-sample.example")}
        checks.append(("domain entry seen over dns, tls, quic", {"dns", "tls_sni", "quic_sni"} <= kinds, str(kinds)))
        checks.append(("domain entry enforced with alert", listed and all(
            v["matched"] and v["enforce"] and v["entry"] == "d1" and v["alert"] and v["list_version"] == 3
            for v in listed), json.dumps(listed[:2])))
        exact = verdicts(lambda o: o["host"] == "blocked.example")
        checks.append(("exact entry enforced", exact and all(v["enforce"] and v["entry"] == "x1" for v in exact), ""))
        sub = verdicts(lambda o: o["host"].endswith(".blocked.example"))
        checks.append(("exact entry leaves subdomains alone", all(not v["matched"] for v in sub), json.dumps(sub[:2])))
        url_names = [o for o in obs if o["host"] == "news.example.org"]
        over_names = [o["verdict"] for o in url_names if o["kind"] != "http"]
        checks.append(("url entry never enforced by name alone", over_names and all(
            v["matched"] and not v["enforce"] and v["url_not_enforceable"] for v in over_names), json.dumps(over_names[:2])))
        http = [o for o in url_names if o["kind"] == "http"]
        checks.append(("url entry: http requests to it seen", bool(http), ""))
        for o in http:
            want = o["uri"].startswith("/today.html")
            checks.append(("url entry on http %s" % o["uri"], o["verdict"]["matched"] == want and
                           o["verdict"].get("enforce", False) == want, json.dumps(o["verdict"])))
        allowed = verdicts(lambda o: "allowed" in o["host"])
        checks.append(("allowed names unmatched", allowed and all(not v["matched"] for v in allowed), ""))

        # muhafiz-list lookup, grep's convention: 0 a match (the verdict as JSON), 1 none, 2 an
        # error, a usage error included, so a script never takes a typo for "not listed".
        def lookup(*args):
            return run([mlist, "lookup", "--ruleset", p("ruleset.bin")] + list(args))
        r = lookup("--kind", "tls_sni", "cdn.csam-sample.example")
        checks.append(("lookup: a listed name exits 0 with its verdict", r.returncode == 0 and
                       json.loads(r.stdout or "{}").get("match", {}).get("id") == "d1", r.stdout + r.stderr))
        r = lookup("--kind", "tls_sni", "allowed.example")
        checks.append(("lookup: an unlisted name exits 1", r.returncode == 1, r.stdout + r.stderr))
        r = lookup("--kind", "tls_sni", "--bogus", "x", "cdn.csam-sample.example")
        checks.append(("lookup: an unknown option exits 2, not 1", r.returncode == 2 and r.stderr,
                       "rc=%d %s" % (r.returncode, r.stderr)))
        r = run([mlist, "lookup", "--kind", "tls_sni", "cdn.csam-sample.example"])
        checks.append(("lookup: a missing --ruleset exits 2", r.returncode == 2 and r.stderr,
                       "rc=%d %s" % (r.returncode, r.stderr)))

        with open(p("ruleset.bin"), "rb") as f:
            data = bytearray(f.read())
        data[len(data) // 2] ^= 0x40
        with open(p("corrupt.bin"), "wb") as f:
            f.write(data)
        r = run([inspect, "--ruleset", p("corrupt.bin"), capture])
        checks.append(("corrupt ruleset refused (exit 2, one message)",
                       r.returncode == 2 and "ruleset" in r.stderr and not r.stdout, r.stderr))
    failed = 0
    for name, ok, detail in checks:
        print("%s %s%s" % ("ok  " if ok else "FAIL", name, "" if ok else ": " + detail[:300]))
        failed += 0 if ok else 1
    print("%d passed, %d failed" % (len(checks) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
