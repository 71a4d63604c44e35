#!/usr/bin/env python3
"""Integration test: standing rules from the command line (hold --follow).

One throwaway instance.  Mail keeps arriving while the rule runs: a thread
injects waves with sendmail, each wave mixing messages the filter matches
(sender domain spam.example) and messages built to come close without
matching (flood@notspam.example, spam.example@good.example, a subject
naming spam.example).  The expected state is computed from postqueue -j
alone, by the sender each message was injected with:

  hold --follow: every matching message ends in hold, no other one does;
    the caught count in the summary equals the matching messages, and the
    IDs printed per catch are exactly the held ones
  SIGINT ends it with the summary; --follow 2s ends by itself
  delete --follow without --backup-dir is refused; without --yes on a pipe
    nothing is done
Exit: 0 ok, 1 failures, 77 when not root.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qtlib  # noqa: E402
from qtlib import log, wait_for  # noqa: E402

FILTER = "sender_domain=spam.example"
MATCH_SENDERS = ["flood@spam.example", "x@spam.example"]
OTHER_SENDERS = ["flood@notspam.example", "spam.example@good.example", "ok@good.example"]
WAVES = 4
PER_WAVE = 6        # of each kind


def inject(tb, sender, n, subject="hello"):
    for i in range(n):
        tb.sendmail(sender, ["rcpt%d@dest.example" % i],
                    ("From: <%s>\nTo: <rcpt%d@dest.example>\nSubject: %s %d\n\nbody %d\n"
                     % (sender, i, subject, i, i)).encode())


def wave(tb, k):
    for s in MATCH_SENDERS:
        inject(tb, s, PER_WAVE // len(MATCH_SENDERS), "wave %d" % k)
    for s in OTHER_SENDERS:
        inject(tb, s, PER_WAVE // len(OTHER_SENDERS), "spam.example wave %d" % k)


def split(tb):
    return tb.split_by_sender_domain("spam.example")


def body(c):
    with qtlib.Testbed("rules") as tb:
        wave(tb, 0)
        tb.settle()
        match0, other0 = split(tb)
        c.eq(len(match0), PER_WAVE, "first wave: matching mail queued")

        # A pipe is no terminal: nothing without --yes.
        p = qtlib.qtriage(["hold", "-c", tb.etc, "--filter", FILTER, "--follow", "1m"])
        c.eq(p.returncode, 2, "hold --follow without --yes on a pipe exits 2")
        c.eq(split(tb)[0], match0, "nothing held without --yes")
        p = qtlib.qtriage(["delete", "-c", tb.etc, "--filter", FILTER, "--follow", "1m",
                           "--yes"])
        c.eq(p.returncode, 2, "delete --follow without --backup-dir exits 2")
        c.check(b"backup-dir" in p.stderr, "and says it needs --backup-dir", p.stderr[:300])

        # The rule, while waves arrive.
        t0 = time.monotonic()
        proc = subprocess.Popen([qtlib.qtriage_path(), "hold", "-c", tb.etc, "--filter", FILTER,
                                 "--follow", "2m", "--yes"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out_lines = []
        reader = threading.Thread(target=lambda: out_lines.extend(
            l.decode("utf-8", "replace").rstrip("\n") for l in proc.stdout))
        reader.start()
        wait_for("the first wave held",
                 lambda: all(q == "hold" for q in split(tb)[0].values()))
        injected = PER_WAVE
        for k in range(1, WAVES + 1):
            wave(tb, k)
            injected += PER_WAVE
            # The next wave comes once this one is in the queue: arrivals
            # keep overlapping the rule's rescans either way.
            wait_for("wave %d queued" % k, lambda: len(split(tb)[0]) >= injected)
        wait_for("every matching message held",
                 lambda: (lambda m: len(m) == injected and all(q == "hold" for q in m.values()))(
                     split(tb)[0]), timeout=60)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            c.check(False, "hold --follow ends on SIGINT")
        reader.join()
        err = proc.stderr.read().decode("utf-8", "replace")
        log("follow ran %.1f s" % (time.monotonic() - t0))
        c.eq(proc.returncode, 0, "hold --follow exits 0 (stderr: %s)" % err[:300])
        match, other = split(tb)
        c.eq(len(match), injected, "all %d matching messages queued" % injected)
        c.eq(sorted(i for i, q in match.items() if q != "hold"), [],
             "every matching message is held")
        c.eq(sorted(i for i, q in other.items() if q == "hold"), [],
             "no message outside the filter is held")
        c.eq(len(other), WAVES * PER_WAVE + len(other0), "the other mail is all still queued")
        caught = set()
        catch_re = re.compile(r"^\d\d:\d\d:\d\d held (\d+): (.*)$")
        for l in out_lines:
            m = catch_re.match(l)
            if m:
                ids = m.group(2).split()
                c.eq(len(ids), int(m.group(1)), "a catch line counts its IDs: " + l[:80])
                caught.update(ids)
        c.eq(caught, set(match), "the catch lines name exactly the matching messages")
        c.check(sum(1 for l in out_lines if catch_re.match(l)) >= 2,
                "the catches came in several batches as mail arrived", out_lines[:12])
        summary = [l for l in out_lines if l.startswith("hold --follow:")]
        if c.check(summary, "a summary line", out_lines[-5:]):
            m = re.search(r": (\d+) messages? held by", summary[-1])
            c.check(m and int(m.group(1)) == injected, "the summary counts %d caught" % injected,
                    summary[-1])
            c.check("stopped by a signal" in summary[-1], "the summary says SIGINT stopped it",
                    summary[-1])

        # Expiry: the rule ends by itself.
        t = time.monotonic()
        p = qtlib.qtriage(["hold", "-c", tb.etc, "--filter", FILTER, "--follow", "2s", "--yes"],
                          timeout=60)
        c.eq(p.returncode, 0, "--follow 2s exits 0")
        c.check(time.monotonic() - t < 30, "--follow 2s ends by itself")
        c.check(b"0 messages held" in p.stdout, "with nothing left to catch", p.stdout[-300:])

        # delete --follow: exported first, then deleted; a wave arrives meanwhile.
        bk = os.path.join(tb.dir, "bk")
        os.mkdir(bk, 0o700)
        held = sorted(split(tb)[0])
        proc = subprocess.Popen([qtlib.qtriage_path(), "delete", "-c", tb.etc, "--filter",
                                 FILTER, "--backup-dir", bk, "--follow", "2m", "--yes"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        wait_for("the held ones deleted", lambda: not split(tb)[0])
        others = len(split(tb)[1])
        wave(tb, WAVES + 1)
        wait_for("the new wave queued and deleted",
                 lambda: (lambda m, o: not m and len(o) == others + PER_WAVE)(*split(tb)))
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        c.eq(proc.returncode, 0, "delete --follow exits 0 (%s)" % err[-300:])
        deleted = set()
        for l in out.decode().splitlines():
            m = re.match(r"^\d\d:\d\d:\d\d deleted \d+: (.*)$", l)
            if m:
                deleted.update(m.group(1).split())
        c.check(set(held) <= deleted and len(deleted) == len(held) + PER_WAVE,
                "delete --follow names every deleted message (%d)" % len(deleted))
        c.eq(sorted(os.listdir(bk)), sorted(i + ".eml" for i in deleted),
             "each deleted message was exported first")
        c.eq(sum(1 for q in split(tb)[1].values() if q == "hold"), 0,
             "the rest of the mail is untouched")


if __name__ == "__main__":
    qtlib.run_main("rules", body)
