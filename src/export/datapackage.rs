//! `datapackage.json` beside a CSV export: a Frictionless Data Package
//! (v1) naming every CSV file with its table schema — each column's type,
//! its meaning, and for the wide tables the codebook's labels of the code
//! the column holds — so that readers that follow the schema (frictionless,
//! R's `frictionless`, DuckDB with explicit types) need no guessing.

use std::collections::HashMap;

use serde_json::{json, Value as Json};

use super::manifest::FileEntry;
use super::table::{Column, Kind};
use super::{ExportError, ExportOptions};
use crate::extract::codebook;

/// File name of the package descriptor inside the export directory.
pub const FILE: &str = "datapackage.json";

/// The Table Schema type of a column kind.
fn field_type(kind: Kind) -> (&'static str, Option<&'static str>) {
    match kind {
        Kind::Int => ("integer", None),
        Kind::Money => ("number", None),
        Kind::Text => ("string", None),
        Kind::Bool => ("boolean", None),
        Kind::Time => ("datetime", Some("%Y-%m-%dT%H:%M:%SZ")),
    }
}

/// What a column of the long tables means (SCHEMA.md says more).
fn describe(name: &str) -> Option<&'static str> {
    Some(match name {
        "report_id" => "The report (reports.report_id).",
        "capture_id" => "The archived HTTP exchange (captures.capture_id).",
        "agency" => "Publishing agency as printed in the report.",
        "region" => "行政区划代码 of the configured source, as stored by the crawl.",
        "source" => "The configured source (agency) that led the crawl to the page.",
        "year" => "Year the report covers.",
        "format" => {
            "National format: f2019 (reports for 2019-2020), f2021 (2021 on), pre2019, unknown."
        }
        "table" | "row" | "col" => "Code of the figure; see codebook.csv.",
        "value" => "The figure as a count (integer); null when blank, unreadable, or money.",
        "amount" => "The figure as money, in `unit`, never rescaled; null on counts.",
        "unit" => "yuan, wan_yuan (万元) or unknown on money cells; null on counts.",
        "raw" => "The cell text as printed.",
        "standard" => "False for a row the national format lacks (nonstandard.N).",
        "label" => "The row label as printed.",
        "note" => "How the cell was placed when not by its own label, or why OCR's figure was left null.",
        "ocr" => "True for a figure read from a scan by OCR.",
        "ocr_conf" => "OCR's confidence in the figure, 0-100; below 60 the value is null and raw keeps what was read.",
        "url" => "The page, percent-encoded as in WARC-Target-URI.",
        "fetched_at" => "Capture time (WARC-Date), UTC.",
        "warc_file" => "File name in archive/warc/.",
        "warc_offset" => "Offset of the record's gzip member in the WARC file.",
        "warc_length" => "Compressed length of that member.",
        "warc_record_id" => "WARC-Record-ID of the record.",
        "payload_digest" => "sha1:BASE32 of the payload as served.",
        "identities" => "all_hold, some_broken, partly_checked or not_checkable.",
        "latest" => "False when a later capture of the same URL yielded reports.",
        "parent_url" => "For a report read from an attachment: the report page that linked it.",
        "holds" => "True: the identity holds; false: broken; null: not checkable.",
        "left_value" | "right_value" => "The two sides of the identity.",
        "difference" => "left_value - right_value.",
        "report_url" => "A page that yielded a report in some capture.",
        "run_id" => "The crawl run (runs.id) that visited the page.",
        "state" => "new, unchanged, changed, gone, blocked, moved or error (SCHEMA.md).",
        "reason" => {
            "Why: same_payload, same_figures, http_404, soft_404, redirect_home, block_*, ..."
        }
        "checked_at" => "When the run's capture was made (or the failure met), UTC.",
        "old_value" | "new_value" => "The figure before and after the edit; null when absent.",
        "old_capture" | "new_capture" => "The two captures compared (captures.capture_id).",
        _ => return None,
    })
}

/// One field of a table schema; the wide tables' code columns get the
/// codebook's labels.
fn field(column: &Column, labels: &HashMap<String, (String, String)>) -> Json {
    let (kind, format) = field_type(column.kind);
    let mut f = json!({ "name": column.name, "type": kind });
    if let Some(format) = format {
        f["format"] = json!(format);
    }
    let code = column.name.strip_suffix("_unit").unwrap_or(&column.name);
    if let Some(d) = describe(&column.name) {
        f["description"] = json!(d);
    } else if let Some((zh, en)) = labels.get(code) {
        f["title"] = json!(zh);
        f["description"] = if column.name.ends_with("_unit") {
            json!(format!("Unit of {code} ({en}): yuan, wan_yuan or unknown."))
        } else {
            json!(en)
        };
    }
    f
}

/// Labels of the wide columns, per table: `row.col` → (Chinese, English).
fn wide_labels(table: &str) -> HashMap<String, (String, String)> {
    codebook()
        .into_iter()
        .filter(|e| format!("wide_{}", e.table) == table)
        .map(|e| {
            (
                format!("{}.{}", e.row, e.col),
                (e.label_zh.clone(), e.label_en.clone()),
            )
        })
        .collect()
}

/// The descriptor for the CSV `files`, each with the columns of its table.
pub fn descriptor(files: &[FileEntry], schemas: &[(String, Vec<Column>)]) -> Json {
    let resources: Vec<Json> = files
        .iter()
        .filter(|f| f.name.ends_with(".csv"))
        .filter_map(|f| {
            let (_, columns) = schemas.iter().find(|(t, _)| *t == f.table)?;
            let labels = wide_labels(&f.table);
            let fields: Vec<Json> = columns.iter().map(|c| field(c, &labels)).collect();
            Some(json!({
                "name": f.table.replace('_', "-"),
                "path": f.name,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "bytes": f.bytes,
                "hash": format!("sha256:{}", f.sha256),
                "dialect": { "delimiter": ",", "header": true, "doubleQuote": true },
                "schema": { "fields": fields, "missingValues": [""] },
            }))
        })
        .collect();
    json!({
        "profile": "tabular-data-package",
        "name": "nianbao-export",
        "title": "Government information-disclosure annual reports (政府信息公开工作年度报告)",
        "created": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "resources": resources,
    })
}

/// Write `datapackage.json` into the export directory.
pub fn write(
    opts: &ExportOptions,
    files: &[FileEntry],
    schemas: &[(String, Vec<Column>)],
) -> Result<FileEntry, ExportError> {
    let path = opts.out.join(FILE);
    let text = serde_json::to_string_pretty(&descriptor(files, schemas)).unwrap_or_default();
    std::fs::write(&path, text + "\n").map_err(|source| ExportError::Io {
        path: path.clone(),
        source,
    })?;
    FileEntry::describe(&path, "datapackage", 0)
}
