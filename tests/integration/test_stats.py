#!/usr/bin/env python3
"""Integration test: qtriage stats, shape and check on real Postfix instances.

Test bed 1 (--smtpd) gets a known set of 16 messages: a flooder and a SASL
account over SMTP with XCLIENT (client address, name, sasl_username), other
senders through sendmail (one held, two to @retry.example, which defers with
"Mailbox full", the null sender, a sender whose local part holds a blank and
parentheses).  Every expectation is worked out here from that plan; sizes
are Postfix's (postqueue -j message_size) for the planned message sets.

  * stats --json --by each key: groups, counts and sizes as planned; every
    group's "filter" selects exactly its messages (stats --filter EXPR);
    the settings are postconf's; text mode prints the same table
  * the active queue at qmgr_message_active_limit is warned about
  * shape (and -s, -p, -t/-b, hold, the default queues) byte for byte as
    /usr/sbin/qshape -c DIR/etc; -n against qshape on a terminal (script(1)),
    the only place where qshape honours it
  * check: OK, WARNING, CRITICAL, UNKNOWN (bad arguments, no queue directory,
    no configuration) with plugin exit codes and perfdata

Test bed 2 gets 600 queue files from tests/bench/qgen with arrival times
spread over days, and some forced to expire (postsuper -e, mode 0710, which
qshape skips); shape is compared with qshape for many option sets.  Ages
move while the two programs run: a comparison is retried when qshape's own
two runs around qtriage's differ.  Rows qshape leaves in Perl's hash order
(same count, same domain length) are compared as sets.
Exit: 0 ok, 1 failures, 77 when not root.
"""

import json
import os
import re
import shlex
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
         "PROTO": "ESMTP"}
SASL = {"NAME": "host-5.dyn.example", "ADDR": "198.51.100.5", "HELO": "PC-0001",
        "LOGIN": "j.smith", "PROTO": "ESMTP"}
# Flood mail is mostly minutes old: the more messages, the more often one
# crosses a bucket boundary between qshape's run and qtriage's.
N_AGED = int(os.environ.get("QTRIAGE_SHAPE_N", "600"))
HOSTILE_SENDER = '"a b(c)"@corp.example'
HOSTILE_SUBJECT = 'x\\y "q" (p) or not'

# (name, sender, recipients, subject, xclient or None for sendmail, hold)
PLAN = (
    [("F2", "flood@spam.example", ["a1@gmail.example", "a2@gmail.example"], "Cheap meds",
      FLOOD, False)] * 3 +
    [("F1", "flood@spam.example", ["b@yahoo.example"], "Cheap meds", FLOOD, False)] * 3 +
    [("J", "j.smith@corp.example", ["c@gmail.example", "d@yahoo.example"],
      'Invoice (urgent) "now"', SASL, False)] * 4 +
    [("AR", "alice@corp.example", ["w@retry.example"], "Lunch?", None, False)] * 2 +
    [("AH", "alice@corp.example", ["e@other.example"], "Lunch?", None, True)] +
    [("N", "", ["postmaster@gmail.example"], "Undelivered Mail", None, False)] * 2 +
    [("H", HOSTILE_SENDER, ["f@other.example", "g@OTHER.example"], HOSTILE_SUBJECT, None,
      False)]
)


def message(sender, rcpts, subject, hold):
    hdr = "From: %s\nTo: %s\nSubject: %s\n" % (sender or "MAILER-DAEMON@corp.example",
                                              ", ".join(rcpts), subject)
    if hold:
        hdr += "X-Testbed-Hold: yes\n"
    return (hdr + "\nplanned message\n").encode()


def inject(tb):
    port = int(open(os.path.join(tb.dir, "smtpd_port")).read())
    for _name, sender, rcpts, subject, xclient, hold in PLAN:
        data = message(sender, rcpts, subject, hold)
        if xclient:
            corpus.inject_smtp(port, sender, rcpts, data, dict(xclient))
        else:
            corpus.inject_one(tb.etc, sender or "<>", rcpts, data)


def plan_key(sender, rcpts):
    return (sender.lower(), tuple(sorted(r.lower() for r in rcpts)))


def map_plan(c, tb):
    """Queue IDs of each plan entry (by sender and recipients), and sizes."""
    pq = tb.postqueue_j()
    pool = {}
    for m in pq:
        s = "" if m["sender"] == "MAILER-DAEMON" else m["sender"]
        pool.setdefault(plan_key(s, [r["address"] for r in m["recipients"]]), []).append(m)
    ids = []
    for entry in PLAN:
        # showq quotes the hostile local part back as it was written.
        got = pool.get(plan_key(entry[1], entry[2]))
        if not c.check(bool(got), "planned message %s is in the queue" % entry[0],
                       sorted(pool)):
            ids.append(None)
            continue
        ids.append(got.pop())
    c.eq(len(pq), len(PLAN), "the queue holds the planned messages only")
    return ids


def expected_groups(by, msgs):
    """key -> (count, size) as planned, for grouping `by`."""
    groups = {}

    def add(key, i):
        groups.setdefault(key, set()).add(i)

    for i, (name, sender, rcpts, subject, xclient, hold) in enumerate(PLAN):
        if by == "sender":
            add(sender.lower() if sender else "<>", i)
        elif by == "sender_domain":
            add(sender.rsplit("@", 1)[1] if "@" in sender else "", i)
        elif by == "sasl":
            add((xclient or {}).get("LOGIN", ""), i)
        elif by == "client":
            if xclient:
                add(xclient["ADDR"], i)
        elif by == "domain":
            for r in rcpts:
                add(r.rsplit("@", 1)[1].lower(), i)
        elif by == "subject":
            add(subject.lower(), i)
        elif by == "class":
            if hold:
                continue            # never tried: no reason
            add("mailbox-full" if rcpts[0].endswith("@retry.example") else
                "connection-refused", i)
    return {k: (len(v), sum(msgs[i]["message_size"] for i in v if msgs[i])) for k, v in
            groups.items()}


def stats_json(c, etc, by, extra=()):
    p = qtlib.qtriage(["-c", etc, "stats", "--by", by, "--json", "--top", "1000"] + list(extra))
    c.eq(p.returncode, 0, "stats --by %s %s exits 0 (%s)" % (by, " ".join(extra),
                                                           p.stderr.decode(errors="replace")))
    try:
        return json.loads(p.stdout)
    except ValueError:
        c.check(False, "stats --by %s prints JSON" % by, p.stdout[:500])
        return {"groups": [], "messages": -1}


def check_stats(c, tb, msgs):
    for by in ("sender", "sender_domain", "sasl", "client", "domain", "subject", "class"):
        out = stats_json(c, tb.etc, by)
        got = {}
        for g in out["groups"]:
            key = "<>" if g.get("null_sender") else g["key"].lower()
            got[key] = (g["count"], g["size"])
        want = expected_groups(by, msgs)
        if by == "client":      # sendmail's messages: whatever pickup says; not planned
            got = {k: v for k, v in got.items() if k in want}
        c.eq(got, want, "stats --by %s: groups, counts and sizes as planned" % by)
        c.eq(out["messages"], len(PLAN), "stats --by %s counts every message" % by)
        if by == "class":
            c.eq(out["ungrouped"], 1, "the held message has no delay reason")
        # Each group's expression selects exactly its messages.
        for g in out["groups"]:
            sub = stats_json(c, tb.etc, by, ["--filter", g["filter"]])
            c.eq(sub["messages"], g["count"], "--filter %s selects the group's %d messages"
                 % (g["filter"], g["count"]))
            keys = [h["key"].lower() for h in sub["groups"]]
            c.check(g["key"].lower() in keys, "... and they are in group %r" % g["key"], keys)
    # --queue and a filter combine.
    out = stats_json(c, tb.etc, "sender", ["--queue", "hold"])
    c.eq([(g["key"], g["count"]) for g in out["groups"]], [("alice@corp.example", 1)],
         "stats --queue hold: alice's held message only")
    # The hostile keys come back intact, quoted in their expressions.
    out = stats_json(c, tb.etc, "subject", ["--filter", 'subject="%s"' % HOSTILE_SUBJECT
                                            .replace("\\", "\\\\").replace('"', '\\"')])
    c.eq([g["key"] for g in out["groups"]], [HOSTILE_SUBJECT], "hostile subject as a key")
    # Settings: postconf's values, in seconds.
    names = ["queue_run_delay", "minimal_backoff_time", "maximal_backoff_time",
             "maximal_queue_lifetime", "bounce_queue_lifetime", "qmgr_message_active_limit",
             "default_destination_concurrency_limit"]
    raw = qtlib.sh(["postconf", "-c", tb.etc, "-h", "-x"] + names).stdout.decode().split()
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    want = {}
    for n, v in zip(names, raw):
        # A bare number: days for the lifetimes, seconds for the delays
        # (postconf(5)); the limits are counts.
        m = re.fullmatch(r"(\d+)([smhdw]?)", v)
        want[n] = int(m.group(1)) * unit[m.group(2) or ("d" if "lifetime" in n else "s")]
    out = stats_json(c, tb.etc, "sender")
    c.eq({n: out["settings"][n] for n in names}, want, "settings as postconf says")
    c.eq(out["settings"]["active_queue_full"], False, "the active queue is not full")
    # Text: the same table.
    p = qtlib.qtriage(["-c", tb.etc, "stats", "--by", "sender_domain", "--top", "2"])
    lines = p.stdout.decode().splitlines()
    c.check(re.fullmatch(r" +8 +\S+  corp\.example", lines[1] if len(lines) > 1 else ""),
            "text: corp.example first with 8 messages", lines[:4])
    c.check(re.fullmatch(r" +6 +\S+  spam\.example", lines[2] if len(lines) > 2 else ""),
            "text: spam.example second with 6", lines[:4])
    c.check(any(l.startswith("16 messages") and "top 2 shown" in l for l in lines),
            "text: summary line", lines)
    c.check(any(re.match(r"  queue_run_delay +%s$" % raw[0], l) for l in lines),
            "text: queue_run_delay as postconf prints it", lines)


def canonical(text):
    """qshape's output with runs of rows that tie (count, domain length),
    whose order qshape leaves to Perl's hash, sorted."""
    lines = text.split("\n")
    out, run, runkey = lines[:1], [], None
    for line in lines[1:]:
        f = line.split()
        key = (f[1], len(f[0])) if len(f) > 1 else None
        if key != runkey and run:
            out += sorted(run)
            run = []
        runkey = key
        run.append(line)
    return "\n".join(out + sorted(run))


def run_qshape(etc, args, tty):
    argv = ["qshape", "-c", etc] + args
    if not tty:
        return qtlib.sh(argv).stdout
    # qshape honours -n only when its output is a terminal; TERM=dumb makes
    # its screen clearing print nothing.
    p = qtlib.sh(["script", "-qec", shlex.join(argv), "/dev/null"],
                 env=dict(os.environ, TERM="dumb"))
    return p.stdout.replace(b"\r\n", b"\n")


def compare_shape(c, etc, args, tries=5, tty=False):
    for attempt in range(tries):
        a = run_qshape(etc, args, tty)
        p = qtlib.qtriage(["-c", etc, "shape"] + args)
        b = run_qshape(etc, args, tty)
        if canonical(a.decode("latin-1")) != canonical(b.decode("latin-1")):
            log("qshape %s changed between runs (a message crossed a bucket); again"
                % " ".join(args))
            continue
        mine = p.stdout
        if mine == a:
            c.check(True, "shape %s: byte for byte as qshape" % " ".join(args))
            return True
        same = canonical(mine.decode("latin-1")) == canonical(a.decode("latin-1"))
        if same:
            log("shape %s: same as qshape but for the order of tied rows" % " ".join(args))
        return c.check(same, "shape %s: as qshape (tied rows as sets; exit %d, %s)"
                       % (" ".join(args), p.returncode, p.stderr.decode(errors="replace")),
                       "qshape:\n%s\nqtriage:\n%s" % (a.decode("latin-1"),
                                                     mine.decode("latin-1")))
    return c.check(False, "shape %s: qshape kept changing" % " ".join(args))


def check_plugin(c, tb):
    line_re = re.compile(r"QTRIAGE (OK|WARNING|CRITICAL|UNKNOWN) - (.*)")
    codes = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}
    perf_re = re.compile(r"^([a-z_]+)=(\d+)(B|s)?;(\d*);(\d*);0$")

    def run(args, want_status, want_text=None, want_perf=None, etc=None):
        p = qtlib.qtriage(["-c", etc or tb.etc, "check"] + args)
        out = p.stdout.decode(errors="replace")
        c.eq(p.returncode, codes[want_status], "check %s: exit status" % " ".join(args))
        c.eq(out.count("\n"), 1, "check %s: one line" % " ".join(args))
        m = line_re.match(out)
        if not c.check(m and m.group(1) == want_status, "check %s: %s" % (" ".join(args),
                                                                           want_status), out):
            return
        text, _, perf = m.group(2).partition(" | ")
        items = perf.split()
        # Plugin guidelines: 'label'=value[UOM];[warn];[crit];[min];[max].
        c.check(all(perf_re.match(i) for i in items) or want_status == "UNKNOWN",
                "check %s: perfdata items as the plugin guidelines spell them"
                % " ".join(args), perf)
        if want_text:
            c.eq(text, want_text, "check %s: text" % " ".join(args))
        if want_perf:
            counts = " ".join(i for i in items if not re.match(r"[a-z]+_(bytes|oldest)=", i))
            c.eq(counts, want_perf, "check %s: perfdata" % " ".join(args))
        if want_status != "UNKNOWN":
            # The same check as one JSON object, with the same verdict.
            pj = qtlib.qtriage(["-c", etc or tb.etc, "check", "--json"] + args)
            try:
                j = json.loads(pj.stdout.decode())
            except ValueError:
                c.check(False, "check --json %s: one JSON object" % " ".join(args),
                        pj.stdout[:300])
                return
            c.eq((pj.returncode, j["state"], j["exit_code"], j["summary"]),
                 (codes[want_status], want_status, codes[want_status], text),
                 "check --json %s: state, exit code and summary" % " ".join(args))
        return items

    # Bytes and ages per queue, against postqueue -j.
    pq = tb.postqueue_j()
    items = run(["--warn", "20", "--crit", "30"], "OK")
    pj = json.loads(qtlib.qtriage(["-c", tb.etc, "check", "--json", "--warn", "20", "--crit",
                                   "30"]).stdout.decode())
    for q in ("active", "deferred", "hold", "incoming", "maildrop"):
        msgs = [m for m in pq if m["queue_name"] == q]
        size = sum(m["message_size"] for m in msgs)
        c.check("%s_bytes=%dB;;;0" % (q, size) in (items or []),
                "check perfdata %s_bytes is postqueue -j's sum of message_size" % q, items)
        c.eq((pj["queues"][q]["messages"], pj["queues"][q]["bytes"]), (len(msgs), size),
             "check --json queues.%s: postqueue -j's count and bytes" % q)
        oldest = int(time.time()) - min(m["arrival_time"] for m in msgs) if msgs else 0
        c.check(abs(pj["queues"][q]["oldest_age_seconds"] - oldest) <= 5,
                "check --json queues.%s.oldest_age_seconds" % q,
                (pj["queues"][q]["oldest_age_seconds"], oldest))
    c.eq((pj["thresholds"], pj["queue"], pj["filter"], pj["age"]),
         ({"warn": 20, "crit": 30}, None, None, None), "check --json: thresholds and options")
    pu = qtlib.qtriage(["-c", tb.etc, "check", "--json", "--warn", "9", "--crit", "5"])
    c.eq((pu.returncode, json.loads(pu.stdout.decode() or "{}").get("state")), (3, "UNKNOWN"),
         "check --json with --warn above --crit: an UNKNOWN object")

    q = "active=0;;;0 deferred=15;%s;0 hold=1;;;0 incoming=0;;;0 maildrop=0;;;0"
    run(["--warn", "20", "--crit", "30"], "OK", "16 messages in the queue",
        "active=0;;;0 deferred=15;;;0 hold=1;;;0 incoming=0;;;0 maildrop=0;;;0 total=16;20;30;0")
    run(["--warn", "10", "--crit", "30", "--queue", "deferred"], "WARNING",
        "15 messages in deferred", q % "10;30")
    run(["-w", "5", "-c", "14", "--queue", "deferred"], "CRITICAL", "15 messages in deferred",
        q % "5;14")
    run(["--warn", "15", "--crit", "20", "--queue", "deferred"], "OK", None, q % "15;20")
    run(["--warn", "0", "--crit", "5", "--queue", "deferred", "--age", "1h"], "OK",
        "0 messages in deferred (older than 1h)",
        "active=0;;;0 deferred=0;0;5;0 hold=0;;;0 incoming=0;;;0 maildrop=0;;;0")
    run(["--warn", "5", "--crit", "10", "--queue", "deferred", "--filter",
         "sender_domain=spam.example"], "WARNING", "6 messages in deferred")
    run(["--warn", "0", "--crit", "0", "--queue", "hold", "--filter", "class=mailbox-full"],
        "OK", "0 messages in hold")
    run(["--warn", "x", "--crit", "5"], "UNKNOWN")
    run(["--warn", "9", "--crit", "5"], "UNKNOWN")
    run(["--crit", "5"], "UNKNOWN")
    run(["--warn", "1", "--crit", "5", "--queue", "nowhere"], "UNKNOWN")
    run(["--warn", "1", "--crit", "5", "--age", "soon"], "UNKNOWN")
    run(["--warn", "1", "--crit", "5", "--filter", "sender=("], "UNKNOWN")
    run(["--warn", "1", "--crit", "5", "--bogus"], "UNKNOWN")
    run(["--warn", "1", "--crit", "5"], "UNKNOWN", etc="/nonexistent/etc")
    # The queue directory gone (unreadable): UNKNOWN, saying so.
    os.rename(tb.spool, tb.spool + ".away")
    try:
        p = qtlib.qtriage(["-c", tb.etc, "check", "--warn", "1", "--crit", "5"])
        c.eq(p.returncode, 3, "check without a queue directory: UNKNOWN")
        c.check(p.stdout.decode().startswith("QTRIAGE UNKNOWN - cannot read the queue: ")
                and tb.spool in p.stdout.decode(), "... and says which directory",
                p.stdout.decode())
    finally:
        os.rename(tb.spool + ".away", tb.spool)


def check_active_limit(c, tb):
    """Master stopped, one deferred file moved into active/ and the limit at
    1: the active queue is full."""
    qtlib.sh([qtlib.TESTBED, "down", tb.dir])
    qtlib.sh(["postconf", "-c", tb.etc, "-e", "qmgr_message_active_limit=1"])
    victim = None
    for root, _dirs, files in os.walk(os.path.join(tb.spool, "deferred")):
        if files:
            victim = os.path.join(root, files[0])
            break
    os.rename(victim, os.path.join(tb.spool, "active", os.path.basename(victim)))
    out = stats_json(c, tb.etc, "sender")
    c.eq((out["settings"]["qmgr_message_active_limit"], out["settings"]["active_messages"],
          out["settings"]["active_queue_full"]), (1, 1, True), "active queue at its limit")
    p = qtlib.qtriage(["-c", tb.etc, "stats"])
    c.check("WARNING: the active queue is at its limit (1 of 1 messages)" in p.stdout.decode(),
            "text mode warns of the full active queue", p.stdout.decode()[-600:])
    compare_shape(c, tb.etc, [])        # the default queues: incoming and active
    compare_shape(c, tb.etc, ["active", "deferred"])


def build_qgen(tmpdirs):
    d = tempfile.mkdtemp(prefix="qtriage-qgen-", dir="/tmp")
    tmpdirs.append(d)
    exe = os.path.join(d, "qgen")
    qtlib.sh(["cc", "-O2", "-o", exe, os.path.join(qtlib.SRC_ROOT, "tests", "bench", "qgen.c")])
    return exe


def aged_queue(c, tmpdirs):
    qgen = build_qgen(tmpdirs)
    with qtlib.Testbed("shape") as tb:
        p = qtlib.sh([qgen, "-c", tb.etc, "-n", str(N_AGED), "--hold-percent", "15"])
        log(p.stderr.decode(errors="replace").strip())
        ids = [m["queue_id"] for m in tb.postqueue_j() if m["queue_name"] == "deferred"]
        expire = ids[::37]
        qtlib.sh(["postsuper", "-c", tb.etc, "-e", "-"], input=("\n".join(expire) + "\n")
                 .encode())
        n = sum(1 for m in tb.postqueue_j() if m.get("forced_expire"))
        c.eq(n, len(expire), "postsuper -e marked %d messages to expire" % len(expire))
        for args in (["deferred"], ["hold"], ["deferred", "hold"], ["-s", "deferred"],
                     ["-p", "deferred"], ["-p", "-m", "2", "-s", "deferred", "hold"],
                     ["-t", "1", "-b", "16", "deferred"], ["-t", "60", "-b", "4", "deferred"],
                     ["-t", "2.5", "deferred"], ["-l", "-t", "120", "deferred"],
                     ["-w", "120", "deferred"], ["-b", "1", "hold"], []):
            compare_shape(c, tb.etc, args)
        if shutil.which("script"):
            compare_shape(c, tb.etc, ["-n", "5", "deferred"], tty=True)
            compare_shape(c, tb.etc, ["-n", "3", "-p", "-s", "deferred", "hold"], tty=True)
        else:
            c.skip("shape -n against qshape on a terminal: no script(1)")


def body(c):
    tmpdirs = []
    try:
        with qtlib.Testbed("stats", smtpd=True) as tb:
            inject(tb)
            tb.settle()
            msgs = map_plan(c, tb)
            check_stats(c, tb, msgs)
            for args in (["deferred"], ["hold"], ["-s", "deferred", "hold"], ["-p", "deferred"],
                         ["-t", "1", "-b", "3", "deferred"], []):
                compare_shape(c, tb.etc, args)
            check_plugin(c, tb)
            check_active_limit(c, tb)
        aged_queue(c, tmpdirs)
    finally:
        for d in tmpdirs:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    if not qtlib.have_qtriage():
        log("test_stats: no qtriage binary at %s" % qtlib.qtriage_path())
        sys.exit(qtlib.SKIP)
    qtlib.run_main("test_stats", body)
