#!/usr/bin/env bash
# Hostile pages, measured: peak RSS and time of a crawl that reads one page
# of 30 MB of nested tables, and of pages nested 25k, 50k and 100k elements
# deep (time should double with the depth: discovery and extraction are
# linear). Then the per-page scheduling cost with 1k and 100k URLs known
# (bench_crawl --known). Loopback only.
#
#   bash bench/hostile.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || { echo "needs GNU time: apt-get install time" >&2; exit 1; }
cargo build --release -q
cargo build --release -q --example bench_crawl
bin=$PWD/target/release/nianbao
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import sys
out = sys.argv[1]
with open(f"{out}/nested30.html", "w") as f:
    f.write('<html><head><meta charset="utf-8"><title>2021年政府信息公开工作年度报告</title></head><body>')
    size, n = 0, 0
    while size < 30_000_000:
        chunk = '<table><tr><td>本年新收政府信息公开申请数量</td><td>%d</td></tr><tr><td>' % n
        f.write(chunk); size += len(chunk.encode()); n += 1
        if n % 50 == 0:
            f.write('x</td></tr></table>' * 50); size += 19 * 50
    f.write('</body></html>')
for depth in (25_000, 50_000, 100_000):
    with open(f"{out}/deep{depth}.html", "w") as f:
        f.write('<html><body>' + '<div><a href="x.html">年报</a>' * depth + '</body></html>')
PY
port=$((20000 + RANDOM % 20000))
(cd "$work" && exec python3 -m http.server "$port" --bind 127.0.9.1 >/dev/null 2>&1) &
server=$!
sleep 1
page() {
  local name=$1
  cat > "$work/$name.toml" <<TOML
archive = "$work/archive-$name"
[crawl]
per_host_interval_ms = 0
max_pages_per_source = 3
[[sources]]
name = "$name"
start = ["http://127.0.9.1:$port/$name.html"]
TOML
  local bytes
  bytes=$(stat -c %s "$work/$name.html")
  /usr/bin/time -f "$name ($((bytes / 1000000)) MB): %e s wall, %U s user, peak RSS %M KB" \
    "$bin" --config "$work/$name.toml" crawl --no-progress >/dev/null 2>"$work/$name.err" || true
  tail -1 "$work/$name.err"
}
page nested30
for depth in 25000 50000 100000; do page "deep$depth"; done
kill $server 2>/dev/null || true
for known in 1000 100000; do
  target/release/examples/bench_crawl --hosts 20 --reports 20 --latency-ms 5 --interval-ms 20 --known "$known"
done
