#!/usr/bin/env python3
"""Checks that the hot paths' prefetches are in the object code.

GCC 12 deletes a call to a function whose only effect is __builtin_prefetch when it does not
inline it (rules/match/prefetch.h). Nothing fails then, the code only gets slower: the flow
table's and the verdict cache's prefetches were missing from every build until this check. It
disassembles the libraries (objdump -dr, so that a call's target is read from its relocation:
in an unlinked object the call itself points back into the caller) and counts prefetch
instructions in each named function, in its compiler-made parts ("[clone .cold]" and the like),
and in the functions it calls directly, once per call site.

usage: check_prefetch.py OBJDUMP ARCHIVE FUNCTION MIN [ARCHIVE FUNCTION MIN ...]
FUNCTION is the start of a demangled name ("muhafiz::extract::Extractor::prefetch("). Exit 0
when every function has at least MIN, 1 when one has fewer or is missing, 77 (skipped) on a
machine whose prefetch instruction it does not know. Meant for optimised builds (CMake
registers it only for those): the point is what the optimiser kept.
"""
import platform
import re
import subprocess
import sys

HEADER = re.compile(r"^[0-9a-f]+ <(.+)>:$")
BRANCH = re.compile(r"^\s*[0-9a-f]+:\s+(callq?|jmpq?|bl|b(?!\.))\b")
RELOC = re.compile(r"^\s*[0-9a-f]+:\s+R_\w+\s+(.+?)(?:[-+]0x[0-9a-f]+)?$")
PREFETCH = re.compile(r"^\s*[0-9a-f]+:\s+(prefetch\w*|prfm)\b")
CLONE = re.compile(r"\s*\[clone [^]]*\]$")


def functions(objdump, archive):
    """name -> [prefetch count, [callee per call site]]; clones folded into their function."""
    out = subprocess.run([objdump, "-dr", "-C", "--no-show-raw-insn", archive], check=True,
                         capture_output=True, text=True).stdout
    funcs, name, after_branch = {}, None, False
    for line in out.splitlines():
        m = HEADER.match(line)
        if m:
            name = CLONE.sub("", m.group(1))
            funcs.setdefault(name, [0, []])
            after_branch = False
            continue
        if name is None:
            continue
        if PREFETCH.match(line):
            funcs[name][0] += 1
        r = RELOC.match(line)
        if r and after_branch:
            callee = CLONE.sub("", r.group(1))
            if callee != name:
                funcs[name][1].append(callee)
        after_branch = bool(BRANCH.match(line))
    return funcs


def main(argv):
    if len(argv) < 5 or (len(argv) - 2) % 3 != 0:
        print(__doc__, file=sys.stderr)
        return 2
    if platform.machine() not in ("x86_64", "aarch64"):
        print(f"skipped: no prefetch mnemonic known for {platform.machine()}")
        return 77
    objdump, failed, cache = argv[1], False, {}
    for i in range(2, len(argv), 3):
        archive, func, minimum = argv[i:i + 3]
        if archive not in cache:
            cache[archive] = functions(objdump, archive)
        funcs = cache[archive]
        matches = [n for n in funcs if n.startswith(func)]
        if not matches:
            print(f"FAIL {func}: not found in {archive}")
            failed = True
            continue
        for n in matches:
            own, callees = funcs[n]
            total = own + sum(funcs[c][0] for c in callees if c in funcs)
            ok = total >= int(minimum)
            failed |= not ok
            print(f"{'ok  ' if ok else 'FAIL'} {n}: {total} prefetch instructions "
                  f"({own} of its own), at least {minimum} expected")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
