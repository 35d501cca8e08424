//! Re-extraction: run decode + extract again over every snapshot in the
//! archive, with no network, and replace the derived rows.
//!
//! The WARC records are only read, never touched. What changed is reported so
//! that a new extractor's effect on the figures is visible before anyone
//! relies on them.

use std::collections::BTreeMap;

use rusqlite::params;

use crate::archive::{Archive, ArchiveError};
use crate::fetch;
use crate::pipeline;
use crate::warc::{self, WarcError};

#[derive(Debug, thiserror::Error)]
pub enum ReextractError {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("reading the archive index: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Warc(#[from] WarcError),
    #[error(transparent)]
    Import(#[from] crate::import::ImportError),
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
}

/// What a re-extraction changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub captures: usize,
    pub reports_before: usize,
    pub reports_after: usize,
    pub cells_added: usize,
    pub cells_changed: usize,
    pub cells_removed: usize,
    pub checks_now_holding: usize,
    pub checks_now_broken: usize,
    /// Snapshots that could not be read back, with the reason.
    pub unreadable: Vec<(String, String)>,
}

impl std::fmt::Display for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "re-extracted {}",
            crate::summary::counted(self.captures, "capture", "captures")
        )?;
        writeln!(
            f,
            "reports: {} before, {} after",
            self.reports_before, self.reports_after
        )?;
        writeln!(
            f,
            "cells: {} added, {} changed, {} removed",
            self.cells_added, self.cells_changed, self.cells_removed
        )?;
        writeln!(
            f,
            "identities: {} newly holding, {} newly broken",
            self.checks_now_holding, self.checks_now_broken
        )?;
        for (what, why) in &self.unreadable {
            writeln!(f, "unreadable snapshot {what}: {why}")?;
        }
        Ok(())
    }
}

/// Key of a derived figure across extractions: report position, then codes.
type CellKey = (i64, String, String, String);
type CheckKey = (i64, String, String);

struct Snapshot {
    capture_id: i64,
    warc_file: String,
    warc_offset: u64,
    content_type: Option<String>,
}

/// Re-extract every successful capture of the archive.
pub fn reextract(archive: &mut Archive) -> Result<Changes, ReextractError> {
    let snapshots = snapshots(archive)?;
    let mut changes = Changes {
        captures: snapshots.len(),
        ..Changes::default()
    };
    let bar = crate::progress::bar(snapshots.len() as u64, "re-extracting");
    for snap in snapshots {
        bar.inc(1);
        let (old_cells, old_checks, old_reports) = derived(archive, snap.capture_id)?;
        changes.reports_before += old_reports;
        match rederive(archive, &snap) {
            Ok(found) => changes.reports_after += found,
            Err(ReextractError::Warc(e)) => {
                let at = format!("{}@{}", snap.warc_file, snap.warc_offset);
                changes.unreadable.push((at, e.to_string()));
                continue;
            }
            Err(ReextractError::Import(e)) if !e.is_fatal() => {
                let at = format!("{}@{}", snap.warc_file, snap.warc_offset);
                changes.unreadable.push((at, e.to_string()));
                continue;
            }
            Err(e) => return Err(e),
        }
        let (new_cells, new_checks, _) = derived(archive, snap.capture_id)?;
        compare_cells(&old_cells, &new_cells, &mut changes);
        compare_checks(&old_checks, &new_checks, &mut changes);
    }
    bar.finish_and_clear();
    // The ledger compares figures: it follows what they are now.
    crate::ledger::recompute_all(archive.conn())?;
    Ok(changes)
}

fn snapshots(archive: &Archive) -> Result<Vec<Snapshot>, ReextractError> {
    let mut stmt = archive.conn().prepare(
        "SELECT id, warc_file, warc_offset, content_type FROM captures
         WHERE record_type = 'response' AND status BETWEEN 200 AND 299 ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Snapshot {
            capture_id: r.get(0)?,
            warc_file: r.get(1)?,
            warc_offset: r.get::<_, i64>(2)?.max(0) as u64,
            content_type: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Read a snapshot back and derive its rows again.
fn rederive(archive: &mut Archive, snap: &Snapshot) -> Result<usize, ReextractError> {
    if let Some(ex) = crate::import::stored_exchange(archive, snap.capture_id)? {
        let content_type = snap.content_type.clone().or(ex.content_type);
        let analysis = pipeline::derive(
            archive,
            snap.capture_id,
            &ex.url,
            &ex.headers,
            &ex.body,
            content_type.as_deref(),
        )?;
        if analysis.is_none() {
            archive.replace_reports(snap.capture_id, &[])?;
        }
        return Ok(analysis.map_or(0, |a| a.reports.len()));
    }
    let path = archive.warc_dir().join(&snap.warc_file);
    let record = warc::read_record(&path, snap.warc_offset)?;
    let (head, body) = record.http_parts();
    let (_, headers) = warc::parse_http_head(head);
    let headers: Vec<(String, Vec<u8>)> = headers
        .into_iter()
        .map(|(k, v)| (k, v.into_bytes()))
        .collect();
    let content_type = snap
        .content_type
        .clone()
        .or_else(|| fetch::header_value(&headers, "content-type"));
    let url = record
        .header("WARC-Target-URI")
        .unwrap_or_default()
        .to_string();
    let analysis = pipeline::derive(
        archive,
        snap.capture_id,
        &url,
        &headers,
        body,
        content_type.as_deref(),
    )?;
    if analysis.is_none() {
        archive.replace_reports(snap.capture_id, &[])?;
    }
    // What the capture is follows from what is read out of it now.
    if let Ok(page) = url::Url::parse(&url) {
        let (status, _) = warc::parse_http_head(head);
        let kind =
            crate::outcome::of_exchange(&page, status, &headers, body, None, analysis.as_ref());
        archive.set_outcome(snap.capture_id, kind.as_str())?;
    }
    Ok(analysis.map_or(0, |a| a.reports.len()))
}

type Derived = (
    BTreeMap<CellKey, (String, Option<f64>)>,
    BTreeMap<CheckKey, Option<bool>>,
    usize,
);

fn derived(archive: &Archive, capture_id: i64) -> Result<Derived, ReextractError> {
    let conn = archive.conn();
    let mut cells = BTreeMap::new();
    let mut stmt = conn.prepare(
        "SELECT r.ordinal, c.table_code, c.row_code, c.col_code, c.raw, c.value
         FROM cells c JOIN reports r ON r.id = c.report_id WHERE r.capture_id = ?1",
    )?;
    let rows = stmt.query_map(params![capture_id], |r| {
        Ok((
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?),
            (r.get(4)?, r.get(5)?),
        ))
    })?;
    for row in rows {
        let (k, v) = row?;
        cells.insert(k, v);
    }
    let mut checks = BTreeMap::new();
    let mut stmt = conn.prepare(
        "SELECT r.ordinal, k.identity, k.col, k.holds
         FROM checks k JOIN reports r ON r.id = k.report_id WHERE r.capture_id = ?1",
    )?;
    let rows = stmt.query_map(params![capture_id], |r| {
        Ok(((r.get(0)?, r.get(1)?, r.get(2)?), r.get(3)?))
    })?;
    for row in rows {
        let (k, v) = row?;
        checks.insert(k, v);
    }
    let reports: i64 = conn.query_row(
        "SELECT COUNT(*) FROM reports WHERE capture_id = ?1",
        params![capture_id],
        |r| r.get(0),
    )?;
    Ok((cells, checks, reports.max(0) as usize))
}

fn compare_cells(
    old: &BTreeMap<CellKey, (String, Option<f64>)>,
    new: &BTreeMap<CellKey, (String, Option<f64>)>,
    changes: &mut Changes,
) {
    for (key, value) in new {
        match old.get(key) {
            None => changes.cells_added += 1,
            Some(before) if before != value => changes.cells_changed += 1,
            Some(_) => {}
        }
    }
    changes.cells_removed += old.keys().filter(|k| !new.contains_key(*k)).count();
}

fn compare_checks(
    old: &BTreeMap<CheckKey, Option<bool>>,
    new: &BTreeMap<CheckKey, Option<bool>>,
    changes: &mut Changes,
) {
    for (key, holds) in new {
        let before = old.get(key).copied().flatten();
        match (before, holds) {
            (Some(true), Some(true)) | (Some(false), Some(false)) => {}
            (_, Some(true)) => changes.checks_now_holding += 1,
            (_, Some(false)) => changes.checks_now_broken += 1,
            _ => {}
        }
    }
}
