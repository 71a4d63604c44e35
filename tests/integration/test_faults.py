#!/usr/bin/env python3
"""Integration test: qtriage when something is wrong around it.

Every case must end with one clear line on stderr that names the problem, the
documented exit status (README: list 0/1/3, actions 0/1/2/3), no crash, and,
for actions, the queue either unchanged or changed in exactly what Postfix
reported it acted on.  One throwaway instance (corpus mail, plus 3000 deferred
messages written by tests/bench/qgen for the kill case).

  wrong -c          no such directory, a file, a directory without main.cf
                    -> exit 3 (list and hold), "cannot read the Postfix
                    configuration in DIR: ... main.cf ..."
  queue_directory   main.cf names a queue directory that does not exist
                    -> list exit 3 naming it; hold exit 1 with postsuper's
                    "chdir ...: No such file", nothing done
  unreadable queue  (a) root, deferred/ chmod 000: root reads it anyway, the
                    listing is complete (postqueue -j fails meanwhile: showq
                    runs as the mail owner);
                    (b) as the mail owner (postfix), deferred/ chmod 000: the
                    spool is not readable, postqueue -j fails too -> exit 1,
                    one line with both reasons; --backend spool -> exit 3;
                    (c) as the mail owner, one hashed subdirectory deferred/X
                    chmod 000 -> exit 1, one line naming it, everything else
                    listed.  Permissions are restored in `finally`.
  not root          as nobody: list works read-only (one notice line, exit 0,
                    same IDs as postqueue -j); hold/deliver/flush refused with
                    "needs root", exit 1, queue unchanged
  postsuper         The spool layout takes the tools from `postconf -h
                    command_directory` (src/core/spool.c), so main.cf's
                    command_directory is pointed at a directory of our own:
                    - empty: postsuper (and postqueue) missing -> "cannot run
                      DIR/postsuper: No such file or directory; nothing done",
                      exit 1, queue unchanged; listing as root still works
                    - a real copy of /usr/sbin/postsuper, mode 0644 -> "cannot
                      run ...: Permission denied", exit 1, queue unchanged;
                      made 0755 the copy works (proves the directory is used)
                    Failing for real: the real postsuper cannot rename into
                    hold/ when hold/ is mode 000 (it works as the mail owner)
                    -> its "fatal: rename ... Permission denied", exit 1,
                    nothing done; and half way: releasing 6 held messages
                    where the 3rd one's hashed deferred/ subdirectory is mode
                    000 -> the first 2 released, "2 of 6 acted on before
                    that, nothing more was run", the rest still on hold.
                    Killed: `qtriage hold -` of 3000 messages; once postsuper
                    has moved some, the test SIGKILLs it (a child of the
                    qtriage it started) -> "killed by signal 9", exit 1, and
                    the count qtriage reports equals the messages postsuper
                    confirmed on stderr (the maillog agrees within the one
                    line being written at the kill); the files actually moved
                    are those, or one more (killed between the rename and its
                    log line); nothing else changed.
Exit: 0 ok, 1 failures, 77 when $QTRIAGE is missing.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qtlib  # noqa: E402
from qtlib import log  # noqa: E402

QUEUES = ("maildrop", "incoming", "active", "deferred", "hold", "corrupt")
N_KILL = int(os.environ.get("QTRIAGE_FAULTS_KILL_N", "3000"))


def spool_state(tb):
    """{queue ID: queue name} from the queue files themselves (works when
    postqueue -j does not)."""
    out = {}
    for q in QUEUES:
        for _root, _dirs, files in os.walk(os.path.join(tb.spool, q)):
            for f in files:
                out[f] = q
    return out


def hash_dir(tb, qid):
    """The deferred/ subdirectory a message lives in (depth 1 hashing)."""
    return os.path.join(tb.spool, "deferred", qid[0])


def diff(a, b):
    return ["%s: %s -> %s" % (i, a.get(i), b.get(i)) for i in sorted(set(a) | set(b))
            if a.get(i) != b.get(i)]


def one_line(c, p, what, code, *words):
    """Exit status `code`, exactly one line on stderr containing all `words`."""
    err = p.stderr.decode("utf-8", "replace")
    lines = err.splitlines()
    c.check(p.returncode >= 0, "%s: no crash (signal %d)" % (what, -p.returncode))
    c.eq(p.returncode, code, "%s: exit status (stderr: %s)" % (what, err.strip()[:400]))
    c.check(len(lines) == 1, "%s: exactly one line on stderr" % what, err[:1500])
    missing = [w for w in words if w.lower() not in err.lower()]
    c.eq(missing, [], "%s: the stderr line names the problem (%s)" % (what, err.strip()[:400]))
    return err.strip()


def qt(args, **kw):
    return qtlib.qtriage(args, **kw)


def set_main_cf(tb, name, value):
    qtlib.sh(["postconf", "-c", tb.etc, "-e", "%s = %s" % (name, value)])
    t = time.time() - 10     # Postfix distrusts config files younger than a second or two
    os.utime(os.path.join(tb.etc, "main.cf"), (t, t))


def user_exe(tmpdirs):
    """A copy of qtriage that users nobody and postfix can execute."""
    d = tempfile.mkdtemp(prefix="qtriage-bin-", dir="/tmp")
    tmpdirs.append(d)
    os.chmod(d, 0o755)
    dst = os.path.join(d, "qtriage")
    shutil.copy2(qtlib.qtriage_path(), dst)
    os.chmod(dst, 0o755)
    return dst


# ------------------------------------------------------------------ cases

def wrong_config(c, tb, tmpdirs):
    empty = tempfile.mkdtemp(prefix="qtriage-nocf-", dir="/tmp")
    tmpdirs.append(empty)
    for d, why in (("/nonexistent/qtriage-etc", "No such file"), ("/etc/passwd", "Not a directory"),
                   (empty, "No such file")):
        for args in (["list", "-c", d, "--json"], ["hold", "-c", d, "ABCDEF123"]):
            p = qt(args)
            one_line(c, p, "%s -c %s" % (args[0], d), 3,
                     "cannot read the Postfix configuration in %s" % d, "main.cf", why)
            c.eq(p.stdout, b"", "%s -c %s: nothing on stdout" % (args[0], d))

    # main.cf that names a queue directory that is not there
    etc2 = tempfile.mkdtemp(prefix="qtriage-etc2-", dir="/tmp")
    tmpdirs.append(etc2)
    for f in ("main.cf", "master.cf"):
        shutil.copy2(os.path.join(tb.etc, f), etc2)
    qtlib.sh(["postconf", "-c", etc2, "-e", "queue_directory = /nonexistent/qtriage-spool"])
    p = qt(["list", "-c", etc2, "--json"])
    one_line(c, p, "list with a missing queue_directory", 3,
             "queue_directory /nonexistent/qtriage-spool", "No such file")
    before = spool_state(tb)
    victim = sorted(i for i, q in before.items() if q == "deferred")[0]
    p = qt(["hold", "-c", etc2, victim])
    one_line(c, p, "hold with a missing queue_directory", 1,
             "hold:", "postsuper", "chdir /nonexistent/qtriage-spool", "nothing done")
    c.eq(spool_state(tb), before, "hold with a missing queue_directory: queue unchanged")


def unreadable_queue(c, tb, tmpdirs, exe):
    deferred = os.path.join(tb.spool, "deferred")
    before = spool_state(tb)
    mode = os.stat(deferred).st_mode & 0o7777
    try:
        os.chmod(deferred, 0)
        # (a) root reads it anyway; Postfix's own listing (showq runs as the
        # mail owner) cannot
        pq = subprocess.run(["postqueue", "-c", tb.etc, "-j"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
        c.check(pq.returncode != 0, "postqueue -j fails with deferred/ at mode 000 (%d)"
                % pq.returncode)
        objs, p = qtlib.qtriage_list(tb.etc, c=c)
        c.eq(p.stderr, b"", "root, deferred/ mode 000: nothing on stderr")
        c.eq(sorted(m["queue_id"] for m in objs), sorted(before),
             "root, deferred/ mode 000: every message listed")
        # (b) the mail owner cannot read it: no spool, no postqueue -j
        p = qt(["list", "-c", tb.etc, "--json"], user="postfix", exe=exe)
        one_line(c, p, "as postfix, deferred/ mode 000", 1, "%s is not readable" % deferred,
                 "postqueue -j failed")
        p = qt(["list", "-c", tb.etc, "--backend", "spool"], user="postfix", exe=exe)
        one_line(c, p, "as postfix, deferred/ mode 000, --backend spool", 3,
                 "%s is not readable" % deferred)
    finally:
        os.chmod(deferred, mode)

    # (c) one hashed subdirectory unreadable for the mail owner
    victim = sorted(i for i, q in before.items() if q == "deferred")[0]
    sub = hash_dir(tb, victim)
    inside = set(os.listdir(sub))
    smode = os.stat(sub).st_mode & 0o7777
    try:
        os.chmod(sub, 0)
        objs, p = qtlib.qtriage_list(tb.etc, user="postfix", exe=exe)
        one_line(c, p, "as postfix, deferred/%s mode 000" % victim[0], 1,
                 "cannot open directory %s" % sub, "Permission denied")
        c.eq(sorted(m["queue_id"] for m in objs), sorted(set(before) - inside),
             "as postfix, deferred/%s mode 000: every other message listed" % victim[0])
    finally:
        os.chmod(sub, smode)
    objs, p = qtlib.qtriage_list(tb.etc, user="postfix", exe=exe, c=c)
    c.eq(sorted(m["queue_id"] for m in objs), sorted(before),
         "as postfix with the modes restored: every message listed")


def not_root(c, tb, exe):
    before = spool_state(tb)
    pq = qtlib.postqueue_j(tb.etc, user="nobody")
    objs, p = qtlib.qtriage_list(tb.etc, user="nobody", exe=exe)
    one_line(c, p, "list as nobody", 0, "read-only mode", "postqueue -j", "actions need root")
    c.eq(sorted(m["queue_id"] for m in objs), sorted(m["queue_id"] for m in pq),
         "list as nobody: the IDs postqueue -j lists")
    victim = sorted(i for i, q in before.items() if q == "deferred")[0]
    for args in (["hold", victim], ["deliver", victim], ["flush"]):
        p = qt([args[0], "-c", tb.etc] + args[1:], user="nobody", exe=exe)
        one_line(c, p, "%s as nobody" % args[0], 1, "needs root", "nothing done")
    c.eq(spool_state(tb), before, "actions as nobody: queue unchanged")


def postsuper_missing_or_broken(c, tb, tmpdirs):
    before = spool_state(tb)
    deferred = sorted(i for i, q in before.items() if q == "deferred")
    cmd = tempfile.mkdtemp(prefix="qtriage-cmd-", dir="/tmp")
    tmpdirs.append(cmd)
    os.chmod(cmd, 0o755)
    orig = qtlib.sh(["postconf", "-c", tb.etc, "-h", "command_directory"]).stdout.decode().strip()
    try:
        set_main_cf(tb, "command_directory", cmd)
        # missing
        p = qt(["hold", "-c", tb.etc] + deferred[:3])
        one_line(c, p, "hold without postsuper", 1,
                 "hold: cannot run %s/postsuper: No such file or directory; nothing done" % cmd)
        p = qt(["delete", "-c", tb.etc, "-"], input=("\n".join(deferred[:3]) + "\n").encode())
        one_line(c, p, "delete (stdin) without postsuper", 1, "cannot run %s/postsuper" % cmd,
                 "nothing done")
        p = qt(["deliver", "-c", tb.etc, deferred[0]])
        one_line(c, p, "deliver without postqueue", 1, "cannot run %s/postqueue" % cmd,
                 "nothing done")
        c.eq(spool_state(tb), before, "without postsuper/postqueue: queue unchanged")
        objs, p = qtlib.qtriage_list(tb.etc, c=c)
        c.eq(len(objs), len(before), "listing as root does not need postsuper")
        # a real copy that cannot be executed
        copy = os.path.join(cmd, "postsuper")
        shutil.copy2("/usr/sbin/postsuper", copy)
        os.chmod(copy, 0o644)
        p = qt(["hold", "-c", tb.etc] + deferred[:3])
        one_line(c, p, "hold with a non-executable postsuper", 1,
                 "hold: cannot run %s: Permission denied; nothing done" % copy)
        c.eq(spool_state(tb), before, "non-executable postsuper: queue unchanged")
        # the same copy, executable: it is the one that runs
        os.chmod(copy, 0o755)
        p = qt(["hold", "-c", tb.etc, deferred[0]])
        c.eq((p.returncode, p.stdout.decode().strip(), p.stderr),
             (0, "hold: 1 acted on", b""), "hold with the copy of postsuper works")
        p = qt(["release", "-c", tb.etc, deferred[0]])
        c.eq(p.returncode, 0, "release with the copy of postsuper works")
    finally:
        set_main_cf(tb, "command_directory", orig)
    c.eq(spool_state(tb), before, "after the command_directory cases: queue as before")


def postsuper_fails(c, tb):
    before = spool_state(tb)
    deferred = sorted(i for i, q in before.items() if q == "deferred")
    hold = os.path.join(tb.spool, "hold")
    mode = os.stat(hold).st_mode & 0o7777
    try:
        os.chmod(hold, 0)
        p = qt(["hold", "-c", tb.etc] + deferred[:4])
        one_line(c, p, "hold with hold/ at mode 000", 1, "hold:", "postsuper exited with status",
                 "rename", "Permission denied", "nothing done")
        c.eq(p.stdout, b"", "hold with hold/ at mode 000: nothing on stdout")
    finally:
        os.chmod(hold, mode)
    c.eq(spool_state(tb), before, "hold with hold/ at mode 000: queue unchanged")

    # half way: release 6 held messages, the 3rd cannot go back to deferred/
    by_hash = {}
    for i in deferred:
        by_hash.setdefault(i[0], []).append(i)
    if not c.check(len(by_hash) >= 3, "deferred mail in at least 3 hash directories", by_hash.keys()):
        return
    hashes = sorted(by_hash, key=lambda h: -len(by_hash[h]))
    blocked = hashes[0]
    others = [i for h in hashes[1:] for i in by_hash[h]]
    ids = others[:2] + [by_hash[blocked][0]] + others[2:5]
    p = qt(["hold", "-c", tb.etc] + ids)
    c.eq(p.returncode, 0, "hold 6 messages for the release case")
    held = spool_state(tb)
    sub = os.path.join(tb.spool, "deferred", blocked)
    smode = os.stat(sub).st_mode & 0o7777
    try:
        os.chmod(sub, 0)
        p = qt(["release", "-c", tb.etc] + ids)
        one_line(c, p, "release with the 3rd message's deferred/%s at mode 000" % blocked, 1,
                 "release:", "rename", "Permission denied",
                 "2 of 6 acted on before that, nothing more was run")
    finally:
        os.chmod(sub, smode)
    want = dict(held)
    want.update({i: "deferred" for i in ids[:2]})
    after = spool_state(tb)
    c.check(after == want, "release failing half way: exactly the first 2 released",
            diff(want, after))
    p = qt(["release", "-c", tb.etc] + ids[2:])
    c.eq(p.returncode, 0, "release the rest once deferred/%s is writable again" % blocked)
    c.eq(spool_state(tb), before, "after the postsuper failure cases: queue as before")


def child_named(pid, name):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            kids = [int(k) for k in f.read().split()]
    except OSError:
        return None
    for k in kids:
        try:
            with open("/proc/%d/comm" % k) as f:
                if f.read().strip() == name:
                    return k
        except OSError:
            pass
    return None


def killed_mid_batch(c, tb, qgen):
    p = subprocess.run([qgen, "-c", tb.etc, "-n", str(N_KILL), "--hold-percent", "0",
                        "--seed", "11"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if not c.eq(p.returncode, 0, "qgen wrote %d messages (%s)"
                % (N_KILL, p.stderr.decode(errors="replace").strip())):
        return
    before = spool_state(tb)
    ids = sorted(i for i, q in before.items() if q == "deferred")
    hold_dir = os.path.join(tb.spool, "hold")
    for attempt in range(1, 4):
        n_hold0 = len(os.listdir(hold_dir))
        log_offset = os.path.getsize(tb.maillog)
        proc = subprocess.Popen([qtlib.qtriage_path(), "hold", "-c", tb.etc, "-"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        proc.stdin.write(("\n".join(ids) + "\n").encode())
        proc.stdin.close()
        ps, killed_at = None, None
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            ps = ps or child_named(proc.pid, "postsuper")
            if ps:
                moved = len(os.listdir(hold_dir)) - n_hold0
                if moved >= 50:
                    os.kill(ps, signal.SIGKILL)
                    killed_at = moved
                    break
        proc.wait(60)
        out, err = proc.stdout.read(), proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
        after = spool_state(tb)
        now_held = sorted(i for i in ids if after.get(i) == "hold")
        if killed_at is not None and proc.returncode != 0:
            break
        log("attempt %d: postsuper finished before it could be killed; again" % attempt)
        qtlib.sh(["postsuper", "-c", tb.etc, "-H", "-"], input=("\n".join(now_held) + "\n").encode())
    else:
        c.error("could not kill postsuper half way in 3 attempts")
        return
    err = err.decode("utf-8", "replace")
    log("killed postsuper after it moved >= %d; %d of %d now on hold; qtriage said: %s"
        % (killed_at, len(now_held), len(ids), err.strip()))

    class P:   # one_line wants a CompletedProcess
        returncode = proc.returncode
        stderr = err.encode()
    one_line(c, P, "hold with postsuper killed half way", 1, "hold:", "postsuper",
             "killed by signal 9", "acted on before that, nothing more was run")
    m = re.search(r"; (\d+) of (\d+) acted on before that", err)
    if c.check(m is not None, "the message says how many were acted on", err):
        reported, asked = int(m.group(1)), int(m.group(2))
        c.eq(asked, len(ids), "the message says how many were asked for")
        c.check(reported <= len(now_held) <= reported + 1,
                "reported acted on (%d) = messages moved to hold (%d), or one fewer "
                "(killed between rename and log line)" % (reported, len(now_held)))
        c.check(0 < len(now_held) < len(ids), "postsuper really was killed half way (%d of %d)"
                % (len(now_held), len(ids)))
        logged = -1
        for _ in range(20):     # postlogd writes the maillog a moment later
            prev = logged
            with open(tb.maillog, errors="replace") as f:
                f.seek(log_offset)
                logged = sum(1 for l in f if "postsuper[" in l and ": placed on hold" in l
                             and l.split(": ")[-2].strip() in set(now_held))
            if logged == prev:
                break
            time.sleep(0.2)
        # postsuper writes each line to stderr and to the maillog; the kill
        # can fall between the two
        c.check(abs(logged - reported) <= 1,
                "the maillog confirms what qtriage reported, give or take the line being "
                "written at the kill (%d logged, %d reported)" % (logged, reported))
    c.eq(out, b"", "nothing on stdout when postsuper was killed")
    want = dict(before)
    want.update({i: "hold" for i in now_held})
    c.eq(diff(want, after)[:10], [], "nothing but those messages changed")
    qtlib.sh(["postsuper", "-c", tb.etc, "-H", "-"], input=("\n".join(now_held) + "\n").encode())
    c.eq(spool_state(tb), before, "released again: queue as before")


def body(c):
    tmpdirs = []
    try:
        with qtlib.Testbed("faults") as tb:
            tb.inject(40)
            tb.settle()
            if not qtlib.have_qtriage():
                c.skip("qtriage checks: %s not found" % qtlib.qtriage_path())
                return
            exe = user_exe(tmpdirs)
            qgen = os.path.join(tempfile.mkdtemp(prefix="qtriage-qgen-", dir="/tmp"), "qgen")
            tmpdirs.append(os.path.dirname(qgen))
            qtlib.sh(["cc", "-O2", "-o", qgen, os.path.join(qtlib.SRC_ROOT, "tests", "bench",
                                                            "qgen.c")])
            # A showq that fails (deferred/ unreadable) makes the master hold
            # the service back for service_throttle_time (60 s by default).
            set_main_cf(tb, "service_throttle_time", "1s")
            qtlib.sh(["postfix", "-c", tb.etc, "reload"])
            start = spool_state(tb)
            for name, fn, args in (("wrong -c", wrong_config, (tmpdirs,)),
                                   ("not root", not_root, (exe,)),
                                   ("unreadable queue", unreadable_queue, (tmpdirs, exe)),
                                   ("postsuper missing or broken", postsuper_missing_or_broken,
                                    (tmpdirs,)),
                                   ("postsuper fails", postsuper_fails, ()),
                                   ("postsuper killed", killed_mid_batch, (qgen,))):
                t = time.monotonic()
                fn(c, tb, *args)
                log("%s: done (%.1f s)" % (name, time.monotonic() - t))
                if fn is not killed_mid_batch:
                    c.eq(diff(start, spool_state(tb))[:10], [], "%s: queue as at the start" % name)
    finally:
        for d in tmpdirs:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    qtlib.run_main("test_faults", body)
