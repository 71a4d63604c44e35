#!/usr/bin/env python3
"""The TUI over a fleet, as an admin uses it during a flood on every host.

Three real Postfix instances behind a real loopback sshd (tests/testbed/
sshbed.py); qtriage runs in tmux with --hosts all.  Every step is checked on
the screen and then on each instance with its own postqueue -j.

  1. all three hosts load: HOST column, each host's state on the status line,
     shown/total = the sum of the three queues
  2. filter the flooding sender across the hosts, tag all, hold: exactly the
     flooder's mail moves on every host, nothing else; the result line is per
     host
  3. a host lost while open (its sshd stops): the status line says so, its
     rows stay, an action on them is refused
  4. a slow host (held at a gate) and a host whose ssh wants a password: the
     fast host's rows are there at once, the slow one is "loading", no password
     prompt ever reaches the screen; once the gate opens, its rows come in

Exit: 0 ok, 1 failure, 77 not root / no sshd / no tmux."""

import os
import re
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from tuilib import Tui, log, qtlib  # noqa: E402
import fleetlib  # noqa: E402
from fleetlib import FLOODER, HIJACKED  # noqa: E402

N = int(os.environ.get("QTRIAGE_FLEET_N", "300"))
PROMPT = r"(?i)password:|passphrase|\(yes/no"


def confirm_if_asked(t, verb="hold"):
    """Hold may ask first (more than half the queue, a fleet): say yes."""
    m = t.wait_for(r"\[y/N\]|%s: " % verb, timeout=60)
    if m and m.group(0) == "[y/N]":
        t.keys("y")


def act_on_flood(c, t, f, before):
    total = sum(len(q) for q in before.values())
    nflood = {h: sum(1 for m in q.values() if m["sender"] == FLOODER) for h, q in before.items()}
    t.keys("f")
    c.check(t.wait_for(r"(?m)^filter:"), "f opens the filter bar", t.screen())
    t.type("sender=" + FLOODER)
    t.keys("Enter")
    c.check(t.wait_for(r"shown %d/%d\b" % (sum(nflood.values()), total)),
            "the filter spans every host: shown = the flooder's mail of all three", t.status())
    scr = t.screen()
    for h in f.names:
        c.check(re.search(r"(?m)^.*\b%s\b.*%s" % (h, re.escape(FLOODER[:12])), scr),
                "rows of %s show the host in the HOST column" % h, scr)
    t.keys("T")
    c.check(t.wait_for(r"tagged %d\b" % sum(nflood.values())), "T tags every shown message",
            t.status())
    t.keys("h")
    confirm_if_asked(t)
    moved = {h: sum(1 for m in q.values() if m["sender"] == FLOODER and m["queue_name"] != "hold")
             for h, q in before.items()}
    want = r"hold:.*" + r".*".join(r"\b%s\b\D*%s acted on" % (h, format(moved[h], ",")) for h in f.names)
    c.check(t.wait_for(want, timeout=60), "the result line is per host: %s" % want, t.screen())
    after = f.postqueue()
    for h in f.names:
        c.eq(set(after[h]), set(before[h]), "postqueue: %s keeps every message" % h)
        held = {i for i, m in after[h].items() if m["queue_name"] == "hold"}
        wanted = {i for i, m in before[h].items()
                  if m["sender"] == FLOODER or m["queue_name"] == "hold"}
        c.eq(sorted(held ^ wanted)[:10], [],
             "postqueue: on %s exactly the flooder's mail moved to hold" % h)


def lost_host(c, t, f):
    f.bed.stop_host("mx3")
    try:
        c.check(t.wait_for(r"mx3\W+(lost|reconnecting|stale)", timeout=45),
                "the status line shows mx3 lost", t.screen())
        t.keys("f", "C-u")
        t.type("sender=" + HIJACKED)
        t.keys("Enter")
        n3 = sum(1 for m in f.tb["mx3"].postqueue_j() if m["sender"] == HIJACKED)
        c.check(t.wait_for(r"shown [\d,]+/"), "filter applied", t.status())
        before3 = f.tb["mx3"].postqueue_j()
        t.keys("U", "T", "h")
        confirm_if_asked(t)
        c.check(t.wait_for(r"mx3\W[^;]*(lost|refused|unreachable|nothing done)", timeout=60),
                "acting on the lost host's rows is refused (%d rows)" % n3, t.screen())
        c.eq(f.tb["mx3"].postqueue_j(), before3, "postqueue: nothing changed on mx3")
    finally:
        f.bed.start_host("mx3")


def slow_and_password(c, f, before):
    fleet, _, held = fleetlib.gated_host(f, "mx3", names=["mx1", "mx3"])
    with open(fleet, "a") as fl:
        fl.write(f.bed.host_line("mxpw", config=f.tb["mx2"].etc) + "\n")
    try:
        with Tui(["--hosts", "all"] + f.args(fleet) + ["--refresh", "1"], width=160) as t:
            n1 = len(before["mx1"])
            c.check(t.wait_for(r"shown %d/%d\b" % (n1, n1), timeout=30),
                    "the fast host's rows are there while mx3 waits", t.screen())
            c.check(re.search(r"mx3\W+(connecting|loading)", t.screen()), "mx3 shows as connecting or loading", t.screen())
            c.check(t.wait_for(r"mxpw\W+(lost|failed|unreachable)", timeout=30),
                    "the password host is reported failed", t.screen())
            c.check(re.search(PROMPT, t.screen()) is None, "no password prompt on the screen",
                    t.screen())
            held.close()
            n = n1 + len(before["mx3"])
            c.check(t.wait_for(r"shown %d/%d\b" % (n, n), timeout=30),
                    "once the slow host answers its rows come in", t.screen())
            c.check(re.search(PROMPT, t.screen()) is None, "still no prompt", t.screen())
            t.keys("q")
            c.eq(t.exit_status(), 0, "q quits cleanly")
    finally:
        held.close()


def body(c):
    fleetlib.require()
    if not qtlib.have_qtriage():
        c.skip("no qtriage binary")
        return
    with fleetlib.Fleet(3, N, tag="tui-fleet") as f:
        before = f.postqueue()
        total = sum(len(q) for q in before.values())
        log("hosts: %s" % {h: len(q) for h, q in before.items()})
        with Tui(["--hosts", "all"] + f.args() + ["--refresh", "1"], width=160, height=30) as t:
            c.check(t.wait_for(r"shown %d/%d\b" % (total, total), timeout=60),
                    "all three hosts load: shown/total is the sum of the queues", t.screen())
            c.check(re.search(r"(?m)^.*\bHOST\b", t.screen()), "the HOST column is shown",
                    t.screen())
            for h in f.names:
                c.check(t.wait_for(r"%s\W+live" % h, timeout=20),
                        "the status line shows %s live" % h, t.screen())
            act_on_flood(c, t, f, before)
            lost_host(c, t, f)
            t.keys("q")
            c.eq(t.exit_status(), 0, "q quits cleanly")
        slow_and_password(c, f, f.postqueue())


if __name__ == "__main__":
    qtlib.run_main("tui_fleet", body)
