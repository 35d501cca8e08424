"""pandas.read_html (lxml) over the same pages, for comparison: pages/s and MB/s.

    python3 bench/pandas_read_html.py tests/fixtures/samples
"""
import io
import pathlib
import sys
import time

import pandas as pd

pages = [p.read_bytes() for d in sys.argv[1:] for p in sorted(pathlib.Path(d).glob("*.htm*"))]
size = sum(len(p) for p in pages)
start = time.perf_counter()
rounds = tables = 0
while time.perf_counter() - start < 4:
    for page in pages:
        try:
            tables += len(pd.read_html(io.BytesIO(page), flavor="lxml"))
        except ValueError:
            pass
    rounds += 1
secs = time.perf_counter() - start
n = rounds * len(pages)
print(f"pandas.read_html: {len(pages)} pages ({size / 1e6:.2f} MB) x {rounds} rounds in {secs:.2f} s: "
      f"{n / secs:.1f} pages/s, {rounds * size / 1e6 / secs:.2f} MB/s, {secs * 1e3 / n:.3f} ms/page, "
      f"{tables // max(rounds, 1)} tables/round")
