#!/bin/bash
# Configure (once) and build qtriage in build/ (or $BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    meson setup "$BUILD_DIR" --werror "$@" >/dev/null
fi
ninja -C "$BUILD_DIR" >/dev/null
