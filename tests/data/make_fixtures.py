#!/usr/bin/env python3
"""Make the queue-file fixtures in tests/data/ from a real Postfix (see README.md).

Run through make-fixtures.sh (as root).  Brings up two throwaway test-bed
instances (short IDs with a loopback smtpd; long IDs with hashed hold queue),
injects one specific message at a time, waits until it settles into deferred or
hold, and copies its queue file byte for byte to NAME.qf (mode 0444), its defer
log to NAME.defer, `postcat NAME.qf` output to NAME.postcat and its postqueue -j
line to NAME.json.  MANIFEST.json describes every fixture and what a reader
should find in it.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TESTBED = os.path.join(ROOT, "tests", "testbed", "testbed.sh")
sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.join(ROOT, "tests", "testbed"))
import corpus as cp  # noqa: E402

DATE = "Mon, 02 Mar 2026 09:15:00 +0100"


def sh(argv, input=None, check=True, cwd=None):
    p = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
    if check and p.returncode != 0:
        sys.exit("make_fixtures: %s failed (%d): %s" % (" ".join(argv), p.returncode,
                                                     p.stderr.decode(errors="replace")))
    return p


def msg(headers, body, subject_raw):
    """headers: list of str; subject_raw: bytes (already encoded or raw 8-bit)."""
    return ("\n".join(headers)).encode() + b"\nSubject: " + subject_raw + b"\n\n" + body.encode()


def std_headers(from_hdr, to, extra=()):
    return ["From: " + from_hdr, "To: " + to, "Date: " + DATE] + list(extra)


PLAIN_BODY = "Hello,\n\nthis is a qtriage fixture message.\n\nRegards\n"


def fixtures():
    """Yield dicts: name, inst (short|long), sender, rcpts, data, description,
    expect (facts for MANIFEST), optional via='smtp' + xclient."""
    yield dict(name="deferred-plain", inst="short", sender="alice@corp.example",
               rcpts=["bob@mail.example"],
               data=msg(std_headers('"Alice A." <alice@corp.example>', "bob@mail.example",
                                    ["Content-Type: text/plain; charset=us-ascii"]),
                        PLAIN_BODY, b"Plain ASCII fixture"),
               description="plain text, one recipient, sendmail",
               expect={"subject": "Plain ASCII fixture", "from": '"Alice A." <alice@corp.example>'})

    rng = cp.random.Random(7)
    ctype, body = cp.body_multipart(rng, "[fixture]")
    subj = "Rechnung für März – 3 Anhänge"
    yield dict(name="deferred-multipart-attach", inst="short", sender="billing@vendor.example",
               rcpts=["accounts@customer-isp.example"],
               data=msg(std_headers("Vendor Billing <billing@vendor.example>",
                                    "accounts@customer-isp.example") + ctype,
                        body, cp.encode_b(subj, "UTF-8").encode()),
               description="multipart/mixed: text/plain (8bit UTF-8) + invoice PDF + zip + PNG "
                           "(base64); UTF-8 B-encoded subject folded over two lines",
               expect={"subject": subj, "attachments": ["invoice-*.pdf", "archive.zip", "logo.png"]})

    subj = "测试邮件：发票已开具"
    yield dict(name="hold-gb2312-subject", inst="short", sender="sales@shop.example",
               rcpts=["li.wei@mail.example"],
               data=msg(std_headers("sales@shop.example", "li.wei@mail.example",
                                    ["X-Testbed-Hold: yes",
                                     "Content-Type: text/plain; charset=gb2312",
                                     "Content-Transfer-Encoding: 8bit"]),
                        "",  # body set below (GB2312 bytes)
                        cp.encode_b(subj, "GB2312").encode()).replace(
                   b"\n\n", b"\n\n" + "您好，这是测试。\n".encode("gb2312"), 1),
               description="held by header_checks (X-Testbed-Hold); GB2312 B-encoded subject; "
                           "8-bit GB2312 body",
               expect={"subject": subj, "queue_name": "hold"})

    subj = "測試郵件 繁體中文"
    yield dict(name="deferred-big5-subject", inst="short", sender="news@tw.example",
               rcpts=["chen@mail.example"],
               data=msg(std_headers("news@tw.example", "chen@mail.example"), PLAIN_BODY,
                        cp.encode_b(subj, "BIG5").encode()),
               description="Big5 B-encoded subject", expect={"subject": subj})

    subj = "Café crème à la carte"
    yield dict(name="deferred-latin1-subject", inst="short", sender="chef@bistro.example",
               rcpts=["gourmet@mail.example"],
               data=msg(std_headers("chef@bistro.example", "gourmet@mail.example"), PLAIN_BODY,
                        cp.encode_q(subj, "ISO-8859-1").encode()),
               description="ISO-8859-1 Q-encoded subject (several encoded words, underscores)",
               expect={"subject": subj})

    subj = "Grüße aus Köln"
    name = "Jörg Müller"
    yield dict(name="deferred-utf8-q-subject", inst="short", sender="joerg@corp.example",
               rcpts=["anna@mail.example"],
               data=msg(std_headers("%s <joerg@corp.example>" % cp.encode_b(name, "UTF-8", fold=False),
                                    "anna@mail.example"), PLAIN_BODY,
                        cp.encode_q(subj, "UTF-8").encode()),
               description="UTF-8 Q-encoded subject; UTF-8 B-encoded From display name",
               expect={"subject": subj, "from": "%s <joerg@corp.example>" % name})

    raw = b"Prix sp\xe9cial \xe0 saisir \xff"
    yield dict(name="deferred-raw-8bit-subject", inst="short", sender="promo@bulk-deals.example",
               rcpts=["victim@mail.example"],
               data=msg(std_headers("promo@bulk-deals.example", "victim@mail.example"), PLAIN_BODY, raw),
               description="raw 8-bit ISO-8859-1 bytes in Subject, not valid UTF-8 (no encoded words)",
               expect={"subject_raw_hex": raw.hex(), "subject_valid_utf8": False})

    subj = "Nachricht für Sie – 日本語"
    yield dict(name="deferred-raw-utf8-subject", inst="short", sender="carol-w@smallbiz.test",
               rcpts=["dave@mail.example"],
               data=msg(std_headers("carol-w@smallbiz.test", "dave@mail.example"), PLAIN_BODY,
                        subj.encode()),
               description="raw (unencoded) UTF-8 in Subject", expect={"subject": subj})

    ctype, body = cp.body_bounce(cp.random.Random(3), "[fixture]", "forged.user@customer-isp.example")
    yield dict(name="deferred-null-sender", inst="short", sender="",
               rcpts=["forged.user@customer-isp.example"],
               data=msg(std_headers("MAILER-DAEMON@mx1.remote.example (Mail Delivery System)",
                                    "forged.user@customer-isp.example") + ctype, body,
                        b"Undelivered Mail Returned to Sender"),
               description="null sender (S record empty; postqueue -j shows MAILER-DAEMON); "
                           "multipart/report DSN",
               expect={"subject": "Undelivered Mail Returned to Sender", "sender": "",
                       "postqueue_sender": "MAILER-DAEMON", "null_sender": True})

    r = cp.random.Random(50)
    rcpts = []
    while len(rcpts) < 50:
        a = cp.rand_rcpt(r)
        if a not in rcpts:
            rcpts.append(a)
    yield dict(name="deferred-50-rcpt", inst="short", sender="newsletter@lists.example",
               rcpts=rcpts,
               data=msg(std_headers("Lists Newsletter <newsletter@lists.example>",
                                    "undisclosed-recipients:;"), PLAIN_BODY, b"Monthly newsletter"),
               description="50 recipients in 8 domains; postqueue -j lists them in defer-log "
                           "order, which differs from queue-file order",
               expect={"subject": "Monthly newsletter", "recipient_count": 50})

    yield dict(name="deferred-partly-delivered", inst="short", sender="alice@corp.example",
               rcpts=["gone@discard.example", "kept@mail.example", "gone2@discard.example"],
               data=msg(std_headers("alice@corp.example",
                                    "gone@discard.example, kept@mail.example, gone2@discard.example"),
                        PLAIN_BODY, b"Partly delivered"),
               description="two recipients delivered at once by the discard transport (D records, "
                           "i.e. R records overwritten in place), one deferred",
               expect={"subject": "Partly delivered", "done_recipients":
                       ["gone@discard.example", "gone2@discard.example"],
                       "recipients": ["kept@mail.example"]})

    yield dict(name="deferred-two-reasons", inst="short", sender="bob.jones@corp.example",
               rcpts=["full@retry.example", "remote@mail.example"],
               data=msg(std_headers("bob.jones@corp.example", "full@retry.example, remote@mail.example"),
                        PLAIN_BODY, b"Two delay reasons"),
               description="two recipients deferred for different reasons (retry transport: "
                           "'Mailbox full (testbed)'; relayhost: Connection refused)",
               expect={"subject": "Two delay reasons"})

    yield dict(name="deferred-canonical-rcpt", inst="short", sender="alice@corp.example",
               rcpts=["someone@alias.example", "other@mail.example"],
               data=msg(std_headers("alice@corp.example", "someone@alias.example"), PLAIN_BODY,
                        b"Canonical rewrite"),
               description="recipient_canonical_maps rewrote someone@alias.example to "
                           "someone@canonical.example: O record (original) differs from R record",
               expect={"subject": "Canonical rewrite", "recipients": [
                   {"address": "someone@canonical.example", "orig_address": "someone@alias.example"},
                   {"address": "other@mail.example", "orig_address": "other@mail.example"}]})

    long_body = "Start\n" + ("0123456789" * 500) + "\nEnd\n"
    long_to = ", ".join("recipient%02d@long-domain-name.example" % i for i in range(60))
    yield dict(name="deferred-long-lines", inst="short", sender="alice@corp.example",
               rcpts=["x@mail.example"],
               data=msg(["From: alice@corp.example", "To: " + long_to, "Date: " + DATE,
                         "X-Long: " + "y" * 3000], long_body, b"Long lines"),
               description="To: header of ~2700 chars and X-Long: header of 3000 chars on one line, "
                           "body line of 5000 chars: lines longer than line_length_limit (2048) are "
                           "stored as L (continuation) records followed by N",
               expect={"subject": "Long lines"})

    yield dict(name="deferred-smtp-sasl", inst="short", sender="j.smith@customer-isp.example",
               rcpts=["target1@mail.example", "target2@freemail.example"],
               data=msg(std_headers("John Smith <j.smith@customer-isp.example>",
                                    "target1@mail.example, target2@freemail.example"),
                        PLAIN_BODY, b"You have won"),
               via="smtp",
               xclient={"NAME": "[UNAVAILABLE]", "ADDR": "198.51.100.23", "PORT": "50123",
                        "HELO": "PC-4711", "LOGIN": "j.smith", "PROTO": "ESMTP"},
               description="received over SMTP from a SASL-authenticated (hijacked) account: A "
                           "records client_address, client_name=unknown, helo_name, sasl_method, "
                           "sasl_username, log_* ...; some A records come after the S record",
               expect={"subject": "You have won", "attributes": {
                   "client_address": "198.51.100.23", "client_name": "unknown",
                   "helo_name": "PC-4711", "sasl_username": "j.smith", "sasl_method": "XCLIENT"}})

    subj = "Long queue ID – ½ price"
    yield dict(name="deferred-long-id", inst="long", sender="alice@corp.example",
               rcpts=["bob@mail.example"],
               data=msg(std_headers("alice@corp.example", "bob@mail.example"), PLAIN_BODY,
                        cp.encode_b(subj, "UTF-8").encode()),
               description="enable_long_queue_ids = yes (ID = 10 base-52 chars, 'z', inode in "
                           "base 51); hash_queue_depth 2 (hash dirs from the microseconds, in hex)",
               expect={"subject": subj, "long_id": True})

    yield dict(name="hold-long-id", inst="long", sender="promo@bulk-deals.example",
               rcpts=["x@mail.example", "y@inbox.test"],
               data=msg(std_headers("promo@bulk-deals.example", "x@mail.example, y@inbox.test",
                                    ["X-Testbed-Hold: yes"]), PLAIN_BODY, b"Held, long ID"),
               description="held message with a long queue ID, hold queue hashed (--hash-hold)",
               expect={"subject": "Held, long ID", "queue_name": "hold", "long_id": True})


def postqueue_lines(etc):
    p = sh(["postqueue", "-c", etc, "-j"])
    return {json.loads(l)["queue_id"]: l for l in p.stdout.decode("utf-8").splitlines() if l.strip()}


def find_file(spool, qid, queues):
    for q in queues:
        for root, _d, files in os.walk(os.path.join(spool, q)):
            if qid in files:
                return os.path.join(root, qid)
    return None


def main():
    if os.geteuid() != 0:
        sys.exit("make_fixtures: must run as root")
    outdir = HERE
    base = tempfile.mkdtemp(prefix="qtriage-fixtures-", dir="/tmp")
    os.chmod(base, 0o755)          # postfix must be able to reach the instances
    inst = {"short": os.path.join(base, "short"), "long": os.path.join(base, "long")}
    opts = {"short": ["--smtpd"], "long": ["--long-ids", "--hash-hold", "--depth", "2"]}
    manifest = []
    try:
        for k, d in inst.items():
            sh([TESTBED, "up", d] + opts[k])
        for f in fixtures():
            d = inst[f["inst"]]
            etc, spool = os.path.join(d, "etc"), os.path.join(d, "spool")
            before = set(postqueue_lines(etc))
            if f.get("via") == "smtp":
                port = int(open(os.path.join(d, "smtpd_port")).read())
                cp.inject_smtp(port, f["sender"], f["rcpts"], f["data"], f["xclient"])
            else:
                cp.inject_one(etc, f["sender"], f["rcpts"], f["data"])
            deadline = time.monotonic() + 60
            while True:
                sh([TESTBED, "settle", d, "60"])
                lines = postqueue_lines(etc)
                new = sorted(set(lines) - before)
                if new or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            if len(new) != 1:
                sys.exit("make_fixtures: %s: expected one new queue ID, got %r" % (f["name"], new))
            qid = new[0]
            obj = json.loads(lines[qid])
            qpath = find_file(spool, qid, ("deferred", "hold"))
            if not qpath:
                sys.exit("make_fixtures: %s: queue file of %s not found" % (f["name"], qid))
            dst = os.path.join(outdir, f["name"] + ".qf")
            for ext in (".qf", ".defer", ".postcat", ".json"):
                p = os.path.join(outdir, f["name"] + ext)
                if os.path.exists(p):
                    os.chmod(p, 0o644)
                    os.unlink(p)
            shutil.copyfile(qpath, dst)
            os.chmod(dst, 0o444)
            dpath = find_file(spool, qid, ("defer",))
            if dpath:
                shutil.copyfile(dpath, os.path.join(outdir, f["name"] + ".defer"))
            elif obj["queue_name"] == "deferred":
                sys.exit("make_fixtures: %s: deferred but no defer log" % f["name"])
            pc = sh(["postcat", f["name"] + ".qf"], cwd=outdir)
            with open(os.path.join(outdir, f["name"] + ".postcat"), "wb") as fh:
                fh.write(pc.stdout)
            with open(os.path.join(outdir, f["name"] + ".json"), "w", encoding="utf-8") as fh:
                fh.write(lines[qid].rstrip("\n") + "\n")
            st = os.stat(qpath)
            entry = {
                "name": f["name"],
                "description": f["description"],
                "queue_id": qid,
                "queue_name": obj["queue_name"],
                "queue_path": os.path.relpath(qpath, spool),
                "instance": " ".join(opts[f["inst"]]) or "defaults",
                "injected_via": f.get("via", "sendmail"),
                "sender": f["sender"],
                "recipients_injected": f["rcpts"],
                "file_mode": "%04o" % (st.st_mode & 0o7777),
                "mtime": int(st.st_mtime),
                "files": [f["name"] + e for e in (".qf", ".defer", ".postcat", ".json")
                          if os.path.exists(os.path.join(outdir, f["name"] + e))],
                "expect": f["expect"],
            }
            manifest.append(entry)
            print("%-28s %-18s %s" % (f["name"], qid, obj["queue_name"]))
        with open(os.path.join(outdir, "MANIFEST.json"), "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, ensure_ascii=False, indent=1)
            fh.write("\n")
        bad = []
        for d in inst.values():
            bad += [l for l in open(os.path.join(d, "maillog"), errors="replace")
                    if " warning: " in l or " fatal: " in l]
        if bad:
            print("maillog warnings:\n" + "".join(bad[:10]), file=sys.stderr)
    finally:
        for d in inst.values():
            sh([TESTBED, "down", d, "--purge"], check=False)
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
