#!/usr/bin/env python3
"""End-to-end, through the TUI: the list refreshes itself while tags are
set.  New mail arrives (sorted in between the rows), a tagged message is
deleted behind qtriage's back: the new rows appear, the cursor stays on
its message, the tags stay on theirs, and the deleted one's tag goes.
The TUI learns of changes from inotify; a second run with inotify off
(QTRIAGE_NO_INOTIFY=1: directory mtimes) must see arrivals and removals too.

Exit: 0 ok, 1 failure, 77 not root."""

import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tuilib import Tui, log, qtlib  # noqa: E402


def viewer_id(t):
    t.keys("Enter")
    m = t.wait_for(r"(?m)^ ([0-9A-Za-z]+)  \w+  \[(decoded|raw) view")
    t.keys("q")
    t.wait_for(r"\[decoded view", absent=True)
    return m.group(1) if m else None


def tagged_ids(t):
    """IDs of the rows marked '+' on screen."""
    return set(re.findall(r"(?m)^\+ ([0-9A-Za-z]+)", t.screen()))


def body(c):
    with qtlib.Testbed("tui-live") as tb:
        tb.inject(60)
        tb.settle()
        n0 = len(tb.postqueue_j())
        with Tui(["-c", tb.etc, "--refresh", "1", "--sort", "sender"], height=40) as t:
            c.check(t.wait_loaded(), "the list loads", t.screen())
            c.eq(t.shown_total(), (n0, n0), "all messages shown")
            t.keys("j", "j", "j", "j", "j")
            t.keys("t", "t", "t")
            c.eq(t.tagged(), 3, "three rows tagged")
            tags = tagged_ids(t)
            c.eq(len(tags), 3, "three rows show the tag mark")
            cur = viewer_id(t)
            c.check(cur, "the cursor's message is known")
            log("cursor on %s, tagged %s" % (cur, sorted(tags)))

            # New mail arrives; sorted by sender it lands between the rows.
            tb.inject(40)
            t0 = time.monotonic()
            ok = t.wait_for(r"shown %d/%d" % (n0 + 40, n0 + 40), timeout=30)
            log("new rows shown %.1f s after injection ended" % (time.monotonic() - t0))
            c.check(ok, "the new messages appear by themselves", t.status())
            c.eq(t.tagged(), 3, "tags survive the rescans")
            c.eq(viewer_id(t), cur, "the cursor stayed on its message")

            # A tagged message goes away behind qtriage's back.
            victim = sorted(tags)[0]
            qtlib.sh(["postsuper", "-c", tb.etc, "-d", victim])
            c.check(t.wait_for(r"tagged 2\b", timeout=20), "the deleted message's tag goes",
                    t.status())
            c.check(t.wait_for(r"shown %d/%d" % (n0 + 39, n0 + 39), timeout=20),
                    "the deleted message leaves the list", t.status())
            c.eq(viewer_id(t), cur, "the cursor is still on its message")
            # New rows may have pushed the tagged ones off screen: show just them.
            t.keys("f")
            t.type(" or ".join("id=" + i for i in sorted(tags)))
            t.keys("Enter")
            c.check(t.wait_for(r"shown 2/"), "filter by the tagged IDs", t.status())
            c.eq(tagged_ids(t), tags - {victim}, "the same messages are still tagged")
            t.keys("q")
            c.eq(t.exit_status(), 0, "q quits cleanly")

        # The fallback: directory mtimes, at the default refresh.
        n1 = len(tb.postqueue_j())
        with Tui(["-c", tb.etc], height=40, env={"QTRIAGE_NO_INOTIFY": "1"}) as t:
            c.check(t.wait_loaded(), "the list loads (mtimes)", t.screen())
            c.eq(t.shown_total(), (n1, n1), "all messages shown (mtimes)")
            tb.inject(5)
            t0 = time.monotonic()
            ok = t.wait_for(r"shown %d/%d" % (n1 + 5, n1 + 5), timeout=30)
            log("mtimes: new rows shown %.1f s after injection ended" % (time.monotonic() - t0))
            c.check(ok, "new mail shows without inotify", t.status())
            gone = sorted(m["queue_id"] for m in tb.postqueue_j())[0]
            qtlib.sh(["postsuper", "-c", tb.etc, "-d", gone])
            c.check(t.wait_for(r"shown %d/%d" % (n1 + 4, n1 + 4), timeout=30),
                    "a removed message leaves the list without inotify", t.status())
            t.keys("q")
            c.eq(t.exit_status(), 0, "q quits cleanly (mtimes)")


if __name__ == "__main__":
    qtlib.run_main("tui_live", body)
