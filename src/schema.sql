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
    last_modified     TEXT
);
CREATE INDEX captures_url ON captures(url, fetched_at);
CREATE INDEX captures_digest ON captures(payload_digest);

-- One row per annual report found in a capture.
CREATE TABLE reports (
    id                INTEGER PRIMARY KEY,
    capture_id        INTEGER NOT NULL REFERENCES captures(id),
    ordinal           INTEGER NOT NULL, -- position among the reports of that capture
    title             TEXT NOT NULL,
    year              INTEGER,
    format            TEXT NOT NULL,    -- 2019 | 2021 | pre-2019 | unknown
    agency            TEXT,             -- as printed
    extractor_version TEXT NOT NULL,
    notes             TEXT NOT NULL DEFAULT '[]', -- JSON list of extraction findings
    UNIQUE (capture_id, ordinal)
);

-- One row per figure, named by the codes of TABLES.md.
CREATE TABLE cells (
    report_id  INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    table_code TEXT NOT NULL,  -- proactive | requests | appeals | headline
    row_code   TEXT NOT NULL,
    col_code   TEXT NOT NULL,
    raw        TEXT NOT NULL,  -- as printed
    value      REAL,           -- NULL when blank, a dash, or unreadable
    unit       TEXT            -- yuan | wan_yuan | unknown on money cells
);
CREATE INDEX cells_report ON cells(report_id, table_code, row_code, col_code);

-- One row per identity result (TABLES.md, "Identities").
CREATE TABLE checks (
    report_id   INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,
    identity    TEXT NOT NULL,
    col         TEXT NOT NULL,
    holds       INTEGER,       -- 1 holds, 0 broken, NULL not checkable
    left_value  REAL,
    right_value REAL
);
CREATE INDEX checks_report ON checks(report_id);

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
CREATE INDEX frontier_source ON frontier(source, kind);

-- The common question in one SELECT: every figure with its report and provenance.
CREATE VIEW v_cells AS
SELECT r.id AS report_id, r.agency, r.year, r.format, r.title,
       c.table_code AS "table", c.row_code AS "row", c.col_code AS col,
       c.value, c.raw, c.unit,
       k.url, k.fetched_at, k.warc_file, k.warc_offset, k.warc_record_id,
       k.payload_digest, r.extractor_version
FROM cells c
JOIN reports r ON r.id = c.report_id
JOIN captures k ON k.id = r.capture_id;

PRAGMA user_version = 1;
