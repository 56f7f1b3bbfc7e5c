#!/usr/bin/env bash
# Installs the official Standard Webhooks library for Python (PyPI: standardwebhooks, pinned)
# into a private virtualenv and prints that virtualenv's python. The webhook tests verify
# meetvault's real deliveries with it (crates/meetvault/tests/api/webhooks.rs): a peer
# implementation of the signature scheme, not ours. Idempotent.
set -euo pipefail

TOOLS_DIR="${MEETVAULT_TOOLS_DIR:-$HOME/.cache/meetvault-tools}"
VENV="$TOOLS_DIR/swh-venv"
VERSION=1.1.0

installed() {
  "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('standardwebhooks') != '$VERSION')" 2>/dev/null
}

if ! installed; then
  echo "deps: installing standardwebhooks $VERSION into $VENV" >&2
  mkdir -p "$TOOLS_DIR"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "standardwebhooks==$VERSION" >&2
  installed || { echo "deps: standardwebhooks did not install into $VENV" >&2; exit 1; }
fi
echo "$VENV/bin/python"
