#!/usr/bin/env python3
"""A PTA list manager's workflow through the real muhafiz-list binary.

keygen, build from CSV + RPZ, verify, tamper (exit 2), wrong key, rollback, delta + diff,
hash (values recomputed here with hashlib's BLAKE2b), show, usage errors.
Usage: cli_workflow_test.py PATH/TO/muhafiz-list
"""
import hashlib
import os
import stat
import subprocess
import sys
import tempfile

TOOL = ""
FAILURES = []


def run(*args, expect=0):
    p = subprocess.run([TOOL, *args], capture_output=True, text=True)
    if p.returncode != expect:
        FAILURES.append(f"muhafiz-list {' '.join(args)}: exit {p.returncode}, expected {expect}\n"
                        f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def check(cond, what, detail=""):
    if not cond:
        FAILURES.append(f"{what}\n{detail}")


def expect_error(p, needle):
    """Exit 2 (checked by run) with one muhafiz-list: line naming the reason."""
    lines = [l for l in p.stderr.splitlines() if l.startswith("muhafiz-list: ")]
    check(len(lines) == 1, "expected one error line on stderr", p.stderr)
    check(needle in p.stderr, f"stderr lacks {needle!r}", p.stderr)


ENTRIES_V6 = """kind,value,action,id,evidence
domain,Bad.Example,,case-1,case 42
exact,www.evil.example,nxdomain,case-2,
url,http://img.example.org/a/../b/c.jpg,,case-3,"seized, 2026"
ip,192.0.2.0/24,drop,case-4,
"""

ZONE = """$TTL 60
$ORIGIN rpz.pta.example.
@ SOA localhost. root.localhost. 1 3600 600 86400 60
@ NS localhost.
rpz-bad.example CNAME .
ok.example CNAME rpz-passthru.
"""


def main():
    global TOOL
    TOOL = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="muhafiz-list-test-") as d:
        os.chdir(d)

        # Keys.
        p = run("keygen", "--secret", "pta.key", "--public", "pta.pub")
        check("key id " in p.stdout, "keygen prints the key id", p.stdout)
        check(stat.S_IMODE(os.stat("pta.key").st_mode) == 0o600, "secret key file is mode 0600")
        check(open("pta.pub").read().count("muhafiz-public-key 1 ed25519 ") == 1, "public key line")
        expect_error(run("keygen", "--secret", "pta.key", "--public", "other.pub", expect=2),
                     "already exists")
        run("keygen", "--secret", "fia.key", "--public", "fia.pub")

        # Build version 6 from a CSV and an RPZ zone.
        with open("entries.csv", "w") as f:
            f.write(ENTRIES_V6)
        with open("zone.rpz", "w") as f:
            f.write(ZONE)
        build_base = ["build", "--list-id", "pta-csam", "--category", "csam", "--alert",
                      "--publisher", "pta", "--default-action", "block",
                      "--in", "entries.csv", "--in", "zone.rpz", "--key", "pta.key"]
        build = build_base + ["--expires", "2099-01-01"]
        p = run(*build, "--version", "6", "--out", "pta-csam-6.bundle")
        check("6 entries: domain 1, exact 3, url 1, ip 1" in p.stdout, "build prints counts by kind",
              p.stdout)
        text6 = open("pta-csam-6.bundle").read()
        check(text6.startswith("MUHAFIZ-BUNDLE 1\n"), "format line")
        check('"value":"bad.example"' in text6 and '"value":"img.example.org/b/c.jpg"' in text6,
              "values are canonical in the bundle", text6)

        p = run("verify", "--public", "pta.pub", "pta-csam-6.bundle")
        check(": OK: list pta-csam version 6 (full), 6 entries" in p.stdout, "verify says OK", p.stdout)

        # Tampering: one byte of an entry, then truncation, then the signature line removed.
        with open("tampered.bundle", "w") as f:
            f.write(text6.replace("bad.example", "bad.exbmple", 1))
        expect_error(run("verify", "--public", "pta.pub", "tampered.bundle", expect=2),
                     "tampered.bundle: signature does not verify with key")
        with open("truncated.bundle", "w") as f:
            f.write(text6[: len(text6) // 2])
        expect_error(run("verify", "--public", "pta.pub", "truncated.bundle", expect=2), "truncated")
        with open("unsigned.bundle", "w") as f:
            f.write(text6[: text6.rindex("SIGNATURE ")])
        expect_error(run("verify", "--public", "pta.pub", "unsigned.bundle", expect=2),
                     "no signature line")
        expect_error(run("verify", "--public", "fia.pub", "pta-csam-6.bundle", expect=2),
                     "signature does not verify with the pinned key")

        # Version 7: one entry added, the ip entry removed. Full and delta.
        with open("entries.csv", "w") as f:
            f.write(ENTRIES_V6.replace("ip,192.0.2.0/24,drop,case-4,\n",
                                       "domain,new.example,,case-5,case 77\n"))
        run(*build, "--version", "7", "--out", "pta-csam-7.bundle")
        p = run(*build, "--version", "7", "--out", "pta-csam-7.delta",
                "--delta-from", "pta-csam-6.bundle")
        check("delta from version 6, 1 added or changed (domain 1), 1 removed" in p.stdout,
              "delta build summary", p.stdout)
        p = run("verify", "--public", "pta.pub", "--base", "pta-csam-6.bundle", "pta-csam-7.delta")
        check("version 7 holds 6 entries" in p.stdout, "delta applies to its base", p.stdout)
        expect_error(run("verify", "--public", "pta.pub", "--base", "pta-csam-7.bundle",
                         "pta-csam-7.delta", expect=2), "applies to version 6")

        for new in ("pta-csam-7.bundle", "pta-csam-7.delta"):
            p = run("diff", "--public", "pta.pub", "pta-csam-6.bundle", new)
            check("list pta-csam: version 6 -> 7" in p.stdout, "diff header", p.stdout)
            check("added:   1 (domain 1)" in p.stdout and "removed: 1 (ip 1)" in p.stdout,
                  "diff counts by kind", p.stdout)
            check("+ domain new.example  id=case-5" in p.stdout, "diff lists the added entry", p.stdout)
            check("- ip 192.0.2.0/24  id=case-4" in p.stdout, "diff lists the removed entry", p.stdout)

        # Anti-rollback.
        expect_error(run("verify", "--public", "pta.pub", "--min-version", "8", "pta-csam-7.bundle",
                         expect=2), "refusing a rollback")
        expect_error(run("verify", "--public", "pta.pub", "--previous", "pta-csam-7.bundle",
                         "pta-csam-6.bundle", expect=2), "refusing a rollback")
        run("verify", "--public", "pta.pub", "--previous", "pta-csam-6.bundle", "pta-csam-7.bundle")
        # The delta and the full bundle of version 7 are the same list.
        run("verify", "--public", "pta.pub", "--previous", "pta-csam-7.bundle", "--base",
            "pta-csam-6.bundle", "pta-csam-7.delta")

        # Hashed entries: recompute every value with hashlib's BLAKE2b.
        run("keygen", "--hash-key", "h.key")
        key_hex = [l for l in open("h.key") if l.startswith("muhafiz-hash-key 1 ")][0].split()[2]
        with open("plain.csv", "w") as f:
            f.write("kind,value,action,id,evidence\n"
                    "domain,hidden.example,,,\n"
                    "exact,www.hidden.example,nxdomain,case-8,\n"
                    "url,hidden.example/a/b.jpg,,,\n")
        run("hash", "--key-file", "h.key", "--in", "plain.csv", "--out", "hashed.csv")
        hashed = open("hashed.csv").read()
        check("hidden" not in hashed, "no plaintext in the hashed output", hashed)
        for kind, name in (("domain", "hidden.example"), ("exact", "www.hidden.example"),
                           ("url", "hidden.example/a/b.jpg")):
            h = hashlib.blake2b(name.encode(), key=bytes.fromhex(key_hex), digest_size=16).hexdigest()
            check(f"hashed_{kind},{h}," in hashed, f"hashed_{kind} value is keyed BLAKE2b-128", hashed)
            derived = hashlib.sha256(f"{kind}:{name}".encode()).hexdigest()[:16]
            check(derived not in hashed, "no id derived from a plaintext value", hashed)
        with open("leaky.csv", "w") as f:
            f.write("kind,value,id\ndomain,hidden.example,hidden.example-case\n")
        expect_error(run("hash", "--key-file", "h.key", "--in", "leaky.csv", "--out", "leaky-h.csv",
                         expect=2), "spells out its address")
        check(not os.path.exists("leaky-h.csv"), "nothing written when an id would leak")
        expect_error(run("hash", "--key-file", "h.key", "--in", "plain.csv", "--out", "plain.csv",
                         expect=2), "is the input file")
        expect_error(run("build", "--list-id", "pta-hashed", "--version", "1", "--category", "csam",
                         "--expires", "never", "--publisher", "pta", "--in", "hashed.csv",
                         "--key", "pta.key", "--out", "h.bundle", expect=2), "no --hash-key-file")
        run("build", "--list-id", "pta-hashed", "--version", "1", "--category", "csam",
            "--expires", "never", "--publisher", "pta", "--in", "hashed.csv", "--key", "pta.key",
            "--hash-key-file", "h.key", "--out", "h.bundle")
        run("verify", "--public", "pta.pub", "h.bundle")

        # show
        p = run("show", "--public", "pta.pub", "pta-csam-7.bundle")
        for needle in ("list       pta-csam", "version    7", "entries    6: domain 2, exact 3, url 1",
                       "alert      yes", "verified with pta.pub"):
            check(needle in p.stdout, f"show prints {needle!r}", p.stdout)

        # Refusals at build time.
        expect_error(run(*build_base, "--version", "8", "--out", "x.bundle", "--expires", "2020-01-01",
                         expect=2), "--expires 2020-01-01 is in the past")
        with open("empty.csv", "w") as f:
            f.write("kind,value\n")
        expect_error(run("build", "--list-id", "pta-csam", "--version", "8", "--category", "csam",
                         "--expires", "never", "--publisher", "pta", "--in", "empty.csv",
                         "--key", "pta.key", "--out", "x.bundle", expect=2), "no entries")
        with open("bad.csv", "w") as f:
            f.write("kind,value\ndomain,ok.example\ndomain,bad..exa mple\n")
        bad_build = ["build", "--list-id", "pta-csam", "--version", "8", "--category", "csam",
                     "--expires", "never", "--publisher", "pta", "--in", "bad.csv",
                     "--key", "pta.key", "--out", "x.bundle"]
        p = run(*bad_build, expect=2)
        check("bad.csv:3:" in p.stderr, "a bad source line is named file:line", p.stderr)
        check(not os.path.exists("x.bundle"), "nothing written on error")
        p = run(*bad_build, "--skip-invalid")
        check("skipped: bad.csv:3:" in p.stderr, "--skip-invalid reports the skipped line", p.stderr)

        # Usage errors: exit 2, as other errors (1 is only lookup's "nothing matched");
        # --help on every subcommand: exit 0.
        run("build", "--list-id", "x", expect=2)
        run(expect=2)
        run("verify", "--no-such-option", expect=2)
        for sub in ("keygen", "build", "verify", "diff", "hash", "show"):
            p = run(sub, "--help")
            check("Usage" in p.stdout, f"{sub} --help prints usage", p.stdout)

    if FAILURES:
        for f in FAILURES:
            print("FAIL:", f, file=sys.stderr)
        print(f"{len(FAILURES)} check(s) failed", file=sys.stderr)
        return 1
    print("muhafiz-list workflow: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
