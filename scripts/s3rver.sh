#!/usr/bin/env bash
# Installs s3rver (npm, pinned) — a second, independent S3 API server, in Node, beside the
# suite's moto — into a private directory and prints the path of its command. The destination
# tests run a customer's bucket on it (crates/meetvault/tests/api/destinations_s3rver.rs); it
# refuses access keys it does not know, so wrong credentials are tested against it.
# Idempotent: a no-op when the pinned version is present.
set -euo pipefail

TOOLS_DIR="${MEETVAULT_TOOLS_DIR:-$HOME/.cache/meetvault-tools}"
DIR="$TOOLS_DIR/s3rver"
VERSION=3.7.1

installed() {
  [ "$(node "$DIR/node_modules/.bin/s3rver" --version 2>/dev/null)" = "$VERSION" ]
}

if ! installed; then
  command -v npm >/dev/null || { echo "deps: s3rver needs npm (Debian: apt-get install npm)" >&2; exit 1; }
  echo "deps: installing s3rver $VERSION into $DIR" >&2
  mkdir -p "$DIR"
  (cd "$DIR" && npm install --no-audit --no-fund --silent "s3rver@$VERSION" >&2)
  installed || { echo "deps: s3rver did not install into $DIR" >&2; exit 1; }
fi
echo "$DIR/node_modules/.bin/s3rver"
