#!/usr/bin/env python3
"""Integration test: qtriage against a queue that Postfix is busy changing.

One throwaway instance whose master runs and really moves mail while qtriage
reads the spool.  For QTRIAGE_RACES_SECONDS (default 25) these run at once:

  * corpus injection with the test bed's tools (`testbed.sh inject-corpus`,
    batches of 20: most mail defers, some recipients @discard.example are
    delivered at once, some messages go to hold)
  * a stream of messages only for @discard.example: delivered and removed
    within moments of arriving (files appear and vanish)
  * `postqueue -f` every 1.5 s: qmgr moves all of deferred to active, tries,
    and moves it back (files change queue under qtriage's feet)
  * `postsuper -d` of a few messages from one "doomed" sender every 2 s
  * `qtriage hold` (and `release`) of deferred mail listed moments before

and, in a loop, `qtriage list --json`.  Checked:

  * every listing exits 0 with nothing on stderr (vanishing and moving files
    are normal churn, not errors), prints valid JSON, lists no ID twice and no
    message as unreadable (Postfix exposes only finished files: mode 0700)
  * every action during the churn exits 0; every ID it was given is either
    acted on (on hold afterwards) or reported "gone:" (and really gone)
  * once the churn has settled: qtriage's listing equals postqueue -j (same
    IDs, queues, senders, recipients)
  * actions on IDs that have just been delivered or deleted report them as
    gone, not as failures: exit 0, "ACTION: N acted on, M already gone" and a
    "gone: ID" line each (src/cli/act.c), alone and mixed with live IDs, for
    hold, delete (IDs on stdin) and deliver

Exit: 0 ok, 1 failures, 77 when $QTRIAGE is missing (Postfix side still checked).
"""

import json
import os
import random
import re
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "testbed"))
import corpus  # noqa: E402
import qtlib  # noqa: E402
from qtlib import log  # noqa: E402

SECONDS = float(os.environ.get("QTRIAGE_RACES_SECONDS", "25"))
DOOMED = "doomed@racer.example"
SUMMARY_RE = re.compile(r"^(\w+): (\d+) acted on(?:, (\d+) already gone)?"
                        r"(?:, (\d+) not applicable)?(?: \(.*\))?$")


class Churn:
    """Background threads that keep Postfix busy until stop()."""

    def __init__(self, tb):
        self.tb = tb
        self.stop_ev = threading.Event()
        self.errors = []
        self.deleted = set()
        self.counts = {"corpus": 0, "discard": 0, "doomed": 0, "flush": 0, "deleted": 0}
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._guard, args=(f,), daemon=True)
                        for f in (self._corpus, self._discard, self._flush, self._delete)]

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(120)

    def _guard(self, fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            with self.lock:
                self.errors.append("%s: %r" % (fn.__name__, e))

    def _corpus(self):
        while not self.stop_ev.is_set():
            qtlib.sh([qtlib.TESTBED, "inject-corpus", self.tb.dir, "20"], timeout=300)
            self.counts["corpus"] += 20

    def _discard(self):
        rng = random.Random(7)
        n = 0
        while not self.stop_ev.is_set():
            n += 1
            if n % 4 == 0:
                # deferred mail of one sender, for the deleter
                rcpts = ["victim%d@mail.example" % n]
                sender, what = DOOMED, "doomed"
            else:
                rcpts = ["r%d-%d@discard.example" % (n, k) for k in range(rng.randrange(1, 4))]
                sender, what = "churn@racer.example", "discard"
            data = ("From: <%s>\nTo: <%s>\nSubject: churn %d\n\nbody %d\n"
                    % (sender, rcpts[0], n, n)).encode()
            corpus.inject_one(self.tb.etc, sender, rcpts, data)
            self.counts[what] += 1
            time.sleep(0.02)

    def _flush(self):
        while not self.stop_ev.wait(1.5):
            qtlib.sh(["postqueue", "-c", self.tb.etc, "-f"], check=False)
            self.counts["flush"] += 1

    def _delete(self):
        while not self.stop_ev.wait(2.0):
            ids = [m["queue_id"] for m in self.tb.postqueue_j() if m["sender"] == DOOMED]
            ids = ids[:3]
            if not ids:
                continue
            qtlib.sh(["postsuper", "-c", self.tb.etc, "-d", "-"],
                     input=("\n".join(ids) + "\n").encode(), check=False)
            with self.lock:
                self.deleted.update(ids)
            self.counts["deleted"] += len(ids)


def parse_action(p):
    lines = p.stdout.decode("utf-8", "replace").splitlines()
    m = SUMMARY_RE.match(lines[0]) if lines else None
    gone = [l[len("gone: "):] for l in lines[1:] if l.startswith("gone: ")]
    na = [l[len("not applicable: "):] for l in lines[1:] if l.startswith("not applicable: ")]
    return m, gone, na, lines


def listing(c, tb, stats):
    """One qtriage list --json during the churn, with its checks."""
    p = qtlib.qtriage(["list", "-c", tb.etc, "--json"])
    err = p.stderr.decode("utf-8", "replace")
    stats["runs"] += 1
    ok = c.eq(p.returncode, 0, "list during churn exits 0 (run %d)" % stats["runs"])
    ok &= c.check(err == "", "list during churn: nothing on stderr (run %d)" % stats["runs"], err[:1000])
    msgs, bad = [], []
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        try:
            msgs.append(json.loads(line))
        except ValueError:
            bad.append(line[:200])
    ok &= c.eq(bad[:3], [], "list during churn: valid JSON lines")
    ids = [m["queue_id"] for m in msgs]
    dups = sorted(i for i in set(ids) if ids.count(i) > 1)
    ok &= c.eq(dups, [], "list during churn: no ID listed twice (run %d)" % stats["runs"])
    unread = [(m["queue_id"], m["queue_name"], m.get("unreadable")) for m in msgs if "unreadable" in m]
    ok &= c.eq(unread[:5], [], "list during churn: no unreadable message (run %d)" % stats["runs"])
    if not ok:
        stats["bad_runs"] += 1
    for m in msgs:
        stats["queues"][m["queue_name"]] = stats["queues"].get(m["queue_name"], 0) + 1
    stats["max"] = max(stats["max"], len(msgs))
    return msgs


GONE_SENDER = "gone@racer.example"


def make_gone_ids(c, tb):
    """Twelve IDs that are certainly gone: six deferred messages deleted with
    postsuper -d, six requeued with postsuper -r (they come back under new
    IDs).  Returns the twelve old IDs."""
    for n in range(12):
        data = ("From: <%s>\nTo: <v%d@mail.example>\nSubject: gone %d\n\nbody\n"
                % (GONE_SENDER, n, n)).encode()
        corpus.inject_one(tb.etc, GONE_SENDER, ["v%d@mail.example" % n], data)
    tb.settle()
    ids = sorted(m["queue_id"] for m in tb.postqueue_j() if m["sender"] == GONE_SENDER)
    c.eq(len(ids), 12, "twelve messages to make gone are queued")
    for flag, part in (("-d", ids[:6]), ("-r", ids[6:])):
        qtlib.sh(["postsuper", "-c", tb.etc, flag, "-"], input=("\n".join(part) + "\n").encode())
    tb.settle()
    left = sorted(set(ids) & set(m["queue_id"] for m in tb.postqueue_j()))
    c.eq(left, [], "the deleted and requeued IDs are gone")
    return ids


def hold_during_churn(c, tb, msgs, churn, held, stats):
    """Hold a few deferred messages while they may be moving; check the report."""
    cand = [m["queue_id"] for m in msgs if m["queue_name"] in ("deferred", "active")
            and m["sender"] != DOOMED and m["queue_id"] not in held]
    if len(cand) < 3:
        return
    ids = random.Random(len(cand)).sample(cand, 3)
    p = qtlib.qtriage(["hold", "-c", tb.etc] + ids)
    err = p.stderr.decode("utf-8", "replace")
    m, gone, na, lines = parse_action(p)
    c.eq(p.returncode, 0, "hold during churn exits 0 (stderr: %s, out: %s)" % (err[:300], lines[:3]))
    if c.check(m is not None, "hold during churn prints the summary line", lines[:3]):
        acted = int(m.group(2))
        c.check(acted + len(gone) + len(na) == len(ids),
                "hold during churn: every ID acted on, gone or not applicable", lines)
    c.eq(na, [], "hold during churn: no ID 'not applicable' (all were deferred or active)")
    stats["held_gone"] += len(gone)
    held.update(i for i in ids if i not in gone)
    stats["gone_reported"].update(gone)


def body(c):
    with qtlib.Testbed("races") as tb:
        tb.inject(40)
        tb.settle()
        if not qtlib.have_qtriage():
            c.skip("qtriage checks: %s not found" % qtlib.qtriage_path())
            return
        churn = Churn(tb)
        stats = {"runs": 0, "bad_runs": 0, "queues": {}, "max": 0, "held_gone": 0,
                 "gone_reported": set()}
        seen = set()
        held = set()
        churn.start()
        # The churn runs SECONDS, and on a busy machine on until it has done
        # what the checks below ask of it (its pace is the machine's).
        def enough():
            return (stats["runs"] >= 5 and churn.counts["flush"] >= 3 and
                    churn.counts["deleted"] >= 1 and churn.counts["discard"] >= 20)
        t_min = time.monotonic() + SECONDS
        t_max = t_min + 10 * SECONDS
        n = 0
        try:
            while time.monotonic() < t_max and (time.monotonic() < t_min or not enough()):
                msgs = listing(c, tb, stats)
                seen.update(m["queue_id"] for m in msgs)
                n += 1
                if n % 3 == 0:
                    hold_during_churn(c, tb, msgs, churn, held, stats)
        finally:
            churn.stop()
        c.eq(churn.errors, [], "churn threads ran without errors")
        log("churn: %s; %d listings (%d with problems), up to %d messages, queue names seen %s; "
            "%d held during churn, %d reported gone"
            % (churn.counts, stats["runs"], stats["bad_runs"], stats["max"], stats["queues"],
               len(held), stats["held_gone"]))
        c.check(stats["runs"] >= 5, "at least 5 listings during the churn (%d)" % stats["runs"])
        c.check(churn.counts["flush"] >= 3 and churn.counts["deleted"] >= 1
                and churn.counts["discard"] >= 20,
                "the churn really happened: %s" % churn.counts)
        c.check(sum(v for k, v in stats["queues"].items() if k != "deferred") > 0,
                "listings caught mail outside deferred (active/incoming/hold)", stats["queues"])

        # --- after the churn: qtriage converges to postqueue -j
        tb.settle()
        time.sleep(1)
        tb.settle()
        pq = qtlib.by_id(tb.postqueue_j())
        ql, p = qtlib.qtriage_list(tb.etc, c=c)
        c.eq(p.stderr.decode(errors="replace"), "", "settled list: nothing on stderr")
        qb = qtlib.by_id(ql)
        c.eq(sorted(set(qb) ^ set(pq))[:20], [], "settled: qtriage lists the IDs postqueue -j lists")
        diffs = []
        for i in sorted(set(qb) & set(pq)):
            a, b = qb[i], pq[i]
            if a["queue_name"] != b["queue_name"] or a["sender"] != b["sender"] or \
                    [r["address"] for r in a["recipients"]] != [r["address"] for r in b["recipients"]]:
                diffs.append((i, a["queue_name"], b["queue_name"], a["sender"], b["sender"]))
        c.eq(diffs[:10], [], "settled: same queue, sender and recipients as postqueue -j")

        # what the actions during the churn did
        c.eq(sorted(i for i in held if i in pq and pq[i]["queue_name"] != "hold"), [],
             "every message held during the churn (not reported gone) is on hold")
        c.eq(sorted(i for i in stats["gone_reported"] if i in pq), [],
             "every message reported gone during the churn is really gone")
        c.eq(sorted(i for i in held if i not in pq and i not in churn.deleted), [],
             "no message held during the churn disappeared")

        # --- actions on IDs that are gone: made so on purpose, not taken
        # from whatever the churn left (its outcome differs every run).
        gone = sorted(seen - set(pq))
        log("%d IDs seen during the churn are gone now (%d deleted by the churn)"
            % (len(gone), len(churn.deleted - set(pq))))
        sample = make_gone_ids(c, tb)
        pq = qtlib.by_id(tb.postqueue_j())
        before = {i: m["queue_name"] for i, m in pq.items()}

        p = qtlib.qtriage(["hold", "-c", tb.etc] + sample)
        m, g, na, lines = parse_action(p)
        c.eq(p.returncode, 0, "hold of delivered/deleted IDs exits 0 (stderr: %s)"
             % p.stderr.decode(errors="replace")[:300])
        c.eq(p.stderr.decode(errors="replace"), "", "hold of gone IDs: nothing on stderr")
        c.check(m is not None and int(m.group(2)) == 0 and int(m.group(3) or 0) == len(sample),
                "hold of gone IDs: 'hold: 0 acted on, %d already gone'" % len(sample), lines[:1])
        c.eq(sorted(g), sorted(sample), "hold of gone IDs: a 'gone:' line for each")

        live = sorted(i for i, q in before.items() if q == "deferred"
                      and pq[i]["sender"] != DOOMED)[:4]
        mixed = sample[:6] + live
        p = qtlib.qtriage(["hold", "-c", tb.etc] + mixed)
        m, g, na, lines = parse_action(p)
        c.eq(p.returncode, 0, "hold of gone + live IDs exits 0")
        c.check(m is not None and (int(m.group(2)), int(m.group(3) or 0)) == (len(live), 6),
                "hold of gone + live IDs: '%d acted on, 6 already gone'" % len(live), lines[:1])
        c.eq(sorted(g), sorted(sample[:6]), "hold of gone + live IDs: gone lines name the gone ones")
        after = {m["queue_id"]: m["queue_name"] for m in tb.postqueue_j()}
        want = dict(before)
        want.update({i: "hold" for i in live})
        c.eq(after, want, "hold of gone + live IDs: exactly the live ones held, nothing else moved")
        p = qtlib.qtriage(["release", "-c", tb.etc] + live + sample[:2])
        m, g, na, lines = parse_action(p)
        c.eq(p.returncode, 0, "release of live + gone IDs exits 0")
        c.eq(sorted(g), sorted(sample[:2]), "release: gone lines for the gone IDs")

        p = qtlib.qtriage(["delete", "-c", tb.etc, "-"], input=("\n".join(sample) + "\n").encode())
        m, g, na, lines = parse_action(p)
        c.eq(p.returncode, 0, "delete (stdin) of gone IDs exits 0 (stderr: %s)"
             % p.stderr.decode(errors="replace")[:300])
        c.eq(sorted(g), sorted(sample), "delete of gone IDs: a 'gone:' line for each")
        p = qtlib.qtriage(["deliver", "-c", tb.etc] + sample[:3])
        m, g, na, lines = parse_action(p)
        c.eq(p.returncode, 0, "deliver of gone IDs exits 0 (stderr: %s)"
             % p.stderr.decode(errors="replace")[:300])
        c.eq(sorted(g), sorted(sample[:3]), "deliver of gone IDs: a 'gone:' line for each")
        tb.settle()
        final = {m["queue_id"]: m["queue_name"] for m in tb.postqueue_j()}
        c.eq(final, before, "after acting on gone IDs (and hold + release) the queue is as before")


if __name__ == "__main__":
    qtlib.run_main("test_races", body)
