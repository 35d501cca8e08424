//! Reading the archive for an export: read-only, through the views of
//! `schema.sql`, never writing to the database or the WARC files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::types::Type;
use rusqlite::{Connection, OpenFlags};

use super::ExportError;
use crate::archive::{schema_statement, DB_FILE, SCHEMA_VERSION, VIEWS};

/// A report with everything a row of any export table needs about it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportMeta {
    pub id: i64,
    pub capture_id: i64,
    pub ordinal: i64,
    pub title: String,
    pub agency: Option<String>,
    pub source: Option<String>,
    /// 行政区划代码 of the source, as the archive's `sources` table has it
    /// (else from the configuration given to the export).
    pub region: Option<String>,
    pub year: Option<i64>,
    pub format: String,
    pub url: String,
    pub fetched_at: String,
    /// `fetched_at` in microseconds since the epoch, read once: every row of
    /// a report's figures carries it.
    pub fetched_micros: Option<i64>,
    pub status: i64,
    pub warc_file: String,
    pub warc_offset: i64,
    pub warc_length: i64,
    pub warc_record_id: String,
    pub payload_digest: String,
    pub encoding: Option<String>,
    pub encoding_decision: Option<String>,
    pub extractor_version: String,
    pub cells: i64,
    pub checks_held: i64,
    pub checks_broken: i64,
    pub checks_uncheckable: i64,
    pub identities: String,
    pub latest: bool,
    pub notes: String,
    /// For a report read from an attachment: the URL of the report page
    /// that linked it (`reports.parent_capture`).
    pub parent_url: Option<String>,
}

/// One figure as stored, borrowed from where it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct CellRow<'a> {
    pub report_id: i64,
    pub table: &'a str,
    pub row: &'a str,
    pub col: &'a str,
    pub value: Option<f64>,
    pub raw: &'a str,
    pub unit: Option<&'a str>,
    /// False for a row the national format lacks (`nonstandard.N`).
    pub standard: bool,
    /// The row label as printed.
    pub label: Option<&'a str>,
    /// How the cell was placed when not by its own label.
    pub note: Option<&'a str>,
    /// True for a figure read from a scan by OCR.
    pub ocr: bool,
    /// OCR's confidence (0–100).
    pub ocr_conf: Option<f64>,
}

/// A figure of the compact table, its code and label by id (see
/// [`CellDictionary`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CodedCell {
    pub report_id: i64,
    pub code: i64,
    pub raw: String,
    pub value: Option<f64>,
    pub unit: Option<String>,
    pub standard: bool,
    pub label: Option<i64>,
    pub note: Option<String>,
    pub ocr: bool,
    pub ocr_conf: Option<f64>,
}

/// The (table, row, column) codes and the printed labels of figures, by id.
pub struct CellDictionary {
    codes: foldhash::HashMap<i64, [String; 3]>,
    labels: foldhash::HashMap<i64, String>,
}

impl CellDictionary {
    /// The figure with its codes and label as text (empty for a code the
    /// archive lacks, which its foreign key rules out).
    pub fn cell<'a>(&'a self, c: &'a CodedCell) -> CellRow<'a> {
        let [table, row, col] = self.codes.get(&c.code).map_or(["", "", ""], |[t, r, c]| {
            [t.as_str(), r.as_str(), c.as_str()]
        });
        CellRow {
            report_id: c.report_id,
            table,
            row,
            col,
            value: c.value,
            raw: &c.raw,
            unit: c.unit.as_deref(),
            standard: c.standard,
            label: c
                .label
                .and_then(|id| self.labels.get(&id))
                .map(String::as_str),
            note: c.note.as_deref(),
            ocr: c.ocr,
            ocr_conf: c.ocr_conf,
        }
    }
}

/// Column `i` as text, borrowed from the row.
fn text<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<&'r str>> {
    r.get_ref(i)?
        .as_str_or_null()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

/// One identity result as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRow {
    pub report_id: i64,
    pub identity: String,
    pub col: String,
    pub holds: Option<bool>,
    pub left: Option<f64>,
    pub right: Option<f64>,
}

/// One capture as stored, for the archivists' inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureRow {
    pub id: i64,
    pub url: String,
    pub fetched_at: String,
    pub status: i64,
    pub record_type: String,
    pub content_type: Option<String>,
    pub payload_digest: String,
    pub payload_length: i64,
    pub truncated: Option<String>,
    pub warc_file: String,
    pub warc_offset: i64,
    pub warc_length: i64,
    pub warc_record_id: String,
    pub ip: Option<String>,
    pub refers_to: Option<i64>,
    pub encoding: Option<String>,
    pub encoding_decision: Option<String>,
    pub encoding_errors: Option<bool>,
    pub source: Option<String>,
    pub reports: i64,
    /// 行政区划代码 of the source, from the archive's `sources` table.
    pub region: Option<String>,
}

/// Which reports to export. Every given condition must hold.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// The report year, exactly.
    pub year: Option<i32>,
    /// A part of the agency name as printed (`龙岗` matches `深圳市龙岗区人民政府`).
    pub agency: Option<String>,
    /// A prefix of the region code (`44` all of Guangdong, `440307` one district).
    pub region: Option<String>,
}

impl Filter {
    /// True when no condition is given: the whole archive is exported.
    pub fn is_empty(&self) -> bool {
        self.year.is_none() && self.agency.is_none() && self.region.is_none()
    }

    pub fn accepts(&self, r: &ReportMeta) -> bool {
        let year = self.year.is_none_or(|y| r.year == Some(i64::from(y)));
        let agency = self.agency.as_deref().is_none_or(|a| {
            r.agency.as_deref().is_some_and(|x| x.contains(a)) || r.title.contains(a)
        });
        let region = self
            .region
            .as_deref()
            .is_none_or(|p| r.region.as_deref().is_some_and(|x| x.starts_with(p)));
        year && agency && region
    }
}

/// An archive database opened for reading.
pub struct Reader {
    pub path: PathBuf,
    conn: Connection,
}

impl Reader {
    /// Open `<dir>/nianbao.sqlite` read-only, as one consistent snapshot. An
    /// archive made before a view existed gets it as a temporary view, from
    /// the same `schema.sql`.
    pub fn open(dir: &Path) -> Result<Self, ExportError> {
        let path = dir.join(DB_FILE);
        if !path.is_file() {
            return Err(ExportError::NoArchive(path));
        }
        crate::archive::upgrade(dir)?;
        let sql = |source| ExportError::Sqlite {
            path: path.clone(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags).map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(sql)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql)?;
        if version != SCHEMA_VERSION {
            return Err(ExportError::SchemaVersion {
                path,
                found: version,
            });
        }
        let reader = Self { path, conn };
        reader.ensure_views()?;
        // One read transaction for the whole export: every query sees the
        // same snapshot, even while a crawl writes (WAL).
        reader
            .conn
            .execute_batch("BEGIN DEFERRED")
            .map_err(|e| reader.sql(e))?;
        Ok(reader)
    }

    fn sql(&self, source: rusqlite::Error) -> ExportError {
        ExportError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    fn ensure_views(&self) -> Result<(), ExportError> {
        // A copy that could not be upgraded keeps figures and checks in
        // tables of their own: read them in their order, as `ord`.
        for name in ["cells", "checks"] {
            let table =
                crate::archive::has_object(&self.conn, "table", name).map_err(|e| self.sql(e))?;
            if table {
                self.conn
                    .execute_batch(&format!(
                        "CREATE TEMP VIEW {name} AS SELECT *, rowid AS ord FROM main.{name}"
                    ))
                    .map_err(|e| self.sql(e))?;
            }
        }
        for name in VIEWS {
            let present =
                crate::archive::has_object(&self.conn, "view", name).map_err(|e| self.sql(e))?;
            if present {
                continue;
            }
            if let Some(statement) = schema_statement(&format!("CREATE VIEW {name} AS")) {
                let temp = statement.replacen("CREATE VIEW", "CREATE TEMP VIEW", 1);
                self.conn.execute_batch(&temp).map_err(|e| self.sql(e))?;
            }
        }
        Ok(())
    }

    /// Every report, in id order, with its region looked up by source name.
    pub fn reports(
        &self,
        regions: &HashMap<String, String>,
    ) -> Result<Vec<ReportMeta>, ExportError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT report_id, capture_id, ordinal, title, agency, source, region, year, format, url,
                   fetched_at, status, warc_file, warc_offset, warc_length, warc_record_id,
                   payload_digest, encoding, encoding_decision, extractor_version, cells,
                   checks_held, checks_broken, checks_uncheckable, identities, latest, notes
                 FROM v_reports ORDER BY report_id",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| {
                let source: Option<String> = r.get(5)?;
                let stored: Option<String> = r.get(6)?;
                Ok(ReportMeta {
                    id: r.get(0)?,
                    capture_id: r.get(1)?,
                    ordinal: r.get(2)?,
                    title: r.get(3)?,
                    agency: r.get(4)?,
                    region: stored
                        .or_else(|| source.as_ref().and_then(|s| regions.get(s).cloned())),
                    source,
                    year: r.get(7)?,
                    format: r.get(8)?,
                    url: r.get(9)?,
                    fetched_micros: None,
                    fetched_at: r.get(10)?,
                    status: r.get(11)?,
                    warc_file: r.get(12)?,
                    warc_offset: r.get(13)?,
                    warc_length: r.get(14)?,
                    warc_record_id: r.get(15)?,
                    payload_digest: r.get(16)?,
                    encoding: r.get(17)?,
                    encoding_decision: r.get(18)?,
                    extractor_version: r.get(19)?,
                    cells: r.get(20)?,
                    checks_held: r.get(21)?,
                    checks_broken: r.get(22)?,
                    checks_uncheckable: r.get(23)?,
                    identities: r.get(24)?,
                    latest: r.get(25)?,
                    notes: r.get(26)?,
                    parent_url: None,
                })
            })
            .map_err(|e| self.sql(e))?;
        let mut reports: Vec<ReportMeta> =
            rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))?;
        let parents = self.parent_urls()?;
        for r in &mut reports {
            r.parent_url = parents.get(&r.id).cloned();
            r.fetched_micros = super::table::parse_time(&r.fetched_at);
            if r.fetched_micros.is_none() {
                tracing::warn!(
                    report = r.id,
                    fetched_at = %r.fetched_at,
                    "capture time is not ISO 8601; exported as null"
                );
            }
        }
        Ok(reports)
    }

    /// The report page each attachment's report hangs from, by report id;
    /// none in an archive older than `reports.parent_capture`.
    fn parent_urls(&self) -> Result<HashMap<i64, String>, ExportError> {
        let present: bool = self
            .conn
            .query_row(
                "SELECT COUNT(*) > 0 FROM pragma_table_info('reports') WHERE name = 'parent_capture'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))?;
        if !present {
            return Ok(HashMap::new());
        }
        let mut stmt = self
            .conn
            .prepare("SELECT r.id, k.url FROM reports r JOIN captures k ON k.id = r.parent_capture")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.sql(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql(e))
    }

    /// Run `sql` and hand each row, mapped by `map`, to `visit`, without
    /// holding the table in memory.
    fn stream<T>(
        &self,
        sql: &str,
        map: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
        mut visit: impl FnMut(T) -> Result<(), ExportError>,
    ) -> Result<(), ExportError> {
        self.each_row(sql, |row| visit(map(row).map_err(|e| self.sql(e))?))
    }

    /// Run `sql` and lend each row to `visit`, for what borrows from it.
    fn each_row(
        &self,
        sql: &str,
        mut visit: impl FnMut(&rusqlite::Row<'_>) -> Result<(), ExportError>,
    ) -> Result<(), ExportError> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.sql(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.sql(e))?;
        while let Some(row) = rows.next().map_err(|e| self.sql(e))? {
            visit(row)?;
        }
        Ok(())
    }

    /// Visit every figure, by report and then in the order it was extracted
    /// (the order of the printed table). Each figure is lent to `visit`,
    /// its codes and label borrowed from a [`CellDictionary`] read once: an
    /// export visits millions of figures, and a join and eight strings a
    /// figure were most of its time.
    pub fn for_each_cell(
        &self,
        mut visit: impl FnMut(&CellRow<'_>) -> Result<(), ExportError>,
    ) -> Result<(), ExportError> {
        match self.cell_dictionary()? {
            Some(dictionary) => self.for_each_coded_cell(|cell| visit(&dictionary.cell(&cell))),
            None => self.for_each_cell_in_view(visit),
        }
    }

    /// The codes and printed labels of figures, by id; none in a copy of an
    /// archive that could not be upgraded to the compact tables.
    pub fn cell_dictionary(&self) -> Result<Option<CellDictionary>, ExportError> {
        for table in ["cell_values", "cell_codes", "labels"] {
            if !crate::archive::has_object(&self.conn, "table", table).map_err(|e| self.sql(e))? {
                return Ok(None);
            }
        }
        Ok(Some(CellDictionary {
            codes: self.collect(
                "SELECT id, table_code, row_code, col_code FROM cell_codes",
                |r| Ok((r.get(0)?, [r.get(1)?, r.get(2)?, r.get(3)?])),
            )?,
            labels: self.collect("SELECT id, label FROM labels", |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?,
        }))
    }

    /// Every figure of the compact table, in the order of
    /// [`Reader::for_each_cell`], its code and label by id. Owned, so that
    /// figures can be read on one thread and written on another.
    pub fn for_each_coded_cell(
        &self,
        visit: impl FnMut(CodedCell) -> Result<(), ExportError>,
    ) -> Result<(), ExportError> {
        let sql = format!(
            "SELECT report_id, code, raw, value, unit, standard, label, {}, {}, {}
             FROM cell_values ORDER BY report_id, ord",
            self.column_or_null("cell_values", "note")?,
            self.column_or_null("cell_values", "ocr")?,
            self.column_or_null("cell_values", "ocr_conf")?
        );
        let map = |r: &rusqlite::Row<'_>| {
            Ok(CodedCell {
                report_id: r.get::<_, Option<i64>>(0)?.unwrap_or(0),
                code: r.get::<_, Option<i64>>(1)?.unwrap_or(0),
                raw: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                value: r.get::<_, Option<f64>>(3)?,
                unit: r.get(4)?,
                standard: r.get::<_, Option<i64>>(5)?.is_none_or(|v| v != 0),
                label: r.get::<_, Option<i64>>(6)?,
                note: r.get(7)?,
                ocr: r.get::<_, Option<i64>>(8)?.is_some_and(|v| v != 0),
                ocr_conf: r.get::<_, Option<f64>>(9)?,
            })
        };
        self.stream(&sql, map, visit)
    }

    /// [`Reader::for_each_cell`] through the `cells` view, for a copy of an
    /// archive that could not be upgraded to the compact tables.
    fn for_each_cell_in_view(
        &self,
        mut visit: impl FnMut(&CellRow<'_>) -> Result<(), ExportError>,
    ) -> Result<(), ExportError> {
        let sql = format!(
            "SELECT report_id, table_code, row_code, col_code, value, raw, unit,
                    standard, label, {}, {}, {}
             FROM cells ORDER BY report_id, ord",
            self.column_or_null("cells", "note")?,
            self.column_or_null("cells", "ocr")?,
            self.column_or_null("cells", "ocr_conf")?
        );
        self.each_row(&sql, |r| {
            let cell = (|| {
                Ok(CellRow {
                    report_id: r.get::<_, Option<i64>>(0)?.unwrap_or(0),
                    table: text(r, 1)?.unwrap_or(""),
                    row: text(r, 2)?.unwrap_or(""),
                    col: text(r, 3)?.unwrap_or(""),
                    value: r.get::<_, Option<f64>>(4)?,
                    raw: text(r, 5)?.unwrap_or(""),
                    unit: text(r, 6)?,
                    standard: r.get::<_, Option<i64>>(7)?.is_none_or(|v| v != 0),
                    label: text(r, 8)?,
                    note: text(r, 9)?,
                    ocr: r.get::<_, Option<i64>>(10)?.is_some_and(|v| v != 0),
                    ocr_conf: r.get::<_, Option<f64>>(11)?,
                })
            })()
            .map_err(|e| self.sql(e))?;
            visit(&cell)
        })
    }

    /// `name` when `table` has that column, else `NULL`: an archive older
    /// than a column is read with the column empty.
    fn column_or_null(&self, table: &str, name: &str) -> Result<String, ExportError> {
        let present: bool = self
            .conn
            .query_row(
                "SELECT COUNT(*) > 0 FROM pragma_table_info(?1) WHERE name = ?2",
                [table, name],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))?;
        Ok(if present {
            name.to_string()
        } else {
            "NULL".into()
        })
    }

    /// Every row of `sql`, mapped by `map`, collected.
    fn collect<T, C: FromIterator<T>>(
        &self,
        sql: &str,
        map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<C, ExportError> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.sql(e))?;
        let rows = stmt.query_map([], map).map_err(|e| self.sql(e))?;
        rows.collect::<Result<C, _>>().map_err(|e| self.sql(e))
    }

    /// Visit every identity result, by report, in the order they were checked.
    pub fn for_each_check(
        &self,
        visit: impl FnMut(CheckRow) -> Result<(), ExportError>,
    ) -> Result<(), ExportError> {
        let sql = "SELECT report_id, identity, col, holds, left_value, right_value
                   FROM checks ORDER BY report_id, ord";
        let map = |r: &rusqlite::Row<'_>| {
            Ok(CheckRow {
                report_id: r.get(0)?,
                identity: r.get(1)?,
                col: r.get(2)?,
                holds: r.get(3)?,
                left: r.get(4)?,
                right: r.get(5)?,
            })
        };
        self.stream(sql, map, visit)
    }

    /// Visit every capture, in the order they were archived.
    pub fn for_each_capture(
        &self,
        visit: impl FnMut(CaptureRow) -> Result<(), ExportError>,
    ) -> Result<(), ExportError> {
        let sql = "SELECT k.id, k.url, k.fetched_at, k.status, k.record_type, k.content_type,
                     k.payload_digest, k.payload_length, k.truncated, k.warc_file, k.warc_offset,
                     k.warc_length, k.warc_record_id, k.ip, k.refers_to, k.encoding,
                     k.encoding_decision, k.encoding_errors, k.source,
                     (SELECT COUNT(*) FROM reports r WHERE r.capture_id = k.id),
                     (SELECT region FROM sources s WHERE s.name = k.source)
                   FROM captures k ORDER BY k.id";
        let map = |r: &rusqlite::Row<'_>| {
            Ok(CaptureRow {
                id: r.get(0)?,
                url: r.get(1)?,
                fetched_at: r.get(2)?,
                status: r.get(3)?,
                record_type: r.get(4)?,
                content_type: r.get(5)?,
                payload_digest: r.get(6)?,
                payload_length: r.get(7)?,
                truncated: r.get(8)?,
                warc_file: r.get(9)?,
                warc_offset: r.get(10)?,
                warc_length: r.get(11)?,
                warc_record_id: r.get(12)?,
                ip: r.get(13)?,
                refers_to: r.get(14)?,
                encoding: r.get(15)?,
                encoding_decision: r.get(16)?,
                encoding_errors: r.get(17)?,
                source: r.get(18)?,
                reports: r.get(19)?,
                region: r.get(20)?,
            })
        };
        self.stream(sql, map, visit)
    }

    /// The number of cells, for the progress bar.
    pub fn cell_count(&self) -> Result<u64, ExportError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM cells", [], |r| r.get::<_, i64>(0))
            .map(|n| n.max(0) as u64)
            .map_err(|e| self.sql(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_view_statement_is_found_whole() {
        for name in VIEWS {
            let s = schema_statement(&format!("CREATE VIEW {name} AS")).unwrap_or_default();
            assert!(s.starts_with(&format!("CREATE VIEW {name} AS")), "{name}");
            assert!(s.ends_with(';'), "{name}: {s}");
        }
    }
}
