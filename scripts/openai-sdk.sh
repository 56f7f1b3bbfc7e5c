#!/usr/bin/env bash
# Installs OpenAI's official Python SDK (PyPI: openai, pinned) into a private virtualenv and
# prints that virtualenv's python. The intelligence tests call meetvault's OpenAI-compatible
# chat completions and embeddings with it (crates/meetvault/tests/api/intelligence_serve.rs):
# a client we did not write, as existing users' code would. Idempotent.
set -euo pipefail

TOOLS_DIR="${MEETVAULT_TOOLS_DIR:-$HOME/.cache/meetvault-tools}"
VENV="$TOOLS_DIR/openai-venv"
VERSION=1.109.1

installed() {
  "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('openai') != '$VERSION')" 2>/dev/null
}

if ! installed; then
  echo "deps: installing openai $VERSION into $VENV" >&2
  mkdir -p "$TOOLS_DIR"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "openai==$VERSION" >&2
  installed || { echo "deps: openai did not install into $VENV" >&2; exit 1; }
fi
echo "$VENV/bin/python"
