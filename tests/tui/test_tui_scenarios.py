#!/usr/bin/env python3
"""The flood-triage scenarios, each a handful of keys in the TUI, on a real
test bed (tests/integration/scenarios.py says what each must touch):

  delete everything from the flooder (and nothing addressed TO it), delete
  messages over 5 MB, delete old deferred mail, hold all MAILER-DAEMON
  bounces, hold the top sasl user's mail (found in the statistics pane: s,
  Tab to the sasl view, t tags the top group, h holds), release the whole
  hold queue, requeue the deferred mail, and, with --backup-dir, export then
  delete with nothing lost.

Every scenario is checked on screen (match count, tag count, the action's
result line) and in the queue (postqueue -j): exactly the intended messages
moved or went.
Exit: 0 ok, 1 failure, 77 not root."""

import os
import re
import sys
import tempfile
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from tuilib import Tui, log, qtlib  # noqa: E402
import scenarios as S  # noqa: E402

KEY = {"delete": "d", "hold": "h", "release": "H", "requeue": "r"}


def rescan(t):
    t.keys("R")
    time.sleep(1.5)


def filter_tag(c, t, label, expr, want):
    """F U f EXPR Enter T: filter to EXPR and tag what it shows."""
    t.keys("F", "U", "f")
    t.type(expr)
    t.keys("Enter")
    m = t.wait_for(r"(\d+) of (\d+) messages match")
    c.check(m and int(m.group(1)) == want, "[%s] the filter %s matches %d" % (label, expr, want),
            m.group(0) if m else t.screen())
    t.keys("T")
    time.sleep(0.3)
    c.eq(t.tagged(), want, "[%s] T tags them all" % label)


def act(c, t, label, action, want, backup=False):
    t.keys(KEY[action])
    if action == "delete":
        c.check(t.wait_for(r"\[y/N\]"), "[%s] delete asks first" % label, t.screen())
        c.check(re.search(r"%d" % want, t.message()), "[%s] the question gives the count" % label,
                t.message())
        t.keys("y")
    if backup:
        m = t.wait_for(r"then delete: %d exported, (\d+) deleted" % want, timeout=60)
    else:
        m = t.wait_for(r"%s: (\d+) acted on" % action, timeout=60)
    c.check(m and int(m.group(1)) == want, "[%s] %s: %d acted on" % (label, action, want),
            m.group(0) if m else t.screen())


def run_scenario(c, t, tb, ctx, name, expr, action, expect):
    rescan(t)
    before = S.snapshot(tb)
    removed, moved = expect(tb, before, ctx)
    want = len(removed) + len(moved)
    # postsuper counts only what it changed: holding a held message is not an act.
    acted = len(removed) + sum(1 for i, q in moved.items() if before[i]["queue_name"] != q)
    log("%s: %d messages, %d to act on" % (name, want, acted))
    c.check(want > 0, "[%s] the test bed has messages for it" % name)
    if expect is S.s_sasl:
        # The statistics pane: s, Tab to the sasl view, the top row, t, h.
        t.keys("F", "U", "s")
        c.check(t.wait_for(r"Top "), "[%s] s opens the statistics" % name, t.screen())
        t.keys("Tab", "Tab")
        c.check(t.wait_for(r"(?i)Top sasl"), "[%s] Tab Tab: the sasl view" % name, t.screen())
        c.check(t.wait_for(r"\s%d\s.*%s" % (want, re.escape(ctx["top_sasl"]))),
                "[%s] the row of %s says %d messages" % (name, ctx["top_sasl"], want),
                t.screen())
        # Mail without a login is a group too, "(none)", most often the
        # largest; the cursor opens on the first real group: go from there
        # to the top user's row, as the admin would.
        rows = [l for l in t.lines() if re.match(r"\s+\d+\s+[\d.]+%", l)]
        pos = next((k for k, l in enumerate(rows) if l.rstrip().endswith(" " + ctx["top_sasl"])), 0)
        start = next((k for k, l in enumerate(rows) if not l.rstrip().endswith(" (none)")), 0)
        t.keys(*(["j"] * (pos - start) if pos >= start else ["k"] * (start - pos)))
        t.keys("t")
        # A group over half of the queue asks first.
        m = t.wait_for(r"tagged %d messages of %s|of the queue\? y/N" % (want,
                                                                       re.escape(ctx["top_sasl"])))
        if m and m.group(0).endswith("y/N"):
            t.keys("y")
        c.check(t.wait_for(r"tagged %d messages of %s" % (want, re.escape(ctx["top_sasl"]))),
                "[%s] t tags the whole group" % name, t.screen())
        act(c, t, name, action, acted)
        t.keys("q")
        t.keys("U")
    else:
        filter_tag(c, t, name, expr or S.old_filter(ctx), want)
        act(c, t, name, action, acted)
        t.keys("U")
    time.sleep(1)
    S.verify(c, name, before, S.snapshot(tb), removed, moved)
    if expect is S.s_flooder:
        after = S.snapshot(tb)
        c.check(ctx["to_flooder"] and ctx["to_flooder"] <= set(after),
                "[%s] mail addressed TO the flooder is still queued" % name, ctx["to_flooder"])


def body(c):
    with qtlib.Testbed("tui-scen", smtpd=True) as tb:
        ctx = {"cut": S.build_bed(tb)}
        with Tui(["-c", tb.etc, "--refresh", "1"], width=160, height=40) as t:
            c.check(t.wait_loaded(), "the list loads", t.screen())
            for name, expr, action, expect in S.SCENARIOS:
                run_scenario(c, t, tb, ctx, name, expr, action, expect)

            # Requeue the deferred mail (after "the fix"): new IDs, nothing lost.
            rescan(t)
            before = S.snapshot(tb)
            ids = [i for i, m in before.items() if m["queue_name"] == "deferred"]
            filter_tag(c, t, "requeue", "queue=deferred", len(ids))
            act(c, t, "requeue", "requeue", len(ids))
            S.check_requeue(c, tb, before, ids, time.time())
            t.keys("q")
            c.eq(t.exit_status(), 0, "qtriage exits cleanly")

        # Export then delete, with the backup directory set.
        bdir = os.path.join(tempfile.mkdtemp(prefix="qtriage-backup-"), "saved")
        S.prepare_export(tb)
        with Tui(["-c", tb.etc, "--backup-dir", bdir], width=160, height=40) as t:
            c.check(t.wait_loaded(), "the list loads (--backup-dir)", t.screen())
            before = S.snapshot(tb)
            removed, _ = S.s_export_delete(tb, before, ctx)
            filter_tag(c, t, "export", "sender=%s" % S.VENDOR, len(removed))
            act(c, t, "export", "delete", len(removed), backup=True)
            time.sleep(1)
            S.verify(c, "export then delete", before, S.snapshot(tb), removed)
            S.check_backup(c, bdir, removed, before)
            t.keys("q")


if __name__ == "__main__":
    qtlib.run_main("tui_scenarios", body)
