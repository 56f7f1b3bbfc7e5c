#!/usr/bin/env bash
# Meeting intelligence on this machine, beside llama.cpp on the same GGUF file: the embedded
# chat model's prompt and generation tokens per second (SmolLM2-135M-Instruct Q4_1, meetvault on
# candle vs llama.cpp through llama-cpp-python, same prompt, same thread count), embeddings per
# second (all-MiniLM-L6-v2), the summary of a one-hour transcript, search p50/p99 over 1,000
# meetings, and the evaluation set (bench/intelligence-eval.json: action items against
# hand-written gold lists, answer support, "not found"), for the embedded path and for a remote
# model: llama.cpp's OpenAI-compatible server on loopback (structured outputs by JSON schema)
# serving the same SmolLM2 file, or BENCH_REMOTE_GGUF (any larger Llama-family GGUF you have),
# or an already running server named by BENCH_REMOTE_URL (http://127.0.0.1:PORT/v1) and
# BENCH_REMOTE_MODEL (BENCH_REMOTE_KEY: its key). Prints a table with meetvault ÷ llama.cpp
# ratios.
#   bench/intelligence.sh
#   BENCH_THREADS=1 bench/intelligence.sh
# Installs what it lacks: the models (scripts/models.sh) and llama-cpp-python with its server
# (PyPI, pinned, in ~/.cache/meetvault-tools/llama-venv; it compiles llama.cpp: about 8 minutes
# on 2 cores, once).
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in -h|--help) sed -n '2,17p' "$0"; exit 0 ;; "") ;; *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;; esac
THREADS="${BENCH_THREADS:-2}"
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || { echo "BENCH_THREADS must be a positive integer" >&2; exit 2; }
TOOLS_DIR="${MEETVAULT_TOOLS_DIR:-$HOME/.cache/meetvault-tools}"
MODELS="$TOOLS_DIR/models"
scripts/models.sh --model smollm2 "$MODELS" >/dev/null
scripts/models.sh --model minilm "$MODELS" >/dev/null
LLAMA_VENV="$TOOLS_DIR/llama-venv"
if ! "$LLAMA_VENV/bin/python" -c "import llama_cpp.server, uvicorn" 2>/dev/null; then
  echo "bench: installing llama-cpp-python[server]==0.3.36 into $LLAMA_VENV (builds llama.cpp, ~8 min)" >&2
  [ -x "$LLAMA_VENV/bin/python" ] || python3 -m venv "$LLAMA_VENV"
  "$LLAMA_VENV/bin/python" -m pip install -q --disable-pip-version-check 'llama-cpp-python[server]==0.3.36' >&2
fi

WORK="$(mktemp -d)"
SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
REMOTE_URL="${BENCH_REMOTE_URL:-}"
REMOTE_MODEL="${BENCH_REMOTE_MODEL:-}"
if [ -z "$REMOTE_URL" ]; then
  GGUF="${BENCH_REMOTE_GGUF:-$MODELS/smollm2-135m-instruct/model.gguf}"
  PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  REMOTE_MODEL="$(basename "$(dirname "$GGUF")")"
  echo "bench: llama.cpp's server on 127.0.0.1:$PORT with $GGUF (the remote model)..." >&2
  "$LLAMA_VENV/bin/python" -m llama_cpp.server --model "$GGUF" --model_alias "$REMOTE_MODEL" \
    --host 127.0.0.1 --port "$PORT" --n_ctx 8192 --n_threads "$THREADS" > "$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  REMOTE_URL="http://127.0.0.1:$PORT/v1"
  for _ in $(seq 1 120); do
    curl -sf "$REMOTE_URL/models" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; echo "bench: llama.cpp's server did not start" >&2; exit 1; }
    sleep 1
  done
  curl -sf "$REMOTE_URL/models" >/dev/null || { echo "bench: llama.cpp's server did not answer" >&2; exit 1; }
fi
[ -n "$REMOTE_MODEL" ] || { echo "BENCH_REMOTE_URL needs BENCH_REMOTE_MODEL" >&2; exit 2; }
echo "bench: building and running meetvault's intelligence bench (release)..." >&2
RAYON_NUM_THREADS="$THREADS" cargo bench --locked -q -p meetvault-intel --bench intelligence -- \
  "$MODELS" "$PWD/bench/intelligence-eval.json" --prompt-out "$WORK/prompt.txt" \
  --remote "$REMOTE_URL" "$REMOTE_MODEL" > "$WORK/ours.tsv"
if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; fi
echo "remote model: $REMOTE_MODEL at $REMOTE_URL"
echo "bench: llama.cpp on the same prompt..." >&2
"$LLAMA_VENV/bin/python" bench/intelligence_peer.py "$MODELS/smollm2-135m-instruct/model.gguf" \
  "$WORK/prompt.txt" "$THREADS" > "$WORK/peer.tsv"

grep -m1 -o 'model name.*' /proc/cpuinfo | sed 's/^/cpu: /' || true
echo "threads: $THREADS"
python3 - "$WORK/ours.tsv" "$WORK/peer.tsv" <<'PY'
import sys
ours = dict(l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if "\t" in l)
peer = dict(l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if "\t" in l)
print("ratio: meetvault ÷ llama.cpp, throughput (below 1: meetvault is slower)")
print(f"{'measure':34} {'meetvault':>12} {'llama.cpp':>12} {'ratio':>8}")
for k, v in ours.items():
    p = peer.get(k)
    try:
        ratio = f"{float(v) / float(p):.2f}" if p and float(p) else ""
    except ValueError:
        ratio = ""
    print(f"{k:34} {v:>12} {p or '':>12} {ratio:>8}")
PY
