#!/usr/bin/env bash
# What encryption at rest costs: blob STREAM encryption/decryption throughput beside a plain
# copy, and a 2,000-segment transcript read decrypted beside the same rows undecrypted, printed
# as ratios. Builds and runs crates/core/benches/encryption.rs (bench profile).
#   BENCH_ITERS=50 bench/encryption.sh     (default 20 reads)
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
echo "building the encryption bench (release profile; the first build takes a while)..." >&2
cargo bench --locked -q -p meetvault-core --features test-access --bench encryption
