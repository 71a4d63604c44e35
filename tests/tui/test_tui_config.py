#!/usr/bin/env python3
"""The configuration file, end to end, in tmux against a real test bed: it
turns colour off (what the columns, sort and bindings it sets show, and the
command line over it, are tests/tui/scripted/config*.test), and a broken
file still lets qtriage start (with a message).  Then the instance picker
against real `postmulti -l` output: the default /etc/postfix is replaced by
a private one only inside a mount namespace (unshare -m), so the host's
configuration is never touched.
Exit: 0 ok, 1 failure, 77 not root."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tuilib import Tui, log, qtlib  # noqa: E402


def write_config(d, name, text):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(text if isinstance(text, bytes) else text.encode())
    return path


def wrapped(wrap, args):
    """A Tui running qtriage ARGS through the command prefix `wrap`."""
    t = Tui([])
    t.args = wrap + [qtlib.qtriage_path()] + args
    return t


def colour_sgr(t):
    """The screen with its attributes; True when any colour is set on it."""
    scr = t.tmux("capture-pane", "-p", "-e", "-t", t.session)
    return re.search(r"\x1b\[[0-9;]*(3[0-7]|4[0-7]|38;5;\d+|48;5;\d+)[;m]", scr) is not None, scr


def test_settings(c, tb, d):
    # What the file's settings do on screen is tests/tui/scripted/config.test
    # and config-override.test; here only what needs no screen.
    cfg = write_config(d, "good.conf", "# columns, sort and two bindings\n"
                                       "columns = id,sender,subject\n"
                                       "sort = -sender\n"
                                       "bind x help\n"
                                       "unbind list q\n"
                                       "refresh = 3\n")
    # --keys shows the keys as bound.
    keys = qtlib.sh([qtlib.qtriage_path(), "--config-file", cfg, "--keys"]).stdout.decode()
    help_row = [l for l in keys.splitlines() if "`help`" in l][0]
    quit_row = [l for l in keys.splitlines() if "`quit`" in l][0]
    c.check(" x" in help_row.split("|")[1], "--keys lists x for help", help_row)
    c.check("q(list)" not in quit_row, "--keys no longer lists q(list) for quit", quit_row)



def test_colour_off(c, tb, d):
    def screen_with(args, env, what):
        """Start qtriage ARGS, return (coloured?, screen with attributes)."""
        with Tui(["-c", tb.etc] + args, env=dict({"TERM": "screen-256color"}, **env)) as t:
            c.check(t.wait_loaded(), "starts with " + what)
            got = colour_sgr(t)
            t.keys("Q")
            return got

    coloured, _ = screen_with(["--no-config"], {}, "no configuration")
    c.check(coloured, "colours are used by default (the test can see them)")
    cfg = write_config(d, "nocolour.conf", "color = off\n")
    coloured, scr = screen_with(["--config-file", cfg], {}, "color = off")
    c.check(not coloured, "color = off: no colour at all", scr[:300])
    c.check(re.search(r"\x1b\[([0-9;]*;)?7[;m]", scr),
            "the cursor is still marked (reverse video)")
    coloured, _ = screen_with(["--no-config"], {"NO_COLOR": "1"}, "NO_COLOR")
    c.check(not coloured, "NO_COLOR: no colour at all")
    cfg = write_config(d, "colours.conf", "color.title = red default bold\n")
    _, scr = screen_with(["--config-file", cfg], {}, "color.title")
    first = scr.split("\n")[0]
    c.check(re.search(r"\x1b\[([0-9;]*;)?31[;m]", first) and "46" not in first,
            "color.title = red default: red on the terminal's background", repr(first[:80]))


def test_broken(c, tb, d):
    text = (b"columns = id,subject\n"
            b"this is not a setting\n"
            b"sort = \x00size\n"
            b"filter = \xff\xfe\n"
            b"bind Esc quit\n"
            b"bind z no-such-command\n"
            b"color.cursor = plaid\n"
            b"refresh = 0\n"
            b"confirm = never\n"
            + b"filter = " + b"a" * 100000 + b"\n")
    cfg = write_config(d, "broken.conf", text)
    p = qtlib.sh([qtlib.qtriage_path(), "--config-file", cfg, "-c", tb.etc, "list"], check=False)
    err = p.stderr.decode(errors="replace")
    c.check(p.returncode == 0, "list still works with a broken configuration", err)
    for line in (2, 3, 4, 5, 6, 7, 8, 9, 10):
        c.check("qtriage: %s:%d: " % (cfg, line) in err, "line %d is reported" % line, err)
    c.check("qtriage: %s:1:" % cfg not in err, "the good line is not")
    with Tui(["-c", tb.etc, "--config-file", cfg]) as t:
        c.check(t.wait_loaded(), "the TUI still starts with a broken configuration")
        c.check(t.wait_for(r"configuration: .*broken.conf:2", timeout=5),
                "and says so in its message line", t.message())
        header = t.lines()[1]
        c.check("SUBJECT" in header and "SENDER" not in header,
                "the good line still applies", header)
        t.keys("Q")
        c.eq(t.exit_status(), 0, "and quits cleanly")
    # A directory or a missing file: a warning, and qtriage goes on.
    p = qtlib.sh([qtlib.qtriage_path(), "--config-file", d, "-c", tb.etc, "list"], check=False)
    c.eq(p.returncode, 0, "a directory as configuration file: still runs")
    c.check(b"not a regular file" in p.stderr, "and says why", p.stderr)


def test_picker(c, tb):
    if not shutil.which("unshare") or not shutil.which("postmulti"):
        log("picker: unshare or postmulti missing; skipped")
        return
    def host_multi():
        return qtlib.sh(["postconf", "-c", "/etc/postfix", "-n"]).stdout.count(b"multi_instance")
    before = host_multi()
    with qtlib.Testbed("tui-config-b") as tb2:
        base = tempfile.mkdtemp(prefix="qtriage-tui-config-etc-", dir="/tmp")
        os.chmod(base, 0o755)
        try:
            primary = os.path.join(base, "postfix")
            os.mkdir(primary)
            shutil.copy("/etc/postfix/master.cf", primary)
            with open(os.path.join(primary, "main.cf"), "w") as f:
                f.write("compatibility_level = 3.6\n"
                        "multi_instance_enable = yes\n"
                        "multi_instance_directories = %s %s\n" % (tb.etc, tb2.etc))
            for etc, name, group in ((tb.etc, "qt-flood", "mta"), (tb2.etc, "qt-quiet", "-")):
                params = ["multi_instance_name = " + name, "multi_instance_enable = yes"]
                if group != "-":
                    params.append("multi_instance_group = " + group)
                qtlib.sh(["postconf", "-c", etc, "-e"] + params)
            old = time.time() - 10
            for etc in (primary, tb.etc, tb2.etc):
                os.utime(os.path.join(etc, "main.cf"), (old, old))
            wrap = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                    'mount --bind "$0" /etc/postfix && exec "$@"', primary]

            p = qtlib.sh(wrap + [qtlib.qtriage_path(), "--no-config", "instances"], check=False)
            out = p.stdout.decode()
            log("qtriage instances (exit %d):\n%s%s" % (p.returncode, out, p.stderr.decode()))
            rows = out.strip().splitlines()
            c.check(len(rows) == 4, "qtriage instances: a header and three instances", out)
            counts = tb.counts()
            want = ["qt-flood", "mta", "yes"] + [str(counts[q]) for q in
                                                 ("deferred", "hold", "active", "incoming")]
            c.check(any(r.split()[:7] == want and r.endswith(tb.etc) for r in rows),
                    "the flood instance with its group and its counts %r" % want, out)
            c.check(any(r.split()[:3] == ["qt-quiet", "-", "yes"] and r.endswith(tb2.etc)
                        for r in rows), "the quiet instance", out)

            with wrapped(wrap, ["--no-config"]) as t:
                c.check(t.wait_for(r"several Postfix instances", timeout=15),
                        "no -c and three instances: the picker", t.screen())
                c.check("qt-flood" in t.screen() and tb2.etc in t.screen(),
                        "it lists them", t.screen())
                row = [l for l in t.lines() if "qt-flood" in l]
                c.check(row and row[0].split()[:7] == want,
                        "with the message counts of each queue", row)
                t.keys("j")
                t.keys("Enter")
                c.check(t.wait_loaded(), "Enter opens the chosen instance", t.screen())
                c.check(tb.spool in t.lines()[0], "the flood instance's queue",
                        t.lines()[0])
                c.check(t.wait_for(r"shown \d+/%d" % len(tb.postqueue_j()), timeout=10),
                        "with its messages", t.status())
                t.keys("Q")
                c.eq(t.exit_status(), 0, "and quits cleanly")
            with wrapped(wrap, ["--no-config"]) as t:
                c.check(t.wait_for(r"several Postfix instances", timeout=15), "picker again")
                t.keys("q")
                c.eq(t.exit_status(), 0, "q in the picker quits")
            # With -c there is no picker.
            with wrapped(wrap, ["--no-config", "-c", tb2.etc]) as t:
                c.check(t.wait_loaded(), "-c: straight to the queue", t.screen())
                c.check("several Postfix" not in t.screen(), "no picker with -c")
                t.keys("Q")
        finally:
            for etc in (tb.etc, tb2.etc):
                qtlib.sh(["postconf", "-c", etc, "-X", "multi_instance_name",
                          "multi_instance_group", "multi_instance_enable"], check=False)
            shutil.rmtree(base, ignore_errors=True)
    # Other test beds edit alternate_config_directories there at the same
    # time, so the file itself may change; its multi-instance settings not.
    c.eq(host_multi(), before, "the host's /etc/postfix/main.cf has no new multi_instance line")


def body(c):
    d = tempfile.mkdtemp(prefix="qtriage-tui-config-", dir="/tmp")
    try:
        with qtlib.Testbed("tui-config") as tb:
            tb.inject(30)
            tb.settle()
            test_settings(c, tb, d)
            test_colour_off(c, tb, d)
            test_broken(c, tb, d)
            test_picker(c, tb)
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    qtlib.run_main("tui_config", body)
