#!/usr/bin/env python3
"""The flood-triage scenarios, each one CLI line, on a real test bed
(scenarios.py says what each must touch, from postqueue -j and postcat):

  qtriage delete  --filter 'sender=promo@bulk-deals.example' --yes
  qtriage delete  --filter 'size>5M' --yes
  qtriage delete  --filter 'queue=deferred age>NNs' --yes
  qtriage hold    --filter 'sender=<>' --yes
  qtriage stats --by sasl --json   -> the top user's filter ->
  qtriage hold    --filter "$filter" --yes
  qtriage release --filter 'queue=hold' --yes
  qtriage requeue --filter 'queue=deferred' --yes
  qtriage delete  --filter 'sender=support@vendor.example' --yes --backup-dir DIR

Before each destructive line, the same line without --yes (stdin not a
terminal) must refuse and change nothing, and --dry-run must change nothing.
Exit: 0 ok, 1 failures, 77 when not root."""

import json
import os
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qtlib  # noqa: E402
import scenarios as S  # noqa: E402
from qtlib import log  # noqa: E402


def q(tb, *args):
    p = qtlib.qtriage(["-c", tb.etc] + list(args), input=b"")
    return p, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def line(c, tb, label, action, expr, extra=()):
    before = S.snapshot(tb)
    p, out, err = q(tb, action, "--filter", expr, *extra)
    c.check(p.returncode != 0, "[%s] without --yes, stdin not a terminal: refused" % label,
            (p.returncode, out[-300:], err[-300:]))
    c.eq(sorted(S.snapshot(tb)), sorted(before), "[%s] ... and nothing changed" % label)
    p, out, err = q(tb, action, "--filter", expr, "--dry-run", *extra)
    c.eq(p.returncode, 0, "[%s] --dry-run exit status (%s)" % (label, err.strip()[-300:]))
    after = S.snapshot(tb)
    c.check(sorted(after) == sorted(before) and all(
        after[i]["queue_name"] == before[i]["queue_name"] for i in after),
        "[%s] --dry-run changes nothing" % label)
    p, out, err = q(tb, action, "--filter", expr, "--yes", *extra)
    c.eq(p.returncode, 0, "[%s] qtriage %s --filter '%s' --yes (%s)"
         % (label, action, expr, err.strip()[-300:]))
    log("[%s] %s" % (label, (out + err).strip().replace("\n", " | ")[:300]))
    return out


def body(c):
    with qtlib.Testbed("cli-scen", smtpd=True) as tb:
        ctx = {"cut": S.build_bed(tb)}
        for name, expr, action, expect in S.SCENARIOS:
            before = S.snapshot(tb)
            removed, moved = expect(tb, before, ctx)
            c.check(removed or moved, "[%s] the test bed has messages for it" % name)
            if expect is S.s_sasl:
                p, out, err = q(tb, "stats", "--by", "sasl", "--json")
                c.eq(p.returncode, 0, "[%s] stats --by sasl --json (%s)" % (name, err[-200:]))
                st = json.loads(out)
                users = [g for g in st["groups"] if g["key"]]
                c.check(users and users[0]["key"] == ctx["top_sasl"],
                        "[%s] the top sasl group is %s" % (name, ctx["top_sasl"]), S.dump(st))
                c.eq(users[0]["count"] if users else None, len(moved),
                     "[%s] its count" % name)
                expr = users[0]["filter"] if users else "sasl=nobody-at-all"
            elif expr is None:
                expr = S.old_filter(ctx)
            line(c, tb, name, action, expr)
            time.sleep(0.5)
            S.verify(c, name, before, S.snapshot(tb), removed, moved)
            if expect is S.s_flooder:
                c.check(ctx["to_flooder"] and ctx["to_flooder"] <= set(S.snapshot(tb)),
                        "[%s] mail addressed TO the flooder is still queued" % name)

        before = S.snapshot(tb)
        ids = [i for i, m in before.items() if m["queue_name"] == "deferred"]
        line(c, tb, "requeue", "requeue", "queue=deferred")
        S.check_requeue(c, tb, before, ids, time.time())

        bdir = os.path.join(tempfile.mkdtemp(prefix="qtriage-backup-"), "saved")
        S.prepare_export(tb)
        before = S.snapshot(tb)
        removed, _ = S.s_export_delete(tb, before, ctx)
        line(c, tb, "export then delete", "delete", "sender=%s" % S.VENDOR,
             extra=["--backup-dir", bdir])
        S.verify(c, "export then delete", before, S.snapshot(tb), removed)
        S.check_backup(c, bdir, removed, before)


if __name__ == "__main__":
    qtlib.run_main("scenarios", body)
