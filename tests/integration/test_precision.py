#!/usr/bin/env python3
"""Integration test: the filter's precise selections on a real Postfix.

One test bed gets a dozen messages built to tell readings apart:
recipients at retry.example (deferred "4.2.2 Mailbox full"), other.example
("Connection refused") and discard.example (delivered at once: a done
recipient) mixed within one message; the null sender and a real sender
MAILER-DAEMON@...; X-Mailer and List-Id headers, one folded, one RFC 2047
encoded; two waves a clock second apart.  Every expectation is worked out
here from Postfix's own view (postqueue -j for recipients, delay reasons
and arrival times; postcat -e for the empty sender and done recipients;
postcat -h for headers), never from qtriage, and compared with
`qtriage list --filter EXPR --ids`:

  * sender="" and sender=<> are the null sender, not MAILER-DAEMON@...
  * rcpt(domain=D and class=C) wants one recipient with both: the message
    whose full mailbox is at another domain does not match (the old
    reading, rcpt_domain=D and class=C, does: shown to differ)
  * header.NAME: regex, equality on the unfolded value, the decoded
    List-Id, a missing header as ""
  * arrival with local ISO 8601 times (TZ set to a zone with DST rules)
  * hold --filter 'rcpt(...)' --yes and hold --filter 'header...' --yes
    move exactly the messages worked out, nothing else
Exit: 0 ok, 1 failures, 77 when not root.
"""

import email.header
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qtlib  # noqa: E402
from qtlib import log  # noqa: E402

TZ = "CET-1CEST,M3.5.0,M10.5.0/3"

# (name, sender, recipients, extra header lines)
WAVE1 = [
    ("M1", "s1@precision.example", ["full1@retry.example", "ref1@other.example"],
     b"X-Mailer: PHPMailer 6.1\n"),
    ("M2", "s2@precision.example", ["ref2@other.example"],
     b"X-Mailer: Microsoft Outlook 16.0\n"),
    ("M3", "s3@precision.example", ["full3@retry.example"],
     b"X-Mailer: PHPMailer\n 5.2.27 (https://github.com/PHPMailer/PHPMailer)\n"),
    ("M4", "s4@precision.example", ["gone4@discard.example", "ref4@other.example"],
     b"List-Id: =?UTF-8?Q?J=C3=BCrgens_Liste?= <juergen.lists.example>\n"),
    ("M5", "s5@precision.example", ["full5@retry.example", "gone5@discard.example"],
     b"List-Id: <other.lists.example>\n"),
    ("N1", "<>", ["ref6@other.example"], b""),
    ("N2", "MAILER-DAEMON@precision.example", ["ref7@other.example"], b""),
]
WAVE2 = [
    ("M6", "s6@precision.example", ["full8@retry.example"], b"X-Mailer: PHPMailer 6.9.1\n"),
    ("M7", "s7@precision.example", ["ref9@other.example"], b""),
]


def inject(tb, plan):
    for name, sender, rcpts, headers in plan:
        data = (b"From: %s\nTo: %s\nSubject: precision %s\n" % (
            sender.encode(), ", ".join(rcpts).encode(), name.encode()) + headers +
            b"\nbody of %s\nX-Mailer: PHPMailer in the body is no header\n" % name.encode())
        p = subprocess.run(["/usr/sbin/sendmail", "-C", tb.etc, "-i", "-f", sender, "--"] + rcpts,
                           input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=120)
        if p.returncode != 0:
            raise RuntimeError("sendmail failed: %s" % p.stderr.decode(errors="replace"))


def reason_class(reason):
    if re.search(r"mailbox full", reason or "", re.I):
        return "mailbox-full"
    if re.search(r"connection refused", reason or "", re.I):
        return "connection-refused"
    return "other"


def domain_of(addr):
    return addr.rsplit("@", 1)[1].lower() if "@" in addr else ""


def postfix_view(tb):
    """{queue_id: facts} from postqueue -j and postcat, for every message."""
    out = {}
    for m in tb.postqueue_j():
        qid = m["queue_id"]
        env = qtlib.sh(["postcat", "-c", tb.etc, "-e", "-q", qid]).stdout.decode("utf-8",
                                                                                 "replace")
        hdr = qtlib.sh(["postcat", "-c", tb.etc, "-h", "-q", qid]).stdout.decode("utf-8",
                                                                                 "replace")
        sender = re.search(r"^sender: ?(.*)$", env, re.M)
        done = re.findall(r"^done_recipient: (.*)$", env, re.M)
        headers = {}
        for field in re.split(r"\n(?![ \t])", hdr.split("\n\n", 1)[0]):
            if ":" not in field or field.startswith("*** "):
                continue
            name, value = field.split(":", 1)
            value = value.replace("\n", "")         # unfolding drops the line break only
            decoded = str(email.header.make_header(email.header.decode_header(value)))
            headers.setdefault(name.strip().lower(), []).append(decoded.strip())
        subject = headers.get("subject", [""])[0]
        out[qid] = {
            "name": subject.split()[-1] if subject.startswith("precision ") else None,
            "queue": m["queue_name"],
            "null_sender": sender is not None and sender.group(1) == "",
            "sender": sender.group(1) if sender else None,
            "arrival": m["arrival_time"],
            # Pending recipients with their reasons (postqueue -j), then the
            # done ones (postcat): one entry per recipient.
            "rcpts": [{"domain": domain_of(r["address"]), "state": "pending",
                       "class": reason_class(r.get("delay_reason"))}
                      for r in m["recipients"]] +
                     [{"domain": domain_of(a), "state": "done", "class": None} for a in done],
            "headers": headers,
        }
    return out


def selected(view, pred):
    return sorted(qid for qid, f in view.items() if pred(f))


def names(view, ids):
    return sorted(view[i]["name"] or i for i in ids)


def qtriage_ids(c, tb, expr):
    p = qtlib.qtriage(["-c", tb.etc, "list", "--filter", expr, "--ids"])
    c.eq(p.returncode, 0, "list --filter '%s' exits 0 (stderr: %s)"
         % (expr, p.stderr.decode(errors="replace")[:300]))
    c.eq(p.stderr.decode(errors="replace"), "", "list --filter '%s' says nothing on stderr"
         % expr)
    return sorted(l for l in p.stdout.decode().split() if l)


def check_list(c, tb, view, expr, pred, want_names=None):
    want = selected(view, pred)
    got = qtriage_ids(c, tb, expr)
    c.eq(names(view, got), names(view, want), "list --filter '%s' selects what Postfix says"
         % expr)
    if want_names is not None:      # and the plan agrees with Postfix
        c.eq(names(view, want), sorted(want_names), "Postfix's view of '%s' is as planned"
             % expr)
    return want


def hdr(f, name):
    return f["headers"].get(name.lower(), [])


def local(ts, fmt):
    return time.strftime(fmt, time.localtime(ts))


def body(c):
    os.environ["TZ"] = TZ           # for qtriage and for the expectations here
    time.tzset()
    with qtlib.Testbed("precision") as tb:
        inject(tb, WAVE1)
        tb.settle()
        view = postfix_view(tb)
        # The second wave arrives in a later second than every message of
        # the first: wait for the clock to pass it.
        last = max(f["arrival"] for f in view.values())
        while time.time() < last + 1:
            time.sleep(0.05)
        inject(tb, WAVE2)
        tb.settle()
        view = postfix_view(tb)
        c.eq(sorted(f["name"] for f in view.values()),
             sorted(n for n, *_ in WAVE1 + WAVE2), "the queue holds the planned messages")

        # The null sender, by every spelling, and not MAILER-DAEMON@...
        for expr in ('sender=""', "sender=<>", "sender:<>"):
            check_list(c, tb, view, expr, lambda f: f["null_sender"], ["N1"])
        check_list(c, tb, view, 'sender!=""', lambda f: not f["null_sender"],
                   [n for n, *_ in WAVE1 + WAVE2 if n != "N1"])
        check_list(c, tb, view, "sender=MAILER-DAEMON@precision.example",
                   lambda f: f["sender"] == "MAILER-DAEMON@precision.example", ["N2"])

        # One recipient satisfies the whole group.
        def group(f, dom, cls=None, state=None):
            return any(r["domain"] == dom and (cls is None or r["class"] == cls) and
                       (state is None or r["state"] == state) for r in f["rcpts"])

        def old(f, dom, cls):
            return (any(r["domain"] == dom and r["state"] == "pending" for r in f["rcpts"]) and
                    any(r["class"] == cls for r in f["rcpts"]))

        check_list(c, tb, view, "rcpt(domain=retry.example and class=mailbox-full)",
                   lambda f: group(f, "retry.example", "mailbox-full"), ["M1", "M3", "M5", "M6"])
        grouped = check_list(c, tb, view, "rcpt(domain=other.example and class=mailbox-full)",
                             lambda f: group(f, "other.example", "mailbox-full"), [])
        loose = check_list(c, tb, view, "rcpt_domain=other.example and class=mailbox-full",
                           lambda f: old(f, "other.example", "mailbox-full"), ["M1"])
        c.check(grouped != loose, "the group and the loose reading select different mail")
        check_list(c, tb, view, "rcpt(domain=other.example and not class=connection-refused)",
                   lambda f: any(r["domain"] == "other.example" and
                                 r["class"] != "connection-refused" for r in f["rcpts"]), [])
        check_list(c, tb, view, "rcpt(domain=discard.example and state=done)",
                   lambda f: group(f, "discard.example", state="done"), ["M4", "M5"])

        # Headers, read from the queue files.
        check_list(c, tb, view, "header.X-Mailer~/PHPMailer/",
                   lambda f: any("PHPMailer" in v for v in hdr(f, "X-Mailer")),
                   ["M1", "M3", "M6"])
        check_list(c, tb, view,
                   'header.x-mailer="PHPMailer 5.2.27 (https://github.com/PHPMailer/PHPMailer)"',
                   lambda f: "PHPMailer 5.2.27 (https://github.com/PHPMailer/PHPMailer)" in
                   hdr(f, "X-Mailer"), ["M3"])
        check_list(c, tb, view, "header.List-Id:Jürgens",
                   lambda f: any("Jürgens" in v for v in hdr(f, "List-Id")), ["M4"])
        check_list(c, tb, view, 'header.List-Id="" and rcpt(domain=other.example)',
                   lambda f: not hdr(f, "List-Id") and group(f, "other.example"),
                   ["M1", "M2", "M7", "N1", "N2"])

        # Absolute arrival times, local.
        m6 = next(f for f in view.values() if f["name"] == "M6")
        at = local(m6["arrival"], "%Y-%m-%dT%H:%M:%S")
        check_list(c, tb, view, "arrival>=" + at, lambda f: f["arrival"] >= m6["arrival"],
                   ["M6", "M7"])
        check_list(c, tb, view, "arrival<" + at, lambda f: f["arrival"] < m6["arrival"],
                   [n for n, *_ in WAVE1])
        check_list(c, tb, view, "arrival=" + at,
                   lambda f: f["arrival"] == m6["arrival"])
        day = local(m6["arrival"], "%Y-%m-%d")
        check_list(c, tb, view, "arrival=" + day,
                   lambda f: local(f["arrival"], "%Y-%m-%d") == day)
        check_list(c, tb, view, "arrival<" + day,
                   lambda f: local(f["arrival"], "%Y-%m-%d") < day, [])

        # Acting: exactly the messages worked out move to hold.
        def hold(expr, want):
            before = {q: f["queue"] for q, f in postfix_view(tb).items()}
            p = qtlib.qtriage(["-c", tb.etc, "hold", "--filter", expr, "--yes"])
            c.eq(p.returncode, 0, "hold --filter '%s' --yes exits 0 (%s)"
                 % (expr, p.stderr.decode(errors="replace")[:300]))
            after = postfix_view(tb)
            moved = sorted(q for q, f in after.items()
                           if f["queue"] == "hold" and before.get(q) != "hold")
            c.eq(names(after, moved), sorted(want), "hold --filter '%s' holds exactly those"
                 % expr)
            c.eq(sorted(after), sorted(before), "hold --filter '%s' loses no message" % expr)

        want = selected(view, lambda f: group(f, "other.example", "mailbox-full") or
                        group(f, "discard.example", state="done"))
        hold("rcpt(domain=other.example and class=mailbox-full) or "
             "rcpt(domain=discard.example and state=done)", names(view, want))
        want = selected(view, lambda f: any("PHPMailer" in v for v in hdr(f, "X-Mailer")))
        c.eq(names(view, want), ["M1", "M3", "M6"], "Postfix's view of the PHPMailer mail")
        hold("header.X-Mailer~/phpmailer/i", names(view, want))


if __name__ == "__main__":
    qtlib.run_main("precision", body)
