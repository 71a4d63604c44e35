#!/bin/bash
# Install what is missing, build, and start qtriage on the local Postfix queue.
# On a machine with no Postfix queue, start a throwaway demo instance (a real
# Postfix in /tmp/qtriage-demo, filled with realistic flood mail) instead.
# Arguments are passed to qtriage (default: list the queue).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
QTRIAGE=build/src/qtriage

# A local queue is one whose Postfix runs, or one that holds mail.  A Postfix
# package that was installed but never configured has neither.
local_queue() {
    local qd
    qd=$(postconf -h queue_directory 2>/dev/null) || return 1
    [ -n "$qd" ] && [ -d "$qd/deferred" ] || return 1
    postfix status >/dev/null 2>&1 && return 0
    [ -n "$(find "$qd/active" "$qd/deferred" "$qd/hold" "$qd/incoming" "$qd/maildrop" \
            -type f -print -quit 2>/dev/null)" ]
}

if [ "${1:-}" != --demo ] && local_queue; then
    exec "$QTRIAGE" "$@"
fi
[ "${1:-}" = --demo ] && shift
DEMO=${QTRIAGE_DEMO_DIR:-/tmp/qtriage-demo}
if [ ! -f "$DEMO/etc/main.cf" ]; then
    echo "No local Postfix queue: starting a DEMO instance in $DEMO (a real Postfix," >&2
    echo "no network; all its mail stays queued).  Stop it with:" >&2
    echo "    tests/testbed/testbed.sh down $DEMO --purge" >&2
    tests/testbed/testbed.sh up "$DEMO"
    tests/testbed/testbed.sh inject-corpus "$DEMO" 400
    tests/testbed/testbed.sh settle "$DEMO"
elif ! postfix -c "$DEMO/etc" status >/dev/null 2>&1; then
    postfix -c "$DEMO/etc" start >/dev/null 2>&1 || true
fi
echo "=== DEMO queue ($DEMO/etc) ===" >&2
exec "$QTRIAGE" -c "$DEMO/etc" "$@"
