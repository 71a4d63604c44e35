#!/usr/bin/env python3
"""End to end through the TUI: stop a hijacked SASL account from the
statistics pane.

A test bed with its smtpd on loopback; j.smith (6 messages) and m.jones (2)
send over SMTP (XCLIENT LOGIN).  In qtriage: s, Tab Tab (the sasl view), B
on j.smith's row, Enter on the offered "hold 1h": the entry is in the table
and the message line says the restriction is not in place.  The test adds
the restriction line qtriage prints to main.cf; B again with "reject 2h
hijacked": the message says it is in place, and j.smith's next message is
refused with the text while m.jones's passes.  Then the entry's expiry is
back-dated and the running TUI removes it by itself.
Exit: 0 ok, 1 failure, 77 not root."""

import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from tuilib import Tui, log, qtlib  # noqa: E402
from test_block import smtp_send  # noqa: E402


def block_entries(etc):
    p = qtlib.qtriage(["block", "list", "--json", "-c", etc])
    return [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()], \
        p.stderr.decode(errors="replace")


def body(c):
    with qtlib.Testbed("tui-block", smtpd=True) as tb:
        etc = tb.etc
        port = int(open(os.path.join(tb.dir, "smtpd_port")).read())
        with open(os.path.join(etc, "main.cf"), "a") as f:
            f.write("smtpd_sasl_auth_enable = yes\n")
        old = time.time() - 10
        os.utime(os.path.join(etc, "main.cf"), (old, old))
        qtlib.sh(["postfix", "-c", etc, "reload"])
        for i in range(8):
            login = "j.smith" if i < 6 else "m.jones"
            stage, code, reply, _ = smtp_send(port, login, "198.51.100.%d" % (i + 1),
                                              "%s@customer.example" % login.replace(".", ""))
            c.check(stage == "data" and code == 250, "message %d is queued" % i, reply)
        tb.settle()

        with Tui(["-c", etc, "--refresh", "1"]) as t:
            c.check(t.wait_loaded(), "the list loads", t.screen())
            t.keys("s")
            c.check(t.wait_for(r"Top SENDER "), "s opens the statistics", t.screen())
            t.keys("Tab", "Tab")
            c.check(t.wait_for(r"Top SASL"), "Tab Tab: the sasl view", t.screen())
            # The cursor on j.smith's row (the largest group).
            for _ in range(5):
                t.keys("B")
                if t.wait_for(r"block sasl j\.smith \(", timeout=3):
                    break
                t.keys("Escape", "Down")
            c.check(t.wait_for(r"block sasl j\.smith \(restriction NOT in place\): hold\|defer\|reject.*hold 1h"),
                    "B opens the block prompt with hold 1h", t.screen())
            t.keys("Enter")
            c.check(t.wait_for(r"blocked sasl j\.smith: hold, expires in 1h; restriction NOT "
                               r"in place"),
                    "the message says blocked, and that the restriction is not in place",
                    t.screen())
            es, err = block_entries(etc)
            c.eq([(e["kind"], e["value"], e["action"]) for e in es],
                 [("sasl", "j.smith", "hold")], "the table holds the entry")
            c.check(es and 3500 <= es[0]["expires"] - time.time() <= 3600,
                    "it expires in an hour", str(es))

            m = re.search(r"^\s+(smtpd_recipient_restrictions = .*)$", err, re.M)
            c.check(m, "block list prints the restriction line", err)
            if not m:
                return
            with open(os.path.join(etc, "main.cf"), "a") as f:
                f.write(m.group(1) + "\n")
            os.utime(os.path.join(etc, "main.cf"), (old, old))
            qtlib.sh(["postfix", "-c", etc, "reload"])

            t.keys("B")
            c.check(t.wait_for(r"block sasl j\.smith \(restriction in place\): "),
                    "B again: the prompt says the restriction is in place", t.screen())
            t.keys("C-u")
            t.type("reject 2h hijacked account")
            t.keys("Enter")
            c.check(t.wait_for(r"blocked sasl j\.smith: reject, expires in 2h; restriction in "
                               r"place"),
                    "the message says the restriction is in place", t.screen())
            stage, code, reply, _ = smtp_send(port, "j.smith", "198.51.100.30",
                                              "jsmith@customer.example")
            c.check(stage == "rcpt" and code >= 500 and "hijacked account" in reply,
                    "j.smith's next message is rejected with the text", "%s %d %s"
                    % (stage, code, reply))
            stage, code, reply, _ = smtp_send(port, "m.jones", "198.51.100.31",
                                              "mjones@customer.example")
            c.check(stage == "data" and code == 250, "m.jones's message passes", reply)

            # The running TUI expires the entry once its time is past.
            path = os.path.join(etc, "qtriage_sasl_access")
            text = open(path).read()
            with open(path, "w") as f:
                f.write(re.sub(r"# qtriage: expires=\d+",
                               "# qtriage: expires=%d" % (int(time.time()) - 5), text))
            c.check(t.wait_for(r"block: 1 entry expired and removed \(sasl j\.smith\)",
                               timeout=40),
                    "the TUI removes the expired entry on its own", t.screen())
            es, _ = block_entries(etc)
            c.eq(es, [], "the table has no entry left")
            stage, code, reply, _ = smtp_send(port, "j.smith", "198.51.100.32",
                                              "jsmith@customer.example")
            c.check(stage == "data" and code == 250, "j.smith's mail passes again", reply)
            t.keys("q", "q")
            c.eq(t.exit_status(), 0, "qtriage exits cleanly")
        log("tui block done")


if __name__ == "__main__":
    qtlib.run_main("tui_block", body)
