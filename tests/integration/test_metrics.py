#!/usr/bin/env python3
"""Integration test: qtriage metrics (Prometheus text format) on real queues.

Test bed 1 (--smtpd) gets a planned set of messages: a hijacked SASL login
flooding over SMTP with XCLIENT (client address, sasl_username), other senders
through sendmail (one held, one to @retry.example for "Mailbox full", the null
sender, a sender whose local part holds quotes and a backslash, one with a
300-byte local part).  Test bed 2 gets queue files from tests/bench/qgen with
arrival times spread over days.

  * the output parses as the text exposition format (a parser written here,
    and `promtool check metrics` when Debian's prometheus package put it on
    the machine): HELP and TYPE before each family, each family once, no
    series twice, label values escaped, histogram buckets cumulative with
    +Inf equal to _count
  * messages and bytes per queue equal postqueue -j's counts and the sum of
    its message_size; the oldest age equals now - the oldest arrival_time
  * the age histogram equals qshape -s's TOTAL row bucket by bucket
  * top-N senders / sasl users / client addresses as planned; --top N bounds
    the series, the rest is in *_other_messages; label values are bounded
  * --output FILE writes the same text atomically (mode 0644, no temporary
    file left, a symlink at the name replaced rather than followed)
Exit: 0 ok, 1 failures, 77 when not root.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qtlib  # noqa: E402
from qtlib import log  # noqa: E402

sys.path.insert(0, os.path.join(qtlib.SRC_ROOT, "tests", "testbed"))
import corpus  # noqa: E402  (its SMTP + XCLIENT injector)

FLOOD = {"NAME": "bulk.spam.example", "ADDR": "203.0.113.7", "HELO": "bulk.spam.example",
         "LOGIN": "hijacked@corp.example", "PROTO": "ESMTP"}
OTHER = {"NAME": "host-5.dyn.example", "ADDR": "198.51.100.5", "HELO": "PC-0001",
         "LOGIN": "j.smith", "PROTO": "ESMTP"}
QUOTED = '"a\\"b\\\\c"@corp.example'         # the local part a"b\c, quoted
LONG = "x" * 300 + "@long.example"

# (sender, recipients, xclient or None for sendmail, hold)
PLAN = (
    [("flood@spam.example", ["a@gmail.example"], FLOOD, False)] * 7 +
    [("j.smith@corp.example", ["c@gmail.example", "d@yahoo.example"], OTHER, False)] * 3 +
    [("alice@corp.example", ["w@retry.example"], None, False)] +
    [("alice@corp.example", ["e@other.example"], None, True)] +
    [("", ["postmaster@gmail.example"], None, False)] * 2 +
    [(QUOTED, ["f@other.example"], None, False)] +
    [(LONG, ["g@other.example"], None, False)]
)

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')


def parse(c, text):
    """The exposition format, strictly: returns {(name, labels-tuple): value}
    and {family: type}; every violation is a failed check."""
    samples, types, helps, seen_families = {}, {}, {}, []
    current = None
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            c.check(name not in helps, "line %d: HELP for %s once" % (n, name))
            helps[name] = True
            current = name
            continue
        if line.startswith("# TYPE "):
            _h, _t, name, typ = line.split(" ", 3)
            c.check(name == current, "line %d: TYPE %s follows its HELP" % (n, name))
            c.check(typ in ("gauge", "counter", "histogram"), "line %d: type %s" % (n, typ))
            types[name] = typ
            seen_families.append(name)
            continue
        m = SAMPLE_RE.match(line)
        if not c.check(m is not None, "line %d is a sample" % n, line):
            continue
        name, _b, body, value = m.groups()
        family = re.sub(r"_(bucket|sum|count)$", "", name) \
            if types.get(re.sub(r"_(bucket|sum|count)$", "", name)) == "histogram" else name
        c.check(family == current, "line %d: %s is in its family's block" % (n, name), line)
        labels = []
        if body:
            pos = 0
            while pos < len(body):
                lm = LABEL_RE.match(body, pos)
                if not c.check(lm is not None, "line %d: labels parse" % n, body[pos:]):
                    break
                val = re.sub(r'\\(.)', lambda x: {"n": "\n"}.get(x.group(1), x.group(1)),
                             lm.group(2))
                labels.append((lm.group(1), val))
                pos = lm.end()
        key = (name, tuple(labels))
        c.check(key not in samples, "line %d: series %s once" % (n, key))
        try:
            samples[key] = float(value.replace("+Inf", "inf"))
        except ValueError:
            c.check(False, "line %d: value %r is a number" % (n, value))
    return samples, types


def value(samples, name, **labels):
    return samples.get((name, tuple(labels.items())))


def check_histograms(c, samples, types):
    for fam, typ in types.items():
        if typ != "histogram":
            continue
        queues = {dict(k[1]).get("queue") for k in samples if k[0] == fam + "_count"}
        for q in queues:
            buckets = sorted(((float(dict(k[1])["le"].replace("+Inf", "inf")), v)
                              for k, v in samples.items()
                              if k[0] == fam + "_bucket" and dict(k[1]).get("queue") == q))
            c.check(all(buckets[i][1] <= buckets[i + 1][1] for i in range(len(buckets) - 1)),
                    "%s{queue=%s}: buckets are cumulative" % (fam, q), buckets)
            c.eq(buckets[-1], (float("inf"), value(samples, fam + "_count", queue=q)),
                 "%s{queue=%s}: +Inf bucket equals _count" % (fam, q))


def promtool(c, text):
    exe = shutil.which("promtool")
    if not exe:
        c.skip("promtool check metrics: Debian's prometheus package is not installed")
        return
    p = subprocess.run([exe, "check", "metrics"], input=text.encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    c.eq((p.returncode, p.stdout.decode(errors="replace").strip()), (0, ""),
         "promtool check metrics finds no problem")


def metrics(c, etc, extra=()):
    p = qtlib.qtriage(["-c", etc, "metrics"] + list(extra))
    c.eq(p.returncode, 0, "metrics %s exit status (stderr: %s)"
         % (" ".join(extra), p.stderr.decode(errors="replace")[:300]))
    return p.stdout.decode("utf-8")


def check_queues(c, samples, pq, t0, t1):
    for q in ("maildrop", "incoming", "active", "deferred", "hold", "corrupt"):
        msgs = [m for m in pq if m["queue_name"] == q]
        c.eq(value(samples, "postfix_queue_messages", queue=q), float(len(msgs)),
             "postfix_queue_messages{queue=%s} as postqueue -j" % q)
        c.eq(value(samples, "postfix_queue_bytes", queue=q),
             float(sum(m["message_size"] for m in msgs)),
             "postfix_queue_bytes{queue=%s}: the sum of postqueue -j's message_size" % q)
        oldest = value(samples, "postfix_queue_oldest_message_age_seconds", queue=q)
        if msgs:
            first = min(m["arrival_time"] for m in msgs)
            c.check(t0 - first - 1 <= oldest <= t1 - first + 1,
                    "oldest age in %s is now - the oldest arrival_time" % q,
                    (oldest, t0 - first, t1 - first))
        else:
            c.eq(oldest, 0.0, "oldest age of the empty queue %s is 0" % q)


def qshape_total(etc, queue):
    """qshape -s's TOTAL row: [T, bucket 1 .. bucket 10]."""
    p = qtlib.sh(["qshape", "-c", etc, "-s", queue])
    for line in p.stdout.decode("latin-1").splitlines():
        f = line.split()
        if f and f[0] == "TOTAL":
            return [int(x) for x in f[1:]]
    raise RuntimeError("no TOTAL row in qshape's output")


def check_shape(c, etc, queues):
    """The histogram against qshape; a message may cross a bucket boundary
    between the runs, so it is tried again when qshape's own two runs differ."""
    for q in queues:
        for attempt in range(5):
            a = qshape_total(etc, q)
            samples, _types = parse(c, metrics(c, etc))
            b = qshape_total(etc, q)
            if a != b:
                log("qshape %s changed between runs; again" % q)
                continue
            les = ["300", "600", "1200", "2400", "4800", "9600", "19200", "38400", "76800",
                   "+Inf"]
            cum = [value(samples, "postfix_queue_message_age_seconds_bucket", queue=q, le=le)
                   for le in les]
            per = [int(cum[0])] + [int(cum[i] - cum[i - 1]) for i in range(1, len(cum))]
            c.eq([sum(per)] + per, a, "age histogram of %s equals qshape -s's TOTAL row" % q)
            break
        else:
            c.check(False, "qshape %s kept changing" % q)


def read_and_check(c, etc, pq):
    """metrics of the queue `pq` (postqueue -j) was read from: the format,
    the histograms and the per-queue figures; returns the samples."""
    t0 = time.time()
    text = metrics(c, etc)
    t1 = time.time()
    samples, types = parse(c, text)
    promtool(c, text)
    check_histograms(c, samples, types)
    check_queues(c, samples, pq, int(t0), int(t1) + 1)
    return samples


def planned(c, tb):
    port = int(open(os.path.join(tb.dir, "smtpd_port")).read())
    for sender, rcpts, xclient, hold in PLAN:
        hdr = "From: <%s>\nTo: %s\nSubject: metrics\n" % (sender or "MAILER-DAEMON@x.example",
                                                           ", ".join(rcpts))
        if hold:
            hdr += "X-Testbed-Hold: yes\n"
        data = (hdr + "\nplanned\n").encode()
        if xclient:
            corpus.inject_smtp(port, sender, rcpts, data, dict(xclient))
        else:
            corpus.inject_one(tb.etc, sender or "<>", rcpts, data)
    tb.settle()
    pq = tb.postqueue_j()
    c.eq(len(pq), len(PLAN), "the queue holds the planned messages")

    samples = read_and_check(c, tb.etc, pq)
    top = {dict(k[1])["sender"]: v for k, v in samples.items()
           if k[0] == "qtriage_top_sender_messages"}
    c.eq(top.get("flood@spam.example"), 7.0, "the flooder tops the senders with 7")
    c.eq(top.get("<>"), 2.0, "the null sender is the series sender=\"<>\"")
    c.check(top.get('"a\\"b\\\\c"@corp.example') == 1.0,
            "a sender with quotes and a backslash round-trips through the escaping", sorted(top))
    longs = [k for k in top if k.startswith("xxxx")]
    c.check(len(longs) == 1 and len(longs[0].encode()) <= 128 and longs[0].endswith("..."),
            "a 300-byte sender is cut to at most 128 bytes, marked", longs)
    c.eq(sum(top.values()), float(len(pq)), "every message is in one sender series")
    sasl = {dict(k[1])["sasl_username"]: v for k, v in samples.items()
            if k[0] == "qtriage_top_sasl_username_messages"}
    c.eq(sasl, {"hijacked@corp.example": 7.0, "j.smith": 3.0},
         "sasl_username series: the logins as planned (mail without a login has none)")
    clients = {dict(k[1])["client_address"]: v for k, v in samples.items()
               if k[0] == "qtriage_top_client_address_messages"}
    c.eq(clients, {"203.0.113.7": 7.0, "198.51.100.5": 3.0}, "client_address series")
    c.eq(value(samples, "postfix_queue_delay_reason_class_messages", **{"class": "mailbox-full"}),
         1.0, "one message deferred for a full mailbox")
    c.eq(value(samples, "qtriage_unreadable_files"), 0.0, "no unreadable file")

    # --top bounds the series; the rest is counted, not dropped.
    samples2, _t = parse(c, metrics(c, tb.etc, ["--top", "2"]))
    top2 = {dict(k[1])["sender"]: v for k, v in samples2.items()
            if k[0] == "qtriage_top_sender_messages"}
    c.eq(len(top2), 2, "--top 2: two sender series")
    c.eq(value(samples2, "qtriage_top_sender_other_messages"),
         float(len(pq)) - sum(top2.values()), "--top 2: the rest in the _other series")
    p = qtlib.qtriage(["-c", tb.etc, "metrics", "--top", "0"])
    c.eq(p.returncode, 2, "--top 0 is refused")

    # --output: atomic, readable by the exporter, the same text.
    d = tempfile.mkdtemp(prefix="qtriage-prom-", dir="/tmp")
    try:
        out = os.path.join(d, "qtriage.prom")
        victim = os.path.join(d, "victim")
        with open(victim, "w") as f:
            f.write("keep\n")
        os.symlink(victim, out)
        p = qtlib.qtriage(["-c", tb.etc, "metrics", "--output", out])
        c.eq(p.returncode, 0, "metrics --output exit status (%s)" % p.stderr.decode()[:200])
        c.check(not os.path.islink(out), "--output replaced the symlink at the name")
        c.eq(open(victim).read(), "keep\n", "--output did not write through the symlink")
        c.eq(os.stat(out).st_mode & 0o777, 0o644, "--output file mode 0644")
        c.eq(sorted(os.listdir(d)), ["qtriage.prom", "victim"], "no temporary file left")
        s3, _t = parse(c, open(out).read())
        c.eq(value(s3, "postfix_queue_messages", queue="deferred"),
             value(samples, "postfix_queue_messages", queue="deferred"),
             "--output writes the same figures")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def aged(c, tmpdirs):
    d = tempfile.mkdtemp(prefix="qtriage-qgen-", dir="/tmp")
    tmpdirs.append(d)
    qgen = os.path.join(d, "qgen")
    qtlib.sh(["cc", "-O2", "-o", qgen, os.path.join(qtlib.SRC_ROOT, "tests", "bench", "qgen.c")])
    with qtlib.Testbed("metrics-aged") as tb:
        qtlib.sh([qgen, "-c", tb.etc, "-n", "400", "--hold-percent", "15"])
        pq = tb.postqueue_j()
        read_and_check(c, tb.etc, pq)
        check_shape(c, tb.etc, ["deferred", "hold"])


def body(c):
    tmpdirs = []
    try:
        with qtlib.Testbed("metrics", smtpd=True) as tb:
            planned(c, tb)
        aged(c, tmpdirs)
    finally:
        for d in tmpdirs:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    qtlib.run_main("metrics", body)
