#!/usr/bin/env python3
"""A real OpenSSH server on loopback, in front of test-bed Postfix instances.

The fleet tests reach "remote" hosts the way an admin does: the OpenSSH client
with a key, a known_hosts file and an ssh_config, talking to Debian's sshd.
Everything lives in one temp dir; nothing of the system's ssh is used or
changed (no /etc/ssh, no /root/.ssh, no systemd): each host gets its own
`/usr/sbin/sshd -D -f DIR/sshd-NAME.conf` on 127.0.0.1 and a free port, so a
host can be stopped (unreachable) and started again on its own.

Layout of DIR:
  host_key, user_key, stranger_key (+ .pub)   generated with ssh-keygen
  authorized_keys                             user_key.pub only
  known_hosts                                 the host key for every port
  ssh_config                                  for `ssh -F`: one alias per host
  sshd-NAME.conf, sshd-NAME.pid, sshd-NAME.log
  bin/qtriage-MODE                            fault programs (agent_proxy.py)
  fleet                                       `host` lines for --fleet

Aliases in ssh_config, all 127.0.0.1, user root:
  NAME (each host)   its own sshd; BatchMode yes
  mxdown             a port where nothing listens (unreachable at start)
  mxpw               an sshd that offers passwords and accepts no key,
                     and BatchMode NOT set: only qtriage's own BatchMode=yes
                     keeps ssh from prompting
  mxhk               a known_hosts without the host's key
  mxsudo, mxsudopw   (after setup_sudo) the first host's sshd as a user of
                     its own who may run exactly the agent command through
                     sudo: without a password (mxsudo), with one (mxsudopw)

Usage as a program (the benchmark):
  sshbed.py up DIR --qtriage PATH --host NAME=CONFIG_DIR ...   (prints KEY=VALUE)
  sshbed.py down DIR
Needs root (sshd, root's login); exits 77 when sshd is missing."""

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SSHD = "/usr/sbin/sshd"
PROXY = os.path.join(HERE, "agent_proxy.py")
SKIP = 77


def available():
    """None when the bed can run here, else why not."""
    if os.geteuid() != 0:
        return "not root"
    for p in (SSHD, shutil.which("ssh"), shutil.which("ssh-keygen")):
        if not p or not os.access(p, os.X_OK):
            return "no OpenSSH (apt-get install openssh-server openssh-client)"
    return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(argv, timeout=60, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, **kw)


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class SshBed:
    """hosts: [(name, postfix_config_dir)].  Context manager."""

    def __init__(self, hosts, qtriage, dir=None):
        self.hosts = list(hosts)
        self.qtriage = os.path.abspath(qtriage)
        self.dir = dir
        self.port = {}
        self.procs = {}
        self.sudo_users = []        # (alias, user)
        self.sudoers = None

    # ------------------------------------------------------------ paths
    def path(self, *p):
        return os.path.join(self.dir, *p)

    @property
    def ssh_config(self):
        return self.path("ssh_config")

    def ssh_argv(self):
        """The ssh command line qtriage is given (--ssh / `ssh =`)."""
        return ["ssh", "-F", self.ssh_config]

    def ssh_option(self):
        return " ".join(self.ssh_argv())

    # ------------------------------------------------------------ set-up
    def __enter__(self):
        try:
            self.up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(self, *exc):
        self.down()
        return False

    def up(self):
        if self.dir is None:
            self.dir = tempfile.mkdtemp(prefix="qtriage-sshbed-", dir="/tmp")
        os.makedirs(self.path("bin"), exist_ok=True)
        os.makedirs(self.path("home"), exist_ok=True)
        os.chmod(self.dir, 0o755)
        # sshd's privilege-separation directory; Debian's unit creates it at boot,
        # a container without systemd has none.
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        for k in ("host_key", "user_key", "stranger_key"):
            if not os.path.exists(self.path(k)):
                r = run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "qtriage-" + k,
                         "-f", self.path(k)])
                if r.returncode:
                    raise RuntimeError("ssh-keygen: " + r.stderr.decode(errors="replace"))
        shutil.copy(self.path("user_key.pub"), self.path("authorized_keys"))
        names = [h for h, _ in self.hosts] + ["mxpw"]
        for n in names:
            self.port.setdefault(n, free_port())
        self.port["mxdown"] = free_port()
        hostkey = open(self.path("host_key.pub")).read().split()
        with open(self.path("known_hosts"), "w") as f:
            for n in names:
                f.write("[127.0.0.1]:%d %s %s\n" % (self.port[n], hostkey[0], hostkey[1]))
        open(self.path("known_hosts.empty"), "w").close()
        open(self.path("authorized_keys.none"), "w").close()
        self.write_ssh_config()
        for n in names:
            self.write_sshd_config(n, passwords=(n == "mxpw"))
            self.start_host(n)
        self.write_fleet()
        # The bed works when ssh gets through and the instance's configuration is
        # there behind it (postconf: postqueue -j would read a 100k queue).
        for n, etc in self.hosts:
            r = self.ssh(n, "postconf -c %s -h queue_directory >/dev/null && echo ok" % etc,
                         timeout=180)
            if r.returncode or r.stdout.strip() != b"ok":
                raise RuntimeError("ssh %s: %s" % (n, r.stderr.decode(errors="replace")))

    def write_ssh_config(self):
        common = ["  HostName 127.0.0.1", "  User root",
                  "  IdentityFile " + self.path("user_key"), "  IdentitiesOnly yes",
                  "  UserKnownHostsFile " + self.path("known_hosts"),
                  "  GlobalKnownHostsFile /dev/null", "  StrictHostKeyChecking yes",
                  "  CheckHostIP no", "  ConnectTimeout 60", "  ControlMaster no",
                  "  ControlPath none", "  ForwardAgent no", "  LogLevel ERROR",
                  "  ServerAliveInterval 15", "  ServerAliveCountMax 3"]
        out = ["# qtriage ssh test bed: every alias is this machine's loopback"]
        for n, _ in self.hosts:
            out += ["Host " + n, "  Port %d" % self.port[n], "  BatchMode yes"]
        out += ["Host mxdown", "  Port %d" % self.port["mxdown"], "  BatchMode yes"]
        # A password prompt would appear here if qtriage did not add BatchMode=yes.
        out += ["Host mxpw", "  Port %d" % self.port["mxpw"], "  BatchMode no",
                "  IdentityFile " + self.path("stranger_key"),
                "  PreferredAuthentications publickey,password,keyboard-interactive",
                "  NumberOfPasswordPrompts 1"]
        out += ["Host mxhk", "  Port %d" % self.port[self.hosts[0][0]], "  BatchMode no",
                "  UserKnownHostsFile " + self.path("known_hosts.empty"),
                "  StrictHostKeyChecking ask"]
        for alias, user in self.sudo_users:
            out += ["Host " + alias, "  Port %d" % self.port[self.hosts[0][0]],
                    "  User " + user, "  BatchMode yes"]
        out += ["Host *"] + common
        with open(self.ssh_config, "w") as f:
            f.write("\n".join(out) + "\n")

    def write_sshd_config(self, name, passwords=False):
        cfg = """# qtriage ssh test bed, host %(name)s
ListenAddress 127.0.0.1:%(port)d
HostKey %(dir)s/host_key
PidFile %(dir)s/sshd-%(name)s.pid
AuthorizedKeysFile %(dir)s/%(keys)s
# the keys live under /tmp (world-writable, sticky): StrictModes would refuse them
StrictModes no
PermitRootLogin %(root)s
PubkeyAuthentication yes
PasswordAuthentication %(pw)s
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitTTY no
PrintMotd no
PrintLastLog no
MaxStartups 100:30:200
MaxSessions 50
LogLevel VERBOSE
# The session's shell reads $HOME/.bashrc (Debian's bash does for ssh): this
# machine's root has pyenv set up there, seconds a login under load, which a
# fleet benchmark would otherwise count as qtriage's first-rows time.
SetEnv HOME=%(dir)s/home
""" % dict(name=name, port=self.port[name], dir=self.dir,
           root="yes" if passwords else "prohibit-password",
           keys="authorized_keys.none" if passwords else "authorized_keys", pw="yes" if passwords else "no")
        with open(self.path("sshd-%s.conf" % name), "w") as f:
            f.write(cfg)

    def start_host(self, name):
        """Start (or start again) NAME's sshd and wait until it accepts."""
        conf = self.path("sshd-%s.conf" % name)
        r = run([SSHD, "-t", "-f", conf])
        if r.returncode:
            raise RuntimeError("sshd -t %s: %s" % (conf, r.stderr.decode(errors="replace")))
        log = open(self.path("sshd-%s.log" % name), "a")
        self.procs[name] = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", conf], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True)
        deadline = time.monotonic() + 20
        while not port_open(self.port[name]):
            if self.procs[name].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("sshd for %s did not start: %s" % (
                    name, open(self.path("sshd-%s.log" % name)).read()[-2000:]))
            time.sleep(0.05)

    def stop_host(self, name, sessions=True):
        """NAME becomes unreachable: its listener goes and, with sessions, every
        connection to it (sshd's session processes are its children)."""
        p = self.procs.pop(name, None)
        if p is None:
            return
        if sessions:
            for pid in self.session_pids(p.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        p.kill()
        p.wait(timeout=10)

    @staticmethod
    def session_pids(parent):
        kids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                st = open("/proc/%s/stat" % d).read()
            except OSError:
                continue
            if int(st[st.rindex(")") + 2:].split()[1]) == parent:
                kids.append(int(d))
        return kids

    # ------------------------------------------------------------ faults
    def fault_program(self, mode, arg=None):
        """An executable for `qtriage=` that runs the real agent behind a fault
        (agent_proxy.py MODE).  Returns (path, log): the proxy writes every line
        it relays to log.  Mode "gate" waits at the gate of gate()."""
        tag = mode + ("-" + str(arg) if arg is not None else "")
        if mode == "gate":
            arg = self.path("gate")
        path = self.path("bin", "qtriage-" + tag)
        logp = self.path("proxy-%s.log" % tag)
        argv = ["/usr/bin/python3", PROXY, logp, mode] + ([str(arg)] if arg is not None else [])
        with open(path, "w") as f:
            f.write("#!/bin/sh\nexec %s -- %s \"$@\"\n" % (" ".join(argv), self.qtriage))
        os.chmod(path, 0o755)
        return path, logp

    def gate(self):
        """A closed gate for mode "gate": returns (path, file object holding it
        shut).  Closing the file object opens the gate."""
        p = self.path("gate")
        f = open(p, "a")
        fcntl.flock(f, fcntl.LOCK_EX)
        return p, f

    # ------------------------------------------------------------ sudo
    def setup_sudo(self):
        """Two system users who log in to the first host's sshd with the test
        key; a sudoers rule lets each run exactly that host's agent command
        (`sudo -n QTRIAGE agent -c ETC`, what host_line(sudo=True) makes
        ssh run), the first without a password, the second only with one.
        Returns the aliases (mxsudo, mxsudopw); down() removes users and
        rule.  Needs sudo (scripts/deps.sh)."""
        sudo, visudo = shutil.which("sudo"), shutil.which("visudo") or "/usr/sbin/visudo"
        if not sudo:
            raise RuntimeError("no sudo (apt-get install sudo)")
        tag = os.urandom(3).hex()
        etc = self.hosts[0][1]
        command = "%s agent -c %s" % (self.qtriage, etc)
        rules = []
        for alias, nopasswd in (("mxsudo", True), ("mxsudopw", False)):
            user = "qts%s%s" % (tag, "n" if nopasswd else "p")
            # '*': no password to log in with, yet not a locked account,
            # which sshd (without PAM) would refuse even with a key.
            r = run(["useradd", "--system", "--no-create-home", "--home-dir",
                     self.path("home"), "--shell", "/bin/sh", "--password", "*", user])
            if r.returncode:
                raise RuntimeError("useradd: " + r.stderr.decode(errors="replace"))
            self.sudo_users.append((alias, user))
            rules.append("%s ALL=(root) %s%s" % (user, "NOPASSWD: " if nopasswd else "",
                                                 command))
        path = "/etc/sudoers.d/qtriage-test-" + tag
        tmp = self.path("sudoers")
        with open(tmp, "w") as f:
            f.write("# qtriage ssh test bed: removed by sshbed.py down\n" + "\n".join(rules) + "\n")
        r = run([visudo, "-c", "-f", tmp])
        if r.returncode:
            raise RuntimeError("visudo: " + (r.stdout + r.stderr).decode(errors="replace"))
        os.chmod(tmp, 0o440)
        shutil.copy(tmp, path)
        os.chmod(path, 0o440)
        self.sudoers = path
        self.write_ssh_config()
        return [a for a, _ in self.sudo_users]

    def teardown_sudo(self):
        if self.sudoers:
            try:
                os.unlink(self.sudoers)
            except FileNotFoundError:
                pass
            self.sudoers = None
        for _, user in self.sudo_users:
            run(["userdel", user])
        self.sudo_users = []

    # ------------------------------------------------------------ fleet files
    def host_line(self, name, dest=None, config=None, qtriage=None, sudo=False):
        etc = dict(self.hosts).get(name) if config is None else config
        s = "host %s %s" % (name, dest or name)
        if etc:
            s += " config=" + etc
        s += " qtriage=" + (qtriage or self.qtriage)
        if sudo:
            s += " sudo=yes"
        return s

    def write_fleet(self, lines=None, path=None):
        """Write a fleet file (default: every host, plain) and return its path."""
        path = path or self.path("fleet")
        if lines is None:
            lines = [self.host_line(n) for n, _ in self.hosts]
        with open(path, "w") as f:
            f.write("# qtriage ssh test bed fleet\n" + "\n".join(lines) + "\n")
        os.chmod(path, 0o644)
        return path

    # ------------------------------------------------------------ use
    def ssh(self, name, command, timeout=30, **kw):
        return run(self.ssh_argv() + [name, command], timeout=timeout, **kw)

    def down(self):
        try:
            self.teardown_sudo()
        except Exception:  # noqa: BLE001  (tear down the rest anyway)
            pass
        for name in list(self.procs):
            try:
                self.stop_host(name)
            except Exception:  # noqa: BLE001  (tear down the rest anyway)
                pass
        if self.dir and os.path.isdir(self.dir):
            # fault programs whose connection was cut may still be waiting
            for fn in os.listdir(self.dir):
                if fn.endswith(".log.pid"):
                    for line in open(self.path(fn)):
                        try:
                            os.kill(int(line), signal.SIGKILL)
                        except (ValueError, ProcessLookupError):
                            pass
            if os.environ.get("QTRIAGE_KEEP_TESTBED") != "1":
                shutil.rmtree(self.dir, ignore_errors=True)


def main(argv):
    if len(argv) >= 2 and argv[1] == "down":
        bed = SshBed([], "/bin/true", dir=os.path.abspath(argv[2]))
        for fn in os.listdir(bed.dir):
            if fn.startswith("sshd-") and fn.endswith(".pid"):
                try:
                    os.kill(int(open(bed.path(fn)).read()), signal.SIGTERM)
                except (ValueError, OSError):
                    pass
        bed.down()
        return 0
    if len(argv) < 2 or argv[1] != "up":
        sys.stderr.write(__doc__)
        return 2
    why = available()
    if why:
        sys.stderr.write("sshbed: %s\n" % why)
        return SKIP
    import argparse
    ap = argparse.ArgumentParser(prog="sshbed.py up")
    ap.add_argument("dir")
    ap.add_argument("--qtriage", required=True)
    ap.add_argument("--host", action="append", default=[])
    a = ap.parse_args(argv[2:])
    hosts = [tuple(h.split("=", 1)) for h in a.host]
    os.makedirs(a.dir, exist_ok=True)
    bed = SshBed(hosts, a.qtriage, dir=os.path.abspath(a.dir))
    try:
        bed.up()
    except BaseException:
        bed.down()
        raise
    # sshd -D runs on after this program: detached in its own session
    print("SSHBED_DIR=%s" % bed.dir)
    print("SSHBED_SSH=%s" % bed.ssh_option())
    print("SSHBED_FLEET=%s" % bed.path("fleet"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
