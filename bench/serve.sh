#!/usr/bin/env bash
# `nianbao serve` on a generated archive of 100k reports: p50/p95/max latency
# of the overview, a reports list, a searched and filtered list, a report page
# and an agency page, and the server's peak RSS.
#
#   bash bench/serve.sh                      (100,000 reports, 200 requests a page)
#   bash bench/serve.sh --reports 20000 --requests 100 --archive /tmp/bench-archive
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
cargo build --release -q --example bench_serve
target/release/examples/bench_serve --bin target/release/nianbao "$@"
