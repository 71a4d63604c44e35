#!/bin/bash
# Install what qtriage needs to build, test and run, from Debian's packages.
# Installs only what is missing; needs root (or sudo) when something is.
set -euo pipefail

PACKAGES=(
    gcc libc6-dev meson ninja-build pkg-config
    libncurses-dev libpcre2-dev libmagic-dev libgmime-3.0-dev libjson-c-dev
    libcmocka-dev
    clang libclang-rt-14-dev valgrind
    postfix python3 procps util-linux
    tmux groff-base
    # The fleet tests' loopback sshd and the ssh client qtriage runs.
    openssh-server openssh-client
    # host sudo=yes in the fleet tests: a sudoers rule for the agent only, sudo -n.
    sudo
    zsh
    # The Debian package: built, linted, installed and used by tests/pkg/.
    debhelper dpkg-dev fakeroot lintian man-db
    # promtool, which checks the metrics' text format.
    prometheus
)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "deps.sh: need root to install: ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
fi
echo "deps.sh: installing ${missing[*]}" >&2
# Postfix's package asks how to configure the system's mail; qtriage's tests
# run their own instances, so the system one stays unconfigured.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
