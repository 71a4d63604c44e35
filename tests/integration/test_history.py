#!/usr/bin/env python3
"""Integration test: a message's history from the real Postfix's mail log.

The test bed logs to its own maillog_file (postlogd).  For messages of a real
queue, `qtriage show --log ID` must print exactly the log lines that mention
the ID as a word, oldest first, as this test finds them itself in the file:

  * deferred messages: pickup, cleanup, qmgr and the deferral with its reason
  * after `qtriage hold` and `qtriage delete`: postsuper's "placed on hold" and
    "removed" lines, also once the message is gone from the queue
  * a message whose ID is a prefix of nothing else: no foreign lines
  * --maillog naming a missing file: exit 1 and a clear message, nothing else
Exit: 0 ok, 1 failures, 77 when not root.
"""

import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qtlib  # noqa: E402
from qtlib import log  # noqa: E402


def expected(maillog, qid):
    word = re.compile(r"(?<![0-9A-Za-z])%s(?![0-9A-Za-z])" % re.escape(qid))
    with open(maillog, encoding="utf-8", errors="replace") as f:
        return [l.rstrip("\n") for l in f if word.search(l)]


def show_log(tb, qid, extra=()):
    p = qtlib.qtriage(["-c", tb.etc, "show", "--log"] + list(extra) + [qid])
    return p, p.stdout.decode("utf-8", "replace").splitlines()


def wait_for_line(maillog, qid, text, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if any(text in l for l in expected(maillog, qid)):
            return True
        time.sleep(0.2)
    return False


def body(c):
    with qtlib.Testbed("hist") as tb:
        tb.inject(25)
        tb.settle()
        msgs = tb.postqueue_j()
        deferred = [m["queue_id"] for m in msgs if m["queue_name"] == "deferred"]
        c.check(len(deferred) >= 3, "at least 3 deferred messages to look at", len(deferred))
        for qid in deferred[:3]:
            p, lines = show_log(tb, qid)
            c.eq(p.returncode, 0, "show --log %s exit status (%s)"
                 % (qid, p.stderr.decode(errors="replace").strip()))
            want = expected(tb.maillog, qid)
            c.eq(lines, want, "show --log %s prints the log lines about it, in order" % qid)
            c.check(any("status=deferred" in l for l in lines),
                    "%s: the deferral and its reason are in its history" % qid, lines)
            c.check(any("/pickup[" in l or "/smtpd[" in l for l in lines) and
                    any("/qmgr[" in l for l in lines),
                    "%s: its arrival (pickup or smtpd) and qmgr lines too" % qid, lines)
            c.check("lines about %s in %s" % (qid, tb.maillog) in p.stderr.decode(),
                    "%s: stderr names the log searched" % qid, p.stderr.decode())

        # Hold, then delete: postsuper's own log lines join the history, and the
        # history stays readable after the message has left the queue.
        qid = deferred[0]
        c.eq(qtlib.qtriage(["-c", tb.etc, "hold", qid]).returncode, 0, "hold %s" % qid)
        c.check(wait_for_line(tb.maillog, qid, "placed on hold"),
                "postsuper logged the hold of %s" % qid)
        c.eq(qtlib.qtriage(["-c", tb.etc, "delete", qid]).returncode, 0, "delete %s" % qid)
        c.check(wait_for_line(tb.maillog, qid, "removed"), "postsuper logged the removal")
        c.check(qid not in {m["queue_id"] for m in tb.postqueue_j()}, "%s is gone" % qid)
        p, lines = show_log(tb, qid)
        c.eq(p.returncode, 0, "show --log of a deleted message")
        c.eq(lines, expected(tb.maillog, qid), "history of the deleted message")
        c.check(any(l.endswith(": placed on hold") for l in lines) and
                lines[-1].endswith(": removed"),
                "the hold and the removal are in it, the removal last", lines[-3:])

        # A missing configured log: a clear error, exit 1, nothing on stdout.
        p, lines = show_log(tb, deferred[1], ["--maillog", "/nonexistent/qtriage.log"])
        err = p.stderr.decode(errors="replace")
        c.eq(p.returncode, 1, "--maillog to a missing file: exit status")
        c.eq(lines, [], "--maillog to a missing file: nothing on stdout")
        c.check("/nonexistent/qtriage.log" in err, "the error names the file", err)

        # --maillog names another file: that one is read.
        alt = os.path.join(tb.dir, "other.log")
        with open(alt, "w") as f:
            f.write("Nov 22 03:00:00 mx postfix/smtp[1]: %s: to=<x@y>, status=sent\n"
                    % deferred[1])
        p, lines = show_log(tb, deferred[1], ["--maillog", alt])
        c.eq(lines, ["Nov 22 03:00:00 mx postfix/smtp[1]: %s: to=<x@y>, status=sent"
                     % deferred[1]], "--maillog FILE is the file read")

        # Invalid IDs are refused before anything is read.
        p, _ = show_log(tb, "../../etc/passwd")
        c.eq(p.returncode, 2, "an invalid queue ID is refused")


if __name__ == "__main__":
    qtlib.run_main("history", body)
