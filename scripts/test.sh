#!/bin/bash
# Install what is missing, build, and run the whole test suite:
#   - unit tests (cmocka), scripted TUI tests and doc checks, in build/;
#   - the same again under AddressSanitizer + UBSan, in build-asan/, with
#     the integration tests against a real, isolated Postfix instance and
#     the end-to-end TUI tests in tmux, which drive the sanitizer build of
#     qtriage (suites integration and tui run in this stage only);
#   - the live scanner test under ThreadSanitizer, in build-tsan/;
#   - the unit tests under valgrind (memcheck, definite leaks are errors),
#     in build/;
#   - each libFuzzer harness for 30 s (QTRIAGE_FUZZ_SECONDS), in build-fuzz/
#     (clang, ASan + UBSan); a crash fails it and its input stays in
#     build-fuzz/fuzz-ci/TARGET/artifacts/;
#   - the Debian package (tests/pkg/test_package.sh).
# Prints how long each stage took, then ends with a line "N passed, N
# failed" that counts every test of every stage.  Needs root (the
# integration tests run their own Postfix instances and act on them with
# postsuper).
#
# Arguments go to `meson test` in build/ and build-asan/ (e.g. a test name);
# with arguments the valgrind and fuzzing stages are left out.
set -uo pipefail
cd "$(dirname "$0")/.."

# Seconds each stage took, printed before the summary.
stage_times=()
stage_t0=$(date +%s)
stage_done() {   # NAME: the stage that started at stage_t0 ends now
    local now
    now=$(date +%s)
    stage_times+=("$1 $((now - stage_t0))s")
    stage_t0=$now
}

scripts/deps.sh || exit 1
stage_done deps

BUILD_DIR=build scripts/build.sh || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
BUILD_DIR=build-asan scripts/build.sh -Db_sanitize=address,undefined -Db_lundef=false \
    || { echo "sanitizer build failed"; echo "0 passed, 1 failed"; exit 1; }
BUILD_DIR=build-tsan scripts/build.sh -Db_sanitize=thread -Db_lundef=false \
    || { echo "thread sanitizer build failed"; echo "0 passed, 1 failed"; exit 1; }
stage_done build

# Test logs the summary reads (meson's JSON lines), and stages that failed
# before they could run a test, in the same format.
logs=()
stage_log=$(mktemp)
trap 'rm -f "$stage_log"' EXIT
stage_failed() {
    echo "$1" >&2
    printf '{"name": "%s", "result": "FAIL"}\n' "$1" >>"$stage_log"
}
run_meson_test() {   # BUILD_DIR LOGBASE MESON_TEST_ARGS...
    local dir=$1 base=$2
    shift 2
    rm -f "$dir/meson-logs/$base.json"
    meson test -C "$dir" --print-errorlogs "$@"
    logs+=("$dir/meson-logs/$base.json")
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The end-to-end tests against Postfix (suites integration and tui) drive
# the sanitizer build only: they exercise the same code, and under ASan and
# UBSan a memory error in it fails them too.  Running them twice cost about
# five of the CI's thirty minutes.  The plain build still meets a real
# Postfix in the package stage, installed from the .deb.
if [ $# -eq 0 ]; then
    run_meson_test build testlog --no-suite tui --no-suite integration
else
    run_meson_test build testlog "$@"
fi
stage_done plain
run_meson_test build-asan testlog "$@"
stage_done asan
# The scanner's threads against a real queue, and the view's two filtering
# threads sharing a filter's marks, under ThreadSanitizer.
TSAN_OPTIONS=halt_on_error=1 run_meson_test build-tsan testlog rescan filter_cache
stage_done tsan

if [ $# -eq 0 ]; then
    # The core's unit tests under memcheck: any error, or a block definitely
    # lost, fails the test (exit 99).  tests/valgrind.supp says what is
    # suppressed and why.
    run_meson_test build testlog-valgrind --suite unit --timeout-multiplier 10 \
        --wrapper "valgrind -q --error-exitcode=99 --leak-check=full \
--errors-for-leak-kinds=definite --show-leak-kinds=definite --num-callers=30 \
--suppressions=$PWD/tests/valgrind.supp"
    stage_done valgrind

    # The fuzzers, briefly, one at a time (tests/fuzz/meson.build).
    if CC=clang BUILD_DIR=build-fuzz scripts/build.sh -Dfuzz=true \
            -Db_sanitize=address,undefined -Db_lundef=false; then
        ASAN_OPTIONS= UBSAN_OPTIONS= run_meson_test build-fuzz testlog --suite fuzz
    else
        stage_failed "fuzz build (clang, -Dfuzz=true) failed"
    fi
    stage_done fuzz
fi

if [ $# -eq 0 ]; then
    # The Debian package: build, lintian, install, use on a test-bed queue,
    # remove (tests/pkg/test_package.sh).
    if bash tests/pkg/test_package.sh; then
        printf '{"name": "package", "result": "OK"}\n' >>"$stage_log"
    else
        stage_failed "the Debian package (tests/pkg/test_package.sh) failed"
    fi
    stage_done package
fi

STAGE_TIMES="${stage_times[*]}" python3 - "$stage_log" "${logs[@]}" <<'PY'
import json, os, sys
passed = failed = 0
for path in sys.argv[1:]:
    if not os.path.exists(path):
        failed += 1
        print("FAILED: no test log", path)
        continue
    for line in open(path):
        r = json.loads(line)
        where = os.path.relpath(path) if "meson-logs" in path else "stage"
        if r.get("result") in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r.get("result") == "SKIP":
            # Skipped means "not root": in CI that would hide the real tests.
            if os.environ.get("CI") == "true":
                failed += 1
                print("SKIPPED in CI:", where, r.get("name"))
            continue
        else:
            failed += 1
            print("FAILED:", where, r.get("name"))
times = os.environ.get("STAGE_TIMES", "").split()
print("stage times:", ", ".join(" ".join(times[i:i + 2]) for i in range(0, len(times), 2)))
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
