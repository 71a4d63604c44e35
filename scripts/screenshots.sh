#!/bin/bash
# screenshots.sh - regenerate screenshots/*.png from the real program on a real queue.
#
# Usage (as root, from the source tree, after scripts/build.sh):
#   bash scripts/screenshots.sh [OUTDIR]            (default OUTDIR: screenshots/)
#
# Environment:
#   QTRIAGE       the binary to show (default build/src/qtriage)
#   QGEN          the flood generator (default build/tests/bench/qgen; compiled
#                 from tests/bench/qgen.c when that is missing)
#   SHOTS_CORPUS  messages injected through Postfix's sendmail (default 1500)
#   SHOTS_FLOOD   queue files written by qgen (default 30000)
#   SHOTS_KEEP=1  keep the work directory (captures) and the test bed stopped
#
# What it does:
#   1. installs what is missing (tmux, python3-pil, fonts-dejavu-core,
#      fonts-wqy-microhei, fonts-symbola; postfix via testbed.sh) with apt-get;
#   2. brings up an isolated Postfix instance (tests/testbed/testbed.sh up) in a
#      fresh directory under /tmp, injects the varied corpus (inject-corpus:
#      RFC 2047 subjects in UTF-8, GB2312, Big5, Latin-1, multipart mail with
#      attachments, bounces, held mail) and a qgen flood on top;
#   3. runs qtriage -c DIR/etc inside a private tmux server at 160x45 with
#      LANG=C.UTF-8 and TERM=xterm-256color, drives it with send-keys, and
#      captures the pane with its colours (capture-pane -e -p -N);
#   4. renders each capture with scripts/ansi2png.py (PIL; double-width
#      characters take two cells, SGR colours, bold, dim, underline, reverse);
#   5. tears everything down (testbed.sh down DIR --purge), also on failure.
#
# Screens: list.png (the list in a flood), filter.png (the filter bar in use,
# status line with shown/total), viewer.png (a multipart message with a GB2312
# or Big5 subject and attachments, decoded, split under the list), help.png
# (the ? screen), stats.png, classes.png and shape.png (the statistics
# pane), history.png (a message's mail-log lines), tagged.png (after T on a
# filter, filter cleared again: the
# tags stay on their messages), rules.png (W, the rules pane: standing rules
# added with K on a filter, what each caught, one paused; last, since the
# rules hold mail).
set -euo pipefail

PROG=${0##*/}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=${1:-$ROOT/screenshots}
QTRIAGE=${QTRIAGE:-$ROOT/build/src/qtriage}
QGEN=${QGEN:-$ROOT/build/tests/bench/qgen}
CORPUS_N=${SHOTS_CORPUS:-1500}
FLOOD_N=${SHOTS_FLOOD:-30000}
TESTBED=$ROOT/tests/testbed/testbed.sh
PY=/usr/bin/python3          # Debian's python, where python3-pil is installed
COLS=160
ROWS=45

die() { echo "$PROG: $*" >&2; exit 1; }
say() { echo "$PROG: $*" >&2; }

[ "$(id -u)" = 0 ] || die "must run as root (the test bed is a real Postfix instance)"
case $QTRIAGE in /*) ;; *) QTRIAGE=$ROOT/$QTRIAGE ;; esac
[ -x "$QTRIAGE" ] || die "no qtriage binary at $QTRIAGE: run scripts/build.sh first (or set QTRIAGE)"

# ---------------------------------------------------------------- packages
need=()
for p in tmux python3 python3-pil fonts-dejavu-core fonts-wqy-microhei fonts-symbola; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${need[@]}" >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${need[@]}" >/dev/null || die "apt-get install ${need[*]} failed"
    fi
fi

# ---------------------------------------------------------------- work area
WORK=$(mktemp -d /tmp/qtriage-shots.XXXXXX)
chmod 0755 "$WORK"           # user postfix must reach the queue below it
DIR=$WORK/tb
SOCK=qtriage-shots-$$
TMUX_CMD=(tmux -u -L "$SOCK" -f "$WORK/tmux.conf")
cat >"$WORK/tmux.conf" <<'EOF'
set -s exit-empty off
set -g status off
set -g remain-on-exit on
set -g history-limit 0
EOF

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    "${TMUX_CMD[@]}" kill-server >/dev/null 2>&1 || true
    if [ -f "$DIR/etc/main.cf" ]; then
        if [ "${SHOTS_KEEP:-}" = 1 ]; then
            "$TESTBED" down "$DIR" >/dev/null 2>&1 || true
            say "kept $WORK (remove with: $TESTBED down $DIR --purge; rm -rf $WORK)"
        else
            "$TESTBED" down "$DIR" --purge >/dev/null 2>&1 || say "could not tear down $DIR"
        fi
    fi
    [ "${SHOTS_KEEP:-}" = 1 ] || rm -rf -- "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'say interrupted; exit 130' INT TERM

# ---------------------------------------------------------------- the queue
say "bringing up a test-bed Postfix in $DIR"
"$TESTBED" up "$DIR"
say "injecting $CORPUS_N messages through sendmail"
"$TESTBED" inject-corpus "$DIR" "$CORPUS_N"
"$TESTBED" settle "$DIR" >/dev/null
if [ ! -x "$QGEN" ]; then
    cc -O2 -o "$WORK/qgen" "$ROOT/tests/bench/qgen.c" || die "cannot build qgen"
    QGEN=$WORK/qgen
fi
say "writing a flood of $FLOOD_N queue files with qgen"
"$QGEN" -c "$DIR/etc" -n "$FLOOD_N" --seed 7 2>"$WORK/qgen.log" \
    || { cat "$WORK/qgen.log" >&2; die "qgen failed"; }

# The multipart message with a GB2312 or Big5 subject and attachments.
VIEW_TOKEN=$("$PY" - "$DIR/corpus.json" <<'EOF'
import json, sys
for m in json.load(open(sys.argv[1])):
    if m["subject_kind"] in ("gb2312-b", "big5-b") and "multipart" in m["kinds"]:
        print(m["token"].strip("[]"))
        break
EOF
)
[ -n "$VIEW_TOKEN" ] || die "no multipart GB2312/Big5 message in the corpus"

# ---------------------------------------------------------------- tmux driving
T() { "${TMUX_CMD[@]}" "$@"; }
SESSION=
NSESSIONS=0
screen_text() { T capture-pane -t "$SESSION" -p; }

# wait_for TEXT [SECONDS]: until the screen shows TEXT (fixed string)
wait_for() {
    local text=$1 limit=${2:-30} i
    for (( i = 0; i < limit * 10; i++ )); do
        screen_text | grep -qF -- "$text" && return 0
        sleep 0.1
    done
    screen_text >&2
    die "timed out waiting for \"$text\" on the screen"
}

# wait_re REGEX [SECONDS]: until a line of the screen matches REGEX (grep -E)
wait_re() {
    local re=$1 limit=${2:-30} i
    for (( i = 0; i < limit * 10; i++ )); do
        screen_text | grep -qE -- "$re" && return 0
        sleep 0.1
    done
    screen_text >&2
    die "timed out waiting for /$re/ on the screen"
}

# tab_to TEXT: Tab through the statistics' views until the screen shows TEXT
# (however many views there are before it)
tab_to() {
    local text=$1 i j title
    for (( i = 0; i < 30; i++ )); do
        screen_text | grep -qF -- "$text" && return 0
        title=$(screen_text | sed -n 2p)
        keys Tab
        for (( j = 0; j < 100; j++ )); do     # until the view's title changed
            [ "$(screen_text | sed -n 2p)" != "$title" ] && break
            sleep 0.1
        done
    done
    wait_for "$text" 5
}

# settle: until the status line (the last one) is the same twice in a row
settle() {
    local a b i
    a=$(screen_text | tail -n 1)
    for (( i = 0; i < 50; i++ )); do
        sleep 0.3
        b=$(screen_text | tail -n 1)
        [ "$a" = "$b" ] && return 0
        a=$b
    done
}

# start ARGS...: a fresh qtriage on the test bed, in a new session
start() {
    local cmd
    [ -z "$SESSION" ] || T kill-session -t "$SESSION" >/dev/null 2>&1 || true
    SESSION=shots$(( ++NSESSIONS ))
    printf -v cmd '%q ' env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color \
        "$QTRIAGE" -c "$DIR/etc" "$@"
    T new-session -d -s "$SESSION" -x "$COLS" -y "$ROWS" "$cmd"
    T resize-window -t "$SESSION" -x "$COLS" -y "$ROWS" >/dev/null 2>&1 || true
    wait_for "messages loaded" 120
    settle
}

keys() { T send-keys -t "$SESSION" "$@"; sleep 0.3; }
type_text() { T send-keys -t "$SESSION" -l -- "$1"; sleep 0.5; }

# shot NAME TITLE: capture the pane and render it to OUT/NAME.png
shot() {
    local name=$1 title=$2 flag xy
    sleep 0.3
    local cursor=()
    T capture-pane -t "$SESSION" -e -p -N >"$WORK/$name.ansi"
    [ "$(wc -l <"$WORK/$name.ansi")" -ge $(( ROWS - 1 )) ] || die "short capture for $name"
    # The terminal's cursor, where qtriage left it visible (the bars' editor).
    read -r flag xy < <(T display-message -p -t "$SESSION" '#{cursor_flag} #{cursor_x},#{cursor_y}')
    [ "$flag" = 1 ] && cursor=(--cursor "$xy")
    "$PY" "$ROOT/scripts/ansi2png.py" "$WORK/$name.ansi" "$OUT/$name.png" \
        --cols "$COLS" --rows "$ROWS" --title "$title" "${cursor[@]}"
    say "wrote $OUT/$name.png ($(stat -c %s "$OUT/$name.png") bytes)"
}

mkdir -p "$OUT"
QUERY='sender:promo and not queue=hold'

# 1. The list in a flood, as it opens (oldest first).
start
keys j j j
shot list "qtriage: the queue list in a flood"

# 2. Help.
keys '?'
wait_for "qtriage keys"
shot help "qtriage: ?, the keys"
keys q

# 3. The filter bar in use: the list narrows as the query is typed (the
#    status line says how many of all are shown).
keys f
type_text "$QUERY"
wait_for "filter: $QUERY"
settle
shot filter "qtriage: f, the filter bar"
keys Enter

# 4. Tags: newest first, filter, T tags every shown message, F clears the
#    filter; the tagged messages stay tagged among the others.
start --sort -age
keys f
type_text "$QUERY"
keys Enter
wait_for "messages match"
keys T
wait_for "tagged all"
keys F
wait_for "filter cleared"
keys j j j j j
settle
shot tagged "qtriage: T tags all shown, F clears the filter, the tags stay"

# 5. The viewer: search for the message, open it (decoded view, split).
start
keys /
type_text "$VIEW_TOKEN"
keys Enter
wait_for "$VIEW_TOKEN"
keys Enter
wait_for "decoded view"
settle
shot viewer "qtriage: Enter, the message viewer (decoded MIME)"
keys q
keys q

# 6. The statistics: top senders under the Postfix settings, the delay-reason
#    classes, and qshape's table by recipient domain.
start
keys s
wait_for "Top SENDER"
settle
shot stats "qtriage: s, the statistics: who is growing the queue now (arrival rates), and who fills it"
tab_to "Top REASON CLASS"
settle
shot classes "qtriage: s, Tab: delay reasons by class"
tab_to "qshape by recipient domain"
settle
shot shape "qtriage: s, Tab: qshape's table"
keys q

# 7. A message's history from the mail log (one Postfix itself logged:
#    qgen's files were written straight into the spool).
start
keys /
type_text "$VIEW_TOKEN"
keys Enter
wait_for "$VIEW_TOKEN"
keys l
wait_for "history view"
settle
shot history "qtriage: l, the message's history from the mail log"
keys q
keys q

# 8. Standing rules, last: they hold mail, and the screens above show the
#    queue as the flood left it.  K on a filtered list asks "keep doing on"
#    with "hold 1h" ready (Enter), then the confirmation (y); the rule holds
#    what matches now and what arrives for the hour.  Three rules on the
#    flood's senders: the bulk sender, the hijacked sasl account, the
#    newsletter; W opens the rules pane once each has caught mail, and p
#    pauses the newsletter's (the cursor is on the last rule).
# add_rule N QUERY: filter on QUERY, K, Enter, y; until rule N caught mail
add_rule() {
    local n=$1 query=$2
    keys F
    keys f
    type_text "$query"
    keys Enter
    wait_for "messages match"
    keys K
    wait_for "keep doing on"
    keys Enter
    wait_for "Rule: hold every message matching"
    keys y
    wait_for "rules $n active"
    keys W
    wait_re "^$n +active +hold +[1-9][0-9]* +[0-9]" 300
    keys q
}
start
add_rule 1 'sender=promo@bulk-deals.example'
add_rule 2 'sasl=j.smith@customer-isp.example'
add_rule 3 'sender=newsletter@mass-mailer.example'
keys F
wait_for "filter cleared"
keys W
wait_for "Standing rules"
keys G
keys p
wait_re "^3 +paused "
wait_re "rules 2 active, [1-9][0-9]* caught"
settle
shot rules "qtriage: W, the standing rules (K on a filter adds one): what each caught, p pauses"
keys q

say "done: list.png help.png filter.png tagged.png viewer.png stats.png classes.png shape.png history.png rules.png in $OUT"
