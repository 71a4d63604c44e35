#!/usr/bin/env python3
"""The terminal under stress: a 20x5 terminal, a storm of SIGWINCH resizes,
and SIGINT / SIGHUP / SIGTERM.  qtriage keeps working through the resizes
(it still answers keys afterwards) and each signal ends it cleanly: the
terminal restored, a message saying why, exit status 128+signal.
Exit: 0 ok, 1 failure, 77 not root."""

import fcntl
import os
import signal
import struct
import sys
import termios
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_tui_hostile import Pty  # noqa: E402
from tuilib import log, qtlib  # noqa: E402


def resize(t, cols, rows):
    fcntl.ioctl(t.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    os.kill(t.pid, signal.SIGWINCH)


def body(c):
    with qtlib.Testbed("tui-signals") as tb:
        tb.inject(40)
        tb.settle()
        n = len(tb.postqueue_j())

        t = Pty([qtlib.qtriage_path(), "-c", tb.etc], cols=20, rows=5)
        c.check(t.wait_text("messages loaded", timeout=60), "it runs in a 20x5 terminal")
        t.send("j", pause=0.2)
        t.send("\r", pause=0.5)        # the viewer in 20x5
        t.send("q", pause=0.3)
        t.send("?", pause=0.3)         # help in 20x5
        t.send("q", pause=0.3)
        c.check(t.wait_exit(timeout=0.1) is None, "20x5: list, viewer and help do not crash it")

        # A storm of resizes, down to 1x1 and up to 300x100.
        sizes = [(1, 1), (300, 100), (20, 5), (80, 24), (2, 40), (200, 3)]
        t0 = time.monotonic()
        for i in range(300):
            resize(t, *sizes[i % len(sizes)])
            if i % 10 == 0:
                t.pump(0.01)
        resize(t, 100, 30)
        t.pump(1)
        log("300 resizes in %.1f s" % (time.monotonic() - t0))
        c.check(t.wait_exit(timeout=0.1) is None, "it survives a SIGWINCH storm")
        mark = len(t.out)
        t.send("?", pause=1)
        c.check(t.wait_text("qtriage keys", timeout=10, since=mark),
                "it still answers keys after the storm")
        t.send("q", pause=0.3)
        mark = len(t.out)
        t.send("R", pause=1)
        c.check(t.wait_text("rescanning", timeout=10, since=mark), "and still rescans")
        t.send("Q")
        c.eq(t.wait_exit(), 0, "Q quits cleanly")

        for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
            t = Pty([qtlib.qtriage_path(), "-c", tb.etc])
            c.check(t.wait_text("%d messages loaded" % n, timeout=60), "started for %s" % sig.name)
            os.kill(t.pid, sig)
            c.eq(t.wait_exit(), 128 + sig, "%s: exit status %d" % (sig.name, 128 + sig))
            c.check(b"\x1b[?1049l" in t.out, "%s: the terminal is restored" % sig.name)
            c.check(b"stopped by signal %d" % sig in t.out, "%s: it says why" % sig.name,
                    repr(bytes(t.out[-200:])))
        c.eq(len(tb.postqueue_j()), n, "signals changed nothing in the queue")


if __name__ == "__main__":
    qtlib.run_main("tui_signals", body)
