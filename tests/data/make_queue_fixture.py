#!/usr/bin/env python3
"""Make tests/data/queue-small/: a copy of a real Postfix queue directory for
the scripted TUI tests (tests/tui/scripted.py, QTRIAGE_SPOOL), which run
without root and without Postfix.

Run as root (sudo tests/data/make_queue_fixture.py).  Brings up a throwaway
test-bed instance (tests/testbed/testbed.sh up DIR --smtpd), injects
  - 100 messages of the test-bed corpus (tests/testbed/corpus.py, seed 12):
    the flood sender, the hijacked SASL account over SMTP, bounces, holds,
    partly delivered, two delay reasons, every subject encoding; messages
    bigger than 60 kB are made small, so the copy stays small;
  - the hostile messages of tests/testbed/hostile.py but the huge ones
    (big, many-rcpts, long-header): escape sequences, invalid UTF-8, ...,
waits until the queue has settled, stops the instance, and copies its
message queues and defer logs (files 0644, directories 0755: readable by
any user).  Git keeps neither mtimes nor modes, and a deferred file's mtime
is its next retry time (RETRY column), so queue-small.json records both,
with the instance's hashing (also written to queue-small/qtriage-layout)
and "now": the clock the tests pin (QTRIAGE_NOW) so that ages read the same
on every run.  Regenerating changes every queue ID: the expected screens in
tests/tui/scripted/*.test must be updated with it.
"""

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TESTBED = os.path.join(ROOT, "tests", "testbed", "testbed.sh")
OUT = os.path.join(HERE, "queue-small")
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "tests", "testbed"))
import corpus  # noqa: E402
import hostile  # noqa: E402

QUEUES = ["maildrop", "incoming", "active", "deferred", "hold", "corrupt", "defer", "bounce"]
HOSTILE = [n for n in hostile.NAMES if n not in ("big", "many-rcpts", "long-header")]
AGE_SECONDS = 2 * 3600 + 10 * 60   # "now" is this long after the injection


def sh(argv):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.exit("make_queue_fixture: %s failed (%d): %s" % (" ".join(argv), p.returncode,
                                                           p.stderr.decode(errors="replace")))
    return p.stdout.decode()


def inject_corpus(d, n):
    etc = os.path.join(d, "etc")
    port = int(open(os.path.join(d, "smtpd_port")).read())
    rng = random.Random(12)
    for token, sender, rcpts, kind, kinds, hold, extra in corpus.plan(rng, n, "fx"):
        kinds.discard("large")
        data, _entry = corpus.build_message(rng, token, sender, rcpts, kind, kinds, hold,
                                            min(extra, 20000))
        ident = corpus.smtp_identity(rng, sender)
        if ident and not any(r.endswith("@retry.example") for r in rcpts):
            corpus.inject_smtp(port, sender, rcpts, data, ident)
        else:
            corpus.inject_one(etc, sender, rcpts, data)


def copy_spool(spool):
    files = {}
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    for q in QUEUES:
        top = os.path.join(spool, q)
        if not os.path.isdir(top):
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            rel = os.path.relpath(dirpath, spool)
            os.makedirs(os.path.join(OUT, rel), exist_ok=True)
            os.chmod(os.path.join(OUT, rel), 0o755)
            for f in filenames:
                src = os.path.join(dirpath, f)
                st = os.lstat(src)
                shutil.copyfile(src, os.path.join(OUT, rel, f))
                os.chmod(os.path.join(OUT, rel, f), 0o644)
                files[os.path.join(rel, f)] = {"mode": "%04o" % (st.st_mode & 0o7777),
                                               "mtime": int(st.st_mtime)}
    return files


def main():
    if os.geteuid() != 0:
        sys.exit("make_queue_fixture: must run as root")
    base = tempfile.mkdtemp(prefix="qtriage-queue-fixture-", dir="/tmp")
    os.chmod(base, 0o755)
    d = os.path.join(base, "tb")
    try:
        sh([TESTBED, "up", d, "--smtpd"])
        inject_corpus(d, 100)
        hostile.inject(d, names=HOSTILE, run="fx", jobs=1)
        sh([TESTBED, "settle", d, "120"])
        made = int(time.time())
        layout = sh(["postconf", "-c", os.path.join(d, "etc"), "-h", "hash_queue_names",
                     "hash_queue_depth", "enable_long_queue_ids"]).splitlines()
        sh([TESTBED, "down", d])    # nothing moves while the files are copied
        files = copy_spool(os.path.join(d, "spool"))
        with open(os.path.join(OUT, "qtriage-layout"), "w") as f:
            f.write("# the instance's settings (postconf -h), read by QTRIAGE_SPOOL\n")
            for name, value in zip(["hash_queue_names", "hash_queue_depth",
                                    "enable_long_queue_ids"], layout):
                f.write("%s = %s\n" % (name, value))
        manifest = {"made": made, "now": made + AGE_SECONDS,
                    "postfix": sh(["postconf", "-h", "mail_version"]).strip(),
                    "hostile": HOSTILE, "corpus": 100, "files": files}
        with open(OUT + ".json", "w") as f:
            json.dump(manifest, f, indent=1, sort_keys=True)
            f.write("\n")
        counts = {}
        for rel in files:
            counts[rel.split("/")[0]] = counts.get(rel.split("/")[0], 0) + 1
        print("queue-small:", ", ".join("%s %d" % kv for kv in sorted(counts.items())))
    finally:
        subprocess.run([TESTBED, "down", d, "--purge"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
