#!/usr/bin/env bash
# Install what building, running and testing nianbao needs, if missing:
# Debian packages (make, which builds the jemalloc allocator; TLS headers;
# ISA-L, which compresses the WARC records;
# pdftotext for PDF reports; tesseract with its Simplified Chinese data for
# scanned ones; openssl and chattr for the tests; wget for the tests that
# import its WARC files; chromium and CJK fonts for the browser test of
# `serve`), then the Python readers the tests check their output with
# (`.ci/requirements.txt`: warcio, pandas, pywb, …). Safe to run again; does
# nothing when all is there.
set -euo pipefail
need=()
command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
for pkg in pkg-config make libssl-dev libisal-dev openssl poppler-utils tesseract-ocr tesseract-ocr-chi-sim e2fsprogs wget chromium fonts-noto-cjk; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "install a Rust toolchain first: https://rustup.rs" >&2; exit 1; }
# The tests run warcio, cdxj-indexer, pywb and py-wacz on what they wrote.
requirements="$(dirname "$0")/../.ci/requirements.txt"
if ! python3 -m pip install -q --disable-pip-version-check -r "$requirements" 2>/dev/null; then
  # A Debian python3 refuses system-wide installs (PEP 668) unless told.
  python3 -m pip install -q --disable-pip-version-check --break-system-packages -r "$requirements"
fi
