#!/usr/bin/env bash
# Crawl throughput against the politeness bound on a loopback farm: for each
# farm size, efficiency (bound / wall), CPU per page, per-host gaps, peak RSS.
#
#   bash bench/crawl.sh                     (50, 200 and 1,000 hosts × 20 reports,
#                                            then 200 hosts with 100k known URLs)
#   bash bench/crawl.sh --hosts 200 --reports 20 --latency-ms 50 --interval-ms 200
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || { echo "needs GNU time: apt-get install time" >&2; exit 1; }
cargo build --release -q
cargo build --release -q --example bench_crawl
run() { target/release/examples/bench_crawl "$@"; }
if [ $# -gt 0 ]; then
  run "$@"
  exit
fi
# Many hosts keep many sockets open at once.
ulimit -n 65536 2>/dev/null || true
for hosts in 50 200 1000; do
  run --hosts "$hosts" --reports 20 --latency-ms 50 --interval-ms 200
done
run --hosts 200 --reports 20 --latency-ms 50 --interval-ms 200 --known 100000
