#!/usr/bin/env python3
"""The CLI over a fleet: three real Postfix instances reached through a real
OpenSSH server on loopback (tests/testbed/sshbed.py), qtriage as the agent on
each.  Every answer is compared with what each instance's own `postqueue -j`
says, read directly (not through qtriage or ssh).

  list --hosts all --json   every row carries "host"; each host lists exactly
                            its instance's messages
  --hosts mx2,mx3           only those hosts, no local queue
  hold --hosts all --filter sender=FLOODER --yes
                            exactly the flooder's mail moves to hold on every
                            host, nothing else moves; the result names each host
  check --hosts all         reports every host
  export --hosts all        one local subdirectory per host, the matching mail
  a failed host             exit status non-zero, the host named, the others
                            listed in full

Exit: 0 ok, 1 failure, 77 not root / no sshd."""

import json
import os
import re
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleetlib  # noqa: E402
from fleetlib import FLOODER, check_rows_match, names_host, rows_by_host  # noqa: E402
import qtlib  # noqa: E402

N = int(os.environ.get("QTRIAGE_FLEET_N", "300"))


def test_list(c, f):
    queues = f.postqueue()
    rows, p = f.list_json(c)
    c.eq(p.returncode, 0, "list --hosts all: exit status (stderr: %s)" % p.err[:500])
    c.eq([r for r in rows if not r.get("host")][:3], [], "every row carries \"host\"")
    check_rows_match(c, rows, queues, f.names, "list --hosts all")

    rows, p = f.list_json(c, hosts="mx2,mx3", what="list --hosts mx2,mx3")
    c.eq(p.returncode, 0, "list --hosts mx2,mx3: exit status (stderr: %s)" % p.err[:500])
    check_rows_match(c, rows, queues, ["mx2", "mx3"], "list --hosts mx2,mx3")

    # A filter is applied on every host: the flooder's mail of all three.
    rows, p = f.list_json(c, ["--filter", "sender=" + FLOODER], what="list --filter sender=")
    c.eq(p.returncode, 0, "list --hosts all --filter: exit status (stderr: %s)" % p.err[:500])
    got = {h: set(m) for h, m in rows_by_host(rows).items()}
    want = {h: {i for i, m in q.items() if m["sender"] == FLOODER} for h, q in queues.items()}
    want = {h: s for h, s in want.items() if s}
    c.eq(got, want, "list --hosts all --filter sender=FLOODER: exactly the flooder's IDs per host")
    c.check(all(want.values()) and len(want) == 3, "the corpus floods every host", want.keys())


def test_hold(c, f):
    before = f.postqueue()
    p = f.qt("hold", ["--hosts", "all", "--filter", "sender=" + FLOODER, "--yes"])
    c.eq(p.returncode, 0, "hold --hosts all: exit status (stdout: %s stderr: %s)"
         % (p.out[:500], p.err[:500]))
    after = f.postqueue()
    for h in f.names:
        b, a = before[h], after[h]
        c.eq(set(a), set(b), "hold: %s keeps every message (same IDs)" % h)
        want_hold = {i for i, m in b.items() if m["sender"] == FLOODER or m["queue_name"] == "hold"}
        got_hold = {i for i, m in a.items() if m["queue_name"] == "hold"}
        c.eq(sorted(got_hold ^ want_hold)[:10], [],
             "hold: on %s exactly the flooder's messages (and those held before) are on hold" % h)
        moved = sum(1 for i, m in b.items() if m["sender"] == FLOODER and m["queue_name"] != "hold")
        c.check(moved > 0, "hold: %s had flood mail to move" % h)
        text = p.out + p.err
        c.check(re.search(r"\b%s\b[^;\n]*\b%s acted on" % (h, format(moved, ",")), text) is not None,
                "hold: the result names %s with its count %d" % (h, moved), text[:800])
    # Released again (by Postfix itself), so that later parts see the corpus.
    for h in f.names:
        ids = [i for i, m in before[h].items() if m["sender"] == FLOODER and m["queue_name"] != "hold"]
        qtlib.sh(["postsuper", "-c", f.tb[h].etc, "-H", "-"], input=("\n".join(ids) + "\n").encode())


def test_check(c, f):
    queues = f.postqueue()
    biggest = max(len(q) for q in queues.values())
    # Thresholds between the hosts' sizes would make the worst host decide; above
    # them all, every host is OK.
    p = f.qt("check", ["--hosts", "all", "--warn", str(biggest), "--crit", str(biggest * 2)])
    text = p.out + p.err
    c.eq(p.returncode, 0, "check --hosts all: OK when every host is under the thresholds (%s)"
         % text[:800])
    for h in f.names:
        c.check(names_host(text, h), "check --hosts all reports %s" % h, text[:800])
    p = f.qt("check", ["--hosts", "all", "--warn", str(biggest - 1), "--crit", str(biggest * 2)])
    c.eq(p.returncode, 1, "check --hosts all: WARNING when one host is over --warn (%s)"
         % (p.out + p.err)[:800])


def test_export(c, f):
    queues = f.postqueue()
    out = tempfile.mkdtemp(prefix="qtriage-fleet-export-", dir="/tmp")
    try:
        dest = os.path.join(out, "backup")
        p = f.qt("export", ["--hosts", "all", "--filter", "sender=" + FLOODER, "--dir", dest])
        c.eq(p.returncode, 0, "export --hosts all: exit status (stderr: %s)" % p.err[:500])
        subdirs = sorted(os.listdir(dest)) if os.path.isdir(dest) else []
        c.eq(subdirs, sorted(f.names), "export: one local subdirectory per host")
        for h in f.names:
            d = os.path.join(dest, h)
            files = os.listdir(d) if os.path.isdir(d) else []
            ids = {re.sub(r"\.eml$", "", fn) for fn in files}
            want = {i for i, m in queues[h].items() if m["sender"] == FLOODER}
            c.eq(sorted(ids ^ want)[:10], [], "export: %s/ holds exactly its flood mail" % h)
            bad = [fn for fn in files if not re.search(
                r"(?mi)^from: .*bulk-deals\.example",
                open(os.path.join(d, fn), errors="replace").read(20000).split("\n\n", 1)[0])]
            c.eq(bad[:3], [], "export: every %s file is the flooder's message" % h)
    finally:
        qtlib.sh(["rm", "-rf", "--", out])


def test_failed_host(c, f):
    queues = f.postqueue()
    fleet = f.fleet_file({"mx3": {"dest": "mxdown"}})
    rows, p = f.list_json(c, fleet=fleet, what="list with mx3 unreachable")
    c.check(p.returncode not in (0, None), "list: exit non-zero when a host failed (%r)" % p.returncode)
    c.check(names_host(p.err, "mx3"), "list: stderr names the failed host mx3", p.err[:500])
    c.check("refused" in p.err.lower(), "list: ssh's reason (connection refused) is given", p.err[:500])
    check_rows_match(c, [r for r in rows if r.get("host") != "mx3"], queues, ["mx1", "mx2"],
                     "list with mx3 unreachable")
    p = f.qt("hold", ["--hosts", "all", "--filter", "sender=nobody@nowhere.example", "--yes"],
             fleet=fleet)
    # Nothing matches on mx1 and mx2, but mx3 could not be asked: that is a
    # failure to report, not "no message matches".
    c.check(p.returncode not in (0, None), "hold: exit non-zero when a host failed (%r)" % p.returncode,
            (p.out + p.err)[-800:])
    c.check(names_host(p.out + p.err, "mx3"), "hold: the failed host is named", (p.out + p.err)[:500])
    c.eq(f.postqueue(), queues, "nothing changed anywhere")


def body(c):
    fleetlib.require()
    with fleetlib.Fleet(3, N) as f:
        # The bed itself: ssh reaches every instance and Postfix answers through it.
        for h in f.names:
            r = f.bed.ssh(h, "postqueue -c %s -j" % f.tb[h].etc)
            ids = {json.loads(l)["queue_id"] for l in r.stdout.decode().splitlines() if l.strip()}
            c.eq(ids, {m["queue_id"] for m in f.tb[h].postqueue_j()},
                 "test bed: postqueue -j over ssh on %s = locally" % h)
        if not qtlib.have_qtriage():
            c.skip("no qtriage binary")
            return
        for part in (test_list, test_hold, test_check, test_export, test_failed_host):
            t = time.monotonic()
            try:
                part(c, f)
            except Exception:  # noqa: BLE001
                c.error("%s: %s" % (part.__name__, traceback.format_exc()))
            qtlib.log("%s: %.1f s" % (part.__name__, time.monotonic() - t))


if __name__ == "__main__":
    qtlib.run_main("fleet", body)
