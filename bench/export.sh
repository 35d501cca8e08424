#!/usr/bin/env bash
# Export time and peak memory: crawl a loopback farm of HOSTS × 20 reports
# (500 × 20 = 10,000 reports by default) into an archive, then export it as
# Parquet and as CSV, and print the archive's sizes.
#
#   bash bench/export.sh [HOSTS]
set -euo pipefail
cd "$(dirname "$0")/.."
hosts="${1:-500}"
command -v /usr/bin/time >/dev/null || { echo "needs GNU time: apt-get install time" >&2; exit 1; }
cargo build --release -q
cargo build --release -q --example bench_crawl
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
ulimit -n 65536 2>/dev/null || true
target/release/examples/bench_crawl --keep "$dir/archive" --hosts "$hosts" --reports 20 \
  --latency-ms 0 --interval-ms 50 >/dev/null
printf 'archive = "%s"\n' "$dir/archive" >"$dir/export.toml"
echo "archive: $(du -sh "$dir/archive/nianbao.sqlite" | cut -f1) SQLite," \
  "$(du -sh "$dir/archive/warc" | cut -f1) WARC"
for format in parquet csv; do
  /usr/bin/time -f "$format: %e s wall, %U s user, peak RSS %M KB" \
    target/release/nianbao --config "$dir/export.toml" export --format "$format" \
    --out "$dir/out-$format" 2>&1 | tail -2
done
