#!/usr/bin/env python3
"""Integration test: export -> delete -> restore gives the queue back.

One throwaway instance with known messages: exact bytes (a 5000-byte line,
8-bit text, From lines), the null sender, three recipients of which one was
delivered at once (@discard.example: a D record), a held message, and one
whose recipients were all delivered (nothing to restore).

  restore DIR       after export --dir and delete: --dry-run sends nothing
                    and writes no journal; a real run puts back every message
                    with pending recipients: same envelope sender (null
                    included), the pending recipients only, and postcat -bh
                    equal to the original's apart from the one Received:
                    line cleanup adds in front; the new queue IDs printed are
                    the ones postqueue -j shows
  twice             a second restore sends nothing ("already restored")
  restore MBOX      the same from export --mbox, where one message was
                    exported twice (before and after it was held): sent once
  ID, --filter      restore only the given ID / the messages the filter picks
  interrupted       a journal saying "sending" without "sent" and no such
                    message queued: refused without --force, sent with it
Exit: 0 ok, 1 failures, 77 when not root.
"""

import os
import re
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qtlib  # noqa: E402
from qtlib import log  # noqa: E402

EXACT = (b"From: Exact Sender <exact-sender@src.example>\n"
         b"To: exact@dest.example\n"
         b"Subject: exact bytes \xc3\xa9t\xc3\xa9\n"
         b"X-Note: folded\n\tcontinuation\n"
         b"X-Qtriage-Note: a header of the message's own\n"
         b"\n"
         b"From the start of a line\n"
         b">From already quoted\n"
         b"a line of 5000 bytes: " + b"x" * 4978 + b"\n"
         b"trailing blanks   \n"
         b"\n"
         b"last line\n")


def queue(tb):
    return {m["queue_id"]: m for m in tb.postqueue_j()}


def postcat_bh(tb, qid):
    return qtlib.sh(["postcat", "-c", tb.etc, "-bh", "-q", qid]).stdout


def minus_cleanup_received(msg):
    """The message without the first Received: header (and its continuation
    lines): the one thing cleanup adds to a restored message."""
    lines = msg.split(b"\n")
    if not lines[0].startswith(b"Received: "):
        return None
    i = 1
    while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
        i += 1
    return b"\n".join(lines[i:])


def envelope(m):
    return (m["sender"], sorted(r["address"] for r in m["recipients"]))


def restored_ids(out):
    return dict(re.findall(r"(?m)^restored (\w+) as (\w+)", out))


def fnv1a(data):
    h = 0xcbf29ce484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def body(c):
    with qtlib.Testbed("restore") as tb:
        os.chmod(tb.dir, 0o755)
        work = tempfile.mkdtemp(prefix="qtriage-restore-work-", dir="/tmp")
        try:
            run_all(c, tb, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def check_restored(c, tb, out, want, before, what):
    """want: {old ID: (sender, pending rcpts)} of the messages to come back."""
    got = restored_ids(out)
    c.eq(sorted(got), sorted(want), "%s: every message with pending recipients restored" % what)
    q = queue(tb)
    c.eq(sorted(q), sorted(got.values()), "%s: postqueue -j holds exactly the new IDs printed"
         % what)
    for old, new in got.items():
        if new not in q:
            continue
        c.eq(envelope(q[new]), want[old], "%s: %s -> %s: sender and pending recipients" %
             (what, old, new))
        after = postcat_bh(tb, new)
        c.eq(minus_cleanup_received(after), before[old],
             "%s: %s -> %s: postcat -bh equal apart from cleanup's Received:" % (what, old, new))
    return got


def run_all(c, tb, work):
    tb.sendmail("exact-sender@src.example", ["exact@dest.example"], EXACT)
    tb.sendmail("", ["bounce-to@dest.example"], b"Subject: a bounce\n\nnull sender\n")
    tb.sendmail("multi@src.example", ["m1@dest.example", "gone@discard.example",
                                       "m2@dest.example"],
             b"Subject: three recipients\n\none of them delivered\n")
    tb.sendmail("held@src.example", ["h@dest.example"],
             b"X-Testbed-Hold: yes\nSubject: held\n\nheld body\n")
    tb.sendmail("alldone@src.example", ["a@discard.example"], b"Subject: all done\n\nx\n")
    tb.settle()
    q0 = queue(tb)
    c.eq(len(q0), 4, "four messages queued (the all-discard one left at once)")
    if not qtlib.have_qtriage():
        c.skip("qtriage checks: %s not found" % qtlib.qtriage_path())
        return
    by_sender = {m["sender"]: i for i, m in q0.items()}
    c.check("MAILER-DAEMON" in by_sender, "the null-sender message is queued")
    multi = q0[by_sender["multi@src.example"]]
    c.eq(sorted(r["address"] for r in multi["recipients"]), ["m1@dest.example", "m2@dest.example"],
         "the multi-recipient message has one recipient done")
    want = {i: envelope(m) for i, m in q0.items()}
    before = {i: postcat_bh(tb, i) for i in q0}

    d = os.path.join(work, "bk")
    box = os.path.join(work, "bk.mbox")
    p = qtlib.qtriage(["export", "-c", tb.etc, "--dir", d, "--filter", ""])
    c.eq(p.returncode, 0, "export --dir")
    p = qtlib.qtriage(["export", "-c", tb.etc, "--mbox", box, "--filter", ""])
    c.eq(p.returncode, 0, "export --mbox")
    # The same message exported to the mbox again after its queue changed
    # (held): two copies of one queue ID, and only one may come back.
    multi_id = by_sender["multi@src.example"]
    qtlib.qtriage(["hold", "-c", tb.etc, multi_id])
    p = qtlib.qtriage(["export", "-c", tb.etc, "--mbox", box, multi_id])
    c.eq(p.returncode, 0, "export --mbox of a held message appends a second copy")
    qtlib.qtriage(["release", "-c", tb.etc, multi_id])
    c.eq(open(box, "rb").read().count(b"X-Qtriage-Queue-ID: %s\n" % multi_id.encode()), 2,
         "the mbox holds two copies of %s" % multi_id)
    spare = os.path.join(work, "spare")
    shutil.copytree(d, spare)
    p = qtlib.qtriage(["delete", "-c", tb.etc, "--filter", "", "--yes"])
    c.eq(p.returncode, 0, "delete everything")
    c.eq(queue(tb), {}, "the queue is empty")

    # --- dry run
    p = qtlib.qtriage(["restore", "-c", tb.etc, d, "--dry-run"])
    out = p.stdout.decode(errors="replace")
    c.eq(p.returncode, 0, "restore --dry-run exits 0 (%s)" % p.stderr.decode(errors="replace"))
    c.eq(sorted(re.findall(r"(?m)^would restore (\w+)", out)), sorted(q0),
         "--dry-run lists what it would restore")
    c.eq(queue(tb), {}, "--dry-run sent nothing")
    c.eq(sorted(os.listdir(d)), sorted(i + ".eml" for i in q0), "--dry-run wrote no journal")

    # --- restore DIR, then again
    p = qtlib.qtriage(["restore", "-c", tb.etc, d])
    out = p.stdout.decode(errors="replace")
    log(out.strip())
    c.eq(p.returncode, 0, "restore DIR exits 0 (%s)" % p.stderr.decode(errors="replace"))
    got = check_restored(c, tb, out, want, before, "DIR")
    q1 = queue(tb)
    c.eq(q1[got.get(by_sender["held@src.example"], "")]["queue_name"] if got.get(
        by_sender["held@src.example"]) in q1 else None, "hold",
         "the held message is held again (header_checks saw the same headers)")
    p = qtlib.qtriage(["restore", "-c", tb.etc, d])
    out = p.stdout.decode(errors="replace")
    c.eq(p.returncode, 0, "second restore exits 0")
    c.eq(restored_ids(out), {}, "second restore sends nothing")
    c.eq(sorted(re.findall(r"(?m)^already restored: (\w+) as (\w+)", out)), sorted(got.items()),
         "and says each was already restored, with its new ID")
    c.eq(sorted(queue(tb)), sorted(q1), "queue unchanged by the second restore")

    # --- restore MBOX, twice
    qtlib.qtriage(["delete", "-c", tb.etc, "--filter", "", "--yes"])
    c.eq(queue(tb), {}, "the queue is empty again")
    p = qtlib.qtriage(["restore", "-c", tb.etc, box])
    out = p.stdout.decode(errors="replace")
    c.eq(p.returncode, 0, "restore MBOX exits 0 (%s)" % p.stderr.decode(errors="replace"))
    got = check_restored(c, tb, out, want, before, "MBOX")
    c.check(re.search(r"(?m)^skipped %s: an older copy" % multi_id, out),
            "the older copy of %s is skipped" % multi_id, out)
    q2 = queue(tb)
    p = qtlib.qtriage(["restore", "-c", tb.etc, box])
    c.eq(restored_ids(p.stdout.decode(errors="replace")), {}, "second MBOX restore sends nothing")
    c.eq(sorted(queue(tb)), sorted(q2), "queue unchanged by the second MBOX restore")

    # --- one ID; a filter (on a fresh copy of the export: no journal)
    qtlib.qtriage(["delete", "-c", tb.etc, "--filter", "", "--yes"])
    null_id = by_sender["MAILER-DAEMON"]
    p = qtlib.qtriage(["restore", "-c", tb.etc, spare, null_id])
    got = restored_ids(p.stdout.decode(errors="replace"))
    c.eq(sorted(got), [null_id], "restore DIR ID restores that one only")
    c.eq([envelope(m) for m in queue(tb).values()], [want[null_id]],
         "the null sender comes back as the null sender")
    p = qtlib.qtriage(["restore", "-c", tb.etc, spare, "--filter", "sender=multi@src.example"])
    got = restored_ids(p.stdout.decode(errors="replace"))
    c.eq(sorted(got), [by_sender["multi@src.example"]], "--filter sender=... picks that one")
    p = qtlib.qtriage(["restore", "-c", tb.etc, spare, "--filter", "subject:held"])
    c.eq(sorted(restored_ids(p.stdout.decode(errors="replace"))), [by_sender["held@src.example"]],
         "--filter subject:... picks by the decoded Subject")
    c.eq(len(queue(tb)), 3, "three restored so far from the copy")

    # --- an interrupted run: "sending" in the journal, nothing queued
    exact_id = by_sender["exact-sender@src.example"]
    data = open(os.path.join(spare, exact_id + ".eml"), "rb").read()
    key = "%s-%016x" % (exact_id, fnv1a(data))
    with open(os.path.join(spare, ".qtriage-restore.journal"), "a") as f:
        f.write("sending %s qtriage.interrupted.1 %d\n" % (key, int(os.path.getmtime(spare))))
    n = len(queue(tb))
    p = qtlib.qtriage(["restore", "-c", tb.etc, spare, exact_id])
    out = p.stdout.decode(errors="replace")
    c.check(p.returncode != 0 and "interrupted" in out and "--force" in out,
            "an interrupted restore is not sent again on its own", out)
    c.eq(len(queue(tb)), n, "nothing sent")
    p = qtlib.qtriage(["restore", "-c", tb.etc, spare, exact_id, "--force"])
    got = restored_ids(p.stdout.decode(errors="replace"))
    c.eq(sorted(got), [exact_id], "--force sends it")
    q3 = queue(tb)
    if got.get(exact_id) in q3:
        c.eq(minus_cleanup_received(postcat_bh(tb, got[exact_id])), before[exact_id],
             "the exact message comes back byte for byte (postcat -bh)")
    p = qtlib.qtriage(["restore", "-c", tb.etc, spare])
    c.eq(restored_ids(p.stdout.decode(errors="replace")), {},
         "after all that, restoring the copy again sends nothing")
    c.eq(sorted(queue(tb)), sorted(q3), "queue unchanged")


if __name__ == "__main__":
    qtlib.run_main("test_restore", body)
