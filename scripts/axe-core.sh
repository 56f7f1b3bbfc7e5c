#!/usr/bin/env bash
# Installs axe-core (npm, pinned; Deque's accessibility engine) into a private directory and
# prints the path of its browser build, axe.min.js. The dashboard's browser tests inject it into
# every page and fail on any serious or critical violation
# (crates/meetvault/tests/api/dashboard_browser.rs).
# Idempotent: a no-op when the pinned version is present.
set -euo pipefail

TOOLS_DIR="${MEETVAULT_TOOLS_DIR:-$HOME/.cache/meetvault-tools}"
DIR="$TOOLS_DIR/axe-core"
VERSION=4.11.4

installed() {
  [ -f "$DIR/node_modules/axe-core/axe.min.js" ] &&
    [ "$(node -p "require('$DIR/node_modules/axe-core/package.json').version" 2>/dev/null)" = "$VERSION" ]
}

if ! installed; then
  command -v npm >/dev/null || { echo "deps: axe-core needs npm (Debian: apt-get install npm)" >&2; exit 1; }
  echo "deps: installing axe-core $VERSION into $DIR" >&2
  mkdir -p "$DIR"
  (cd "$DIR" && npm install --no-audit --no-fund --silent --save-exact "axe-core@$VERSION" >&2)
  installed || { echo "deps: axe-core did not install into $DIR" >&2; exit 1; }
fi
echo "$DIR/node_modules/axe-core/axe.min.js"
