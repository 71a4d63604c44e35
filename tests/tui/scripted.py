#!/usr/bin/env python3
"""Keys in, screen out: one scripted TUI test (tests/tui/scripted/*.test).

    scripted.py [--update] FILE.test

runs qtriage (env QTRIAGE) with QTRIAGE_SCRIPT on a private copy of the
queue fixture tests/data/queue-small/ (QTRIAGE_SPOOL; modes and mtimes put
back from queue-small.json, the clock pinned with QTRIAGE_NOW), no root, no
Postfix, no terminal, and compares every screen it dumps with the expected
one written in the test.

A .test file is a qtriage script (src/tui/script.c: keys, wait-loaded,
wait-idle, dump NAME, resize, quit) plus:
  screen COLSxROWS     the screen size (default 120x30)
  args ARG...          more qtriage arguments (split on blanks)
  now +SECONDS         move the pinned clock from the fixture's "now" (- goes back:
                       the fixture's mail arrived 7800 s before it)
  --- NAME             the expected screen of `dump NAME`, up to a line "---";
                       trailing blanks do not count
  --- file:NAME        a file written to the test's directory before qtriage
                       starts (a configuration file, say), up to "---"; `args`
                       name that directory $TMP
Before comparing, the copy's path reads SPOOL, the test's directory TMP,
the version VERSION and a load time "loaded in N s".  With --update the expected blocks are rewritten
from what qtriage showed (review the diff!).  Exit 0: every dump matched.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
FIXTURE = os.path.join(DATA, "queue-small")


def parse(path):
    """(script lines, options, {name: expected lines}, block order)."""
    steps, opts, expected = [], {"screen": "120x30", "args": [], "files": {}}, {}
    block = None
    for line in open(path, encoding="utf-8").read().split("\n"):
        if block is not None:
            if line == "---":
                block = None
            elif block.startswith("file:"):
                opts["files"][block[5:]].append(line)
            else:
                expected[block].append(line.rstrip())
            continue
        if line.startswith("--- file:"):
            block = line[4:].strip()
            opts["files"][block[5:]] = []
        elif line.startswith("--- "):
            block = line[4:].strip()
            expected[block] = []
        elif line.startswith("screen "):
            opts["screen"] = line.split()[1]
        elif line.startswith("args "):
            opts["args"] += line.split()[1:]
        elif line.startswith("now "):
            opts["now"] = int(line.split()[1])
        else:
            steps.append(line)
    return steps, opts, expected


def copy_fixture(dest):
    """The fixture as Postfix left it: modes (the 0700 'complete' bits and
    0010 'force-expired') and mtimes (a deferred file's next retry)."""
    manifest = json.load(open(FIXTURE + ".json"))
    for rel, st in manifest["files"].items():
        src, dst = os.path.join(FIXTURE, rel), os.path.join(dest, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
        os.chmod(dst, int(st["mode"], 8) | 0o044)
        os.utime(dst, (st["mtime"], st["mtime"]))
    shutil.copyfile(os.path.join(FIXTURE, "qtriage-layout"), os.path.join(dest, "qtriage-layout"))
    return manifest


def run(qtriage, steps, opts, spool, now, tmp):
    for name, lines in opts["files"].items():
        with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    with tempfile.NamedTemporaryFile("w", suffix=".keys", delete=False) as f:
        f.write("\n".join(steps) + "\n")
        keys = f.name
    env = dict(os.environ, QTRIAGE_SCRIPT=keys, QTRIAGE_SPOOL=spool, QTRIAGE_NOW=str(now),
               QTRIAGE_SCREEN=opts["screen"], LANG="C.UTF-8", LC_ALL="C.UTF-8",
               QTRIAGE_SCRIPT_TIMEOUT=os.environ.get("QTRIAGE_SCRIPT_TIMEOUT", "60"))
    env.pop("NO_COLOR", None)
    try:
        args = [a.replace("$TMP", tmp) for a in opts["args"]]
        if not any(a.startswith("--config-file") for a in args):
            args.insert(0, "--no-config")
        p = subprocess.run([qtriage] + args, env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=300)
    finally:
        os.unlink(keys)
    return p


def screens(out, spool, tmp, version):
    """{name: lines} from qtriage's dumps, normalised."""
    got, name = {}, None
    for line in out.split("\n"):
        if line.startswith("=== "):
            name = line[4:]
            got[name] = []
        elif name is not None:
            line = line.replace(spool, "SPOOL").replace(tmp, "TMP")
            line = line.replace("qtriage " + version, "qtriage VERSION")
            line = re.sub(r"loaded in \d+\.\d s", "loaded in N s", line)
            got[name].append(line.rstrip())
    return got


def update(path, got):
    text = open(path, encoding="utf-8").read().split("\n")
    out, skip = [], False
    for line in text:
        if skip:
            skip = line != "---"
            continue
        if line.startswith("--- ") and line[4:].strip() in got:
            out.append(line)
            out += got[line[4:].strip()]
            out.append("---")
            skip = True
            continue
        out.append(line)
    open(path, "w", encoding="utf-8").write("\n".join(out))


def main():
    args = sys.argv[1:]
    do_update = "--update" in args
    args = [a for a in args if a != "--update"]
    if len(args) != 1:
        sys.exit(__doc__)
    path = args[0]
    qtriage = os.environ.get("QTRIAGE") or sys.exit("scripted.py: set QTRIAGE to the binary")
    steps, opts, expected = parse(path)
    # "qtriage 0.2.0" first, then the libraries' versions.
    version = subprocess.run([qtriage, "--version"], stdout=subprocess.PIPE,
                             text=True).stdout.split("\n")[0].split()[1]
    # Always /tmp: the title line shows the path, so its length must not vary.
    tmp = tempfile.mkdtemp(prefix="qtriage-scripted-", dir="/tmp")
    try:
        spool = os.path.join(tmp, "spool")
        manifest = copy_fixture(spool)
        p = run(qtriage, steps, opts, spool, manifest["now"] + opts.get("now", 0), tmp)
        out = p.stdout.decode("utf-8", "replace")
        got = screens(out, spool, tmp, version)
        rows = int(opts["screen"].split("x")[1])
        for k in got:
            got[k] = got[k][:rows]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    failed = False
    if p.returncode != 0:
        print("qtriage exited with %d: %s" % (p.returncode, p.stderr.decode(errors="replace")))
        failed = True
    if do_update:
        update(path, got)
    for name, lines in got.items():
        if name not in expected:
            print("dump %s has no expected block; it showed:\n--- %s\n%s\n---" %
                  (name, name, "\n".join(lines)))
            failed = True
        elif lines != expected[name] and not do_update:
            print("dump %s differs (- expected, + shown):" % name)
            for i in range(max(len(lines), len(expected[name]))):
                e = expected[name][i] if i < len(expected[name]) else "<none>"
                g = lines[i] if i < len(lines) else "<none>"
                print("  %s" % g if e == g else "- %s\n+ %s" % (e, g))
            failed = True
    for name in expected:
        if name not in got:
            print("expected dump %s never came" % name)
            failed = True
    if p.stderr and not failed:
        sys.stderr.write(p.stderr.decode(errors="replace"))
    print("%s: %s" % (os.path.basename(path), "FAILED" if failed else "ok"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
