"""Driving the real qtriage binary in tmux, as a person would.

A Tui runs qtriage in a detached tmux session of a given size, sends keys
with `tmux send-keys`, and reads the screen with `tmux capture-pane`.  Tests
check the screen and then the queue itself (postqueue -j)."""

import os
import re
import shlex
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import qtlib  # noqa: E402  (tests/integration/qtlib.py)

log = qtlib.log


class Tui:
    """qtriage in a tmux session (context manager)."""

    count = 0

    def __init__(self, args, width=120, height=30, env=None):
        Tui.count += 1
        self.session = "qtriage-test-%d-%d" % (os.getpid(), Tui.count)
        self.socket = "qtriage-test-%d" % os.getpid()
        self.exit_file = "/tmp/%s.exit" % self.session
        self.args = [qtlib.qtriage_path()] + list(args)
        self.width, self.height = width, height
        # TERM is tmux's own (screen or tmux-256color): the key sequences
        # send-keys produces are the ones that terminal description names.
        self.env = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        self.env.update(env or {})

    def tmux(self, *argv, check=True):
        p = subprocess.run(["tmux", "-L", self.socket] + list(argv), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        if check and p.returncode != 0:
            raise RuntimeError("tmux %s: %s" % (" ".join(argv), p.stderr.decode()))
        return p.stdout.decode("utf-8", "replace")

    def __enter__(self):
        envs = " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in self.env.items())
        # The shell only records the exit status once qtriage is gone, so a
        # test can tell a clean exit from a crash; the pane then stays open.
        cmd = "env %s %s; echo $? > %s; sleep 600" % (
            envs, " ".join(shlex.quote(a) for a in self.args), self.exit_file)
        try:
            os.unlink(self.exit_file)
        except FileNotFoundError:
            pass
        self.tmux("new-session", "-d", "-s", self.session, "-x", str(self.width),
                  "-y", str(self.height), cmd)
        return self

    def __exit__(self, *exc):
        self.tmux("kill-session", "-t", self.session, check=False)
        self.tmux("kill-server", check=False)
        return False

    def keys(self, *keys, literal=False, delay=0.15):
        """Send keys: tmux key names ("Enter", "Escape", "C-d") or, with
        literal=True, text typed as is."""
        for k in keys:
            if literal:
                self.tmux("send-keys", "-t", self.session, "-l", k)
            else:
                self.tmux("send-keys", "-t", self.session, k)
            time.sleep(delay)

    def type(self, text, delay=0.3):
        self.keys(text, literal=True, delay=delay)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def lines(self):
        return self.screen().split("\n")

    def wait_for(self, pattern, timeout=15.0, absent=False):
        """Wait until the regex `pattern` is on the screen (or is not, with
        absent=True); returns the match (or True), or None on timeout."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            scr = self.screen()
            m = rx.search(scr)
            if absent and not m:
                return True
            if m and not absent:
                return m
            if time.monotonic() > deadline:
                return None
            time.sleep(0.2)

    def status(self):
        """The status line (last line of the screen)."""
        lines = [l for l in self.lines()]
        while lines and not lines[-1].strip():
            lines.pop()
        return lines[-1] if lines else ""

    def message(self):
        """The message/prompt line, above the status line."""
        lines = self.lines()
        while lines and not lines[-1].strip():
            lines.pop()
        return lines[-2] if len(lines) >= 2 else ""

    def shown_total(self):
        m = re.search(r"shown ([\d,]+)/([\d,]+)", self.status())
        if not m:
            return None
        return int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))

    def tagged(self):
        m = re.search(r"tagged ([\d,]+)", self.status())
        return int(m.group(1).replace(",", "")) if m else None

    def cursor_row(self):
        m = re.search(r"row ([\d,]+)", self.status())
        return int(m.group(1).replace(",", "")) if m else None

    def resize(self, width, height):
        self.tmux("resize-window", "-t", self.session, "-x", str(width), "-y", str(height))
        self.width, self.height = width, height
        time.sleep(0.5)

    def exit_status(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with open(self.exit_file) as f:
                    s = f.read().strip()
                    if s:
                        return int(s)
            except FileNotFoundError:
                pass
            time.sleep(0.2)
        return None

    def wait_loaded(self, timeout=60.0):
        """Wait until the first full scan is in (the title's spinner goes)."""
        return self.wait_for(r"\? help", timeout=timeout)


def queue_by_id(tb):
    return {m["queue_id"]: m for m in tb.postqueue_j()}
