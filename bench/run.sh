#!/usr/bin/env bash
# The API's hot path on a release build, measured with wrk (2 threads) against the bare HTTP
# stack in the same run: /healthz (no I/O), /api/v1/instance (one read, no auth), and
# authenticated reads with an API key — GET /api/v1/me, one meeting, a 20-item meeting list.
# Prints requests/s, p50, p99, the ratio to /healthz and the database queries per request
# (the server's own meetvault_http_request_db_queries), then the p99 of /me and one meeting
# while 50 Argon2id logins are in flight (bench/login_storm.py) beside their quiet p99, at
# full speed and paced to 4,000 requests/s (bench/paced.lua), on
# SQLite and — with --postgres — on PostgreSQL (scripts/services.sh starts one on loopback
# unless TEST_POSTGRES_URL is set).
#   bench/run.sh [--duration SECS] [--connections N] [--postgres]   (BENCH_BIN=path: that binary)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=10
CONNECTIONS=64
POSTGRES=0
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --postgres) POSTGRES=1; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

scripts/deps.sh wrk
if [ -n "${BENCH_BIN:-}" ]; then
  BIN=$(realpath "$BENCH_BIN")  # a binary already built (e.g. to try this script quickly)
else
  echo "building release binary..." >&2
  cargo build --release --locked -q -p meetvault
  BIN=$(realpath "${CARGO_TARGET_DIR:-target}/release/meetvault")
fi

work=$(mktemp -d)
server_pid=""
services_dir=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ -n "$services_dir" ]; then scripts/services.sh stop "$services_dir" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

measure() {  # connections path [header] [wrk script] -> "rps p50 p99"
  local out args=(-t2 -c"$1" -d"${DURATION}s" --latency)
  if [ -n "${3:-}" ]; then args+=(-H "$3"); fi
  if [ -n "${4:-}" ]; then args+=(-s "$4"); fi
  out=$(wrk "${args[@]}" "http://$addr$2")
  if echo "$out" | grep -q "Non-2xx"; then echo "$out" >&2; echo "non-2xx answers on $2" >&2; exit 1; fi
  local rps p50 p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  echo "$rps $p50 $p99"
}

queries() {  # route template -> mean database queries per request (from the server's metrics)
  curl -fsS "http://$addr/metrics" | awk -v r="route=\"$1\"" '
    index($0, "meetvault_http_request_db_queries_sum{") == 1 && index($0, r) && index($0, "status=\"200\"") { s += $2 }
    index($0, "meetvault_http_request_db_queries_count{") == 1 && index($0, r) && index($0, "status=\"200\"") { c += $2 }
    END { if (c > 0) printf "%.1f", s / c; else printf "-" }'
}

run() {  # label [database url]
  local label=$1 url=${2:-} data
  data=$(mktemp -d -p "$work")
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  addr=127.0.0.1:$port
  local args=(serve --listen "$addr" --log-level warn --data-dir "$data")
  if [ -n "$url" ]; then args+=(--database-url "$url"); fi
  # Request logs at info would measure log writing, not serving: warnings only.
  # Rate limits raised so the login storm below hashes every attempt (a refused one costs nothing).
  (cd "$data" && MEETVAULT_RATE_LIMIT__ATTEMPTS=1000000 exec ${BENCH_ENV:-} "$BIN" "${args[@]}" >"$data/log" 2>&1) &
  server_pid=$!
  for _ in $(seq 1 400); do
    curl -fsS -o /dev/null "http://$addr/healthz" 2>/dev/null && break
    sleep 0.05
  done
  curl -fsS -o /dev/null "http://$addr/api/v1/instance" || { echo "the server did not start:" >&2; cat "$data/log" >&2; exit 1; }
  local key meeting
  read -r key meeting < <(python3 bench/hotpath_setup.py "http://$addr" 25)
  local auth="Authorization: Bearer $key"

  wrk -t2 -c"$CONNECTIONS" -d2s "http://$addr/healthz" >/dev/null  # warm-up
  local rows=() h_rps
  read -r h_rps h_p50 h_p99 < <(measure "$CONNECTIONS" /healthz)
  rows+=("/healthz|$CONNECTIONS|$h_rps|$h_p50|$h_p99|-")
  local spec c path route header rps p50 p99
  for spec in \
    "16|/api/v1/instance|/api/v1/instance|" \
    "16|/api/v1/me|/api/v1/me|$auth" \
    "$CONNECTIONS|/api/v1/me|/api/v1/me|$auth" \
    "$CONNECTIONS|/api/v1/meetings/$meeting|/api/v1/meetings/{id}|$auth" \
    "$CONNECTIONS|/api/v1/meetings?limit=20|/api/v1/meetings|$auth"; do
    IFS='|' read -r c path route header <<<"$spec"
    read -r rps p50 p99 < <(measure "$c" "$path" "$header")
    rows+=("$route${path#"${path%%\?*}"}|$c|$rps|$p50|$p99|$(queries "$route")")
  done
  # The login storm: reads quiet, then with 50 Argon2id logins in flight; as fast as 16
  # connections go (the cores saturated: p99 is queueing) and paced (bench/paced.lua).
  local storm=() quiet loud logins load script
  for spec in "/api/v1/me|/api/v1/me" "/api/v1/meetings/$meeting|/api/v1/meetings/{id}"; do
    IFS='|' read -r path route <<<"$spec"
    for load in "16|" "8|bench/paced.lua"; do
      IFS='|' read -r c script <<<"$load"
      read -r _ _ quiet < <(measure "$c" "$path" "$auth" "$script")
      python3 bench/login_storm.py "http://$addr" "$((DURATION + 2))" 50 >"$data/storm" &
      local storm_pid=$!
      sleep 1
      read -r rps _ loud < <(measure "$c" "$path" "$auth" "$script")
      wait "$storm_pid"
      read -r logins _ _ <"$data/storm"
      storm+=("$route|$c${script:+ paced}|$quiet|$loud|$rps|$logins")
    done
  done
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""

  echo
  echo "meetvault $("$BIN" --version | cut -d' ' -f2), $(nproc) cores, wrk -t2 -d${DURATION}s, $label"
  printf '%-34s %5s %12s %9s %9s %9s %8s\n' route conns "requests/s" p50 p99 ratio queries
  local row
  for row in "${rows[@]}"; do
    IFS='|' read -r route c rps p50 p99 q <<<"$row"
    printf '%-34s %5s %12s %9s %9s %9s %8s\n' "$route" "$c" "$rps" "$p50" "$p99" \
      "$(awk -v d="$rps" -v h="$h_rps" 'BEGIN { printf "%.3f", d / h }')" "$q"
  done
  echo
  echo "during a login storm (50 Argon2id logins in flight, $(nproc) cores):"
  printf '%-34s %9s %10s %10s %8s %12s %8s\n' route conns "quiet p99" "storm p99" ratio "requests/s" logins
  for row in "${storm[@]}"; do
    IFS='|' read -r route c quiet loud rps logins <<<"$row"
    printf '%-34s %9s %10s %10s %8s %12s %8s\n' "$route" "$c" "$quiet" "$loud" \
      "$(awk -v q="$quiet" -v l="$loud" 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; return v * 1000 } BEGIN { printf "%.2f", ms(l) / ms(q) }')" \
      "$rps" "$logins"
  done
}

run SQLite
if [ "$POSTGRES" = 1 ]; then
  pg=${TEST_POSTGRES_URL:-}
  if [ -z "$pg" ]; then
    scripts/services.sh start >"$work/services.env"
    # shellcheck disable=SC1091
    . "$work/services.env"
    services_dir=$SERVICES_DIR
    pg=$TEST_POSTGRES_URL
  fi
  db="bench_$$"
  psql "$pg" -qc "CREATE DATABASE $db" >/dev/null
  run PostgreSQL "${pg%/*}/$db"
  psql "$pg" -qc "DROP DATABASE $db WITH (FORCE)" >/dev/null
fi
