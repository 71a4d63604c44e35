"""A fleet for the tests: real Postfix instances behind a real loopback sshd.

Fleet(n) brings up n test-bed instances (qtlib.Testbed, in parallel), fills
each with its own queue (tests/bench/qgen: queue files written directly, as
cleanup(8) writes them, with a flooder, a hijacked account, bounces; a
different seed per host: sendmail manages 2 messages/s on a loaded machine),
and puts tests/testbed/sshbed.py's OpenSSH server in
front of them: hosts mx1..mxN, each `config=` its instance's etc dir and
`qtriage=` the binary under test.  qtriage is run with `--fleet FILE --ssh
"ssh -F BED/ssh_config"`: the system's and root's ssh configuration are never
read or changed.

Skips (exit 77) when not root or when OpenSSH's server is missing."""

import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "testbed"))

import qtlib  # noqa: E402
import sshbed  # noqa: E402

log = qtlib.log
FLOODER = "promo@bulk-deals.example"
HIJACKED = "j.smith@customer-isp.example"
# Every qtriage call is bounded: a hang is a failure, not a stuck CI job.
CALL_TIMEOUT = 90


def require():
    why = sshbed.available()
    if why:
        log("fleet tests need root and OpenSSH's server: %s" % why)
        sys.exit(qtlib.SKIP)


def qgen_path():
    """The build's qgen (meson builds it beside qtriage), else one compiled now."""
    exe = qtlib.qtriage_path()
    cand = os.path.join(os.path.dirname(os.path.dirname(exe)), "tests", "bench", "qgen")
    if os.access(cand, os.X_OK):
        return cand
    out = os.path.join(tempfile.gettempdir(), "qtriage-fleet-qgen-%d" % os.getpid())
    if not os.access(out, os.X_OK):
        qtlib.sh(["cc", "-O2", "-o", out, os.path.join(HERE, "..", "bench", "qgen.c")])
    return out


class Fleet:
    """n Postfix instances as hosts mx1..mxN over loopback ssh."""

    def __init__(self, n=3, messages=300, tag="fleet"):
        self.names = ["mx%d" % (i + 1) for i in range(n)]
        self.tb = {name: qtlib.Testbed("%s-%s" % (tag, name)) for name in self.names}
        self.messages = messages
        self.bed = None

    def __enter__(self):
        t = time.monotonic()
        try:
            with concurrent.futures.ThreadPoolExecutor(len(self.names)) as ex:
                for f in [ex.submit(tb.__enter__) for tb in self.tb.values()]:
                    f.result()
                for f in [ex.submit(self._fill, tb) for tb in self.tb.values()]:
                    f.result()
            self.bed = sshbed.SshBed([(n, self.tb[n].etc) for n in self.names],
                                     qtlib.qtriage_path())
            self.bed.__enter__()
        except BaseException:
            self.__exit__()
            raise
        log("fleet of %d hosts up in %.1f s" % (len(self.names), time.monotonic() - t))
        return self

    def _fill(self, tb):
        if self.messages:
            seed = 1 + sorted(self.tb.values(), key=lambda t: t.dir).index(tb)
            qtlib.sh([qgen_path(), "-c", tb.etc, "-n", str(self.messages), "--seed", str(seed),
                      "-j", "2"], timeout=300)

    def __exit__(self, *exc):
        if self.bed is not None:
            self.bed.down()
        for tb in self.tb.values():
            tb.down()
        return False

    # ------------------------------------------------------------ fleet files
    def fleet_file(self, overrides=None, names=None, path=None):
        """A fleet file for hosts `names` (default all); overrides maps a host
        name to keyword arguments of SshBed.host_line (dest, qtriage, config)."""
        overrides = overrides or {}
        lines = [self.bed.host_line(n, **overrides.get(n, {})) for n in (names or self.names)]
        return self.bed.write_fleet(lines, path=path or self.bed.path(
            "fleet-%d" % (abs(hash(tuple(lines))) % 10**8)))

    def args(self, fleet=None):
        return ["--fleet", fleet or self.bed.path("fleet"), "--ssh", self.bed.ssh_option()]

    # ------------------------------------------------------------ running
    def qt(self, verb, args, fleet=None, timeout=CALL_TIMEOUT, input=None):
        """Run `qtriage VERB --fleet F --ssh S ARGS`; returns CompletedProcess, or
        one with returncode None when it had to be killed (a hang)."""
        argv = [qtlib.qtriage_path(), verb] + self.args(fleet) + list(args)
        t = time.monotonic()
        try:
            p = subprocess.run(argv, input=input, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=timeout,
                               stdin=None if input is not None else subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            p = subprocess.CompletedProcess(argv, None, e.stdout or b"", e.stderr or b"")
        p.seconds = time.monotonic() - t
        p.out = p.stdout.decode("utf-8", "replace")
        p.err = p.stderr.decode("utf-8", "replace")
        return p

    def list_json(self, c, args=(), fleet=None, hosts="all", what="list --hosts all --json"):
        """(rows, process): rows are the JSON objects; invalid lines are failures."""
        p = self.qt("list", ["--hosts", hosts, "--json"] + list(args), fleet=fleet)
        c.check(p.returncode is not None, "%s ends within %d s" % (what, CALL_TIMEOUT))
        rows = []
        for line in p.out.splitlines():
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    c.check(False, "%s: a valid JSON line" % what, line[:300])
        return rows, p

    def postqueue(self):
        """Each host's queue as Postfix itself reports it: {host: {id: obj}}."""
        return {n: {m["queue_id"]: m for m in tb.postqueue_j()} for n, tb in self.tb.items()}


def host_id(row):
    """(host, bare queue ID) of a list --json row.  The store keys a remote
    message "HOST:QUEUEID"; a row may carry either form in queue_id."""
    host = row.get("host")
    qid = row.get("queue_id", "")
    if host and qid.startswith(host + ":"):
        qid = qid[len(host) + 1:]
    return host, qid


def rows_by_host(rows):
    out = {}
    for r in rows:
        h, q = host_id(r)
        out.setdefault(h, {})[q] = r
    return out


def check_rows_match(c, rows, queues, hosts, what):
    """Every host in `hosts` lists exactly its instance's messages, each with the
    instance's sender and queue; no row of any other host."""
    got = rows_by_host(rows)
    c.eq(sorted(h for h in got if h not in hosts), [], "%s: no rows of other hosts" % what)
    for h in hosts:
        mine = got.get(h, {})
        want = queues[h]
        c.eq(len(mine), len(want), "%s: %s row count = postqueue -j count" % (what, h))
        c.eq(sorted(set(mine) ^ set(want))[:10], [],
             "%s: %s lists exactly the IDs postqueue -j lists" % (what, h))
        bad = [(i, mine[i].get("sender"), want[i]["sender"]) for i in set(mine) & set(want)
               if mine[i].get("sender") != want[i]["sender"]
               and not (want[i]["sender"] == "MAILER-DAEMON" and mine[i].get("sender") in ("", None))]
        c.eq(bad[:5], [], "%s: %s senders agree with postqueue -j" % (what, h))
        badq = [(i, mine[i].get("queue"), want[i]["queue_name"]) for i in set(mine) & set(want)
                if (mine[i].get("queue") or mine[i].get("queue_name")) != want[i]["queue_name"]]
        c.eq(badq[:5], [], "%s: %s queues agree with postqueue -j" % (what, h))


def names_host(text, host):
    return re.search(r"\b%s\b" % re.escape(host), text) is not None


ESC = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
SANITIZER = re.compile(r"AddressSanitizer|runtime error:|LeakSanitizer")


def sound(c, p, what):
    """No hang, no crash, no stranger's control bytes on the terminal."""
    c.check(p.returncode is not None, "%s: ends within %d s (no hang)" % (what, CALL_TIMEOUT))
    c.check(p.returncode is None or p.returncode >= 0,
            "%s: no crash (killed by signal %r)" % (what, -(p.returncode or 0)), p.err[-800:])
    c.check(not SANITIZER.search(p.err), "%s: no sanitizer report" % what, p.err[-2000:])
    c.check(not ESC.search(p.err.replace("\n", "")), "%s: no control bytes on stderr" % what,
            repr(p.err[:300]))


def list_with_bad_host(c, f, queues, what, reason, host="mx3", **over):
    """list --hosts all --json with `host` changed by `over` (SshBed.host_line's
    keywords: dest, qtriage, config, sudo) so that it fails: the call is
    sound, exits non-zero, names the host with a reason matching `reason`,
    and lists every other host in full.  Returns the process."""
    fleet = f.fleet_file({host: over})
    rows, p = f.list_json(c, fleet=fleet, what=what)
    sound(c, p, what)
    c.check(p.returncode not in (0, None), "%s: exit status non-zero (%r)" % (what, p.returncode))
    c.check(names_host(p.err, host), "%s: names %s" % (what, host), p.err[-800:])
    c.check(re.search(reason, p.err, re.I) is not None,
            "%s: gives the reason /%s/" % (what, reason), p.err[-800:])
    others = [n for n in f.names if n != host]
    check_rows_match(c, [r for r in rows if r.get("host") != host], queues, others, what)
    log("%s: %.1f s" % (what, p.seconds))
    return p


def gated_host(f, host="mx3", names=None):
    """A fleet file where `host`'s agent waits at a closed gate (a slow host):
    returns (fleet path, the proxy's log, the gate: close() it to open)."""
    prog, plog = f.bed.fault_program("gate")
    _, held = f.bed.gate()
    return f.fleet_file({host: {"qtriage": prog}}, names=names), plog, held
