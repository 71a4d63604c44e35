#!/usr/bin/env python3
"""qtriage block: stopping a flood's source with the access tables qtriage keeps.

One test bed with its smtpd on a loopback port (XCLIENT sets the client
address and the SASL login).  The test adds the restriction line qtriage
prints to the instance's main.cf itself, then speaks SMTP:

  sasl      a blocked login's next message is held, deferred (4xx) or
            rejected (5xx), checked in the SMTP reply, postqueue -j and the
            maillog; another login's message passes
  client    an address and a network (rejected, deferred); another passes
  sender    an address (held) and a domain (rejected); another passes
  expiry    an entry whose time is past goes with `block expire`, from the
            source and the map, and the login's mail passes again
  foreign   lines qtriage did not write survive every rewrite, and a key
            they hold is not taken over
  lock      parallel `block add` runs lose no entry
  wiring    a permit before the checks, or a master.cf service overriding
            the restrictions without them: not in place, and said where
  refusals  nobody may not change the tables; a symbolic link planted at a
            table's path (owned by nobody) is refused and left alone; keys
            and texts with blanks or control characters are refused
"""

import json
import os
import pwd
import re
import smtplib
import subprocess
import tempfile
import time

import qtlib
from qtlib import log, qtriage, sh

FOREIGN_CLIENT = "198.51.100.77\tREJECT the admin's own entry"


def smtp_send(port, login, addr, sender, rcpt="user@remote.example"):
    """One SMTP session; returns (stage, code, text, queue_id): stage is
    'rcpt' when RCPT TO was refused, 'data' when the message was queued."""
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
        s.ehlo("injector.localdomain")
        xc = "ADDR=%s NAME=[UNAVAILABLE] HELO=pc-block PROTO=ESMTP" % addr
        if login:
            xc += " LOGIN=%s" % login
        code, msg = s.docmd("XCLIENT", xc)
        if code != 220:
            raise RuntimeError("XCLIENT: %d %s" % (code, msg))
        s.ehlo("pc-block")
        code, msg = s.mail(sender)
        if code != 250:
            return "mail", code, msg.decode(errors="replace"), None
        code, msg = s.rcpt(rcpt)
        if code not in (250, 251):
            return "rcpt", code, msg.decode(errors="replace"), None
        code, msg = s.data(b"Subject: block test\r\n\r\nbody\r\n")
        text = msg.decode(errors="replace")
        m = re.search(r"queued as ([0-9A-Za-z]+)", text)
        return "data", code, text, m.group(1) if m else None


def queue_of(tb, qid):
    for m in tb.postqueue_j():
        if m["queue_id"] == qid:
            return m["queue_name"]
    return None


def maillog(tb):
    with open(tb.maillog, errors="replace") as f:
        return f.read()


def wait_for(fn, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    return fn()


def block(etc, *args, user=None):
    p = qtriage(["block"] + list(args) + ["-c", etc], user=user)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def entries(etc):
    rc, out, err = block(etc, "list", "--json")
    return rc, [json.loads(l) for l in out.splitlines() if l.strip()], err


def postmap_q(etc, key, table):
    p = sh(["postmap", "-c", etc, "-q", key, "hash:%s/%s" % (etc, table)], check=False)
    return p.stdout.decode(errors="replace").strip() if p.returncode == 0 else None


def reload_postfix(tb):
    old = time.time() - 10
    os.utime(os.path.join(tb.etc, "main.cf"), (old, old))
    sh(["postfix", "-c", tb.etc, "reload"])


def check_outcome(c, tb, port, what, want, login, addr, sender, text=None):
    """Send one message and check what became of it: want is 'hold',
    'defer', 'reject' or 'pass'."""
    stage, code, reply, qid = smtp_send(port, login, addr, sender)
    if want in ("defer", "reject"):
        lo = 400 if want == "defer" else 500
        c.check(stage == "rcpt" and lo <= code < lo + 100,
                "%s: RCPT answered %dxx" % (what, lo // 100), "%s %d %s" % (stage, code, reply))
        if text:
            c.check(text in reply, "%s: the reply carries the text" % what, reply)
        c.check(wait_for(lambda: re.search(r"NOQUEUE: reject: RCPT from \S+\[%s\]: %d "
                                           % (re.escape(addr), code), maillog(tb))),
                "%s: the maillog has the NOQUEUE reject line" % what)
        return
    c.check(stage == "data" and code == 250 and qid, "%s: the message is queued" % what,
            "%s %d %s" % (stage, code, reply))
    if not qid:
        return
    q = wait_for(lambda: queue_of(tb, qid))
    if want == "hold":
        c.eq(q, "hold", "%s: postqueue -j has it in hold" % what)
        c.check(re.search(r"NOQUEUE: hold: RCPT from \S+\[%s\]" % re.escape(addr), maillog(tb)),
                "%s: the maillog has the HOLD line" % what)
    else:
        c.check(q is not None and q != "hold", "%s: postqueue -j has it queued, not held"
                % what, str(q))


def body(c):
    nobody = pwd.getpwnam("nobody")
    with qtlib.Testbed(tag="block", smtpd=True) as tb:
        etc = tb.etc
        port = int(open(os.path.join(tb.dir, "smtpd_port")).read())

        # The admin's own lines in the client table, before qtriage writes it.
        with open(os.path.join(etc, "qtriage_client_access"), "w") as f:
            f.write("# the admin's comment\n%s\n" % FOREIGN_CLIENT)
        sh(["postmap", "-c", etc, "hash:%s/qtriage_client_access" % etc])

        # --- read-only users are refused; nothing is written
        rc, out, err = block(etc, "add", "sasl", "j.smith", "--action", "hold", user="nobody")
        c.check(rc != 0 and "needs root" in err, "nobody: block add is refused", err)
        c.check(not os.path.exists(os.path.join(etc, "qtriage_sasl_access")),
                "nobody: no table is written")

        # --- bad keys and texts
        for kind, value in (("sasl", "a b"), ("client", "300.1.2.3"), ("client", "1.2.3.4/8x"),
                            ("sender", "nobody-at-all"), ("sender_domain", "bad domain"),
                            ("sender", "<>")):
            rc, _, err = block(etc, "add", kind, value, "--action", "reject")
            c.check(rc == 2, "the %s key %r is refused" % (kind, value), err)
        rc, _, err = block(etc, "add", "sasl", "x", "--action", "reject", "--text", "a\nREJECT")
        c.check(rc == 2 and "control" in err, "a text with a newline is refused", err)

        # --- first entry; qtriage says the restriction is not in place
        rc, out, err = block(etc, "add", "sasl", "J.Smith", "--action", "hold")
        c.eq(rc, 0, "block add sasl (stderr: %s)" % err)
        c.check("NOT in place" in err, "block add says the restriction is not in place", err)
        m = re.search(r"^\s+(smtpd_recipient_restrictions = .*)$", err, re.M)
        c.check(m, "block add prints the restriction line", err)
        c.check(m and "check_sasl_access" not in m.group(1),
                "with SASL off the line leaves check_sasl_access out", err)
        for t in ("qtriage_sasl_access", "qtriage_client_access", "qtriage_sender_access"):
            c.check(os.path.exists(os.path.join(etc, t + ".db")),
                    "every table's map exists after the first add (%s)" % t)
        c.eq(postmap_q(etc, "j.smith", "qtriage_sasl_access"), "HOLD",
             "postmap -q finds the new entry (key in lower case)")
        c.eq(postmap_q(etc, "198.51.100.77", "qtriage_client_access"),
             "REJECT the admin's own entry", "the admin's entry is still in the map")

        # The admin turns SASL on and adds the line qtriage prints.
        with open(os.path.join(etc, "main.cf"), "a") as f:
            f.write("smtpd_sasl_auth_enable = yes\n")
        rc, out, err = block(etc, "list")
        m = re.search(r"^\s+(smtpd_recipient_restrictions = .*)$", err, re.M)
        c.check(m and "check_sasl_access" in m.group(1) and "check_client_access" in m.group(1)
                and "check_sender_access" in m.group(1),
                "with SASL on the line names all three tables", err)
        if not m:
            return
        with open(os.path.join(etc, "main.cf"), "a") as f:
            f.write(m.group(1) + "\n")
        reload_postfix(tb)
        rc, out, err = block(etc, "list")
        c.check("restriction is in place" in err, "block list sees the restriction in place",
                err)
        c.check(re.search(r"^sasl\s+j\.smith\s+hold\s", out, re.M), "block list shows the entry",
                out)

        # --- sasl: hold, then defer, then reject; another login passes
        check_outcome(c, tb, port, "sasl hold", "hold", "j.smith", "192.0.2.11", "a@one.example")
        check_outcome(c, tb, port, "sasl other login", "pass", "m.jones", "192.0.2.11",
                      "a@one.example")
        rc, _, err = block(etc, "add", "sasl", "j.smith", "--action", "defer", "--text",
                           "qtriage test: slow down")
        c.eq(rc, 0, "block add replaces qtriage's own entry (%s)" % err)
        c.eq(postmap_q(etc, "j.smith", "qtriage_sasl_access"), "DEFER qtriage test: slow down",
             "the sasl entry defers with DEFER (4xx wherever the check sits)")
        check_outcome(c, tb, port, "sasl defer", "defer", "j.smith", "192.0.2.12",
                      "a@one.example", text="qtriage test: slow down")
        block(etc, "add", "sasl", "j.smith", "--action", "reject", "--text", "hijacked")
        check_outcome(c, tb, port, "sasl reject", "reject", "j.smith", "192.0.2.13",
                      "a@one.example", text="hijacked")
        check_outcome(c, tb, port, "sasl other login after reject", "pass", "m.jones",
                      "192.0.2.13", "a@one.example")

        # --- client: an address, a network
        block(etc, "add", "client", "192.0.2.50", "--action", "reject")
        check_outcome(c, tb, port, "client reject", "reject", None, "192.0.2.50", "b@two.example")
        check_outcome(c, tb, port, "client other address", "pass", None, "192.0.2.51",
                      "b@two.example")
        rc, _, err = block(etc, "add", "client", "203.0.113", "--action", "defer")
        c.eq(rc, 0, "block add client network (%s)" % err)
        c.eq(postmap_q(etc, "203.0.113", "qtriage_client_access"), "DEFER_IF_PERMIT",
             "a client entry defers with DEFER_IF_PERMIT")
        check_outcome(c, tb, port, "client network defer", "defer", None, "203.0.113.9",
                      "b@two.example")

        # --- sender: an address, a domain
        block(etc, "add", "sender", "Flood@Bulk.example", "--action", "hold")
        check_outcome(c, tb, port, "sender hold", "hold", None, "192.0.2.60", "flood@bulk.example")
        check_outcome(c, tb, port, "sender other address", "pass", None, "192.0.2.60",
                      "fine@bulk.example")
        block(etc, "add", "sender_domain", "spam.example", "--action", "reject")
        check_outcome(c, tb, port, "sender_domain reject", "reject", None, "192.0.2.61",
                      "anyone@spam.example")
        rc, es, _ = entries(etc)
        kinds = sorted((e["kind"], e["value"], e["action"]) for e in es)
        c.eq(kinds, [("client", "192.0.2.50", "reject"), ("client", "203.0.113", "defer"),
                     ("sasl", "j.smith", "reject"), ("sender", "flood@bulk.example", "hold"),
                     ("sender_domain", "spam.example", "reject")],
             "block list --json lists qtriage's entries, not the admin's")

        # --- foreign key is not taken over
        rc, _, err = block(etc, "add", "client", "198.51.100.77", "--action", "hold")
        c.check(rc != 0 and "did not write" in err, "a key on the admin's line is left alone",
                err)

        # --- expiry: an entry whose time is past (the marker back-dated)
        path = os.path.join(etc, "qtriage_sasl_access")
        text = open(path).read()
        past = int(time.time()) - 60
        text2 = re.sub(r"# qtriage: expires=\d+", "# qtriage: expires=%d" % past, text)
        c.check(text2 != text, "the sasl entry has its expiry marker", text)
        with open(path, "w") as f:
            f.write(text2)
        rc, out, err = block(etc, "expire")
        c.check(rc == 0 and "sasl j.smith: expired" in out, "block expire removes it",
                out + err)
        c.eq(postmap_q(etc, "j.smith", "qtriage_sasl_access"), None,
             "the expired entry is gone from the map")
        check_outcome(c, tb, port, "sasl after expiry", "pass", "j.smith", "192.0.2.14",
                      "a@one.example")
        rc, out, err = block(etc, "expire")
        c.check(rc == 0 and out == "", "a second block expire removes nothing", out + err)

        # --- what a killed run leaves (its PID is gone) goes with the next change
        dead = subprocess.Popen(["true"])
        dead.wait()
        leftovers = [".qtriage_sasl_access.qtriage-%d-1f.tmp" % dead.pid,
                     ".qtriage_sasl_access.qtriage-%d-1f.tmp.db" % dead.pid]
        for name in leftovers:
            with open(os.path.join(etc, name), "w") as f:
                f.write("half\n")
        alive = ".qtriage_sasl_access.qtriage-%d-2f.tmp.db" % os.getpid()
        with open(os.path.join(etc, alive), "w") as f:
            f.write("in use\n")
        block(etc, "add", "sasl", "leftover.test", "--action", "hold")
        c.check(not any(os.path.exists(os.path.join(etc, n)) for n in leftovers),
                "a killed run's temporary source and map are removed", str(os.listdir(etc)))
        c.check(os.path.exists(os.path.join(etc, alive)), "a live run's temporary map is kept")
        os.unlink(os.path.join(etc, alive))
        block(etc, "remove", "sasl", "leftover.test")

        # --- remove
        rc, out, _ = block(etc, "remove", "client", "192.0.2.50")
        c.check(rc == 0 and "removed" in out, "block remove client", out)
        check_outcome(c, tb, port, "client after remove", "pass", None, "192.0.2.50",
                      "b@two.example")
        rc, _, err = block(etc, "remove", "client", "198.51.100.77")
        c.check(rc == 1, "block remove leaves the admin's entry alone", err)
        client_text = open(os.path.join(etc, "qtriage_client_access")).read()
        c.check(FOREIGN_CLIENT in client_text and "# the admin's comment" in client_text,
                "the admin's lines survive every rewrite", client_text)
        c.eq(postmap_q(etc, "198.51.100.77", "qtriage_client_access"),
             "REJECT the admin's own entry", "the admin's entry is still in the map at the end")

        # --- lock: parallel runs lose nothing
        procs = [subprocess.Popen([qtlib.qtriage_path(), "block", "add", "sasl", "user%d" % i,
                                   "--action", "hold", "-c", etc],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for i in range(8)]
        rcs = [p.wait(timeout=120) for p in procs]
        c.eq(rcs, [0] * 8, "8 parallel block add runs succeed")
        rc, es, _ = entries(etc)
        got = sorted(e["value"] for e in es if e["kind"] == "sasl")
        c.eq(got, sorted("user%d" % i for i in range(8)), "no parallel entry is lost")
        for i in range(8):
            c.eq(postmap_q(etc, "user%d" % i, "qtriage_sasl_access"), "HOLD",
                 "user%d is in the map" % i)

        # --- a link planted at a table's path
        victim = tempfile.mktemp(prefix="qtriage-block-victim-", dir="/tmp")
        with open(victim, "w") as f:
            f.write("victim\n")
        os.chown(victim, nobody.pw_uid, nobody.pw_gid)
        sender_path = os.path.join(etc, "qtriage_sender_access")
        os.unlink(sender_path)
        os.symlink(victim, sender_path)
        os.lchown(sender_path, nobody.pw_uid, nobody.pw_gid)
        rc, _, err = block(etc, "add", "sender", "x@y.example", "--action", "hold")
        c.check(rc == 1 and "symbolic link" in err, "a symlink at the table path is refused",
                err)
        c.check(os.path.islink(sender_path), "the planted link is left as it is")
        c.eq(open(victim).read(), "victim\n", "the link's target is untouched")
        rc, _, err = block(etc, "list")
        c.check(rc == 1 and "symbolic link" in err, "block list refuses the link too", err)
        os.unlink(sender_path)
        map_path = os.path.join(etc, "qtriage_client_access.db")
        os.unlink(map_path)
        os.symlink(victim, map_path)
        os.lchown(map_path, nobody.pw_uid, nobody.pw_gid)
        rc, _, err = block(etc, "add", "client", "192.0.2.99", "--action", "hold")
        c.check(rc == 1 and "symbolic link" in err, "a symlink at the map path is refused", err)
        c.eq(open(victim).read(), "victim\n", "the map link's target is untouched")
        os.unlink(victim)

        # --- the restriction check: a permit before the checks, a master.cf
        # service that overrides the restrictions (postconf only reads them)
        main = sh(["postconf", "-c", etc, "-h", "smtpd_recipient_restrictions"]).stdout.decode()
        sh(["postconf", "-c", etc, "-e",
            "smtpd_recipient_restrictions = permit_mynetworks, " + main.strip()])
        rc, _, err = block(etc, "list")
        c.check("NOT in place" in err and "after permit_mynetworks" in err,
                "a check after permit_mynetworks is not in place", err)
        sh(["postconf", "-c", etc, "-e", "smtpd_recipient_restrictions = " + main.strip()])
        rc, _, err = block(etc, "list")
        c.check("restriction is in place" in err, "in place again", err)
        sh(["postconf", "-c", etc, "-P",
            "127.0.0.1:%d/inet/smtpd_recipient_restrictions=permit_mynetworks" % port])
        rc, _, err = block(etc, "list")
        c.check("NOT in place" in err and "master.cf service 127.0.0.1:%d/inet" % port in err,
                "a master.cf override without the checks is named", err)
        log("block test done")


if __name__ == "__main__":
    qtlib.run_main("block", body)
