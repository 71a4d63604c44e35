#!/usr/bin/env python3
"""Generate a varied mail corpus and inject it into a test-bed Postfix instance.

Used by `testbed.sh inject-corpus DIR [N]`; can also be imported (build_message,
inject) by tests/data/make-fixtures.sh's helper and the integration tests.

Every message is injected with `sendmail -C CONFIG -i -f SENDER -- RCPT...` and
gets a unique token in its Subject ("[qt-<run>-<n>]"), so that the multiset of
decoded subjects identifies the corpus.  What was injected is appended to
CORPUS_JSON (a JSON list of objects):

  token            unique token, also in the X-Testbed-Token header
  sender           envelope sender as given to sendmail ("" = null sender)
  recipients       envelope recipients as given to sendmail (= orig_address)
  (recipients at retry.example are deferred with reason "Mailbox full (testbed)")
  expected_recipients  what postqueue -j should list: recipients after
                   recipient_canonical rewriting (alias.example -> canonical.example)
                   minus the ones the discard transport delivers (discard.example)
  done_recipients  recipients expected to be delivered (discard.example, unless
                   held), i.e. the D records once the message has settled in deferred
  subject          the decoded Subject as UTF-8 text (what qtriage should show)
  subject_kind     ascii|utf8-b|utf8-q|gb2312-b|big5-b|latin1-q|raw-utf8|raw-invalid
  subject_exact    false when the raw header is not valid UTF-8: then `subject` is
                   the bytes decoded with U+FFFD replacements and only the token is
                   guaranteed to survive in any decoding
  from / from_addr decoded From header / its addr-spec
  hold             true when X-Testbed-Hold: yes was set (message ends up in hold)
  kinds            list of features: plain, multipart, bounce, many-rcpt, large, ...
  size             bytes handed to sendmail
  via              "sendmail" or "smtp" (with --smtp-port: flooder and hijacked
                   account over SMTP, XCLIENT-claimed client identity); for smtp
                   also client_address, client_name ("unknown" without rDNS),
                   helo_name, sasl_username (null when not logged in), which the
                   queue file carries as A records of the same names
"""

import argparse
import base64
import concurrent.futures
import io
import json
import os
import random
import smtplib
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from email.utils import formatdate

# ---------------------------------------------------------------- senders

FLOODER = "promo@bulk-deals.example"
HIJACKED = "j.smith@customer-isp.example"
LEGIT = [
    "alice@corp.example",
    "bob.jones@corp.example",
    "newsletter@lists.example",
    "support@vendor.example",
    "carol-w@smallbiz.test",
]
SENDER_WEIGHTS = [(FLOODER, 55), (HIJACKED, 20), ("", 8)] + [(s, 17 / len(LEGIT)) for s in LEGIT]

DISPLAY_NAMES = {
    FLOODER: "Best Deals",
    HIJACKED: "John Smith",
    "alice@corp.example": "Alice Ärger",          # encoded display name
    "bob.jones@corp.example": "Bob Jones",
    "newsletter@lists.example": "Lists Newsletter",
    "support@vendor.example": "Vendor Support",
    "carol-w@smallbiz.test": "Carol W.",
}

RCPT_DOMAINS = [
    "mail.example", "inbox.test", "corp.example", "customer-isp.example",
    "example.net", "mx.example.org", "yahoo.test", "freemail.example",
]
LOCALPARTS = [
    "info", "sales", "john", "mary.k", "p.jones", "admin", "h-mueller", "kim",
    "li.wei", "chen", "office", "x1", "user42", "test.user", "anna-b", "zed",
]


def rand_rcpt(rng):
    return "%s%d@%s" % (rng.choice(LOCALPARTS), rng.randrange(1000), rng.choice(RCPT_DOMAINS))


# ---------------------------------------------------------------- subjects

def _split_chars(text, charset, maxbytes):
    """Split text into chunks whose encoding in charset is at most maxbytes,
    never splitting a character (mandatory for multibyte charsets)."""
    chunks, cur, curlen = [], "", 0
    for ch in text:
        n = len(ch.encode(charset))
        if cur and curlen + n > maxbytes:
            chunks.append(cur)
            cur, curlen = "", 0
        cur += ch
        curlen += n
    if cur:
        chunks.append(cur)
    return chunks


def encode_b(text, charset, fold=True):
    words = ["=?%s?B?%s?=" % (charset, base64.b64encode(c.encode(charset)).decode())
             for c in _split_chars(text, charset, 36)]
    return ("\n " if fold else " ").join(words)


def _q(data):
    out = []
    for b in data:
        c = chr(b)
        if b == 0x20:
            out.append("_")
        elif (c.isalnum() and b < 0x80) or c in "!*+-/":
            out.append(c)
        else:
            out.append("=%02X" % b)
    return "".join(out)


def encode_q(text, charset, fold=True):
    words = ["=?%s?Q?%s?=" % (charset, _q(c.encode(charset)))
             for c in _split_chars(text, charset, 20)]
    return ("\n " if fold else " ").join(words)


SUBJECT_KINDS = ["ascii", "utf8-b", "utf8-q", "gb2312-b", "big5-b", "latin1-q",
                 "raw-utf8", "raw-invalid"]


def make_subject(kind, token, rng):
    """Return (raw header value as bytes, expected decoded text, exact?)."""
    if kind == "ascii":
        text = rng.choice(["Invoice overdue", "Meeting tomorrow", "Your order has shipped",
                           "Re: quarterly report", "LIMITED OFFER - 90% off",
                           "Password reset request"]) + " " + token
        return text.encode(), text, True
    if kind == "utf8-b":
        text = rng.choice(["Grüße aus München – Angebot", "Ваш заказ отправлен",
                           "¡Oferta especial! ✓ 🎉", "Συνάντηση αύριο"]) + " " + token
        return encode_b(text, "UTF-8").encode(), text, True
    if kind == "utf8-q":
        text = rng.choice(["Café crème für Jürgen", "Réunion à 14h – ordre du jour",
                           "Smörgåsbord ståndaktig"]) + " " + token
        return encode_q(text, "UTF-8").encode(), text, True
    if kind == "gb2312-b":
        text = rng.choice(["测试邮件 发票", "您的订单已发货", "会议通知：明天上午十点"]) + " " + token
        return encode_b(text, "GB2312").encode(), text, True
    if kind == "big5-b":
        text = rng.choice(["測試郵件 繁體中文", "您的訂單已出貨", "會議通知"]) + " " + token
        return encode_b(text, "BIG5").encode(), text, True
    if kind == "latin1-q":
        text = rng.choice(["Café déjà vu", "Señor Muñoz año", "Ærlig talt øl"]) + " " + token
        return encode_q(text, "ISO-8859-1").encode(), text, True
    if kind == "raw-utf8":
        # unencoded 8-bit UTF-8 in the header, as sloppy clients send it
        text = rng.choice(["Nachricht für Sie", "Ελληνικά θέμα", "日本語の件名"]) + " " + token
        return text.encode("utf-8"), text, True
    if kind == "raw-invalid":
        # raw ISO-8859-1 bytes: not valid UTF-8
        raw = rng.choice([b"Prix sp\xe9cial \xe0 saisir", b"Gr\xfc\xdfe \xff\xfe aus K\xf6ln",
                          b"Fa\xe7ade r\xe9nov\xe9e"]) + b" " + token.encode()
        return raw, raw.decode("utf-8", "replace"), False
    raise ValueError(kind)


# ---------------------------------------------------------------- bodies

def tiny_png(w=4, h=4):
    raw = b"".join(b"\x00" + b"".join(bytes([x * 50 % 256, y * 50 % 256, 200]) for x in range(w))
                   for y in range(h))

    def chunk(t, d):
        c = t + d
        return struct.pack(">I", len(d)) + c + struct.pack(">I", zlib.crc32(c) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def fake_pdf(token):
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% " + token.encode()
            + b"\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def small_zip(token):
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("readme.txt", "token %s\n" % token)
        z.writestr("data/report.csv", "a,b,c\n1,2,3\n")
    return bio.getvalue()


def b64_lines(data):
    enc = base64.b64encode(data).decode()
    return "\n".join(enc[i:i + 76] for i in range(0, len(enc), 76))


def filler_text(rng, nbytes):
    words = ["lorem", "ipsum", "dolor", "sit", "amet", "queue", "postfix", "mail",
             "deferred", "triage", "message", "report", "numbers", "value"]
    out, n = [], 0
    while n < nbytes:
        line = " ".join(rng.choice(words) for _ in range(11))
        out.append(line)
        n += len(line) + 1
    return "\n".join(out)


def body_plain(rng, token, extra=0):
    text = "Hello,\n\nthis is test message %s.\n\nRegards\n" % token
    if extra:
        text += "\n" + filler_text(rng, extra) + "\n"
    return ["Content-Type: text/plain; charset=us-ascii"], text


def body_multipart(rng, token, extra=0):
    b = "=_qt_%s_%d" % (token.strip("[]"), rng.randrange(10 ** 6))
    parts = []
    parts.append("--%s\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
                 "Please find the documents attached (%s).\nGrüße\n" % (b, token))
    parts.append("--%s\nContent-Type: application/pdf; name=\"invoice-%d.pdf\"\n"
                 "Content-Transfer-Encoding: base64\n"
                 "Content-Disposition: attachment; filename=\"invoice-%d.pdf\"\n\n%s\n"
                 % (b, rng.randrange(9999), rng.randrange(9999), b64_lines(fake_pdf(token))))
    parts.append("--%s\nContent-Type: application/zip; name=\"archive.zip\"\n"
                 "Content-Transfer-Encoding: base64\n"
                 "Content-Disposition: attachment; filename=\"archive.zip\"\n\n%s\n"
                 % (b, b64_lines(small_zip(token))))
    parts.append("--%s\nContent-Type: image/png; name=\"logo.png\"\n"
                 "Content-Transfer-Encoding: base64\n"
                 "Content-Disposition: inline; filename=\"logo.png\"\n\n%s\n"
                 % (b, b64_lines(tiny_png())))
    if extra:
        blob = bytes(rng.getrandbits(8) for _ in range(min(extra, 4096))) * (extra // 4096 + 1)
        parts.append("--%s\nContent-Type: application/octet-stream; name=\"backup.bin\"\n"
                     "Content-Transfer-Encoding: base64\n"
                     "Content-Disposition: attachment; filename=\"backup.bin\"\n\n%s\n"
                     % (b, b64_lines(blob[:extra])))
    text = "This is a multi-part message in MIME format.\n\n" + "".join(parts) + "--%s--\n" % b
    return ["MIME-Version: 1.0", "Content-Type: multipart/mixed; boundary=\"%s\"" % b], text


def body_bounce(rng, token, orig_rcpt):
    b = "=_dsn_%d" % rng.randrange(10 ** 9)
    text = ("This is a MIME-encapsulated message.\n\n"
            "--%s\nContent-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n"
            "This is the mail system at host mx1.remote.example.\n\n"
            "I'm sorry to have to inform you that your message could not\n"
            "be delivered to one or more recipients.\n\n"
            "<%s>: host mx.remote.example said: 550 5.1.1 User unknown\n\n"
            "--%s\nContent-Description: Delivery report\nContent-Type: message/delivery-status\n\n"
            "Reporting-MTA: dns; mx1.remote.example\nArrival-Date: %s\n\n"
            "Final-Recipient: rfc822; %s\nAction: failed\nStatus: 5.1.1\n"
            "Diagnostic-Code: smtp; 550 5.1.1 User unknown\n\n"
            "--%s\nContent-Description: Undelivered Message Headers\nContent-Type: text/rfc822-headers\n\n"
            "From: someone@forged.example\nTo: %s\nSubject: you won %s\n\n"
            "--%s--\n") % (b, orig_rcpt, b, formatdate(), orig_rcpt, b, orig_rcpt, token, b)
    return ["MIME-Version: 1.0",
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"%s\"" % b], text


# ---------------------------------------------------------------- messages

def build_message(rng, token, sender, rcpts, subject_kind, kinds, hold=False, extra_size=0):
    """Return (message bytes, corpus entry without envelope fields)."""
    raw_subj, subj_text, exact = make_subject(subject_kind, token, rng)
    if sender == "":
        from_addr = "MAILER-DAEMON@mx1.remote.example"
        from_hdr = "MAILER-DAEMON@mx1.remote.example (Mail Delivery System)"
        from_text = from_hdr
    else:
        from_addr = sender
        name = DISPLAY_NAMES.get(sender, "")
        if name and not name.isascii():
            from_hdr = "%s <%s>" % (encode_b(name, "UTF-8", fold=False), sender)
        elif name:
            from_hdr = "\"%s\" <%s>" % (name, sender)
        else:
            from_hdr = sender
        from_text = "%s <%s>" % (name, sender) if name else sender
    if "bounce" in kinds:
        ctype, body = body_bounce(rng, token, rcpts[0])
    elif "multipart" in kinds:
        ctype, body = body_multipart(rng, token, extra_size)
    else:
        ctype, body = body_plain(rng, token, extra_size)
    to_list = rcpts if len(rcpts) <= 3 else ["undisclosed-recipients:;"]
    hdrs = [
        "From: " + from_hdr,
        "To: " + ", ".join(to_list),
        "Date: " + formatdate(localtime=True),
        "X-Testbed-Token: " + token,
    ]
    if hold:
        hdrs.append("X-Testbed-Hold: yes")
    hdrs += ctype
    msg = ("\n".join(hdrs)).encode() + b"\nSubject: " + raw_subj + b"\n\n" + body.encode("utf-8")
    entry = {
        "token": token,
        "subject": subj_text,
        "subject_kind": subject_kind,
        "subject_exact": exact,
        "from": from_text,
        "from_addr": from_addr,
        "hold": hold,
        "kinds": sorted(kinds),
        "size": len(msg),
    }
    return msg, entry


def expected_rcpts(rcpts, hold=False):
    """(recipients postqueue -j should list, recipients delivered at once).
    Held mail is never delivered, so nothing is done for it."""
    exp, done = [], []
    for r in rcpts:
        local, _, dom = r.rpartition("@")
        if dom == "discard.example" and not hold:
            done.append(r)
        elif dom == "alias.example":
            exp.append(local + "@canonical.example")
        else:
            exp.append(r)
    return exp, done


def plan(rng, n, run):
    """Yield (token, sender, rcpts, subject_kind, kinds, hold, extra_size)."""
    senders = [s for s, _ in SENDER_WEIGHTS]
    weights = [w for _, w in SENDER_WEIGHTS]
    # the first messages cover every feature once, whatever N is
    forced = [
        dict(kinds={"plain"}, subject="ascii"),
        dict(kinds={"multipart"}, subject="utf8-b"),
        dict(kinds={"plain"}, subject="utf8-q"),
        dict(kinds={"plain"}, subject="gb2312-b", hold=True),
        dict(kinds={"plain"}, subject="big5-b"),
        dict(kinds={"plain"}, subject="latin1-q"),
        dict(kinds={"plain"}, subject="raw-invalid"),
        dict(kinds={"plain"}, subject="raw-utf8"),
        dict(kinds={"bounce"}, subject="ascii", sender=""),
        dict(kinds={"plain", "many-rcpt"}, subject="ascii", nrcpt=50),
        dict(kinds={"multipart", "large"}, subject="utf8-b", extra=1000 * 1000),
        dict(kinds={"plain", "partly-delivered"}, subject="ascii"),
        dict(kinds={"plain", "canonical"}, subject="latin1-q"),
        dict(kinds={"multipart"}, subject="gb2312-b", hold=True),
        dict(kinds={"plain"}, subject="utf8-b", sender=HIJACKED),
        dict(kinds={"plain", "two-reasons"}, subject="utf8-q"),
    ]
    for i in range(n):
        token = "[qt-%s-%05d]" % (run, i)
        f = forced[i] if i < len(forced) else {}
        sender = f.get("sender")
        if sender is None:
            sender = rng.choices(senders, weights)[0]
        kinds = set(f.get("kinds", ()))
        if not kinds:
            if sender == "":
                kinds = {"bounce"}
            else:
                kinds = {"multipart"} if rng.random() < 0.2 else {"plain"}
        if sender == "":
            kinds = {"bounce"} | (kinds - {"plain", "multipart"})
        subject_kind = f.get("subject") or rng.choice(SUBJECT_KINDS)
        if "bounce" in kinds and not f:
            subject_kind = "ascii"
        hold = f.get("hold", False) if f else rng.random() < 0.05
        extra = f.get("extra", 0)
        if not f and rng.random() < 0.01:
            kinds.add("large")
            extra = rng.randrange(200 * 1000, 1000 * 1000)
        elif not f and rng.random() < 0.1:
            extra = rng.randrange(2000, 60000)
        nrcpt = f.get("nrcpt")
        if nrcpt is None:
            r = rng.random()
            if r < 0.02:
                nrcpt = 50
                kinds.add("many-rcpt")
            elif r < 0.15:
                nrcpt = rng.randrange(2, 6)
            else:
                nrcpt = 1
        rcpts = []
        while len(rcpts) < nrcpt:
            a = rand_rcpt(rng)
            if a not in rcpts:
                rcpts.append(a)
        if "partly-delivered" in kinds or (not f and not hold and rng.random() < 0.03):
            kinds.add("partly-delivered")
            rcpts.insert(rng.randrange(len(rcpts) + 1), "gone%d@discard.example" % i)
        if "two-reasons" in kinds or (not f and rng.random() < 0.03):
            kinds.add("two-reasons")
            rcpts.insert(rng.randrange(len(rcpts) + 1), "full%d@retry.example" % i)
        if "canonical" in kinds or (not f and rng.random() < 0.03):
            kinds.add("canonical")
            rcpts.insert(rng.randrange(len(rcpts) + 1), "user%d@alias.example" % i)
        if hold:
            kinds.add("hold")
        yield token, sender, rcpts, subject_kind, kinds, hold, extra


def inject_one(config, sender, rcpts, data):
    """Inject one message with sendmail; raise on failure."""
    argv = ["sendmail", "-C", config, "-i", "-f", sender, "--"] + list(rcpts)
    p = subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("sendmail failed (%d): %s" % (p.returncode, p.stderr.decode(errors="replace")))


def inject_smtp(port, sender, rcpts, data, xclient):
    """Inject one message over SMTP to the test bed's loopback smtpd (--smtpd),
    claiming client identity with XCLIENT (NAME, ADDR, HELO, LOGIN...)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
        s.ehlo("injector.localdomain")
        args = " ".join("%s=%s" % (k, v) for k, v in xclient.items())
        code, msg = s.docmd("XCLIENT", args)
        if code != 220:
            raise RuntimeError("XCLIENT %s: %d %s" % (args, code, msg))
        s.ehlo(xclient.get("HELO", "client.example"))
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        refused = s.sendmail(sender, list(rcpts), data)
        if refused:
            raise RuntimeError("SMTP refused recipients: %r" % refused)


def smtp_identity(rng, sender):
    """XCLIENT attributes for SMTP-injected senders, or None to use sendmail.
    The flooder sends from one host; the hijacked account logs in with SASL
    from many addresses (a botnet), some without reverse DNS."""
    if sender == FLOODER:
        return {"NAME": "bulk.mailer.example", "ADDR": "203.0.113.7", "PORT": rng.randrange(1024, 65535),
                "HELO": "bulk.mailer.example", "PROTO": "ESMTP"}
    if sender == HIJACKED:
        n = rng.randrange(1, 255)
        name = "[UNAVAILABLE]" if rng.random() < 0.5 else "host-%d.dyn.example" % n
        return {"NAME": name, "ADDR": "198.51.100.%d" % n, "PORT": rng.randrange(1024, 65535),
                "HELO": "PC-%04d" % rng.randrange(10000), "LOGIN": "j.smith", "PROTO": "ESMTP"}
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True, help="instance config directory (DIR/etc)")
    ap.add_argument("--out", required=True, help="corpus.json to append to")
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--jobs", type=int, default=4, help="parallel sendmail processes")
    ap.add_argument("--smtp-port", type=int, default=None,
                    help="test bed smtpd port (up --smtpd): flooder and hijacked-account mail "
                         "is injected over SMTP with XCLIENT client/SASL attributes")
    args = ap.parse_args()

    run = "%04x" % (random.SystemRandom().randrange(16 ** 4))
    seed = args.seed if args.seed is not None else int(run, 16)
    rng = random.Random(seed)

    existing = []
    if os.path.exists(args.out):
        with open(args.out, encoding="utf-8") as f:
            existing = json.load(f)

    work = []
    for token, sender, rcpts, skind, kinds, hold, extra in plan(rng, args.count, run):
        data, entry = build_message(rng, token, sender, rcpts, skind, kinds, hold, extra)
        exp, done = expected_rcpts(rcpts, hold)
        entry.update(sender=sender, recipients=rcpts, expected_recipients=exp,
                     done_recipients=done, via="sendmail")
        xc = smtp_identity(rng, sender) if args.smtp_port else None
        if any(r.endswith("@retry.example") for r in rcpts):
            xc = None       # smtpd would reject them (450 Mailbox full) at RCPT time
        if xc:
            entry.update(via="smtp", client_address=xc["ADDR"], helo_name=xc["HELO"],
                         client_name="unknown" if xc["NAME"] == "[UNAVAILABLE]" else xc["NAME"],
                         sasl_username=xc.get("LOGIN"))
        entry["_xclient"] = xc
        work.append((data, entry))

    t0 = time.monotonic()
    errors = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        futs = {}
        for d, e in work:
            xc = e.pop("_xclient")
            if xc:
                fu = ex.submit(inject_smtp, args.smtp_port, e["sender"], e["recipients"], d, xc)
            else:
                fu = ex.submit(inject_one, args.config, e["sender"], e["recipients"], d)
            futs[fu] = e
        for fu in concurrent.futures.as_completed(futs):
            try:
                fu.result()
            except Exception as exc:  # noqa: BLE001
                errors.append("%s: %s" % (futs[fu]["token"], exc))
    dt = time.monotonic() - t0

    entries = existing + [e for _, e in work]
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(entries, f, ensure_ascii=False, indent=1)
        f.write("\n")
    os.replace(tmp, args.out)

    nbytes = sum(len(d) for d, _ in work)
    print("inject-corpus: %d messages (%.1f MB) in %.1f s = %.0f msg/s, run %s%s"
          % (len(work), nbytes / 1e6, dt, len(work) / dt if dt else 0, run,
             ", %d FAILED" % len(errors) if errors else ""), file=sys.stderr)
    if errors:
        for e in errors[:10]:
            print("  " + e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
