#!/usr/bin/env python3
"""Export from the TUI (E): the tagged messages, else the current one, go
into a directory asked for in a bar (default: --backup-dir, then the last
one used) as ID.eml files, on the action thread; the queue is not changed.

The flood is tagged and exported to the default directory, where one
flood message's file name is already taken: that one must fail (and the
file stay as it was), the others must be there with their own IDs, and
the status line must say how many were exported and failed.  Then, with
no tags, the current message alone is exported to a directory typed into
the bar.  The queue must hold the same messages before and after.

Exit: 0 ok, 1 failure, 77 not root."""

import os
import re
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tuilib import Tui, log, qtlib, queue_by_id  # noqa: E402

FLOOD = "promo@bulk-deals.example"


def body(c):
    work = tempfile.mkdtemp(prefix="qtriage-tuiexp-", dir="/tmp")
    try:
        with qtlib.Testbed("tui-export") as tb:
            run(c, tb, os.path.join(work, "bk"), os.path.join(work, "one"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def exported_id(path):
    with open(path, "rb") as f:
        m = re.match(rb"X-Qtriage-Queue-ID: ([0-9A-Za-z]+)\n", f.readline())
    return m.group(1).decode() if m else None


def run(c, tb, bk, one):
    tb.inject(int(os.environ.get("QTRIAGE_TUI_N", "60")))
    tb.settle()
    before = queue_by_id(tb)
    flood = sorted(i for i, m in before.items() if m["sender"] == FLOOD)
    others = sorted(i for i, m in before.items() if m["sender"] != FLOOD)
    log("%d flood messages of %d" % (len(flood), len(before)))
    if not c.check(len(flood) >= 3 and len(others) > 0, "the queue has a flood and other mail"):
        return
    os.mkdir(bk, 0o700)
    clash = flood[0]
    with open(os.path.join(bk, clash + ".eml"), "w") as f:
        f.write("not an export\n")
    with Tui(["-c", tb.etc, "--refresh", "1", "--backup-dir", bk]) as t:
        c.check(t.wait_loaded(), "the list loads", t.screen())
        t.keys("f")
        t.type("sender=" + FLOOD)
        t.keys("Enter")
        c.check(t.wait_for(r"shown %d/" % len(flood)), "the filter shows the flood", t.screen())
        t.keys("T")
        c.check(t.wait_for(r"tagged %d" % len(flood)), "the flood is tagged", t.screen())
        t.keys("E")
        c.check(t.wait_for(r"export the tagged %d messages as ID\.eml to directory: %s"
                           % (len(flood), re.escape(bk))),
                "the bar asks for the directory, --backup-dir filled in", t.screen())
        t.keys("Enter")
        n = len(flood) - 1
        c.check(t.wait_for(r"exported %d to %s; 1 failed \(%s: " % (n, re.escape(bk), clash),
                           timeout=60),
                "the status line says how many were exported and which failed", t.screen())
        c.eq(t.tagged(), len(flood), "the tags stay")

        # No tags: the current message alone, to a directory typed in.
        t.keys("U")
        t.keys("f")
        t.keys("C-u")
        t.type("id=" + others[0])
        t.keys("Enter")
        c.check(t.wait_for(r"shown 1/"), "the filter shows one message", t.screen())
        t.keys("E")
        c.check(t.wait_for(r"export 1 message as ID\.eml to directory: %s" % re.escape(bk)),
                "the bar offers the directory used last", t.screen())
        t.keys("C-u")
        t.type(one)
        t.keys("Enter")
        c.check(t.wait_for(r"exported 1 to %s; 0 failed" % re.escape(one), timeout=60),
                "the current message is exported", t.screen())
        t.keys("q")
        c.eq(t.exit_status(), 0, "clean exit")

    after = queue_by_id(tb)
    c.eq(sorted(after), sorted(before), "the queue holds the same messages")
    c.eq(sorted(os.listdir(bk)), sorted(i + ".eml" for i in flood), "a file per flood message")
    with open(os.path.join(bk, clash + ".eml")) as f:
        c.eq(f.read(), "not an export\n", "the file in the way was not overwritten")
    for i in flood[1:]:
        c.eq(exported_id(os.path.join(bk, i + ".eml")), i, "%s.eml holds %s" % (i, i))
    c.eq(os.listdir(one), [others[0] + ".eml"], "the second export holds the current message")
    c.eq(exported_id(os.path.join(one, others[0] + ".eml")), others[0],
         "its file holds its ID")


if __name__ == "__main__":
    qtlib.run_main("tui_export", body)
