#!/usr/bin/env python3
"""Integration test: `qtriage list --json` against a real Postfix queue.

Two throwaway instances: (1) short queue IDs, default hashing; (2) long queue IDs,
hold queue hashed too, hash_queue_depth 2.  Each gets the varied corpus from
tests/testbed/corpus.py, injected with sendmail (and, for the flooder and the
hijacked SASL account, over SMTP to a loopback smtpd with XCLIENT, so that those
queue files carry client_address/sasl_username/... A records), then settled into
deferred/hold.
Then, per instance:
  * Postfix side (always): postqueue -j agrees with corpus.json (who sent what to
    whom, which messages are held, delay reasons present), queue files are where
    the hashing settings say.
  * qtriage side (when $QTRIAGE exists): qtriage list --json equals postqueue -j
    message for message (IDs, queue_name, sender, message_size, arrival_time,
    forced_expire, recipients with delay_reason, in the same order), and the
    extra fields are right: decoded subject/from vs corpus.json, orig_address,
    done_recipients, null_sender, next_retry (= mtime), file_size, attributes,
    content_size/data_offset (vs postcat).  --queue hold / --queue deferred.

Environment: QTRIAGE (binary), QTRIAGE_LISTING_N (messages per instance, default
300), QTRIAGE_KEEP_TESTBED=1 (keep the instances' directories).
Exit: 0 ok, 1 failures, 77 when qtriage is missing (Postfix-side checks still ran).
"""

import collections
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qtlib  # noqa: E402
from qtlib import log  # noqa: E402

N = int(os.environ.get("QTRIAGE_LISTING_N", "300"))

SHORT_ID = re.compile(r"^[0-9A-F]{6,}$")
# long IDs: 6 chars base-52 seconds + 4 chars base-52 microseconds (digits and
# consonants, 'z' included), then 'z', then the inode number in base 51 (no 'z')
LONG_ID = re.compile(r"^[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10}z[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-y]+$")


def shown_sender(s):
    return s if s else "MAILER-DAEMON"


def rcpt_pairs(m):
    return [(r["address"], r.get("delay_reason")) for r in m.get("recipients", [])]


def check_postfix_side(c, tb, pq, corpus, long_ids, hash_hold, depth):
    """postqueue -j vs corpus.json, and the on-disk layout."""
    name = os.path.basename(tb.dir)
    c.eq(len(pq), len(corpus), "[%s] postqueue -j lists every injected message" % name)

    want = collections.Counter((shown_sender(e["sender"]), tuple(sorted(e["expected_recipients"])))
                               for e in corpus)
    got = collections.Counter((m["sender"], tuple(sorted(r["address"] for r in m["recipients"])))
                              for m in pq)
    c.check(want == got, "[%s] postqueue -j sender/recipients multiset equals corpus.json" % name,
            {"missing": list((want - got).items())[:5], "unexpected": list((got - want).items())[:5]})

    nhold = sum(1 for e in corpus if e["hold"])
    c.eq(sum(1 for m in pq if m["queue_name"] == "hold"), nhold, "[%s] held message count" % name)
    c.eq(sorted(set(m["queue_name"] for m in pq) - {"deferred", "hold"}), [],
         "[%s] all mail settled into deferred/hold" % name)

    no_reason = [m["queue_id"] for m in pq if m["queue_name"] == "deferred"
                 and not all(r.get("delay_reason") for r in m["recipients"])]
    c.eq(no_reason, [], "[%s] every deferred recipient has a delay_reason" % name)
    def reason_ok(r):
        if r["address"].endswith("@retry.example"):
            return r["delay_reason"] == "Mailbox full (testbed)"
        return "Connection refused" in r["delay_reason"]
    refused = [m["queue_id"] for m in pq if m["queue_name"] == "deferred"
               and not all(reason_ok(r) for r in m["recipients"])]
    c.eq(refused, [], "[%s] delay reasons say Connection refused (or Mailbox full)" % name)
    two = [m for m in pq if m["queue_name"] == "deferred"
           and len(set(r["delay_reason"] for r in m["recipients"])) > 1]
    c.check(len(two) >= 1, "[%s] some messages have two different delay reasons" % name)
    via = collections.Counter(e.get("via") for e in corpus)
    c.check(via["smtp"] > 0 and via["sendmail"] > 0, "[%s] corpus injected both via SMTP and sendmail"
            % name, dict(via))
    held_reason = [m["queue_id"] for m in pq if m["queue_name"] == "hold"
                   and any("delay_reason" in r for r in m["recipients"])]
    c.eq(held_reason, [], "[%s] held (never tried) messages have no delay_reason" % name)

    idre = LONG_ID if long_ids else SHORT_ID
    badids = [m["queue_id"] for m in pq if not idre.match(m["queue_id"])]
    c.eq(badids, [], "[%s] queue IDs look %s" % (name, "long" if long_ids else "short"))

    # layout: deferred always hashed, hold only with --hash-hold, depth levels
    sample = [m for m in pq if m["queue_name"] == "deferred"][:20] + \
             [m for m in pq if m["queue_name"] == "hold"][:20]
    for m in sample:
        path = tb.queue_file(m["queue_id"])
        if not c.check(path is not None, "[%s] queue file of %s found" % (name, m["queue_id"])):
            continue
        rel = os.path.relpath(path, tb.spool).split(os.sep)
        hashed = m["queue_name"] == "deferred" or hash_hold
        c.eq(len(rel), 2 + (depth if hashed else 0),
             "[%s] %s is at the expected hash depth (%s)" % (name, m["queue_id"], "/".join(rel)))


def postcat_sizes(etc, qid):
    """(content_size, data_offset) from postcat -q's message_size line."""
    p = subprocess.run(["postcat", "-c", etc, "-e", "-q", qid], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    for line in p.stdout.decode(errors="replace").splitlines():
        if line.startswith("message_size:"):
            f = line.split()[1:]
            return int(f[0]), int(f[1])
    return None


def check_qtriage_side(c, tb, pq, corpus):
    name = os.path.basename(tb.dir)
    qt, _p = qtlib.qtriage_list(tb.etc, c=c)
    pqm, qtm = qtlib.by_id(pq), qtlib.by_id(qt)
    c.eq(len(qt), len(qtm), "[%s] qtriage lists each queue ID once" % name)
    c.check(set(pqm) == set(qtm), "[%s] qtriage and postqueue -j list the same IDs" % name,
            {"only_postqueue": sorted(set(pqm) - set(qtm))[:10],
             "only_qtriage": sorted(set(qtm) - set(pqm))[:10]})
    bytok = qtlib.corpus_by_token(corpus)
    seen_tokens = collections.Counter()
    fails = collections.Counter()
    examples = {}

    def field(ok, what, qid, detail):
        if not ok:
            fails[what] += 1
            examples.setdefault(what, "%s: %s" % (qid, detail))

    sizes_sampled = 0
    for qid in sorted(set(pqm) & set(qtm)):
        p, q = pqm[qid], qtm[qid]
        for k in ("queue_name", "sender", "message_size", "arrival_time"):
            field(q.get(k) == p[k], k, qid, "qtriage %r, postqueue %r" % (q.get(k), p[k]))
        field(q.get("forced_expire") == p["forced_expire"], "forced_expire", qid,
              "qtriage %r, postqueue %r" % (q.get("forced_expire"), p["forced_expire"]))
        field(rcpt_pairs(q) == rcpt_pairs(p), "recipients (address, delay_reason, order)", qid,
              "qtriage %r\n postqueue %r" % (rcpt_pairs(q), rcpt_pairs(p)))
        field("unreadable" not in q, "no unreadable", qid, q.get("unreadable"))
        for k, typ in (("create_time", int), ("file_size", int), ("content_size", int),
                       ("data_offset", int), ("attributes", dict), ("done_recipients", list),
                       ("null_sender", bool), ("subject", str), ("from", str)):
            field(isinstance(q.get(k), typ), "type of %s" % k, qid, repr(q.get(k)))
        field(q.get("content_size") == p["message_size"], "content_size == message_size", qid,
              "%r vs %r" % (q.get("content_size"), p["message_size"]))
        attrs = q.get("attributes") or {}
        field(attrs.get("rewrite_context") in ("local", "remote"), "attributes.rewrite_context", qid, attrs)

        # on-disk facts
        path = tb.queue_file(qid)
        if path:
            st = os.stat(path)
            field(q.get("file_size") == st.st_size, "file_size", qid,
                  "%r vs stat %d" % (q.get("file_size"), st.st_size))
            if p["queue_name"] == "deferred":
                field(q.get("next_retry") == int(st.st_mtime), "next_retry == mtime", qid,
                      "%r vs %d" % (q.get("next_retry"), int(st.st_mtime)))
            else:
                field(q.get("next_retry") is None, "next_retry null outside deferred", qid,
                      repr(q.get("next_retry")))
        if sizes_sampled < 12 and (sizes_sampled < 6 or len(p["recipients"]) > 3):
            sizes_sampled += 1
            cs = postcat_sizes(tb.etc, qid)
            field(cs == (q.get("content_size"), q.get("data_offset")),
                  "content_size/data_offset vs postcat", qid,
                  "qtriage %r, postcat %r" % ((q.get("content_size"), q.get("data_offset")), cs))

        # against what was injected
        tok = qtlib.token_of(q.get("subject"))
        field(tok in bytok, "subject carries a corpus token", qid, repr(q.get("subject")))
        if tok not in bytok:
            continue
        seen_tokens[tok] += 1
        e = bytok[tok]
        if e["subject_exact"]:
            field(q.get("subject") == e["subject"], "decoded subject (%s)" % e["subject_kind"], qid,
                  "qtriage %r, want %r" % (q.get("subject"), e["subject"]))
        field(q.get("null_sender") == (e["sender"] == ""), "null_sender", qid,
              "%r for sender %r" % (q.get("null_sender"), e["sender"]))
        frm = q.get("from") or ""
        field(e["from_addr"] in frm, "from has the address", qid, "%r vs %r" % (frm, e["from_addr"]))
        disp = e["from"].rsplit(" <", 1)[0] if e["from"].endswith(">") else None
        if disp:
            field(disp in frm, "from has the decoded display name", qid, "%r vs %r" % (frm, disp))
        field(e["hold"] == (p["queue_name"] == "hold"), "held iff X-Testbed-Hold", qid, p["queue_name"])
        # A records: client identity of SMTP-injected mail (XCLIENT), none for sendmail
        if e.get("via") == "smtp":
            for k in ("client_address", "client_name", "helo_name"):
                field(attrs.get(k) == e[k], "attributes.%s" % k, qid, "%r vs %r" % (attrs.get(k), e[k]))
            field(attrs.get("sasl_username") == e["sasl_username"], "attributes.sasl_username", qid,
                  "%r vs %r" % (attrs.get("sasl_username"), e["sasl_username"]))
        else:
            field("client_address" not in attrs and attrs.get("rewrite_context") == "local",
                  "attributes of sendmail mail", qid, attrs)
        # orig_address: canonical rewriting alias.example -> canonical.example
        origs = [r for r in e["recipients"] if r not in e["done_recipients"]]
        want_pairs = sorted(zip(e["expected_recipients"], origs))
        got_pairs = sorted((r.get("address"), r.get("orig_address") or r.get("address"))
                           for r in q.get("recipients", []))
        field(got_pairs == want_pairs, "orig_address", qid, "qtriage %r, want %r" % (got_pairs, want_pairs))
        field(sorted(q.get("done_recipients") or []) == sorted(e["done_recipients"]),
              "done_recipients", qid, "qtriage %r, want %r" % (q.get("done_recipients"), e["done_recipients"]))

    for what in sorted(set(fails) | {"queue_name", "sender", "message_size", "arrival_time",
                                     "forced_expire", "recipients (address, delay_reason, order)",
                                     "decoded subject (gb2312-b)", "decoded subject (big5-b)",
                                     "orig_address", "done_recipients", "next_retry == mtime",
                                     "attributes.client_address", "attributes.sasl_username"}):
        c.check(fails[what] == 0, "[%s] qtriage field %s matches (%d bad)" % (name, what, fails[what]),
                examples.get(what))
    dup = [t for t, n in seen_tokens.items() if n > 1]
    c.eq(dup, [], "[%s] no corpus token shown twice" % name)
    c.eq(sorted(set(bytok) - set(seen_tokens)), [], "[%s] every corpus subject shown" % name)

    # restricting to one queue
    for qname in ("hold", "deferred"):
        sub, _ = qtlib.qtriage_list(tb.etc, ["--queue", qname], c=c)
        want = sorted(m["queue_id"] for m in pq if m["queue_name"] == qname)
        c.eq(sorted(m["queue_id"] for m in sub), want, "[%s] --queue %s lists exactly those" % (name, qname))
        c.eq(sorted(set(m.get("queue_name") for m in sub) - {qname}), [],
             "[%s] --queue %s queue_name fields" % (name, qname))


def one_instance(c, tag, long_ids, hash_hold, depth):
    with qtlib.Testbed(tag, long_ids=long_ids, hash_hold=hash_hold, depth=depth, smtpd=True) as tb:
        tb.inject(N)
        tb.settle()
        pq = tb.postqueue_j()
        corpus = tb.corpus()
        check_postfix_side(c, tb, pq, corpus, long_ids, hash_hold, depth)
        if qtlib.have_qtriage():
            check_qtriage_side(c, tb, pq, corpus)
        else:
            c.skip("[%s] qtriage checks: %s not found" % (tag, qtlib.qtriage_path()))


def body(c):
    one_instance(c, "short", long_ids=False, hash_hold=False, depth=1)
    one_instance(c, "long", long_ids=True, hash_hold=True, depth=2)


if __name__ == "__main__":
    qtlib.run_main("test_listing", body)
