#!/usr/bin/env python3
"""End-to-end, through the TUI: a regex search with n/N; the viewer on a
multipart message with a GB2312 subject and attachments (decoded, then
raw); the help screen; resizing to 80x24 and back.

qtriage runs in tmux against a real, isolated Postfix instance.
Exit: 0 ok, 1 failure, 77 not root."""

import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tuilib import Tui, log, qtlib  # noqa: E402

N = int(os.environ.get("QTRIAGE_TUI_N", "120"))


def viewer_id(t):
    """The queue ID in the viewer's title line, or None."""
    m = re.search(r"(?m)^ ([0-9A-Za-z]+)  \w+  \[(decoded|raw) view", t.screen())
    return m.group(1) if m else None


def body(c):
    with qtlib.Testbed("tui-view") as tb:
        tb.inject(N)
        tb.settle()
        listed, _ = qtlib.qtriage_list(tb.etc, c=c)
        corpus = qtlib.corpus_by_token(tb.corpus())
        subj = {m["queue_id"]: m.get("subject") or "" for m in listed}

        with Tui(["-c", tb.etc]) as t:
            c.check(t.wait_loaded(), "the list loads", t.screen())

            # --- search: the regex matches tokens 00010..00019 (whatever row they are on)
            # Queue IDs whose fifth character is 0-3: a tenth to a half of them,
            # and only the ID column can match (upper-case: case-sensitive).
            rx = r"^[0-9A-F]{4}[0-3][0-9A-F]{5,}"
            want = {i for i in subj if re.search(rx, i)}
            log("search /%s/: %d of %d rows match" % (rx, len(want), len(subj)))
            t.keys("/")
            t.type(rx)
            t.keys("Enter")
            m = t.wait_for(r"/%s: row (\d+) of %d" % (re.escape(rx), len(listed)))
            c.check(m, "the search reports the row it found", t.screen())
            row1 = t.cursor_row()
            t.keys("Enter")
            id1 = t.wait_for(r"\[decoded view") and viewer_id(t)
            c.check(id1 in want, "the row found matches the regex", (id1, subj.get(id1)))
            t.keys("q")
            t.keys("n")
            time.sleep(0.5)
            row2 = t.cursor_row()
            c.check(row2 != row1, "n moves to another matching row", (row1, row2))
            t.keys("Enter")
            id2 = t.wait_for(r"\[decoded view") and viewer_id(t)
            c.check(id2 in want and id2 != id1, "n finds the next match", (id1, id2))
            t.keys("q", "N")
            time.sleep(0.5)
            c.eq(t.cursor_row(), row1, "N goes back to the previous match")
            # Highlighting: the match is drawn in reverse/colour (checked in the
            # escape-coded capture).
            esc = t.tmux("capture-pane", "-e", "-p", "-t", t.session)
            c.check(re.search(r"\x1b\[[0-9;]*m[0-9A-F]{4}[0-3][0-9A-F]{5,}\x1b\[", esc),
                    "the match is highlighted on screen", esc[:3000])
            t.keys("Escape")

            # --- viewer: multipart, GB2312 subject, attachments
            mp = [m for m in listed
                  if (corpus.get(qtlib.token_of(m.get("subject"))) or {}).get("subject_kind")
                  == "gb2312-b"
                  and "multipart" in corpus[qtlib.token_of(m["subject"])]["kinds"]]
            # A deferred one when there is one: its status has a reason to show
            # (the corpus puts some of these messages on hold at random).
            mp.sort(key=lambda m: m["queue_name"] != "deferred")
            c.check(mp, "the corpus has a multipart message with a GB2312 subject")
            if mp:
                msg = mp[0]
                log("viewer on %s: %s" % (msg["queue_id"], msg["subject"]))
                t.keys("f")
                t.type("id=" + msg["queue_id"])
                t.keys("Enter", "Enter")
                c.check(t.wait_for(r"\[decoded view"), "Enter opens the viewer", t.screen())
                t.keys("z")    # full screen: more lines to check
                time.sleep(0.5)
                # Long lines wrap at the pane's edge, after a blank.
                scr = " ".join(t.lines())
                c.check("Subject: " + msg["subject"] in scr,
                        "the decoded Subject is shown in Chinese", scr)
                # A message with many recipients pushes its parts below the
                # first screen: page down (up to 3 times) to reach them.
                attach = r"\[\d\] attachment \".*\.pdf\".*libmagic: application/pdf"
                more = scr
                for _ in range(3):
                    if re.search(attach, more):
                        break
                    t.keys("PageDown")
                    time.sleep(0.5)
                    more += " " + " ".join(t.lines())
                c.check(re.search(attach, more), "attachments are listed with their libmagic type",
                        more)
                t.keys("g")
                c.check(re.search(r"multipart/mixed, \d parts", scr), "the MIME structure shows",
                        scr)
                if msg["queue_name"] == "deferred":
                    c.check(re.search(r"deferred: .*Connection refused", scr),
                            "delivery status with the reason", scr)
                else:   # on hold: no attempt yet, so no reason
                    c.check(re.search(r"pending: " + re.escape(msg["recipients"][0]["address"]),
                                      scr), "delivery status of a held message", scr)
                t.keys("m")
                c.check(t.wait_for(r"\*\*\* ENVELOPE RECORDS"), "m switches to the raw view",
                        t.screen())
                c.check(t.wait_for(r"message_arrival_time: "),
                        "raw view names the records as postcat does", t.screen())
                t.keys("m")
                t.keys("/")
                t.type("libmagic")
                t.keys("Enter")
                c.check(t.wait_for(r"/libmagic: line \d+"), "search inside the message",
                        t.screen())
                t.keys("q")
                c.check(t.wait_for(r"\[decoded view", absent=True), "q closes the viewer",
                        t.screen())
                t.keys("F")

            # --- help
            t.keys("?")
            c.check(t.wait_for(r"qtriage keys"), "? opens the help", t.screen())
            t.keys("G")
            time.sleep(0.5)
            scr = t.screen()
            c.check(re.search(r"(?m)^  h +hold +put on hold \(postsuper -h\)", scr),
                    "help lists the commands with their keys", scr)
            c.check(re.search(r"(?m)^  d +delete +delete, after confirmation", scr),
                    "help: delete asks first", scr)
            t.keys("q")
            c.check(t.wait_for(r"qtriage keys", absent=True), "q closes the help")

            # --- resize to 80x24 and back
            t.resize(80, 24)
            time.sleep(1)
            lines = t.lines()
            c.check(all(len(l) <= 80 for l in lines), "at 80 columns nothing overflows",
                    "\n".join(lines))
            c.check(re.search(r"QUEUE ID +AGE", t.screen()), "the header fits at 80x24",
                    t.screen())
            c.check(re.search(r"shown \d+/%d" % len(listed), t.screen()),
                    "the status line fits at 80x24", t.screen())
            rows = [l for l in lines if re.match(r"^[ +] [0-9A-F]{6,}", l)]
            c.check(len(rows) >= 18, "80x24 shows a screenful of rows", len(rows))
            t.resize(200, 50)
            time.sleep(1)
            scr = t.screen()
            c.check(re.search(r"QUEUE ID +QUEUE +AGE", scr),
                    "a wide terminal shows more columns (queue)", scr)
            t.resize(120, 30)
            time.sleep(0.5)

            def first_row():
                m = re.search(r"(?m)^[ +] ([0-9A-F]{6,})", t.screen())
                return m.group(1) if m else None

            def row_ids():
                return re.findall(r"(?m)^[ +] ([0-9A-F]{6,})", t.screen())

            # O reverses the order at once (not only at the next rescan).
            t.keys("g")
            top = first_row()
            t.keys("O", "g")
            time.sleep(0.5)
            c.check(first_row() != top and re.search(r"AGEv", t.screen()),
                    "O reverses the sort at once", t.screen())
            t.keys("O", "g")
            time.sleep(0.5)
            c.eq(first_row(), top, "O again restores the order")

            # Closing a split viewer at the end of the list leaves no blank rows.
            t.keys("G", "Enter")
            t.wait_for(r"\[decoded view")
            t.keys("q")
            time.sleep(0.5)
            c.check(len(row_ids()) == 30 - 4, "after the viewer closes the list fills its pane",
                    t.screen())
            t.keys("q")
            c.eq(t.exit_status(), 0, "q quits cleanly")


if __name__ == "__main__":
    qtlib.run_main("tui_view", body)
