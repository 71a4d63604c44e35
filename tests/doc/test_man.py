#!/usr/bin/env python3
"""The man page and the usage text stay in sync: doc/qtriage.1 formats
without a single groff warning, documents every long option and every
command `qtriage --help` prints, and `qtriage COMMAND --help` prints that
command's usage (exit 0) for every command."""

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

for f in failures:
    print("FAIL: " + f)
print("%d options and %d commands checked against doc/qtriage.1" % (len(options), len(commands)))
sys.exit(1 if failures else 0)
