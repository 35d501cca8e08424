#!/usr/bin/env bash
# Extraction throughput, nianbao beside pandas.read_html on the same pages, one
# core each, on the crawl benchmark's farm pages and on real report pages.
# Prints pages/s and MB/s of both, the ratio, and the CPU a crawl spends on a
# page (decode + one tokenising pass + extraction + link discovery).
#
#   bash bench/run.sh [DIR...]     (default: tests/fixtures/samples)
set -euo pipefail
cd "$(dirname "$0")/.."
real=("${@:-tests/fixtures/samples}")
python3 -m pip install -q --disable-pip-version-check pandas lxml >/dev/null
cargo build --release --example bench_extract -q
bin=${CARGO_TARGET_DIR:-target}/release/examples/bench_extract
farm=$(mktemp -d)
trap 'rm -rf "$farm"' EXIT
"$bin" --write-farm "$farm"
rate() { echo "$1" | grep "$2" | sed -E 's/.*: ([0-9.]+) pages\/s.*/\1/'; }
compare() {
  local name=$1
  shift
  echo "== $name: $*"
  local ours theirs
  ours=$(taskset -c 0 "$bin" "$@")
  theirs=$(taskset -c 0 python3 bench/pandas_read_html.py "$@")
  echo "$ours"
  echo "$theirs"
  python3 -c "print(f'$name: nianbao extract / pandas.read_html: {$(rate "$ours" 'nianbao extract') / $(rate "$theirs" pandas):.1f}x')"
}
compare farm "$farm"
compare real "${real[@]}"
