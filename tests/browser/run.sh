#!/usr/bin/env bash
# Browser tests of the member web interface: bash tests/browser/run.sh BUILD_DIR
#
# Needs Debian's chromium (or $CHROMIUM naming another Chromium), node and
# npm (packages chromium, nodejs, npm), and reaches the npm registry once to
# install playwright-core (exact version in package-lock.json) into
# tests/browser/node_modules. Starts two real civnetd nodes on 127.0.0.1
# (nodes.py) with the binaries of BUILD_DIR. Exits non-zero on any failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
BUILD_DIR=$(cd "$1" && pwd)

fail() { echo "tests/browser: $*" >&2; exit 1; }

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || fail "no Chromium at $CHROMIUM: install Debian's package 'chromium' (apt install chromium), or set CHROMIUM to a Chromium binary"
command -v node >/dev/null || fail "no 'node': install Debian's package 'nodejs' (apt install nodejs)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 18 ] || fail "node $(node --version) is too old: the tests need Node.js 18 or newer (Debian 12 package 'nodejs')"
command -v python3 >/dev/null || fail "no 'python3': install Debian's package 'python3'"
for bin in "$BUILD_DIR/daemon/civnetd" "$BUILD_DIR/tools/civnetctl"; do
  [ -x "$bin" ] || fail "no $bin: build first (ninja -C $BUILD_DIR)"
done

# playwright-core, as package-lock.json pins it; installed again when the
# lock file changed since the last install (npm records it in
# node_modules/.package-lock.json).
if [ ! -d "$HERE/node_modules/playwright-core" ] || [ "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]; then
  command -v npm >/dev/null || fail "no 'npm' to install playwright-core: install Debian's package 'npm' (apt install npm)"
  echo "tests/browser: installing playwright-core (npm ci)" >&2
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error) >&2 \
    || fail "npm ci failed in $HERE (is the npm registry reachable?)"
fi

export CHROMIUM
export CIVNETD="$BUILD_DIR/daemon/civnetd"
export CIVNETCTL="$BUILD_DIR/tools/civnetctl"
export CAPNP=${CAPNP:-$(command -v capnp || echo capnp)}
export CIVNET_ENTRY_CAPNP="$REPO/schemas/entry.capnp"
export BUILD_DIR

cd "$REPO"
exec node --test --test-reporter=spec "$HERE/ui.test.mjs"
