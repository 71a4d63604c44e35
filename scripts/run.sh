#!/bin/bash
# Install what is missing, build, and start qtriage on the local Postfix queue.
# On a machine with no Postfix queue, start a throwaway demo instance (a real
# Postfix in /tmp/qtriage-demo, filled with realistic flood mail) instead.
# Arguments are passed to qtriage (default: the interactive view; when
# standard output is not a terminal, a listing).
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
# qtriage --demo sets the instance up (tests/testbed/testbed.sh) the first
# time, restarts it later, and says on screen that it is a demo queue.
exec "$QTRIAGE" --demo="${QTRIAGE_DEMO_DIR:-/tmp/qtriage-demo}" "$@"
