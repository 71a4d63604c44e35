#!/bin/bash
# bench.sh - time qtriage's queue listing against `postqueue -j` on real queues.
#
# Usage: tests/bench/bench.sh [--sizes 10000,100000] [--with-1m] [--qtriage PATH]
#                             [--reps 3] [--seed 1] [--long-ids] [--workdir DIR]
#
# For each size N: bring up a fresh throwaway Postfix (tests/testbed/testbed.sh up),
# fill it with N generated queue files (tests/bench/qgen.c: ~90 % deferred with
# defer logs, ~10 % hold), run every command once untimed (warm page cache;
# nothing is dropped from the cache), then REPS times each (interleaved):
#   postqueue -c DIR/etc -j > /dev/null
#   floor4k DIR/spool > /dev/null        (open every queue file, read 4 KB: I/O floor)
#   floor4k DIR/spool ... defer          (the same plus every defer log, which
#                                         postqueue -j and qtriage also read)
#   qtriage list -c DIR/etc --json > /dev/null
#   qtriage list -c DIR/etc > /dev/null
# and print: N, tool, median wall seconds, max RSS (MB), ratio to postqueue -j.
# Wall time is taken with bash's EPOCHREALTIME around `/usr/bin/time -f '%e %M'`
# (microsecond resolution; the %e of time(1) has only 10 ms); RSS is time(1)'s %M.
# Note: postqueue's own RSS is tiny: the listing is done by the instance's showq
# daemon, whose peak RSS (VmHWM) is printed on a separate line.
#
# Every test bed is torn down (testbed.sh down --purge) on exit, also on errors
# and ^C.  Only instances under the work directory are used, always with -c:
# the system's default Postfix instance is never touched (testbed.sh adds and
# removes the test bed in alternate_config_directories of /etc/postfix/main.cf).
#
# 1,000,000 messages only with --with-1m (needs ~8 GB of disk in the work dir).
# Needs root (queue files are written as the mail owner, postsuper/spool reads).
#
# On ext4 without a journal (as on the CI VM), creating files right after many
# files were deleted is slow for ~30 s (the allocator skips recently freed
# inodes), so qgen's rate varies; test beds are therefore purged only at the end.
set -u -o pipefail

PROG=${0##*/}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TESTBED=$ROOT/tests/testbed/testbed.sh

sizes=10000,100000
with1m=no
qtriage=$ROOT/build/src/qtriage
reps=3
seed=1
longids=
workparent=${TMPDIR:-/var/tmp}

die() { echo "$PROG: $*" >&2; exit 1; }
usage() { sed -n '4,5p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

while [ $# -gt 0 ]; do
    case $1 in
        --sizes) shift; sizes=${1:-} ;;
        --sizes=*) sizes=${1#--sizes=} ;;
        --with-1m) with1m=yes ;;
        --qtriage) shift; qtriage=${1:-} ;;
        --qtriage=*) qtriage=${1#--qtriage=} ;;
        --reps) shift; reps=${1:-} ;;
        --reps=*) reps=${1#--reps=} ;;
        --seed) shift; seed=${1:-} ;;
        --seed=*) seed=${1#--seed=} ;;
        --long-ids) longids=--long-ids ;;
        --workdir) shift; workparent=${1:-} ;;
        --workdir=*) workparent=${1#--workdir=} ;;
        -h|--help) usage ;;
        *) echo "$PROG: unknown option: $1" >&2; usage ;;
    esac
    shift
done

[[ $reps =~ ^[1-9][0-9]*$ ]] || die "--reps wants a positive number"
[[ $seed =~ ^[0-9]+$ ]] || die "--seed wants a number"
[[ $sizes =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--sizes wants N[,N...]"
IFS=, read -r -a size_list <<<"$sizes"
[ "$with1m" = yes ] && size_list+=(1000000)
for n in "${size_list[@]}"; do
    [ "$n" -ge 1 ] || die "sizes must be >= 1"
    if [ "$n" -ge 1000000 ] && [ "$with1m" != yes ]; then
        die "sizes of 1,000,000 and more only with --with-1m"
    fi
done

[ "$(id -u)" = 0 ] || die "must run as root"
[ -x "$TESTBED" ] || die "missing $TESTBED"
qtriage=$(realpath -e -- "$qtriage" 2>/dev/null) || die "no qtriage binary (build it, or --qtriage PATH)"
[ -x "$qtriage" ] || die "$qtriage is not executable"
command -v postqueue >/dev/null || die "postqueue not found (install postfix)"
if [ ! -x /usr/bin/time ]; then
    echo "$PROG: installing the Debian package 'time' for /usr/bin/time" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y time >/dev/null 2>&1 \
        || die "cannot install /usr/bin/time (apt-get install time)"
fi
CC=${CC:-cc}
command -v "$CC" >/dev/null || die "no C compiler ($CC)"

mkdir -p "$workparent" || die "cannot create $workparent"
WORK=$(mktemp -d "$workparent/qtriage-bench.XXXXXX") || die "mktemp failed"
chmod 0755 "$WORK"        # the postfix user must traverse it to its queue

beds=()
cleanup() {
    local d
    trap - EXIT INT TERM
    for d in "${beds[@]}"; do
        "$TESTBED" down "$d" --purge >/dev/null 2>&1 \
            || echo "$PROG: could not tear down $d" >&2
    done
    rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'echo "$PROG: interrupted" >&2; exit 130' INT TERM

# disk space: ~8.5 KB per message (queue file + defer log, 4 KB blocks)
need_kb=0
for n in "${size_list[@]}"; do need_kb=$(( need_kb + n * 9 )); done
avail_kb=$(df -Pk "$WORK" | awk 'NR==2 {print $4}')
[ "$avail_kb" -gt $(( need_kb + 1048576 )) ] \
    || die "not enough disk in $WORK: need ~$(( need_kb / 1048576 + 1 )) GB, have $(( avail_kb / 1048576 )) GB"

"$CC" -O2 -o "$WORK/qgen" "$HERE/qgen.c" || die "cannot build qgen"
# measure one build: snapshot the binary (the tree may be rebuilt meanwhile)
qtriage_src=$qtriage
cp -- "$qtriage" "$WORK/qtriage" || die "cannot copy $qtriage"
qtriage=$WORK/qtriage
"$CC" -O2 -o "$WORK/floor4k" "$HERE/floor4k.c" || die "cannot build floor4k"

usec() { local t=${EPOCHREALTIME/./}; echo $(( 10#$t )); }

# run LABEL CMD... : one timed run, appends "label wall_us rss_kb user sys" to RESULTS
run_timed() {
    local label=$1; shift
    local tf=$WORK/time.out t0 t1 rc
    t0=$(usec)
    /usr/bin/time -f '%e %M %U %S' -o "$tf" "$@" >/dev/null 2>>"$WORK/stderr.log"
    rc=$?
    t1=$(usec)
    if [ $rc != 0 ]; then
        echo "$PROG: $label failed (exit $rc): $*" >&2
        tail -n 5 "$WORK/stderr.log" >&2
        echo "$label FAIL 0 0 0" >>"$RESULTS"
        return 1
    fi
    local e m u s
    read -r e m u s <"$tf"
    echo "$label $(( t1 - t0 )) $m $u $s" >>"$RESULTS"
}

showq_hwm_kb() {  # DIR: peak VmHWM of this instance's showq processes
    local dir=$1 mpid p best=0 h
    mpid=$(tr -dc '0-9' <"$dir/spool/pid/master.pid" 2>/dev/null) || { echo 0; return; }
    for p in $(pgrep -P "$mpid" -x showq 2>/dev/null); do
        h=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null)
        [ -n "$h" ] && [ "$h" -gt "$best" ] && best=$h
    done
    echo "$best"
}

RESULTS=$WORK/results.txt
: >"$RESULTS"
SUMMARY=$WORK/summary.txt
: >"$SUMMARY"

echo "# qtriage benchmark $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "# host: $(uname -sr), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GB RAM", $2/1048576}' /proc/meminfo)," \
     "postfix $(postconf -d -h mail_version 2>/dev/null)"
echo "# qtriage: $qtriage_src ($("$qtriage" --version 2>/dev/null | head -n 1)," \
     "built $(date -u -r "$qtriage_src" '+%Y-%m-%d %H:%M UTC'), sha1 $(sha1sum <"$qtriage" | cut -c1-12))"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# reps: $reps (median wall time, max RSS over the reps), warm cache, seed $seed${longids:+, long queue IDs}"

for n in "${size_list[@]}"; do
    dir=$WORK/tb-$n
    beds+=("$dir")
    "$TESTBED" up "$dir" $longids || die "testbed up $dir failed"
    # paranoia: qgen must only ever write below our work directory
    qd=$(postconf -c "$dir/etc" -h queue_directory) || die "postconf failed"
    [ "$qd" = "$dir/spool" ] || die "unexpected queue_directory $qd"

    "$WORK/qgen" -c "$dir/etc" -n "$n" --seed "$seed" 2>"$WORK/qgen.log" \
        || { cat "$WORK/qgen.log" >&2; die "qgen failed"; }
    echo "# N=$n: $(cat "$WORK/qgen.log")"

    # warm-up (untimed), with sanity checks of what each tool saw
    got=$(postqueue -c "$dir/etc" -j | wc -l)
    [ "$got" = "$n" ] || die "postqueue -j lists $got messages, expected $n"
    read -r fl _ < <("$WORK/floor4k" "$dir/spool")
    [ "$fl" = "$n" ] || die "floor4k read $fl files, expected $n"
    "$WORK/floor4k" "$dir/spool" incoming active deferred hold maildrop defer >/dev/null
    got=$("$qtriage" list -c "$dir/etc" --json | wc -l)
    [ "$got" = "$n" ] || echo "$PROG: warning: qtriage list --json printed $got lines for $n messages" >&2
    "$qtriage" list -c "$dir/etc" >/dev/null || echo "$PROG: warning: qtriage list failed" >&2

    for r in $(seq 1 "$reps"); do
        run_timed "$n postqueue-j" postqueue -c "$dir/etc" -j
        run_timed "$n floor4k" "$WORK/floor4k" "$dir/spool"
        run_timed "$n floor4k-defer" "$WORK/floor4k" "$dir/spool" \
            incoming active deferred hold maildrop defer
        run_timed "$n qtriage-json" "$qtriage" list -c "$dir/etc" --json
        run_timed "$n qtriage-text" "$qtriage" list -c "$dir/etc"
    done
    echo "$n showq $(showq_hwm_kb "$dir")" >>"$SUMMARY"
    # stop this instance (purged at exit, see the note on ext4 above)
    "$TESTBED" down "$dir" >/dev/null 2>&1 || true
done

echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
python3 - "$RESULTS" "$SUMMARY" <<'EOF'
import sys, statistics
res, summ = sys.argv[1], sys.argv[2]
data = {}
order = []
for line in open(res):
    n, tool, wall, rss, u, s = line.split()
    key = (int(n), tool)
    if key not in data:
        data[key] = []
        order.append(key)
    data[key].append(None if wall == "FAIL" else (int(wall) / 1e6, int(rss), float(u) + float(s)))
showq = {}
for line in open(summ):
    n, what, kb = line.split()
    showq[int(n)] = int(kb)
names = {"postqueue-j": "postqueue -j", "floor4k": "floor (open+read 4 KB, C)",
         "floor4k-defer": "floor + defer logs",
         "qtriage-json": "qtriage list --json", "qtriage-text": "qtriage list (text)"}
print("%9s  %-27s %10s %11s %9s %8s" % ("N", "tool", "median s", "max RSS MB", "vs -j", "CPU s"))
print("-" * 80)
base = {}
for (n, tool) in order:
    runs = data[(n, tool)]
    if any(r is None for r in runs):
        print("%9d  %-27s %10s" % (n, names[tool], "FAILED"))
        continue
    med = statistics.median(r[0] for r in runs)
    rss = max(r[1] for r in runs) / 1024.0
    cpu = statistics.median(r[2] for r in runs)
    if tool == "postqueue-j":
        base[n] = med
    ratio = "%.2fx" % (med / base[n]) if base.get(n) else "-"
    print("%9d  %-27s %10.3f %11.1f %9s %8.2f" % (n, names[tool], med, rss, ratio, cpu))
    if tool == "postqueue-j" and showq.get(n):
        print("%9s  %-27s %10s %11.1f %9s %8s" % ("", "  (showq daemon, peak RSS)", "", showq[n] / 1024.0, "", ""))
print()
rss_by = {}
for (n, tool) in order:
    if tool.startswith("qtriage") and all(r is not None for r in data[(n, tool)]):
        kb = max(r[1] for r in data[(n, tool)])
        rss_by.setdefault(tool, []).append((n, kb))
for tool, pts in rss_by.items():
    line = "; ".join("N=%d: %.0f B/msg" % (n, kb * 1024.0 / n) for n, kb in pts)
    if len(pts) >= 2:
        (n1, k1), (n2, k2) = pts[0], pts[-1]
        if n2 != n1:
            line += "; marginal %d->%d: %.0f B/msg" % (n1, n2, (k2 - k1) * 1024.0 / (n2 - n1))
    print("qtriage RSS per message (%s): %s" % (names[tool], line))
EOF
