#!/usr/bin/env python3
"""Integration test: qtriage agent and the fleet client, without sshd.

The ssh command is tests/integration/fake_ssh.sh, which drops ssh's options
and the destination and runs the fixed remote command itself, so the agent
is the real binary on a real Postfix instance; the real-sshd tests live in
test_fleet*.py.

  * agent: the handshake first; another protocol version is refused (X
    line, exit 3)
  * list --json over the fleet equals the local list --json, plus "host"
  * hosts that fail: ssh exit 255 is "lost" with ssh's message; exit 127 is
    "qtriage not found" with a read-only listing by postqueue -j
  * hold --filter fans out: exactly the matching messages move to hold
    (postqueue -j), the result line is per host, and a lost host makes the
    exit status non-zero, naming it
  * delete --backup-dir writes DIR/HOST/ID.eml on this machine and deletes
    exactly those
  * check reports per host and the worst state
"""

import json
import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qtlib  # noqa: E402
from qtlib import log  # noqa: E402

N = 20
FAKE_SSH = os.path.join(qtlib.HERE, "fake_ssh.sh")
FLOOD = "promo@bulk-deals.example"


def fleet_conf(tb, path, extra=""):
    exe = qtlib.qtriage_path()
    with open(path, "w") as f:
        f.write("ssh = %s -o ConnectTimeout=5\n" % FAKE_SSH)
        f.write("host mx1 root@mx1.example config=%s qtriage=%s\n" % (tb.etc, exe))
        f.write(extra)
    os.chmod(path, 0o600)


def fleet(conf, hosts, args, input=None):
    return qtlib.qtriage(["--no-config", "--fleet", conf, "--hosts", hosts] + args, input=input,
                         timeout=120)


def body(c):
    if not qtlib.have_qtriage():
        c.skip("no qtriage binary")
        return
    exe = qtlib.qtriage_path()
    with qtlib.Testbed(tag="agent") as tb, tempfile.TemporaryDirectory(prefix="qtriage-agent-",
                                                                        dir="/tmp") as tmp:
        os.chmod(tmp, 0o700)
        tb.inject(N)
        tb.settle()
        conf = os.path.join(tmp, "fleet.conf")
        fleet_conf(tb, conf,
                   "host gone root@gone.example qtriage=/bin/false\n"
                   "host noagent root@noagent.example config=%s qtriage=/nonexistent/qtriage\n"
                   % tb.etc)

        # The agent: handshake first, a different protocol refused.
        p = subprocess.run([exe, "agent", "-c", tb.etc], input=b"H\tqtriage-fleet\t3\t9.9\n",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        lines = p.stdout.decode().splitlines()
        c.check(lines and lines[0].startswith("H\tqtriage-agent\t2\t"), "agent greets first",
                lines[:2])
        c.check(len(lines) > 1 and lines[1].startswith("X\t") and "protocol 3" in lines[1],
                "agent refuses protocol 3", lines)
        c.eq(p.returncode, 3, "agent exit status after a refusal")

        # list --json: the same objects as locally, plus the host.
        local, _ = qtlib.qtriage_list(tb.etc, c=c)
        p = fleet(conf, "mx1", ["list", "--json"])
        c.eq(p.returncode, 0, "fleet list exit (stderr %s)" % p.stderr[:300])
        remote = [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()]
        c.eq(len(remote), len(local), "fleet list lists every message")
        c.check(all(m.get("host") == "mx1" for m in remote), "every object carries host")
        for m in remote:
            m.pop("host", None)
        c.eq(sorted(remote, key=lambda m: m["queue_id"]),
             sorted(local, key=lambda m: m["queue_id"]), "fleet list equals local list")

        # Hosts that fail, each its own way; the others still listed.
        p = fleet(conf, "all", ["list", "--ids"])
        err = p.stderr.decode()
        ids = p.stdout.decode().split()
        c.eq(p.returncode, 1, "list exit with a lost host")
        c.check("gone: lost:" in err, "the lost host is named", err)
        c.check("qtriage not found on noagent" in err, "exit 127 is said so", err)
        c.eq(len([i for i in ids if i.startswith("mx1:")]), N, "mx1 listed in full")
        c.eq(len([i for i in ids if i.startswith("noagent:")]), N,
             "noagent listed read-only by postqueue -j")

        # hold --filter fans out; the lost host fails the command.
        before = {m["queue_id"]: m["queue_name"] for m in tb.postqueue_j()}
        p = fleet(conf, "mx1,gone", ["hold", "--yes", "--filter",
                                     "sender=%s and queue=deferred" % FLOOD])
        out, err = p.stdout.decode(), p.stderr.decode()
        after = {m["queue_id"]: m["queue_name"] for m in tb.postqueue_j()}
        flood = {m["queue_id"] for m in local
                 if m["sender"] == FLOOD and m["queue_name"] == "deferred"}
        moved = {i for i in after if after[i] != before.get(i)}
        c.check(flood, "the corpus has deferred flood mail")
        c.eq(moved, flood, "exactly the matching messages moved")
        c.check(all(after[i] == "hold" for i in moved), "moved to hold")
        c.check(out.startswith("hold: mx1 %d acted on" % len(flood)), "per-host result line",
                out)
        c.check("gone unreachable, nothing done" in out, "unreachable host in the line", out)
        c.eq(p.returncode, 1, "exit status with a failed host")
        c.check("not done on every host: gone" in err, "the failed host is named", err)

        # delete --backup-dir: saved here, one directory per host, then deleted.
        backup = os.path.join(tmp, "backup")
        victims = sorted(moved)[:3]
        p = fleet(conf, "mx1", ["delete", "--backup-dir", backup] +
                  ["mx1:" + i for i in victims])
        c.eq(p.returncode, 0, "delete --backup-dir exit (stderr %s)" % p.stderr[:300])
        saved = sorted(f[:-4] for f in os.listdir(os.path.join(backup, "mx1")))
        c.eq(saved, victims, "backup holds DIR/mx1/ID.eml for each")
        left = {m["queue_id"] for m in tb.postqueue_j()}
        c.check(not (set(victims) & left), "the backed-up messages are deleted")
        c.eq(len(left), len(after) - len(victims), "nothing else is deleted")
        with open(os.path.join(backup, "mx1", victims[0] + ".eml"), "rb") as f:
            c.check(b"X-Qtriage-Queue-ID: " + victims[0].encode() in f.read(),
                    "the export carries its queue ID")

        # check: per host and the worst state.
        p = fleet(conf, "mx1,gone", ["check", "--warn", "1000", "--crit", "2000"])
        out = p.stdout.decode()
        c.check(out.startswith("QTRIAGE UNKNOWN - mx1 OK %d messages; gone UNKNOWN" % len(left)),
                "check line per host", out)
        c.eq(p.returncode, 3, "check's worst state")
        log("fleet smoke test done")


if __name__ == "__main__":
    qtlib.run_main("test_agent", body)
