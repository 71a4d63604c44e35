#!/usr/bin/env python3
"""Integration test: export, delete with a backup, and the scriptable bulk CLI
(list --filter --ids/--format, actions by --filter) on a real Postfix queue.

One throwaway instance: the corpus (corpus.json says what was injected) plus
messages injected here with known bytes: an "exact" message (From lines,
a 5000-byte line, 8-bit text), a sender that floods (flood@) and mail
addressed TO it, two messages over 5 MB, eight 40 KB messages and a 300 KB
one for the full-disk test.

  export --dir      every queued message; files 0600, dir 0700; each file minus
                    the X-Qtriage headers == postcat -bh -q ID; envelope headers
                    == postqueue -j and corpus.json; minus what Postfix added
                    (Received, Message-Id) == the injected bytes (size for the
                    corpus, bytes for the exact message)
  export --mbox     mboxrd parsed back == the .eml files; 0600
  no clobbering     a file or a symlink at DIR/ID.eml is neither followed nor
                    overwritten; a symlinked backup dir / mbox is refused; and
                    delete --backup-dir then deletes nothing that failed
  list              --filter with --ids and --format == postqueue -j; no control
                    characters from a hostile subject
  actions           --filter without --yes on non-tty stdin: exit 2, IDs
                    printed, queue unchanged; --dry-run changes nothing; on a
                    terminal (pty) "n" does nothing, "y" acts; --yes acts on
                    exactly the matches: delete sender=flood@ (not mail TO it),
                    delete size>5M, release queue=hold
  delete --backup-dir   deleted == exported, backups == postcat, rest untouched
  FULL DISK         a 256 KB tmpfs (or, where mount is refused, RLIMIT_FSIZE in
                    the child): the messages that did not fit stay queued,
                    no partial file, exit status nonzero with a clear message;
                    an mbox on a full disk holds only whole messages
QTRIAGE_EXPORT_NO_MOUNT=1 runs the RLIMIT_FSIZE variant where mount works.
Exit: 0 ok, 1 failures, 77 when $QTRIAGE is missing or not root.
"""

import os
import pty
import re
import resource
import shutil
import stat
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qtlib  # noqa: E402
from qtlib import log  # noqa: E402

N = int(os.environ.get("QTRIAGE_EXPORT_N", "60"))
MB = 1024 * 1024

EXACT = (b"From: Exact Sender <exact-sender@src.example>\n"
         b"To: exact@dest.example\n"
         b"Date: Sun, 22 Nov 2026 10:00:00 +0000\n"
         b"Subject: exact bytes \xc3\xa9t\xc3\xa9\n"
         b"X-Note: folded\n\tcontinuation\n"
         b"\n"
         b"From the start of a line\n"
         b">From already quoted\n"
         b"a line of 5000 bytes: " + b"x" * 4978 + b"\n"
         b"trailing blanks   \n"
         b"\n"
         b"last line\n")


def message(sender, rcpt, subject, body_bytes):
    head = ("From: %s\nTo: %s\nSubject: %s\n\n" % (sender, rcpt, subject)).encode()
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/0123456789\n"
    return head + line * (body_bytes // len(line) + 1)


def queue(tb):
    return {m["queue_id"]: m for m in tb.postqueue_j()}


def postcat_bh(tb, qid):
    return qtlib.sh(["postcat", "-c", tb.etc, "-bh", "-q", qid]).stdout


def split_export(data):
    """(X-Qtriage headers as (name, value) list, the rest of the message)."""
    ours, pos = [], 0
    while data.startswith(b"X-Qtriage-", pos):
        end = data.index(b"\n", pos)
        name, _, value = data[pos:end].partition(b": ")
        ours.append((name.decode(), value.decode("utf-8", "surrogateescape")))
        pos = end + 1
    return ours, data[pos:]


def strip_postfix_headers(msg):
    """The message minus the Received header Postfix put first and the
    Message-Id it added last (the injected messages have none)."""
    head, sep, body = msg.partition(b"\n\n")
    lines = head.split(b"\n")
    if not lines[0].startswith(b"Received: "):
        return msg
    i = 1
    while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
        i += 1
    lines = lines[i:]
    if lines and lines[-1].lower().startswith(b"message-id: "):
        lines = lines[:-1]
    return b"\n".join(lines) + sep + body


def parse_mboxrd(data):
    """Messages of an mboxrd file: (From line, message bytes)."""
    out = []
    if not data:
        return out
    assert data.startswith(b"From "), data[:80]
    # Split at From lines: the quoting guarantees no other line starts so.
    parts = re.split(rb"(?m)^(?=From )", data)
    for p in parts:
        if not p:
            continue
        first, _, rest = p.partition(b"\n")
        assert rest.endswith(b"\n\n"), rest[-40:]
        rest = rest[:-1]
        rest = re.sub(rb"(?m)^>(>*From )", rb"\1", rest)
        out.append((first, rest))
    return out


def check_envelope(c, qid, ours, pq, what):
    h = {}
    for n, v in ours:
        h.setdefault(n, []).append(v)
    c.eq(h.get("X-Qtriage-Queue-ID"), [qid], "%s: %s Queue-ID header" % (what, qid))
    c.eq(h.get("X-Qtriage-Queue-Name"), [pq["queue_name"]], "%s: %s queue name" % (what, qid))
    sender = "" if pq["sender"] == "MAILER-DAEMON" else pq["sender"]
    c.eq(h.get("X-Qtriage-Envelope-From"), ["<%s>" % sender], "%s: %s envelope sender" % (what, qid))
    c.eq(sorted(h.get("X-Qtriage-Envelope-To", [])),
         sorted("<%s>" % r["address"] for r in pq["recipients"]),
         "%s: %s pending recipients == postqueue -j" % (what, qid))
    return h


def check_eml_dir(c, tb, d, q, corpus, exact_id):
    st = os.lstat(d)
    c.eq(stat.S_IMODE(st.st_mode), 0o700, "export dir mode 0700")
    files = sorted(os.listdir(d))
    c.eq(files, sorted(i + ".eml" for i in q), "one ID.eml per queued message")
    by_token = qtlib.corpus_by_token(corpus)
    matched = 0
    out = {}
    for qid in q:
        p = os.path.join(d, qid + ".eml")
        if not os.path.exists(p):
            continue
        st = os.lstat(p)
        c.check(stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600,
                "%s.eml is a regular file, mode 0600 (%o)" % (qid, st.st_mode))
        data = open(p, "rb").read()
        out[qid] = data
        ours, msg = split_export(data)
        c.eq(msg, postcat_bh(tb, qid), "%s.eml minus X-Qtriage headers == postcat -bh -q" % qid)
        h = check_envelope(c, qid, ours, q[qid], "eml")
        if qid == exact_id:
            c.eq(strip_postfix_headers(msg), EXACT, "the exact message comes back byte for byte")
            continue
        tok = qtlib.token_of(msg.decode("utf-8", "replace"))
        e = by_token.get(tok)
        if e is None:
            continue
        matched += 1
        c.eq(h["X-Qtriage-Envelope-From"], ["<%s>" % e["sender"]],
             "%s: envelope sender == corpus.json" % qid)
        c.eq(sorted(h.get("X-Qtriage-Envelope-To", [])),
             sorted("<%s>" % r for r in e["expected_recipients"]),
             "%s: pending recipients == corpus.json" % qid)
        c.eq(sorted(h.get("X-Qtriage-Envelope-Done", [])),
             sorted("<%s>" % r for r in e["done_recipients"]),
             "%s: done recipients == corpus.json" % qid)
        original = strip_postfix_headers(msg)
        if "canonical" in e["kinds"]:
            # recipient_canonical_maps rewrote (and may have refolded) the To
            # header: put back the one corpus.py wrote.
            rcpts = e["recipients"] if len(e["recipients"]) <= 3 else ["undisclosed-recipients:;"]
            to = ("To: " + ", ".join(rcpts) + "\n").encode()
            original = re.sub(rb"(?m)^To: .*\n(?:[ \t].*\n)*", lambda _m: to, original, count=1)
        c.check(len(original) == e["size"], "%s: size of the injected message (%s)" % (qid, tok),
                "got %d, want %d: %r" % (len(original), e["size"], original.partition(b"\n\n")[0]))
        c.check(("X-Testbed-Token: " + tok).encode() in original, "%s: token header" % qid)
    c.eq(matched, len(corpus), "every corpus message found in the export")
    return out


def tiny_fs(base):
    """A 256 KB tmpfs at base/tiny, or None when mount is refused."""
    d = os.path.join(base, "tiny")
    os.mkdir(d)
    if os.environ.get("QTRIAGE_EXPORT_NO_MOUNT") == "1":
        log("QTRIAGE_EXPORT_NO_MOUNT=1: using RLIMIT_FSIZE")
        return d, False
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", d],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        log("mount -t tmpfs refused (%s): using RLIMIT_FSIZE" % p.stderr.decode().strip())
        return d, False
    log("full-disk test: 256 KB tmpfs at %s" % d)
    return d, True


def fsize_limit():
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))


def run_limited(args, mounted):
    argv = [qtlib.qtriage_path()] + args
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600,
                          stdin=subprocess.DEVNULL, preexec_fn=None if mounted else fsize_limit)


def on_tty(args, answer):
    """Run qtriage with a terminal as standard input and type `answer`."""
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen([qtlib.qtriage_path()] + args, stdin=slave, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        os.close(slave)
        os.write(master, answer.encode())
        out, err = p.communicate(timeout=120)
    finally:
        os.close(master)
    return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def ids_of(p):
    return sorted(l for l in p.stdout.decode().splitlines()[1:] if l)


def body(c):
    with qtlib.Testbed("export") as tb:
        os.chmod(tb.dir, 0o755)
        work = tempfile.mkdtemp(prefix="qtriage-export-work-", dir="/tmp")
        try:
            run_all(c, tb, work)
        finally:
            subprocess.run(["umount", os.path.join(work, "tiny")], stderr=subprocess.DEVNULL)
            shutil.rmtree(work, ignore_errors=True)


def run_all(c, tb, work):
    tb.inject(N)
    tb.sendmail("exact-sender@src.example", ["exact@dest.example"], EXACT)
    for i in range(3):
        tb.sendmail("flood@src.example", ["r%d@dest.example" % i],
                 message("flood@src.example", "r%d@dest.example" % i, "flood %d" % i, 500))
    for i in range(2):
        tb.sendmail("friend%d@src.example" % i, ["flood@src.example"],
                 message("friend%d@src.example" % i, "flood@src.example", "to flood", 500))
    for i in range(2):
        tb.sendmail("big@src.example", ["big%d@dest.example" % i],
                 message("big@src.example", "big%d@dest.example" % i, "big", int(5.4 * MB)))
    for i in range(8):
        tb.sendmail("mid@src.example", ["mid%d@dest.example" % i],
                 message("mid@src.example", "mid%d@dest.example" % i, "mid", 40 * 1024))
    tb.sendmail("mid@src.example", ["large@dest.example"],
             message("mid@src.example", "large@dest.example", "large", 300 * 1024))
    tb.sendmail("hostile@src.example", ["h@dest.example"],
             b"Subject: \x1b[31mred\x1b]0;title\x07 \x08\x08bell\r\n\nbody\n")
    tb.settle()
    q0 = queue(tb)
    corpus = tb.corpus()
    c.eq(len(q0), N + 18, "everything injected is queued")
    if not qtlib.have_qtriage():
        c.skip("qtriage checks: %s not found" % qtlib.qtriage_path())
        return
    exact_id = [i for i, m in q0.items() if m["sender"] == "exact-sender@src.example"][0]
    flood = sorted(i for i, m in q0.items() if m["sender"] == "flood@src.example")
    to_flood = sorted(i for i, m in q0.items()
                      if any(r["address"] == "flood@src.example" for r in m["recipients"]))
    big = sorted(i for i, m in q0.items() if m["message_size"] > 5 * MB)
    held = sorted(i for i, m in q0.items() if m["queue_name"] == "hold")
    c.eq((len(flood), len(to_flood), len(big)), (3, 2, 2), "test messages are queued")
    c.check(len(held) >= 1, "some held mail (%d)" % len(held))

    # --- list --filter with --ids / --format
    p = qtlib.qtriage(["list", "-c", tb.etc, "--filter", "sender=flood@src.example", "--ids"])
    c.eq(p.returncode, 0, "list --filter --ids exits 0")
    c.eq(sorted(p.stdout.decode().split()), flood, "list --filter sender=... --ids")
    p = qtlib.qtriage(["list", "-c", tb.etc, "--filter", "size>5M", "--ids"])
    c.eq(sorted(p.stdout.decode().split()), big, "list --filter size>5M --ids")
    p = qtlib.qtriage(["list", "-c", tb.etc, "--format", "%i|%q|%s|%z|%%|%r"])
    c.eq(p.returncode, 0, "list --format exits 0")
    got = {}
    for line in p.stdout.decode("utf-8").splitlines():
        f = line.split("|")
        got[f[0]] = (f[1], f[2], int(f[3]), f[4], sorted(f[5].split(", ")) if f[5] else [])
    want = {i: (m["queue_name"], m["sender"], m["message_size"], "%",
                sorted(r["address"] for r in m["recipients"])) for i, m in q0.items()}
    c.check(got == want, "list --format %i|%q|%s|%z|%%|%r == postqueue -j",
            [(i, got.get(i), want.get(i)) for i in set(got) | set(want) if got.get(i) != want.get(i)][:5])
    p = qtlib.qtriage(["list", "-c", tb.etc, "--filter", "sender=hostile@src.example",
                       "--format", "%S\\t%a %R"])
    out = p.stdout.decode("utf-8")
    c.check("red" in out and "bell" in out, "the hostile subject is listed", out)
    c.check(not re.search(r"[\x00-\x08\x0a-\x1f\x7f]", out.rstrip("\n")),
            "no control characters from a hostile subject", repr(out))
    p = qtlib.qtriage(["list", "-c", tb.etc, "--format", "%x"])
    c.eq(p.returncode, 2, "list --format with an unknown field exits 2")

    # --- export every message as .eml, then as mbox
    d = os.path.join(work, "eml")
    p = qtlib.qtriage(["export", "-c", tb.etc, "--dir", d, "--filter", ""])
    c.eq(p.returncode, 0, "export --dir exits 0 (%s)" % p.stderr.decode(errors="replace")[:300])
    c.eq(p.stdout.decode().splitlines()[:1], ["export to %s: %d exported" % (d, len(q0))],
         "export summary line")
    emls = check_eml_dir(c, tb, d, q0, corpus, exact_id)
    box = os.path.join(work, "all.mbox")
    p = qtlib.qtriage(["export", "-c", tb.etc, "--mbox", box, "-"],
                      input="\n".join(sorted(q0)).encode())
    c.eq(p.returncode, 0, "export --mbox (IDs on stdin) exits 0")
    c.eq(stat.S_IMODE(os.lstat(box).st_mode), 0o600, "mbox mode 0600")
    msgs = parse_mboxrd(open(box, "rb").read())
    c.eq(len(msgs), len(q0), "mbox holds one message per queued message")
    for first, m in msgs:
        ours, _ = split_export(m)
        qid = dict(ours).get("X-Qtriage-Queue-ID")
        sender = q0.get(qid, {}).get("sender", "?")
        c.check(first.startswith(b"From " + sender.encode() + b" "),
                "mbox From line of %s names its sender" % qid, first)
        c.eq(m, emls.get(qid), "mbox message %s == its .eml" % qid)

    # --- no clobbering, no following links
    victim, victim2 = flood[0], to_flood[0]
    bk = os.path.join(work, "bk")
    os.mkdir(bk, 0o700)
    with open(os.path.join(bk, victim + ".eml"), "w") as f:
        f.write("precious\n")
    target = os.path.join(work, "link-target")
    os.symlink(target, os.path.join(bk, victim2 + ".eml"))
    p = qtlib.qtriage(["delete", "-c", tb.etc, "--backup-dir", bk, victim, victim2])
    c.check(p.returncode != 0, "delete --backup-dir with name clashes fails (exit %d)" % p.returncode)
    c.check(b"NOT deleted" in p.stderr, "clear message on stderr", p.stderr)
    c.eq(open(os.path.join(bk, victim + ".eml")).read(), "precious\n", "existing file not overwritten")
    c.check(os.path.islink(os.path.join(bk, victim2 + ".eml")) and not os.path.exists(target),
            "symlink not followed")
    q1 = queue(tb)
    c.eq(sorted(q1), sorted(q0), "nothing deleted when the export failed")
    lnk = os.path.join(work, "bk-link")
    os.symlink(bk, lnk)
    p = qtlib.qtriage(["delete", "-c", tb.etc, "--backup-dir", lnk, victim])
    c.check(p.returncode != 0 and b"symbolic link" in p.stderr,
            "a symlinked backup dir is refused", p.stderr)
    mlink = os.path.join(work, "mbox-link")
    os.symlink(box, mlink)
    size = os.path.getsize(box)
    p = qtlib.qtriage(["export", "-c", tb.etc, "--mbox", mlink, victim])
    c.check(p.returncode != 0, "export to a symlinked mbox fails", p.stderr)
    c.eq(os.path.getsize(box), size, "the mbox behind the link is untouched")
    c.eq(sorted(queue(tb)), sorted(q0), "queue unchanged after the refused exports")

    # --- actions by filter: refusal, dry run, terminal
    p = qtlib.qtriage(["hold", "-c", tb.etc, "--filter", "sender=flood@src.example"],
                      input=b"")
    c.eq(p.returncode, 2, "hold --filter without --yes, stdin not a tty: exit 2")
    c.eq(ids_of(p), flood, "the refusal lists the IDs it would act on")
    c.check(re.match(rb"hold: 3 messages would be acted on", p.stdout), "and the count", p.stdout)
    p = qtlib.qtriage(["delete", "-c", tb.etc, "--filter", "size>5M", "--dry-run"])
    c.eq(p.returncode, 0, "delete --dry-run exits 0")
    c.eq(ids_of(p), big, "delete --dry-run lists the matching IDs")
    p = qtlib.qtriage(["hold", "-c", tb.etc, "--filter", "size>5M", "--backup-dir", bk, "--yes"])
    c.eq(p.returncode, 2, "--backup-dir with hold is refused")
    c.eq(queue(tb), q0, "refusal, dry run and misuse changed nothing")
    rc, out, err = on_tty(["hold", "-c", tb.etc, "--filter", "sender=flood@src.example"], "n\n")
    c.check(rc != 0 and "[y/N]" in err and "3 messages" in err,
            "on a terminal: asks with the count; 'n' refuses", (rc, out, err))
    c.eq(queue(tb), q0, "answer n changed nothing")
    rc, out, err = on_tty(["hold", "-c", tb.etc, "--filter", "sender=flood@src.example"], "y\n")
    c.eq((rc, out.splitlines()[:1]), (0, ["hold: 3 acted on"]), "answer y holds them")
    q2 = queue(tb)
    c.eq(sorted(i for i in q2 if q2[i]["queue_name"] == "hold"), sorted(held + flood),
         "exactly the flood messages were put on hold")
    p = qtlib.qtriage(["release", "-c", tb.etc] + flood)
    c.eq(p.returncode, 0, "release with explicit IDs, no --yes needed")

    # --- delete with a backup: everything from flood@, nothing addressed TO it
    bk2 = os.path.join(work, "bk2")
    before = {i: postcat_bh(tb, i) for i in flood}
    p = qtlib.qtriage(["delete", "-c", tb.etc, "--filter", "sender=flood@src.example",
                       "--yes", "--backup-dir", bk2])
    c.eq(p.returncode, 0, "delete --filter --yes --backup-dir exits 0 (%s)"
         % p.stderr.decode(errors="replace")[:300])
    c.eq(p.stdout.decode().splitlines()[:2],
         ["delete: 3 acted on", "export to %s: 3 exported" % bk2], "delete --backup-dir output")
    q3 = queue(tb)
    c.eq(sorted(set(q0) - set(q3)), flood, "exactly the flood messages were deleted")
    c.check(all(i in q3 for i in to_flood), "mail addressed TO flood@ is still queued")
    c.eq(stat.S_IMODE(os.lstat(bk2).st_mode), 0o700, "backup dir created 0700")
    c.eq(sorted(os.listdir(bk2)), sorted(i + ".eml" for i in flood), "backup holds what was deleted")
    for i in flood:
        data = open(os.path.join(bk2, i + ".eml"), "rb").read()
        c.eq(split_export(data)[1], before[i], "backup of %s == postcat before the delete" % i)

    # --- delete messages over 5 MB; release the whole hold queue
    p = qtlib.qtriage(["delete", "-c", tb.etc, "--filter", "size>5M", "--yes"])
    c.eq((p.returncode, p.stdout.decode().splitlines()[:1]), (0, ["delete: 2 acted on"]),
         "delete --filter size>5M --yes")
    q4 = queue(tb)
    c.eq(sorted(set(q3) - set(q4)), big, "exactly the big messages were deleted")
    p = qtlib.qtriage(["release", "-c", tb.etc, "--filter", "queue=hold", "--yes"])
    c.eq(p.returncode, 0, "release --filter queue=hold --yes exits 0")
    q5 = queue(tb)
    c.eq(sorted(q5), sorted(q4), "release deleted nothing")
    c.eq([i for i in q5 if q5[i]["queue_name"] == "hold"], [], "the hold queue is empty")
    c.eq(sorted(i for i in q5 if q5[i]["queue_name"] != q4[i]["queue_name"]), held,
         "exactly the held messages moved")
    p = qtlib.qtriage(["hold", "-c", tb.etc, "--filter", "sender=nobody@nowhere.example", "--yes"])
    c.eq(p.returncode, 0, "a filter matching nothing: exit 0")

    # --- FULL DISK: what does not fit stays queued
    tiny, mounted = tiny_fs(work)
    how = "tmpfs 256k" if mounted else "RLIMIT_FSIZE 256k"
    mid = sorted(i for i, m in q5.items() if m["sender"] == "mid@src.example")
    c.eq(len(mid), 9, "nine mid@ messages for the full-disk test")
    before = {i: postcat_bh(tb, i) for i in mid}
    tbox = os.path.join(tiny, "box")
    p = run_limited(["export", "-c", tb.etc, "--mbox", tbox, "--filter", "sender=mid@src.example"],
                    mounted)
    err = p.stderr.decode(errors="replace")
    c.check(p.returncode != 0, "[%s] export to a full mbox exits nonzero" % how)
    c.check(re.search(r"No space left on device|File too large", err),
            "[%s] the error says why" % how, err)
    boxed = parse_mboxrd(open(tbox, "rb").read()) if os.path.exists(tbox) else []
    for _first, m in boxed:
        ours, msg = split_export(m)
        c.eq(msg, before.get(dict(ours).get("X-Qtriage-Queue-ID")),
             "[%s] the mbox holds only whole messages" % how)
    exported_line = re.search(r"(\d+) exported", p.stdout.decode())
    c.eq(len(boxed), int(exported_line.group(1)) if exported_line else -1,
         "[%s] the mbox holds as many messages as reported exported" % how)
    os.unlink(tbox)

    tbk = os.path.join(tiny, "bk")
    p = run_limited(["delete", "-c", tb.etc, "--filter", "sender=mid@src.example", "--yes",
                     "--backup-dir", tbk], mounted)
    err = p.stderr.decode(errors="replace")
    log("[%s] delete --backup-dir on a full disk: exit %d, %s" % (how, p.returncode, err.strip()))
    c.check(p.returncode != 0, "[%s] delete --backup-dir on a full disk exits nonzero" % how)
    c.check("NOT deleted" in err and re.search(r"No space left on device|File too large", err),
            "[%s] clear message on stderr" % how, err)
    q6 = queue(tb)
    files = sorted(os.listdir(tbk))
    saved = sorted(f[:-4] for f in files)
    deleted = sorted(set(q5) - set(q6))
    c.eq(deleted, saved, "[%s] deleted == backed up" % how)
    kept = sorted(set(mid) - set(deleted))
    c.check(len(saved) >= 1 and len(kept) >= 1,
            "[%s] some fitted, some did not (%d exported, %d kept)" % (how, len(saved), len(kept)))
    c.check(all(i in q6 for i in kept), "[%s] what did not fit is still queued" % how)
    c.eq(sorted(i for i in q6 if q6[i]["sender"] == "mid@src.example"), kept,
         "[%s] postqueue -j lists exactly the kept ones" % how)
    for f in files:
        data = open(os.path.join(tbk, f), "rb").read()
        c.eq(split_export(data)[1], before.get(f[:-4]), "[%s] %s is whole (no partial files)" % (how, f))
    c.eq(sorted(set(q5) - set(q6) - set(mid)), [], "[%s] nothing else deleted" % how)
    log("full disk (%s): %d of %d exported and deleted, %d kept" % (how, len(saved), len(mid), len(kept)))


if __name__ == "__main__":
    qtlib.run_main("test_export", body)
