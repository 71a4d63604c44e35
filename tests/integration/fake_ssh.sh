#!/bin/sh
# Stands in for ssh where no sshd is wanted: skips ssh's options up to
# "--" and the destination after it, then runs the remote command's words
# directly (no shell in between, as ssh's remote shell would split them).
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    shift
done
[ $# -ge 2 ] || { echo "fake_ssh: no -- DESTINATION COMMAND" >&2; exit 255; }
shift 2
exec "$@"
