"""Shared helpers for qtriage's integration tests (Python 3 stdlib only).

Each test script imports this module, brings up one or more throwaway Postfix
instances with tests/testbed/testbed.sh, and compares qtriage's output with what
Postfix itself reports (postqueue -j) and with what was injected (corpus.json).

Environment:
  QTRIAGE            path of the qtriage binary (default: build/qtriage under the
                     source root).  When it does not exist, the Postfix-side checks
                     still run and the script exits 77 (meson: SKIP) at the end.
  QTRIAGE_KEEP_TESTBED=1   do not purge the test-bed directories (debugging).
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SRC_ROOT = os.path.dirname(os.path.dirname(HERE))
TESTBED = os.path.join(SRC_ROOT, "tests", "testbed", "testbed.sh")
SKIP = 77

TOKEN_RE = re.compile(r"\[qt-[0-9a-f]{4}-[0-9]{5}\]")
ID_RE = re.compile(r"^[0-9A-Za-z]+$")


def qtriage_path():
    p = os.environ.get("QTRIAGE") or os.path.join(SRC_ROOT, "build", "qtriage")
    return os.path.abspath(p)


def have_qtriage():
    p = qtriage_path()
    return os.path.isfile(p) and os.access(p, os.X_OK)


def log(msg):
    print(msg, flush=True)


# ------------------------------------------------------------------ checks

class Checker:
    """Collects check results; prints failures as they happen and a summary."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.skipped = []
        self.t0 = time.monotonic()

    def check(self, cond, what, detail=None):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            msg = "FAIL: %s" % what
            if detail is not None:
                d = detail if isinstance(detail, str) else repr(detail)
                if len(d) > 2000:
                    d = d[:2000] + "...(truncated)"
                msg += "\n      " + d.replace("\n", "\n      ")
            log(msg)
        return cond

    def eq(self, got, want, what):
        return self.check(got == want, what, "got:  %r\nwant: %r" % (got, want))

    def skip(self, what):
        self.skipped.append(what)
        log("SKIP: %s" % what)

    def error(self, what):
        self.failed += 1
        log("ERROR: %s" % what)

    def finish(self):
        dt = time.monotonic() - self.t0
        status = "FAILED" if self.failed else ("PASSED (some parts skipped)" if self.skipped else "PASSED")
        log("%s: %s -- %d checks passed, %d failed, %d parts skipped, %.1f s"
            % (self.name, status, self.passed, self.failed, len(self.skipped), dt))
        if self.failed:
            return 1
        if self.skipped:
            return SKIP
        return 0


def wait_for(what, pred, timeout=60):
    """Poll pred() until it returns something true, and return that; raise
    after `timeout` seconds, naming `what` was waited for."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise RuntimeError("timed out waiting for " + what)


def run_main(name, body):
    """Run body(checker) with exception reporting; exit with the right code."""
    c = Checker(name)
    if os.geteuid() != 0:
        log("%s: must run as root (it starts a Postfix instance)" % name)
        sys.exit(SKIP)
    try:
        body(c)
    except Exception:  # noqa: BLE001
        c.error("unexpected exception:\n" + traceback.format_exc())
    sys.exit(c.finish())


# ------------------------------------------------------------------ test bed

def sh(argv, check=True, input=None, timeout=600, **kw):
    p = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (exit %d):\n%s%s" % (
            " ".join(argv), p.returncode, p.stdout.decode(errors="replace"),
            p.stderr.decode(errors="replace")))
    return p


class Testbed:
    """A throwaway Postfix instance in a temp dir under /tmp (context manager)."""

    def __init__(self, tag="tb", long_ids=False, hash_hold=False, depth=1, smtpd=False):
        self.dir = tempfile.mkdtemp(prefix="qtriage-%s-" % tag, dir="/tmp")
        self.etc = os.path.join(self.dir, "etc")
        self.spool = os.path.join(self.dir, "spool")
        self.maillog = os.path.join(self.dir, "maillog")
        self.corpus_path = os.path.join(self.dir, "corpus.json")
        self.opts = []
        if long_ids:
            self.opts.append("--long-ids")
        if hash_hold:
            self.opts.append("--hash-hold")
        if depth != 1:
            self.opts += ["--depth", str(depth)]
        if smtpd:
            self.opts.append("--smtpd")

    def __enter__(self):
        t = time.monotonic()
        sh([TESTBED, "up", self.dir] + self.opts)
        log("testbed up %s %s (%.1f s)" % (self.dir, " ".join(self.opts), time.monotonic() - t))
        return self

    def __exit__(self, *exc):
        self.down()
        return False

    def down(self):
        purge = [] if os.environ.get("QTRIAGE_KEEP_TESTBED") == "1" else ["--purge"]
        if os.path.exists(self.maillog):
            bad = [l for l in open(self.maillog, errors="replace")
                   if re.search(r"\b(warning|fatal|panic):", l)]
            if bad:
                log("note: %d warning/fatal lines in %s, e.g.:\n  %s"
                    % (len(bad), self.maillog, "  ".join(bad[:5])))
        sh([TESTBED, "down", self.dir] + purge, check=False)

    def inject(self, n):
        t = time.monotonic()
        p = sh([TESTBED, "inject-corpus", self.dir, str(n)], timeout=1800)
        log(p.stderr.decode(errors="replace").strip() or "injected %d" % n)
        return time.monotonic() - t

    def settle(self, timeout=300):
        t = time.monotonic()
        sh([TESTBED, "settle", self.dir, str(timeout)], timeout=timeout + 30)
        dt = time.monotonic() - t
        log("settled in %.1f s" % dt)
        return dt

    def corpus(self):
        with open(self.corpus_path, encoding="utf-8") as f:
            return json.load(f)

    def postqueue_j(self, user=None):
        return postqueue_j(self.etc, user=user)

    def sendmail(self, sender, rcpts, data):
        """Queue one message through the instance's own sendmail (postdrop,
        pickup, cleanup: a real queue file).  `data` is the message (bytes)."""
        sh(["sendmail", "-C", self.etc, "-i", "-f", sender, "--"] + list(rcpts), input=data)

    def split_by_sender_domain(self, domain):
        """({id: queue} of queued mail whose sender's domain is `domain`,
        {id: queue} of the rest), from postqueue -j."""
        match, other = {}, {}
        for m in self.postqueue_j():
            s = m.get("sender", "")
            d = s.rsplit("@", 1)[1] if "@" in s else ""
            (match if d == domain else other)[m["queue_id"]] = m["queue_name"]
        return match, other

    def queue_file(self, qid):
        """Path of the queue file for qid (any queue, hashed or not), or None."""
        for q in ("maildrop", "incoming", "active", "deferred", "hold", "corrupt"):
            base = os.path.join(self.spool, q)
            for root, _dirs, files in os.walk(base):
                if qid in files:
                    return os.path.join(root, qid)
        return None

    def counts(self):
        out = {}
        for q in ("maildrop", "incoming", "active", "deferred", "hold", "corrupt"):
            n = 0
            for _root, _dirs, files in os.walk(os.path.join(self.spool, q)):
                n += len(files)
            out[q] = n
        return out


def as_user_argv(user):
    if user is None:
        return []
    grp = "nogroup" if user == "nobody" else user
    return ["setpriv", "--reuid=" + user, "--regid=" + grp, "--clear-groups", "--"]


def postqueue_j(etc, user=None):
    p = sh(as_user_argv(user) + ["postqueue", "-c", etc, "-j"])
    return [json.loads(l) for l in p.stdout.decode("utf-8").splitlines() if l.strip()]


# ------------------------------------------------------------------ qtriage

def qtriage(args, input=None, user=None, exe=None, timeout=600):
    argv = as_user_argv(user) + [exe or qtriage_path()] + list(args)
    return subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout)


def qtriage_list(etc, extra=(), user=None, exe=None, c=None):
    """Run `qtriage list -c ETC --json`; return (list of objects, CompletedProcess)."""
    p = qtriage(["list", "-c", etc, "--json"] + list(extra), user=user, exe=exe)
    objs = []
    bad = 0
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        if not line.strip():
            continue
        try:
            objs.append(json.loads(line))
        except ValueError:
            bad += 1
            if c is not None and bad <= 3:
                c.check(False, "qtriage list emits valid JSON lines", line[:300])
    if c is not None:
        c.eq(bad, 0, "no invalid JSON lines from qtriage list")
        c.eq(p.returncode, 0, "qtriage list %s exit status (stderr: %s)"
             % (" ".join(extra), p.stderr.decode(errors="replace")[:500]))
    return objs, p


def by_id(msgs):
    return {m["queue_id"]: m for m in msgs}


def corpus_by_token(corpus):
    return {e["token"]: e for e in corpus}


def token_of(text):
    m = TOKEN_RE.search(text or "")
    return m.group(0) if m else None
