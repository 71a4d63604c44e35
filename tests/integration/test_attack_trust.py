#!/usr/bin/env python3
"""Attacks on what qtriage trusts when it runs as root, by an unprivileged
user (nobody) who plants files and then hopes root runs qtriage with an
environment the user chose (su without -, sudo -E, env_keep).

  config      HOME or XDG_CONFIG_HOME points at nobody's configuration that
              binds j to release, sets a filter that hides every message and
              a backup_dir nobody owns: as root it is ignored with one
              warning on stderr; the TUI shows every message, j moves down
              and releases nothing; a delete writes nothing into nobody's
              backup_dir.  A root-owned 0644 file is read; a root-owned
              group-writable one, one in a nobody-owned directory, and
              --config-file naming nobody's file are not.
  MAIL_CONFIG a Postfix configuration directory whose main.cf points
  and -c      command_directory at nobody's directory of fake tools (each
              would create a marker file as root): the directory owned by
              nobody; root's directory with nobody's main.cf; root's
              directory with a group-writable main.cf; root's main.cf naming
              nobody's command_directory.  qtriage refuses with a message
              naming the path, the marker never appears, the queue is
              unchanged.  --demo=DIR with DIR nobody's: refused, nothing
              written into it.
  PATH        a nobody-owned directory first in PATH holding a fake
              postconf (marker, then the real one): never run, and qtriage
              works.
  children    MAIL_CONFIG naming a root-owned, safe directory and no -c:
              taken as -c (the same messages as postqueue -j of it).  No
              child inherits MAIL_CONFIG: a root-owned wrapper postsuper
              records its environment and argv; it has "-c DIR" and no
              MAIL_CONFIG, also when MAIL_CONFIG names nobody's directory
              and -c names the real one.

Every case checks the filesystem (markers, backup_dir) and the queue
afterwards.  Exit: 0 ok, 1 failure, 77 not root or no tmux."""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tui"))
import qtlib  # noqa: E402
from tuilib import Tui  # noqa: E402

log = qtlib.log
NOBODY = 65534
QUEUES = ("maildrop", "incoming", "active", "deferred", "hold", "corrupt")
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def as_nobody(fn):
    """Run fn() in a child process as nobody (uid and gid 65534)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.umask(0o022)
            fn()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise RuntimeError("planting as nobody failed")


def nobody_mkdtemp(prefix):
    """A fresh directory under /tmp, made by nobody (mode 0755)."""
    path = os.path.join("/tmp", "%s%d-%d" % (prefix, os.getpid(), time.monotonic_ns()))
    as_nobody(lambda: os.mkdir(path, 0o755))
    return path


def nobody_write(path, text, mode=0o644):
    def plant():
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
    as_nobody(plant)


def root_write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def spool_state(tb):
    out = {}
    for q in QUEUES:
        for _root, _dirs, files in os.walk(os.path.join(tb.spool, q)):
            for f in files:
                out[f] = q
    return out


def run(args, env_extra=None, env_drop=(), input=None):
    """qtriage ARGS as root with the test's environment changed as given."""
    env = {k: v for k, v in os.environ.items()
           if k not in env_drop and k not in ("MAIL_CONFIG", "XDG_CONFIG_HOME")}
    env.update(env_extra or {})
    return subprocess.run([qtlib.qtriage_path()] + list(args), input=input, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)


def err_of(p):
    return p.stderr.decode("utf-8", "replace")


def set_main_cf(etc, name, value):
    qtlib.sh(["postconf", "-c", etc, "-e", "%s = %s" % (name, value)])
    t = time.time() - 10     # Postfix distrusts config files younger than a second or two
    os.utime(os.path.join(etc, "main.cf"), (t, t))


# ------------------------------------------------------------------ config

EVIL_CONFIG = """# planted by an unprivileged user
bind j release
filter = "sender=nobody-matches@nowhere.invalid"
backup_dir = %s
"""


def keys_release_row(env_extra, extra_args=()):
    p = run(list(extra_args) + ["--keys"], env_extra)
    rows = [l for l in p.stdout.decode().splitlines() if "`release`" in l]
    return (rows[0] if rows else ""), err_of(p)


def config_attacks(c, tb, cleanup):
    home = nobody_mkdtemp("qtriage-evil-home-")
    loot = nobody_mkdtemp("qtriage-evil-loot-")
    cleanup += [home, loot]
    cfg_dir = os.path.join(home, ".config", "qtriage")
    as_nobody(lambda: os.makedirs(cfg_dir, 0o755))
    cfg = os.path.join(cfg_dir, "config")
    nobody_write(cfg, EVIL_CONFIG % loot)
    before = spool_state(tb)

    # HOME and XDG_CONFIG_HOME: one warning each, nothing applied.
    for var, value in (("HOME", home), ("XDG_CONFIG_HOME", os.path.join(home, ".config"))):
        row, err = keys_release_row({var: value})
        c.check(" j" not in row.split("|")[1] if "|" in row else False,
                "%s=nobody's: j is not bound to release" % var, row)
        c.eq(err.count("ignoring %s" % cfg), 1,
             "%s=nobody's: exactly one warning naming the file (%s)" % (var, err.strip()))
        c.check("owned by uid %d" % NOBODY in err or "directory %s is owned by uid %d"
                % (home, NOBODY) in err, "%s=nobody's: the warning says who owns it" % var, err)
        p2 = run(["list", "-c", tb.etc, "--ids"], {var: value})
        c.eq(sorted(p2.stdout.decode().split()), sorted(before),
             "%s=nobody's: qtriage list shows every message" % var)
        c.eq(err_of(p2).count("ignoring"), 1, "%s=nobody's: list warns once" % var)

    # The TUI: no hiding filter, j moves and releases nothing.
    held = sorted(i for i, q in spool_state(tb).items() if q == "hold")
    with Tui(["-c", tb.etc], env={"HOME": home}) as t:
        c.check(t.wait_loaded(), "TUI with nobody's HOME loads", t.screen())
        c.check(t.wait_for(r"shown %d/%d" % (len(before), len(before)), timeout=20),
                "TUI: nobody's filter is not applied (every message shown)", t.status())
        t.keys("f")
        t.type("queue=hold")
        t.keys("Enter")
        c.check(t.wait_for(r"shown %d/" % len(held), timeout=20), "TUI: filtered to hold",
                t.status())
        row = t.cursor_row()
        t.keys("j")
        c.check(t.wait_for(r"row %d\b" % ((row or 1) + 1), timeout=10),
                "TUI: j moves down (not release)", t.screen())
        t.keys("Q")
        c.eq(t.exit_status(), 0, "TUI quits")
    c.eq(spool_state(tb), before, "after j in the TUI: nothing released")

    # A delete: nobody's backup_dir is not used.
    victim = sorted(i for i, q in before.items() if q == "deferred")[0]
    p = run(["delete", "-c", tb.etc, victim], {"HOME": home})
    c.eq(p.returncode, 0, "delete with nobody's HOME (%s)" % err_of(p).strip())
    c.eq(os.listdir(loot), [], "nothing was written into nobody's backup_dir")
    after = spool_state(tb)
    c.check(victim not in after, "the message was deleted")
    before.pop(victim, None)
    c.eq(after, before, "delete: nothing else changed")

    # --config-file naming nobody's file: the same check.
    p = run(["--config-file", cfg, "--keys"])
    c.check("ignoring %s" % cfg in err_of(p), "--config-file nobody's: ignored with a warning",
            err_of(p))
    rows = [l for l in p.stdout.decode().splitlines() if "`release`" in l]
    c.check(rows and " j" not in rows[0].split("|")[1], "--config-file nobody's: j not bound",
            rows)

    # Root's own files: 0644 is read; group-writable or under nobody's
    # directory is not.
    rhome = tempfile.mkdtemp(prefix="qtriage-root-home-", dir="/tmp")
    cleanup.append(rhome)
    os.chmod(rhome, 0o755)
    rcfg_dir = os.path.join(rhome, ".config", "qtriage")
    os.makedirs(rcfg_dir, 0o755)
    rcfg = os.path.join(rcfg_dir, "config")
    root_write(rcfg, "bind j release\n", 0o644)
    row, err = keys_release_row({"HOME": rhome})
    c.check(" j" in row.split("|")[1] if "|" in row else False,
            "root's 0644 configuration is read (j bound to release)", row)
    c.eq(err, "", "root's 0644 configuration: no warning")
    os.chmod(rcfg, 0o664)
    row, err = keys_release_row({"HOME": rhome})
    c.check("ignoring %s: writable by group" % rcfg in err, "root's 0664 file: ignored", err)
    os.chmod(rcfg, 0o644)
    os.chown(os.path.join(rhome, ".config"), NOBODY, NOBODY)
    row, err = keys_release_row({"HOME": rhome})
    c.check("directory %s/.config is owned by uid %d" % (rhome, NOBODY) in err,
            "root's file in nobody's directory: ignored, naming the directory", err)
    c.check(" j" not in row.split("|")[1] if "|" in row else False,
            "root's file in nobody's directory: not applied", row)


# ------------------------------------------------------------------ Postfix config

FAKE_TOOL = """#!/bin/sh
# planted by an unprivileged user: what root must never run
: > %s
exit 0
"""


def plant_fake_tools(marker_dir, names):
    """A nobody-owned directory of fake tools; each one, when run (as root,
    it could write there), creates marker_dir/NAME."""
    bindir = nobody_mkdtemp("qtriage-evil-bin-")
    for n in names:
        nobody_write(os.path.join(bindir, n), FAKE_TOOL % os.path.join(marker_dir, n), 0o755)
    return bindir


def evil_main_cf(tb, command_directory):
    with open(os.path.join(tb.etc, "main.cf")) as f:
        text = f.read()
    return text + "\ncommand_directory = %s\n" % command_directory


def markers(marker_dir):
    return sorted(os.listdir(marker_dir))


def check_refused(c, tb, before, marker_dir, what, args, env_extra, *words):
    p = run(args, env_extra)
    err = err_of(p)
    c.check(p.returncode != 0, "%s: refused (exit %d)" % (what, p.returncode), err)
    missing = [w for w in words if w not in err]
    c.eq(missing, [], "%s: the message names the problem (%s)" % (what, err.strip()))
    ran = markers(marker_dir)
    c.eq(ran, [], "%s: no planted program ran" % what)
    for m in ran:   # so that each case shows for itself
        os.unlink(os.path.join(marker_dir, m))
    c.eq(spool_state(tb), before, "%s: queue unchanged" % what)


def postfix_config_attacks(c, tb, cleanup):
    marker_dir = tempfile.mkdtemp(prefix="qtriage-markers-", dir="/tmp")
    cleanup.append(marker_dir)
    os.chmod(marker_dir, 0o755)
    bindir = plant_fake_tools(marker_dir, ["postsuper", "postqueue", "postkick", "postconf"])
    cleanup.append(bindir)
    before = spool_state(tb)
    victim = sorted(i for i, q in before.items() if q == "deferred")[0]

    # 1: the whole directory is nobody's.
    e1 = nobody_mkdtemp("qtriage-evil-etc-")
    cleanup.append(e1)
    nobody_write(os.path.join(e1, "main.cf"), evil_main_cf(tb, bindir))
    # 2: root's directory, nobody's main.cf.
    e2 = tempfile.mkdtemp(prefix="qtriage-evil-etc2-", dir="/tmp")
    cleanup.append(e2)
    os.chmod(e2, 0o755)
    root_write(os.path.join(e2, "main.cf"), evil_main_cf(tb, bindir))
    os.chown(os.path.join(e2, "main.cf"), NOBODY, NOBODY)
    # 3: root's directory, root's group-writable main.cf.
    e3 = tempfile.mkdtemp(prefix="qtriage-evil-etc3-", dir="/tmp")
    cleanup.append(e3)
    os.chmod(e3, 0o755)
    root_write(os.path.join(e3, "main.cf"), evil_main_cf(tb, bindir), 0o664)
    # 4: everything root's, but command_directory is nobody's.
    e4 = tempfile.mkdtemp(prefix="qtriage-evil-etc4-", dir="/tmp")
    cleanup.append(e4)
    os.chmod(e4, 0o755)
    root_write(os.path.join(e4, "main.cf"), evil_main_cf(tb, bindir))
    for d in (e1, e2, e3, e4):
        shutil.copy(os.path.join(tb.etc, "master.cf"), os.path.join(d, "master.cf"))
        t = time.time() - 10
        for f in ("main.cf", "master.cf"):
            os.utime(os.path.join(d, f), (t, t))

    cases = [
        (e1, ["refusing the Postfix configuration directory %s" % e1,
              "owned by uid %d" % NOBODY]),
        (e2, ["refusing %s/main.cf" % e2, "owned by uid %d" % NOBODY]),
        (e3, ["refusing %s/main.cf" % e3, "writable by group"]),
        (e4, ["command_directory %s" % bindir, "owned by uid %d" % NOBODY]),
    ]
    for d, words in cases:
        for how, args_of, env in (
                ("MAIL_CONFIG", lambda a: a, {"MAIL_CONFIG": d}),
                ("-c", lambda a: a[:1] + ["-c", d] + a[1:], {})):
            for verb in (["hold", victim], ["release", victim], ["list", "--ids"]):
                check_refused(c, tb, before, marker_dir, "%s=%s %s" % (how, d, verb[0]),
                              args_of(list(verb)), env, *words)
    # The TUI refuses too (it never gets to run anything).
    with Tui(["-c", e4]) as t:
        c.check(t.wait_for(r"command_directory", timeout=20) or t.exit_status(5) is not None,
                "TUI with -c naming an unsafe instance: refuses", t.screen())
    c.eq(markers(marker_dir), [], "TUI: no planted program ran")
    c.eq(spool_state(tb), before, "TUI: queue unchanged")

    # --demo=DIR in nobody's directory: root would write a Postfix
    # configuration there and start it.
    demo = nobody_mkdtemp("qtriage-evil-demo-")
    cleanup.append(demo)
    try:
        p = run(["--demo=" + demo, "list", "--ids"])
        c.check(p.returncode != 0 and "refusing %s as root: owned by uid %d" % (demo, NOBODY)
                in err_of(p), "--demo=nobody's directory: refused", err_of(p))
        c.eq(os.listdir(demo), [], "--demo=nobody's directory: nothing written into it")
    finally:
        if os.path.exists(os.path.join(demo, "etc", "main.cf")):
            qtlib.sh([qtlib.TESTBED, "down", demo, "--purge"], check=False)

    # PATH: nobody's directory first, with a postconf that marks and then
    # does the real work (so qtriage would work either way).
    pathdir = nobody_mkdtemp("qtriage-evil-path-")
    cleanup.append(pathdir)
    nobody_write(os.path.join(pathdir, "postconf"),
                 "#!/bin/sh\n: > %s/postconf-from-path\nexec /usr/sbin/postconf \"$@\"\n"
                 % marker_dir, 0o755)
    for verb in (["list", "-c", tb.etc, "--ids"], ["hold", "-c", tb.etc, victim],
                 ["release", "-c", tb.etc, victim], ["instances"]):
        p = run(verb, {"PATH": pathdir + ":" + SYSTEM_PATH})
        c.eq(p.returncode, 0, "PATH=nobody's:...: %s works (%s)" % (verb[0], err_of(p).strip()))
        c.eq(markers(marker_dir), [], "PATH=nobody's:...: %s ran no planted postconf" % verb[0])
    p = run(["list", "-c", tb.etc, "--ids"], {"PATH": pathdir + ":" + SYSTEM_PATH})
    c.eq(sorted(p.stdout.decode().split()), sorted(before), "PATH=nobody's: list is complete")
    c.eq(spool_state(tb), before, "PATH cases: queue as before (held and released again)")


# ------------------------------------------------------------------ children

WRAPPER = """#!/bin/sh
# root's own wrapper: records what qtriage gave the real postsuper
env > %(log)s.env
printf '%%s\\n' "$@" > %(log)s.argv
exec /usr/sbin/postsuper "$@"
"""


def children_env(c, tb, cleanup):
    before = spool_state(tb)
    victim = sorted(i for i, q in before.items() if q == "deferred")[0]
    # MAIL_CONFIG alone, naming root's safe directory: taken as -c.
    p = run(["list", "--ids"], {"MAIL_CONFIG": tb.etc})
    c.eq(p.returncode, 0, "MAIL_CONFIG=root's instance, no -c: list works (%s)" % err_of(p))
    want = sorted(m["queue_id"] for m in tb.postqueue_j())
    c.eq(sorted(p.stdout.decode().split()), want,
         "MAIL_CONFIG=root's instance: lists that instance (as postqueue -c DIR -j)")

    cmd = tempfile.mkdtemp(prefix="qtriage-cmd-", dir="/tmp")
    cleanup.append(cmd)
    os.chmod(cmd, 0o755)
    for tool in ("postqueue", "postkick"):
        os.symlink("/usr/sbin/" + tool, os.path.join(cmd, tool))
    logbase = os.path.join(cmd, "postsuper-run")
    root_write(os.path.join(cmd, "postsuper"), WRAPPER % {"log": logbase}, 0o755)
    evil = nobody_mkdtemp("qtriage-evil-mc-")
    cleanup.append(evil)
    orig = qtlib.sh(["postconf", "-c", tb.etc, "-h", "command_directory"]).stdout.decode().strip()
    try:
        set_main_cf(tb.etc, "command_directory", cmd)
        for what, args, env in (
                ("MAIL_CONFIG=instance, no -c", ["hold", victim], {"MAIL_CONFIG": tb.etc}),
                ("-c instance, MAIL_CONFIG=nobody's", ["hold", "-c", tb.etc, victim],
                 {"MAIL_CONFIG": evil})):
            for f in (logbase + ".env", logbase + ".argv"):
                if os.path.exists(f):
                    os.unlink(f)
            p = run(args, env)
            c.eq(p.returncode, 0, "%s: hold works (%s)" % (what, err_of(p).strip()))
            c.eq(spool_state(tb).get(victim), "hold", "%s: the message is on hold" % what)
            try:
                env_seen = open(logbase + ".env").read().splitlines()
                argv_seen = open(logbase + ".argv").read().splitlines()
            except FileNotFoundError:
                env_seen, argv_seen = None, None
            c.check(env_seen is not None, "%s: the wrapper postsuper ran" % what)
            c.eq([l for l in env_seen or [] if l.startswith("MAIL_CONFIG=")], [],
                 "%s: the child has no MAIL_CONFIG in its environment" % what)
            c.check(argv_seen is not None and ["-c", tb.etc] == argv_seen[:2],
                    "%s: the child got -c %s" % (what, tb.etc), argv_seen)
            qtlib.sh(["postsuper", "-c", tb.etc, "-H", victim])
    finally:
        set_main_cf(tb.etc, "command_directory", orig)
    c.eq(spool_state(tb), before, "children cases: queue as before")


# ------------------------------------------------------------------ environment

def environment_attacks(c, tb, cleanup):
    """Variables a user's session leaves in root's environment (su without -,
    sudo -E): a terminal description of the user's, and a key script."""
    before = spool_state(tb)
    # A terminfo entry for tmux's TERM whose smcup also sets the pane title:
    # if root's qtriage used it, tmux would show the title.
    evil = nobody_mkdtemp("qtriage-evil-terminfo-")
    cleanup.append(evil)
    term = "tmux-256color" if subprocess.run(["infocmp", "tmux-256color"],
                                             stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL).returncode == 0 \
        else "screen"
    src = subprocess.run(["infocmp", "-x", term], stdout=subprocess.PIPE, check=True).stdout
    src = src.decode().replace("smcup=", "smcup=\\E]2;PWNED-BY-TERMINFO\\007", 1)
    nobody_write(os.path.join(evil, "entry.src"), src)
    as_nobody(lambda: subprocess.run(["tic", "-x", "-o", evil, os.path.join(evil, "entry.src")],
                                     check=True, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL))
    p = run(["-c", tb.etc, "list", "--ids"], {"TERMINFO": evil,
                                               "TERMINFO_DIRS": "/usr/share/terminfo:" + evil})
    c.eq(p.returncode, 0, "list with a user's TERMINFO in the environment still works")
    c.check("ignoring TERMINFO=" + evil in err_of(p) and "ignoring TERMINFO_DIRS=" in err_of(p),
            "root's qtriage says it ignores the user's TERMINFO and TERMINFO_DIRS", err_of(p))
    with Tui(["-c", tb.etc], env={"TERMINFO": evil, "TERM": term}) as t:
        t.wait_for(r"shown \d+/\d+|\d+ messages")
        title = t.tmux("display-message", "-p", "-t", t.session, "#{pane_title}").strip()
        c.check("PWNED" not in title, "the user's terminal description was not used "
                "(pane title %r)" % title)
        t.keys("q")
    # Keys from a file in the environment never drive the live queue.
    keys = os.path.join(evil, "steps.keys")
    nobody_write(keys, "wait-loaded\nkeys T\nkeys D\nkeys y\nwait-idle\nquit\n")
    p = run(["-c", tb.etc], {"QTRIAGE_SCRIPT": keys})
    c.check(p.returncode == 2 and "QTRIAGE_SCRIPT needs QTRIAGE_SPOOL" in err_of(p),
            "QTRIAGE_SCRIPT without a queue copy is refused", (p.returncode, err_of(p)))
    c.eq(spool_state(tb), before, "the queue is unchanged after the environment attacks")


def body(c):
    if not shutil.which("tmux"):
        c.skip("tmux is not installed")
        return
    cleanup = []
    try:
        with qtlib.Testbed("trust") as tb:
            tb.inject(40)
            tb.settle()
            state = spool_state(tb)
            held = [i for i, q in state.items() if q == "hold"]
            if len(held) < 2:
                more = sorted(i for i, q in state.items() if q == "deferred")[:2]
                qtlib.sh(["postsuper", "-c", tb.etc, "-h", "-"],
                         input=("\n".join(more) + "\n").encode())
            config_attacks(c, tb, cleanup)
            postfix_config_attacks(c, tb, cleanup)
            children_env(c, tb, cleanup)
            environment_attacks(c, tb, cleanup)
    finally:
        for d in cleanup:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    if not qtlib.have_qtriage():
        log("no qtriage binary at %s" % qtlib.qtriage_path())
        sys.exit(qtlib.SKIP)
    qtlib.run_main("attack_trust", body)
