#!/usr/bin/env bash
# Extraction throughput, nianbao beside pandas.read_html on the same pages, one
# core each. Prints both figures and the ratio.
#
#   bash bench/run.sh [DIR...]     (default: tests/fixtures/samples)
set -euo pipefail
cd "$(dirname "$0")/.."
dirs=("${@:-tests/fixtures/samples}")
python3 -m pip install -q --disable-pip-version-check pandas lxml >/dev/null
cargo build --release --example bench_extract -q
ours=$(taskset -c 0 target/release/examples/bench_extract "${dirs[@]}")
theirs=$(taskset -c 0 python3 bench/pandas_read_html.py "${dirs[@]}")
echo "$ours"
echo "$theirs"
a=$(echo "$ours" | sed -E 's/.*: ([0-9.]+) pages\/s.*/\1/')
b=$(echo "$theirs" | sed -E 's/.*: ([0-9.]+) pages\/s.*/\1/')
python3 -c "print(f'nianbao / pandas.read_html: {$a / $b:.1f}x')"
