#!/usr/bin/env python3
"""First run without a Postfix queue: `qtriage --demo=DIR` brings up a
throwaway real Postfix instance, fills it with a few thousand realistic
messages, opens it and says on screen that it is a demo queue.  A second
start reuses it.  Exit: 0 ok, 1 failure, 77 not root."""

import os
import re
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tuilib import Tui, log, qtlib  # noqa: E402


def body(c):
    parent = tempfile.mkdtemp(prefix="qtriage-demo-test-", dir="/tmp")
    os.chmod(parent, 0o755)
    demo = os.path.join(parent, "demo")
    try:
        with Tui(["--demo=" + demo], width=150, height=40) as t:
            c.check(t.wait_for(r"DEMO QUEUE \(throwaway Postfix in %s\)" % re.escape(demo),
                               timeout=240), "the screen says it is a demo queue", t.screen())
            c.check(t.wait_loaded(timeout=120), "the demo queue loads", t.screen())
            shown = t.shown_total()
            n = len(qtlib.postqueue_j(os.path.join(demo, "etc")))
            log("demo queue: %s on screen, %d in postqueue -j" % (shown, n))
            c.check(n >= 1500, "a few thousand messages", n)
            c.eq(shown, (n, n), "all of them listed")
            c.check(re.search(r"hold [1-9]", t.status()), "some are on hold", t.status())
            t.keys("q")
            c.eq(t.exit_status(), 0, "clean exit")
        with Tui(["--demo=" + demo]) as t:
            c.check(t.wait_loaded(timeout=60), "a second start reuses the demo", t.screen())
            c.eq(t.shown_total(), (n, n), "same queue")
            t.keys("q")
    finally:
        qtlib.sh([qtlib.TESTBED, "down", demo, "--purge"], check=False)
        os.rmdir(parent) if os.path.isdir(parent) and not os.listdir(parent) else None


if __name__ == "__main__":
    qtlib.run_main("tui_demo", body)
