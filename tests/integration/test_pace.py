#!/usr/bin/env python3
"""Integration test: gentle release (release --batch N --every S, --rate).

One throwaway instance, a few hundred messages put on hold.  The pace is
read from the maillog, where postsuper -H writes one "ID: released from
hold" line per message with its time (whole seconds), independently of
qtriage's own output:

  release --batch 70 --every 3: the released lines fall into 3 clusters of
    70, 70 and 60 (at least 2 s apart), every message released
  release --batch 40 --every 3, SIGINT to its process group (as ^C) after
    the first step: it stops,
    prints "not done: ID" for every message it did not hand to postsuper,
    and exactly those are still on hold (postqueue -j); those released are
    exactly the ones the maillog names
  flush --batch 20 --every 1: every deferred message gets postqueue -i, in
    steps, held mail stays held
  usage: --rate with hold, --every without --batch, a bad rate: exit 2
Exit: 0 ok, 1 failures, 77 when not root.
"""

import datetime
import os
import re
import signal
import smtplib
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qtlib  # noqa: E402
from qtlib import log, wait_for  # noqa: E402

N = 200
SENDER = "bulk@pace.example"
FILTER = "sender_domain=pace.example"
RELEASED_RE = re.compile(r"^(\w{3} +\d+ \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT[\d:.]+)\S* .*?"
                         r"postsuper\[\d+\]: (\w+): released from hold")


def stamp(text):
    if "T" in text:
        return datetime.datetime.fromisoformat(text[:19]).timestamp()
    return datetime.datetime.strptime("2000 " + " ".join(text.split()),
                                      "%Y %b %d %H:%M:%S").timestamp()


def released(tb, offset):
    """[(time, id)] of the maillog's release lines after byte `offset`."""
    with open(tb.maillog, "rb") as f:
        f.seek(offset)
        data = f.read().decode("utf-8", "replace")
    out = []
    for l in data.splitlines():
        m = RELEASED_RE.match(l)
        if m:
            out.append((stamp(m.group(1)), m.group(2)))
    return out


def ours(tb):
    return {m["queue_id"]: m["queue_name"] for m in tb.postqueue_j()
            if m.get("sender") == SENDER}


def hold_all(c, tb):
    p = qtlib.qtriage(["hold", "-c", tb.etc, "--filter", FILTER, "--yes"])
    c.eq(p.returncode, 0, "hold --filter exits 0 (%s)" % p.stderr[:200])
    wait_for("all on hold", lambda: all(q == "hold" for q in ours(tb).values()))


def clusters(times, gap):
    out = []
    for t in sorted(times):
        if out and t - out[-1][-1] < gap:
            out[-1].append(t)
        else:
            out.append([t])
    return out


def body(c):
    with qtlib.Testbed("pace", smtpd=True) as tb:
        t = time.monotonic()
        # One SMTP session to the loopback smtpd: a sendmail (and postdrop)
        # per message costs a busy machine seconds per dozen.
        with open(os.path.join(tb.dir, "smtpd_port")) as f:
            port = int(f.read())
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
            for i in range(N):
                s.sendmail(SENDER, ["r%d@dest.example" % i],
                           b"From: <%s>\r\nSubject: pace %d\r\n\r\nbody\r\n"
                           % (SENDER.encode(), i))
        tb.settle()
        log("injected %d in %.1f s" % (N, time.monotonic() - t))
        c.eq(len(ours(tb)), N, "%d messages queued" % N)

        for bad in (["hold", "--rate", "10/s"], ["release", "--every", "2"],
                    ["release", "--rate", "ten"], ["release", "--rate", "10/x"],
                    ["release", "--rate", "5/s", "--batch", "3"]):
            p = qtlib.qtriage(bad[:1] + ["-c", tb.etc, "--filter", FILTER, "--yes"] + bad[1:])
            c.eq(p.returncode, 2, "%s exits 2" % " ".join(bad))

        # --- paced: three steps, three clusters in the maillog
        hold_all(c, tb)
        off = os.path.getsize(tb.maillog)
        t = time.monotonic()
        p = qtlib.qtriage(["release", "-c", tb.etc, "--filter", FILTER, "--yes",
                           "--batch", "70", "--every", "3"])
        took = time.monotonic() - t
        c.eq(p.returncode, 0, "paced release exits 0 (%s)" % p.stderr[-300:])
        c.check(took >= 6, "three steps 3 s apart take 6 s or more (%.1f s)" % took)
        c.check(b"step 3 of 3" in p.stderr, "progress for every step on stderr", p.stderr[-300:])
        c.check(b"release: 200 acted on in 3 steps" in p.stdout, "the summary", p.stdout[-200:])
        got = wait_for("all release lines in the maillog",
                       lambda: (lambda r: r if len(r) >= N else None)(released(tb, off)))
        c.eq(sorted(i for _t, i in got), sorted(ours(tb)), "every message released once")
        cl = clusters([t for t, _i in got], 2)
        c.eq([len(x) for x in cl], [70, 70, 60],
             "the maillog shows 3 batches of 70, 70 and 60, 2 s or more apart")
        c.eq(sorted(set(ours(tb).values())), ["deferred"], "all released to deferred")

        # --- stopped half way
        hold_all(c, tb)
        off = os.path.getsize(tb.maillog)
        proc = subprocess.Popen([qtlib.qtriage_path(), "release", "-c", tb.etc, "--filter",
                                 FILTER, "--yes", "--batch", "40", "--every", "3"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        wait_for("the first step in the maillog", lambda: len(released(tb, off)) >= 40)
        # As a Ctrl-C at a terminal: the whole process group, postsuper too.
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        out = out.decode("utf-8", "replace")
        err = err.decode("utf-8", "replace")
        c.eq(proc.returncode, 1, "a stopped release exits 1")
        not_done = [l[len("not done: "):] for l in out.splitlines() if l.startswith("not done: ")]
        c.check("stopped after" in err + out, "it says it stopped", (out + err)[-400:])
        state = ours(tb)
        rel = {i for _t, i in released(tb, off)}
        c.check(0 < len(rel) < N, "stopped half way (%d released)" % len(rel))
        c.eq(sorted(i for i, q in state.items() if q == "hold"), sorted(not_done),
             "what it says it did not do is exactly what is still on hold")
        c.eq(sorted(i for i, q in state.items() if q != "hold"), sorted(rel),
             "what the maillog says was released is exactly what left hold")
        c.eq(len(rel) + len(not_done), N, "done and not done add up to all")
        log("stopped after %d of %d" % (len(rel), N))

        # --- a paced flush: a delivery attempt per deferred message, in steps
        deferred = sorted(i for i, m in ((m["queue_id"], m) for m in tb.postqueue_j())
                          if m["queue_name"] == "deferred")
        p = qtlib.qtriage(["flush", "-c", tb.etc, "--batch", "20", "--every", "1"])
        c.eq(p.returncode, 0, "paced flush exits 0 (%s)" % p.stderr[-300:])
        steps = (len(deferred) + 19) // 20
        c.check(("deliver: %d acted on in %d steps" % (len(deferred), steps)).encode() in p.stdout,
                "the paced flush attempts every deferred message in %d steps" % steps,
                p.stdout[-300:])
        c.eq(sorted(i for i, q in ours(tb).items() if q == "hold"), sorted(not_done),
             "the paced flush leaves held mail alone")


if __name__ == "__main__":
    qtlib.run_main("pace", body)
