#!/bin/bash
# make-fixtures.sh - regenerate the queue-file fixtures in tests/data/ from a real,
# throwaway Postfix instance (see tests/data/README.md).  Needs root and postfix.
# Usage: tests/data/make-fixtures.sh
set -eu -o pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ "$(id -u)" = 0 ] || { echo "make-fixtures.sh: must run as root" >&2; exit 1; }
exec python3 "$HERE/make_fixtures.py" "$@"
