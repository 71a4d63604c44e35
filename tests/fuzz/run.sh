#!/bin/sh
# Run a libFuzzer harness of tests/fuzz for a while.
#
#   tests/fuzz/run.sh TARGET SECONDS [LIBFUZZER_OPTION...]
#   tests/fuzz/run.sh all SECONDS [LIBFUZZER_OPTION...]     every target in turn
#
# TARGET: queue_file defer_log postqueue_json filter render.
# Builds build-fuzz/ (clang, ASan+UBSan, -Dfuzz=true) when it is missing or
# stale.  The corpus grows in $QTRIAGE_FUZZ_WORK/TARGET/corpus (default
# ${TMPDIR:-/tmp}/qtriage-fuzz), seeded from the real Postfix output in
# tests/data (copied: nothing is ever written there) and tests/fuzz/seeds;
# crashes, leaks and timeouts land in .../TARGET/artifacts.  Prints the
# executions per target and every artifact of this run; exits 1 when there
# was one.
#
# Environment: QTRIAGE_FUZZ_BUILD (build dir), QTRIAGE_FUZZ_WORK (work dir),
# QTRIAGE_FUZZ_SECONDS (overrides SECONDS), QTRIAGE_FUZZ_NO_BUILD=1 (do not
# run ninja: the harnesses are already built, as under `meson test`),
# QTRIAGE_FUZZ_FRESH=1 (start from the seeds in a temporary corpus that is
# removed afterwards; artifacts still go to .../TARGET/artifacts).
#
# `meson test -C build-fuzz --suite fuzz` runs every target this way for 30 s
# (tests/fuzz/meson.build); scripts/test.sh does that in CI.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${QTRIAGE_FUZZ_BUILD:-$root/build-fuzz}
work=${QTRIAGE_FUZZ_WORK:-${TMPDIR:-/tmp}/qtriage-fuzz}
targets="queue_file defer_log postqueue_json filter render config"

usage() {
    echo "usage: $0 TARGET|all SECONDS [LIBFUZZER_OPTION...]" >&2
    echo "targets: $targets" >&2
    exit 2
}

[ $# -ge 2 ] || usage
target=$1
seconds=${QTRIAGE_FUZZ_SECONDS:-$2}
shift 2
case $seconds in '' | *[!0-9]*) usage ;; esac
if [ "$target" != all ]; then
    case " $targets " in *" $target "*) ;; *) usage ;; esac
fi

build_targets() {
    [ "${QTRIAGE_FUZZ_NO_BUILD:-0}" = 1 ] && return 0
    if [ ! -f "$build/build.ninja" ]; then
        command -v clang >/dev/null || {
            echo "clang is missing: apt-get install clang libclang-rt-14-dev" >&2
            exit 1
        }
        CC=clang meson setup "$build" "$root" -Dfuzz=true \
            -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
    fi
    set --
    for t in $targets; do
        set -- "$@" "tests/fuzz/fuzz_$t"
    done
    ninja -C "$build" "$@" >/dev/null
}

# Copy the seeds of target $1 into directory $2 (existing files are kept).
seed() {
    seed_t=$1 seed_dir=$2
    case $seed_t in
    queue_file | render)
        cp -n "$root"/tests/data/*.qf "$seed_dir"/ ;;
    defer_log)
        cp -n "$root"/tests/data/*.defer "$seed_dir"/ ;;
    postqueue_json)
        # One seed per line: the harness takes one line of postqueue -j.
        for f in "$root"/tests/data/*.json; do
            case $f in */MANIFEST.json) continue ;; esac
            n=0
            while IFS= read -r line || [ -n "$line" ]; do
                n=$((n + 1))
                [ -f "$seed_dir/$(basename "$f" .json)-$n" ] ||
                    printf '%s\n' "$line" >"$seed_dir/$(basename "$f" .json)-$n"
            done <"$f"
        done ;;
    esac
    # queue_file wraps its input as message content too, like render.
    for seed_s in $seed_t $([ "$seed_t" = queue_file ] && echo render); do
        if [ -d "$here/seeds/$seed_s" ]; then
            cp -n "$here/seeds/$seed_s"/* "$seed_dir"/
        fi
    done
    chmod -R u+w "$seed_dir"    # tests/data is read-only; the corpus is not
}

run_one() {
    t=$1
    shift
    dir=$work/$t
    corpus=$dir/corpus
    mkdir -p "$dir/artifacts"
    if [ "${QTRIAGE_FUZZ_FRESH:-0}" = 1 ]; then
        [ -n "$fresh" ] && rm -rf "$fresh"
        fresh=$(mktemp -d "${TMPDIR:-/tmp}/qtriage-fuzz-$t.XXXXXX")
        corpus=$fresh
    fi
    mkdir -p "$corpus"
    seed "$t" "$corpus"
    before=$(ls "$dir/artifacts" | wc -l)
    dict=
    [ -f "$here/dict/$t.dict" ] && dict=-dict=$here/dict/$t.dict
    echo "== fuzz_$t: $seconds s, corpus $corpus ($(ls "$corpus" | wc -l) inputs)"
    # Leaks are bugs too; UBSan stops at the first report (see meson.build).
    # ASan's default 256 MB quarantine hands every input fresh pages (page
    # faults, zeroing): 16 MB still holds everything one input frees, and
    # doubled the render harness's rate.
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0:quarantine_size_mb=16} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$dir/artifacts/" ${dict:+"$dict"} "$@" \
        "$corpus" >"$dir/log" 2>&1 || true
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n 1)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$dir/log" | tail -n 1)
    echo "   executions: ${runs:-?} in ${secs:-?} s, corpus now $(ls "$corpus" | wc -l) inputs, log $dir/log"
    after=$(ls "$dir/artifacts" | wc -l)
    # A run that ends early (a crash, a leak, a timeout) does not say "Done".
    if [ "$after" -gt "$before" ] || ! grep -q '^Done [0-9]* runs' "$dir/log"; then
        echo "   PROBLEM: see $dir/log"
        grep -E 'ERROR: |SUMMARY: |runtime error:|fuzz check failed|Test unit written' "$dir/log" |
            sed 's/^/   /' | head -n 20
        ls -t "$dir/artifacts" | head -n $((after - before)) | sed "s|^|   artifact: $dir/artifacts/|"
        return 1
    fi
    return 0
}

fresh=
trap '[ -z "$fresh" ] || rm -rf "$fresh"' EXIT
build_targets
status=0
if [ "$target" = all ]; then
    for t in $targets; do
        run_one "$t" "$@" || status=1
    done
else
    run_one "$target" "$@" || status=1
fi
exit $status
