//! The queries behind the pages and the API, on one read-only snapshot
//! (`export::reader::Reader`), through the views of `schema.sql`.

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, OptionalExtension};
use serde::Serialize;

use super::{ServeError, Site};

/// What kind of document a report was read from, by its content type or name.
pub(super) const KIND_SQL: &str = "CASE \
    WHEN lower(COALESCE(k.content_type,'')) LIKE '%pdf%' OR lower(k.url) LIKE '%.pdf' THEN 'pdf' \
    WHEN lower(COALESCE(k.content_type,'')) LIKE '%wordprocessingml%' OR lower(k.url) LIKE '%.docx' THEN 'docx' \
    WHEN lower(COALESCE(k.content_type,'')) LIKE '%sheet%' OR lower(COALESCE(k.content_type,'')) LIKE '%excel%' \
         OR lower(k.url) LIKE '%.xls' OR lower(k.url) LIKE '%.xlsx' THEN 'spreadsheet' \
    WHEN lower(COALESCE(k.content_type,'')) LIKE 'text/plain%' THEN 'text' \
    ELSE 'html' END";

/// `v_reports` as this connection sees it: the same columns and values, but
/// each report's counts taken through the indexes of `cells` and `checks`
/// (the view of `schema.sql` groups the whole tables first, which at 100k
/// reports costs a second for one report). A temporary view is searched
/// before the archive's own, and lives only as long as this read-only
/// connection: the archive is not changed.
pub fn fast_views(conn: &Connection) -> Result<(), ServeError> {
    conn.execute_batch(FAST_REPORTS)?;
    Ok(())
}

const FAST_REPORTS: &str = "CREATE TEMP VIEW IF NOT EXISTS v_reports AS
SELECT b.*,
       CASE WHEN b.checks_broken > 0 THEN 'some_broken'
            WHEN b.checks_held > 0 AND b.checks_uncheckable = 0 THEN 'all_hold'
            WHEN b.checks_held > 0 THEN 'partly_checked'
            ELSE 'not_checkable' END AS identities,
       NOT EXISTS (SELECT 1 FROM captures k2 JOIN reports r2 ON r2.capture_id = k2.id
                   WHERE k2.url = b.url
                     AND (k2.fetched_at, k2.id) > (b.fetched_at, b.capture_id)) AS latest
FROM (SELECT r.id AS report_id, r.capture_id, r.ordinal, r.title, r.agency, k.source,
             src.region, r.year, r.format,
             k.url, k.fetched_at, k.status, k.warc_file, k.warc_offset, k.warc_length,
             k.warc_record_id, k.payload_digest, k.encoding, k.encoding_decision,
             r.extractor_version,
             (SELECT COUNT(*) FROM cells c WHERE c.report_id = r.id) AS cells,
             (SELECT COUNT(*) FROM checks h WHERE h.report_id = r.id AND h.holds = 1) AS checks_held,
             (SELECT COUNT(*) FROM checks h WHERE h.report_id = r.id AND h.holds = 0) AS checks_broken,
             (SELECT COUNT(*) FROM checks h WHERE h.report_id = r.id AND h.holds IS NULL)
               AS checks_uncheckable,
             r.notes
      FROM reports r
      JOIN captures k ON k.id = r.capture_id
      LEFT JOIN sources src ON src.name = k.source) b;";

/// A report with its capture, as the list, the report page and the API show it.
#[derive(Debug, Clone, Serialize)]
pub struct ReportRow {
    pub id: i64,
    pub capture_id: i64,
    pub ordinal: i64,
    pub title: String,
    pub agency: Option<String>,
    pub source: Option<String>,
    pub region: Option<String>,
    pub year: Option<i64>,
    pub format: String,
    /// `html`, `text`, `pdf`, `docx` or `spreadsheet`.
    pub kind: String,
    pub url: String,
    pub fetched_at: String,
    pub status: i64,
    pub warc_file: String,
    pub warc_offset: i64,
    pub warc_record_id: String,
    pub payload_digest: String,
    pub cells: i64,
    pub checks_held: i64,
    pub checks_broken: i64,
    pub checks_uncheckable: i64,
    pub identities: String,
    pub latest: bool,
}

fn report_select() -> String {
    format!(
        "SELECT v.report_id, v.capture_id, v.ordinal, v.title, v.agency, v.source, v.year,
                v.format, {KIND_SQL}, v.url, v.fetched_at, v.status, v.warc_file, v.warc_offset,
                v.warc_record_id, v.payload_digest, v.cells, v.checks_held, v.checks_broken,
                v.checks_uncheckable, v.identities, v.latest
         FROM v_reports v JOIN captures k ON k.id = v.capture_id"
    )
}

fn report_row(site: &Site, r: &rusqlite::Row<'_>) -> rusqlite::Result<ReportRow> {
    let source: Option<String> = r.get(5)?;
    Ok(ReportRow {
        id: r.get(0)?,
        capture_id: r.get(1)?,
        ordinal: r.get(2)?,
        title: r.get(3)?,
        agency: r.get(4)?,
        region: site.region_of(source.as_deref()),
        source,
        year: r.get(6)?,
        format: r.get(7)?,
        kind: r.get(8)?,
        url: r.get(9)?,
        fetched_at: r.get(10)?,
        status: r.get(11)?,
        warc_file: r.get(12)?,
        warc_offset: r.get(13)?,
        warc_record_id: r.get(14)?,
        payload_digest: r.get(15)?,
        cells: r.get(16)?,
        checks_held: r.get(17)?,
        checks_broken: r.get(18)?,
        checks_uncheckable: r.get(19)?,
        identities: r.get(20)?,
        latest: r.get(21)?,
    })
}

/// The conditions of the reports list; every given one must hold.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReportQuery {
    /// Part of the title or the agency.
    pub q: Option<String>,
    /// Prefix of the source's region code.
    pub region: Option<String>,
    /// The agency as printed, exactly.
    pub agency: Option<String>,
    pub year: Option<i64>,
    pub format: Option<String>,
    pub kind: Option<String>,
    /// Only reports with at least one broken identity.
    pub broken: bool,
    /// Include reports a later capture of the same URL superseded.
    pub all: bool,
    pub page: u32,
}

pub const PER_PAGE: u32 = 50;

/// One value of a facet and how many reports have it.
#[derive(Debug, Clone, Serialize)]
pub struct FacetValue {
    pub value: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportPage {
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    pub reports: Vec<ReportRow>,
    pub facets: Vec<(String, Vec<FacetValue>)>,
}

/// One page of the reports list, with its facets: filtered and counted in
/// memory (`facts`), the page's rows then read by id.
pub fn reports(site: &Site, conn: &Connection, q: &ReportQuery) -> Result<ReportPage, ServeError> {
    let selection = super::facts::cached(site, conn)?.select(site, q, PER_PAGE);
    let reports = selection
        .page
        .iter()
        .map(|id| report(site, conn, *id))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ReportPage {
        total: selection.total,
        page: q.page.max(1),
        per_page: PER_PAGE,
        reports,
        facets: selection.facets,
    })
}

/// One report by id.
pub fn report(site: &Site, conn: &Connection, id: i64) -> Result<ReportRow, ServeError> {
    let sql = format!("{} WHERE v.report_id = ?1", report_select());
    conn.query_row(&sql, [id], |r| report_row(site, r))
        .optional()?
        .ok_or_else(|| ServeError::NotFound(format!("report {id}")))
}

/// Reports matching an arbitrary condition on `v` (the latest only).
pub fn reports_where(
    site: &Site,
    conn: &Connection,
    cond: &str,
    params: Vec<Value>,
) -> Result<Vec<ReportRow>, ServeError> {
    let sql = format!(
        "{} WHERE v.latest AND {cond} ORDER BY v.year, v.report_id",
        report_select()
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(params.iter()), |r| report_row(site, r))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A figure as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub table: String,
    pub row: String,
    pub col: String,
    pub value: Option<f64>,
    pub raw: String,
    pub unit: Option<String>,
    pub standard: bool,
    pub label: Option<String>,
}

pub fn cells(conn: &Connection, report_id: i64) -> Result<Vec<Cell>, ServeError> {
    let mut stmt = conn.prepare(
        "SELECT table_code, row_code, col_code, value, raw, unit, standard, label
         FROM cells WHERE report_id = ?1 ORDER BY ord",
    )?;
    let rows = stmt
        .query_map([report_id], |r| {
            Ok(Cell {
                table: r.get(0)?,
                row: r.get(1)?,
                col: r.get(2)?,
                value: r.get(3)?,
                raw: r.get(4)?,
                unit: r.get(5)?,
                standard: r.get(6)?,
                label: r.get(7)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// An identity result as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub identity: String,
    pub col: String,
    pub holds: Option<bool>,
    pub left: Option<f64>,
    pub right: Option<f64>,
}

pub fn checks(conn: &Connection, report_id: i64) -> Result<Vec<Check>, ServeError> {
    let mut stmt = conn.prepare(
        "SELECT identity, col, holds, left_value, right_value FROM checks
         WHERE report_id = ?1 ORDER BY ord",
    )?;
    let rows = stmt
        .query_map([report_id], |r| {
            Ok(Check {
                identity: r.get(0)?,
                col: r.get(1)?,
                holds: r.get(2)?,
                left: r.get(3)?,
                right: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A capture of a URL, for the history.
#[derive(Debug, Clone, Serialize)]
pub struct CaptureRow {
    pub id: i64,
    pub url: String,
    pub fetched_at: String,
    pub status: i64,
    pub record_type: String,
    pub content_type: Option<String>,
    pub payload_digest: String,
    pub reports: i64,
}

const CAPTURE_SELECT: &str =
    "SELECT k.id, k.url, k.fetched_at, k.status, k.record_type, k.content_type, k.payload_digest,
            (SELECT COUNT(*) FROM reports r WHERE r.capture_id = k.id)
     FROM captures k";

fn capture_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CaptureRow> {
    Ok(CaptureRow {
        id: r.get(0)?,
        url: r.get(1)?,
        fetched_at: r.get(2)?,
        status: r.get(3)?,
        record_type: r.get(4)?,
        content_type: r.get(5)?,
        payload_digest: r.get(6)?,
        reports: r.get(7)?,
    })
}

/// Every capture of `url`, oldest first.
pub fn history(conn: &Connection, url: &str) -> Result<Vec<CaptureRow>, ServeError> {
    let mut stmt = conn.prepare(&format!("{CAPTURE_SELECT} WHERE k.url = ?1 ORDER BY k.id"))?;
    let rows = stmt
        .query_map([url], capture_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// An attachment linked from a report page, and its archived copy if any.
#[derive(Debug, Clone, Serialize)]
pub struct Attachment {
    pub url: String,
    pub anchor: Option<String>,
    pub capture_id: Option<i64>,
    pub status: Option<i64>,
    pub content_type: Option<String>,
}

pub fn attachments(conn: &Connection, page_url: &str) -> Result<Vec<Attachment>, ServeError> {
    let mut stmt = conn.prepare(
        "SELECT f.url, f.anchor,
                (SELECT MAX(c.id) FROM captures c WHERE c.url = f.url),
                (SELECT c.status FROM captures c WHERE c.url = f.url ORDER BY c.id DESC LIMIT 1),
                (SELECT c.content_type FROM captures c WHERE c.url = f.url ORDER BY c.id DESC LIMIT 1)
         FROM frontier f WHERE f.found_from = ?1 AND f.kind = 'attachment' ORDER BY f.rowid",
    )?;
    let rows = stmt
        .query_map([page_url], |r| {
            Ok(Attachment {
                url: r.get(0)?,
                anchor: r.get(1)?,
                capture_id: r.get(2)?,
                status: r.get(3)?,
                content_type: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Where a capture's bytes are, to replay it.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: i64,
    pub url: String,
    pub fetched_at: String,
    pub status: i64,
    pub content_type: Option<String>,
    pub record_type: String,
    pub refers_to: Option<i64>,
    pub warc_file: String,
    pub warc_offset: i64,
}

pub fn stored(conn: &Connection, id: i64) -> Result<Stored, ServeError> {
    conn.query_row(
        "SELECT id, url, fetched_at, status, content_type, record_type, refers_to, warc_file,
                warc_offset FROM captures WHERE id = ?1",
        [id],
        |r| {
            Ok(Stored {
                id: r.get(0)?,
                url: r.get(1)?,
                fetched_at: r.get(2)?,
                status: r.get(3)?,
                content_type: r.get(4)?,
                record_type: r.get(5)?,
                refers_to: r.get(6)?,
                warc_file: r.get(7)?,
                warc_offset: r.get(8)?,
            })
        },
    )
    .optional()?
    .ok_or_else(|| ServeError::NotFound(format!("capture {id}")))
}

/// The capture to show for `url`: the latest successful one, else the latest.
pub fn capture_of(conn: &Connection, url: &str) -> Result<Option<i64>, ServeError> {
    Ok(conn
        .query_row(
            "SELECT id FROM captures WHERE url = ?1
             ORDER BY (status BETWEEN 200 AND 299) DESC, id DESC LIMIT 1",
            [url],
            |r| r.get(0),
        )
        .optional()?)
}

/// Rows of `(label, count)` from a two-column query.
pub fn counts(conn: &Connection, sql: &str) -> Result<Vec<(String, i64)>, ServeError> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                r.get(1)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// One number from a query.
pub fn scalar(conn: &Connection, sql: &str) -> Result<i64, ServeError> {
    Ok(conn
        .query_row(sql, [], |r| r.get::<_, Option<i64>>(0))?
        .unwrap_or(0))
}
