#!/usr/bin/env python3
"""Standing rules and gentle release in the TUI, on a real test bed while
mail keeps arriving.

  filter the list, K, Enter ("hold 1h"), the confirmation names the filter,
  the action and the expiry, y: what matches is held; waves injected after
  it are held too, mail outside the filter never (postqueue -j); the status
  line counts the catches; W shows the rules pane with the rule and its
  count; p pauses it (a wave meanwhile stays deferred), p resumes it (that
  wave is held), x removes it.
  K on a statistics row makes a rule of the row's group (within the
  list's filter).
  With --confirm-all, H on the held messages asks how to pace; "1/s"
  releases one a second; X on the progress line stops it: what it says it
  released left hold, the rest is still held.
Exit: 0 ok, 1 failure, 77 not root."""

import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tuilib import Tui, log, qtlib  # noqa: E402

FILTER = "sender_domain=spam.example"


def inject(tb, sender, n, tag):
    for i in range(n):
        tb.sendmail(sender, ["r%d@dest.example" % i], ("Subject: %s %d\n\nbody\n" % (tag, i)).encode())


def wave(tb, k, n=3):
    inject(tb, "flood@spam.example", n, "wave %d" % k)
    inject(tb, "flood@notspam.example", n, "spam.example wave %d" % k)


def split(tb):
    return tb.split_by_sender_domain("spam.example")


def all_held(tb, n):
    m, _o = split(tb)
    return len(m) == n and all(q == "hold" for q in m.values())


def body(c):
    with qtlib.Testbed("tui-rules") as tb:
        wave(tb, 0, 4)
        tb.settle()
        with Tui(["-c", tb.etc, "--refresh", "1", "--confirm-all"]) as t:
            c.check(t.wait_loaded(), "the list loads", t.screen())
            t.keys("f")
            t.type(FILTER)
            t.keys("Enter")
            t.keys("K")
            c.check(t.wait_for(r"keep doing on \"%s\"" % FILTER), "K asks what to keep doing",
                    t.screen())
            t.keys("Enter")
            c.check(t.wait_for(r"Rule: hold every message matching \"%s\", now and as it "
                               r"arrives, for 1h00m \(until \d\d:\d\d\)\? \[y/N\]" % FILTER),
                    "the confirmation shows filter, action and expiry", t.screen())
            t.keys("y")
            qtlib.wait_for("the first wave held", lambda: all_held(tb, 4))
            c.check(t.wait_for(r"rules 1 active, 4 caught"), "the status line counts 4",
                    t.status())
            n = 4
            for k in (1, 2):
                wave(tb, k)
                n += 3
                qtlib.wait_for("wave %d held" % k, lambda: all_held(tb, n))
            c.check(t.wait_for(r"rules 1 active, %d caught" % n), "the status line counts %d" % n,
                    t.status())
            match, other = split(tb)
            c.eq(sorted(i for i, q in other.items() if q == "hold"), [],
                 "nothing outside the filter is held")
            c.eq(len(other), 10, "all the other mail is queued")

            t.keys("W")
            c.check(t.wait_for(r"RULE +STATE +ACTION +CAUGHT +EXPIRES +FILTER"),
                    "W opens the rules pane", t.screen())
            c.check(t.wait_for(r"1 +active +hold +%d +\d+m +%s" % (n, FILTER)),
                    "the rule's row: state, action, caught, expiry, filter", t.screen())
            t.keys("p")
            c.check(t.wait_for(r"1 +paused +hold"), "p pauses it", t.screen())
            total = t.shown_total()
            wave(tb, 3, 2)
            # The TUI must have seen the wave before the pause can be judged.
            c.check(t.wait_for(r"shown \d+/%d\b" % (total[1] + 4) if total else "x", timeout=30),
                    "the paused rule's TUI sees the new wave", t.status())
            match, _o = split(tb)
            c.eq(sum(1 for q in match.values() if q != "hold"), 2,
                 "while paused, the new matching mail is not held")
            t.keys("p")
            c.check(t.wait_for(r"1 +active +hold +%d " % (n + 2), timeout=30),
                    "resumed: it catches what came meanwhile", t.screen())
            n += 2
            c.check(all_held(tb, n), "every matching message is held")
            c.eq(sorted(i for i, q in split(tb)[1].items() if q == "hold"), [],
                 "still nothing outside the filter held")
            t.keys("x")
            c.check(t.wait_for(r"no rules"), "x removes it", t.screen())
            t.keys("q")

            # Gentle release of the held flood, stopped half way.
            t.keys("T")
            t.keys("H")
            c.check(t.wait_for(r"Release %d messages\? Enter: all at once; N/s" % n),
                    "the release asks how to pace", t.screen())
            t.type("1/s")
            t.keys("Enter")
            c.check(t.wait_for(r"releasing [1-9]\d*/%d, step \d+/%d X:stop" % (n, n),
                               timeout=20),
                    "the progress line counts the steps", t.status())
            t.keys("X")
            m = t.wait_for(r"release: stopped after (\d+) of %d: (\d+) acted on" % n, timeout=30)
            if c.check(m, "X stops it and says how far it got", t.screen()):
                done = int(m.group(1))
                c.check(0 < done < n, "stopped half way (%d of %d)" % (done, n))
                match, _o = split(tb)
                c.eq(sum(1 for q in match.values() if q == "hold"), n - done,
                     "the rest is still held")
            # From a statistics row: its group within the list's filter.
            t.keys("s")
            t.keys("K")
            c.check(t.wait_for(r"keep doing on \"\(%s\) \(sender" % FILTER),
                    "K on a statistics row takes the row's group", t.screen())
            t.keys("Enter")
            c.check(t.wait_for(r"Rule: hold every message matching"), "and confirms", t.screen())
            t.keys("y")
            t.keys("W")
            c.check(t.wait_for(r"2 +active +hold +\d+ +\d+m +\(%s\) \(sender" % FILTER),
                    "the rules pane lists the statistics row's rule", t.screen())
            t.keys("Q")
            c.eq(t.exit_status(), 0, "clean exit")
        log("tui rules done")


if __name__ == "__main__":
    qtlib.run_main("tui_rules", body)
