#!/usr/bin/env bash
# Login latency with the real Argon2id parameters (the defaults, OWASP's minimum): a wrong
# password for an existing account against an unknown email, which must cost the same, plus a
# correct login for reference. Builds and runs crates/core/benches/login.rs (bench profile).
#   BENCH_ITERS=50 bench/login.sh     (default 20 logins of each kind)
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
  "") ;;
  *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac
if [ -n "${BENCH_ITERS:-}" ] && ! [[ "$BENCH_ITERS" =~ ^[1-9][0-9]*$ ]]; then
  echo "BENCH_ITERS must be a positive integer, not '$BENCH_ITERS'" >&2
  exit 2
fi
export BENCH_ITERS="${BENCH_ITERS:-20}"
echo "building the login bench (release profile; the first build takes a while)..." >&2
cargo bench --locked -q -p meetvault-core --bench login
