#!/usr/bin/env bash
# Install what building, running and testing nianbao needs, if missing:
# Debian packages (make, which builds the jemalloc allocator; TLS headers;
# ISA-L, which compresses the WARC records;
# pdftotext for PDF reports; tesseract with its Simplified Chinese data for
# scanned ones; openssl and chattr for the tests; wget for the tests that
# import its WARC files; chromium and CJK fonts for the browser test of
# `serve`). Safe to run again; does nothing when all is there.
set -euo pipefail
need=()
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
