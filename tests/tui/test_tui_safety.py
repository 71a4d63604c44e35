#!/usr/bin/env python3
"""Data safety, as an admin at 3 a.m. does it: a queue with a flood and
legitimate mail; the flood is filtered, tagged and deleted through the TUI,
with mistakes on the way (a filter typo, corrected; a delete with nothing
tagged, cancelled; a cancelled confirmation; a broader filter typed and
abandoned with Esc).  Afterwards every legitimate message is still queued,
byte for byte as `postcat -q` showed it before, and the flood is gone.

Exit: 0 ok, 1 failure, 77 not root."""

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tuilib import Tui, log, qtlib, queue_by_id  # noqa: E402

FLOOD = "promo@bulk-deals.example"


def postcat(tb, qid):
    p = qtlib.sh(["postcat", "-c", tb.etc, "-q", qid], check=False)
    return p.returncode, p.stdout


def body(c):
    with qtlib.Testbed("tui-safety") as tb:
        tb.inject(int(os.environ.get("QTRIAGE_TUI_N", "200")))
        tb.settle()
        before = queue_by_id(tb)
        legit = sorted(i for i, m in before.items() if m["sender"] != FLOOD)
        flood = sorted(i for i, m in before.items() if m["sender"] == FLOOD)
        log("%d flood messages, %d legitimate" % (len(flood), len(legit)))
        c.check(flood and legit, "the queue has both")
        saved = {i: postcat(tb, i) for i in legit}

        with Tui(["-c", tb.etc, "--refresh", "1"]) as t:
            c.check(t.wait_loaded(), "the list loads", t.screen())

            # Mistake 1: a delete with nothing tagged is about the cursor's
            # message only, and Esc cancels it.
            t.keys("d")
            c.check(t.wait_for(r"DELETE message [0-9A-F]+\? \[y/N\]"),
                    "untagged delete names the one message", t.screen())
            t.keys("Escape")
            c.check(t.wait_for(r"cancelled: nothing was done"), "Esc cancels")

            # Mistake 2: a typo in the filter matches nothing; corrected.
            t.keys("f")
            t.type("sender=promo@bulk-deal.example")
            c.check(t.wait_for(r"0 of %d messages match" % len(before)), "the typo matches nothing",
                    t.screen())
            for _ in range(len("deal.example")):
                t.keys("BSpace", delay=0.05)
            t.type("deals.example")
            c.check(t.wait_for(r"%d of %d messages match" % (len(flood), len(before))),
                    "the corrected filter matches the flood", t.screen())
            t.keys("Enter")
            t.keys("T")
            time.sleep(0.5)
            c.eq(t.tagged(), len(flood), "the flood is tagged")

            # Mistake 3: cancel the first confirmation.
            t.keys("d")
            c.check(t.wait_for(r"DELETE %d tagged messages\? \[y/N\]" % len(flood)),
                    "the confirmation shows the count", t.screen())
            t.keys("x")     # anything but y cancels
            c.check(t.wait_for(r"cancelled: nothing was done"), "a stray key cancels")

            # Mistake 4: a much broader filter typed, then abandoned.
            t.keys("f", "C-u")
            t.type("sender:example")
            time.sleep(0.5)
            t.keys("Escape")
            time.sleep(0.5)
            c.eq(t.shown_total(), (len(flood), len(before)), "Esc restored the flood filter")
            c.eq(len(tb.postqueue_j()), len(before), "nothing deleted so far")

            t.keys("d")
            c.check(t.wait_for(r"DELETE %d tagged messages\? \[y/N\]" % len(flood)),
                    "the count is still the flood's", t.screen())
            t.keys("y")
            c.check(t.wait_for(r"delete: %d acted on" % len(flood), timeout=60),
                    "postsuper deleted the flood", t.screen())
            t.keys("q")
            c.eq(t.exit_status(), 0, "clean exit")

        after = queue_by_id(tb)
        c.eq(sorted(i for i in after if i in before), legit,
             "exactly the legitimate messages are left")
        changed = [i for i in legit if postcat(tb, i) != saved[i]]
        c.eq(changed, [], "every legitimate message is byte for byte as before (postcat -q)")


if __name__ == "__main__":
    qtlib.run_main("tui_safety", body)
