#!/usr/bin/env bash
# Import speed and memory: `nianbao import` of a generated WARC of SIZE_MB
# (default 1024) into an empty archive, in a temporary directory removed
# afterwards. Prints MB/s (of the input file) and the peak resident memory.
#
#   bash bench/import.sh [SIZE_MB]
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-1024}
cargo build --release -q
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 bench/import_warc.py "$work/bench.warc.gz" "$size_mb"
bytes=$(stat -c %s "$work/bench.warc.gz")
start=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$work/rss" target/release/nianbao --config /nonexistent.toml \
  import "$work/bench.warc.gz" --archive "$work/archive" >"$work/out"
end=$(date +%s.%N)
cat "$work/out"
python3 - "$bytes" "$start" "$end" "$(cat "$work/rss")" <<'PY'
import sys
size, start, end, rss = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
secs = end - start
print(f"import: {size / 1e6:.0f} MB in {secs:.1f} s = {size / 1e6 / secs:.1f} MB/s; peak RSS {rss / 1024:.0f} MiB")
PY
