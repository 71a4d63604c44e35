#!/bin/bash
# testbed.sh - an isolated, throwaway real Postfix instance for qtriage tests.
#
# Usage:
#   testbed.sh up DIR [--long-ids] [--hash-hold] [--depth N] [--smtpd] [--frozen]
#                (--frozen: no queue manager, so nothing moves the queue's
#                 files: for the benchmark, whose kept queues outlive their
#                 retry times and were then deferred and bounced under it)
#   testbed.sh inject-corpus DIR [N]     (default N=300; appends to DIR/corpus.json)
#   testbed.sh inject-hostile DIR [ARGS] (hostile.py: escapes, invalid UTF-8, 50 MB, ...;
#                                         JSON manifest on stdout)
#   testbed.sh settle DIR [TIMEOUT]      (default 300 s)
#   testbed.sh down DIR [--purge]
#   testbed.sh env DIR
#   testbed.sh counts DIR                (prints "queue count" lines; for debugging)
#
# Layout of DIR:  etc/ (main.cf, master.cf, header_checks, recipient_canonical,
#                 transport)  spool/ (queue_directory)  data/ (data_directory)
#                 maillog (maillog_file)  corpus.json  smtpd_port (only with --smtpd)
# DIR's parents must be searchable by user postfix (mktemp -d gives 0700: chmod it).
#
# All mail defers: relayhost is a loopback port where nothing listens, so every
# delivery attempt ends in "Connection refused" and long backoffs (3000-4000 s)
# keep it in deferred.  Header "X-Testbed-Hold: yes" puts a message on hold
# (header_checks).  Recipients @alias.example are rewritten to @canonical.example
# (an O record that differs from the R record); @discard.example is delivered at
# once by the discard transport (D records); @retry.example is deferred with the
# reason "Mailbox full (testbed)".  No inet listener, except with --smtpd: an
# smtpd on a free loopback port (DIR/smtpd_port) that trusts XCLIENT from
# loopback, so injected mail can carry client_address/sasl_username A records.
#
# Facts measured on Debian 12 / Postfix 3.7.11, 2 cores:
#  * `postqueue -c DIR/etc -j` DOES work as root when the instance's master is
#    stopped: postqueue falls back to running showq itself and reads the spool
#    (exit 0, output identical; stderr says "postqueue: warning: Mail system is
#    down -- accessing queue directly (Connect to the Postfix showq service:
#    Connection refused)").  As a non-root user it fails: "postqueue: fatal:
#    Queue report unavailable - mail system is down (...)", exit 69.
#  * Non-root `postqueue -c DIR/etc -j` (master running) works once DIR/etc is in
#    alternate_config_directories of /etc/postfix/main.cf; `up` adds it (creating a
#    minimal main.cf if there is none) and `down --purge` removes it again.
#  * inject-corpus: ~150-220 messages/s (sendmail, or SMTP for some senders; 4 in
#    parallel on 2 cores); 3000 messages (30 MB) take ~19 s.  Postfix keeps up:
#    settle returns 0.3-2 s after the last injection, whatever N.
#  * up takes ~1 s, down ~1 s.
#
# Prints nothing but errors (inject-corpus prints a one-line summary on stderr).
set -u -o pipefail

PROG=${0##*/}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEFAULT_MAIN_CF=/etc/postfix/main.cf
LOCK_FILE=/etc/postfix/.qtriage-testbed.lock

die() { echo "$PROG: $*" >&2; exit 1; }
usage() {
    sed -n '4,12p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

backdate() {   # Postfix distrusts config files modified in the last second or two
    touch -d "@$(( $(date +%s) - 10 ))" "$@"
}

absdir() {     # absolute path of DIR (need not exist)
    local d=$1
    [ -n "$d" ] || die "missing DIR"
    d=$(realpath -m -- "$d") || die "bad DIR: $1"
    [ "$d" != / ] || die "refusing to use / as DIR"
    printf '%s\n' "$d"
}

need_root() { [ "$(id -u)" = 0 ] || die "must run as root"; }

ensure_postfix_installed() {
    if command -v postfix >/dev/null 2>&1 || [ -x /usr/sbin/postfix ]; then
        return 0
    fi
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections \
        || die "debconf-set-selections failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y postfix >/dev/null \
        || die "apt-get install postfix failed"
}

free_port() {  # a loopback TCP port with nothing listening on it
    python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

# Add/remove DIR/etc to alternate_config_directories of the default main.cf so that
# non-root users may run `postqueue -c DIR/etc`.
default_cf_edit() {   # add|remove CONFIG_DIR
    local op=$1 cfg=$2
    mkdir -p /etc/postfix
    (
        flock -w 60 9 || die "cannot lock $LOCK_FILE"
        if [ ! -e "$DEFAULT_MAIN_CF" ]; then
            [ "$op" = add ] || exit 0
            cat >"$DEFAULT_MAIN_CF" <<'EOF'
# Minimal default configuration, written by qtriage tests/testbed/testbed.sh.
# The default instance is never started; this file exists so that non-root
# users may run `postqueue -c DIR` for test-bed instances listed below.
compatibility_level = 3.6
myhostname = qtriage-default.localdomain
mydestination =
inet_interfaces = loopback-only
smtp_dns_support_level = disabled
alternate_config_directories =
EOF
        fi
        local cur new d found=0
        cur=$(postconf -c /etc/postfix -h alternate_config_directories 2>/dev/null) || cur=
        new=
        for d in $(printf '%s' "$cur" | tr ',' ' '); do
            if [ "$d" = "$cfg" ]; then
                found=1
                [ "$op" = remove ] && continue
            fi
            new="${new:+$new, }$d"
        done
        if [ "$op" = add ] && [ $found = 0 ]; then
            new="${new:+$new, }$cfg"
        fi
        if [ "$new" != "$cur" ]; then
            postconf -c /etc/postfix -e "alternate_config_directories = $new" \
                || die "cannot update $DEFAULT_MAIN_CF"
            backdate "$DEFAULT_MAIN_CF"
        fi
    ) 9>>"$LOCK_FILE" || exit 1
}

is_running() {  # DIR  (not `postfix status`: that logs a line each time)
    local pidf=$1/spool/pid/master.pid pid
    [ -r "$pidf" ] || return 1
    pid=$(tr -dc '0-9' <"$pidf")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = master ]
}

cmd_up() {
    need_root
    local dir= long=no hashhold=no depth=1 smtpd=no frozen=no
    while [ $# -gt 0 ]; do
        case $1 in
            --long-ids) long=yes ;;
            --frozen) frozen=yes ;;
            --smtpd) smtpd=yes ;;
            --hash-hold) hashhold=yes ;;
            --depth) shift; depth=${1:-}; [[ $depth =~ ^[1-9]$|^1[0-6]$ ]] || die "--depth wants 1..16" ;;
            --depth=*) depth=${1#--depth=}; [[ $depth =~ ^[1-9]$|^1[0-6]$ ]] || die "--depth wants 1..16" ;;
            -*) die "up: unknown option $1" ;;
            *) [ -z "$dir" ] || die "up: too many arguments"; dir=$1 ;;
        esac
        shift
    done
    dir=$(absdir "$dir") || exit 1
    ensure_postfix_installed

    local etc=$dir/etc spool=$dir/spool data=$dir/data maillog=$dir/maillog
    mkdir -p "$etc" "$spool" "$data" || die "cannot create $dir"
    # postfix (and non-root postqueue clients) must be able to traverse DIR.
    chmod 0755 "$dir" "$etc" "$spool"
    chown root:root "$dir" "$etc" "$spool"
    chown postfix:postfix "$data"; chmod 0700 "$data"
    if ! setpriv --reuid=postfix --regid=postfix --clear-groups test -w "$data" 2>/dev/null; then
        die "user postfix cannot reach $data: a parent directory of $dir is not searchable (chmod o+x)"
    fi
    [ -e "$maillog" ] || : >"$maillog"
    chown postfix:postfix "$maillog"; chmod 0644 "$maillog"

    local master_src=/etc/postfix/master.cf
    [ -r "$master_src" ] || master_src=/usr/share/postfix/master.cf.dist
    [ -r "$master_src" ] || die "no master.cf to copy"
    cp "$master_src" "$etc/master.cf"
    postconf -c "$etc" -M# smtp/inet 2>/dev/null
    if [ "$frozen" = yes ]; then
        postconf -c "$etc" -M# qmgr/unix 2>/dev/null || postconf -c "$etc" -M# qmgr/fifo \
            || die "cannot turn off qmgr in $etc/master.cf"
    fi
    postconf -c "$etc" -F '*/*/chroot = n' || die "postconf -F failed"
    # --smtpd: an smtpd on a free loopback port (port in DIR/smtpd_port) that
    # trusts XCLIENT from loopback, to inject mail with realistic client/SASL
    # attributes (A records client_address, sasl_username, ...).  Off by default.
    rm -f "$dir/smtpd_port"
    if [ "$smtpd" = yes ]; then
        local sport
        sport=$(free_port) || die "cannot find a free port"
        postconf -c "$etc" -M "127.0.0.1:$sport/inet=127.0.0.1:$sport inet n - n - - smtpd" \
            || die "postconf -M failed"
        echo "$sport" >"$dir/smtpd_port"
    fi

    cat >"$etc/header_checks" <<'EOF'
/^X-Testbed-Hold:[[:space:]]*yes/	HOLD testbed hold header
EOF
    # user@alias.example is rewritten to user@canonical.example, so that the queue
    # file has an O (original recipient) record that differs from the R record.
    cat >"$etc/recipient_canonical" <<'EOF'
/^(.+)@alias\.example$/	${1}@canonical.example
EOF
    # mail to *@discard.example is "delivered" at once by the discard transport, so
    # a message with another (remote) recipient stays in deferred with a D record;
    # mail to *@retry.example is deferred with a different reason ("Mailbox full").
    cat >"$etc/transport" <<'EOF'
/@discard\.example$/	discard:testbed discard
/^discard\.example$/	discard:testbed discard
/@retry\.example$/	retry:4.2.2 Mailbox full (testbed)
/^retry\.example$/	retry:4.2.2 Mailbox full (testbed)
EOF

    local port hashnames="deferred, defer"
    port=$(free_port) || die "cannot find a free port"
    [ "$hashhold" = yes ] && hashnames="deferred, defer, hold"
    cat >"$etc/main.cf" <<EOF
# qtriage throwaway test bed, written by tests/testbed/testbed.sh
compatibility_level = 3.6
queue_directory = $spool
data_directory = $data
maillog_file = $maillog
maillog_file_prefixes = $dir
myhostname = qtriage-testbed.localdomain
mydomain = localdomain
myorigin = \$myhostname
mydestination =
relayhost = [127.0.0.1]:$port
smtp_dns_support_level = disabled
inet_interfaces = loopback-only
inet_protocols = ipv4
header_checks = regexp:$etc/header_checks
recipient_canonical_maps = regexp:$etc/recipient_canonical
transport_maps = regexp:$etc/transport
minimal_backoff_time = 3000s
maximal_backoff_time = 4000s
queue_run_delay = 3000s
maximal_queue_lifetime = 10d
bounce_queue_lifetime = 10d
enable_long_queue_ids = $long
hash_queue_names = $hashnames
hash_queue_depth = $depth
biff = no
mynetworks = 127.0.0.0/8, 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24
smtpd_authorized_xclient_hosts = 127.0.0.0/8
# XCLIENT may claim TEST-NET client addresses; they count as mynetworks
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
# the Debian default "hash:/etc/aliases, nis:mail.aliases" logs NIS warnings
alias_maps =
alias_database =
EOF
    # qtriage as root uses a configuration only root can change, whatever
    # the caller's umask.
    chmod 0644 "$etc/main.cf" "$etc/master.cf"
    backdate "$etc/main.cf" "$etc/master.cf" "$etc/header_checks" \
        "$etc/recipient_canonical" "$etc/transport"

    default_cf_edit add "$etc"

    postfix -c "$etc" set-permissions >/dev/null 2>"$dir/.up.err" \
        || { cat "$dir/.up.err" >&2; die "postfix set-permissions failed"; }
    if is_running "$dir"; then
        postfix -c "$etc" reload >/dev/null 2>"$dir/.up.err" \
            || { cat "$dir/.up.err" >&2; die "postfix reload failed"; }
    else
        postfix -c "$etc" start >/dev/null 2>"$dir/.up.err" \
            || { cat "$dir/.up.err" >&2; tail -n 20 "$maillog" >&2; die "postfix start failed"; }
    fi
    # wait until the master answers (showq socket present and working)
    local i
    for i in $(seq 1 50); do
        if postqueue -c "$etc" -j >/dev/null 2>&1; then
            rm -f "$dir/.up.err"
            return 0
        fi
        sleep 0.2
    done
    tail -n 20 "$maillog" >&2
    die "instance in $dir does not answer postqueue -j"
}

cmd_inject() {
    need_root
    local dir
    dir=$(absdir "${1:-}") || exit 1
    local n=${2:-300}
    [[ $n =~ ^[0-9]+$ ]] || die "inject-corpus: N must be a number"
    [ -f "$dir/etc/main.cf" ] || die "no test bed in $dir (run up first)"
    local smtp=()
    [ -s "$dir/smtpd_port" ] && smtp=(--smtp-port "$(cat "$dir/smtpd_port")")
    exec python3 "$HERE/corpus.py" --config "$dir/etc" --out "$dir/corpus.json" --count "$n" "${smtp[@]}"
}

queue_count() {  # DIR QUEUE
    local q=$1/spool/$2
    [ -d "$q" ] || { echo 0; return; }
    find "$q" -type f 2>/dev/null | wc -l
}

cmd_inject_hostile() {
    need_root
    local dir
    dir=$(absdir "${1:-}") || exit 1
    shift
    [ -f "$dir/etc/main.cf" ] || die "no test bed in $dir (run up first)"
    exec python3 "$HERE/hostile.py" "$dir" "$@"
}

cmd_counts() {
    local dir q
    dir=$(absdir "${1:-}") || exit 1
    for q in maildrop incoming active deferred hold corrupt; do
        printf '%s %s\n' "$q" "$(queue_count "$dir" $q)"
    done
}

cmd_settle() {
    need_root
    local dir
    dir=$(absdir "${1:-}") || exit 1
    local timeout=${2:-300}
    [[ $timeout =~ ^[0-9]+$ ]] || die "settle: TIMEOUT must be a number"
    [ -d "$dir/spool" ] || die "no test bed in $dir"
    local start now m i a stable=0
    start=$(date +%s)
    while :; do
        m=$(queue_count "$dir" maildrop)
        i=$(queue_count "$dir" incoming)
        a=$(queue_count "$dir" active)
        if [ "$m" = 0 ] && [ "$i" = 0 ] && [ "$a" = 0 ]; then
            # require two consecutive empty observations (files move between dirs)
            stable=$((stable + 1))
            [ $stable -ge 2 ] && return 0
        else
            stable=0
        fi
        now=$(date +%s)
        if [ $((now - start)) -ge "$timeout" ]; then
            echo "$PROG: settle: timed out after ${timeout}s; queue counts:" >&2
            is_running "$dir" || echo "$PROG: settle: (the instance's master is not running)" >&2
            cmd_counts "$dir" | sed 's/^/  /' >&2
            exit 1
        fi
        # a pickup that missed its wakeup polls only every 60 s; nudge it
        if [ "$m" != 0 ] && [ $(( (now - start) % 5 )) = 0 ]; then
            postkick -c "$dir/etc" public pickup W 2>/dev/null || true
        fi
        sleep 0.3
    done
}

cmd_down() {
    local dir= purge=no
    while [ $# -gt 0 ]; do
        case $1 in
            --purge) purge=yes ;;
            -*) die "down: unknown option $1" ;;
            *) [ -z "$dir" ] || die "down: too many arguments"; dir=$1 ;;
        esac
        shift
    done
    need_root
    dir=$(absdir "$dir") || exit 1
    if [ -f "$dir/etc/main.cf" ] && is_running "$dir"; then
        postfix -c "$dir/etc" stop >/dev/null 2>&1 || true
        local i
        for i in $(seq 1 50); do
            is_running "$dir" || break
            sleep 0.2
        done
        is_running "$dir" && die "instance in $dir did not stop"
    fi
    if [ "$purge" = yes ]; then
        [ -e "$dir" ] || { default_cf_edit remove "$dir/etc"; return 0; }
        # safety: only remove what looks like a test bed
        [ -f "$dir/etc/main.cf" ] && grep -q 'qtriage throwaway test bed' "$dir/etc/main.cf" \
            || die "refusing to purge $dir: not a test bed"
        default_cf_edit remove "$dir/etc"
        rm -rf -- "$dir" || die "cannot remove $dir"
    fi
    return 0
}

cmd_env() {
    local dir
    dir=$(absdir "${1:-}") || exit 1
    printf 'QTRIAGE_TEST_DIR=%s\n' "$dir"
    printf 'QTRIAGE_TEST_CONFIG=%s\n' "$dir/etc"
    printf 'QTRIAGE_TEST_SPOOL=%s\n' "$dir/spool"
    printf 'QTRIAGE_TEST_MAILLOG=%s\n' "$dir/maillog"
    printf 'QTRIAGE_TEST_CORPUS=%s\n' "$dir/corpus.json"
}

[ $# -ge 1 ] || usage
cmd=$1; shift
case $cmd in
    up) cmd_up "$@" ;;
    inject-corpus|inject) cmd_inject "$@" ;;
    inject-hostile) cmd_inject_hostile "$@" ;;
    settle) cmd_settle "$@" ;;
    down) cmd_down "$@" ;;
    env) cmd_env "$@" ;;
    counts) cmd_counts "$@" ;;
    -h|--help|help) usage ;;
    *) echo "$PROG: unknown command: $cmd" >&2; usage ;;
esac
