#!/bin/bash
# bench.sh - time qtriage's queue listing against `postqueue -j` on real queues.
#
# Usage: tests/bench/bench.sh [--sizes 10000,100000] [--with-1m] [--qtriage PATH]
#                             [--reps 3] [--seed 1] [--long-ids] [--workdir DIR]
#                             [--no-cold] [--cold-max N] [--no-tui] [--no-bulk]
#                             [--lto] [--queue-cache DIR|--no-queue-cache] [--idle-secs S]
#
# All rows at 100k and 1M from one command:  bench.sh --sizes 100000 --with-1m
#
# qtriage is built for the run as a release build (build-bench/: meson
# --buildtype=release -Doptimization=2 -Db_ndebug=if-release, with --lto also
# -Db_lto=true), unless --qtriage names a binary; the header says which.
# Every row prints the median wall time, the median CPU time (user+sys of the
# process and its children) and the median 1-minute load average at its
# runs: on a shared machine wall time measures the scheduler, CPU time the
# program.  Generated queues are kept in --queue-cache (default
# /var/tmp/qtriage-bench-queues) and reused when N, seed, ID style and
# qgen's source match (1M messages take minutes to generate); rows that
# delete mail put the same number of generated messages back.
#
# For each size N: bring up a fresh throwaway Postfix (tests/testbed/testbed.sh up
# --frozen: without its queue manager, so that the queue holds still: a kept
# queue's retry times pass, and a live qmgr then deferred and bounced thousands
# of its messages a minute under the benchmark),
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
#   filters over every loaded message (f, ^U, the query, Enter: the view's rebuild
#   time as the TUI logs it): the regex subject~/v[i1]agra|casino/i, the bare word
#   v1agra, the bare regex /v[i1]agra|casino/i and the bare regex /^[0-9A-F]+7$/,
#   which has no literal to look for first (bare ones search ID, sender,
#   recipients and subject);
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
lto=no
qcache=/var/tmp/qtriage-bench-queues
idle_secs=20
built=

die() { echo "$PROG: $*" >&2; exit 1; }
usage() { sed -n '4,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

while [ $# -gt 0 ]; do
    case $1 in
        --sizes) shift; sizes=${1:-} ;;
        --sizes=*) sizes=${1#--sizes=} ;;
        --with-1m) with1m=yes ;;
        --qtriage) shift; qtriage=${1:-}; built=given ;;
        --qtriage=*) qtriage=${1#--qtriage=}; built=given ;;
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
        --lto) lto=yes ;;
        --queue-cache) shift; qcache=${1:-} ;;
        --queue-cache=*) qcache=${1#--queue-cache=} ;;
        --no-queue-cache) qcache= ;;
        --idle-secs) shift; idle_secs=${1:-} ;;
        --idle-secs=*) idle_secs=${1#--idle-secs=} ;;
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
[[ $idle_secs =~ ^[1-9][0-9]*$ ]] || die "--idle-secs wants a positive number"
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
# The build measured: release, -O2, assertions off; LTO on request (it did
# not pay on this code: see the README's performance section).
if [ "$built" != given ]; then
    bdir=$ROOT/build-bench
    bopts=(--buildtype=release -Doptimization=2 -Db_ndebug=if-release -Db_lto=$([ "$lto" = yes ] && echo true || echo false))
    if [ -f "$bdir/build.ninja" ]; then
        meson configure "$bdir" "${bopts[@]}" >/dev/null || die "cannot configure $bdir"
    else
        meson setup "$bdir" "${bopts[@]}" >/dev/null || die "cannot configure $bdir"
    fi
    ninja -C "$bdir" src/qtriage >/dev/null || die "cannot build qtriage in $bdir"
    qtriage=$bdir/src/qtriage
    built="release -O2 b_ndebug=if-release lto=$lto ($bdir)"
else
    built="as given (--qtriage), build type unknown"
fi
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
kept_beds=()
cleanup() {
    local d
    trap - EXIT INT TERM
    for d in "${beds[@]}"; do
        "$TESTBED" down "$d" --purge >/dev/null 2>&1 \
            || echo "$PROG: could not tear down $d" >&2
    done
    for d in "${kept_beds[@]}"; do
        "$TESTBED" down "$d" >/dev/null 2>&1 \
            || echo "$PROG: could not stop $d" >&2
    done
    [ -n "${tmux_sock:-}" ] && tmux -S "$tmux_sock" kill-server >/dev/null 2>&1
    # the raw figures outlive a run that failed late
    if [ -n "$qcache" ] && [ -s "${RESULTS:-}" ]; then
        cp -- "$RESULTS" "$qcache/last-results.txt" 2>/dev/null
        cp -- "$SUMMARY" "$qcache/last-summary.txt" 2>/dev/null
    fi
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

# now_us: microseconds since the epoch, in $now_us (no subshell)
now_us() { now_us=${EPOCHREALTIME/./}; now_us=$(( 10#$now_us )); }

loadavg1() { cut -d' ' -f1 /proc/loadavg; }

# run LABEL CMD... : one timed run, appends "label wall_us rss_kb user sys load" to RESULTS
run_timed() {
    local label=$1; shift
    local tf=$WORK/time.out t0 t1 rc ld
    ld=$(loadavg1)
    now_us; t0=$now_us
    /usr/bin/time -f '%e %M %U %S' -o "$tf" "$@" >/dev/null 2>>"$WORK/stderr.log"
    rc=$?
    now_us; t1=$now_us
    if [ $rc != 0 ]; then
        echo "$PROG: $label failed (exit $rc): $*" >&2
        tail -n 5 "$WORK/stderr.log" >&2
        echo "$label FAIL 0 0 0 $ld" >>"$RESULTS"
        return 1
    fi
    local e m u s
    read -r e m u s <"$tf"
    echo "$label $(( t1 - t0 )) $m $u $s $ld" >>"$RESULTS"
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

# record N LABEL SECONDS [RSS_KB [CPU_SECONDS]]: one measured figure that is
# not a command's wall time (TUI milestones), in the same format as run_timed's
record() {
    local us
    [ -n "$3" ] || { echo "$1 $2 FAIL 0 0 0 $(loadavg1)" >>"$RESULTS"; return; }
    us=$(awk -v s="$3" 'BEGIN { printf "%d", s * 1e6 }')
    echo "$1 $2 $us ${4:-0} ${5:-0} 0 $(loadavg1)" >>"$RESULTS"
}

# CPU seconds (user+sys, with reaped children) a process has used so far
proc_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13 + $14 + $15) / hz }' \
        "/proc/$1/stat" 2>/dev/null
}

# ---- the interactive view in tmux ----
tmux_sock=$WORK/tmux.sock
BLOG=$WORK/bench.log

# Waiting for the TUI must not take CPU from it.  A loop of grep, tmux
# has-session and sleep every 50 ms started 60 processes a second, and on
# this kind of VM each one costs about 10 ms of CPU (exec, page faults): a
# third of a core taken from the view it timed (at 100k the full load read
# 2.55-3.35 s polled that way, 2.10-2.23 s polled with builtins, back to
# back).  So the waits below start no process: bash reads the log itself,
# `kill -0` asks whether the TUI lives, and nap sleeps in `read -t` on a
# FIFO nothing ever writes to.
nap_fifo=$WORK/nap.fifo
mkfifo "$nap_fifo" || die "mkfifo $nap_fifo failed"
exec {nap_fd}<>"$nap_fifo"
nap() { read -rt "$1" -u "$nap_fd" || :; }

# bench_count NAME: how many lines of BLOG start with NAME, in $bench_n
bench_count() {
    local line
    bench_n=0
    while IFS= read -r line; do
        [[ $line == "$1 "* ]] && bench_n=$(( bench_n + 1 ))
    done <"$BLOG"
}

# bench_wait NAME COUNT TIMEOUT: wait until BLOG has COUNT lines starting with NAME
bench_wait() {
    local name=$1 want=$2 limit=$3 t0
    now_us; t0=$now_us
    while bench_count "$name"; [ "$bench_n" -lt "$want" ]; do
        now_us
        if [ $(( now_us - t0 )) -gt $(( limit * 1000000 )) ]; then
            echo "$PROG: no '$name' milestone #$want in the TUI's bench log after ${limit}s" >&2
            return 1
        fi
        if ! kill -0 "$tui_pid" 2>/dev/null; then
            echo "$PROG: the TUI exited early" >&2
            return 1
        fi
        nap 0.05
    done
}

# bench_field NAME NTH FIELD: a field of the NTH line starting with NAME
bench_field() {
    awk -v n="$1" -v k="$2" -v f="$3" '$1 == n && ++c == k { print $f; exit }' "$BLOG"
}

tui_start() {   # DIR [REFRESH_ARGS]: REFRESH_ARGS default "--refresh 3600"
    local refresh=${2---refresh 3600}
    : >"$BLOG"
    tmux -S "$tmux_sock" kill-server >/dev/null 2>&1
    tmux -S "$tmux_sock" new-session -d -s qtb -x 200 -y 50 \
        "exec env QTRIAGE_BENCH_LOG=$BLOG TERM=xterm-256color LANG=C.UTF-8 $qtriage -c $1/etc $refresh" \
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
    record "$n" "$label-load" "$(bench_field load_done 1 2)" "$(proc_kb "$tui_pid" VmHWM)" \
        "$(proc_cpu "$tui_pid")"
    tui_quit
    return 0
}

# tui_filter N LIMIT KEY ROWSKEY QUERY: in the running TUI, replace the filter
# with QUERY (f, ^U, the text, Enter) and record the view's rebuild as the
# TUI logs it: wall ms, matching rows, CPU us of both threads
tui_filter() {
    local n=$1 limit=$2 key=$3 rowskey=$4 query=$5 k c
    tmux -S "$tmux_sock" send-keys -t qtb f
    sleep 0.5
    tmux -S "$tmux_sock" send-keys -t qtb C-u
    tmux -S "$tmux_sock" send-keys -t qtb -l "$query"
    sleep 1
    k=$(grep -c '^filter_applied ' "$BLOG")
    tmux -S "$tmux_sock" send-keys -t qtb Enter
    bench_wait filter_applied $(( k + 1 )) "$limit" || { tui_quit; return 1; }
    c=$(bench_field filter_applied $(( k + 1 )) 6)
    record "$n" "$key" "$(awk "BEGIN { print $(bench_field filter_applied $(( k + 1 )) 4) / 1000 }")" 0 \
        "$(awk -v c="${c:-0}" 'BEGIN { print c / 1e6 }')"
    echo "$n $rowskey $(bench_field filter_applied $(( k + 1 )) 5)" >>"$SUMMARY"
}

# tui_session N DIR: one session: load, rescans, 1 % change, filters, memory
tui_session() {
    local n=$1 dir=$2 limit=$(( 120 + $1 / 2000 )) r k nchg c
    tui_start "$dir"
    bench_wait load_done 1 "$limit" || { tui_quit; return 1; }
    record "$n" tui-first "$(bench_field first_rows 1 2)"
    record "$n" tui-load "$(bench_field load_done 1 2)" "$(proc_kb "$tui_pid" VmHWM)" \
        "$(proc_cpu "$tui_pid")"
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
    # filters over every loaded message: the rebuild after Enter
    tui_filter "$n" "$limit" tui-filter filter-rows 'subject~/v[i1]agra|casino/i' || return 1
    tui_filter "$n" "$limit" tui-filter-word filter-word-rows 'v1agra' || return 1
    tui_filter "$n" "$limit" tui-filter-bare-regex filter-bare-regex-rows '/v[i1]agra|casino/i' \
        || return 1
    tui_filter "$n" "$limit" tui-filter-no-literal filter-no-literal-rows '/^[0-9A-F]+7$/' \
        || return 1
    echo "$n tui-hwm $(proc_kb "$tui_pid" VmHWM)" >>"$SUMMARY"
    echo "$n tui-msgs $(bench_field load_done 1 3)" >>"$SUMMARY"
    tui_quit
    return 0
}

# screen_has TEXT TIMEOUT: wait until the TUI's screen shows TEXT
screen_has() {
    local text=$1 limit=$2 t0
    now_us; t0=$now_us
    until [[ $(tmux -S "$tmux_sock" capture-pane -p -t qtb 2>/dev/null) == *"$text"* ]]; do
        now_us
        [ $(( now_us - t0 )) -gt $(( limit * 1000000 )) ] && return 1
        kill -0 "$tui_pid" 2>/dev/null || return 1
        nap 0.02
    done
}

# tui_idle N DIR: the TUI with its default refresh on an unchanging queue:
# CPU used over --idle-secs once loaded (the window is the measurement, not
# a wait for a state), then the statistics pane: from the key to its table
# on screen (polled every 20 ms)
tui_idle() {
    local n=$1 dir=$2 limit=$(( 120 + $1 / 2000 )) c0 c1 t0 t1
    tui_start "$dir" ""
    bench_wait load_done 1 "$limit" || { tui_quit; return 1; }
    # The queue watch is set up once the first scan is over, and the scan
    # it asks for (everything that changed before it existed) is part of
    # the load, not of the idle cost: at 100k it once fell in the window
    # (2.19 % against 0.09 % the run before).
    bench_wait watch_settled 1 "$limit" || echo "$PROG: the queue watch never settled" >&2
    sleep 2     # let the load's last redraws pass before the window opens
    c0=$(proc_cpu "$tui_pid"); now_us; t0=$now_us
    sleep "$idle_secs"
    c1=$(proc_cpu "$tui_pid"); now_us; t1=$now_us
    echo "$n tui-idle-pct-x100 $(awk -v a="$c0" -v b="$c1" -v t=$(( t1 - t0 )) \
        'BEGIN { printf "%d", (b - a) / (t / 1e6) * 10000 }')" >>"$SUMMARY"
    now_us; t0=$now_us; c0=$(proc_cpu "$tui_pid")
    tmux -S "$tmux_sock" send-keys -t qtb s
    if screen_has MESSAGES 60; then
        now_us; t1=$now_us; c1=$(proc_cpu "$tui_pid")
        record "$n" tui-stats-open "$(awk -v u=$(( t1 - t0 )) 'BEGIN { print u / 1e6 }')" 0 \
            "$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')"
    else
        record "$n" tui-stats-open ""
    fi
    tui_quit
    return 0
}

hold_ids() { find "$1/spool/hold" -type f -printf '%f\n' 2>/dev/null; }

# refill N DIR K: put K generated held messages back (rows that delete mail),
# written to disk before anything deletes them: deleting files whose pages
# were never written back frees no blocks on disk, and at 1M that made the
# CLI rows, which ran right after a refill, 3x as fast as the TUI's, which
# loads the queue first (6.7 s against 21-22 s for the same 100k files,
# whichever program deleted them)
refill() {
    "$WORK/qgen" -c "$2/etc" -n "$3" --seed $(( seed + 7 )) --hold-percent 100 \
        2>>"$WORK/qgen.log" || echo "$PROG: qgen (refill) failed" >&2
    sync
}

# tui_delete N DIR: the TUI deletes every held message (filter queue=hold,
# tag all, d, confirm): from the confirmation to the last file gone; CPU of
# the TUI and the postsuper it ran
tui_delete() {
    local n=$1 dir=$2 limit=$(( 120 + $1 / 2000 )) k a0 t0 t1 c0 c1
    k=$(hold_ids "$dir" | wc -l)
    tui_start "$dir"
    bench_wait load_done 1 "$limit" || { tui_quit; return 1; }
    k0=$(grep -c '^filter_applied ' "$BLOG")
    # keys are read in order: each takes effect before the next
    tmux -S "$tmux_sock" send-keys -t qtb f
    tmux -S "$tmux_sock" send-keys -t qtb -l 'queue=hold'
    tmux -S "$tmux_sock" send-keys -t qtb Enter
    bench_wait filter_applied $(( k0 + 1 )) 60 || { tui_quit; return 1; }
    tmux -S "$tmux_sock" send-keys -t qtb T d
    screen_has '[y/N]' 30 || { echo "$PROG: no confirmation for the TUI delete" >&2; tui_quit; return 1; }
    a0=$(grep -c '^action_done ' "$BLOG")
    c0=$(proc_cpu "$tui_pid"); now_us; t0=$now_us
    tmux -S "$tmux_sock" send-keys -t qtb y Enter
    # Wait on the TUI's own milestone, not on the hold directory: listing
    # a directory postsuper is emptying, 50 times a second, contends for
    # its lock and took postsuper 2.5 times the CPU it takes from the CLI.
    bench_wait action_done $(( a0 + 1 )) "$limit" || { tui_quit; return 1; }
    now_us; t1=$now_us; c1=$(proc_cpu "$tui_pid")
    if [ "$(hold_ids "$dir" | head -n 1)" != "" ]; then
        echo "$PROG: the TUI delete left held mail" >&2; tui_quit; return 1
    fi
    record "$n" delete-tui "$(awk -v u=$(( t1 - t0 )) 'BEGIN { print u / 1e6 }')" 0 \
        "$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')"
    echo "$n delete-ids $k" >>"$SUMMARY"
    tui_quit
    refill "$n" "$dir" "$k"
    return 0
}

# bulk_delete N DIR: the held messages deleted by the TUI, by `qtriage delete -`
# and by bare `postsuper -d -` (refilled after each), REPS times in turn
bulk_delete() {
    local n=$1 dir=$2 r k
    sync    # the held messages on disk, as after each refill
    for r in $(seq 1 "$reps"); do
        [ "$tui" = yes ] && { tui_delete "$n" "$dir" || echo "$PROG: TUI delete failed" >&2; }
        hold_ids "$dir" >"$WORK/del-hold.ids"; k=$(wc -l <"$WORK/del-hold.ids")
        run_timed "$n delete-qtriage" "$qtriage" -c "$dir/etc" delete - <"$WORK/del-hold.ids"
        refill "$n" "$dir" "$k"
        hold_ids "$dir" >"$WORK/del-hold.ids"; k=$(wc -l <"$WORK/del-hold.ids")
        run_timed "$n delete-postsuper" postsuper -c "$dir/etc" -d - <"$WORK/del-hold.ids"
        refill "$n" "$dir" "$k"
    done
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
echo "# build: $built"
echo "# qtriage: $qtriage_src ($("$qtriage" --version 2>/dev/null | head -n 1)," \
     "built $(date -u -r "$qtriage_src" '+%Y-%m-%d %H:%M UTC'), sha1 $(sha1sum <"$qtriage" | cut -c1-12))"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# reps: $reps (median wall time, max RSS over the reps), warm cache, seed $seed${longids:+, long queue IDs}"

# the cache key: qgen's output format (QGEN_FORMAT), not its source, so a
# faster qgen reuses the queues an older one wrote
qgen_sum=$(sed -n 's/^#define QGEN_FORMAT "\(.*\)"$/\1/p' "$HERE/qgen.c")
[ -n "$qgen_sum" ] || die "no QGEN_FORMAT in $HERE/qgen.c"
for n in "${size_list[@]}"; do
    stamp="n=$n seed=$seed ids=${longids:-short} qgen=$qgen_sum"
    if [ -n "$qcache" ]; then
        mkdir -p "$qcache" && chmod 0755 "$qcache" || die "cannot create $qcache"
        dir=$qcache/tb-$n-s$seed${longids:+-long}
        kept_beds+=("$dir")
    else
        dir=$WORK/tb-$n
        beds+=("$dir")
    fi
    reuse=no
    if [ -n "$qcache" ] && [ "$(cat "$dir/bench.stamp" 2>/dev/null)" = "$stamp" ]; then
        "$TESTBED" up "$dir" --frozen $longids >/dev/null || die "testbed up $dir failed"
        read -r got _ < <("$WORK/floor4k" "$dir/spool")
        if [ "$got" = "$n" ]; then
            reuse=yes
        else
            echo "# N=$n: the kept queue holds $got messages: generated anew"
        fi
    fi
    if [ "$reuse" = no ]; then
        [ -d "$dir" ] && { "$TESTBED" down "$dir" --purge >/dev/null 2>&1; rm -rf -- "$dir"; }
        "$TESTBED" up "$dir" --frozen $longids || die "testbed up $dir failed"
    fi
    # paranoia: qgen must only ever write below our work directory
    qd=$(postconf -c "$dir/etc" -h queue_directory) || die "postconf failed"
    [ "$qd" = "$dir/spool" ] || die "unexpected queue_directory $qd"

    if [ "$reuse" = yes ]; then
        echo "# N=$n: reusing the queue in $dir ($stamp)"
    else
        rm -f "$dir/bench.stamp"
        "$WORK/qgen" -c "$dir/etc" -n "$n" --seed "$seed" 2>"$WORK/qgen.log" \
            || { cat "$WORK/qgen.log" >&2; die "qgen failed"; }
        echo "# N=$n: $(cat "$WORK/qgen.log")"
        [ -n "$qcache" ] && echo "$stamp" >"$dir/bench.stamp"
    fi
    echo "# N=$n: load average $(cut -d' ' -f1-3 /proc/loadavg)"

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
        tui_idle "$n" "$dir" || echo "$PROG: TUI idle/statistics run failed" >&2
    fi
    # stop this instance (purged at exit, see the note on ext4 above)
    "$TESTBED" down "$dir" >/dev/null 2>&1 || true
    if [ "$bulk" = yes ]; then
        bulk_hold "$n" "$dir"
        bulk_delete "$n" "$dir"
    fi
done

echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
python3 - "$RESULTS" "$SUMMARY" <<'EOF'
import sys, statistics
res, summ = sys.argv[1], sys.argv[2]
data = {}
order = []
for line in open(res):
    f = line.split()
    n, tool, wall, rss, u, s = f[:6]
    load = float(f[6]) if len(f) > 6 else 0.0
    key = (int(n), tool)
    if key not in data:
        data[key] = []
        order.append(key)
    data[key].append(None if wall == "FAIL" else
                     (int(wall) / 1e6, int(rss), float(u) + float(s), load))
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
         "tui-filter": "TUI regex filter (rebuild)", "tui-filter-word": "TUI bare word filter",
         "tui-filter-bare-regex": "TUI bare regex filter",
         "tui-filter-no-literal": "TUI bare regex, no literal", "tui-stats-open": "TUI stats pane open",
         "hold-qtriage": "qtriage hold - (10 %)", "hold-postsuper": "postsuper -h - (10 %)",
         "delete-tui": "TUI delete (hold queue)", "delete-qtriage": "qtriage delete - (hold)",
         "delete-postsuper": "postsuper -d - (hold)"}


def runs(n, tool):
    r = data.get((n, tool))
    return r if r and all(x is not None for x in r) else None


def med(n, tool, k=0):
    r = runs(n, tool)
    return statistics.median(x[k] for x in r) if r else None


def ratio(a, b):
    return "%.2f" % (a / b) if a is not None and b else "n/a"


print("%9s  %-27s %9s %8s %6s %8s %8s %5s" % ("N", "tool", "wall s", "CPU s", "load",
                                              "RSS MB", "wall/-j", "reps"))
print("-" * 88)
for (n, tool) in order:
    r = runs(n, tool)
    if not r:
        print("%9d  %-27s %9s" % (n, names.get(tool, tool), "FAILED"))
        continue
    pq = med(n, "postqueue-j")
    rel = ratio(med(n, tool), pq) + "x" if pq and tool in (
        "postqueue-j", "floor4k", "floor4k-defer", "qtriage-json", "qtriage-text",
        "tui-load") else "-"
    print("%9d  %-27s %9.3f %8.2f %6.1f %8.1f %8s %5d" % (
        n, names.get(tool, tool), med(n, tool), med(n, tool, 2), med(n, tool, 3),
        max(x[1] for x in r) / 1024.0, rel, len(r)))
    if tool == "postqueue-j" and showq.get(n):
        print("%9s  %-27s %9s %8s %6s %8.1f" % ("", "  (showq daemon, peak RSS)", "", "", "",
                                               showq[n] / 1024.0))
print()
for tool in ("qtriage-json", "qtriage-text"):
    pts = [(n, max(x[1] for x in runs(n, tool))) for (n, t) in order if t == tool and runs(n, t)]
    if pts:
        print("qtriage RSS per message (%s): %s" % (names[tool], "; ".join(
            "N=%d: %.0f B/msg" % (n, kb * 1024.0 / n) for n, kb in pts)))

print()
print("Targets (ratios from this run; CPU = user+sys of the process and its children):")
for n in sorted(set(k[0] for k in order)):
    fl, flc = med(n, "floor4k-defer"), med(n, "floor4k-defer", 2)
    pq = med(n, "postqueue-j")
    js, jsc = med(n, "qtriage-json"), med(n, "qtriage-json", 2)
    load, loadc = med(n, "tui-load"), med(n, "tui-load", 2)
    print("N=%d:" % n)
    print("  list --json CPU / floor CPU:      %s (target <= 1.5)" % ratio(jsc, flc))
    print("  list --json wall / floor wall:    %s (target <= 0.8)" % ratio(js, fl))
    print("  postqueue -j / list --json wall:  %s (target >= 4)" % ratio(pq, js))
    print("  TUI full load / list --json:      wall %s, CPU %s (target <= 1.2)" % (
        ratio(load, js), ratio(loadc, jsc)))
    ft = med(n, "tui-first")
    print("  first rows on screen:             %s s (target < 0.2)" % (
        "%.3f" % ft if ft is not None else "n/a"))
    cf, cj, cl, cp = (med(n, t) for t in ("cold-floor4k-defer", "cold-qtriage-json",
                                            "cold-tui-load", "cold-postqueue-j"))
    if cf is not None:
        print("  cold list --json / cold floor:    wall %s (target <= 0.7), CPU %s;"
              " TUI load / floor: %s; postqueue -j / floor: %s" % (
                  ratio(cj, cf), ratio(med(n, "cold-qtriage-json", 2),
                                       med(n, "cold-floor4k-defer", 2)),
                  ratio(cl, cf), ratio(cp, cf)))
    msgs = extra.get((n, "tui-msgs"))
    if msgs and extra.get((n, "tui-hwm")):
        print("  TUI RSS per message:              peak %.0f B, after load %.0f B (target <= 400)"
              % (extra[(n, "tui-hwm")] * 1024.0 / msgs,
                 extra.get((n, "tui-rss-after-load"), 0) * 1024.0 / msgs))
    for key, rows, label in (("tui-filter", "filter-rows", "regex subject~/.../i"),
                             ("tui-filter-word", "filter-word-rows", "bare word"),
                             ("tui-filter-bare-regex", "filter-bare-regex-rows", "bare regex"),
                             ("tui-filter-no-literal", "filter-no-literal-rows",
                              "bare regex, no literal")):
        fi = med(n, key)
        print("  %-34s%s ms (target <= 150), %s rows match" % (
            label + " over all messages:", "%.0f" % (fi * 1000) if fi is not None else "n/a",
            extra.get((n, rows), "?")))
    idle = extra.get((n, "tui-idle-pct-x100"))
    print("  TUI idle CPU, unchanged queue:    %s %% of a core (target <= 1)" % (
        "%.2f" % (idle / 100.0) if idle is not None else "n/a"))
    so = med(n, "tui-stats-open")
    print("  statistics pane open:             %s s (target <= 0.2 at 100k, <= 1 at 1M)" % (
        "%.3f" % so if so is not None else "n/a"))
    rs, r1 = med(n, "tui-rescan"), med(n, "tui-rescan-1pct")
    print("  rescan unchanged / full load:     %s (%s changes); 1 %% changed: %s (%s changes)" % (
        ratio(rs, load), extra.get((n, "rescan-changes"), "?"), ratio(r1, load),
        extra.get((n, "rescan-1pct-changes"), "?")))
    dt, dq, dp = (med(n, t) for t in ("delete-tui", "delete-qtriage", "delete-postsuper"))
    dtc, dqc, dpc = (med(n, t, 2) for t in ("delete-tui", "delete-qtriage", "delete-postsuper"))
    print("  delete, TUI / CLI:                wall %s, CPU %s (target <= 1.1; %s IDs)" % (
        ratio(dt, dq), ratio(dtc, dqc), extra.get((n, "delete-ids"), "?")))
    print("  delete, CLI / bare postsuper:     wall %s, CPU %s (target <= 1.05)" % (
        ratio(dq, dp), ratio(dqc, dpc)))
    hq, hp = med(n, "hold-qtriage"), med(n, "hold-postsuper")
    print("  hold, CLI / bare postsuper:       wall %s, CPU %s (target <= 1.05; %s IDs)" % (
        ratio(hq, hp), ratio(med(n, "hold-qtriage", 2), med(n, "hold-postsuper", 2)),
        extra.get((n, "bulk-ids"), "?")))
EOF

# The fleet row (3 hosts x 100k over loopback ssh) is its own script.
if [ "$fleet" = yes ]; then
    "$HERE/bench_fleet.sh" --qtriage "$qtriage_src" --reps "$reps" --workdir "$workparent" \
        ${qcache:+--queue-cache "$qcache"}
fi
