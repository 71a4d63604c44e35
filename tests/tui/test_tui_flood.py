#!/usr/bin/env python3
"""End-to-end, through the TUI as a person uses it: find the flooding
sender, tag all its mail and delete it (cancelling the first confirmation);
hold a suspicious subject and release it again; requeue one message.

qtriage runs in tmux against a real, isolated Postfix instance; every step
checks the screen (capture-pane) and then the queue itself (postqueue -j).
Exit: 0 ok, 1 failure, 77 not root."""

import collections
import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tuilib import Tui, log, qtlib, queue_by_id  # noqa: E402

N = int(os.environ.get("QTRIAGE_TUI_N", "300"))


def subject_stem(subject):
    """The subject without its unique token: what a campaign shares."""
    return re.sub(r"\s*\[qt-[0-9a-f]+-\d+\]\s*", "", subject or "").strip()


def body(c):
    with qtlib.Testbed("tui-flood") as tb:
        tb.inject(N)
        tb.settle()
        before = queue_by_id(tb)
        listed, _ = qtlib.qtriage_list(tb.etc, c=c)
        senders = collections.Counter(m["sender"] for m in before.values()
                                      if m["sender"] != "MAILER-DAEMON")
        flooder, nflood = senders.most_common(1)[0]
        log("flooding sender: %s (%d of %d messages)" % (flooder, nflood, len(before)))

        with Tui(["-c", tb.etc, "--refresh", "1"]) as t:
            c.check(t.wait_loaded(), "the list loads", t.screen())
            c.eq(t.shown_total(), (len(before), len(before)), "status: shown/total at start")

            # Find the flooder: filter by sender.  The count updates as typed.
            t.keys("f")
            c.check(t.wait_for(r"(?m)^filter:"), "f opens the filter bar", t.screen())
            t.type("sender=" + flooder)
            c.check(t.wait_for(r"%d of %d messages match" % (nflood, len(before))),
                    "the match count shows while typing", t.screen())
            t.keys("Enter")
            c.eq(t.shown_total(), (nflood, len(before)), "status after the filter")

            # A typo in the filter: the error points at it, Esc restores.
            t.keys("f")
            t.keys("End")
            t.type(" and (size>3")
            c.check(t.wait_for(r"filter: .*error at character \d+: unbalanced"), "a bad query shows where it fails",
                    t.screen())
            t.keys("Escape")
            time.sleep(0.5)
            c.eq(t.shown_total(), (nflood, len(before)), "Esc keeps the previous filter")

            # Tag all it shows.
            t.keys("T")
            time.sleep(0.5)
            c.eq(t.tagged(), nflood, "T tags every shown message")

            # Delete: the confirmation shows the count; 'n' cancels.
            t.keys("d")
            c.check(t.wait_for(r"DELETE %d tagged messages\? \[y/N\]" % nflood),
                    "delete asks for confirmation with the count", t.screen())
            t.keys("n")
            c.check(t.wait_for(r"cancelled: nothing was done"), "n cancels", t.screen())
            c.eq(len(tb.postqueue_j()), len(before), "nothing deleted after cancelling")

            # A tagged message outside the filter is counted in the question.
            t.keys("f", "C-u")
            t.keys("Enter")
            time.sleep(0.5)
            t.keys("d")
            c.check(t.wait_for(r"DELETE %d tagged messages \(0 of them NOT shown" % nflood)
                    or t.wait_for(r"DELETE %d tagged messages\?" % nflood),
                    "confirmation without a filter", t.screen())
            t.keys("Escape")
            t.keys("f")
            t.type("not sender=" + flooder)
            t.keys("Enter")
            time.sleep(0.5)
            t.keys("d")
            c.check(t.wait_for(r"DELETE %d tagged messages \(%d of them NOT shown by the current "
                               r"filter\)" % (nflood, nflood)),
                    "the confirmation says how many tagged messages the filter hides",
                    t.screen())
            t.keys("n")
            t.keys("f", "C-u")
            t.type("sender=" + flooder)
            t.keys("Enter")
            time.sleep(0.5)

            t.keys("d")
            t.wait_for(r"\[y/N\]")
            t.keys("y")
            c.check(t.wait_for(r"delete: %d acted on" % nflood, timeout=60),
                    "the status line reports what postsuper did", t.screen())
            c.check(t.wait_for(r"shown 0/%d " % (len(before) - nflood), timeout=20),
                    "the deleted messages leave the list", t.status())
            c.check(t.wait_for(r"tagged 0", timeout=10), "tags of deleted messages go",
                    t.status())
            after = queue_by_id(tb)
            c.eq(sum(1 for m in after.values() if m["sender"] == flooder), 0,
                 "postqueue: nothing left from the flooder")
            c.eq(set(after), {i for i, m in before.items() if m["sender"] != flooder},
                 "postqueue: every other message is still there")

            # Hold a suspicious subject, then release it.
            t.keys("F")
            stems = collections.Counter(subject_stem(m.get("subject")) for m in listed
                                        if m["queue_id"] in after
                                        and after[m["queue_id"]]["queue_name"] == "deferred")
            # A subject none of whose messages is on hold already (ties in
            # most_common() follow the listing's order, which is the scan's).
            held = {subject_stem(m.get("subject")) for m in listed
                    if m["queue_id"] in after and after[m["queue_id"]]["queue_name"] != "deferred"}
            stem = next(s for s, _ in stems.most_common() if s and '"' not in s and s not in held)
            ids = {m["queue_id"] for m in listed if subject_stem(m.get("subject")) == stem
                   and m["queue_id"] in after}
            log("suspicious subject: %r (%d messages)" % (stem, len(ids)))
            t.keys("f")
            t.type('subject:"%s"' % stem)
            t.keys("Enter")
            c.check(t.wait_for(r"shown %d/" % len(ids)), "subject filter count", t.status())
            t.keys("U", "T")
            time.sleep(0.3)
            c.eq(t.tagged(), len(ids), "tagged the subject's messages")
            t.keys("h")
            # The corpus puts some messages on hold by itself: holding those
            # again is "not applicable", not an act.
            held = {i for i in ids if after[i]["queue_name"] == "hold"}
            c.check(t.wait_for(r"hold: %d acted on" % (len(ids) - len(held)), timeout=60),
                    "hold reported", t.screen())
            q = queue_by_id(tb)
            c.eq({i for i in ids if q[i]["queue_name"] == "hold"}, ids,
                 "postqueue: all of them on hold")
            c.eq(sum(1 for m in q.values() if m["queue_name"] == "hold"),
                 sum(1 for m in after.values() if m["queue_name"] == "hold") + len(ids) - len(held),
                 "postqueue: nothing else went on hold")
            c.check(t.wait_for(r"[0-9A-Za-z]+! ", timeout=10), "held rows show the ! marker",
                    t.screen())
            c.eq(t.tagged(), len(ids), "tags survive the action and the rescans")
            t.keys("H")
            c.check(t.wait_for(r"release: %d acted on" % len(ids), timeout=60),
                    "release reported", t.screen())
            q = queue_by_id(tb)
            c.eq({i for i in ids if q[i]["queue_name"] == "hold"}, set(),
                 "postqueue: none of them on hold any more")

            # Requeue the current message (no tags): it gets a new ID.
            t.keys("U", "F")
            victim = sorted(ids)[0]
            t.keys("f")
            t.type("id=" + victim)
            t.keys("Enter")
            c.check(t.wait_for(r"shown 1/"), "filter by ID", t.status())
            t.keys("r")
            c.check(t.wait_for(r"requeue: 1 acted on", timeout=60), "requeue reported",
                    t.screen())
            deadline = time.time() + 30
            while time.time() < deadline:
                q = queue_by_id(tb)
                if victim not in q and len(q) == len(after):
                    break
                time.sleep(0.5)
            c.check(victim not in q, "postqueue: the requeued ID is gone")
            c.eq(len(q), len(after), "postqueue: the message is back under a new ID")

            t.keys("F", "q")
            c.eq(t.exit_status(), 0, "q quits cleanly (exit status 0)")


if __name__ == "__main__":
    qtlib.run_main("tui_flood", body)
