#!/usr/bin/env python3
"""Nasty mail for a test-bed Postfix instance: what strangers can put in a queue.

    hostile.py DIR [--big-mb N] [--no-big] [--only NAME,...] [--list]

injects the messages below into the test bed in DIR (tests/testbed/testbed.sh
up DIR) with `sendmail -C DIR/etc`, as tests/testbed/corpus.py does, and
prints a JSON manifest of what it injected on standard output.  Used by
tests/integration/test_hostile.py; meant to be reused (import it, or run it)
by any test that shows queue content on a terminal.

Every message has its own envelope sender h-NAME-RUN@hostile.example and a
Subject that starts with the marker "HOSTILE-NAME-RUN" (plain ASCII, so it
survives whatever follows).  All recipients are remote, so everything stays in
deferred ("Connection refused").  The messages (NAME):

  esc-subject        raw ESC/CSI/OSC/DCS sequences, BEL, BS, DEL, C1 controls
                     (UTF-8 encoded U+0085/U+009B and a raw 0x9B byte), a bare
                     CR and BiDi/zero-width characters in Subject and body
  esc-encoded        the same hidden in RFC 2047 encoded-words (B and Q), so
                     they appear only after decoding
  esc-from-raw       escape sequences in the From display name (raw)
  esc-from-encoded   ... and RFC 2047-encoded in From
  esc-envelope       an ESC in the envelope sender (Postfix keeps the byte in
                     the queue file; showq prints it as '?')
  esc-attachment     attachment file names with escapes: quoted name=,
                     filename=, RFC 2231 filename*=, RFC 2047 in filename=
  invalid-utf8       invalid UTF-8 (stray bytes, overlong, surrogate, past
                     U+10FFFF, truncated) in Subject, From, body, file name
  long-header        a 100 KB Subject line and a 100 KB X-Long header line,
                     both unfolded, and a 100 KB body line
  many-rcpts         10,000 envelope recipients
  deep-mime          multipart nested 50 deep, a text part at the bottom
  big                a 50 MB message (base64 attachment); the test bed's
                     message_size_limit is raised to fit (postconf + reload)
  bad-base64         base64 parts that do not decode (garbage, truncated) and
                     one whose decoded text is full of escape sequences
  unknown-charset    encoded-words and text parts in charsets nobody knows,
                     and a declared utf-16 part of odd length
  nul-bytes          NUL bytes in a header (Postfix cuts the header there) and
                     in the body (kept)
  smtp-reply         a delay reason written by a remote server: while it is
                     delivered, a stub SMTP server on the relayhost's loopback
                     port answers RCPT TO with a 450 whose text holds UTF-8
                     encoded C1 controls (U+009B CSI, U+009D OSC, U+009C ST),
                     a raw 0x9B byte, ESC sequences, BEL, bidi overrides and
                     isolates (U+202E, U+2066), zero-width characters (U+200B,
                     U+FEFF); Postfix stores the reply in the defer log as it
                     came, but for ESC, BEL and the raw 0x9B, which its SMTP
                     client (3.7) turns into '?' itself.  The same bytes are in its Subject and From (raw).
                     Injected first, before anything has made the relayhost
                     look dead to qmgr; its entry has "queue_id" and
                     "reason_bytes" (hex of what the defer log must hold)

Manifest (one JSON object):
  {"run": "ab12", "dir": DIR, "config": DIR/etc, "messages": [
     {"name", "marker", "sender" (as given to sendmail), "recipients" (count),
      "first_recipient", "size" (bytes given to sendmail), "features": [...],
      "visible": [strings a sanitised Subject must still show]}, ...]}
Exit status 0 when every message was accepted by sendmail, 1 otherwise (the
manifest is printed anyway, with "error" set on the failed messages).
"""

import argparse
import base64
import concurrent.futures
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time

ESC = "\x1b"
# Escape sequences a terminal would act on: colour, clear screen, window
# title, OSC 8 hyperlink, OSC 52 clipboard write, DCS query, full reset,
# C1 CSI (encoded in UTF-8 as U+009B), NEL (U+0085).
ESCAPES = (ESC + "[31mRED" + ESC + "[0m " + ESC + "]0;pwned-title\x07 "
           + ESC + "]8;;http://evil.example/" + ESC + "\\click" + ESC + "]8;;" + ESC + "\\ "
           + ESC + "]52;c;ZXZpbA==\x07 " + ESC + "P1$q" + ESC + "\\ " + ESC + "c "
           + ESC + "[2J" + ESC + "[H bell\x07 bs\x08 del\x7f csi\u009b31m nel\u0085 end")
BIDI = "\u202eevil\u202c \u200bzero-width"
# What the stub SMTP server answers: every class the sanitiser must catch.
REPLY_HOSTILE = ("c1csi\u009b31mRED c1osc\u009d0;title\u009c rlo\u202eevil\u202c "
                 "lri\u2066iso\u2069 zw\u200bsp bom\ufeffx esc" + ESC + "[2J" + ESC
                 + "]0;pwned\x07").encode() + b" raw\x9b31m end"

NAMES = ["esc-subject", "esc-encoded", "esc-from-raw", "esc-from-encoded", "esc-envelope",
         "esc-attachment", "invalid-utf8", "long-header", "many-rcpts", "deep-mime", "big",
         "bad-base64", "unknown-charset", "nul-bytes", "smtp-reply"]

RCPT = "victim@mail.example"


def b64(data):
    return base64.b64encode(data).decode()


def b64_lines(data, width=76):
    s = b64(data)
    return ("\n".join(s[i:i + width] for i in range(0, len(s), width)) + "\n").encode()


def ew_b(text, charset="utf-8"):
    return "=?%s?B?%s?=" % (charset, b64(text.encode(charset) if isinstance(text, str) else text))


def ew_q(data, charset="utf-8"):
    out = []
    for c in data:
        if (0x30 <= c <= 0x39) or (0x41 <= c <= 0x5a) or (0x61 <= c <= 0x7a):
            out.append(chr(c))
        elif c == 0x20:
            out.append("_")
        else:
            out.append("=%02X" % c)
    return "=?%s?Q?%s?=" % (charset, "".join(out))


def head(marker, sender, subject_rest=b"", extra=b"", from_=None):
    """Common headers (bytes).  subject_rest is appended to the marker."""
    if isinstance(subject_rest, str):
        subject_rest = subject_rest.encode()
    fr = from_ if from_ is not None else ("Hostile Sender <%s>" % sender).encode()
    if isinstance(fr, str):
        fr = fr.encode()
    return (b"From: " + fr + b"\n"
            b"To: <" + RCPT.encode() + b">\n"
            b"Subject: " + marker.encode() + b" " + subject_rest + b"\n"
            b"Message-ID: <" + marker.encode() + b"@hostile.example>\n"
            b"MIME-Version: 1.0\n" + extra)


def mixed(boundary, parts):
    """multipart/mixed body: parts are (headers bytes, body bytes)."""
    out = b"This is a multi-part message in MIME format.\n"
    for h, body in parts:
        out += b"\n--" + boundary.encode() + b"\n" + h + b"\n" + body
        if not body.endswith(b"\n"):
            out += b"\n"
    return out + b"\n--" + boundary.encode() + b"--\n"


def build(name, run, big_mb=50):
    """(sender, recipients, data bytes, features, visible) for message `name`."""
    marker = "HOSTILE-%s-%s" % (name, run)
    sender = "h-%s-%s@hostile.example" % (name, run)
    rcpts = [RCPT]
    feats = []
    visible = [marker]
    ct_text = b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n"

    if name == "esc-subject":
        subj = (ESCAPES + " cr\rhere " + BIDI).encode() + b" c1-raw\x9b31m"
        body = ("Body: " + ESCAPES + "\n" + BIDI + "\n").encode() + b"raw c1 \x9b2J \x85\n"
        data = head(marker, sender, subj, ct_text) + b"\n" + body
        feats = ["esc", "c0", "c1", "bidi", "cr"]
        visible += ["RED", "pwned-title", "click", "end", "here"]
    elif name == "esc-encoded":
        hidden = ESC + "[2J" + ESC + "]0;title\x07 CLEARED \u009b1m \x07bell"
        subj = ew_b(hidden) + " " + ew_q((ESC + "[31m red " + ESC + "[0m\x08").encode())
        body = b"plain body\n"
        data = head(marker, sender, subj, ct_text) + b"\n" + body
        feats = ["esc", "rfc2047"]
        visible += ["CLEARED", "red"]
    elif name == "esc-from-raw":
        fr = ('"' + ESC + "[5mBlink" + ESC + "[0m Boss\u009b" + '" <boss@hostile.example>')
        data = head(marker, sender, "from with escapes", ct_text, from_=fr.encode()) + b"\nbody\n"
        feats = ["esc", "from"]
    elif name == "esc-from-encoded":
        fr = ew_b(ESC + "]0;owned\x07" + ESC + "[1mThe CEO" + ESC + "[0m") + " <ceo@hostile.example>"
        data = head(marker, sender, "encoded from with escapes", ct_text, from_=fr) + b"\nbody\n"
        feats = ["esc", "from", "rfc2047"]
    elif name == "esc-envelope":
        sender = "h-" + ESC + "[31m-%s@hostile.example" % run
        data = head(marker, "envelope@hostile.example", "escape in envelope sender", ct_text) \
            + b"\nbody\n"
        feats = ["esc", "envelope"]
    elif name == "esc-attachment":
        parts = [
            (ct_text, ("see attachments " + ESC + "[31mnow" + ESC + "[0m\n").encode()),
            (("Content-Type: application/octet-stream; name=\"" + ESC + "]0;x\x07evil"
              + ESC + "[31m.exe\"\nContent-Disposition: attachment; filename=\""
              + ESC + "[2Jinvoice\x07.pdf\"\nContent-Transfer-Encoding: base64\n").encode(),
             b64_lines(b"MZ\x90\x00 not really an exe")),
            (b"Content-Type: text/plain\nContent-Disposition: attachment; "
             b"filename*=utf-8''%1B%5D0%3Bowned%07%C2%9Breport.txt\n"
             b"Content-Transfer-Encoding: base64\n", b64_lines(b"report\n")),
            (("Content-Type: image/png\nContent-Disposition: attachment; filename=\""
              + ew_b(ESC + "[8mhidden" + ESC + "[0m.png") + "\"\n"
              "Content-Transfer-Encoding: base64\n").encode(), b64_lines(b"\x89PNG\r\n\x1a\n")),
        ]
        data = head(marker, sender, "attachments with escapes in their names",
                    b"Content-Type: multipart/mixed; boundary=\"hb1\"\n") + b"\n" \
            + mixed("hb1", parts)
        feats = ["esc", "attachment", "rfc2231"]
    elif name == "invalid-utf8":
        bad = (b"stray \xff\xfe bad \xc0\x80 overlong \xed\xa0\x80 surrogate "
               b"\xf4\x90\x80\x80 toobig \xe2\x82 trunc \x80 cont")
        parts = [
            (ct_text, b"body " + bad + b"\n"),
            (b"Content-Type: application/octet-stream; name=\"file\xff\xfe.bin\"\n"
             b"Content-Disposition: attachment; filename=\"file\xc0\xaf.bin\"\n"
             b"Content-Transfer-Encoding: base64\n", b64_lines(b"\x00\x01")),
        ]
        data = head(marker, sender, bad, b"Content-Type: multipart/mixed; boundary=\"hb2\"\n",
                    from_=b"\"Bad \xff\xc3\x28 Name\" <bad@hostile.example>") + b"\n" \
            + mixed("hb2", parts)
        feats = ["invalid-utf8"]
        visible += ["stray", "bad", "overlong", "surrogate", "toobig", "trunc", "cont"]
    elif name == "long-header":
        data = head(marker, sender, b"L" * 100000, b"X-Long: " + b"B" * 100000 + b"\n"
                    + ct_text) + b"\n" + b"x" * 100000 + b"\nend\n"
        feats = ["long-line"]
    elif name == "many-rcpts":
        rcpts = ["u%05d@many.example" % i for i in range(10000)]
        data = head(marker, sender, "ten thousand recipients", ct_text) + b"\nbody\n"
        feats = ["many-rcpts"]
    elif name == "deep-mime":
        depth = 50
        inner = ct_text + b"\n" + ("innermost part of " + marker + "\n").encode()
        for d in range(depth - 1, -1, -1):
            b = "deep%02d" % d
            inner = (("Content-Type: multipart/mixed; boundary=\"%s\"\n\n--%s\n" % (b, b)).encode()
                     + inner + ("\n--%s--\n" % b).encode())
        # the outermost Content-Type goes into the message header
        hdr, _, body = inner.partition(b"\n\n")
        data = head(marker, sender, "fifty nested multiparts", hdr + b"\n") + b"\n" + body
        feats = ["deep-mime"]
    elif name == "big":
        n = max(1, int(big_mb * 1000 * 1000 * 3 / 4) - 4096)
        blob = random.Random(50).randbytes(n)
        parts = [(ct_text, b"a big one\n"),
                 (b"Content-Type: application/octet-stream; name=\"big.bin\"\n"
                  b"Content-Disposition: attachment; filename=\"big.bin\"\n"
                  b"Content-Transfer-Encoding: base64\n", b64_lines(blob))]
        data = head(marker, sender, "%d MB" % big_mb,
                    b"Content-Type: multipart/mixed; boundary=\"hb3\"\n") + b"\n" \
            + mixed("hb3", parts)
        feats = ["big"]
    elif name == "bad-base64":
        parts = [
            (b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n",
             ("!!!! #### $$$$ not base64 at all " + ESC + "[31m ====\n@@@@\n").encode()),
            (b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n",
             b"SGVsbG8gV29yb\n"),
            (b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n",
             b64_lines(("decoded " + ESCAPES + "\n").encode())),
            (b"Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n",
             b"qp =1B[31mred=1B[0m =ZZ broken =\n"),
            (b"Content-Type: application/pdf; name=\"x.pdf\"\nContent-Transfer-Encoding: base64\n",
             b"%%%%%%%%\n"),
        ]
        data = head(marker, sender, "parts that do not decode",
                    b"Content-Type: multipart/mixed; boundary=\"hb4\"\n") + b"\n" \
            + mixed("hb4", parts)
        feats = ["bad-base64", "esc"]
    elif name == "unknown-charset":
        subj = (ew_b(b"\xde\xad\xbe\xef klingon", "x-klingon") + " "
                + ew_q(b"\xe4\xf6", "unknown-8bit") + " " + ew_b(b"+AGEAYgBj-", "utf-7"))
        parts = [
            (b"Content-Type: text/plain; charset=\"x-klingon\"\nContent-Transfer-Encoding: 8bit\n",
             b"tlhIngan Hol \xde\xad\xbe\xef \x1b[31m\n"),
            (b"Content-Type: text/plain; charset=utf-16\nContent-Transfer-Encoding: base64\n",
             b64_lines(b"\xff\xfeh\x00i\x00\x1b\x00[")),
            (b"Content-Type: text/html; charset=\"\"\n", b"<p>empty charset \xe9</p>\n"),
        ]
        data = head(marker, sender, subj, b"Content-Type: multipart/mixed; boundary=\"hb5\"\n") \
            + b"\n" + mixed("hb5", parts)
        feats = ["charset", "rfc2047"]
    elif name == "nul-bytes":
        data = head(marker, sender, b"before\x00after", ct_text) \
            + b"\nline with \x00 NUL\x00\x00 bytes\n\x00\nend\n"
        feats = ["nul"]
        visible += ["before"]
    elif name == "smtp-reply":
        data = head(marker, sender, REPLY_HOSTILE, ct_text,
                    from_=b'"Reply ' + REPLY_HOSTILE + b'" <' + sender.encode() + b">") \
            + b"\nThe delay reason of this message came from a stub SMTP server.\n"
        feats = ["esc", "c0", "c1", "bidi", "reason"]
        visible += ["RED", "evil", "iso", "end"]
    else:
        raise ValueError("unknown hostile message %r" % name)
    return sender, rcpts, data, feats, visible


class StubSmtp:
    """A loopback SMTP server that defers every recipient with `reply`.

    Serves on 127.0.0.1:port in a thread until stop() or `seconds` have
    passed, whichever is first: it never outlives a test that forgets it."""

    def __init__(self, port, reply, seconds=120):
        self.reply = reply
        self.deadline = time.monotonic() + seconds
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.stopped = threading.Event()
        self.rcpts = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            while not self.stopped.is_set() and time.monotonic() < self.deadline:
                try:
                    conn, _ = self.sock.accept()
                except socket.timeout:
                    continue
                threading.Thread(target=self._session, args=(conn,), daemon=True).start()
        finally:
            self.sock.close()

    def _session(self, conn):
        conn.settimeout(10)
        f = conn.makefile("rb")
        try:
            conn.sendall(b"220 stub.hostile.example ESMTP\r\n")
            for line in f:
                if self.stopped.is_set() or time.monotonic() > self.deadline:
                    break
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    conn.sendall(b"250-stub.hostile.example\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                                 b"250 SMTPUTF8\r\n")
                elif verb == b"MAIL":
                    conn.sendall(b"250 2.1.0 Ok\r\n")
                elif verb == b"RCPT":
                    self.rcpts += 1
                    conn.sendall(b"450 4.7.1 " + self.reply + b"\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 2.0.0 Bye\r\n")
                    break
                elif verb == b"DATA":
                    conn.sendall(b"554 5.5.1 No valid recipients\r\n")
                else:
                    conn.sendall(b"250 2.0.0 Ok\r\n")
        except OSError:
            pass
        finally:
            f.close()
            conn.close()

    def stop(self):
        self.stopped.set()
        self.thread.join(5)


def relayhost_port(config):
    p = subprocess.run(["postconf", "-c", config, "-h", "relayhost"], stdout=subprocess.PIPE,
                       check=True)
    return int(p.stdout.decode().strip().rsplit(":", 1)[1])


def defer_log_of(spool, qid):
    for root, _dirs, files in os.walk(os.path.join(spool, "defer")):
        if qid in files:
            return os.path.join(root, qid)
    return None


def inject_via_stub(config, entry, sender, rcpts, data, timeout=90):
    """Inject one message while StubSmtp answers on the relayhost's port, and
    wait until its defer log holds the stub's reply.  Sets entry["queue_id"]
    or entry["error"]."""
    spool = subprocess.run(["postconf", "-c", config, "-h", "queue_directory"],
                           stdout=subprocess.PIPE, check=True).stdout.decode().strip()
    stub = StubSmtp(relayhost_port(config), REPLY_HOSTILE, seconds=timeout + 10)
    try:
        err = inject_one(config, sender, rcpts, data)
        if err:
            entry["error"] = err
            return
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            p = subprocess.run(["postqueue", "-c", config, "-j"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
            for line in p.stdout.decode("utf-8", "replace").splitlines():
                m = json.loads(line)
                if m.get("sender") == sender:
                    entry["queue_id"] = m["queue_id"]
            path = entry.get("queue_id") and defer_log_of(spool, entry["queue_id"])
            if path:
                with open(path, "rb") as f:
                    if b"c1csi\xc2\x9b31mRED" in f.read():
                        return
            time.sleep(0.3)
        entry["error"] = "no defer log with the stub's reply after %d s (%d RCPT seen)" % (
            timeout, stub.rcpts)
    finally:
        stub.stop()


def prepare(config, big_mb):
    """Raise the test bed's message_size_limit so that a big_mb message fits."""
    need = int(big_mb * 1000 * 1000 * 1.2) + 1000000
    cur = subprocess.run(["postconf", "-c", config, "-h", "message_size_limit"],
                         stdout=subprocess.PIPE, check=True).stdout.decode().strip()
    if cur.isdigit() and int(cur) >= need:
        return
    subprocess.run(["postconf", "-c", config, "-e", "message_size_limit = %d" % need], check=True)
    t = time.time() - 10      # Postfix distrusts config files younger than a second or two
    os.utime(os.path.join(config, "main.cf"), (t, t))
    subprocess.run(["postfix", "-c", config, "reload"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    time.sleep(1)


def inject_one(config, sender, rcpts, data):
    """sendmail -C CONFIG -i -f SENDER -- RCPT...; returns an error string or None."""
    p = subprocess.run(["sendmail", "-C", config, "-i", "-f", sender, "--"] + list(rcpts),
                       input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        return "sendmail exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace").strip())
    return None


def inject(dir_, names=None, big_mb=50, run=None, jobs=3):
    """Inject the hostile messages into the test bed in dir_; return the manifest."""
    config = os.path.join(os.path.abspath(dir_), "etc")
    run = run or "%04x" % random.SystemRandom().randrange(16 ** 4)
    names = list(names or NAMES)
    if "big" in names:
        prepare(config, big_mb)
    entries = []
    work = []
    for name in names:
        sender, rcpts, data, feats, visible = build(name, run, big_mb)
        e = {"name": name, "marker": "HOSTILE-%s-%s" % (name, run), "sender": sender,
             "recipients": len(rcpts), "first_recipient": rcpts[0], "size": len(data),
             "features": feats, "visible": visible}
        entries.append(e)
        work.append((e, sender, rcpts, data))
    # First, alone: the stub must be the first thing qmgr meets at the
    # relayhost, before "Connection refused" marks it dead.
    for e, s, r, d in [w for w in work if w[0]["name"] == "smtp-reply"]:
        e["reason_bytes"] = REPLY_HOSTILE.hex()
        inject_via_stub(config, e, s, r, d)
    work = [w for w in work if w[0]["name"] != "smtp-reply"]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as ex:
        futs = {ex.submit(inject_one, config, s, r, d): e for e, s, r, d in work}
        for fu in concurrent.futures.as_completed(futs):
            err = fu.result()
            if err:
                futs[fu]["error"] = err
    return {"run": run, "dir": os.path.abspath(dir_), "config": config, "messages": entries}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", nargs="?", help="test bed directory (testbed.sh up DIR)")
    ap.add_argument("--big-mb", type=float, default=50, help="size of the big message (MB)")
    ap.add_argument("--no-big", action="store_true", help="leave the big message out")
    ap.add_argument("--only", default=None, help="comma-separated NAMEs")
    ap.add_argument("--run", default=None, help="run tag in markers and senders (default random)")
    ap.add_argument("--list", action="store_true", help="print the NAMEs and exit")
    a = ap.parse_args()
    if a.list:
        print("\n".join(NAMES))
        return 0
    if not a.dir:
        ap.error("DIR is required")
    if not os.path.isfile(os.path.join(a.dir, "etc", "main.cf")):
        ap.error("no test bed in %s (tests/testbed/testbed.sh up DIR)" % a.dir)
    names = a.only.split(",") if a.only else list(NAMES)
    bad = [n for n in names if n not in NAMES]
    if bad:
        ap.error("unknown NAME %s (--list shows them)" % ", ".join(bad))
    if a.no_big and "big" in names:
        names.remove("big")
    manifest = inject(a.dir, names, a.big_mb, a.run)
    json.dump(manifest, sys.stdout, indent=1)
    sys.stdout.write("\n")
    failed = [m for m in manifest["messages"] if "error" in m]
    for m in failed:
        print("hostile.py: %s: %s" % (m["name"], m["error"]), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
