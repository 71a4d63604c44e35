#!/usr/bin/env python3
"""A fleet with one bad host: mx1 and mx2 are fine, mx3 fails in one way at a
time (tests/testbed/agent_proxy.py sits between ssh and the real agent, or
ssh itself fails).  For every fault: qtriage ends within its time bound (no
hang), does not crash (no signal, no sanitizer report), lists mx1 and mx2 in
full, exits non-zero and names mx3 with a clear reason; nothing escapes from
the bad host onto the terminal.

  unreachable     nothing listens on mx3's port
  password        mx3's sshd accepts no key and offers a password; run on a
                  terminal of its own, ssh must not prompt (BatchMode)
  hostkey         mx3's host key is not in known_hosts (no prompt, no TOFU)
  not installed   qtriage= names no program (exit 127)
  version         the agent speaks protocol 3
  motd            a greeting before the handshake
  garbage         escape sequences and an unknown line type after the handshake
  oversized       a 5 MiB line
  drop mid-load   the connection is killed after 20 scan lines
  slow            mx3 answers only when the test lets it: the list waits for it
                  and is complete
  drop mid-action the connection is killed after the agent held the mail and
                  before its answer: the outcome is reported unknown, mx1 and
                  mx2 are acted on
  unreachable during an action: nothing done there, the others acted on
  sudo            sudo=yes through a sudoers rule for the agent command only;
                  sudo wanting a password fails with its message, no prompt

Exit: 0 ok, 1 failure, 77 not root / no sshd."""

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
import traceback

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleetlib  # noqa: E402
from fleetlib import CALL_TIMEOUT, HIJACKED, check_rows_match, log, sound  # noqa: E402
import qtlib  # noqa: E402

N = int(os.environ.get("QTRIAGE_FLEET_N", "300"))
def list_with_bad_mx3(c, f, queues, what, reason, **over):
    return fleetlib.list_with_bad_host(c, f, queues, what, reason, host="mx3", **over)


def on_a_terminal(argv, timeout):
    """Run argv with a pty as its controlling terminal (where ssh would ask
    for a password); returns (exit status or None, everything it showed)."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    out = b""
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                break
            out += data
            if re.search(rb"password:|passphrase|\(yes/no", out, re.I):
                break   # it prompts: that is the failure; do not wait for it
    for _ in range(2):
        wpid, st = os.waitpid(pid, os.WNOHANG)
        if wpid:
            status = os.waitstatus_to_exitcode(st)
            break
        time.sleep(0.5)
    if status is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    os.close(fd)
    return status, out.decode("utf-8", "replace")


def test_connect_faults(c, f, queues):
    list_with_bad_mx3(c, f, queues, "unreachable", r"refused|unreachable", dest="mxdown")
    list_with_bad_mx3(c, f, queues, "hostkey", r"host key verification failed", dest="mxhk")
    list_with_bad_mx3(c, f, queues, "password", r"permission denied", dest="mxpw")
    not_installed(c, f, queues)
    # On a terminal of its own: ssh could open /dev/tty and ask.
    fleet = f.fleet_file({"mx3": {"dest": "mxpw"}})
    argv = [qtlib.qtriage_path(), "list", "--hosts", "all", "--json"] + f.args(fleet)
    st, shown = on_a_terminal(argv, 60)
    c.check(not re.search(r"password:|\(yes/no", shown, re.I),
            "password: no prompt on the terminal", shown[-500:])
    c.check(st not in (0, None), "password on a terminal: ends, non-zero (%r)" % st, shown[-500:])
    fleet = f.fleet_file({"mx3": {"dest": "mxhk"}})
    argv = [qtlib.qtriage_path(), "list", "--hosts", "all", "--json"] + f.args(fleet)
    st, shown = on_a_terminal(argv, 60)
    c.check(not re.search(r"\(yes/no|fingerprint", shown, re.I),
            "unknown host key: no prompt on the terminal", shown[-500:])
    c.check(st not in (0, None), "unknown host key on a terminal: ends, non-zero (%r)" % st)


def test_sudo(c, f, queues):
    """sudo=yes for real: a user whose sudoers rule allows exactly the agent
    command.  Without a password it lists the host like root's login does;
    where sudo wants a password, `sudo -n` fails at once with sudo's own
    message and nothing prompts, not even on a terminal."""
    f.bed.setup_sudo()
    etc1 = f.tb["mx1"].etc
    fleet = f.fleet_file({"mx1": {"dest": "mxsudo", "sudo": True}})
    rows, p = f.list_json(c, fleet=fleet, what="sudo=yes")
    sound(c, p, "sudo=yes")
    c.check(p.returncode == 0, "sudo=yes: exit status 0 (%r)" % p.returncode, p.err[-800:])
    check_rows_match(c, rows, queues, f.names, "sudo=yes")
    what = "sudo wants a password"
    list_with_bad_mx3(c, f, queues, what, r"sudo: a password is required", dest="mxsudopw",
                      config=etc1, sudo=True)
    fleet = f.fleet_file({"mx3": {"dest": "mxsudopw", "config": etc1, "sudo": True}})
    argv = [qtlib.qtriage_path(), "list", "--hosts", "all", "--json"] + f.args(fleet)
    st, shown = on_a_terminal(argv, 60)
    c.check(not re.search(r"password( for [^:]*)?:", shown, re.I),
            "%s: no prompt on the terminal" % what, shown[-500:])
    c.check(st not in (0, None), "%s on a terminal: ends, non-zero (%r)" % (what, st))
    f.bed.teardown_sudo()


def not_installed(c, f, queues):
    """No qtriage on mx3 (ssh's exit 127): said so, and mx3 is listed read-only
    through `ssh mx3 postqueue -j`, which the issue offers for such hosts."""
    what = "not installed"
    fleet = f.fleet_file({"mx3": {"qtriage": "/nonexistent/bin/qtriage"}})
    rows, p = f.list_json(c, fleet=fleet, what=what)
    sound(c, p, what)
    c.check(re.search(r"\bmx3\b.*not found", p.err) is not None,
            "%s: says qtriage is not found on mx3" % what, p.err[-800:])
    check_rows_match(c, rows, queues, f.names, what + " (mx3 read-only by postqueue -j)")
    p = f.qt("hold", ["--hosts", "mx3", "--filter", "sender=" + HIJACKED, "--yes"], fleet=fleet)
    sound(c, p, what + ": hold")
    c.check(p.returncode not in (0, None), "%s: hold on a read-only host exits non-zero (%r)"
            % (what, p.returncode), (p.out + p.err)[-800:])
    c.check(re.search(r"\bmx3\b[^\n]*nothing done", p.out + p.err) is not None,
            "%s: hold says nothing was done on mx3" % what, (p.out + p.err)[-800:])
    c.eq({m["queue_id"]: m["queue_name"] for m in f.tb["mx3"].postqueue_j()},
         {i: m["queue_name"] for i, m in queues["mx3"].items()}, "%s: mx3 unchanged" % what)


def test_agent_faults(c, f, queues):
    prog, _ = f.bed.fault_program("version")
    list_with_bad_mx3(c, f, queues, "version", r"protocol 3|version|same qtriage", qtriage=prog)
    prog, _ = f.bed.fault_program("motd")
    list_with_bad_mx3(c, f, queues, "motd", r"protocol", qtriage=prog)
    prog, _ = f.bed.fault_program("garbage")
    list_with_bad_mx3(c, f, queues, "garbage", r"protocol", qtriage=prog)
    prog, _ = f.bed.fault_program("oversized", 5)
    list_with_bad_mx3(c, f, queues, "oversized", r"protocol|long", qtriage=prog)
    prog, plog = f.bed.fault_program("drop-load", 20)
    list_with_bad_mx3(c, f, queues, "drop mid-load", r"lost|closed|connection|EOF|ended",
                      qtriage=prog)
    c.check("cut: mid-load" in open(plog).read(), "drop mid-load: the connection was cut mid-load")


def test_slow(c, f, queues):
    fleet, plog, held = fleetlib.gated_host(f, "mx3")
    argv = [qtlib.qtriage_path(), "list", "--hosts", "all", "--json"] + f.args(fleet)
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "waiting at the gate" not in (
                open(plog).read() if os.path.exists(plog) else ""):
            time.sleep(0.1)
        c.check(p.poll() is None, "slow: qtriage waits for a slow host, gives it no deadline yet")
    finally:
        held.close()   # the gate opens
    try:
        out, err = p.communicate(timeout=CALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        c.check(False, "slow: ends once the slow host answers")
    c.eq(p.returncode, 0, "slow: exit 0 (stderr: %s)" % err.decode(errors="replace")[:500])
    rows = [json.loads(l) for l in out.decode().splitlines() if l.strip()]
    check_rows_match(c, rows, queues, f.names, "slow")


def held_ids(q, sender):
    return {i for i, m in q.items() if m["sender"] == sender and m["queue_name"] == "hold"}


def release(f, before, sender):
    for h in f.names:
        ids = [i for i, m in before[h].items() if m["sender"] == sender and m["queue_name"] != "hold"]
        if ids:
            qtlib.sh(["postsuper", "-c", f.tb[h].etc, "-H", "-"], input=("\n".join(ids) + "\n").encode())


def test_action_faults(c, f):
    before = f.postqueue()
    want = {h: {i for i, m in q.items() if m["sender"] == HIJACKED} for h, q in before.items()}
    c.check(all(want.values()), "every host has the hijacked account's mail", want)

    prog, plog = f.bed.fault_program("drop-action")
    fleet = f.fleet_file({"mx3": {"qtriage": prog}})
    p = f.qt("hold", ["--hosts", "all", "--filter", "sender=" + HIJACKED, "--yes"], fleet=fleet)
    what = "drop mid-action"
    sound(c, p, what)
    text = p.out + p.err
    c.check(p.returncode not in (0, None), "%s: exit non-zero (%r)" % (what, p.returncode))
    c.check(re.search(r"\bmx3\b[^;\n]*unknown", text) is not None,
            "%s: mx3's outcome is reported unknown" % what, text[-800:])
    c.check(re.search(r"\bmx3\b[^;\n]*\d+ acted on", text) is None,
            "%s: no count is claimed for mx3" % what, text[-800:])
    c.check("cut: after the action" in open(plog).read(), "%s: the cut came after the action" % what)
    after = f.postqueue()
    for h in ("mx1", "mx2"):
        c.eq(held_ids(after[h], HIJACKED), want[h], "%s: %s held all the account's mail" % (what, h))
        c.check(re.search(r"\b%s\b[^;\n]*\b%s acted on" % (h, format(len(want[h] - held_ids(before[h], HIJACKED)), ",")),
                          text) is not None, "%s: %s's count is reported" % (what, h), text[-800:])
    # Postfix says what really happened on mx3: the agent had acted.
    c.eq(held_ids(after["mx3"], HIJACKED), want["mx3"], "%s: on mx3 the hold was in fact done" % what)
    release(f, before, HIJACKED)

    fleet = f.fleet_file({"mx3": {"dest": "mxdown"}})
    p = f.qt("hold", ["--hosts", "all", "--filter", "sender=" + HIJACKED, "--yes"], fleet=fleet)
    what = "hold with mx3 unreachable"
    sound(c, p, what)
    text = p.out + p.err
    c.check(p.returncode not in (0, None), "%s: exit non-zero (%r)" % (what, p.returncode))
    c.check(re.search(r"\bmx3\b[^;\n]*(unreachable|nothing done|refused)", text) is not None,
            "%s: mx3: unreachable, nothing done" % what, text[-800:])
    after = f.postqueue()
    for h in ("mx1", "mx2"):
        c.eq(held_ids(after[h], HIJACKED), want[h], "%s: %s acted on" % (what, h))
    c.eq(after["mx3"], before["mx3"], "%s: mx3 unchanged" % what)
    release(f, before, HIJACKED)


def body(c):
    fleetlib.require()
    if not qtlib.have_qtriage():
        c.skip("no qtriage binary")
        return
    with fleetlib.Fleet(3, N, tag="faults") as f:
        queues = f.postqueue()
        for part in (test_connect_faults, test_sudo, test_agent_faults, test_slow,
                     test_action_faults):
            t = time.monotonic()
            try:
                if part is test_action_faults:
                    part(c, f)
                else:
                    part(c, f, queues)
            except Exception:  # noqa: BLE001
                c.error("%s: %s" % (part.__name__, traceback.format_exc()))
            log("%s: %.1f s" % (part.__name__, time.monotonic() - t))


if __name__ == "__main__":
    qtlib.run_main("fleet_faults", body)
