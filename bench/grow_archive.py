"""Grow a crawled archive to a given size, for start-up timing.

Copies every WARC file of the archive (and its CDXJ index) under new names
until the WARC files hold at least --gb gigabytes, and copies the index rows
(captures, reports, figures, checks) that point into them, with ids shifted,
so that the index and the files agree as a crawl's own would. The archive's
sources are renamed `grown-…`, so that a crawl of the same farm into it
starts sources of its own.

    python3 bench/grow_archive.py ARCHIVE_DIR --gb 10
"""

import argparse
import os
import shutil
import sqlite3
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("archive")
    ap.add_argument("--gb", type=float, default=10.0)
    a = ap.parse_args()
    warc_dir = os.path.join(a.archive, "warc")
    files = sorted(f for f in os.listdir(warc_dir) if f.endswith(".warc.gz"))
    if not files:
        sys.exit(f"no WARC files in {warc_dir}")
    size = sum(os.path.getsize(os.path.join(warc_dir, f)) for f in files)
    copies = max(0, int(a.gb * 1024**3 // size) - 1)
    db = sqlite3.connect(os.path.join(a.archive, "nianbao.sqlite"))
    (max_capture,) = db.execute("SELECT MAX(id) FROM captures").fetchone()
    (max_report,) = db.execute("SELECT MAX(id) FROM reports").fetchone()
    for i in range(1, copies + 1):
        for f in files:
            copy = f"copy{i:04}-{f}"
            shutil.copyfile(os.path.join(warc_dir, f), os.path.join(warc_dir, copy))
            index = os.path.join(warc_dir, f + ".cdxj")
            if os.path.exists(index):
                with open(index, encoding="utf-8") as src, \
                        open(os.path.join(warc_dir, copy + ".cdxj"), "w", encoding="utf-8") as dst:
                    for line in src:
                        dst.write(line.replace(f'"filename": "{f}"', f'"filename": "{copy}"'))
        dc, dr = i * max_capture, i * max_report
        db.executescript(
            f"""
            BEGIN;
            INSERT INTO captures (id, url, fetched_at, status, headers, content_type, record_type,
                payload_digest, payload_length, truncated, warc_file, warc_offset, warc_length,
                warc_record_id, ip, refers_to, encoding, encoding_decision, encoding_errors,
                encoding_rejected, source, etag, last_modified, import_id, outcome)
              SELECT id + {dc}, url, fetched_at, status, headers, content_type, record_type,
                payload_digest, payload_length, truncated, 'copy{i:04}-' || warc_file, warc_offset,
                warc_length, warc_record_id, ip, refers_to + {dc}, encoding, encoding_decision,
                encoding_errors, encoding_rejected, source, etag, last_modified, import_id, outcome
              FROM captures WHERE id <= {max_capture};
            INSERT INTO reports (id, capture_id, ordinal, title, year, format, agency,
                extractor_version, notes)
              SELECT id + {dr}, capture_id + {dc}, ordinal, title, year, format, agency,
                extractor_version, notes FROM reports WHERE id <= {max_report};
            INSERT INTO cell_values SELECT report_id + {dr}, ord, code, raw, value, unit, standard,
                label, note, ocr, ocr_conf FROM cell_values WHERE report_id <= {max_report};
            INSERT INTO check_values SELECT report_id + {dr}, ord, code, holds, left_value,
                right_value FROM check_values WHERE report_id <= {max_report};
            COMMIT;
            """
        )
    db.executescript(
        """
        BEGIN;
        UPDATE frontier SET source = 'grown-' || source;
        UPDATE captures SET source = 'grown-' || source WHERE source IS NOT NULL;
        UPDATE sources SET name = 'grown-' || name;
        COMMIT;
        """
    )
    db.close()
    total = sum(os.path.getsize(os.path.join(warc_dir, f)) for f in os.listdir(warc_dir)
                if f.endswith(".warc.gz"))
    db_size = os.path.getsize(os.path.join(a.archive, "nianbao.sqlite"))
    print(f"archive grown to {total / 1024**3:.2f} GB of WARC files "
          f"and a {db_size / 1024**3:.2f} GB database ({copies} copies)")


if __name__ == "__main__":
    main()
