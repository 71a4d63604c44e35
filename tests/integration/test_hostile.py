#!/usr/bin/env python3
"""Integration test: hostile mail in a real queue, listed and rendered.

tests/testbed/hostile.py (run as a program: `hostile.py DIR`, whose JSON
manifest says what it injected) puts escape sequences, C0/C1 controls,
invalid UTF-8, a 100 KB header line, 10,000 recipients, 50-deep multiparts, a
50 MB message, undecodable base64, unknown charsets and NUL bytes into a test
bed through sendmail.  Then:

  * the queue files really hold the hostile bytes (RAW_BYTES rendering and
    the files themselves carry ESC), so the checks below can fail
  * `qtriage export --dir`: every message minus the X-Qtriage headers is
    byte for byte what postcat -bh -q prints (NULs, long lines, 50 MB)
  * `qtriage list`, `qtriage list --json` and `list --format` with every field: exit 0, nothing on stderr,
    valid UTF-8, no ESC, no other C0 control but the line feed, no DEL, no C1
    (as bytes, and in every JSON string once decoded); the same IDs as
    postqueue -j; every hostile message found by its marker; what was around
    the controls still there with U+FFFD stand-ins (Subject, From); 10,000
    recipients listed; the 100 KB Subject capped; time and peak memory
    bounded with the 50 MB message in the queue
  * the renderer (include/qtriage/render.h, through render_dump) on every
    hostile queue file, RAW and DECODED, to the last line: no crash, the end
    reached, bounded time and memory, every line valid UTF-8 without ESC,
    C0, DEL or C1 and of bounded length, stand-ins visible (escapes in the
    Subject, attachment names, NUL in the body), the innermost part of the
    50-deep multipart shown, the 50 MB message read to its end in RAW
Exit: 0 ok, 1 failures, 77 when $QTRIAGE or $QTRIAGE_RENDER_DUMP is missing.
"""

import fcntl
import json
import os
import pty
import re
import select
import subprocess
import sys
import tempfile
import time
import tty

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qtlib  # noqa: E402
from qtlib import log  # noqa: E402

HOSTILE = os.path.join(qtlib.SRC_ROOT, "tests", "testbed", "hostile.py")
BIG_MB = float(os.environ.get("QTRIAGE_HOSTILE_BIG_MB", "50"))
FFFD = "\ufffd"
# Bytes that must never reach a terminal: C0 but line feed, DEL.  (C1 is
# checked on the decoded text; as raw bytes 0x80-0x9f are UTF-8 continuations.)
BAD_BYTES = re.compile(rb"[\x00-\x09\x0b-\x1f\x7f]")
BAD_CHARS = re.compile("[\x00-\x1f\x7f-\x9f]")
# Invisible formatting characters the sanitiser shows as U+FFFD: bidi
# embeddings, overrides and isolates, zero-width characters and marks, line
# and paragraph separators, BOM, tags (include/qtriage/text.h).
INVISIBLE = re.compile("[\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
                       "\u061c\u180e\ufff9-\ufffb\U000e0000-\U000e007f]")
LINE_MAX = 4 * 4096      # QT_RENDER_LINE_MAX input bytes, each at most a 3-byte U+FFFD, + indent


def render_dump_path():
    p = os.environ.get("QTRIAGE_RENDER_DUMP") or os.path.join(
        os.path.dirname(qtlib.qtriage_path()), "..", "tests", "integration", "render_dump")
    return os.path.abspath(p)


def sanitized_build(path):
    """Sanitizer builds need far more memory and time."""
    with open(path, "rb") as f:
        data = f.read()
    return b"__asan_init" in data or b"__tsan_init" in data


def run_timed(argv, timeout=600):
    """Run argv; (returncode, stdout, stderr, seconds).  (Peak memory comes from
    the programs themselves: a child forked from this Python process starts
    out with Python's resident set in its rusage.)"""
    t = time.monotonic()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t


def bad_in(text):
    """Forbidden characters in a str, as a short list of their code points."""
    return sorted(set("U+%04X" % ord(ch)
                      for ch in BAD_CHARS.findall(text) + INVISIBLE.findall(text)))[:10]


def all_strings(o):
    if isinstance(o, str):
        yield o
    elif isinstance(o, dict):
        for k, v in o.items():
            yield k
            yield from all_strings(v)
    elif isinstance(o, list):
        for v in o:
            yield from all_strings(v)


def check_terminal_safe(c, data, what):
    """Raw output bytes: no forbidden byte, valid UTF-8, no C1 code point."""
    c.eq(sorted(set("%02x" % b[0] for b in BAD_BYTES.findall(data)))[:10], [],
         "%s: no ESC, C0 (but \\n) or DEL byte" % what)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        c.check(False, "%s: valid UTF-8" % what, str(e))
        return data.decode("utf-8", "replace")
    c.eq(sorted(set("U+%04X" % ord(ch) for ch in re.findall("[\x80-\x9f]", text))), [],
         "%s: no C1 control" % what)
    c.eq(sorted(set("U+%04X" % ord(ch) for ch in INVISIBLE.findall(text))), [],
         "%s: no bidi control or invisible character" % what)
    return text


def parse_dump(data):
    """render_dump output -> ([(kind, continued, bytes)], (lines, bytes_read, done, peak MB))."""
    lines, i = [], 0
    while True:
        j = data.index(b"\n", i)
        h = data[i:j].split()
        if h[0] == b"E":
            return lines, (int(h[1]), int(h[2]), h[3] == b"1", int(h[4]) / 1024.0)
        n = int(h[3])
        lines.append((int(h[1]), h[2] == b"1", data[j + 1:j + 1 + n]))
        i = j + 1 + n + 1


def load_hostile():
    import importlib.util
    spec = importlib.util.spec_from_file_location("hostile", HOSTILE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def load_tui_hostile():
    """tests/tui/test_tui_hostile.py: its Pty recorder and byte checks."""
    sys.path.insert(0, os.path.join(qtlib.SRC_ROOT, "tests", "tui"))
    import test_tui_hostile
    return test_tui_hostile


# What the stub's reply holds that a terminal would obey or hide, as UTF-8.
REPLY_CLASSES = [("C1 CSI U+009B", b"\xc2\x9b"), ("C1 OSC U+009D", b"\xc2\x9d"),
                 ("C1 ST U+009C", b"\xc2\x9c"), ("RLO U+202E", b"\xe2\x80\xae"),
                 ("LRI U+2066", b"\xe2\x81\xa6"), ("ZWSP U+200B", b"\xe2\x80\x8b"),
                 ("BOM U+FEFF", b"\xef\xbb\xbf")]


def check_smtp_reply(c, tb, exe, e):
    """The delay reason a remote server wrote, through every output path."""
    qid = e.get("queue_id")
    if not c.check(qid and "error" not in e, "smtp-reply: deferred through the stub SMTP server",
                   e.get("error")):
        return
    deflog = load_hostile().defer_log_of(tb.spool, qid)
    data = open(deflog, "rb").read() if deflog else b""
    for name, seq in REPLY_CLASSES:
        c.check(seq in data, "smtp-reply: the defer log holds %s as the server sent it "
                "(so the checks below can fail)" % name)
    reason_seen = "c1csi" + FFFD
    runs = [
        ("list", ["list"], reason_seen),
        ("list --format", ["list", "--format", "%i|%R|%s|%r|%S|%f|%c"], reason_seen),
        ("list --ids", ["list", "--ids"], qid),
        ("list --json", ["list", "--json"], None),
        ("show", ["show", qid], reason_seen),
        ("show --raw", ["show", "--raw", qid], reason_seen),
        ("show --log", ["show", "--log", qid], reason_seen),
        ("stats --by reason", ["stats", "--by", "reason"], reason_seen),
        ("stats --by subject", ["stats", "--by", "subject"], reason_seen),
        ("stats --json", ["stats", "--by", "reason", "--json"], None),
        ("shape", ["shape"], None),
        ("check", ["check", "--warn", "0", "--crit", "100000"], "QTRIAGE WARNING"),
        # the command line is quoted back: a filter made of the same bytes
        ("check, a bad filter", ["check", "--warn", "0", "--crit", "100000", "--filter",
                                 "(" + load_hostile().REPLY_HOSTILE.decode("utf-8", "replace")],
         "UNKNOWN"),
    ]
    for what, args, want in runs:
        rc, out, err, _dt = run_timed([exe, "-c", tb.etc] + args)
        text = check_terminal_safe(c, out, "smtp-reply: qtriage " + what)
        check_terminal_safe(c, err, "smtp-reply: qtriage %s (stderr)" % what)
        c.check(rc in ((1, 3) if what.startswith("check") else (0,)),
                "smtp-reply: qtriage %s exit status (%d)" % (what, rc),
                err.decode(errors="replace")[:300])
        if want:
            c.check(want in text, "smtp-reply: qtriage %s shows %r" % (what, want), text[:600])
        if what in ("list --json", "stats --json"):
            try:
                objs = [json.loads(l) for l in text.split("\n") if l]
            except ValueError as ex:
                c.check(False, "smtp-reply: %s is valid JSON" % what, str(ex))
                continue
            strs = [x for o in objs for x in all_strings(o)]
            c.eq([bad_in(x) for x in strs if bad_in(x)][:3], [],
                 "smtp-reply: %s: no control or invisible character in any decoded string" % what)
            c.check(any(reason_seen in x for x in strs),
                    "smtp-reply: %s holds the reason with markers" % what)

    # The TUI on a pseudo-terminal: the list and the viewer of this message.
    tui = load_tui_hostile()
    t = tui.Pty([exe, "-c", tb.etc, "--refresh", "5"])
    try:
        c.check(t.wait_text("? help", timeout=60), "smtp-reply TUI: the list loads")
        mark = len(t.out)
        t.send("f")
        t.send("\x15")
        t.send("subject:" + e["marker"])
        t.send("\r", pause=1)
        c.check(t.wait_text(e["marker"], timeout=10, since=mark),
                "smtp-reply TUI: its marker is on screen")
        t.send("\r", pause=1)
        c.check(t.wait_text("c1csi" + FFFD, timeout=10, since=mark),
                "smtp-reply TUI: the viewer shows the reason with U+FFFD markers")
        t.send("m", pause=1)
        t.send("q", pause=0.5)
        t.send("q")
        c.eq(t.wait_exit(), 0, "smtp-reply TUI: q quits cleanly")
        out = bytes(t.out)
        tui.check_bytes(c, out, "smtp-reply TUI")
        for name, seq in REPLY_CLASSES:
            c.check(seq not in out, "smtp-reply TUI: no %s reaches the terminal" % name)
    finally:
        if t.status is None:
            os.kill(t.pid, 9)
            t.wait_exit(5)


def read_pty_until_exit(master, proc, timeout=60):
    """All a child writes to a pseudo-terminal, until it exits and the pty drains."""
    out, end = bytearray(), time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                data = os.read(master, 65536)
            except OSError:          # EIO: the slave side is closed
                break
            if not data:
                break
            out += data
        elif proc.poll() is not None:
            break
    return bytes(out)


def check_show_bytes(c, tb, exe, qid):
    """show --bytes: refused on a terminal, byte-exact to a pipe or with --force."""
    want = qtlib.sh(["postcat", "-c", tb.etc, "-q", qid]).stdout
    c.check(b"\x1b[" in want, "show --bytes: the message holds raw ESC (so the checks can fail)")
    rc, out, err, _t = run_timed([exe, "-c", tb.etc, "show", "--bytes", qid])
    c.eq(rc, 0, "show --bytes to a pipe exits 0 (%s)" % err.decode(errors="replace")[:200])
    c.check(out == want, "show --bytes to a pipe == postcat -q, byte for byte (%d/%d bytes)"
            % (len(out), len(want)))
    for force in (False, True):
        master, slave = pty.openpty()
        tty.setraw(slave)            # no \n -> \r\n: the bytes as written
        p = subprocess.Popen([exe, "-c", tb.etc, "show", "--bytes"] + (["--force"] if force else [])
                             + [qid], stdout=slave, stderr=subprocess.PIPE)
        os.close(slave)
        got = read_pty_until_exit(master, p)
        err = p.stderr.read()
        rc = p.wait(60)
        os.close(master)
        if force:
            c.eq(rc, 0, "show --bytes --force on a terminal exits 0")
            c.check(got == want, "show --bytes --force on a terminal == postcat -q (%d/%d bytes)"
                    % (len(got), len(want)))
        else:
            c.eq(rc, 2, "show --bytes on a terminal is refused (exit 2)")
            c.eq(got, b"", "show --bytes on a terminal writes nothing to it")
            c.check(b"terminal" in err and b"--force" in err,
                    "show --bytes on a terminal says why and how", err.decode(errors="replace"))


def check_closed_reader(c, tb, exe):
    """A reader that goes away early (| head -1): no message, exit 0, and
    standard output's flags as they were; a non-blocking stdout loses nothing."""
    argv = [exe, "-c", tb.etc, "list", "--format", "%i %r"]
    full = qtlib.sh(argv).stdout
    c.check(len(full) > 128 * 1024, "closed reader: the listing is larger than a pipe's buffer "
            "(%d bytes)" % len(full))
    for what, extra in (("--ids", ["--ids"]), ("--format", ["--format", "%i %r"]),
                        ("default", []), ("--json", ["--json"])):
        r, w = os.pipe()
        keep = os.dup(w)             # a writer of ours: the flags stay observable
        before = fcntl.fcntl(keep, fcntl.F_GETFL)
        p = subprocess.Popen([exe, "-c", tb.etc, "list"] + extra, stdout=w,
                             stderr=subprocess.PIPE)
        os.close(w)
        with os.fdopen(r, "rb") as f:
            f.readline()             # head -1
        err = p.stderr.read()
        rc = p.wait(120)
        c.eq(err.decode(errors="replace"), "", "list %s | head -1: nothing on stderr" % what)
        c.eq(rc, 0, "list %s | head -1: exit status 0" % what)
        c.eq(fcntl.fcntl(keep, fcntl.F_GETFL), before, "list %s | head -1: stdout flags unchanged"
             % what)
        os.close(keep)
    # Inherited non-blocking: everything arrives, and the flag is given back.
    r, w = os.pipe()
    fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)
    keep = os.dup(w)
    p = subprocess.Popen(argv, stdout=w, stderr=subprocess.PIPE)
    os.close(w)
    got = bytearray()
    while True:
        # `keep` holds a write end, so there is no end of file: read while
        # there is something, until qtriage has exited and the pipe is empty.
        if select.select([r], [], [], 0.2)[0]:
            got += os.read(r, 4096)  # slower than qtriage writes: the pipe fills
        elif p.poll() is not None:
            break
    os.close(r)
    err = p.stderr.read()
    rc = p.wait(120)
    c.eq((rc, err.decode(errors="replace")), (0, ""), "list to a non-blocking pipe: exit 0, quiet")
    # (the scan's order may differ between two runs: compared as sets of lines)
    c.check(sorted(bytes(got).split(b"\n")) == sorted(full.split(b"\n")),
            "list to a non-blocking pipe: nothing lost (%d/%d bytes)" % (len(got), len(full)))
    c.check(fcntl.fcntl(keep, fcntl.F_GETFL) & os.O_NONBLOCK,
            "list to a non-blocking pipe: O_NONBLOCK given back at exit")
    os.close(keep)


def body(c):
    with qtlib.Testbed("hostile") as tb:
        p = qtlib.sh([sys.executable, HOSTILE, tb.dir, "--big-mb", str(BIG_MB)], timeout=900)
        manifest = json.loads(p.stdout.decode("utf-8"))
        msgs = manifest["messages"]
        c.eq([m["name"] for m in msgs if "error" in m], [], "sendmail took every hostile message")
        log("hostile.py injected %d messages (run %s, %.1f MB)"
            % (len(msgs), manifest["run"], sum(m["size"] for m in msgs) / 1e6))
        tb.settle()
        pq = tb.postqueue_j()
        c.eq(len(pq), len(msgs), "every hostile message is queued")

        exe, dump = qtlib.qtriage_path(), render_dump_path()
        if not qtlib.have_qtriage() or not os.access(dump, os.X_OK):
            c.skip("qtriage checks: %s or %s not found" % (exe, dump))
            return
        slow = sanitized_build(exe)
        t_max, mb_max = (60.0, 300.0) if slow else (30.0, 48.0)

        # --- qtriage export: every hostile message back as postcat -bh has it
        out_dir = tempfile.mkdtemp(prefix="qtriage-hostile-export-", dir="/tmp")
        try:
            p = qtlib.qtriage(["export", "-c", tb.etc, "--dir", out_dir + "/eml", "--filter", ""])
            c.eq(p.returncode, 0, "export of the hostile queue exits 0 (%s)"
                 % p.stderr.decode(errors="replace")[:300])
            for m in pq:
                qid = m["queue_id"]
                try:
                    data = open(os.path.join(out_dir, "eml", qid + ".eml"), "rb").read()
                except OSError as e:
                    c.check(False, "export of %s: %s" % (qid, e))
                    continue
                pos = 0
                while data.startswith(b"X-Qtriage-", pos):
                    pos = data.index(b"\n", pos) + 1
                want = qtlib.sh(["postcat", "-c", tb.etc, "-bh", "-q", qid]).stdout
                c.check(data[pos:] == want, "export of %s == postcat -bh -q (%d bytes)"
                        % (qid, len(want)))
        finally:
            subprocess.run(["rm", "-rf", "--", out_dir])

        # --- qtriage list / list --json
        for args in (["list", "-c", tb.etc], ["list", "-c", tb.etc, "--json"],
                     ["list", "-c", tb.etc, "--format", "%i %q %s %r %S %z %a %R %f %c"]):
            what = " ".join(args[:1] + args[3:]) or "list"
            rc, out, err, dt = run_timed([exe] + args)
            c.eq(rc, 0, "qtriage %s exits 0" % what)
            c.eq(err.decode(errors="replace"), "", "qtriage %s: nothing on stderr" % what)
            c.check(dt < t_max, "qtriage %s within %.0f s (%.1f s)" % (what, t_max, dt))
            _rc, _o, stats, _t = run_timed([exe] + args + ["--stats"])
            pk = re.search(rb"peak (\d+) KB", stats)
            mb = int(pk.group(1)) / 1024.0 if pk else 1e9
            c.check(mb < mb_max, "qtriage %s peak memory under %.0f MB (%.0f MB; --stats: %s)"
                    % (what, mb_max, mb, stats.decode(errors="replace").strip()[:300]))
            log("qtriage %s: %.2f s, peak %.0f MB, %d bytes" % (what, dt, mb, len(out)))
            text = check_terminal_safe(c, out, "qtriage " + what)
            if "--json" not in args:
                for m in msgs:
                    c.check(m["marker"] in text, "list shows %s" % m["marker"])
                continue
            objs = [json.loads(l) for l in text.split("\n") if l]
            bad = [(o["queue_id"], bad_in(s)) for o in objs for s in all_strings(o) if bad_in(s)]
            c.eq(bad[:5], [], "list --json: no control character in any decoded JSON string")
            c.eq(sorted(o["queue_id"] for o in objs), sorted(m["queue_id"] for m in pq),
                 "list --json: the IDs postqueue -j lists")
        by_marker = {}
        for o in objs:
            for m in msgs:
                if o["subject"] and o["subject"].startswith(m["marker"]):
                    by_marker[m["name"]] = o
        c.eq(sorted(m["name"] for m in msgs if m["name"] not in by_marker), [],
             "every hostile message found by the marker in its Subject")
        for m in msgs:
            o = by_marker.get(m["name"])
            if not o:
                continue
            missing = [v for v in m["visible"] if v not in o["subject"]]
            c.eq(missing, [], "%s: the Subject still shows %s" % (m["name"], m["visible"]))
            if "esc" in m["features"] and m["name"] in ("esc-subject", "esc-encoded"):
                c.check(FFFD in o["subject"], "%s: controls became visible U+FFFD" % m["name"],
                        o["subject"])
        fr = by_marker.get("esc-from-raw", {}).get("from", "")
        c.check("Boss" in fr and FFFD in fr, "esc-from-raw: From shows the name with stand-ins", fr)
        fr = by_marker.get("esc-from-encoded", {}).get("from", "")
        c.check("The CEO" in fr and FFFD in fr, "esc-from-encoded: decoded From with stand-ins", fr)
        o = by_marker.get("many-rcpts")
        if o:
            c.eq(len(o["recipients"]), 10000, "many-rcpts: 10,000 recipients listed")
        o = by_marker.get("long-header")
        if o:
            c.check(len(o["subject"].encode()) <= 4096, "long-header: the 100 KB Subject is capped "
                    "(%d bytes)" % len(o["subject"].encode()))
        o = by_marker.get("big")
        if o:
            c.check(o["message_size"] >= BIG_MB * 1e6 * 0.95, "big: message_size %d" % o["message_size"])

        # --- standard output: show --bytes on a terminal, readers that go away
        o = by_marker.get("esc-subject")
        if o:
            check_show_bytes(c, tb, exe, o["queue_id"])
        check_closed_reader(c, tb, exe)

        # --- a delay reason written by a remote server, every output path
        check_smtp_reply(c, tb, exe, next((m for m in msgs if m["name"] == "smtp-reply"), {}))

        # --- the renderer on each hostile queue file
        for m in msgs:
            o = by_marker.get(m["name"])
            if not o:
                continue
            qid = o["queue_id"]
            path = tb.queue_file(qid)
            if not c.check(path is not None, "%s: queue file of %s found" % (m["name"], qid)):
                continue
            label = os.path.relpath(path, tb.spool)
            deflog = None
            for root, _d, files in os.walk(os.path.join(tb.spool, "defer")):
                if qid in files:
                    deflog = os.path.join(root, qid)
            rendered = {}
            keep = m["name"] != "big"     # 50 MB of text: check it line by line, keep none
            for mode in ("raw", "decoded"):
                argv = [dump, mode, path, label] + ([deflog] if deflog else [])
                rc, out, err, dt = run_timed(argv)
                what = "render %s %s" % (mode, m["name"])
                c.eq(rc, 0, "%s: exit 0 (stderr: %s)" % (what, err.decode(errors="replace")[:300]))
                c.check(dt < t_max, "%s within %.0f s (%.1f s)" % (what, t_max, dt))
                try:
                    lines, (n, nread, done, mb) = parse_dump(out)
                except (ValueError, IndexError):
                    c.check(False, "%s: output parses" % what, out[-300:])
                    continue
                del out
                c.check(mb < mb_max, "%s peak memory under %.0f MB (%.0f MB)" % (what, mb_max, mb))
                c.check(done and n == len(lines), "%s: the renderer reached the end" % what)
                bad, invalid, long_ = [], [], []
                for i, (_k, _cont, t) in enumerate(lines):
                    if BAD_BYTES.search(t) or b"\n" in t:
                        bad.append((i, t[:80]))
                        continue
                    try:
                        s = t.decode("utf-8")
                    except UnicodeDecodeError:
                        invalid.append((i, t[:80]))
                        continue
                    if BAD_CHARS.search(s):
                        bad.append((i, t[:80]))
                    if len(t) > LINE_MAX:
                        long_.append((i, len(t)))
                c.eq(bad[:3], [], "%s: no ESC, C0, DEL or C1 in any line" % what)
                c.eq(invalid[:3], [], "%s: every line valid UTF-8" % what)
                c.eq(long_[:3], [], "%s: every line at most %d bytes" % (what, LINE_MAX))
                rendered[mode] = ("\n".join(t.decode("utf-8", "replace") for _k, _c, t in lines)
                                  if keep else "", n, nread)
                del lines
                if m["name"] in ("big", "many-rcpts", "long-header"):
                    log("%s: %d lines, %d bytes read, %.2f s, %.0f MB" % (what, n, nread, dt, mb))
            raw = rendered.get("raw", ("", 0, 0))[0]
            dec = rendered.get("decoded", ("", 0, 0))[0]
            if m["name"] == "esc-subject":
                # the hostile bytes are really in the file: the exact view has them
                rc, out, _e, _t = run_timed([dump, "raw-bytes", path, label])
                c.check(b"\x1b[31mRED" in out, "esc-subject: the queue file holds raw ESC bytes "
                        "(RAW_BYTES shows them), so the checks above can fail")
                for view, txt in (("raw", raw), ("decoded", dec)):
                    c.check(FFFD + "[31mRED" + FFFD + "[0m" in txt,
                            "esc-subject %s: escapes shown as U+FFFD stand-ins" % view)
            if m["name"] == "esc-attachment":
                att = [l for l in dec.split("\n") if "invoice" in l or "report.txt" in l
                       or "hidden" in l]
                c.check(len(att) >= 3 and all(FFFD in l for l in att),
                        "esc-attachment decoded: file names shown with stand-ins", att)
            if m["name"] == "deep-mime":
                c.check("innermost part of " + m["marker"] in dec,
                        "deep-mime decoded: the part 50 levels down is shown")
            if m["name"] == "nul-bytes":
                c.check("line with " + FFFD + " NUL" + FFFD + FFFD + " bytes" in raw,
                        "nul-bytes raw: NUL bytes in the body shown as U+FFFD")
            if m["name"] == "bad-base64":
                c.check(FFFD + "[31mRED" in dec, "bad-base64 decoded: escapes inside a base64 "
                        "part are stand-ins after decoding")
            if m["name"] == "big" and "raw" in rendered:
                size = os.path.getsize(path)
                c.check(rendered["raw"][2] >= size * 0.99, "big raw: rendered to the end of the "
                        "%d-byte file (%d read)" % (size, rendered["raw"][2]))
                c.check(rendered["decoded"][2] < size / 2, "big decoded: parses only the first "
                        "part (%d of %d bytes read)" % (rendered["decoded"][2], size))


if __name__ == "__main__":
    qtlib.run_main("test_hostile", body)
