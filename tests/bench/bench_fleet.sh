#!/bin/bash
# bench_fleet.sh - the fleet row: three hosts over loopback ssh against one local listing.
#
# Usage: tests/bench/bench_fleet.sh [--n 100000] [--hosts 3] [--qtriage PATH] [--reps 3]
#                                   [--workdir DIR] [--no-tui]
#
# Brings up HOSTS throwaway Postfix instances (tests/testbed/testbed.sh), fills each
# with N queue files (qgen, seeds 1..HOSTS), puts a real sshd on loopback in front of
# them (tests/testbed/sshbed.py: generated keys, `ssh -F`, nothing of the system's
# ssh used), then measures, REPS times each (median), wall time and CPU time
# (user+sys of qtriage and the ssh clients it waits for; the agents' CPU is on the
# "remote" side, under sshd, and is shown per host on the wire line):
#   local       qtriage list -c DIR/etc --json > /dev/null, on every host's instance;
#               the slowest host's median is the reference
#   fleet-json  qtriage list --hosts all --fleet F --ssh 'ssh -F ...' --json > /dev/null
#   fleet-tui   the TUI with --hosts all in tmux (200x50, QTRIAGE_BENCH_LOG):
#               first rows on screen and full load (once; skipped with --no-tui)
#   wire        per host, `ssh -o LogLevel=VERBOSE HOST qtriage agent -c DIR` driven
#               through one handshake and one full scan: protocol bytes per message
#               (the agent's standard output) and bytes on the wire per message
#               (ssh's own "Transferred: ... received N bytes", encrypted, no -C)
# and prints the load average before and after.  Targets (issue 13): fleet full load
# <= 1.3x the slowest host's local list --json; first rows < 0.5 s.
# Needs root.  Everything is torn down on exit, also on errors and ^C.
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

die() { echo "$PROG: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
    case $1 in
        --n) shift; n=${1:-} ;;
        --hosts) shift; nhosts=${1:-} ;;
        --qtriage) shift; qtriage=${1:-} ;;
        --reps) shift; reps=${1:-} ;;
        --workdir) shift; workparent=${1:-} ;;
        --no-tui) tui=no ;;
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
beds=()
tmux_sock=$WORK/tmux.sock
cleanup() {
    local d
    trap - EXIT INT TERM
    tmux -S "$tmux_sock" kill-server >/dev/null 2>&1
    [ -d "$WORK/ssh" ] && python3 "$SSHBED" down "$WORK/ssh" >/dev/null 2>&1
    for d in "${beds[@]}"; do
        "$TESTBED" down "$d" --purge >/dev/null 2>&1 || echo "$PROG: could not tear down $d" >&2
    done
    rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'echo "$PROG: interrupted" >&2; exit 130' INT TERM

avail_kb=$(df -Pk "$WORK" | awk 'NR==2 {print $4}')
[ "$avail_kb" -gt $(( n * nhosts * 9 + 1048576 )) ] || die "not enough disk in $WORK"

echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"${CC:-cc}" -O2 -o "$WORK/qgen" "$HERE/qgen.c" || die "cannot build qgen"
cp -- "$qtriage" "$WORK/qtriage" || die "cannot copy $qtriage"
qtriage=$WORK/qtriage

hostargs=()
for i in $(seq 1 "$nhosts"); do
    d=$WORK/mx$i
    beds+=("$d")
    "$TESTBED" up "$d" || die "testbed up $d failed"
    "$WORK/qgen" -c "$d/etc" -n "$n" --seed "$i" 2>"$WORK/qgen.log" \
        || { cat "$WORK/qgen.log" >&2; die "qgen failed"; }
    echo "# mx$i: $(cat "$WORK/qgen.log")"
    hostargs+=(--host "mx$i=$d/etc")
done
python3 "$SSHBED" up "$WORK/ssh" --qtriage "$qtriage" "${hostargs[@]}" >"$WORK/sshbed.env" \
    || die "sshbed up failed"
SSH_CMD=$(sed -n 's/^SSHBED_SSH=//p' "$WORK/sshbed.env")
FLEET=$(sed -n 's/^SSHBED_FLEET=//p' "$WORK/sshbed.env")
read -r -a ssh_argv <<<"$SSH_CMD"

RESULTS=$WORK/results
: >"$RESULTS"
usec() { local t=${EPOCHREALTIME/./}; echo $(( 10#$t )); }

# run_timed LABEL CMD...: appends "LABEL wall_s cpu_s" (cpu = user + sys)
run_timed() {
    local label=$1 t0 t1 u s; shift
    t0=$(usec)
    if ! /usr/bin/time -f '%U %S' -o "$WORK/time.out" "$@" >/dev/null 2>>"$WORK/stderr.log"; then
        echo "$PROG: $label failed: $*" >&2
        tail -n 5 "$WORK/stderr.log" >&2
        echo "$label FAIL FAIL" >>"$RESULTS"
        return 1
    fi
    t1=$(usec)
    read -r u s <"$WORK/time.out"
    echo "$label $(awk -v w=$(( t1 - t0 )) -v u="$u" -v s="$s" 'BEGIN { printf "%.3f %.2f", w / 1e6, u + s }')" >>"$RESULTS"
}

# untimed warm-up: page cache, sshd's first connection
for i in $(seq 1 "$nhosts"); do "$qtriage" list -c "$WORK/mx$i/etc" --json >/dev/null 2>&1; done
"$qtriage" list --hosts all --fleet "$FLEET" --ssh "$SSH_CMD" --json >/dev/null 2>>"$WORK/stderr.log"

for r in $(seq 1 "$reps"); do
    for i in $(seq 1 "$nhosts"); do
        run_timed "local-mx$i" "$qtriage" list -c "$WORK/mx$i/etc" --json
    done
    run_timed fleet-json "$qtriage" list --hosts all --fleet "$FLEET" --ssh "$SSH_CMD" --json
done

# the wire: one host's full scan through ssh, byte counts from both ends
for i in $(seq 1 "$nhosts"); do
    python3 - "$WORK/mx$i/etc" "$qtriage" "$n" "mx$i" "${ssh_argv[@]}" >>"$RESULTS" <<'EOF' \
        || echo "wire-mx$i FAIL FAIL FAIL FAIL" >>"$RESULTS"
import re, resource, subprocess, sys, time
etc, exe, n, host, ssh = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5:]
t0 = time.monotonic()
p = subprocess.Popen(ssh + ["-o", "LogLevel=VERBOSE", host, "%s agent -c %s" % (exe, etc)],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
hello = p.stdout.readline()
if not hello.startswith(b"H\t"):
    sys.exit("no handshake: %r" % hello[:200])
p.stdin.write(b"H\tqtriage-fleet\t1\t" + hello.rstrip(b"\n").split(b"\t")[-1] + b"\nR\n")
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
print("fleet row: %d hosts x %d messages over loopback ssh" % (nh, n))
print("%-36s %10s %12s" % ("what", "wall s", "CPU s (u+s)"))
local = {}
for i in range(1, nh + 1):
    w, c = med("local-mx%d" % i, 1), med("local-mx%d" % i, 2)
    local[i] = w
    print("%-36s %10s %12s" % ("list --json, local on mx%d" % i,
          "%.3f" % w if w is not None else "FAILED", "%.2f" % c if c is not None else "-"))
fw, fc = med("fleet-json", 1), med("fleet-json", 2)
print("%-36s %10s %12s" % ("list --hosts all --json (fleet)", "%.3f" % fw if fw else "FAILED",
                          "%.2f" % fc if fc is not None else "-"))
print("%-36s %10s %12s" % ("TUI --hosts all: first rows", "%.3f" % tfirst if tfirst else "n/a", "-"))
print("%-36s %10s %12s" % ("TUI --hosts all: full load", "%.3f" % tload if tload else "n/a", "-"))
for r in rows:
    if r[0].startswith("wire-") and r[1] != "FAIL":
        wall, msgs, payload, wire = float(r[1]), int(r[2]), int(r[3]), int(r[4])
        print("%-36s %10.3f %12s  %d msgs, %.0f B/msg protocol, %.0f B/msg on the wire"
              % ("agent scan over ssh, " + r[0][5:], wall, "-", msgs,
                 payload / max(msgs, 1), wire / max(msgs, 1)))
    elif r[0].startswith("wire-"):
        print("%-36s %10s" % ("agent scan over ssh, " + r[0][5:], "FAILED"))
valid = [w for w in local.values() if w is not None]
slow = max(valid) if valid else None
print()
print("targets: fleet full load / slowest local list --json: %s (target <= 1.3); TUI: %s"
      % ("%.2f" % (fw / slow) if fw and slow else "n/a",
         "%.2f" % (tload / slow) if tload and slow else "n/a"))
print("         first rows: %s s (target < 0.5)" % ("%.3f" % tfirst if tfirst else "n/a"))
EOF
