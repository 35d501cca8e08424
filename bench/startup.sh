#!/usr/bin/env bash
# Start-up on a large archive: crawl a loopback farm into an archive, grow it
# to GB gigabytes of WARC files (copies of its files, with their index rows),
# then crawl one host into it and print how long the run took to send its
# first request.
#
#   bash bench/startup.sh               (10 GB)
#   bash bench/startup.sh 2 [DIR]       (2 GB; the archive made in DIR and kept)
set -euo pipefail
cd "$(dirname "$0")/.."
gb="${1:-10}"
cargo build --release -q
cargo build --release -q --example bench_crawl
if [ -n "${2:-}" ]; then
  dir="$2"
  mkdir -p "$dir"
else
  dir="$(mktemp -d)"
  trap 'rm -rf "$dir"' EXIT
fi
crawl() { target/release/examples/bench_crawl --keep "$dir/archive" "$@"; }
crawl --hosts 100 --reports 20 --latency-ms 0 --interval-ms 50 >/dev/null
python3 bench/grow_archive.py "$dir/archive" --gb "$gb"
echo "start-up on it (the 'first request at' figure):"
crawl --hosts 1 --reports 1 --latency-ms 0 --interval-ms 50 --name "startup-$(date +%s)-"
