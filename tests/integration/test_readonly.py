#!/usr/bin/env python3
"""Integration test: qtriage as a non-root user (read-only mode).

The spool's queue directories are mode 0700 owner postfix, so user "nobody"
cannot read them; qtriage must fall back to postqueue -j (allowed for anyone by
authorized_mailq_users, and possible for an alternate instance because the test
bed lists DIR/etc in alternate_config_directories of /etc/postfix/main.cf).

  * nobody: qtriage list --json lists the same IDs as root's qtriage list and as
    postqueue -j, with the same queue_name/sender/recipients/... fields;
    --queue hold works too
  * nobody: qtriage hold/delete refuse with a clear message, exit non-zero,
    queue unchanged
  * master stopped: root's qtriage list still works (reads the spool); nobody's
    must fail loudly (exit non-zero, message on stderr) rather than list nothing
Exit: 0 ok, 1 failures, 77 when $QTRIAGE is missing (Postfix side still checked).
"""

import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qtlib  # noqa: E402
from qtlib import log  # noqa: E402

USER = "nobody"
N = int(os.environ.get("QTRIAGE_READONLY_N", "40"))
PQ_FIELDS = ("queue_name", "sender", "message_size", "arrival_time", "forced_expire")


def as_user(argv, **kw):
    return subprocess.run(qtlib.as_user_argv(USER) + argv, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, cwd="/", **kw)


def user_exe(tmpdirs):
    """Path of a qtriage binary that USER can execute (copy it if needed)."""
    exe = qtlib.qtriage_path()
    if as_user(["test", "-x", exe]).returncode == 0:
        return exe
    d = tempfile.mkdtemp(prefix="qtriage-bin-", dir="/tmp")
    tmpdirs.append(d)
    os.chmod(d, 0o755)
    dst = os.path.join(d, os.path.basename(exe))
    shutil.copy2(exe, dst)
    os.chmod(dst, 0o755)
    log("copied %s to %s so that %s can run it" % (exe, dst, USER))
    return dst


def rcpts(m):
    return [(r.get("address"), r.get("delay_reason")) for r in m.get("recipients", [])]


def snapshot(tb):
    return {m["queue_id"]: (m["queue_name"], m["forced_expire"]) for m in tb.postqueue_j()}


def body(c):
    tmpdirs = []
    try:
        with qtlib.Testbed("ro") as tb:
            tb.inject(N)
            tb.settle()
            pq = tb.postqueue_j()
            c.eq(len(pq), N, "all messages queued")
            # Postfix side: the spool is unreadable for USER, postqueue -j works
            p = as_user(["ls", os.path.join(tb.spool, "deferred")])
            c.check(p.returncode != 0, "%s cannot read the deferred queue directory" % USER)
            pq_user = qtlib.postqueue_j(tb.etc, user=USER)
            c.eq(sorted(m["queue_id"] for m in pq_user), sorted(m["queue_id"] for m in pq),
                 "postqueue -j as %s lists the same IDs as root" % USER)

            if not qtlib.have_qtriage():
                c.skip("qtriage checks: %s not found" % qtlib.qtriage_path())
                return
            exe = user_exe(tmpdirs)
            s0 = snapshot(tb)

            root_list, _ = qtlib.qtriage_list(tb.etc, c=c)
            user_list, p = qtlib.qtriage_list(tb.etc, user=USER, exe=exe, c=c)
            rb, ub, pb = qtlib.by_id(root_list), qtlib.by_id(user_list), qtlib.by_id(pq)
            c.eq(sorted(ub), sorted(rb), "non-root listing has the same IDs as root's")
            c.eq(sorted(ub), sorted(pb), "non-root listing has the same IDs as postqueue -j")
            bad = []
            for i in sorted(set(ub) & set(pb)):
                for k in PQ_FIELDS:
                    if ub[i].get(k) != pb[i][k]:
                        bad.append("%s %s: %r vs postqueue %r" % (i, k, ub[i].get(k), pb[i][k]))
                if rcpts(ub[i]) != rcpts(pb[i]):
                    bad.append("%s recipients: %r vs postqueue %r" % (i, rcpts(ub[i]), rcpts(pb[i])))
            c.eq(bad[:10], [], "non-root listing fields equal postqueue -j's")
            hold_user, _ = qtlib.qtriage_list(tb.etc, ["--queue", "hold"], user=USER, exe=exe, c=c)
            c.eq(sorted(m["queue_id"] for m in hold_user),
                 sorted(m["queue_id"] for m in pq if m["queue_name"] == "hold"),
                 "non-root --queue hold lists exactly the held messages")

            # actions must be refused
            victim = sorted(i for i, (q, _e) in s0.items() if q == "deferred")[0]
            p = qtlib.qtriage(["hold", "-c", tb.etc, victim], user=USER, exe=exe)
            err = p.stderr.decode("utf-8", "replace")
            c.check(p.returncode != 0, "non-root hold exits non-zero (%d)" % p.returncode)
            c.check(err.strip() != "", "non-root hold explains itself on stderr", err)
            c.check(any(w in err.lower() for w in ("root", "permission", "privilege", "read-only",
                                                   "readonly", "not allowed", "denied")),
                    "non-root hold message mentions root/permission/read-only", err)
            p = qtlib.qtriage(["delete", "-c", tb.etc, "-"], user=USER, exe=exe,
                              input=(victim + "\n").encode())
            c.check(p.returncode != 0, "non-root delete (stdin) exits non-zero (%d)" % p.returncode)
            s1 = snapshot(tb)
            c.check(s1 == s0, "queue unchanged after refused non-root actions",
                    [(i, s0.get(i), s1.get(i)) for i in set(s0) | set(s1) if s0.get(i) != s1.get(i)][:10])

            # master stopped
            qtlib.sh([qtlib.TESTBED, "down", tb.dir])
            stopped_root, p = qtlib.qtriage_list(tb.etc)
            c.eq(p.returncode, 0, "root list with the master stopped exits 0 (stderr: %s)"
                 % p.stderr.decode(errors="replace")[:300])
            c.eq(sorted(m["queue_id"] for m in stopped_root), sorted(s0),
                 "root list with the master stopped shows every message")
            p = qtlib.qtriage(["list", "-c", tb.etc, "--json"], user=USER, exe=exe)
            c.check(p.returncode != 0, "non-root list with the master stopped fails (exit %d)"
                    % p.returncode)
            c.check(p.stderr.strip() != b"", "... and says why on stderr",
                    p.stderr.decode(errors="replace"))
    finally:
        for d in tmpdirs:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    qtlib.run_main("test_readonly", body)
