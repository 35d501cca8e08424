//! `manifest.json`: what an export holds and where it came from, so that a
//! file found years later can be traced to its archive, its software and its
//! filter, and checked for corruption (SHA-256 of every file).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::file::Written;
use super::reader::{Reader, ReportMeta};
use super::{ExportError, ExportOptions};
use crate::import::store::hex;

/// File name of the manifest inside the export directory.
pub const FILE: &str = "manifest.json";

/// One file of the export.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileEntry {
    pub name: String,
    /// The table it holds (`cells`, `wide_requests`, …).
    pub table: String,
    /// Data rows (the CSV header not counted); 0 for documents.
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

impl FileEntry {
    /// The entry of a table file whose bytes were counted and digested as
    /// they were written.
    pub(crate) fn written(name: String, table: &str, rows: u64, written: Written) -> Self {
        Self {
            name,
            table: table.to_string(),
            rows,
            bytes: written.bytes,
            sha256: written.sha256,
        }
    }

    pub fn describe(path: &Path, table: &str, rows: u64) -> Result<Self, ExportError> {
        let io = |source| ExportError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = std::fs::File::open(path).map_err(io)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut bytes = 0u64;
        loop {
            let n = file.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            bytes += n as u64;
        }
        let sha256 = hex(&hasher.finalize());
        Ok(Self {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            table: table.to_string(),
            rows,
            bytes,
            sha256,
        })
    }
}

/// The archive an export was made from.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveInfo {
    pub path: PathBuf,
    pub database: PathBuf,
    pub schema_version: i64,
    pub captures: i64,
    /// Reports in the archive, before the filter.
    pub reports: usize,
    pub warc_files: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FilterInfo {
    pub year: Option<i32>,
    pub agency: Option<String>,
    pub region: Option<String>,
}

/// The contents of `manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub nianbao_version: String,
    /// UTC, ISO 8601.
    pub exported_at: String,
    pub elapsed_seconds: f64,
    pub archive: ArchiveInfo,
    pub filter: FilterInfo,
    pub format: String,
    pub excel_bom: bool,
    /// Extractor versions of the exported reports.
    pub extractor_versions: BTreeSet<String>,
    /// Rows per table.
    pub counts: BTreeMap<String, u64>,
    pub files: Vec<FileEntry>,
}

impl Manifest {
    pub(super) fn build(
        opts: &ExportOptions,
        reader: &Reader,
        total_reports: usize,
        reports: &BTreeMap<i64, ReportMeta>,
        files: Vec<FileEntry>,
        started: std::time::Instant,
    ) -> Result<Self, ExportError> {
        let captures = reader
            .conn()
            .query_row("SELECT COUNT(*) FROM captures", [], |r| r.get(0))
            .map_err(|source| ExportError::Sqlite {
                path: reader.path.clone(),
                source,
            })?;
        let warc_dir = opts.archive.join(crate::archive::WARC_DIR);
        let warc_files = crate::warc::warc_files(&warc_dir)
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        let counts = files.iter().map(|f| (f.table.clone(), f.rows)).collect();
        Ok(Self {
            nianbao_version: env!("CARGO_PKG_VERSION").to_string(),
            exported_at: crate::warc::warc_date(chrono::Utc::now()),
            elapsed_seconds: started.elapsed().as_secs_f64(),
            archive: ArchiveInfo {
                path: std::fs::canonicalize(&opts.archive).unwrap_or(opts.archive.clone()),
                database: reader.path.clone(),
                schema_version: crate::archive::SCHEMA_VERSION,
                captures,
                reports: total_reports,
                warc_files,
            },
            filter: FilterInfo {
                year: opts.filter.year,
                agency: opts.filter.agency.clone(),
                region: opts.filter.region.clone(),
            },
            format: opts.format.extension().to_string(),
            excel_bom: opts.excel && opts.format == super::OutputFormat::Csv,
            extractor_versions: reports
                .values()
                .map(|r| r.extractor_version.clone())
                .collect(),
            counts,
            files,
        })
    }

    pub fn write(&self, path: &Path) -> Result<(), ExportError> {
        let text = serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into());
        std::fs::write(path, text + "\n").map_err(|source| ExportError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Rows written for `table`, 0 if absent.
    pub fn rows(&self, table: &str) -> u64 {
        self.counts.get(table).copied().unwrap_or(0)
    }
}
