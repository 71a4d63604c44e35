#!/usr/bin/env python3
"""Terminal safety: every byte qtriage writes while it shows hostile mail.

The hostile corpus (tests/testbed/hostile.py: escape sequences and C0/C1
controls in Subject, From, file names and body, invalid UTF-8, 100 KB header
lines, 10,000 recipients, 50-deep multiparts, a 50 MB message, bad base64,
unknown charsets, NUL bytes) goes into a real test bed.  qtriage runs on a
pseudo-terminal whose output is recorded; each message is filtered, opened
in the viewer (decoded and raw, to the end).  Then:
  - no OSC, DCS, APC/PM, BEL or C1 control (UTF-8 encoded or raw 0x9b)
    ever reaches the terminal, and every ESC starts a sequence of the kinds
    curses writes (a CSI from the mail cannot be told apart from curses'
    own here: tests/integration/test_hostile.py checks that the core's
    output holds no ESC at all);
  - the markers of the subjects are visible, with stand-ins (U+FFFD) for
    what cannot be shown;
  - memory stays bounded (peak RSS) and qtriage exits cleanly;
  - SIGTERM restores the terminal and exits with 128+15.
Exit: 0 ok, 1 failure, 77 not root."""

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from tuilib import log, qtlib  # noqa: E402

HOSTILE = os.path.join(HERE, "..", "testbed", "hostile.py")
CSI_OR_ESC = re.compile(rb"\x1b\[[0-9;?>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78NOMDEHc]")


class Pty:
    def __init__(self, argv, cols=120, rows=40):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.environ.update({"TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"})
            os.execv(argv[0], argv)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.out = bytearray()
        self.status = None

    def pump(self, secs):
        self.settle(secs, quiet=None)

    def text(self, since=0):
        """The output with curses' own sequences removed."""
        return CSI_OR_ESC.sub(b"", bytes(self.out[since:])).decode("utf-8", "replace")

    def wait_text(self, needle, timeout=30, since=0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if needle in self.text(since):
                return True
            self.pump(0.2)
        return False

    def send(self, keys, pause=0.3):
        """Type keys, then wait until qtriage has drawn its answer: output
        came and then stopped for a moment (a state, not a time), or at most
        `pause` seconds when a key changes nothing on screen."""
        os.write(self.fd, keys.encode() if isinstance(keys, str) else keys)
        self.settle(pause)

    def settle(self, limit, quiet=0.25):
        """Read output for `limit` seconds, or until it stopped for `quiet`
        seconds after some came (None: read for the whole time)."""
        end = time.monotonic() + limit
        last = None
        while time.monotonic() < end:
            r, _, _ = select.select([self.fd], [], [], 0.05)
            if r:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    return
                if not data:
                    return
                self.out += data
                last = time.monotonic()
            elif quiet is not None and last is not None and time.monotonic() - last >= quiet:
                return

    def wait_exit(self, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.pump(0.1)
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(st)
                return self.status
        return None

    def peak_rss_kb(self):
        try:
            for line in open("/proc/%d/status" % self.pid):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return None


def check_bytes(c, out, what):
    bad = {
        "OSC (ESC ])": b"\x1b]", "DCS (ESC P)": b"\x1bP", "APC (ESC _)": b"\x1b_",
        "PM (ESC ^)": b"\x1b^", "SOS (ESC X)": b"\x1bX", "BEL": b"\x07",
        "raw C1 CSI 0x9b": b"\x9b",
    }
    for name, seq in bad.items():
        i = out.find(seq)
        if name == "raw C1 CSI 0x9b" and i >= 0:
            # 0x9b is also a UTF-8 continuation byte: only a byte that starts
            # no character counts.
            text = out.decode("utf-8", "replace")
            i = 0 if "\ufffd" in text and b"\x9b" in out and re.search(
                rb"(?<![\xc0-\xf4])(?<![\xc0-\xf4][\x80-\xbf])(?<![\xe0-\xf4][\x80-\xbf]{2})\x9b",
                out) else -1
        c.check(i < 0, "%s: no %s reaches the terminal" % (what, name),
                repr(out[max(0, i - 80):i + 80]) if i >= 0 else None)
    c1 = re.search(rb"\xc2[\x80-\x9f]", out)
    c.check(not c1, "%s: no UTF-8 encoded C1 control reaches the terminal" % what,
            repr(out[max(0, c1.start() - 80):c1.start() + 80]) if c1 else None)
    # Every ESC must start a sequence curses writes for xterm (CSI, charset,
    # keypad modes); anything else came from the mail.
    stray = re.sub(CSI_OR_ESC, b"", bytes(out))
    i = stray.find(b"\x1b")
    c.check(i < 0, "%s: every ESC is curses' own" % what,
            repr(stray[max(0, i - 80):i + 80]) if i >= 0 else None)


def body(c):
    with qtlib.Testbed("tui-hostile") as tb:
        p = subprocess.run([sys.executable, HOSTILE, tb.dir], stdout=subprocess.PIPE,
                           timeout=1200)
        manifest = json.loads(p.stdout)
        c.eq(p.returncode, 0, "every hostile message was accepted by sendmail")
        tb.settle()
        msgs = manifest["messages"]
        log("hostile messages: %s" % ", ".join(m["name"] for m in msgs))

        t = Pty([qtlib.qtriage_path(), "-c", tb.etc, "--refresh", "5"])
        c.check(t.wait_text("? help", timeout=60), "the list loads")
        for m in msgs:
            mark = len(t.out)
            # By the subject's marker: some senders hold an ESC, and an Esc
            # typed into the bar cancels it.
            t.send("f")
            t.send("\x15")             # C-u: clear the bar
            t.send("subject:" + m["marker"])
            t.send("\r", pause=1)
            t0 = time.monotonic()
            t.send("\r", pause=1)      # open the viewer (decoded)
            t.send("G", pause=2)       # to the end
            t.send("m", pause=1)       # raw
            t.send("G", pause=3)
            t.send("m", pause=1)
            t.send("q", pause=0.5)
            dt = time.monotonic() - t0
            log("%s: viewed decoded and raw to the end in %.1f s" % (m["name"], dt))
            c.check(t.wait_text(m["marker"], timeout=10, since=mark),
                    "%s: its marker is on screen" % m["name"])
            c.check(t.wait_exit(timeout=0.1) is None, "%s: qtriage is still running" % m["name"])
            check_bytes(c, bytes(t.out[mark:]), m["name"])
        c.check("\ufffd" in t.text(), "stand-ins (U+FFFD) are shown for what cannot be")
        rss = t.peak_rss_kb()
        log("peak RSS %s kB" % rss)
        c.check(rss is not None and rss < 600 * 1024, "memory stays bounded", rss)
        t.send("q")
        c.eq(t.wait_exit(), 0, "q quits cleanly")
        c.check(b"\x1b[?1049l" in t.out[-200:], "the terminal is restored (alternate screen off)",
                repr(bytes(t.out[-200:])))
        check_bytes(c, bytes(t.out), "whole session")

        # SIGTERM while running: the terminal comes back, exit 128+15.
        t = Pty([qtlib.qtriage_path(), "-c", tb.etc])
        t.wait_text("? help", timeout=60)
        os.kill(t.pid, signal.SIGTERM)
        c.eq(t.wait_exit(), 128 + 15, "SIGTERM: exit status 143")
        c.check(b"\x1b[?1049l" in t.out, "SIGTERM: the terminal is restored")
        c.check(b"stopped by signal 15" in t.out, "SIGTERM: it says why it stopped",
                repr(bytes(t.out[-300:])))


if __name__ == "__main__":
    qtlib.run_main("tui_hostile", body)
