#!/usr/bin/env bash
# Fuzz decode + extract for a bounded time (default 600 s), seeded with the
# test fixtures. A crash leaves its input in fuzz/artifacts/extract/: copy it to
# tests/fixtures/fuzz/ so that tests/fuzz_regressions.rs keeps it fixed.
#
#   cargo install cargo-fuzz && bash fuzz/run.sh 600
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-600}
mkdir -p corpus/extract
cp ../tests/fixtures/samples/*.html ../tests/fixtures/samples/*.txt ../tests/fixtures/fuzz/* corpus/extract/ 2>/dev/null || true
# cargo-fuzz passes -Z flags; RUSTC_BOOTSTRAP lets a stable toolchain accept them.
RUSTC_BOOTSTRAP=1 cargo fuzz run extract corpus/extract -- \
  -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096 -timeout=20
