#!/usr/bin/env bash
# Instructions per page, counted by valgrind (cachegrind): a figure the
# machine's speed does not change, for comparing two builds on a machine whose
# speed varies from one minute to the next. Prints, for the extraction
# benchmark's pages (the crawl farm's and tests/fixtures/samples), the
# instructions per page of `extract` and of `crawl-cpu` (see bench/extract.rs),
# and of a whole crawl of a 10-host loopback farm per report page (the fixed
# cost of starting and ending a run included).
#
#   bash bench/instructions.sh [NIANBAO_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "needs valgrind: apt-get install valgrind" >&2; exit 1; }
cargo build --release -q
cargo build --release -q --examples
binary=$(realpath "${1:-target/release/nianbao}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target/release/examples/bench_extract --write-farm "$work/farm"

# Instructions of one run of the command.
count() {
  valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$@" 2>&1 >/dev/null \
    | sed -nE 's/.*I +refs: +([0-9,]+).*/\1/p' | tr -d ,
}

# Instructions per page of a measure: three rounds less one, so that reading
# the pages and starting up are not counted.
per_page() {
  local measure=$1 name=$2 dir=$3 pages=$4 one three
  one=$(BENCH_ONLY=$measure BENCH_ROUNDS=1 count target/release/examples/bench_extract "$dir")
  three=$(BENCH_ONLY=$measure BENCH_ROUNDS=3 count target/release/examples/bench_extract "$dir")
  echo "$measure, $name pages: $(((three - one) / (2 * pages))) instructions per page"
}
farm_pages=$(find "$work/farm" -name '*.html' | wc -l)
real_pages=$(find tests/fixtures/samples -name '*.html' -o -name '*.htm' | wc -l)
for measure in extract crawl-cpu; do
  per_page "$measure" farm "$work/farm" "$farm_pages"
  per_page "$measure" real tests/fixtures/samples "$real_pages"
done

# A crawl through a wrapper that runs the binary under valgrind.
cat >"$work/crawler" <<EOF
#!/bin/sh
exec valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null --log-file="$work/crawl.log" "$binary" "\$@"
EOF
chmod +x "$work/crawler"
target/release/examples/bench_crawl --hosts 10 --reports 20 --latency-ms 0 --interval-ms 50 \
  --binary "$work/crawler" >/dev/null
crawl=$(sed -nE 's/.*I +refs: +([0-9,]+).*/\1/p' "$work/crawl.log" | tr -d ,)
echo "crawl, 10 hosts x 20 reports: $((crawl / 200)) instructions per report page"
