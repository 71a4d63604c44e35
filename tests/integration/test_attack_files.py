#!/usr/bin/env python3
"""Integration test: root's qtriage writes no file where another user steers it.

An unprivileged user (nobody) plants directories, links and files; root runs
qtriage as an admin would.  Each case is checked on the file system (nothing
written through the link, the victim file unchanged) and in the queue
(postqueue -j: a refused delete-with-backup deleted nothing).

  parent symlink    nobody's directory holds a link to a root directory (as
                    if to /etc): export --dir and delete --backup-dir through
                    it are refused, naming the component; nothing appears in
                    the link's target; the messages stay queued
  shared parent     a group/other-writable, non-sticky directory on the path:
                    refused, naming it
  sticky /tmp       a root-owned sticky directory (/tmp) on the path is fine
  mbox              an mbox that nobody owns (in /tmp), a hard-linked mbox and
                    an mbox that is a symlink: refused, not appended to
  bench log         QTRIAGE_BENCH_LOG names a link nobody planted in their own
                    directory: the TUI runs (in a pty) and writes nothing
                    through it; a plain path gets the milestones (the control)
  kill -9           export of a 50 MB message killed (SIGKILL) while writing:
                    no ID.eml under its final name; the next export writes it
                    whole and removes the leftover temporary file; delete
                    --backup-dir then deletes the message ("already exported")
Exit: 0 ok, 1 failures, 77 when not root.
"""

import os
import pty
import select
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

NOBODY = 65534
NOGROUP = 65534
MB = 1024 * 1024


def as_nobody(fn, *args):
    """Run fn(*args) in a forked child with uid/gid nobody."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(NOGROUP)
            os.setuid(NOBODY)
            fn(*args)
            os._exit(0)
        except BaseException as e:  # noqa: BLE001
            print("as nobody: %r" % e, file=sys.stderr)
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("planting as nobody failed")


def queue(tb):
    return {m["queue_id"]: m for m in tb.postqueue_j()}


def tree(d):
    """Every path below d with its size (links not followed)."""
    out = {}
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            p = os.path.join(root, n)
            out[os.path.relpath(p, d)] = os.lstat(p).st_size
    return out


def err_of(p):
    return p.stderr.decode(errors="replace") + p.stdout.decode(errors="replace")


def body(c):
    with qtlib.Testbed("attack-files") as tb:
        os.chmod(tb.dir, 0o755)
        work = tempfile.mkdtemp(prefix="qtriage-attack-work-", dir="/tmp")
        planted = []
        try:
            run_all(c, tb, work, planted)
        finally:
            shutil.rmtree(work, ignore_errors=True)
            for p in planted:
                if os.path.lexists(p):
                    if os.path.isdir(p) and not os.path.islink(p):
                        shutil.rmtree(p, ignore_errors=True)
                    else:
                        os.unlink(p)


def run_all(c, tb, work, planted):
    for i in range(4):
        tb.sendmail("victim%d@src.example" % i, ["r%d@dest.example" % i],
                 b"Subject: secret %d\n\nconfidential body %d\n" % (i, i))
    tb.settle()
    q0 = queue(tb)
    c.eq(len(q0), 4, "four messages queued")
    if not qtlib.have_qtriage():
        c.skip("qtriage checks: %s not found" % qtlib.qtriage_path())
        return
    ids = sorted(q0)

    # A directory root trusts, standing in for /etc: nothing may appear there.
    etc = os.path.join(work, "etc-victim")
    os.mkdir(etc, 0o755)
    # nobody's own directory (like a home directory), with a link to it.
    home = os.path.join(work, "nobody-home")
    os.mkdir(home, 0o755)
    os.chown(home, NOBODY, NOGROUP)
    os.chmod(work, 0o755)       # nobody must reach its home
    as_nobody(os.symlink, etc, os.path.join(home, "link"))

    # --- symlink in a parent directory: export --dir, delete --backup-dir
    target = os.path.join(home, "link", "backup")
    p = qtlib.qtriage(["export", "-c", tb.etc, "--dir", target, ids[0]])
    c.check(p.returncode != 0, "export --dir through nobody's link is refused", err_of(p))
    c.check(home in err_of(p), "the error names the component (%s)" % home, err_of(p))
    c.eq(tree(etc), {}, "nothing written through the link (export)")
    p = qtlib.qtriage(["delete", "-c", tb.etc, "--backup-dir", target, ids[0]])
    c.check(p.returncode != 0 and "nothing run" in err_of(p) and home in err_of(p),
            "delete --backup-dir through the link is refused, naming the component", err_of(p))
    c.eq(tree(etc), {}, "nothing written through the link (backup)")
    c.eq(sorted(queue(tb)), ids, "queue: nothing deleted after the refused backup")
    # The link in a directory root owns: refused too (no link is followed).
    rlink = os.path.join(work, "root-link")
    os.symlink(etc, rlink)
    p = qtlib.qtriage(["export", "-c", tb.etc, "--dir", os.path.join(rlink, "bk"), ids[0]])
    c.check(p.returncode != 0 and "symbolic link" in err_of(p) and rlink in err_of(p),
            "a symlinked parent is refused, named", err_of(p))
    c.eq(tree(etc), {}, "nothing written through root's own link either")

    # --- group/other-writable, non-sticky parent
    shared = os.path.join(work, "shared")
    os.mkdir(shared)
    os.chmod(shared, 0o777)
    p = qtlib.qtriage(["delete", "-c", tb.etc, "--backup-dir", os.path.join(shared, "bk"),
                       ids[1]])
    c.check(p.returncode != 0 and shared in err_of(p) and "writable" in err_of(p),
            "an other-writable parent is refused, named", err_of(p))
    c.eq(tree(shared), {}, "nothing created in the shared directory")
    os.chmod(shared, 0o775)
    p = qtlib.qtriage(["export", "-c", tb.etc, "--dir", os.path.join(shared, "bk"), ids[1]])
    c.check(p.returncode != 0 and shared in err_of(p) and "group" in err_of(p),
            "a group-writable parent is refused, named", err_of(p))
    c.eq(tree(shared), {}, "nothing created in the group-writable directory")
    c.eq(sorted(queue(tb)), ids, "queue: nothing deleted")

    # --- a root-owned sticky directory (/tmp itself) is fine
    st = os.stat("/tmp")
    c.check(st.st_uid == 0 and st.st_mode & 0o1000, "/tmp is root-owned and sticky")
    tmp_bk = tempfile.mktemp(prefix="qtriage-attack-bk-", dir="/tmp")
    planted.append(tmp_bk)
    p = qtlib.qtriage(["export", "-c", tb.etc, "--dir", tmp_bk, ids[1]])
    c.eq(p.returncode, 0, "export --dir /tmp/NEW works (%s)" % err_of(p))
    c.eq(sorted(os.listdir(tmp_bk)) if os.path.isdir(tmp_bk) else None, [ids[1] + ".eml"],
         "the export is in /tmp/NEW")

    # --- mbox: owned by nobody, hard-linked, a symlink
    nobody_box = tempfile.mktemp(prefix="qtriage-attack-", suffix=".mbox", dir="/tmp")
    planted.append(nobody_box)

    def plant_box(path):
        with open(path, "w") as f:
            f.write("From x Thu Jan  1 00:00:00 1970\n\nnobody's\n\n")
        os.chmod(path, 0o666)
    as_nobody(plant_box, nobody_box)
    before = open(nobody_box, "rb").read()
    p = qtlib.qtriage(["export", "-c", tb.etc, "--mbox", nobody_box, ids[2]])
    c.check(p.returncode != 0 and "owned by another user" in err_of(p),
            "an mbox nobody owns is refused", err_of(p))
    c.eq(open(nobody_box, "rb").read(), before, "nobody's mbox: nothing appended")
    box = os.path.join(work, "root.mbox")
    with open(box, "w") as f:
        f.write("")
    os.chmod(box, 0o600)
    hard = os.path.join(work, "hard.mbox")
    os.link(box, hard)
    p = qtlib.qtriage(["export", "-c", tb.etc, "--mbox", box, ids[2]])
    c.check(p.returncode != 0 and "more than one link" in err_of(p),
            "a hard-linked mbox is refused", err_of(p))
    c.eq(os.path.getsize(box), 0, "hard-linked mbox: nothing appended")
    os.unlink(hard)
    slink = os.path.join(work, "link.mbox")
    os.symlink(box, slink)
    p = qtlib.qtriage(["export", "-c", tb.etc, "--mbox", slink, ids[2]])
    c.check(p.returncode != 0 and "symbolic link" in err_of(p), "a symlinked mbox is refused",
            err_of(p))
    c.eq(os.path.getsize(box), 0, "symlinked mbox: nothing appended")
    nlink = os.path.join(home, "box.mbox")
    as_nobody(os.symlink, box, nlink)
    p = qtlib.qtriage(["export", "-c", tb.etc, "--mbox", nlink, ids[2]])
    c.check(p.returncode != 0 and home in err_of(p), "an mbox in nobody's directory is refused",
            err_of(p))
    c.eq(os.path.getsize(box), 0, "mbox via nobody's link: nothing appended")
    p = qtlib.qtriage(["export", "-c", tb.etc, "--mbox", box, ids[2]])
    c.eq(p.returncode, 0, "the plain mbox of root's works (%s)" % err_of(p))
    c.check(os.path.getsize(box) > 0, "and was appended to")
    c.eq(sorted(queue(tb)), ids, "queue unchanged by the mbox cases")

    bench_log(c, tb, work, home, ids)
    kill_during_export(c, tb, work)


def run_tui(tb, env_extra, want):
    """Run the TUI in a pty until `want` (bytes) is on the screen, then quit."""
    env = dict(os.environ, TERM="xterm", LANG="C.UTF-8", **env_extra)
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(qtlib.qtriage_path(), [qtlib.qtriage_path(), "-c", tb.etc, "--no-config"], env)
    seen = b""
    deadline = time.monotonic() + 60
    try:
        while want not in seen and time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 1)
            if r:
                try:
                    seen += os.read(fd, 65536)
                except OSError:
                    break
        os.write(fd, b"q")
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 1)
            if r:
                try:
                    if not os.read(fd, 65536):
                        break
                except OSError:
                    break
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)
    return want in seen


def bench_log(c, tb, work, home, ids):
    victim = os.path.join(work, "root-secrets.log")
    with open(victim, "w") as f:
        f.write("root's file\n")
    os.chmod(victim, 0o600)
    link = os.path.join(home, "bench.log")
    as_nobody(os.symlink, victim, link)
    shown = run_tui(tb, {"QTRIAGE_BENCH_LOG": link}, ids[0].encode())
    c.check(shown, "the TUI showed the queue (bench log through a link)")
    c.eq(open(victim).read(), "root's file\n", "QTRIAGE_BENCH_LOG: nothing written through "
         "nobody's link")
    c.check(os.path.islink(link), "the link is still a link")
    plain = os.path.join(work, "bench.log")
    shown = run_tui(tb, {"QTRIAGE_BENCH_LOG": plain}, ids[0].encode())
    data = open(plain).read() if os.path.exists(plain) else ""
    c.check(shown and "first_rows" in data, "control: a plain bench log gets the milestones",
            data)
    c.eq(oct(os.stat(plain).st_mode & 0o777) if os.path.exists(plain) else None, oct(0o600),
         "the bench log is created 0600")
    c.eq(sorted(queue(tb)), ids, "queue unchanged by the TUI runs")


def kill_during_export(c, tb, work):
    # hostile.py's 50 MB message (it raises message_size_limit to fit).
    qtlib.sh([qtlib.TESTBED, "inject-hostile", tb.dir, "--only", "big"])
    tb.settle()
    q = queue(tb)
    big_id = [i for i, m in q.items() if m["message_size"] > 45 * MB][0]
    bk = os.path.join(work, "killed")
    final = os.path.join(bk, big_id + ".eml")
    killed_at = None
    for attempt in range(5):
        shutil.rmtree(bk, ignore_errors=True)
        proc = subprocess.Popen([qtlib.qtriage_path(), "export", "-c", tb.etc, "--dir", bk, big_id],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Wait for the state "a file is being written", then stop it there.
        while proc.poll() is None:
            try:
                names = os.listdir(bk)
            except FileNotFoundError:
                continue
            sizes = [os.lstat(os.path.join(bk, n)).st_size for n in names
                     if os.path.exists(os.path.join(bk, n))]
            if sizes and max(sizes) > 0:
                os.kill(proc.pid, signal.SIGSTOP)
                break
        if proc.poll() is None:
            sizes = {n: os.lstat(os.path.join(bk, n)).st_size for n in os.listdir(bk)}
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            if all(s < 50 * MB for s in sizes.values()):
                killed_at = sizes
                break
        proc.wait()
    c.check(killed_at is not None, "export killed while writing the 50 MB message", killed_at)
    log("killed during export: %r" % killed_at)
    c.check(not os.path.exists(final), "no %s.eml under its final name after kill -9" % big_id,
            os.path.exists(final) and os.path.getsize(final))
    c.check(big_id in queue(tb), "queue: the message is still queued")
    p = qtlib.qtriage(["export", "-c", tb.etc, "--dir", bk, big_id])
    c.eq(p.returncode, 0, "a second export works (%s)" % err_of(p))
    want = len(qtlib.sh(["postcat", "-c", tb.etc, "-bh", "-q", big_id]).stdout)
    c.check(os.path.exists(final) and os.path.getsize(final) > want,
            "the ID.eml is whole (postcat -bh is %d bytes)" % want,
            os.path.exists(final) and os.path.getsize(final))
    c.eq(os.listdir(bk), [big_id + ".eml"], "the leftover temporary file is gone")
    p = qtlib.qtriage(["delete", "-c", tb.etc, "--backup-dir", bk, big_id])
    c.eq(p.returncode, 0, "delete --backup-dir of the already exported message (%s)" % err_of(p))
    c.check("already there" in err_of(p), "it says the backup was already there", err_of(p))
    c.check(big_id not in queue(tb), "queue: the message is deleted")
    c.eq(os.listdir(bk), [big_id + ".eml"], "and its backup kept")


if __name__ == "__main__":
    qtlib.run_main("test_attack_files", body)
