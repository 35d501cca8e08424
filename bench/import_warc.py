"""Write a large WARC/1.1 file (one gzip member per record) for bench/import.sh:
request/response pairs of the sample report pages of tests/fixtures/samples,
one in every five responses, among responses of incompressible images, as a
crawl of whole sites holds them.

    python3 bench/import_warc.py OUT.warc.gz SIZE_MB
"""
import gzip
import hashlib
import base64
import os
import sys
import uuid

SAMPLES = ["pingtan-2019-report.html", "pingtan-2022-report.html"]


def member(fields, block):
    head = "WARC/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields)
    head += f"Content-Length: {len(block)}\r\n\r\n"
    return gzip.compress(head.encode() + block + b"\r\n\r\n", compresslevel=1)


def response(url, content_type, body, n):
    block = (
        f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    digest = "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode()
    second = n % 60
    return member(
        [
            ("WARC-Type", "response"),
            ("WARC-Record-ID", f"<urn:uuid:{uuid.uuid4()}>"),
            ("WARC-Date", f"2021-03-04T05:06:{second:02d}Z"),
            ("WARC-Target-URI", url),
            ("WARC-IP-Address", "10.0.0.1"),
            ("Content-Type", "application/http; msgtype=response"),
            ("WARC-Payload-Digest", digest),
        ],
        block,
    )


def main():
    out, size_mb = sys.argv[1], int(sys.argv[2])
    here = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "samples")
    pages = [open(os.path.join(here, s), "rb").read() for s in SAMPLES]
    limit = size_mb * 1024 * 1024
    written = 0
    n = 0
    with open(out, "wb") as f:
        info = member(
            [
                ("WARC-Type", "warcinfo"),
                ("WARC-Record-ID", f"<urn:uuid:{uuid.uuid4()}>"),
                ("WARC-Date", "2021-03-04T05:06:00Z"),
                ("Content-Type", "application/warc-fields"),
            ],
            b"software: bench-generator/1.0\r\n",
        )
        f.write(info)
        written += len(info)
        while written < limit:
            if n % 5 == 0:
                body = pages[(n // 5) % len(pages)]
                rec = response(f"http://gov.example.cn/nb/{n}.html", "text/html; charset=utf-8", body, n)
            else:
                rec = response(f"http://gov.example.cn/img/{n}.jpg", "image/jpeg", os.urandom(96 * 1024), n)
            f.write(rec)
            written += len(rec)
            n += 1
    print(f"wrote {written / 1e6:.0f} MB, {n} responses", file=sys.stderr)


main()
