#!/usr/bin/env bash
# Local transcription speed and accuracy beside faster-whisper, on the same files, the same model
# folder (Whisper tiny.en, CTranslate2) and the same thread count, in one run: meetvault with
# --compute-type int8 and f32, faster-whisper int8 and float32. Prints the CPU's flags and a table:
# audio seconds, wall seconds (model load + transcription, whole process), user CPU seconds,
# real-time factor, peak RSS, word error rate, and meetvault's wall time as a ratio of each
# faster-whisper run; then the encoder alone on one 30-s window in each engine (where the time
# goes).
#   bench/transcribe.sh                 beam 1 and 5, 2 threads
#   BENCH_THREADS=1 bench/transcribe.sh
#   BENCH_MODEL=DIR bench/transcribe.sh another CTranslate2 model folder (default: tiny.en)
#   BENCH_REPEAT=5 bench/transcribe.sh  runs per engine (default 3, interleaved); the table
#                                       shows each one's median
#   bench/transcribe.sh held-out.wav    also a recording of your own (16 kHz mono WAV), its
#                                       spoken text in held-out.ref beside it
# Both engines decode alike: language en, no previous-text conditioning (meetvault's default),
# their own VAD (meetvault's energy detector, faster-whisper's Silero).
# Installs what it lacks: espeak-ng, ffmpeg, time (Debian); faster-whisper (PyPI, pinned, in
# ~/.cache/meetvault-tools/fw-venv: scripts/faster-whisper.sh); the model (scripts/models.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

EXTRA=()
for arg in "$@"; do
  case "$arg" in
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *.wav)
      [ -f "$arg" ] && [ -f "${arg%.wav}.ref" ] \
        || { echo "$arg and ${arg%.wav}.ref (its text) must both exist" >&2; exit 2; }
      EXTRA+=("$(realpath "$arg")") ;;
    *) echo "unknown argument: $arg (see --help)" >&2; exit 2 ;;
  esac
done
THREADS="${BENCH_THREADS:-2}"
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || { echo "BENCH_THREADS must be a positive integer" >&2; exit 2; }

TOOLS_DIR="${MEETVAULT_TOOLS_DIR:-$HOME/.cache/meetvault-tools}"
scripts/deps.sh time >/dev/null
# BENCH_MODEL=DIR measures another CTranslate2 model folder (e.g. the multilingual base).
MODEL="${BENCH_MODEL:-$(scripts/models.sh "$TOOLS_DIR/models")}"
FW_PYTHON="$(scripts/faster-whisper.sh)"

echo "bench: building meetvault (release)..." >&2
cargo build --locked -q --release -p meetvault
BIN=target/release/meetvault

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# Two recordings of known text: ~70 s read by one voice, and ~25 s by another.
"$FW_PYTHON" bench/transcribe_peer.py make-audio "$WORK" >&2
for file in ${EXTRA[@]+"${EXTRA[@]}"}; do
  cp "$file" "$WORK/$(basename "$file")"
  cp "${file%.wav}.ref" "$WORK/$(basename "${file%.wav}").ref"
done

RESULTS="$WORK/results.tsv"
: > "$RESULTS"
measure() { # name file cmd...  -> appends "name file wall_s user_s peak_kb textfile"
  local name="$1" file="$2"; shift 2
  local out="$WORK/${name//\//-}-$(basename "$file").txt"
  /usr/bin/time -f '%e %U %M' -o "$WORK/time" "$@" > "$out"
  read -r wall user rss < "$WORK/time"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$file" "$wall" "$user" "$rss" "$out" >> "$RESULTS"
}
REPEAT="${BENCH_REPEAT:-3}"
[[ "$REPEAT" =~ ^[1-9][0-9]*$ ]] || { echo "BENCH_REPEAT must be a positive integer" >&2; exit 2; }
for round in $(seq "$REPEAT"); do
for file in "$WORK"/*.wav; do
  for beam in 1 5; do
    echo "bench: round $round/$REPEAT, $(basename "$file") beam $beam" >&2
    for compute in int8 f32; do
      RAYON_NUM_THREADS="$THREADS" measure "meetvault-$compute/beam$beam" "$file" \
        "$BIN" transcribe "$file" --model "$MODEL" --beam "$beam" --language en --json \
        --compute-type "$compute"
    done
    for compute in int8 float32; do
      measure "faster-whisper-$compute/beam$beam" "$file" \
        "$FW_PYTHON" bench/transcribe_peer.py run "$MODEL" "$compute" "$beam" "$THREADS" "$file"
    done
  done
done
done
BENCH_MODEL="$MODEL" "$FW_PYTHON" bench/transcribe_peer.py table "$WORK" "$RESULTS" "$THREADS"

# Where the time goes: the encoder alone on one 30-s window (median of 5), both engines.
echo "bench: encoder alone" >&2
cargo bench --locked -q -p meetvault-whisper --bench transcribe --no-run
LONG="$(ls "$WORK"/long-*.wav | head -n 1)"
echo
echo "Encoder on one 30-s window, median of 5 (meetvault adds the cross-attention keys/values and one decoder step):"
# Both compute types run the encoder in f32 (int8 is the decoder's), so one run stands for both.
secs=$(RAYON_NUM_THREADS="$THREADS" cargo bench --locked -q -p meetvault-whisper --bench transcribe -- \
  "$LONG" --model "$MODEL" --encoder-only 5 | sed -n 's/^encoder_secs=//p')
echo "  meetvault (f32): ${secs} s"
for compute in int8 float32; do
  echo "  faster-whisper $compute: $("$FW_PYTHON" bench/transcribe_peer.py encode "$MODEL" "$compute" "$THREADS" "$LONG" 5) s"
done
