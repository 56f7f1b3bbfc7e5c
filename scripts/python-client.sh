#!/usr/bin/env bash
# The generated-client check: generates a Python client of the API from the committed
# docs/openapi.json with openapi-python-client (PyPI, pinned, in a private virtualenv under
# ~/.cache/meetvault-tools, installed when missing) and runs README's flow through it
# (scripts/client/flow.py) against a running server.
#
#   scripts/python-client.sh install             # only install the generator
#   scripts/python-client.sh flow BASE_URL WAV   # generate, then run the flow against BASE_URL
#
# The integration test `generated_client` starts a server and runs `flow`; any failure is loud.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS_DIR="${MEETVAULT_TOOLS_DIR:-$HOME/.cache/meetvault-tools}"
VENV="$TOOLS_DIR/client-venv"
GENERATOR_SPEC='openapi-python-client==0.29.1'

install() {
  if "$VENV/bin/openapi-python-client" --version 2>/dev/null | grep -q '0\.29\.1'; then
    return
  fi
  command -v python3 >/dev/null || { echo "python-client: python3 is needed (apt-get install python3 python3-venv)" >&2; exit 1; }
  echo "python-client: installing $GENERATOR_SPEC into $VENV" >&2
  mkdir -p "$TOOLS_DIR"
  python3 -m venv "$VENV" || { echo "python-client: cannot make a virtualenv (apt-get install python3-venv)" >&2; exit 1; }
  "$VENV/bin/pip" install -q --disable-pip-version-check "$GENERATOR_SPEC" >&2
}

case "${1:-}" in
  install)
    install
    ;;
  flow)
    base="${2:?usage: scripts/python-client.sh flow BASE_URL WAV}"
    wav="${3:?usage: scripts/python-client.sh flow BASE_URL WAV}"
    install
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    # The generator warns about bodies it has no model for (JSON Lines, OpenMetrics): those
    # operations return raw bytes. A document it cannot read at all is an error.
    "$VENV/bin/openapi-python-client" generate --path docs/openapi.json \
      --output-path "$work/meetvault_client" --meta none >"$work/generate.log" 2>&1 \
      || { cat "$work/generate.log" >&2; echo "python-client: generating the client failed" >&2; exit 1; }
    PYTHONPATH="$work" "$VENV/bin/python" scripts/client/flow.py "$base" "$wav"
    ;;
  *)
    echo "usage: scripts/python-client.sh install | flow BASE_URL WAV" >&2
    exit 2
    ;;
esac
