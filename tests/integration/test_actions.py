#!/usr/bin/env python3
"""Integration test: qtriage's bulk actions against a real Postfix queue.

One throwaway instance with ~60 messages.  Every action is checked with
postqueue -j: exactly the named messages changed, nothing else moved.

  hold (IDs as arguments)       -> exactly those in hold
  release (IDs on stdin, "-")   -> back in deferred, queue as before
  expire                        -> forced_expire true for exactly those
  requeue                       -> they leave deferred; after pickup the same
                                   number of new IDs appear (new queue IDs)
  delete (duplicates, already-deleted IDs)
                                -> exactly those gone, "gone: ID" lines for the
                                   already-deleted ones, defer logs removed
  deliver ID                    -> exit 0, a new delivery attempt in the maillog
  invalid ID "abc;rm"           -> exit 2, queue untouched (argv and stdin)

Summary line contract checked: "<action>: N acted on, M already gone" where N
and M count distinct IDs (", 0 already gone" may be omitted), followed by one
"gone: ID" line per gone ID.
Exit: 0 ok, 1 failures, 77 when $QTRIAGE is missing (Postfix side still checked).
"""

import os
import re
import sys
import time

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qtlib  # noqa: E402
from qtlib import log  # noqa: E402

N = int(os.environ.get("QTRIAGE_ACTIONS_N", "60"))
# ", 0 already gone" may be left out when nothing was gone
SUMMARY_RE = re.compile(r"^(\w+): (\d+) acted on(?:, (\d+) already gone)?$")


def snapshot(tb):
    return {m["queue_id"]: (m["queue_name"], m["forced_expire"]) for m in tb.postqueue_j()}


def diff(before, after):
    """Human-readable differences between two snapshots."""
    out = []
    for i in sorted(set(before) | set(after)):
        if before.get(i) != after.get(i):
            out.append("%s: %s -> %s" % (i, before.get(i), after.get(i)))
    return out


def parse_output(p):
    lines = p.stdout.decode("utf-8", "replace").splitlines()
    m = SUMMARY_RE.match(lines[0]) if lines else None
    gone = [l[len("gone: "):].strip() for l in lines[1:] if l.startswith("gone: ")]
    return m, gone, lines


def act(c, tb, action, ids, expect_acted, expect_gone=(), stdin=False, extra_args=()):
    """Run a qtriage action and check exit status and summary output."""
    if stdin:
        p = qtlib.qtriage([action, "-c", tb.etc] + list(extra_args) + ["-"],
                          input=("\n".join(ids) + "\n").encode())
    else:
        p = qtlib.qtriage([action, "-c", tb.etc] + list(extra_args) + list(ids))
    how = "%s (%d IDs%s)" % (action, len(ids), ", stdin" if stdin else "")
    err = p.stderr.decode("utf-8", "replace")
    c.eq(p.returncode, 0, "%s exits 0 (stderr: %s)" % (how, err.strip()[:300]))
    m, gone, lines = parse_output(p)
    if c.check(m is not None, "%s prints the summary line" % how, lines[:3]):
        c.eq((m.group(1), int(m.group(2)), int(m.group(3) or 0)),
             (action, expect_acted, len(expect_gone)), "%s summary counts" % how)
        if expect_gone:
            c.check(m.group(3) is not None, "%s summary says how many were gone" % how, lines[0])
    c.eq(sorted(gone), sorted(expect_gone), "%s lists the gone IDs" % how)
    return p


def expect_state(c, tb, before, changes, what, removed=()):
    """postqueue -j must equal `before` updated with `changes`, minus `removed`."""
    want = dict(before)
    want.update(changes)
    for i in removed:
        want.pop(i, None)
    got = snapshot(tb)
    c.check(got == want, "%s: queue is exactly as expected" % what, diff(want, got)[:20])
    return got


def body(c):
    with qtlib.Testbed("act") as tb:
        tb.inject(N)
        tb.settle()
        s0 = snapshot(tb)
        deferred = sorted(i for i, (q, _e) in s0.items() if q == "deferred")
        held = sorted(i for i, (q, _e) in s0.items() if q == "hold")
        c.eq(len(s0), N, "all %d messages queued" % N)
        c.check(len(deferred) >= 40, "enough deferred mail for the test (%d)" % len(deferred))
        c.check(len(held) >= 1, "some held mail (%d)" % len(held))

        if not qtlib.have_qtriage():
            c.skip("qtriage action checks: %s not found" % qtlib.qtriage_path())
            return

        # --- invalid IDs are refused before anything runs
        victim = deferred[0]
        p = qtlib.qtriage(["hold", "-c", tb.etc, victim, "abc;rm"])
        c.eq(p.returncode, 2, "hold with invalid ID 'abc;rm' exits 2")
        c.check(p.stderr.strip() != b"", "invalid ID: error message on stderr")
        expect_state(c, tb, s0, {}, "after invalid-ID hold (argv)")
        p = qtlib.qtriage(["delete", "-c", tb.etc, "-"], input=("%s\nabc;rm\n" % victim).encode())
        c.check(p.returncode != 0, "delete with invalid ID on stdin fails (exit %d)" % p.returncode)
        expect_state(c, tb, s0, {}, "after invalid-ID delete (stdin)")
        for bad in ("../../etc", "-d", "ABC DEF", "x\ny"):
            p = qtlib.qtriage(["delete", "-c", tb.etc, victim, bad])
            c.eq(p.returncode, 2, "delete with invalid ID %r exits 2" % bad)
        expect_state(c, tb, s0, {}, "after more invalid-ID deletes")

        # --- hold a subset (IDs as arguments)
        s_hold = deferred[0:8]
        act(c, tb, "hold", s_hold, 8)
        s1 = expect_state(c, tb, s0, {i: ("hold", False) for i in s_hold}, "after hold")

        # --- release them (IDs on stdin)
        act(c, tb, "release", s_hold, 8, stdin=True)
        expect_state(c, tb, s1, {i: ("deferred", False) for i in s_hold}, "after release")
        s2 = snapshot(tb)
        c.check(s2 == s0, "after hold+release the queue equals the start", diff(s0, s2)[:10])

        # --- expire
        s_exp = deferred[8:14]
        act(c, tb, "expire", s_exp, 6)
        s3 = expect_state(c, tb, s2, {i: ("deferred", True) for i in s_exp}, "after expire")

        # --- requeue: new queue IDs after pickup, same count
        s_rq = deferred[14:20]
        act(c, tb, "requeue", s_rq, 6)
        tb.settle()
        s4 = snapshot(tb)
        c.eq(sorted(set(s_rq) & set(s4)), [], "requeued IDs left the queue under their old IDs")
        new = sorted(set(s4) - set(s3))
        c.eq(len(new), len(s_rq), "requeue: as many new IDs as requeued messages")
        c.eq(sorted(set(s4[i][0] for i in new)), ["deferred"], "requeued mail settled into deferred")
        rest = {i: v for i, v in s4.items() if i not in new}
        want = {i: v for i, v in s3.items() if i not in s_rq}
        c.check(rest == want, "requeue touched nothing else", diff(want, rest)[:10])

        # --- delete, with duplicates and already-deleted IDs
        s_del = deferred[20:28]
        act(c, tb, "delete", s_del[:5], 5)
        s5 = expect_state(c, tb, s4, {}, "after delete #1", removed=s_del[:5])
        args = s_del[5:] + s_del[5:7] + s_del[:3]
        act(c, tb, "delete", args, 3, expect_gone=s_del[:3])
        s6 = expect_state(c, tb, s5, {}, "after delete #2", removed=s_del[5:])
        leftovers = [i for i in s_del if tb.queue_file(i)]
        c.eq(leftovers, [], "deleted queue files are gone")
        deflogs = [i for i in s_del if any(i in files for _r, _d, files in
                                           os.walk(os.path.join(tb.spool, "defer")))]
        c.eq(deflogs, [], "defer logs of deleted messages are gone")

        # --- acting on IDs that do not exist (valid syntax)
        act(c, tb, "hold", [s_del[0], "ABCDEF12345"], 0, expect_gone=[s_del[0], "ABCDEF12345"])
        expect_state(c, tb, s6, {}, "after hold of gone IDs")

        # --- deliver (postqueue -i): a new delivery attempt, mail defers again
        d1 = deferred[30]
        before_lines = sum(1 for l in open(tb.maillog, errors="replace") if "%s: to=<" % d1 in l)
        p = qtlib.qtriage(["deliver", "-c", tb.etc, d1])
        c.eq(p.returncode, 0, "deliver %s exits 0 (stderr: %s)" % (d1, p.stderr.decode(errors="replace")[:300]))
        deadline = time.monotonic() + 30
        after_lines = before_lines
        while time.monotonic() < deadline:
            after_lines = sum(1 for l in open(tb.maillog, errors="replace") if "%s: to=<" % d1 in l)
            if after_lines > before_lines:
                break
            time.sleep(0.3)
        c.check(after_lines > before_lines, "deliver caused a new delivery attempt of %s" % d1)
        tb.settle()
        s7 = snapshot(tb)
        c.eq(s7.get(d1), ("deferred", False), "delivered message deferred again under its ID")
        c.check({i: v for i, v in s7.items()} == s6, "deliver touched nothing else", diff(s6, s7)[:10])

        # --- stdin with many IDs: hold all remaining deferred, then release
        rest_def = sorted(i for i, (q, e) in s7.items() if q == "deferred" and not e)
        act(c, tb, "hold", rest_def, len(rest_def), stdin=True)
        s8 = expect_state(c, tb, s7, {i: ("hold", False) for i in rest_def}, "after bulk hold via stdin")
        act(c, tb, "release", rest_def, len(rest_def), stdin=True)
        expect_state(c, tb, s8, {i: ("deferred", False) for i in rest_def}, "after bulk release via stdin")
        log("actions done; final queue: %s" % tb.counts())


if __name__ == "__main__":
    qtlib.run_main("test_actions", body)
