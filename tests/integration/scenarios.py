"""The flood-triage scenarios, shared by the CLI test (test_scenarios.py) and
the TUI test (tests/tui/test_tui_scenarios.py).

One real test bed (smtpd with XCLIENT, so the hijacked account's mail carries
sasl_username) is filled with the corpus in two waves some seconds apart,
plus mail addressed TO the flooder, two messages over 5 MB and a few
bounces.  Each scenario then says which messages it must touch, computed
here from Postfix's own view (postqueue -j, postcat) and never from qtriage,
and a driver (CLI line or TUI keys) does it; `verify` checks that exactly
those messages moved or went, and nothing else.
"""

import json
import os
import re
import subprocess
import time

import qtlib
from qtlib import log

FLOODER = "promo@bulk-deals.example"
VENDOR = "support@vendor.example"
BIG = 6 * 1024 * 1024
EXPORT_BIG = 4 * 1024 * 1024 + 512 * 1024
WAVE_GAP = 25       # seconds between the two waves: "old" and "new" mail


def sendmail(tb, sender, rcpts, data):
    p = subprocess.run(["/usr/sbin/sendmail", "-C", tb.etc, "-i", "-f", sender, "--"] + rcpts,
                       input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if p.returncode != 0:
        raise RuntimeError("sendmail failed: %s" % p.stderr.decode(errors="replace"))


def build_bed(tb, n1=220, n2=60):
    """Fill the test bed; returns the time between the waves (epoch seconds)."""
    tb.inject(n1)
    # Mail addressed TO the flooder, from a legitimate sender: must survive
    # "delete everything from the flooder".
    for i in range(3):
        sendmail(tb, "alice@corp.example", [FLOODER],
                 b"From: alice@corp.example\nTo: %s\nSubject: unsubscribe me %d\n\nstop it\n"
                 % (FLOODER.encode(), i))
    # Two messages over 5 MB (and one just under, which must stay).
    for size in (BIG, BIG + 12345, 5 * 1024 * 1024 - 200 * 1024):
        body = (b"x" * 76 + b"\n") * (size // 77)
        sendmail(tb, VENDOR, ["big@mail.example"],
                 b"From: %s\nSubject: big attachment %d\n\n" % (VENDOR.encode(), size) + body)
    tb.settle()
    cut = time.time() + WAVE_GAP / 2
    time.sleep(WAVE_GAP)
    tb.inject(n2)
    tb.settle()
    return cut


def snapshot(tb):
    """{queue_id: postqueue -j object}"""
    return {m["queue_id"]: m for m in tb.postqueue_j()}


def sasl_of(tb, ids):
    """{queue_id: sasl_username or None}, read with postcat -e (Postfix's view)."""
    out = {}
    for qid in ids:
        p = subprocess.run(["postcat", "-c", tb.etc, "-e", "-q", qid], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, timeout=60)
        m = re.search(rb"sasl_username=([^\n]*)", p.stdout)
        out[qid] = m.group(1).decode(errors="replace") if m else None
    return out


LIVE = ("incoming", "active", "deferred")   # where a released/requeued message may be


def same_place(a, b):
    return a == b or (a in LIVE and b in LIVE)


def verify(c, label, before, after, removed=(), moved=None):
    """Exactly `removed` are gone; `moved` ({id: queue or 'live'}) are there;
    every other message is still where it was."""
    removed = set(removed)
    moved = moved or {}
    gone_wrong = [i for i in before if i not in removed and i not in after]
    still = [i for i in removed if i in after]
    c.eq(len(still), 0, "[%s] every targeted message is gone (%d of %d left)"
         % (label, len(still), len(removed)))
    c.eq(gone_wrong, [], "[%s] no other message was deleted" % label)
    bad_move = []
    for qid, want in moved.items():
        got = after.get(qid, {}).get("queue_name")
        if not (got == want or (want == "live" and got in LIVE)):
            bad_move.append((qid, got, want))
    c.eq(bad_move, [], "[%s] every targeted message moved (%d)" % (label, len(moved)))
    others = [(i, before[i]["queue_name"], after[i]["queue_name"]) for i in before
              if i in after and i not in moved and i not in removed
              and not same_place(before[i]["queue_name"], after[i]["queue_name"])]
    c.eq(others, [], "[%s] no other message changed queue" % label)


# ---------------------------------------------------------------- scenarios
#
# Each: name, the filter expression a person would type, the action, and
# what it must do given a snapshot (before) -> (removed ids, moved {id: q}).

def s_flooder(tb, before, ctx):
    removed = {i for i, m in before.items() if m["sender"] == FLOODER}
    to_flooder = {i for i, m in before.items()
                  if any(r["address"] == FLOODER for r in m["recipients"])}
    ctx["to_flooder"] = to_flooder
    return removed, {}


def s_big(tb, before, ctx):
    return {i for i, m in before.items() if m["message_size"] > 5 * 1024 * 1024}, {}


def s_old_deferred(tb, before, ctx):
    return {i for i, m in before.items()
            if m["queue_name"] == "deferred" and m["arrival_time"] < ctx["cut"]}, {}


def s_bounces(tb, before, ctx):
    return set(), {i: "hold" for i, m in before.items() if m["sender"] == "MAILER-DAEMON"}


def s_sasl(tb, before, ctx):
    sasl = sasl_of(tb, before)
    counts = {}
    for u in sasl.values():
        if u:
            counts[u] = counts.get(u, 0) + 1
    top = max(counts, key=lambda u: counts[u]) if counts else None
    ctx["top_sasl"] = top
    log("sasl users: %s; top %s" % (counts, top))
    return set(), {i: "hold" for i, u in sasl.items() if u == top}


def s_release(tb, before, ctx):
    return set(), {i: "live" for i, m in before.items() if m["queue_name"] == "hold"}


def prepare_export(tb):
    """Mail from the vendor for the export scenario, made fresh: the earlier
    scenarios may have deleted all of it (old, big).  One is 4.5 MB, so the
    backup of a large message is checked whole."""
    for i, size in enumerate((EXPORT_BIG, 3000, 1200)):
        body = (b"y" * 76 + b"\n") * (size // 77)
        sendmail(tb, VENDOR, ["orders%d@mail.example" % i],
                 b"From: %s\nSubject: invoice %d for export\n\n" % (VENDOR.encode(), i) + body)
    tb.settle()


def s_export_delete(tb, before, ctx):
    return {i for i, m in before.items() if m["sender"] == VENDOR}, {}


SCENARIOS = [
    # name, filter, action, expectation
    ("delete everything from the flooder", "sender=%s" % FLOODER, "delete", s_flooder),
    ("delete messages over 5 MB", "size>5M", "delete", s_big),
    ("delete old deferred mail", None, "delete", s_old_deferred),   # filter made at run time
    ("hold all MAILER-DAEMON bounces", "sender=<>", "hold", s_bounces),
    ("hold the top sasl user's mail", None, "hold", s_sasl),        # through the statistics
    ("release the whole hold queue", "queue=hold", "release", s_release),
]


def old_filter(ctx):
    """'deferred mail older than the first wave's end': age in seconds now."""
    return "queue=deferred age>%ds" % int(time.time() - ctx["cut"])


def check_requeue(c, tb, before, ids, started):
    """postsuper -r re-submits through pickup, which gives each message a
    new queue ID: the old IDs go, postsuper logs "requeued" for each, and
    once pickup has run the queue holds as many messages as before."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        now = snapshot(tb)
        if not (set(ids) & set(now)) and len(now) == len(before):
            break
        time.sleep(1)
    now = snapshot(tb)
    c.eq(sorted(set(ids) & set(now)), [], "[requeue] the old queue IDs are gone")
    c.eq(len(now), len(before), "[requeue] nothing lost: as many messages as before")
    with open(tb.maillog, errors="replace") as f:
        logged = {m.group(1) for m in re.finditer(r"postsuper\[\d+\]: (\w+): requeued", f.read())}
    c.eq(sorted(set(ids) - logged), [], "[requeue] postsuper logged each requeue")
    # Requeued mail goes through cleanup again, header_checks included: the
    # test bed's HOLD rule puts its X-Testbed-Hold messages back on hold.
    log("[requeue] after requeue: %d on hold again (header_checks HOLD)"
        % sum(1 for m in now.values() if m["queue_name"] == "hold"))


def check_backup(c, backup_dir, removed, before):
    files = sorted(os.listdir(backup_dir)) if os.path.isdir(backup_dir) else []
    emls = [f for f in files if f.endswith(".eml")]
    c.eq(len(emls), len(removed), "[export] one .eml per deleted message in the backup dir")
    c.eq(oct(os.stat(backup_dir).st_mode & 0o777) if os.path.isdir(backup_dir) else None,
         "0o700", "[export] backup dir mode")
    found = set()
    for f in emls:
        with open(os.path.join(backup_dir, f), "rb") as fh:
            data = fh.read()
        m = re.search(rb"(?im)^X-Qtriage-Queue-ID:\s*(\w+)", data)
        if m:
            found.add(m.group(1).decode())
        c.check(re.search(rb"(?im)^X-Qtriage-Envelope-From:\s*<?%s>?" % re.escape(VENDOR.encode()),
                          data), "[export] %s keeps the envelope sender" % f)
        c.check(b"Subject: big attachment" in data or b"Subject:" in data,
                "[export] %s has the message's headers" % f)
    c.eq(found, set(removed), "[export] the backups are exactly the deleted messages")
    # The 4.5 MB message prepare_export made: every line of its body is there.
    want_lines = EXPORT_BIG // 77
    got = None
    for f in emls:
        with open(os.path.join(backup_dir, f), "rb") as fh:
            data = fh.read()
        if b"Subject: invoice 0 for export" in data:
            got = data.count(b"y" * 76 + b"\n")
    c.eq(got, want_lines, "[export] the whole 4.5 MB message is in its backup (body lines)")


def dump(obj):
    return json.dumps(obj, indent=1, sort_keys=True)[:2000]
