#!/usr/bin/env bash
# N concurrent meeting bots in N testmeet rooms (two people speaking in each) on this machine:
# prints, per N, the tracks captured, audio lost % (mean and worst track, the bots' own count),
# admission to first stored audio, CPU cores and PSS per bot (the `meetvault bot run` process
# and its whole Chromium tree, sampled from /proc), the machine's busy cores, live-segment
# latency (n/a while the server sends no live segments), and the largest N with < 0.1% loss.
# Builds and runs crates/meetvault/benches/bots (release profile: the server, testmeet and the
# speakers' Chromiums in the bench process, each bot a real `meetvault bot run`).
#   bench/bots.sh                          N = 1,2,3,4, 60 s of recording each
#   bench/bots.sh --bots 1,2 --secs 30
#   bench/bots.sh --transcribe             Whisper tiny.en on, to time live segments
#   bench/bots.sh --transcribe --compute-type int8   the same, the engine in int8
set -euo pipefail
cd "$(dirname "$0")/.."

for arg in "$@"; do
  case "$arg" in
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
  esac
done

scripts/deps.sh >/dev/null
echo "bench: building meetvault and the bots bench (release profile; the first build takes a while)..." >&2
cargo bench --locked -q -p meetvault --bench bots --no-run
echo "bench: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
cargo bench --locked -q -p meetvault --bench bots -- "$@"
