#!/usr/bin/env python3
"""A fault between the fleet client and a real `qtriage agent`, for the tests.

The ssh test bed (sshbed.py) names this program, through a small wrapper, as a
host's `qtriage=`: ssh runs it on the "remote" side in place of qtriage, with
the agent's arguments.  It runs the real agent (or none) and relays both
directions line by line, breaking the conversation in one chosen way:

  pass            relay only (logs every line both ways to LOG)
  gate FILE       wait for a shared lock on FILE (the test holds it exclusively
                  and lets go when the slow host may answer), then relay
  drop-load K     forward the handshake and K scan lines, then kill the sshd
                  session process this runs under: the connection drops mid-load
  drop-action     relay until the client's first `A` request; forward it, wait
                  for the agent's `a` answer (the action was done) and kill the
                  sshd session before the answer leaves: the outcome is unknown
                  to the client, the test knows it from postqueue
  garbage         forward the handshake; answer the first request with a line
                  that is not the protocol (escape sequences, a bad type)
  oversized MB    forward the handshake; answer the first request with a U line
                  of MB mebibytes
  motd            print a shell greeting before anything (no handshake first)
  version         no agent: a handshake of protocol 3 from "qtriage 9.9.9", then
                  wait for the end of input
  silent          no agent: never say anything, wait for the end of input

Usage: agent_proxy.py LOG MODE [MODE-ARG] -- REAL-QTRIAGE agent [-c DIR]
Its own pid goes in LOG.pid so that the test bed can end it."""

import fcntl
import os
import signal
import subprocess
import sys
import threading


def sshd_session_pid():
    """The nearest ancestor whose command is sshd: the connection's session."""
    pid = os.getppid()
    while pid > 1:
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read()
        except OSError:
            return None
        comm = st[st.index("(") + 1:st.rindex(")")]
        if comm == "sshd":
            return pid
        pid = int(st[st.rindex(")") + 2:].split()[1])
    return None


class Relay:
    def __init__(self, logpath, mode, arg, argv):
        self.log = open(logpath, "a", buffering=1, errors="replace")
        self.mode, self.arg, self.argv = mode, arg, argv
        self.out = sys.stdout.buffer
        self.lock = threading.Lock()
        self.action_sent = threading.Event()
        self.first_request = threading.Event()

    def note(self, what):
        self.log.write(what + "\n")

    def emit(self, data):
        with self.lock:
            self.out.write(data)
            self.out.flush()

    def cut(self, why):
        """Drop the connection as a network failure would."""
        self.note("cut: " + why)
        pid = sshd_session_pid()
        self.note("killing sshd session %s" % pid)
        if pid:
            os.kill(pid, signal.SIGKILL)
        os._exit(0)

    def client_to_agent(self, agent_in):
        for line in sys.stdin.buffer:
            self.note("c> " + line[:200].decode("utf-8", "replace").rstrip("\n"))
            if line[:1] in (b"R", b"A", b"F"):
                self.first_request.set()
            if agent_in is not None:
                try:
                    agent_in.write(line)
                    agent_in.flush()
                except BrokenPipeError:
                    break
            if line.startswith(b"A\t"):
                self.action_sent.set()
        if agent_in is not None:
            try:
                agent_in.close()
            except BrokenPipeError:
                pass

    def run(self):
        if self.mode == "gate":
            with open(self.arg, "a") as g:
                self.note("waiting at the gate")
                fcntl.flock(g, fcntl.LOCK_SH)
                self.note("gate open")
        if self.mode in ("version", "silent"):
            if self.mode == "version":
                self.emit(b"H\tqtriage-agent\t3\t9.9.9\n")
            self.client_to_agent(None)
            return 0
        if self.mode == "motd":
            self.emit(b"Welcome to mx.example.net\nLast login: yesterday\n")
        agent = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        t = threading.Thread(target=self.client_to_agent, args=(agent.stdin,), daemon=True)
        t.start()
        n = 0
        for line in agent.stdout:
            n += 1
            self.note("a> " + line[:200].decode("utf-8", "replace").rstrip("\n"))
            if self.mode == "drop-load" and n > 1 + int(self.arg):
                self.cut("mid-load after %d lines" % (n - 1))
            if self.mode == "drop-action" and self.action_sent.is_set() and line.startswith(b"a\t"):
                self.cut("after the action, before its answer")
            self.emit(line)
            if n == 1 and self.mode in ("garbage", "oversized"):
                self.first_request.wait()
                if self.mode == "garbage":
                    self.emit(b"\x1b[2J\x1b]0;owned\x07Z\tnot\tthe\tprotocol\\q\n")
                else:
                    big = int(self.arg) << 20
                    self.emit(b"U\t" + b"A" * big + b"\n")
                self.note("sent the bad line")
                # Stay connected: the client, not the network, must end it.
                t.join()
                agent.kill()
                return 0
        t.join()
        return agent.wait()


def main():
    if len(sys.argv) < 4 or "--" not in sys.argv:
        sys.stderr.write(__doc__)
        return 2
    sep = sys.argv.index("--")
    logpath, mode = sys.argv[1], sys.argv[2]
    arg = sys.argv[3] if sep > 3 else None
    with open(logpath + ".pid", "a") as f:
        f.write("%d\n" % os.getpid())
    return Relay(logpath, mode, arg, sys.argv[sep + 1:]).run()


if __name__ == "__main__":
    sys.exit(main())
