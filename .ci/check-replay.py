"""Replay after a recrawl, in pywb: crawl a loopback site twice with the real
nianbao binary (the second crawl finds the report unchanged and writes a
revisit), index the WARC files with nianbao's own CDXJ, start pywb on
loopback, and ask for the report at the latest capture's timestamp. The page's
bytes must come back: a revisit replays as the page, not as an empty 304.

Usage: python3 .ci/check-replay.py target/debug/nianbao
"""
import http.client
import http.server
import json
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BIN = Path(sys.argv[1] if len(sys.argv) > 1 else "target/debug/nianbao").resolve()
REPORT = Path("tests/fixtures/samples/pingtan-2022-report.html").resolve()
LISTING = """<html><head><meta charset="utf-8"><title>政府信息公开年报</title></head><body>
<ul><li><a href="nb2022.html">平潭综合实验区2022年政府信息公开工作年度报告</a></li></ul>
</body></html>"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(site):
    """A static loopback site that answers If-Modified-Since with 304."""
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(*a, directory=str(site), **kw)
    http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def crawl(config):
    run = subprocess.run([str(BIN), "--config", str(config), "crawl", "--no-progress"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, (run.returncode, run.stdout, run.stderr)


def wait_for(port, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"pywb did not listen on 127.0.0.1:{port} within {seconds}s")


def main():
    tmp = Path(tempfile.mkdtemp(prefix="nianbao-replay-"))
    site = tmp / "site"
    site.mkdir()
    (site / "index.html").write_text(LISTING, encoding="utf-8")
    shutil.copy(REPORT, site / "nb2022.html")
    server = serve(site)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    report_url = f"{base}/nb2022.html"
    config = tmp / "nianbao.toml"
    config.write_text(f"""archive = "{tmp / 'archive'}"
[crawl]
per_host_interval_ms = 0
max_retries = 0
[[sources]]
name = "平潭综合实验区管委会"
region = "350128"
start = ["{base}/index.html"]
""", encoding="utf-8")
    crawl(config)
    time.sleep(1.1)  # a later second: a distinct 14-digit timestamp
    crawl(config)
    server.shutdown()

    db = sqlite3.connect(tmp / "archive" / "nianbao.sqlite")
    kinds = db.execute("SELECT record_type, status FROM captures WHERE url = ? ORDER BY id",
                       (report_url,)).fetchall()
    assert kinds == [("response", 200), ("revisit", 304)], kinds

    status = subprocess.run([str(BIN), "--config", str(config), "status", "--json"],
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, (status.stdout, status.stderr)
    status = json.loads(status.stdout)
    assert [r["id"] for r in status["runs"]] == [2, 1] and all(r["finished_at"] for r in status["runs"]), status
    [source] = status["sources"]
    assert (source["region"], source["failures"]) == ("350128", {}) and source["reports"] >= 1, source
    print("ok   nianbao status after two crawls: 2 finished runs, the report pages, region from the archive")

    warcs = sorted((tmp / "archive" / "warc").glob("*.warc.gz"))
    lines = sorted(l for w in warcs for l in Path(str(w) + ".cdxj").read_text(encoding="utf-8").splitlines())
    mine = [l.split(" ", 2) for l in lines if json.loads(l.split(" ", 2)[2])["url"] == report_url]
    latest = max(mine, key=lambda l: l[1])
    assert json.loads(latest[2])["mime"] == "warc/revisit", latest

    root = tmp / "pywb"
    root.mkdir()
    subprocess.run(["wb-manager", "init", "nianbao"], cwd=root, check=True, capture_output=True)
    coll = root / "collections" / "nianbao"
    for w in warcs:
        shutil.copy(w, coll / "archive" / w.name)
    (coll / "indexes" / "index.cdxj").write_text("\n".join(lines) + "\n", encoding="utf-8")
    port = free_port()
    wayback = subprocess.Popen(["wayback", "-p", str(port), "-b", "127.0.0.1", "-t", "1"], cwd=root,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(port)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", f"/nianbao/{latest[1]}id_/{report_url}")
        res = conn.getresponse()
        body = res.read()
        assert res.status == 200, (res.status, res.getheaders(), body[:500])
        assert body == REPORT.read_bytes(), (len(body), REPORT.stat().st_size, body[:300])
    finally:
        wayback.terminate()
        try:
            wayback.wait(timeout=10)
        except subprocess.TimeoutExpired:
            wayback.kill()
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"ok   the latest capture ({latest[1]}, a revisit) of {report_url} replays in pywb as the page")
    print("check-replay: 2 passed, 0 failed")


main()
