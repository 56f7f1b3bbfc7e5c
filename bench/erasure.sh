#!/usr/bin/env bash
# What erasing an account costs: an account with 1,000 meetings (500 segments and a recording
# each) erased through the service — a certificate per meeting and one for the account — beside
# a cascading DELETE of the same rows (the peer, same run). Builds and runs
# crates/core/benches/erasure.rs (bench profile).
#   BENCH_MEETINGS=200 bench/erasure.sh     (default 1000)
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
  "") ;;
  *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac
if [ -n "${BENCH_MEETINGS:-}" ] && ! [[ "$BENCH_MEETINGS" =~ ^[1-9][0-9]*$ ]]; then
  echo "BENCH_MEETINGS must be a positive integer, not '$BENCH_MEETINGS'" >&2
  exit 2
fi
export BENCH_MEETINGS="${BENCH_MEETINGS:-1000}"
echo "building the erasure bench (release profile; the first build takes a while)..." >&2
cargo bench --locked -q -p meetvault-core --features test-access --bench erasure
