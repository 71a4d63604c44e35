#!/bin/bash
# bench.sh - time qtriage's queue listing against `postqueue -j` on real queues.
#
# Usage: tests/bench/bench.sh [--sizes 10000,100000] [--with-1m] [--qtriage PATH]
#                             [--reps 3] [--seed 1] [--long-ids] [--workdir DIR]
#                             [--no-cold] [--cold-max N] [--no-tui] [--no-bulk]
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
# then, once each (cache dropped before every run: echo 3 > /proc/sys/vm/drop_caches,
# skipped with a note when that is not permitted, or with --no-cold; only for
# N <= --cold-max, default 100000: at 1M each cold run reads ~9 GB from disk):
#   floor + defer logs, postqueue -j, qtriage list --json and the TUI's full load;
# then the interactive view itself, in a tmux pane (200x50) with QTRIAGE_BENCH_LOG:
#   first rows on screen, full load, peak RSS (VmHWM) and RSS after the load,
#   rescans forced with R: of the unchanged queue (REPS times), and after 1 % of
#   the queue changed (0.5 % deleted with postsuper -d, 0.5 % new from qgen),
#   a regex filter over every loaded message (f, subject~/v[i1]agra|casino/i, Enter:
#   the view's rebuild time as the TUI logs it);
# then, with the instance's master stopped, a bulk hold of 10 % of the queue:
#   `qtriage hold -` and bare `postsuper -c DIR/etc -h -` on the same IDs, released
#   (postsuper -H, untimed) after each, REPS times each in alternating order;
# and print: N, tool, median wall seconds, max RSS (MB), ratio to postqueue -j,
# then the targets as ratios from this one run.
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
cold=yes
coldmax=100000
tui=yes
bulk=yes
fleet=no

die() { echo "$PROG: $*" >&2; exit 1; }
usage() { sed -n '4,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

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
        --no-cold) cold=no ;;
        --cold-max) shift; coldmax=${1:-} ;;
        --cold-max=*) coldmax=${1#--cold-max=} ;;
        --no-tui) tui=no ;;
        --no-bulk) bulk=no ;;
        --fleet) fleet=yes ;;   # then the fleet row: tests/bench/bench_fleet.sh
        --workdir) shift; workparent=${1:-} ;;
        --workdir=*) workparent=${1#--workdir=} ;;
        -h|--help) usage ;;
        *) echo "$PROG: unknown option: $1" >&2; usage ;;
    esac
    shift
done

[[ $reps =~ ^[1-9][0-9]*$ ]] || die "--reps wants a positive number"
[[ $seed =~ ^[0-9]+$ ]] || die "--seed wants a number"
[[ $coldmax =~ ^[0-9]+$ ]] || die "--cold-max wants a number"
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
if [ "$tui" = yes ] && ! command -v tmux >/dev/null; then
    echo "$PROG: installing the Debian package 'tmux' for the TUI timings" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y tmux >/dev/null 2>&1 \
        || die "cannot install tmux (apt-get install tmux, or --no-tui)"
fi
if [ "$cold" = yes ]; then
    sync
    if ! echo 3 2>/dev/null >/proc/sys/vm/drop_caches; then
        echo "$PROG: cannot drop the page cache (not permitted here): no cold-cache figures" >&2
        cold=no
    fi
fi
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
    [ -n "${tmux_sock:-}" ] && tmux -S "$tmux_sock" kill-server >/dev/null 2>&1
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

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# record N LABEL SECONDS [RSS_KB]: one measured figure that is not a command's
# wall time (TUI milestones), in the same format as run_timed's
record() {
    local us
    [ -n "$3" ] || { echo "$1 $2 FAIL 0 0 0" >>"$RESULTS"; return; }
    us=$(awk -v s="$3" 'BEGIN { printf "%d", s * 1e6 }')
    echo "$1 $2 $us ${4:-0} 0 0" >>"$RESULTS"
}

# ---- the interactive view in tmux ----
tmux_sock=$WORK/tmux.sock
BLOG=$WORK/bench.log

# bench_wait NAME COUNT TIMEOUT: wait until BLOG has COUNT lines starting with NAME
bench_wait() {
    local name=$1 want=$2 limit=$3 t0
    t0=$(usec)
    while [ "$(grep -c "^$name " "$BLOG" 2>/dev/null)" -lt "$want" ]; do
        if [ $(( $(usec) - t0 )) -gt $(( limit * 1000000 )) ]; then
            echo "$PROG: no '$name' milestone #$want in the TUI's bench log after ${limit}s" >&2
            return 1
        fi
        if ! tmux -S "$tmux_sock" has-session -t qtb 2>/dev/null; then
            echo "$PROG: the TUI exited early" >&2
            return 1
        fi
        sleep 0.05
    done
}

# bench_field NAME NTH FIELD: a field of the NTH line starting with NAME
bench_field() {
    awk -v n="$1" -v k="$2" -v f="$3" '$1 == n && ++c == k { print $f; exit }' "$BLOG"
}

tui_start() {   # DIR
    : >"$BLOG"
    tmux -S "$tmux_sock" kill-server >/dev/null 2>&1
    tmux -S "$tmux_sock" new-session -d -s qtb -x 200 -y 50 \
        "exec env QTRIAGE_BENCH_LOG=$BLOG TERM=xterm-256color LANG=C.UTF-8 $qtriage -c $1/etc --refresh 3600" \
        || die "cannot start tmux"
    tui_pid=$(tmux -S "$tmux_sock" display-message -p -t qtb '#{pane_pid}')
}

tui_quit() {
    local i
    tmux -S "$tmux_sock" send-keys -t qtb Escape q >/dev/null 2>&1
    for i in $(seq 1 100); do
        tmux -S "$tmux_sock" has-session -t qtb 2>/dev/null || break
        sleep 0.1
    done
    tmux -S "$tmux_sock" kill-server >/dev/null 2>&1
}

proc_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null; }

# tui_load N DIR LABEL: start the TUI, record first rows and full load, quit
tui_load() {
    local n=$1 dir=$2 label=$3 limit=$(( 120 + $1 / 2000 ))
    tui_start "$dir"
    bench_wait load_done 1 "$limit" || { tui_quit; return 1; }
    record "$n" "$label-first" "$(bench_field first_rows 1 2)"
    record "$n" "$label-load" "$(bench_field load_done 1 2)" "$(proc_kb "$tui_pid" VmHWM)"
    tui_quit
    return 0
}

# tui_session N DIR: one session: load, rescans, 1 % change, filter, memory
tui_session() {
    local n=$1 dir=$2 limit=$(( 120 + $1 / 2000 )) r k nchg
    tui_start "$dir"
    bench_wait load_done 1 "$limit" || { tui_quit; return 1; }
    record "$n" tui-first "$(bench_field first_rows 1 2)"
    record "$n" tui-load "$(bench_field load_done 1 2)" "$(proc_kb "$tui_pid" VmHWM)"
    sleep 1
    echo "$n tui-rss-after-load $(proc_kb "$tui_pid" VmRSS)" >>"$SUMMARY"
    k=0
    for r in $(seq 1 "$reps"); do
        k=$(( k + 1 ))
        tmux -S "$tmux_sock" send-keys -t qtb R
        bench_wait rescan_done "$k" "$limit" || { tui_quit; return 1; }
        record "$n" tui-rescan "$(awk "BEGIN { print $(bench_field rescan_done "$k" 4) / 1000 }")"
        echo "$n rescan-changes $(bench_field rescan_done "$k" 5)" >>"$SUMMARY"
    done
    # 1 % of the queue changes: 0.5 % deleted, 0.5 % new messages
    nchg=$(( n / 200 > 0 ? n / 200 : 1 ))
    postqueue -c "$dir/etc" -j 2>/dev/null | python3 -c '
import sys, json
n = int(sys.argv[1])
ids = [json.loads(l)["queue_id"] for l in sys.stdin]
step = max(1, len(ids) // n)
print("\n".join(ids[::step][:n]))' "$nchg" >"$WORK/del.ids"
    postsuper -c "$dir/etc" -d - <"$WORK/del.ids" >/dev/null 2>&1
    "$WORK/qgen" -c "$dir/etc" -n "$nchg" --seed $(( seed + 1 )) 2>>"$WORK/qgen.log" \
        || echo "$PROG: qgen (1 % new) failed" >&2
    k=$(( k + 1 ))
    tmux -S "$tmux_sock" send-keys -t qtb R
    bench_wait rescan_done "$k" "$limit" || { tui_quit; return 1; }
    record "$n" tui-rescan-1pct "$(awk "BEGIN { print $(bench_field rescan_done "$k" 4) / 1000 }")"
    echo "$n rescan-1pct-changes $(bench_field rescan_done "$k" 5)" >>"$SUMMARY"
    # a regex over every loaded message: the rebuild after Enter
    k=$(grep -c '^filter_applied ' "$BLOG")
    tmux -S "$tmux_sock" send-keys -t qtb f
    sleep 0.5
    tmux -S "$tmux_sock" send-keys -t qtb -l 'subject~/v[i1]agra|casino/i'
    sleep 1
    k=$(grep -c '^filter_applied ' "$BLOG")
    tmux -S "$tmux_sock" send-keys -t qtb Enter
    bench_wait filter_applied $(( k + 1 )) 60 || { tui_quit; return 1; }
    record "$n" tui-filter "$(awk "BEGIN { print $(bench_field filter_applied $(( k + 1 )) 4) / 1000 }")"
    echo "$n filter-rows $(bench_field filter_applied $(( k + 1 )) 5)" >>"$SUMMARY"
    echo "$n tui-hwm $(proc_kb "$tui_pid" VmHWM)" >>"$SUMMARY"
    echo "$n tui-msgs $(bench_field load_done 1 3)" >>"$SUMMARY"
    tui_quit
    return 0
}

# bulk_hold N DIR: qtriage hold - against postsuper -h - on the same 10 %
bulk_hold() {
    local n=$1 dir=$2 r
    postqueue -c "$dir/etc" -j 2>/dev/null | python3 -c '
import sys, json
ids = [m["queue_id"] for m in map(json.loads, sys.stdin) if m["queue_name"] == "deferred"]
print("\n".join(ids[::10]))' >"$WORK/hold.ids"
    echo "$n bulk-ids $(wc -l <"$WORK/hold.ids")" >>"$SUMMARY"
    for r in $(seq 1 "$reps"); do
        if [ $(( r % 2 )) = 1 ]; then
            run_timed "$n hold-qtriage" "$qtriage" -c "$dir/etc" hold - <"$WORK/hold.ids"
            postsuper -c "$dir/etc" -H - <"$WORK/hold.ids" >/dev/null 2>&1
            run_timed "$n hold-postsuper" postsuper -c "$dir/etc" -h - <"$WORK/hold.ids"
            postsuper -c "$dir/etc" -H - <"$WORK/hold.ids" >/dev/null 2>&1
        else
            run_timed "$n hold-postsuper" postsuper -c "$dir/etc" -h - <"$WORK/hold.ids"
            postsuper -c "$dir/etc" -H - <"$WORK/hold.ids" >/dev/null 2>&1
            run_timed "$n hold-qtriage" "$qtriage" -c "$dir/etc" hold - <"$WORK/hold.ids"
            postsuper -c "$dir/etc" -H - <"$WORK/hold.ids" >/dev/null 2>&1
        fi
    done
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
    if [ "$cold" = yes ] && [ "$n" -gt "$coldmax" ]; then
        echo "# N=$n: no cold-cache runs (N > --cold-max $coldmax)"
    elif [ "$cold" = yes ]; then
        drop_caches
        run_timed "$n cold-floor4k-defer" "$WORK/floor4k" "$dir/spool" \
            incoming active deferred hold maildrop defer
        drop_caches
        run_timed "$n cold-postqueue-j" postqueue -c "$dir/etc" -j
        drop_caches
        run_timed "$n cold-qtriage-json" "$qtriage" list -c "$dir/etc" --json
        if [ "$tui" = yes ]; then
            drop_caches
            tui_load "$n" "$dir" cold-tui
        fi
        # warm again for what follows
        "$WORK/floor4k" "$dir/spool" incoming active deferred hold maildrop defer >/dev/null
        "$qtriage" list -c "$dir/etc" --json >/dev/null
    fi
    if [ "$tui" = yes ]; then
        for r in $(seq 2 "$reps"); do tui_load "$n" "$dir" tui; done
        tui_session "$n" "$dir" || echo "$PROG: TUI session failed" >&2
    fi
    # stop this instance (purged at exit, see the note on ext4 above)
    "$TESTBED" down "$dir" >/dev/null 2>&1 || true
    [ "$bulk" = yes ] && bulk_hold "$n" "$dir"
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
extra = {}
for line in open(summ):
    n, what, val = line.split()
    if what == "showq":
        showq[int(n)] = int(val)
    else:
        extra[(int(n), what)] = int(val)
names = {"postqueue-j": "postqueue -j", "floor4k": "floor (open+read 4 KB, C)",
         "floor4k-defer": "floor + defer logs",
         "qtriage-json": "qtriage list --json", "qtriage-text": "qtriage list (text)",
         "cold-floor4k-defer": "COLD floor + defer logs", "cold-postqueue-j": "COLD postqueue -j",
         "cold-qtriage-json": "COLD qtriage list --json",
         "cold-tui-first": "COLD TUI first rows", "cold-tui-load": "COLD TUI full load",
         "tui-first": "TUI first rows", "tui-load": "TUI full load",
         "tui-rescan": "TUI rescan, unchanged", "tui-rescan-1pct": "TUI rescan, 1 % changed",
         "tui-filter": "TUI regex filter (rebuild)",
         "hold-qtriage": "qtriage hold - (10 %)", "hold-postsuper": "postsuper -h - (10 %)"}
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
    ratio = "%.2fx" % (med / base[n]) if base.get(n) and tool in (
        "postqueue-j", "floor4k", "floor4k-defer", "qtriage-json", "qtriage-text", "tui-load",
        "tui-first") else "-"
    print("%9d  %-27s %10.3f %11.1f %9s %8.2f" % (n, names[tool], med, rss, ratio, cpu))
    if tool == "postqueue-j" and showq.get(n):
        print("%9s  %-27s %10s %11.1f %9s %8s" % ("", "  (showq daemon, peak RSS)", "", showq[n] / 1024.0, "", ""))
print()
rss_by = {}
for (n, tool) in order:
    if tool in ("qtriage-json", "qtriage-text") and all(r is not None for r in data[(n, tool)]):
        kb = max(r[1] for r in data[(n, tool)])
        rss_by.setdefault(tool, []).append((n, kb))
for tool, pts in rss_by.items():
    line = "; ".join("N=%d: %.0f B/msg" % (n, kb * 1024.0 / n) for n, kb in pts)
    if len(pts) >= 2:
        (n1, k1), (n2, k2) = pts[0], pts[-1]
        if n2 != n1:
            line += "; marginal %d->%d: %.0f B/msg" % (n1, n2, (k2 - k1) * 1024.0 / (n2 - n1))
    print("qtriage RSS per message (%s): %s" % (names[tool], line))

def med(n, tool):
    runs = data.get((n, tool))
    if not runs or any(r is None for r in runs):
        return None
    return statistics.median(r[0] for r in runs)

def ratio(a, b):
    return "%.2f" % (a / b) if a is not None and b else "n/a"

print()
print("Targets (ratios from this run):")
for n in sorted(set(k[0] for k in order)):
    fl, pq, load = med(n, "floor4k-defer"), med(n, "postqueue-j"), med(n, "tui-load")
    js = med(n, "qtriage-json")
    print("N=%d:" % n)
    print("  first rows on screen:            %s s (target < 0.2)" % (
        "%.3f" % med(n, "tui-first") if med(n, "tui-first") is not None else "n/a"))
    print("  TUI full load / floor+defer:     %s (target <= 1.2); list --json: %s" % (
        ratio(load, fl), ratio(js, fl)))
    print("  postqueue -j / TUI full load:    %s (target >= 6); / list --json: %s" % (
        ratio(pq, load), ratio(pq, js)))
    cf, cl, cj, cp = (med(n, t) for t in ("cold-floor4k-defer", "cold-tui-load",
                                            "cold-qtriage-json", "cold-postqueue-j"))
    if cf is not None:
        print("  cold: TUI load / floor+defer:    %s; list --json: %s; postqueue -j / TUI load: %s"
              % (ratio(cl, cf), ratio(cj, cf), ratio(cp, cl)))
    rs, r1 = med(n, "tui-rescan"), med(n, "tui-rescan-1pct")
    print("  rescan unchanged / full load:    %s (target <= 0.10; %s changes); 1 %% changed: %s"
          " (%s changes)" % (ratio(rs, load), extra.get((n, "rescan-changes"), "?"),
                             ratio(r1, load), extra.get((n, "rescan-1pct-changes"), "?")))
    fi = med(n, "tui-filter")
    print("  regex filter over all messages:  %s ms (target < 150), %s rows match" % (
        "%.0f" % (fi * 1000) if fi is not None else "n/a", extra.get((n, "filter-rows"), "?")))
    msgs = extra.get((n, "tui-msgs"))
    if msgs and extra.get((n, "tui-hwm")):
        print("  TUI RSS per message:             peak %.0f B, after load %.0f B (target <= ~250)"
              % (extra[(n, "tui-hwm")] * 1024.0 / msgs,
                 extra.get((n, "tui-rss-after-load"), 0) * 1024.0 / msgs))
    hq, hp = med(n, "hold-qtriage"), med(n, "hold-postsuper")
    print("  qtriage hold / postsuper -h:     %s (target <= 1.05; %s IDs)" % (
        ratio(hq, hp), extra.get((n, "bulk-ids"), "?")))
EOF

# The fleet row (3 hosts x 100k over loopback ssh) is its own script.
if [ "$fleet" = yes ]; then
    "$HERE/bench_fleet.sh" --qtriage "$qtriage_src" --reps "$reps" --workdir "$workparent"
fi
