#!/usr/bin/env python3
"""The man page and the usage text stay in sync: doc/qtriage.1 formats
without a single groff warning, its COMMANDS section is what the command
table prints (`qtriage --man-commands`), it documents every long option and
every command `qtriage --help` and `qtriage COMMAND --help` print, and
`qtriage COMMAND --help` prints that command's usage (exit 0) for every
command.

    QTRIAGE=build/src/qtriage tests/doc/test_man.py --write
rewrites the COMMANDS section from the table."""

import os
import re
import shutil
import subprocess
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
page_path = os.path.join(root, "doc", "qtriage.1")
qtriage = os.environ["QTRIAGE"]
failures = []

if not shutil.which("groff"):
    print("groff is not installed (scripts/deps.sh installs it)")
    sys.exit(77)
p = subprocess.run(["groff", "-man", "-ww", "-z", page_path], stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE, env=dict(os.environ, LC_ALL="C.UTF-8"))
if p.returncode != 0 or p.stderr:
    failures.append("groff -man -ww -z warns:\n" + p.stderr.decode(errors="replace"))

page = open(page_path, encoding="utf-8").read()
generated = subprocess.run([qtriage, "--no-config", "--man-commands"], stdout=subprocess.PIPE,
                           check=True).stdout.decode()
m = re.search(r"^\.SH COMMANDS\n(.*?)(?=^\.SH )", page, re.M | re.S)
if not m:
    failures.append("doc/qtriage.1 has no COMMANDS section")
elif "--write" in sys.argv[1:]:
    page = page[:m.start(1)] + generated + page[m.end(1):]
    with open(page_path, "w", encoding="utf-8") as f:
        f.write(page)
    print("doc/qtriage.1: COMMANDS section rewritten from the command table")
elif m.group(1) != generated:
    import difflib
    diff = "".join(difflib.unified_diff(m.group(1).splitlines(True), generated.splitlines(True),
                                        "doc/qtriage.1", "qtriage --man-commands"))
    failures.append("the COMMANDS section of doc/qtriage.1 is not what the command table "
                    "prints (rewrite it: QTRIAGE=%s %s --write):\n%s" % (qtriage, sys.argv[0], diff))
# What the reader sees: "\-" is a hyphen, font changes vanish.
text = re.sub(r"\\f[BIRP]", "", page).replace("\\-", "-")
usage = subprocess.run([qtriage, "--no-config", "--help"], stdout=subprocess.PIPE,
                       check=True).stdout.decode()

options = sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", usage)))
for opt in options:
    if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(opt), text):
        failures.append("%s (qtriage --help) is not in doc/qtriage.1" % opt)

section = usage.split("commands:", 1)[1].split("\n\n", 1)[0]
commands = re.findall(r"^  ([a-z][a-z-]*)\b", section, re.M)
if len(commands) < 5:
    failures.append("found only %r as commands in qtriage --help" % commands)
for cmd in commands:
    if not re.search(r"^\.(B|BI|BR) %s\b" % re.escape(cmd.replace("-", "\\-")), page, re.M):
        failures.append("command %s (qtriage --help) has no entry in doc/qtriage.1" % cmd)
    h = subprocess.run([qtriage, "--no-config", cmd, "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    out = h.stdout.decode()
    if h.returncode != 0 or not out.startswith("usage: qtriage") or (" %s" % cmd) not in out:
        failures.append("qtriage %s --help: exit %d, %r" % (cmd, h.returncode, out[:200]))
    for opt in sorted(set(re.findall(r"^ +(?:-\w, )?(--[a-z][a-z-]*)", out, re.M))):
        if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(opt), text):
            failures.append("%s (qtriage %s --help) is not in doc/qtriage.1" % (opt, cmd))
    # Before or after the command: the same options.
    for args in ([cmd, "--help", "-c", "/nonexistent"], ["-c", "/nonexistent", cmd, "--help"]):
        h2 = subprocess.run([qtriage, "--no-config"] + args, stdout=subprocess.PIPE)
        if h2.stdout.decode() != out:
            failures.append("qtriage %s: not the same help as qtriage %s --help"
                            % (" ".join(args), cmd))

for f in failures:
    print("FAIL: " + f)
print("%d options and %d commands checked against doc/qtriage.1" % (len(options), len(commands)))
sys.exit(1 if failures else 0)
