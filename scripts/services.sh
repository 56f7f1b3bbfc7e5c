#!/usr/bin/env bash
# Starts or stops the loopback services the test suite runs against:
#   scripts/services.sh start        starts PostgreSQL, the S3 server (moto) and Redis on free
#                                    loopback ports and prints `export` lines for
#                                    TEST_POSTGRES_URL, TEST_S3_ENDPOINT, TEST_REDIS_URL and
#                                    SERVICES_DIR (use with eval)
#   scripts/services.sh stop DIR     stops the services started in DIR and removes it
# Nothing listens on anything but 127.0.0.1.
set -euo pipefail

TOOLS_DIR="${MEETVAULT_TOOLS_DIR:-$HOME/.cache/meetvault-tools}"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] || { echo "services: PostgreSQL is not installed; run scripts/deps.sh" >&2; exit 1; }
  echo "$dir"
}

# PostgreSQL refuses to run as root: use the postgres account the Debian package creates.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  local dir pg_port s3_port redis_port bin
  dir=$(mktemp -d /tmp/meetvault-services.XXXXXX)
  chmod 755 "$dir"
  bin=$(pg_bin)
  pg_port=$(free_port)
  mkdir -p "$dir/pg"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir/pg"
  as_pg "$bin/initdb" -D "$dir/pg/data" -U postgres -A trust --no-sync >"$dir/pg-init.log" 2>&1 \
    || { cat "$dir/pg-init.log" >&2; exit 1; }
  as_pg "$bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $dir/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null || { cat "$dir/pg/server.log" >&2; exit 1; }

  s3_port=$(free_port)
  "$TOOLS_DIR/venv/bin/moto_server" -H 127.0.0.1 -p "$s3_port" >"$dir/moto.log" 2>&1 &
  echo $! >"$dir/moto.pid"
  for _ in $(seq 1 150); do
    curl -fsS -o /dev/null "http://127.0.0.1:$s3_port/moto-api/" 2>/dev/null && break
    sleep 0.2
  done
  curl -fsS -o /dev/null "http://127.0.0.1:$s3_port/moto-api/" \
    || { echo "services: the S3 server did not start:" >&2; cat "$dir/moto.log" >&2; exit 1; }

  # Unlike PostgreSQL, Redis accepts root, so it runs as whoever runs this; it persists nothing.
  command -v redis-server >/dev/null \
    || { echo "services: Redis is not installed; run scripts/deps.sh" >&2; exit 1; }
  redis_port=$(free_port)
  mkdir -p "$dir/redis"
  redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
    --daemonize no --dir "$dir/redis" >"$dir/redis.log" 2>&1 &
  echo $! >"$dir/redis.pid"
  for _ in $(seq 1 150); do
    [ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" = PONG ] && break
    sleep 0.2
  done
  [ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" = PONG ] \
    || { echo "services: Redis did not start:" >&2; cat "$dir/redis.log" >&2; exit 1; }

  echo "export SERVICES_DIR=$dir"
  echo "export TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$pg_port/postgres"
  echo "export TEST_S3_ENDPOINT=http://127.0.0.1:$s3_port"
  echo "export TEST_REDIS_URL=redis://127.0.0.1:$redis_port"
}

stop() {
  local dir=${1:?usage: services.sh stop DIR}
  [ -d "$dir" ] || return 0
  if [ -f "$dir/moto.pid" ]; then kill "$(cat "$dir/moto.pid")" 2>/dev/null || true; fi
  if [ -f "$dir/redis.pid" ]; then kill "$(cat "$dir/redis.pid")" 2>/dev/null || true; fi
  if [ -d "$dir/pg/data" ]; then as_pg "$(pg_bin)/pg_ctl" -D "$dir/pg/data" -m immediate stop >/dev/null 2>&1 || true; fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: scripts/services.sh start | stop DIR" >&2; exit 2 ;;
esac
