#!/usr/bin/env bash
# Installs the peers the OpenID Connect relying party (crates/oidc) is held to: npm's `jose`
# (an independent JOSE implementation that signs the tokens of the differential test) and
# `oidc-provider` (a certified OpenID Provider that the full-flow test logs in against), pinned,
# into a private directory with its own package.json. Prints that directory (give it to the
# tests as OIDC_NODE_DIR). Idempotent.
set -euo pipefail

TOOLS_DIR="${MEETVAULT_TOOLS_DIR:-$HOME/.cache/meetvault-tools}"
DIR="$TOOLS_DIR/oidc-node"
OIDC_PROVIDER=9.13.3
JOSE=6.2.19

command -v node >/dev/null || { echo "deps: node is not installed (need node >= 20.19)" >&2; exit 1; }
command -v npm >/dev/null || { echo "deps: npm is not installed" >&2; exit 1; }

installed() {
  (cd "$DIR" && node -e "
    const v = (p) => require(require.resolve(p + '/package.json', { paths: [process.cwd()] })).version;
    process.exit(v('oidc-provider') === '$OIDC_PROVIDER' && v('jose') === '$JOSE' ? 0 : 1);
  ") 2>/dev/null
}

if ! installed; then
  echo "deps: installing oidc-provider $OIDC_PROVIDER and jose $JOSE into $DIR" >&2
  mkdir -p "$DIR"
  [ -f "$DIR/package.json" ] || echo '{ "name": "meetvault-oidc-tools", "private": true }' >"$DIR/package.json"
  npm install --prefix "$DIR" --save-exact --no-audit --no-fund --loglevel=error \
    "oidc-provider@$OIDC_PROVIDER" "jose@$JOSE" >&2
  installed || { echo "deps: oidc-provider or jose did not install into $DIR" >&2; exit 1; }
fi
echo "$DIR"
