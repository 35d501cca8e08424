"""Load the exports the tests wrote with pandas, pyarrow, polars and DuckDB
(their default readers, checking the types they infer against
datapackage.json), and compare the CDXJ nianbao wrote with what
cdxj-indexer writes for the same WARC files.

Usage: python3 .ci/check-export.py target/tmp/ci-export
"""
import hashlib
import io
import json
import math
import sys
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from cdxj_indexer.main import write_cdx_index
from warcio.archiveiterator import ArchiveIterator

ROOT = Path(sys.argv[1] if len(sys.argv) > 1 else "target/tmp/ci-export")
# The archive the tests build: 4 reports (one captured twice), 27 figures, 8 identity results.
EXPECTED_ROWS = {
    "reports": 4, "cells": 27, "checks": 8, "captures": 5,
    "wide_proactive": 3, "wide_requests": 3, "wide_appeals": 2, "wide_headline": 1,
}
passed = 0


def check(name, fn):
    global passed
    fn()
    passed += 1
    print(f"ok   {name}")


def load(fmt, table):
    path = ROOT / fmt / f"{table}.{fmt}"
    if fmt == "csv":
        return pd.read_csv(path, encoding="utf-8", keep_default_na=False, na_values=[""],
                           dtype={"region": "string", "raw": "string", "format": "string"})
    if fmt == "parquet":
        return pq.read_table(path).to_pandas()
    return pd.read_json(path, lines=True, dtype={"region": "string", "raw": "string", "format": "string"})


def row_counts():
    for fmt in ("csv", "parquet", "jsonl"):
        manifest = json.loads((ROOT / fmt / "manifest.json").read_text(encoding="utf-8"))
        for table, rows in EXPECTED_ROWS.items():
            frame = load(fmt, table)
            assert len(frame) == rows, (fmt, table, len(frame), rows)
            assert manifest["counts"][table] == rows, (fmt, table, manifest["counts"])
        for f in manifest["files"]:
            data = (ROOT / fmt / f["name"]).read_bytes()
            assert len(data) == f["bytes"], f
            assert hashlib.sha256(data).hexdigest() == f["sha256"], f


def parquet_types():
    schema = pq.read_schema(ROOT / "parquet" / "cells.parquet")
    assert schema.field("report_id").type == pa.int64()
    assert schema.field("value").type == pa.int64()
    assert schema.field("amount").type == pa.decimal128(20, 4), schema.field("amount").type
    assert schema.field("raw").type == pa.string()
    assert schema.field("latest").type == pa.bool_()
    assert schema.field("fetched_at").type == pa.timestamp("us", tz="UTC"), schema.field("fetched_at").type
    checks = pq.read_schema(ROOT / "parquet" / "checks.parquet")
    assert checks.field("holds").type == pa.bool_()
    assert checks.field("difference").type == pa.int64()
    wide = pq.read_schema(ROOT / "parquet" / "wide_proactive.parquet")
    assert wide.field("procurement.amount").type == pa.decimal128(20, 4)
    assert pq.read_schema(ROOT / "parquet" / "wide_requests.parquet").field("new.total").type == pa.int64()


def hand_picked(fmt):
    def run():
        cells = load(fmt, "cells")
        hk = cells[cells.agency.str.contains("虹口") & (cells.latest == True)]  # noqa: E712
        pick = lambda t, r, c: hk[(hk["table"] == t) & (hk["row"] == r) & (hk["col"] == c)].iloc[0]
        assert pick("requests", "new", "total").value == 1134.0
        assert pick("requests", "new", "total").region == "310109"
        assert pick("requests", "new", "total").year == 2020
        money = pick("proactive", "procurement", "amount")
        assert (float(money.amount), money.unit, money.raw) == (67552.91, "wan_yuan", "67552.91(万元)"), money
        assert pd.isna(money.value), money
        blank = pick("requests", "new", "legal.research")
        assert math.isnan(blank.value) and blank.raw == "—", blank
        assert pick("appeals", "all", "review.total").identities == "some_broken"
        wide = load(fmt, "wide_requests")
        assert wide[wide.agency.str.contains("龙岗")]["new.total"].iloc[0] == 50.0
        headline = load(fmt, "wide_headline")
        assert headline["requests_received.value"].iloc[0] == 1100.0
        reports = load(fmt, "reports")
        assert sorted(reports.identities) == ["not_checkable", "partly_checked", "some_broken", "some_broken"]
    return run


def formats_agree():
    def norm(frame):
        frame = frame.copy()
        frame["fetched_at"] = pd.to_datetime(frame["fetched_at"], utc=True).dt.as_unit("us")
        for col in ("agency", "region", "unit", "raw", "format", "source"):
            frame[col] = frame[col].astype("string")
        frame["amount"] = frame["amount"].astype("float64")
        frame["value"] = frame["value"].astype("float64")
        return frame.sort_values(["report_id", "table", "row", "col"]).reset_index(drop=True)
    csv, parquet, jsonl = (norm(load(f, "cells")) for f in ("csv", "parquet", "jsonl"))
    pd.testing.assert_frame_equal(csv, parquet, check_dtype=False)
    pd.testing.assert_frame_equal(jsonl, parquet, check_dtype=False)


def codebook_names_every_code():
    book = pd.read_csv(ROOT / "csv" / "codebook.csv", keep_default_na=False)
    assert len(book) > 200 and not book.duplicated(["table", "row", "col"]).any()
    cells = load("parquet", "cells")
    standard = cells[~cells["row"].str.startswith("nonstandard.")]
    merged = standard.merge(book, on=["table", "row", "col"], how="left", indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"][["table", "row", "col"]]
    assert (ROOT / "csv" / "codebook.md").read_text(encoding="utf-8").startswith("# Codebook")


def cdxj_matches_cdxj_indexer():
    warcs = sorted((ROOT / "warc").glob("*.warc.gz"))
    assert warcs, "no WARC files kept by the tests"
    for warc in warcs:
        ours = Path(str(warc) + ".cdxj").read_text(encoding="utf-8")
        out = io.StringIO()
        write_cdx_index(out, [str(warc)], {"sort": True})
        theirs = out.getvalue()
        assert ours == theirs, f"{warc.name}:\nnianbao:\n{ours}\ncdxj-indexer:\n{theirs}"
        # And each line points at the record it names, as warcio reads the file.
        lines = [l.split(" ", 2) for l in ours.splitlines()]
        assert len(lines) >= 5, len(lines)
        by_offset = {}
        with open(warc, "rb") as fh:
            it = ArchiveIterator(fh)
            for record in it:
                headers = record.rec_headers
                it.read_to_end(record)
                by_offset[it.get_record_offset()] = (
                    headers.get_header("WARC-Payload-Digest"),
                    headers.get_header("WARC-Target-URI"),
                    it.get_record_length(),
                )
        for _key, _stamp, blob in lines:
            j = json.loads(blob)
            digest, uri, length = by_offset[int(j["offset"])]
            assert (j["digest"], j["url"], int(j["length"])) == (digest, uri, length), (j, digest, uri, length)


# Table Schema type -> what each default reader must infer for a column holding values.
POLARS = {"integer": {pl.Int64}, "number": {pl.Float64}, "boolean": {pl.Boolean},
          "string": {pl.String}, "datetime": {pl.String, pl.Datetime}}
DUCKDB = {"integer": {"BIGINT"}, "number": {"DOUBLE"}, "boolean": {"BOOLEAN"},
          "string": {"VARCHAR"}, "datetime": {"TIMESTAMP WITH TIME ZONE", "TIMESTAMP", "VARCHAR"}}


def package():
    return json.loads((ROOT / "csv" / "datapackage.json").read_text(encoding="utf-8"))


def default_readers_infer_the_schema():
    """polars.read_csv and DuckDB's read_csv_auto, with no options, read every
    CSV file and take each non-empty column for its datapackage.json type."""
    con = duckdb.connect()
    for resource in package()["resources"]:
        path = ROOT / "csv" / resource["path"]
        frame = pl.read_csv(path)
        rel = con.sql(f"SELECT * FROM read_csv_auto('{path}')")
        duck = dict(zip(rel.columns, (str(t) for t in rel.types)))
        fields = resource["schema"]["fields"]
        assert frame.columns == [f["name"] for f in fields], (path, frame.columns)
        for f in fields:
            name, kind = f["name"], f["type"]
            if frame[name].null_count() == len(frame):
                continue  # no value to infer a type from
            if kind == "string" and name not in ("format", "identities", "table", "row", "col"):
                # Text that happens to be all digits (region codes, raw cells)
                # reads as a number; datapackage.json says it is text.
                continue
            assert frame.schema[name] in POLARS[kind], (resource["path"], name, kind, frame.schema[name])
            assert duck[name] in DUCKDB[kind], (resource["path"], name, kind, duck[name])
    cells = pl.read_csv(ROOT / "csv" / "cells.csv")
    hk = cells.filter(pl.col("agency").str.contains("虹口") & pl.col("latest"))
    new_total = hk.filter((pl.col("table") == "requests") & (pl.col("row") == "new") & (pl.col("col") == "total"))
    assert new_total["value"].to_list() == [1134], new_total
    assert set(cells["format"].to_list()) == {"f2019", "f2021", "pre2019"}, set(cells["format"].to_list())
    money = con.sql(f"""SELECT amount, unit FROM read_csv_auto('{ROOT / "csv" / "cells.csv"}')
                        WHERE "table" = 'proactive' AND "row" = 'procurement' AND latest""").fetchall()
    assert money and all(m == (67552.91, "wan_yuan") for m in money), money


def datapackage_describes_the_files():
    for resource in package()["resources"]:
        data = (ROOT / "csv" / resource["path"]).read_bytes()
        assert resource["bytes"] == len(data), resource["path"]
        assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest(), resource["path"]
    names = {r["path"] for r in package()["resources"]}
    assert {"cells.csv", "reports.csv", "checks.csv", "captures.csv", "codebook.csv"} <= names, names


check("row counts and checksums match the manifests", row_counts)
check("parquet columns have real types", parquet_types)
for fmt in ("csv", "parquet", "jsonl"):
    check(f"hand-picked values in {fmt}", hand_picked(fmt))
check("csv, parquet and jsonl hold the same cells", formats_agree)
check("datapackage.json sizes and hashes match the CSV files", datapackage_describes_the_files)
check("polars.read_csv and DuckDB read_csv_auto infer the datapackage types", default_readers_infer_the_schema)
check("the codebook names every standard code", codebook_names_every_code)
check("CDXJ equals cdxj-indexer's, offsets/lengths/digests point at the records", cdxj_matches_cdxj_indexer)
print(f"check-export: {passed} passed, 0 failed")
