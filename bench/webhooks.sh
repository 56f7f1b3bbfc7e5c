#!/usr/bin/env bash
# Webhook delivery on this machine: deliveries per second and event-to-delivery latency (p50,
# p99; under a burst and at a light paced load) at 1, 10 and 100 endpoints, and the drain of
# 10,000 deliveries queued while the receiver answered 503 (10 endpoints × 1,000 and 100 × 100,
# retry_delays_ms = [1000; 7]), each beside a plain reqwest client's ceiling to the same kind of
# receiver in the same run (the ratio), at webhooks.poll_ms 500 (the default) and 50. Builds and
# runs crates/meetvault/benches/webhooks.rs (release profile; the whole app in-process on SQLite,
# the receiver on 127.0.0.1).
#   bench/webhooks.sh                                  everything (about two minutes)
#   bench/webhooks.sh --poll-ms 500 --no-drain         throughput and latency at the default
#   bench/webhooks.sh --endpoints 10 --events 500      one throughput round (and the drains)
#   bench/webhooks.sh --drain 1x500,4x500,10x500       drains of other shapes (endpoints x each)
#   bench/webhooks.sh --json                           the tables, then the results as JSON
set -euo pipefail
cd "$(dirname "$0")/.."

for arg in "$@"; do
  case "$arg" in
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
  esac
done

export TEST_DATABASE=sqlite TEST_BLOBS=filesystem
echo "bench: building meetvault and the webhooks bench (release profile; the first build takes a while)..." >&2
cargo bench --locked -q -p meetvault --bench webhooks --no-run
echo "bench: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
cargo bench --locked -q -p meetvault --bench webhooks -- "$@"
