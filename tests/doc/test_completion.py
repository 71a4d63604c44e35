#!/usr/bin/env python3
"""The bash completion that meson builds from the command table: sourced in
a real bash, with COMP_WORDS/COMP_CWORD set as readline sets them, it
completes command names, each command's options, the words an option takes
(queues, --by keys, backends) and shape's queue operands, and skips the
options before the command and their arguments when it looks for the
command.  The zsh completion parses (zsh -n) and names every command and
every long option of every command."""

import os
import re
import shlex
import shutil
import subprocess
import sys

script = os.environ["QTRIAGE_BASH_COMPLETION"]
qtriage = os.environ["QTRIAGE"]
failures = []

if not shutil.which("bash"):
    print("bash is not installed")
    sys.exit(77)


def complete(line):
    """What <TAB> offers at the end of `line` (a trailing blank: a new word)."""
    words = line.split()
    if line.endswith(" "):
        words.append("")
    prog = ("source %s\nCOMP_WORDS=(%s)\nCOMP_CWORD=%d\n_qtriage\nprintf '%%s\\n' \"${COMPREPLY[@]}\"\n"
            % (shlex.quote(script), " ".join(shlex.quote(w) for w in words), len(words) - 1))
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", prog], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if p.returncode != 0 or p.stderr:
        failures.append("%r: bash exit %d, %s" % (line, p.returncode, p.stderr.decode()))
    return [w for w in p.stdout.decode().split("\n") if w]


def expect(line, want, exact=True):
    got = complete(line)
    ok = sorted(got) == sorted(want) if exact else set(want) <= set(got)
    if not ok:
        failures.append("%r completes to %r, not %r" % (line, got, want))


expect("qtriage ho", ["hold"])
expect("qtriage fl", ["flush", "flush-site"])
expect("qtriage hold --d", ["--dry-run", "--demo"])
expect("qtriage hold --", ["--dry-run", "--yes", "--filter", "--config"], exact=False)
expect("qtriage list --queue de", ["deferred"])
expect("qtriage list -q h", ["hold"])
expect("qtriage stats --by sender_", ["sender_domain"])
expect("qtriage --backend p", ["postqueue"])
expect("qtriage -c /etc/postfix st", ["stats"])
expect("qtriage --config-file /etc/qtriage.conf --no-config sh", ["shape", "show"])
expect("qtriage shape -s de", ["deferred"])
expect("qtriage check --cr", ["--crit"])
expect("qtriage --comp", ["--completion"])
expect("qtriage --completion ", ["bash", "zsh"])
# Only the options the command takes: show has no --queue, delete has
# --backup-dir and hold has not.
if "--queue" in complete("qtriage show --"):
    failures.append("show offers --queue, which it does not take")
expect("qtriage delete --backu", ["--backup-dir"])
expect("qtriage hold --backu", [])
# Every command of qtriage --help, and nothing else, after "qtriage ".
usage = subprocess.run([qtriage, "--no-config", "--help"], stdout=subprocess.PIPE,
                       check=True).stdout.decode()
section = usage.split("commands:", 1)[1].split("\n\n", 1)[0]
expect("qtriage ", re.findall(r"^  ([a-z][a-z-]*)\b", section, re.M))

zsh_script = os.environ.get("QTRIAGE_ZSH_COMPLETION")
if zsh_script and shutil.which("zsh"):
    p = subprocess.run(["zsh", "-n", zsh_script], stderr=subprocess.PIPE)
    if p.returncode != 0:
        failures.append("zsh -n %s: %s" % (zsh_script, p.stderr.decode()))
    zsh = open(zsh_script, encoding="utf-8").read()
    for cmd in re.findall(r"^  ([a-z][a-z-]*)\b", section, re.M):
        h = subprocess.run([qtriage, "--no-config", cmd, "--help"], stdout=subprocess.PIPE)
        if not re.search(r"^        %s\) _arguments" % re.escape(cmd), zsh, re.M):
            failures.append("zsh: no arguments for %s" % cmd)
        for opt in re.findall(r"^ +(?:-\w, )?(--[a-z][a-z-]*)", h.stdout.decode(), re.M):
            if "'%s" % opt not in zsh:
                failures.append("zsh: %s %s is not completed" % (cmd, opt))
else:
    print("zsh is not installed: its completion is not checked")

for f in failures:
    print("FAIL: " + f)
print("bash completion: %d failures" % len(failures))
sys.exit(1 if failures else 0)
