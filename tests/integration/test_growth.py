#!/usr/bin/env python3
"""Integration test: growth (arrival rates) on a real Postfix instance.

Mail is injected in two waves through sendmail, held on arrival
(X-Testbed-Hold) so that nothing moves the files afterwards:

  wave 1: 12 messages from wave1@flood-a.example, then aged 40 minutes
          (the queue file's T record, which postqueue -j reports as
          arrival_time, is rewritten in place: same length, same owner)
  wave 2:  8 messages from wave2@flood-b.example; 3 of them aged 10 minutes

so flood-a arrived within the hour only, flood-b within 5 minutes (5) and
15 (8).  Every expectation is computed here from postqueue -j's
arrival_time values and the clock qtriage reports ("now"), never from
qtriage's own figures:

  * stats --json: per group and in total the arrivals within 5, 15 and 60
    minutes and the rates (arrivals per minute); --sort rate puts the
    growing sender first, the default (count) the largest; text mode with
    --sort rate prints the rate columns
  * check --growth / --growth-crit / --growth-window, with --filter: exit
    codes 0, 1, 2 as the rates say, 3 for bad thresholds; the perfdata
    carries growth_per_min with its thresholds
Each wait is for a state (the messages in hold), never for time.
Exit: 0 ok, 1 failures, 77 when not root.
"""

import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qtlib  # noqa: E402
from qtlib import log  # noqa: E402

sys.path.insert(0, os.path.join(qtlib.SRC_ROOT, "tests", "testbed"))
import corpus  # noqa: E402  (sendmail injector)

A = "wave1@flood-a.example"
B = "wave2@flood-b.example"
N_A, N_B, N_B_AGED = 12, 8, 3
WINDOWS = (("5m", 300), ("15m", 900), ("60m", 3600))


def message(sender, n):
    return ("From: %s\nTo: x%d@gmail.example\nSubject: wave %s %d\nX-Testbed-Hold: yes\n\n"
            "growth test\n" % (sender, n, sender, n)).encode()


def held(tb, sender):
    return [m for m in tb.postqueue_j()
            if m["sender"] == sender and m["queue_name"] == "hold"]


def wait_held(c, tb, sender, n, timeout=120):
    """Poll until `n` messages from `sender` sit in hold (a state, not a time)."""
    deadline = time.monotonic() + timeout
    while True:
        got = held(tb, sender)
        if len(got) >= n or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    c.eq(len(got), n, "%d messages from %s held" % (n, sender))
    return got


def age(tb, qid, seconds):
    """Move a held message's arrival `seconds` back: rewrite the digits of
    its T record ("SECONDS USECONDS") in place, keeping the length."""
    path = tb.queue_file(qid)
    with open(path, "r+b") as f:
        data = f.read()
        i = 0
        while i < len(data):
            rtype = data[i]
            i += 1
            length = shift = 0
            while True:
                b = data[i]
                i += 1
                length |= (b & 0x7f) << shift
                shift += 7
                if not b & 0x80:
                    break
            if rtype == ord("T"):
                old = data[i:i + length]
                secs, _, rest = old.partition(b" ")
                new = str(int(secs) - seconds).encode()
                assert len(new) == len(secs), "arrival time changes its length"
                f.seek(i)
                f.write(new + b" " + rest)
                return
            i += length
    raise RuntimeError("no T record in %s" % path)


def arrivals(msgs, now, sender=None):
    """{window name: messages that arrived within it}, as qtriage defines
    it: now - arrival_time < window (a future arrival counts)."""
    return {name: sum(1 for m in msgs if (sender is None or m["sender"] == sender)
                      and now - m["arrival_time"] < w)
            for name, w in WINDOWS}


def stats_json(c, tb, *extra):
    p = qtlib.qtriage(["-c", tb.etc, "stats", "--by", "sender", "--json"] + list(extra))
    c.eq(p.returncode, 0, "stats %s exit status (%s)" % (" ".join(extra),
                                                        p.stderr.decode()[-300:]))
    return json.loads(p.stdout)


def check_stats(c, tb):
    pq = tb.postqueue_j()
    out = stats_json(c, tb, "--sort", "rate")
    now = out["now"]
    c.check(abs(now - time.time()) < 60, "stats reports the clock it measured with", now)
    # The plan, read from postqueue -j: the aging took.
    c.eq(arrivals(pq, now, A), {"5m": 0, "15m": 0, "60m": N_A}, "flood-a: within the hour only")
    c.eq(arrivals(pq, now, B), {"5m": N_B - N_B_AGED, "15m": N_B, "60m": N_B},
         "flood-b: 5 within 5 minutes, all 8 within 15")
    c.eq(out["sort"], "rate", "--sort rate is reported")
    c.eq(out["arrived"], arrivals(pq, now), "total arrivals per window")
    groups = {g["key"]: g for g in out["groups"]}
    for sender in (A, B):
        g = groups.get(sender)
        if not c.check(g is not None, "a group for %s" % sender, sorted(groups)):
            continue
        want = arrivals(pq, now, sender)
        c.eq(g["arrived"], want, "%s: arrivals per window" % sender)
        for name, w in WINDOWS:
            c.check(abs(g["rate_per_min"][name] - want[name] * 60.0 / w) < 1e-4,
                    "%s: rate over %s is arrivals a minute" % (sender, name),
                    g["rate_per_min"])
    c.eq([g["key"] for g in out["groups"]], [B, A], "by rate: the growing sender first")
    out = stats_json(c, tb)
    c.eq(out["sort"], "count", "count is the CLI's default order")
    c.eq([g["key"] for g in out["groups"]], [A, B], "by count: the largest sender first")
    p = qtlib.qtriage(["-c", tb.etc, "stats", "--by", "sender", "--sort", "rate"])
    lines = p.stdout.decode().splitlines()
    c.check(len(lines) > 2 and "5M/MIN" in lines[0] and "60M/MIN" in lines[0],
            "text --sort rate: rate columns", lines[:3])
    c.check(len(lines) > 2 and re.fullmatch(r" +8 +\S+ +1\.0 +0\.5 +0\.1  %s" % re.escape(B),
                                            lines[1]),
            "text --sort rate: flood-b first at 1.0/0.5/0.1 a minute", lines[:3])


def check_growth(c, tb):
    pq = tb.postqueue_j()

    def expected(now, window, warn, crit, sender=None):
        rate = arrivals_window(pq, now, window, sender) * 60.0 / window
        return 2 if crit is not None and rate > crit else 1 if warn is not None and rate > warn \
            else 0

    def arrivals_window(msgs, now, window, sender):
        return sum(1 for m in msgs if (sender is None or m["sender"] == sender)
                   and now - m["arrival_time"] < window)

    cases = [
        # (args, window seconds, warn, crit, filter sender)
        (["--growth", "2/min", "--growth-crit", "5/min"], 300, 2, 5, None),
        (["--growth", "0.5/min", "--growth-crit", "5/min"], 300, 0.5, 5, None),
        (["--growth", "0.2", "--growth-crit", "0.5/min"], 300, 0.2, 0.5, None),
        (["--growth-crit", "60/h"], 300, None, 1, None),
        (["--growth", "0.5/min", "--growth-window", "15m"], 900, 0.5, None, None),
        (["--growth", "0.5/min", "--growth-window", "1h"], 3600, 0.5, None, None),
        (["--growth", "0.1/min", "--growth-window", "60m", "--filter", "sender=" + A], 3600, 0.1,
         None, A),
        (["--growth", "0.1/min", "--filter", "sender=" + A], 300, 0.1, None, A),
    ]
    seen = set()
    for args, window, warn, crit, sender in cases:
        p = qtlib.qtriage(["-c", tb.etc, "check", "--json"] + args)
        try:
            out = json.loads(p.stdout)
        except ValueError:
            c.check(False, "check %s: JSON" % " ".join(args), p.stdout[-300:])
            continue
        want = expected(out["now"], window, warn, crit, sender)
        seen.add(want)
        c.eq(p.returncode, want, "check %s: exit code from postqueue -j's arrival times"
             % " ".join(args))
        c.eq(out["growth"]["arrived"], arrivals_window(pq, out["now"], window, sender),
             "check %s: arrivals in the window" % " ".join(args))
        c.eq(out["growth"]["window_seconds"], window, "check %s: window" % " ".join(args))
    c.eq(seen, {0, 1, 2}, "the cases reach OK, WARNING and CRITICAL")
    # The plugin line: the same status and growth perfdata.
    p = qtlib.qtriage(["-c", tb.etc, "check", "--growth", "0.5/min", "--growth-crit", "5/min"])
    line = p.stdout.decode()
    c.eq(p.returncode, 1, "plugin line: WARNING at 1.00/min (%s)" % line.strip())
    c.check(line.startswith("QTRIAGE WARNING - 20 messages in the queue, 5 arrived in the last "
                            "5m (1.00/min) |"), "plugin line: text", line)
    c.check(" growth_per_min=1.00;0.50;5.00;0 growth_arrived=5;;;0" in line,
            "plugin line: growth perfdata with both thresholds", line)
    c.check(" total=20;;;0" in line, "plugin line: no count thresholds without --warn", line)
    # Count and growth together: the worse state wins.
    p = qtlib.qtriage(["-c", tb.etc, "check", "--warn", "100", "--crit", "200", "--growth",
                       "0.5/min"])
    c.eq(p.returncode, 1, "count OK, growth WARNING: WARNING")
    p = qtlib.qtriage(["-c", tb.etc, "check", "--warn", "5", "--crit", "10", "--growth",
                       "5/min"])
    c.eq(p.returncode, 2, "count CRITICAL, growth OK: CRITICAL")
    for args in (["--growth", "1h"], ["--growth", "5/min", "--growth-crit", "2/min"],
                 ["--growth", "-1/min"], ["--growth-window", "15m"],
                 ["--growth", "1/min", "--age", "1h"], ["--growth", "1/min", "--warn", "5"]):
        p = qtlib.qtriage(["-c", tb.etc, "check"] + args)
        c.eq(p.returncode, 3, "check %s: UNKNOWN (%s)" % (" ".join(args),
                                                        p.stdout.decode().strip()))


def body(c):
    with qtlib.Testbed("growth") as tb:
        for n in range(N_A):
            corpus.inject_one(tb.etc, A, ["x%d@gmail.example" % n], message(A, n))
        wave1 = wait_held(c, tb, A, N_A)
        for m in wave1:
            age(tb, m["queue_id"], 40 * 60)
        for n in range(N_B):
            corpus.inject_one(tb.etc, B, ["y%d@gmail.example" % n], message(B, n))
        wave2 = wait_held(c, tb, B, N_B)
        for m in sorted(wave2, key=lambda m: m["queue_id"])[:N_B_AGED]:
            age(tb, m["queue_id"], 10 * 60)
        log("waves injected and aged")
        check_stats(c, tb)
        check_growth(c, tb)


if __name__ == "__main__":
    if not qtlib.have_qtriage():
        log("test_growth: no qtriage binary at %s" % qtlib.qtriage_path())
        sys.exit(qtlib.SKIP)
    qtlib.run_main("test_growth", body)
