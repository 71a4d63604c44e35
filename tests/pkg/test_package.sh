#!/bin/bash
# The Debian package, built and used as an admin would: dpkg-buildpackage on
# a copy of the source tree, lintian, `apt-get install ./qtriage_*.deb`, then
# the installed /usr/bin/qtriage against a real test-bed Postfix instance
# (list --json, hold, --version, man -w qtriage), then `apt-get remove`.
# Root only (exit 77: skipped).  Prints "ok"/"not ok" lines and exits 1 on
# the first failure.
set -u -o pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 77; }

work=$(mktemp -d /tmp/qtriage-pkg.XXXXXX)
chmod 755 "$work"
tb="$work/tb"
installed=0
cleanup() {
    [ -d "$tb/etc" ] && "$SRC/tests/testbed/testbed.sh" down "$tb" --purge >/dev/null 2>&1
    [ $installed = 1 ] && DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq qtriage >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "not ok - $*"; exit 1; }
ok() { echo "ok - $*"; }

# A copy of the tracked files (and the working tree's changes to them), so
# the build leaves nothing in the source tree and its .debs land in $work.
mkdir "$work/src"
(cd "$SRC" && git ls-files -z --cached --others --exclude-standard | \
    grep -zv '^build' | xargs -0 cp --parents -t "$work/src") || fail "copy the source tree"
(cd "$work/src" && dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) || {
    tail -30 "$work/build.log"; fail "dpkg-buildpackage -us -uc -b"; }
deb=$(ls "$work"/qtriage_*_*.deb | head -1)
[ -f "$deb" ] || fail "no qtriage_VERSION_ARCH.deb built"
version=$(sed -n "s/^  version : '\(.*\)',/\1/p" "$SRC/meson.build")
case "$(basename "$deb")" in
    qtriage_"$version"_*.deb) ok "built $(basename "$deb")" ;;
    *) fail "package version of $(basename "$deb") is not meson's $version" ;;
esac

# The package's contents.
listing=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/qtriage ./usr/share/man/man1/qtriage.1.gz \
         ./usr/share/doc/qtriage/examples/qtriage.conf ./usr/share/doc/qtriage/copyright \
         ./lib/systemd/system/qtriage-metrics.service ./lib/systemd/system/qtriage-metrics.timer \
         ./usr/share/bash-completion/completions/qtriage ./usr/share/zsh/vendor-completions/_qtriage; do
    grep -qxF "$f" <<<"$listing" || fail "package lacks $f"
done
ok "package holds the binary, man page, completion, example configuration and the metrics units"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libncursesw6 libpcre2-8-0 libmagic1 libgmime-3.0-0 libjson-c5; do
    grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
grep -q postfix <<<"$(dpkg-deb -f "$deb" Recommends)" || fail "postfix is not recommended"
ok "Depends from shlibs: $depends"

# lintian: clean, apart from overrides justified in debian/*.lintian-overrides.
if command -v lintian >/dev/null; then
    out=$(lintian --fail-on error,warning "$work"/qtriage_*.changes 2>&1)
    [ $? = 0 ] || { echo "$out"; fail "lintian"; }
    ok "lintian clean"
else
    fail "lintian is not installed (scripts/deps.sh installs it)"
fi

DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >"$work/install.log" 2>&1 || {
    cat "$work/install.log"; fail "apt-get install $deb"; }
installed=1
[ -x /usr/bin/qtriage ] || fail "/usr/bin/qtriage not installed"
ok "installed with apt-get"

/usr/bin/qtriage --version >"$work/version" 2>&1 || fail "qtriage --version"
grep -q "^qtriage $version" "$work/version" || fail "--version: $(cat "$work/version")"
ok "--version: $(head -1 "$work/version")"
man -w qtriage >/dev/null 2>&1 || fail "man -w qtriage finds no page"
ok "man -w qtriage: $(man -w qtriage)"
[ ! -e /etc/systemd/system/timers.target.wants/qtriage-metrics.timer ] \
    || fail "the metrics timer was enabled by the install"
ok "the metrics timer is installed disabled"

# The installed program on a real queue.
"$SRC/tests/testbed/testbed.sh" up "$tb" >/dev/null || fail "test bed up"
"$SRC/tests/testbed/testbed.sh" inject-corpus "$tb" 40 2>/dev/null || fail "inject corpus"
"$SRC/tests/testbed/testbed.sh" settle "$tb" >/dev/null || fail "settle"
/usr/bin/qtriage -c "$tb/etc" list --json >"$work/list.json" || fail "list --json"
python3 - "$work/list.json" "$tb/etc" <<'PY' || fail "list --json differs from postqueue -j"
import json, subprocess, sys
mine = {json.loads(l)["queue_id"] for l in open(sys.argv[1]) if l.strip()}
pq = subprocess.run(["postqueue", "-c", sys.argv[2], "-j"], stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL, check=True).stdout.decode()
theirs = {json.loads(l)["queue_id"] for l in pq.splitlines() if l.strip()}
if not mine or mine != theirs:
    print("qtriage:", len(mine), "postqueue -j:", len(theirs))
    sys.exit(1)
PY
ok "list --json: the same $(wc -l <"$work/list.json") messages as postqueue -j"
id=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    m = json.loads(l)
    if m["queue_name"] == "deferred":
        print(m["queue_id"]); break' "$work/list.json")
[ -n "$id" ] || fail "no deferred message to hold"
/usr/bin/qtriage -c "$tb/etc" hold "$id" >"$work/hold.out" 2>&1 || { cat "$work/hold.out"; fail "hold $id"; }
postqueue -c "$tb/etc" -j 2>/dev/null | python3 -c 'import json,sys
q = {m["queue_id"]: m["queue_name"] for m in map(json.loads, sys.stdin)}
sys.exit(0 if q.get(sys.argv[1]) == "hold" else 1)' "$id" || fail "$id is not on hold after hold"
ok "hold $id: postqueue -j shows it on hold"

DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq qtriage >/dev/null 2>&1 || fail "apt-get remove"
installed=0
[ ! -e /usr/bin/qtriage ] || fail "/usr/bin/qtriage left after remove"
ok "removed"
