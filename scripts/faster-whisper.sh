#!/usr/bin/env bash
# Installs faster-whisper (PyPI: faster-whisper and its CTranslate2 engine, pinned) into a
# private virtualenv and prints that virtualenv's python. It is the peer meetvault's Whisper is
# held to: the differential test (crates/whisper/tests/engine/parity.rs) and
# bench/transcribe.sh run it beside meetvault on the same audio and model folder.
# Idempotent: a no-op when the pinned versions are present.
set -euo pipefail

TOOLS_DIR="${MEETVAULT_TOOLS_DIR:-$HOME/.cache/meetvault-tools}"
VENV="$TOOLS_DIR/fw-venv"
FASTER_WHISPER=1.2.1
CTRANSLATE2=4.8.5

installed() {
  "$VENV/bin/python" - "$FASTER_WHISPER" "$CTRANSLATE2" 2>/dev/null <<'PY'
import sys, ctranslate2, faster_whisper
sys.exit(faster_whisper.__version__ != sys.argv[1] or ctranslate2.__version__ != sys.argv[2])
PY
}

if ! installed; then
  echo "deps: installing faster-whisper $FASTER_WHISPER (CTranslate2 $CTRANSLATE2) into $VENV" >&2
  mkdir -p "$TOOLS_DIR"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check \
    "faster-whisper==$FASTER_WHISPER" "ctranslate2==$CTRANSLATE2" >&2
  installed || { echo "deps: faster-whisper did not install into $VENV" >&2; exit 1; }
fi
echo "$VENV/bin/python"
