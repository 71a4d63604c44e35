#!/bin/bash
# bench_fleet.sh - the fleet row: hosts over loopback ssh against local listings.
#
# Usage: tests/bench/bench_fleet.sh [--n 100000] [--hosts 3] [--qtriage PATH] [--reps 3]
#                                   [--workdir DIR] [--queue-cache DIR] [--no-tui]
#
# One machine cannot give three hosts cores of their own, so the row compares
# like with like, interleaved, REPS times (median):
#   (a) one host:  qtriage list --hosts mx1 --json over ssh  against
#                  qtriage list -c ETC --json of the same queue, locally
#                  (the pure cost of ssh + protocol + client);
#   (b) all hosts: list --hosts all --json (HOSTS agents at once)  against
#                  HOSTS local list --json run at once (the same contention).
# Every host is the same Postfix instance of N qgen messages (kept in the
# queue cache, as bench.sh's, generated once): HOSTS agents read one queue as
# HOSTS local listings do.  Beside each wall time: CPU (user+sys) of the
# client side (qtriage and its ssh children) and of the agents (each agent
# runs under /usr/bin/time through the fleet's qtriage= program), and the
# load average.  sshd's own CPU is not counted (about 0.2 s per 100k).
# Then, once: the TUI with --hosts all in tmux (QTRIAGE_BENCH_LOG): first
# rows and full load; and per host the wire: protocol bytes per message
# and ssh's encrypted bytes ("Transferred: received N bytes").
# ssh: the test bed's ssh_config (sshbed.py): ed25519 keys, the default
# cipher (chacha20-poly1305), no compression, no ControlMaster; its sshd sets
# HOME to an empty directory so no shell rc file runs at login.
# Targets (issue 13): fleet full load <= 1.3x local; first rows < 0.5 s.
# Needs root.  Everything but the kept queue is torn down on exit.
set -u -o pipefail

PROG=${0##*/}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TESTBED=$ROOT/tests/testbed/testbed.sh
SSHBED=$ROOT/tests/testbed/sshbed.py

n=100000
nhosts=3
qtriage=$ROOT/build/src/qtriage
reps=3
workparent=${TMPDIR:-/var/tmp}
tui=yes
qcache=/var/tmp/qtriage-bench-queues

die() { echo "$PROG: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
    case $1 in
        --n) shift; n=${1:-} ;;
        --hosts) shift; nhosts=${1:-} ;;
        --qtriage) shift; qtriage=${1:-} ;;
        --reps) shift; reps=${1:-} ;;
        --workdir) shift; workparent=${1:-} ;;
        --no-tui) tui=no ;;
        --queue-cache) shift; qcache=${1:-} ;;
        -h|--help) sed -n '4,5p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
        *) die "unknown option $1" ;;
    esac
    shift
done
[[ $n =~ ^[1-9][0-9]*$ && $nhosts =~ ^[1-9]$ && $reps =~ ^[1-9]$ ]] || die "bad --n/--hosts/--reps"
[ "$(id -u)" = 0 ] || die "must run as root"
[ -x "$qtriage" ] || die "no qtriage at $qtriage (build it, or --qtriage PATH)"
[ -x /usr/sbin/sshd ] || die "no /usr/sbin/sshd (apt-get install openssh-server)"

mkdir -p "$workparent" || die "cannot create $workparent"
WORK=$(mktemp -d "$workparent/qtriage-bench-fleet.XXXXXX") || die "mktemp failed"
chmod 0755 "$WORK"
tmux_sock=$WORK/tmux.sock
cleanup() {
    local d
    trap - EXIT INT TERM
    tmux -S "$tmux_sock" kill-server >/dev/null 2>&1
    [ -d "$WORK/ssh" ] && python3 "$SSHBED" down "$WORK/ssh" >/dev/null 2>&1
    rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'echo "$PROG: interrupted" >&2; exit 130' INT TERM

echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"${CC:-cc}" -O2 -o "$WORK/qgen" "$HERE/qgen.c" || die "cannot build qgen"
cp -- "$qtriage" "$WORK/qtriage" || die "cannot copy $qtriage"
qtriage=$WORK/qtriage
# The agents run under /usr/bin/time: their CPU, one line per agent.
AGENTCPU=$WORK/agent-cpu.log
printf '#!/bin/sh\nexec /usr/bin/time -a -o %s -f "%%U %%S" %s "$@"\n' "$AGENTCPU" "$qtriage" \
    >"$WORK/qtriage-timed"
chmod 0755 "$WORK/qtriage-timed"

mkdir -p "$qcache" && chmod 0755 "$qcache" || die "cannot create $qcache"
D=$qcache/fleet-$n-s1
stamp="fleet n=$n seed=1 qgen=$(sha1sum <"$HERE/qgen.c" | cut -c1-12)"
if [ "$(cat "$D/bench.stamp" 2>/dev/null)" != "$stamp" ]; then
    [ -d "$D" ] && { "$TESTBED" down "$D" --purge >/dev/null 2>&1; rm -rf -- "$D"; }
    "$TESTBED" up "$D" || die "testbed up $D failed"
    "$WORK/qgen" -c "$D/etc" -n "$n" --seed 1 2>"$WORK/qgen.log" \
        || { cat "$WORK/qgen.log" >&2; die "qgen failed"; }
    echo "# $(cat "$WORK/qgen.log")"
    echo "$stamp" >"$D/bench.stamp"
else
    "$TESTBED" up "$D" >/dev/null || die "testbed up $D failed"
    echo "# reusing the queue in $D ($stamp)"
fi
hostargs=() names=()
for i in $(seq 1 "$nhosts"); do
    hostargs+=(--host "mx$i=$D/etc")
    names+=("mx$i")
done
python3 "$SSHBED" up "$WORK/ssh" --qtriage "$WORK/qtriage-timed" "${hostargs[@]}" \
    >"$WORK/sshbed.env" || die "sshbed up failed"
SSH_CMD=$(sed -n 's/^SSHBED_SSH=//p' "$WORK/sshbed.env")
FLEET=$(sed -n 's/^SSHBED_FLEET=//p' "$WORK/sshbed.env")
read -r -a ssh_argv <<<"$SSH_CMD"

RESULTS=$WORK/results
: >"$RESULTS"
usec() { local t=${EPOCHREALTIME/./}; echo $(( 10#$t )); }

# run_timed LABEL CMD...: appends "LABEL wall_s client_cpu_s agents_cpu_s load1"
run_timed() {
    local label=$1 t0 t1 u s a; shift
    : >"$AGENTCPU"
    t0=$(usec)
    if ! /usr/bin/time -f '%U %S' -o "$WORK/time.out" "$@" >/dev/null 2>>"$WORK/stderr.log"; then
        echo "$PROG: $label failed: $*" >&2
        tail -n 5 "$WORK/stderr.log" >&2
        echo "$label FAIL FAIL FAIL FAIL" >>"$RESULTS"
        return 1
    fi
    t1=$(usec)
    read -r u s <"$WORK/time.out"
    # the agents' lines come when they exit, just after ssh: wait for them
    for _ in $(seq 1 100); do
        [ "$(grep -c . "$AGENTCPU")" -ge "${expect_agents:-0}" ] && break
        sleep 0.1
    done
    a=$(awk '{ t += $1 + $2 } END { printf "%.2f", t }' "$AGENTCPU")
    echo "$label $(awk -v w=$(( t1 - t0 )) -v u="$u" -v s="$s" 'BEGIN { printf "%.3f %.2f", w / 1e6, u + s }') $a $(cut -d' ' -f1 /proc/loadavg)" >>"$RESULTS"
}

# HOSTS local listings at once: one wall time, their CPU summed
locals_at_once() {
    local i pids=()
    for i in $(seq 1 "$nhosts"); do
        /usr/bin/time -f '%U %S' -o "$WORK/time.$i" "$qtriage" list -c "$D/etc" --json >/dev/null &
        pids+=($!)
    done
    wait "${pids[@]}"
    awk '{ u += $1; s += $2 } END { printf "%.2f 0.00", u + s }' "$WORK"/time.[0-9]* >"$WORK/time.sum"
}

# untimed warm-up: page cache, sshd's first connection
"$qtriage" list -c "$D/etc" --json >/dev/null 2>&1
"$qtriage" list --hosts all --fleet "$FLEET" --ssh "$SSH_CMD" --json >/dev/null 2>>"$WORK/stderr.log"

for r in $(seq 1 "$reps"); do
    expect_agents=0 run_timed local-1 "$qtriage" list -c "$D/etc" --json
    expect_agents=1 run_timed fleet-1 "$qtriage" list --hosts mx1 --fleet "$FLEET" --ssh "$SSH_CMD" --json
    t0=$(usec); locals_at_once; t1=$(usec)
    echo "local-all $(awk -v w=$(( t1 - t0 )) 'BEGIN { printf "%.3f", w / 1e6 }') $(cut -d' ' -f1 "$WORK/time.sum") 0.00 $(cut -d' ' -f1 /proc/loadavg)" >>"$RESULTS"
    expect_agents=$nhosts run_timed fleet-all "$qtriage" list --hosts all --fleet "$FLEET" --ssh "$SSH_CMD" --json
done

# the wire: one host's full scan through ssh, byte counts from both ends
for i in 1; do
    python3 - "$D/etc" "$qtriage" "$n" "mx$i" "${ssh_argv[@]}" >>"$RESULTS" <<'EOF' \
        || echo "wire-mx$i FAIL FAIL FAIL FAIL" >>"$RESULTS"
import re, resource, subprocess, sys, time
etc, exe, n, host, ssh = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5:]
t0 = time.monotonic()
p = subprocess.Popen(ssh + ["-o", "LogLevel=VERBOSE", host, "%s agent -c %s" % (exe, etc)],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
hello = p.stdout.readline()
if not hello.startswith(b"H\t"):
    sys.exit("no handshake: %r" % hello[:200])
f = hello.rstrip(b"\n").split(b"\t")
p.stdin.write(b"H\tqtriage-fleet\t" + f[2] + b"\t" + f[3] + b"\nR\n")
p.stdin.flush()
payload, msgs = len(hello), 0
for line in p.stdout:
    payload += len(line)
    msgs += line.startswith(b"U\t")
    if line.startswith(b"D\t"):
        break
wall = time.monotonic() - t0
p.stdin.close()      # the end of input ends the agent, then ssh
p.stdout.read()
err = p.stderr.read().decode(errors="replace")
p.wait(timeout=120)
m = re.search(r"Transferred: sent ([\d,]+), received ([\d,]+) bytes", err)
wire = int(m.group(2).replace(",", "")) if m else 0
print("wire-%s %.3f %d %d %d" % (host, wall, msgs, payload, wire))
EOF
done

tuifirst= tuiload=
if [ "$tui" = yes ] && command -v tmux >/dev/null; then
    BLOG=$WORK/bench.log
    : >"$BLOG"
    tmux -S "$tmux_sock" new-session -d -s qtb -x 200 -y 50 \
        "exec env QTRIAGE_BENCH_LOG=$BLOG TERM=xterm-256color LANG=C.UTF-8 $qtriage --hosts all --fleet $FLEET --ssh '$SSH_CMD' --refresh 3600" \
        || die "cannot start tmux"
    t0=$(usec)
    while ! grep -q '^load_done ' "$BLOG" 2>/dev/null; do
        [ $(( $(usec) - t0 )) -lt $(( (120 + n * nhosts / 2000) * 1000000 )) ] || break
        tmux -S "$tmux_sock" has-session -t qtb 2>/dev/null || break
        sleep 0.05
    done
    tuifirst=$(awk '$1 == "first_rows" { print $2; exit }' "$BLOG")
    tuiload=$(awk '$1 == "load_done" { print $2; exit }' "$BLOG")
    tmux -S "$tmux_sock" send-keys -t qtb Escape q >/dev/null 2>&1
    tmux -S "$tmux_sock" kill-server >/dev/null 2>&1
fi

echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$RESULTS" "$n" "$nhosts" "${tuifirst:-}" "${tuiload:-}" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
n, nh = int(sys.argv[2]), int(sys.argv[3])
tfirst = float(sys.argv[4]) if sys.argv[4] else None
tload = float(sys.argv[5]) if sys.argv[5] else None
def med(label, k):
    v = [r[k] for r in rows if r[0] == label]
    if not v or "FAIL" in v:
        return None
    return statistics.median(float(x) for x in v)
def f(x, fmt="%.3f"):
    return fmt % x if x is not None else "-"
print("fleet row: %d messages a host over loopback ssh (every host the same queue)" % n)
print("%-44s %9s %10s %10s %6s" % ("what", "wall s", "client CPU", "agents CPU", "load"))
lines = [("local-1", "list --json, local"),
         ("fleet-1", "list --hosts mx1 --json (1 host)"),
         ("local-all", "%d x list --json at once, local" % nh),
         ("fleet-all", "list --hosts all --json (%d hosts)" % nh)]
for label, what in lines:
    print("%-44s %9s %10s %10s %6s" % (what, f(med(label, 1)), f(med(label, 2), "%.2f"),
                                        f(med(label, 3), "%.2f"), f(med(label, 4), "%.1f")))
print("%-44s %9s" % ("TUI --hosts all: first rows", f(tfirst)))
print("%-44s %9s" % ("TUI --hosts all: full load", f(tload)))
for r in rows:
    if r[0].startswith("wire-") and r[1] != "FAIL":
        wall, msgs, payload, wire = float(r[1]), int(r[2]), int(r[3]), int(r[4])
        print("%-44s %9.3f  %d msgs, %.0f B/msg protocol, %.0f B/msg on the wire"
              % ("agent scan over ssh, " + r[0][5:], wall, msgs,
                 payload / max(msgs, 1), wire / max(msgs, 1)))
def ratio(a, b):
    return "%.2f" % (a / b) if a and b else "n/a"
def cpu(label):
    c, a = med(label, 2), med(label, 3)
    return (c or 0) + (a or 0) if c is not None else None
print()
print("targets (<= 1.3): 1 host / local: wall %s, CPU %s;  %d hosts / %d local at once: wall %s, CPU %s"
      % (ratio(med("fleet-1", 1), med("local-1", 1)), ratio(cpu("fleet-1"), cpu("local-1")),
         nh, nh, ratio(med("fleet-all", 1), med("local-all", 1)),
         ratio(cpu("fleet-all"), cpu("local-all"))))
print("         TUI full load / %d local at once: %s;  first rows: %s s (target < 0.5)"
      % (nh, ratio(tload, med("local-all", 1)), f(tfirst)))
EOF
