#!/usr/bin/env python3
"""The command line's one parser, through the real binary (no Postfix
needed: a configuration directory that does not exist shows that -c was
taken, because the command gets as far as reading it):
- the shared options stand before or after the command, for every command;
- a command's own letter wins after its name (check -c is --crit);
- an option the command does not take, options of one group, a bad number,
  queue or word are refused with one line and exit 2 (check: its plugin
  line and exit 3), before anything is read."""

import os
import subprocess
import sys

qtriage = os.environ["QTRIAGE"]
failures = []
NOWHERE = "/nonexistent/qtriage-test-config"


def run(args):
    p = subprocess.run([qtriage, "--no-config"] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def expect(args, rc, text, where="stderr"):
    got_rc, out, err = run(args)
    got = out if where == "stdout" else err
    if got_rc != rc or text not in got:
        failures.append("qtriage %s: exit %d, %s %r; wanted exit %d and %r"
                        % (" ".join(args), got_rc, where, got[:300], rc, text))


# -c DIR before and after each command: it gets as far as reading DIR.
read_fail = "cannot read the Postfix configuration in " + NOWHERE
for cmd in (["list"], ["stats"], ["shape"], ["shape", "deferred"], ["export", "--dir", "/tmp/x",
            "ABCDEF1234"], ["show", "ABCDEF1234"],
            ["delete", "--dry-run", "--filter", "size>1"]):
    expect(["-c", NOWHERE] + cmd, 1 if cmd[0] == "show" else 3, read_fail)
    expect(cmd + ["-c", NOWHERE], 1 if cmd[0] == "show" else 3, read_fail)
    expect(cmd + ["--config", NOWHERE], 1 if cmd[0] == "show" else 3, read_fail)
# check: -c is --crit; --config is the directory.
expect(["check", "-w", "1", "-c", "5", "--config", NOWHERE], 3,
       "QTRIAGE UNKNOWN - cannot read the queue", "stdout")
expect(["check", "-w", "9", "-c", "5"], 3, "--warn must not be above --crit", "stdout")
expect(["check", "--warn", "x", "--crit", "5"], 3,
       "QTRIAGE UNKNOWN - --warn wants a count of messages", "stdout")
expect(["check", "--warn", "1", "--crit", "5", "--queue", "nowhere"], 3,
       "QTRIAGE UNKNOWN - unknown queue \"nowhere\"", "stdout")
expect(["--queue", "nowhere", "check", "--warn", "1", "--crit", "5"], 3,
       "QTRIAGE UNKNOWN - unknown queue \"nowhere\"", "stdout")
# One queue-name parser, one backend parser, wherever they are given.
for args in (["list", "--queue", "nowhere"], ["--queue", "nowhere", "stats"],
             ["stats", "-q", "nowhere"], ["shape", "nowhere"]):
    expect(args, 2, "unknown queue \"nowhere\" (maildrop incoming active deferred hold corrupt)")
for args in (["--backend", "tape", "list"], ["list", "--backend", "tape"], ["--backend", "tape"]):
    expect(args, 2, "unknown backend \"tape\" (spool postqueue auto)")
# What a command does not take, and what excludes each other.
expect(["show", "--queue", "hold", "ABCDEF1234"], 2, "--queue is not an option of show")
expect(["hold", "--backup-dir", "/tmp", "ABCDEF1234"], 2, "--backup-dir is not an option of hold")
expect(["--sort", "age", "list"], 2, "--sort is an option of the interactive view")
expect(["list", "--json", "--ids"], 2, "--json and --ids exclude each other")
expect(["show", "--raw", "--bytes", "ABCDEF1234"], 2, "--raw and --bytes exclude each other")
expect(["export", "--mbox", "/tmp/a", "--dir", "/tmp/b", "-"], 2,
       "--mbox and --dir exclude each other")
expect(["stats", "--top", "0"], 2, "--top wants a positive number")
expect(["stats", "--by", "colour"], 2, "unknown --by key \"colour\"")
expect(["shape", "-b", "x"], 2, "--buckets wants a positive number")
expect(["--refresh", "0.01"], 2, "--refresh wants seconds between 0.2 and 3600")
expect(["list", "--frobnicate"], 2, "unknown option \"--frobnicate\"")
expect(["list", "--json=yes"], 2, "--json takes no argument")
expect(["list", "--queue"], 2, "--queue needs an argument")
expect(["frobnicate"], 2, "unknown command \"frobnicate\"")
expect(["--no-config", "--hosts", "mx1,mx2", "list"], 3, 'no host "mx1" in the configuration')
expect(["--no-config", "--hosts", "-oProxyCommand=x", "list"], 3, "no host")
# --help wins wherever it stands, even after a bad argument.
expect(["stats", "--top", "x", "--help"], 0, "usage: qtriage stats", "stdout")
expect(["--help", "hold"], 0, "usage: qtriage hold", "stdout")
expect(["hold", "-h"], 0, "usage: qtriage hold", "stdout")

for f in failures:
    print("FAIL: " + f)
print("command-line parsing: %d failures" % len(failures))
sys.exit(1 if failures else 0)
