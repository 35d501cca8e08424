-- The nianbao archive: one SQLite file beside the WARC files it indexes.
-- Snapshots (WARC) are the source of truth; every row here can be traced to
-- a WARC record (file + offset + record id), and the derived rows (reports,
-- cells, checks) can be rebuilt from the snapshots by `nianbao reextract`.
-- Schema version: PRAGMA user_version = 1.

-- One row per HTTP exchange archived (response or revisit record).
CREATE TABLE captures (
    id                INTEGER PRIMARY KEY,
    url               TEXT NOT NULL,    -- percent-encoded, as WARC-Target-URI
    fetched_at        TEXT NOT NULL,    -- UTC, ISO 8601, as WARC-Date
    status            INTEGER NOT NULL, -- HTTP status
    headers           TEXT NOT NULL,    -- JSON [[name, value], ...] as received
    content_type      TEXT,
    record_type       TEXT NOT NULL CHECK (record_type IN ('response', 'revisit')),
    payload_digest    TEXT NOT NULL,    -- sha1:BASE32 of the entity body
    payload_length    INTEGER NOT NULL,
    truncated         TEXT,             -- 'length' | 'time' when the body was cut
    warc_file         TEXT NOT NULL,    -- file name inside <archive>/warc/
    warc_offset       INTEGER NOT NULL, -- offset of the record's gzip member
    warc_length       INTEGER NOT NULL, -- compressed length of that member
    warc_record_id    TEXT NOT NULL,    -- WARC-Record-ID
    ip                TEXT,             -- WARC-IP-Address
    refers_to         INTEGER REFERENCES captures(id), -- revisits: the capture holding the payload
    encoding          TEXT,             -- encoding used to decode, e.g. gb18030
    encoding_decision TEXT,             -- bom | http_header | meta_tag | detector | fallback
    encoding_errors   INTEGER,          -- 1 if replacement characters were needed
    encoding_rejected TEXT,             -- declared labels the bytes contradicted (JSON)
    source            TEXT,             -- the configured source that led here, if any
    etag              TEXT,
    last_modified     TEXT,
    import_id         INTEGER REFERENCES imports(id), -- imported from another archive's file
    outcome           TEXT              -- report | listing | attachment | block_waf | block_cookie_script
                                        -- | block_challenge | block_captcha | soft_404 | empty | redirect | other
);
CREATE INDEX captures_url ON captures(url, fetched_at);
CREATE INDEX captures_digest ON captures(payload_digest);
CREATE INDEX captures_record ON captures(warc_record_id);
-- A run's summary counts each source's captures of that run.
CREATE INDEX captures_source ON captures(source, id);
-- Where each WARC file's indexed part ends, read on every start.
CREATE INDEX captures_file ON captures(warc_file, warc_offset);

-- One row per file imported from a web archive made by others (`nianbao
-- import`): a WARC or ARC file, a WACZ package, or a WARC inside a WACZ.
-- The file is kept byte for byte at <archive>/warc/<stored_as>; its captures
-- point at it (captures.warc_file = stored_as, captures.import_id = id).
CREATE TABLE imports (
    id           INTEGER PRIMARY KEY,
    file_name    TEXT NOT NULL,    -- the original file's name (in a WACZ: its path in the package)
    sha256       TEXT NOT NULL,    -- of the original file, hex
    size         INTEGER NOT NULL, -- bytes
    stored_as    TEXT NOT NULL,    -- the copy, relative to <archive>/warc/
    format       TEXT NOT NULL,    -- warc | arc | wacz
    compression  TEXT NOT NULL,    -- gzip-record | gzip-stream | none | zip
    writer       TEXT,             -- the software its warcinfo (ARC: file header, WACZ: datapackage) names
    parent       INTEGER REFERENCES imports(id), -- the WACZ a WARC came in
    source       TEXT,             -- --source given to the import
    imported_at  TEXT NOT NULL,    -- UTC, ISO 8601
    records      INTEGER NOT NULL DEFAULT 0, -- records read
    captures     INTEGER NOT NULL DEFAULT 0, -- captures indexed (report pages, attachments, their revisits)
    bad_records  INTEGER NOT NULL DEFAULT 0  -- records skipped as unreadable (each in failures, kind 'import')
);
CREATE INDEX imports_sha256 ON imports(sha256);

-- One row per annual report found in a capture.
CREATE TABLE reports (
    id                INTEGER PRIMARY KEY,
    capture_id        INTEGER NOT NULL REFERENCES captures(id),
    ordinal           INTEGER NOT NULL, -- position among the reports of that capture
    title             TEXT NOT NULL,
    year              INTEGER,
    format            TEXT NOT NULL,    -- f2019 | f2021 | pre2019 | unknown
    agency            TEXT,             -- as printed
    extractor_version TEXT NOT NULL,
    notes             TEXT NOT NULL DEFAULT '[]', -- JSON list of extraction findings
    parent_capture    INTEGER,          -- an attachment's report: the capture of the report page that linked it
    UNIQUE (capture_id, ordinal)
);

-- Figures and identity results are stored compactly: a report holds about
-- 200 figures and 40 checks whose codes and printed labels repeat from report
-- to report, so each code and label is stored once (`cell_codes`, `labels`,
-- `check_codes`) and a figure row holds small integers, keyed by its report
-- and its place in the report (no rowid, no second index). The views `cells`
-- and `checks` give them back as one row per figure and per check, with
-- every code as text; they take INSERT, UPDATE and DELETE like tables.

-- A (table, row, column) code of TABLES.md, once.
CREATE TABLE cell_codes (
    id         INTEGER PRIMARY KEY,
    table_code TEXT NOT NULL,  -- proactive | requests | appeals | headline
    row_code   TEXT NOT NULL,
    col_code   TEXT NOT NULL,
    UNIQUE (table_code, row_code, col_code)
);

-- A row label as printed, once.
CREATE TABLE labels (
    id    INTEGER PRIMARY KEY,
    label TEXT NOT NULL UNIQUE
);

-- One row per figure, named by the codes of TABLES.md (read it as `cells`).
CREATE TABLE cell_values (
    report_id  INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    ord        INTEGER NOT NULL,  -- its place among the report's figures, as extracted
    code       INTEGER NOT NULL REFERENCES cell_codes(id),
    raw        TEXT NOT NULL,     -- as printed
    value      REAL,              -- NULL when blank, a dash, or unreadable
    unit       TEXT,              -- yuan | wan_yuan | unknown on money cells
    standard   INTEGER NOT NULL DEFAULT 1, -- 0: a row the national format lacks (nonstandard.N)
    label      INTEGER REFERENCES labels(id), -- the row label as printed
    note       TEXT,              -- how the cell was placed when not by its own label
    ocr        INTEGER,           -- 1: read from a scan by OCR; NULL otherwise
    ocr_conf   REAL,              -- OCR's confidence (0-100); NULL for a blank cell or no OCR
    PRIMARY KEY (report_id, ord)
) WITHOUT ROWID;

-- An identity and the column it was checked in, once.
CREATE TABLE check_codes (
    id       INTEGER PRIMARY KEY,
    identity TEXT NOT NULL,
    col      TEXT NOT NULL,
    UNIQUE (identity, col)
);

-- One row per identity result (TABLES.md, "Identities"; read it as `checks`).
CREATE TABLE check_values (
    report_id   INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    ord         INTEGER NOT NULL, -- its place among the report's checks
    code        INTEGER NOT NULL REFERENCES check_codes(id),
    holds       INTEGER,          -- 1 holds, 0 broken, NULL not checkable
    left_value  REAL,
    right_value REAL,
    PRIMARY KEY (report_id, ord)
) WITHOUT ROWID;

-- The views over them, and what makes them writable.

-- One row per figure, every code as text. (Outer joins on unique keys, which
-- SQLite leaves out when a query reads no code: counting figures reads one
-- table.)
CREATE VIEW cells AS
SELECT v.report_id, c.table_code, c.row_code, c.col_code, v.raw, v.value, v.unit,
       v.standard, l.label, v.note, v.ocr, v.ocr_conf, v.ord
FROM cell_values v
LEFT JOIN cell_codes c ON c.id = v.code
LEFT JOIN labels l ON l.id = v.label;

CREATE TRIGGER cells_insert INSTEAD OF INSERT ON cells
BEGIN
    INSERT OR IGNORE INTO cell_codes (table_code, row_code, col_code)
    VALUES (NEW.table_code, NEW.row_code, NEW.col_code);
    INSERT OR IGNORE INTO labels (label) SELECT NEW.label WHERE NEW.label IS NOT NULL;
    INSERT INTO cell_values (report_id, ord, code, raw, value, unit, standard, label, note,
                             ocr, ocr_conf)
    VALUES (NEW.report_id,
            COALESCE(NEW.ord, (SELECT COALESCE(MAX(ord) + 1, 0) FROM cell_values
                               WHERE report_id = NEW.report_id)),
            (SELECT id FROM cell_codes WHERE table_code = NEW.table_code
               AND row_code = NEW.row_code AND col_code = NEW.col_code),
            NEW.raw, NEW.value, NEW.unit, COALESCE(NEW.standard, 1),
            (SELECT id FROM labels WHERE label = NEW.label), NEW.note, NEW.ocr, NEW.ocr_conf);
END;

CREATE TRIGGER cells_update INSTEAD OF UPDATE ON cells
BEGIN
    INSERT OR IGNORE INTO cell_codes (table_code, row_code, col_code)
    VALUES (NEW.table_code, NEW.row_code, NEW.col_code);
    INSERT OR IGNORE INTO labels (label) SELECT NEW.label WHERE NEW.label IS NOT NULL;
    UPDATE cell_values
    SET code = (SELECT id FROM cell_codes WHERE table_code = NEW.table_code
                  AND row_code = NEW.row_code AND col_code = NEW.col_code),
        raw = NEW.raw, value = NEW.value, unit = NEW.unit, standard = NEW.standard,
        label = (SELECT id FROM labels WHERE label = NEW.label), note = NEW.note,
        ocr = NEW.ocr, ocr_conf = NEW.ocr_conf
    WHERE report_id = OLD.report_id AND ord = OLD.ord;
END;

CREATE TRIGGER cells_delete INSTEAD OF DELETE ON cells
BEGIN
    DELETE FROM cell_values WHERE report_id = OLD.report_id AND ord = OLD.ord;
END;

-- One row per identity result, identity and column as text.
CREATE VIEW checks AS
SELECT v.report_id, c.identity, c.col, v.holds, v.left_value, v.right_value, v.ord
FROM check_values v
LEFT JOIN check_codes c ON c.id = v.code;

CREATE TRIGGER checks_insert INSTEAD OF INSERT ON checks
BEGIN
    INSERT OR IGNORE INTO check_codes (identity, col) VALUES (NEW.identity, NEW.col);
    INSERT INTO check_values (report_id, ord, code, holds, left_value, right_value)
    VALUES (NEW.report_id,
            COALESCE(NEW.ord, (SELECT COALESCE(MAX(ord) + 1, 0) FROM check_values
                               WHERE report_id = NEW.report_id)),
            (SELECT id FROM check_codes WHERE identity = NEW.identity AND col = NEW.col),
            NEW.holds, NEW.left_value, NEW.right_value);
END;

CREATE TRIGGER checks_update INSTEAD OF UPDATE ON checks
BEGIN
    INSERT OR IGNORE INTO check_codes (identity, col) VALUES (NEW.identity, NEW.col);
    UPDATE check_values
    SET code = (SELECT id FROM check_codes WHERE identity = NEW.identity AND col = NEW.col),
        holds = NEW.holds, left_value = NEW.left_value, right_value = NEW.right_value
    WHERE report_id = OLD.report_id AND ord = OLD.ord;
END;

CREATE TRIGGER checks_delete INSTEAD OF DELETE ON checks
BEGIN
    DELETE FROM check_values WHERE report_id = OLD.report_id AND ord = OLD.ord;
END;

-- A failed attempt at a URL: no snapshot, but the outcome is data.
CREATE TABLE failures (
    id         INTEGER PRIMARY KEY,
    url        TEXT NOT NULL,
    failed_at  TEXT NOT NULL,
    kind       TEXT NOT NULL,  -- timeout | connect | http | scheme | redirect | robots | ...
    detail     TEXT NOT NULL,
    source     TEXT
);

-- One row per crawl run. A run killed before `finished_at` is set is resumed
-- by the next start instead of beginning a new one.
CREATE TABLE runs (
    id              INTEGER PRIMARY KEY,
    started_at      TEXT NOT NULL,    -- UTC, ISO 8601
    finished_at     TEXT,             -- NULL while running or after a crash
    pid             INTEGER NOT NULL, -- the process that started (or resumed) it
    captures_before INTEGER NOT NULL, -- max(captures.id) when it began
    failures_before INTEGER NOT NULL  -- max(failures.id) when it began
);

-- One row per configured source (a publishing agency, `[[sources]]` of the
-- config), as the last crawl that named it saw it: the views and exports
-- take a capture's region from here, so they need no config.
CREATE TABLE sources (
    name       TEXT PRIMARY KEY, -- the agency as it names itself; captures.source
    region     TEXT,             -- 行政区划代码, when configured
    start      TEXT NOT NULL DEFAULT '[]', -- JSON list of start URLs
    updated_at TEXT NOT NULL     -- UTC, ISO 8601: the crawl that wrote this row
);

-- The crawl frontier: every URL a crawl knows of, canonicalised, once.
-- A URL is due in run R while last_run is NULL or below R.
CREATE TABLE frontier (
    url           TEXT PRIMARY KEY,
    host          TEXT NOT NULL,   -- politeness key (lowercase host name)
    source        TEXT NOT NULL,
    kind          TEXT NOT NULL,   -- listing | report | attachment
    depth         INTEGER NOT NULL,
    anchor        TEXT,            -- link text or title it was found under
    found_from    TEXT,
    state         TEXT NOT NULL DEFAULT 'pending', -- pending | done | failed | blocked
    outcome       TEXT,            -- new | changed | unchanged | redirect | robots | a failure kind
    attempts      INTEGER NOT NULL DEFAULT 0,      -- within the current run
    not_before    TEXT,            -- UTC, ISO 8601 with milliseconds; retry no earlier
    last_capture  INTEGER REFERENCES captures(id),
    last_run      INTEGER REFERENCES runs(id)
);
CREATE INDEX frontier_due ON frontier(last_run, host);
-- The scheduler refills one host's queue at a time (`frontier::due_for_host`).
CREATE INDEX frontier_host ON frontier(host, last_run);
CREATE INDEX frontier_source ON frontier(source, kind);

-- Views: the common questions in one SELECT each. `nianbao export` reads
-- v_reports, so a figure's provenance is defined once, here.

-- One row per report: where it was captured, and how its identities fared.
-- identities: all_hold (every check held) | some_broken (at least one broken)
-- | partly_checked (none broken, some not checkable) | not_checkable (no
-- check could be evaluated). latest: 1 when no later capture of the same URL
-- yielded reports (a re-crawl supersedes it otherwise); captures are ordered
-- by capture time, so that an older capture imported later is not latest.
CREATE VIEW v_reports AS
SELECT r.id AS report_id, r.capture_id, r.ordinal, r.title, r.agency, k.source,
       src.region, r.year, r.format,
       k.url, k.fetched_at, k.status, k.warc_file, k.warc_offset, k.warc_length,
       k.warc_record_id, k.payload_digest, k.encoding, k.encoding_decision,
       r.extractor_version,
       COALESCE(n.cells, 0) AS cells,
       COALESCE(s.held, 0) AS checks_held,
       COALESCE(s.broken, 0) AS checks_broken,
       COALESCE(s.uncheckable, 0) AS checks_uncheckable,
       CASE WHEN COALESCE(s.broken, 0) > 0 THEN 'some_broken'
            WHEN COALESCE(s.held, 0) > 0 AND COALESCE(s.uncheckable, 0) = 0 THEN 'all_hold'
            WHEN COALESCE(s.held, 0) > 0 THEN 'partly_checked'
            ELSE 'not_checkable' END AS identities,
       NOT EXISTS (SELECT 1 FROM captures k2 JOIN reports r2 ON r2.capture_id = k2.id
                   WHERE k2.url = k.url
                     AND (k2.fetched_at, k2.id) > (k.fetched_at, k.id)) AS latest,
       r.notes
FROM reports r
JOIN captures k ON k.id = r.capture_id
LEFT JOIN sources src ON src.name = k.source
LEFT JOIN (SELECT report_id, COUNT(*) AS cells FROM cell_values GROUP BY report_id) n
       ON n.report_id = r.id
LEFT JOIN (SELECT report_id, SUM(holds = 1) AS held, SUM(holds = 0) AS broken,
                  SUM(holds IS NULL) AS uncheckable
           FROM check_values GROUP BY report_id) s
       ON s.report_id = r.id;

-- Every figure with its report and provenance.
CREATE VIEW v_cells AS
SELECT v.report_id, v.agency, v.source, v.region, v.year, v.format, v.title,
       c.table_code AS "table", c.row_code AS "row", c.col_code AS col,
       c.value, c.raw, c.unit, c.standard, c.label,
       v.url, v.fetched_at, v.warc_file, v.warc_offset, v.warc_length,
       v.warc_record_id, v.payload_digest, v.extractor_version, v.identities, v.latest
FROM cells c
JOIN v_reports v ON v.report_id = c.report_id;

-- Every identity result with its report; difference = left - right.
CREATE VIEW v_checks AS
SELECT v.report_id, v.agency, v.source, v.region, v.year, v.format,
       k.identity, k.col, k.holds, k.left_value, k.right_value,
       k.left_value - k.right_value AS difference,
       v.url, v.fetched_at, v.warc_record_id, v.latest
FROM checks k
JOIN v_reports v ON v.report_id = k.report_id;

-- One row per URL that yielded reports: when it was first and last seen
-- served (a 2xx capture or a revisit, crawled or imported), and how often.
CREATE VIEW v_seen AS
SELECT k.url, MIN(k.fetched_at) AS first_seen, MAX(k.fetched_at) AS last_seen,
       COUNT(*) AS captures, COUNT(k.import_id) AS imported
FROM captures k
WHERE (k.status BETWEEN 200 AND 299 OR k.record_type = 'revisit')
  AND k.url IN (SELECT k3.url FROM captures k3 JOIN reports r ON r.capture_id = k3.id)
GROUP BY k.url;

-- The availability and change ledger (`ledger.rs`), written at the end of
-- every crawl run: one row per report URL known by then (a URL that yielded
-- a report in some capture) that the run visited. A known URL the run did
-- not visit has no row for that run.
-- state: new (first served with reports) | unchanged (same payload, or same
-- figures) | changed (figures differ from the previous capture with reports;
-- the cells are in `changes`) | gone (404/410, a soft 404, a redirect to the
-- home page, an empty answer, a page without the report) | blocked (an
-- anti-bot page answered) | moved (a redirect elsewhere) | error (another
-- status, or a failure without a capture).
CREATE TABLE availability (
    report_url    TEXT NOT NULL,
    run_id        INTEGER NOT NULL REFERENCES runs(id),
    state         TEXT NOT NULL,
    reason        TEXT,             -- same_payload | same_figures | http_404 | soft_404 | redirect_home
                                    -- | empty | no_report | block_* | redirect | http_N | a failure kind
    status        INTEGER,          -- HTTP status of the run's capture; NULL for a failure without one
    capture_id    INTEGER REFERENCES captures(id), -- the run's last capture of the URL
    checked_at    TEXT NOT NULL,    -- its fetched_at (a failure: failed_at)
    compared_with INTEGER REFERENCES captures(id), -- the earlier capture its figures were compared with
    cells_changed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (report_url, run_id)
);
CREATE INDEX availability_run ON availability(run_id, state);

-- One row per figure that differs between a run's capture of a report URL
-- and the previous capture of it with reports: a silent edit. A figure
-- added or removed has NULL on the side that lacks it.
CREATE TABLE changes (
    report_url  TEXT NOT NULL,
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    ordinal     INTEGER NOT NULL, -- the report's position on the page
    table_code  TEXT NOT NULL,
    row_code    TEXT NOT NULL,
    col_code    TEXT NOT NULL,
    old_raw     TEXT,
    new_raw     TEXT,
    old_value   REAL,
    new_value   REAL,
    old_capture INTEGER NOT NULL REFERENCES captures(id),
    new_capture INTEGER NOT NULL REFERENCES captures(id)
);
CREATE INDEX changes_url ON changes(report_url, run_id);

-- One row per report URL in the ledger: first and last seen served, gone
-- since (the first `gone` after the last time it was served; NULL while it
-- is served), and the state of the last run that visited it.
CREATE VIEW v_ledger AS
SELECT s.report_url, s.first_seen, s.last_seen,
       (SELECT MIN(g.checked_at) FROM availability g
        WHERE g.report_url = s.report_url AND g.state = 'gone'
          AND g.run_id > COALESCE(s.last_served_run, 0)) AS gone_since,
       (SELECT MIN(g.run_id) FROM availability g
        WHERE g.report_url = s.report_url AND g.state = 'gone'
          AND g.run_id > COALESCE(s.last_served_run, 0)) AS gone_since_run,
       l.state, l.reason, l.status, l.run_id AS last_run, l.checked_at AS last_checked,
       s.runs, s.changed_runs
FROM (SELECT report_url,
             MIN(CASE WHEN state IN ('new', 'unchanged', 'changed') THEN checked_at END) AS first_seen,
             MAX(CASE WHEN state IN ('new', 'unchanged', 'changed') THEN checked_at END) AS last_seen,
             MAX(CASE WHEN state IN ('new', 'unchanged', 'changed') THEN run_id END) AS last_served_run,
             MAX(run_id) AS last_run, COUNT(*) AS runs, SUM(state = 'changed') AS changed_runs
      FROM availability GROUP BY report_url) s
JOIN availability l ON l.report_url = s.report_url AND l.run_id = s.last_run;

PRAGMA user_version = 1;
