#!/usr/bin/env bash
# HTTP throughput and latency of a release build, measured with wrk (64 connections, 10 s each)
# on /healthz (no I/O) and /api/v1/instance (a database round trip on SQLite), and printed as a
# table with the database route's ratio to /healthz from the same run.
#   bench/run.sh [--duration SECS] [--connections N]
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=10
CONNECTIONS=64
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

scripts/deps.sh wrk
echo "building release binary..." >&2
cargo build --release --locked -q -p meetvault
BIN=$(realpath "${CARGO_TARGET_DIR:-target}/release/meetvault")

work=$(mktemp -d)
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
addr=127.0.0.1:$port
# Request logs at info would measure log writing, not serving: warnings only.
(cd "$work" && exec "$BIN" serve --listen "$addr" --log-level warn >"$work/log" 2>&1) &
server_pid=$!
for _ in $(seq 1 200); do
  curl -fsS -o /dev/null "http://$addr/healthz" 2>/dev/null && break
  sleep 0.05
done
curl -fsS -o /dev/null "http://$addr/api/v1/instance" || { echo "the server did not start:" >&2; cat "$work/log" >&2; exit 1; }

measure() {  # path -> "rps p50 p99"
  local out
  out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://$addr$1")
  if echo "$out" | grep -q "Non-2xx"; then echo "$out" >&2; echo "non-2xx answers on $1" >&2; exit 1; fi
  local rps p50 p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  echo "$rps $p50 $p99"
}

wrk -t2 -c"$CONNECTIONS" -d2s "http://$addr/healthz" >/dev/null  # warm-up
read -r h_rps h_p50 h_p99 < <(measure /healthz)
read -r d_rps d_p50 d_p99 < <(measure /api/v1/instance)

echo
echo "meetvault $("$BIN" --version | cut -d' ' -f2), $(nproc) cores, wrk -t2 -c$CONNECTIONS -d${DURATION}s, SQLite"
printf '%-20s %12s %10s %10s\n' route "requests/s" p50 p99
printf '%-20s %12s %10s %10s\n' /healthz "$h_rps" "$h_p50" "$h_p99"
printf '%-20s %12s %10s %10s\n' /api/v1/instance "$d_rps" "$d_p50" "$d_p99"
awk -v d="$d_rps" -v h="$h_rps" 'BEGIN { printf "database route / healthz throughput: %.2f\n", d / h }'
