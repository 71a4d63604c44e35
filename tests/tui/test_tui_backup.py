#!/usr/bin/env python3
"""Delete with a backup from the TUI (--backup-dir DIR): the confirmation
says the messages are exported first; the flood is exported to DIR/ID.eml
and only what was exported is deleted.  One flood message's backup name is
already taken by a file, so it cannot be exported: it must stay queued, the
file must stay as it was, and the status line must say one was kept.

Exit: 0 ok, 1 failure, 77 not root."""

import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tuilib import Tui, log, qtlib, queue_by_id  # noqa: E402

FLOOD = "promo@bulk-deals.example"


def body(c):
    work = tempfile.mkdtemp(prefix="qtriage-tuibk-", dir="/tmp")
    try:
        with qtlib.Testbed("tui-backup") as tb:
            run(c, tb, os.path.join(work, "bk"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(c, tb, bk):
    tb.inject(int(os.environ.get("QTRIAGE_TUI_N", "80")))
    tb.settle()
    before = queue_by_id(tb)
    flood = sorted(i for i, m in before.items() if m["sender"] == FLOOD)
    log("%d flood messages of %d" % (len(flood), len(before)))
    if not c.check(len(flood) >= 2, "the queue has a flood"):
        return
    os.mkdir(bk, 0o700)
    clash = flood[0]
    with open(os.path.join(bk, clash + ".eml"), "w") as f:
        f.write("not a backup\n")
    with Tui(["-c", tb.etc, "--refresh", "1", "--backup-dir", bk]) as t:
        c.check(t.wait_loaded(), "the list loads", t.screen())
        t.keys("f")
        t.type("sender=" + FLOOD)
        t.keys("Enter")
        t.keys("T")
        t.keys("d")
        c.check(t.wait_for(r"Export to %s, then delete %d messages\? \[y/N\]" % (bk, len(flood))),
                "the confirmation says export first, with the count", t.screen())
        t.keys("y")
        n = len(flood) - 1
        c.check(t.wait_for(r"export to %s, then delete: %d exported, %d deleted, 1 KEPT"
                           % (bk, n, n), timeout=60),
                "the status line says how many were exported, deleted and kept", t.screen())
        t.keys("q")
        c.eq(t.exit_status(), 0, "clean exit")
    after = queue_by_id(tb)
    c.eq(sorted(set(before) - set(after)), flood[1:], "exactly the exported flood was deleted")
    c.check(clash in after, "the message that could not be exported is still queued")
    c.eq(sorted(os.listdir(bk)), sorted(i + ".eml" for i in flood), "a backup per deleted message")
    c.eq(open(os.path.join(bk, clash + ".eml")).read(), "not a backup\n",
         "the file in the way was not overwritten")
    for i in flood[1:]:
        data = open(os.path.join(bk, i + ".eml"), "rb").read()
        c.check(data.startswith(b"X-Qtriage-Queue-ID: %s\n" % i.encode()), "%s.eml is its backup" % i)


if __name__ == "__main__":
    qtlib.run_main("tui_backup", body)
