#!/usr/bin/env python3
"""End-to-end, through the TUI: a message's history from the mail log.

On a real test bed (which logs to its own maillog_file):
  * l on a list row opens the viewer on that message's history: the header
    line names the log and the count, and every log line about the message
    (as this test finds them in the file) is on screen, the deferral with its
    "Connection refused" reason among them
  * m goes back to the message itself; l again shows the history
  * J moves to the next message and stays in the history view
  * the hold made from the TUI shows up in the history (postsuper's line)
Exit: 0 ok, 1 failure, 77 not root."""

import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tuilib import Tui, log, qtlib  # noqa: E402
from test_history import expected as log_lines  # noqa: E402  (the log lines about an ID)


def viewer_title(t):
    """(queue ID, view) from the viewer's title line, or (None, None)."""
    m = re.search(r"(?m)^ ([0-9A-Za-z]+)  \w*  \[(decoded|raw|history) view", t.screen())
    return (m.group(1), m.group(2)) if m else (None, None)


def check_history_on_screen(c, t, tb, qid):
    want = log_lines(tb.maillog, qid)
    c.check(t.wait_for(r"\*\*\* %d lines about %s in %s" % (len(want), qid, re.escape(tb.maillog))),
            "%s: the history's first line names the log and the count (%d)" % (qid, len(want)),
            t.screen())
    scr = t.screen()
    # Each log line starts with its timestamp and program: look for that much
    # (the pane is 200 columns wide, so the start of every line is on it).
    # The first 12 always fit on the first page (a line wraps to at most 3
    # rows); a message with many recipients has more than a page, and a
    # busy machine can add a retry's lines to it.
    for l in want[:12]:
        c.check(l[:90] in scr, "%s: log line on screen: %s" % (qid, l[:90]), scr)
    c.check("Connection refused" in scr, "%s: the deferral reason is shown" % qid, scr)


def body(c):
    with qtlib.Testbed("tui-hist") as tb:
        tb.inject(12)
        tb.settle()
        with Tui(["-c", tb.etc, "--sort", "id", "--filter", "queue=deferred"],
                 width=200, height=50) as t:
            c.check(t.wait_loaded(), "the list loads", t.screen())
            time.sleep(0.5)
            t.keys("z")     # full screen viewer
            t.keys("l")
            c.check(t.wait_for(r"\[history view"), "l opens the history view", t.screen())
            qid, view = viewer_title(t)
            log("history of %s" % qid)
            c.check(qid is not None, "the viewer names the message", t.screen())
            check_history_on_screen(c, t, tb, qid)

            t.keys("m")
            c.check(t.wait_for(r"\[decoded view"), "m goes back to the message", t.screen())
            c.eq(viewer_title(t)[0], qid, "the same message")
            t.keys("l")
            c.check(t.wait_for(r"\[history view"), "l shows the history again", t.screen())

            t.keys("J")
            time.sleep(0.5)
            qid2, view2 = viewer_title(t)
            c.check(qid2 and qid2 != qid and view2 == "history",
                    "J moves to the next message, still in the history view", (qid, qid2, view2))
            if qid2:
                check_history_on_screen(c, t, tb, qid2)

            # Hold it from the viewer; postsuper's log line joins the history.
            t.keys("h")
            c.check(t.wait_for(r"hold: 1 acted on"), "the hold is done", t.screen())
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not any(
                    "placed on hold" in l for l in log_lines(tb.maillog, qid2)):
                time.sleep(0.2)
            t.keys("m")
            t.keys("l")     # reread
            c.check(t.wait_for(r"\[history view"), "l rereads the history", t.screen())
            t.keys("G")     # the newest line is the last; a long history has pages
            c.check(t.wait_for(r"%s: placed on hold" % qid2),
                    "the hold is in the reread history", t.screen())
            t.keys("q")
            t.keys("q")
            c.eq(t.exit_status(), 0, "qtriage exits cleanly")
        held = [m for m in tb.postqueue_j() if m["queue_id"] == qid2]
        c.check(held and held[0]["queue_name"] == "hold", "%s is on hold in the queue" % qid2,
                held)


if __name__ == "__main__":
    qtlib.run_main("tui_history", body)
