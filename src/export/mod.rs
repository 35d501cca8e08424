//! Exports for researchers and archivists: the archive's figures as tidy
//! tables (CSV, Parquet, JSON Lines), wide tables per statistics table, the
//! codebook, a manifest, and CDXJ indexes of the WARC files.
//!
//! Owns everything under the export directory and the `*.warc.gz.cdxj` files
//! beside the WARC files. Reads the database read-only through the views of
//! `schema.sql`; must not write to the database, change a WARC file, or derive
//! a figure (a blank stays blank, a broken identity stays broken).

pub mod cdxj;
pub mod codebook;
mod csv;
pub mod datapackage;
mod file;
mod jsonl;
mod ledger;
mod manifest;
mod parquet;
pub mod reader;
pub mod rows;
pub mod surt;
pub mod table;
pub mod wacz;
pub mod wide;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use indicatif::ProgressBar;

pub use manifest::{FileEntry, Manifest};
pub use reader::Filter;

use reader::{CellRow, CodedCell, Reader, ReportMeta};
use table::{open_sink, Column, Sink};
use wide::{Wide, WIDE_TABLES};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("no archive database at {0}: archive something first (`nianbao fetch URL`), or pass --archive DIR")]
    NoArchive(PathBuf),
    #[error("archive database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("archive database {path} has schema version {found}, this nianbao reads version {}: use the nianbao that wrote it", crate::archive::SCHEMA_VERSION)]
    SchemaVersion { path: PathBuf, found: i64 },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing Parquet {path}: {source}")]
    Parquet {
        path: PathBuf,
        source: ::parquet::errors::ParquetError,
    },
    #[error("building Arrow data for {path}: {source}")]
    Arrow {
        path: PathBuf,
        source: arrow_schema::ArrowError,
    },
    #[error(transparent)]
    Warc(#[from] crate::warc::WarcError),
    #[error(transparent)]
    Archive(#[from] crate::archive::ArchiveError),
    #[error(transparent)]
    Wacz(#[from] wacz::WaczError),
    #[error("{0} is a package, not a table format")]
    NotTabular(&'static str),
    #[error("the thread writing the figures stopped")]
    Stopped,
}

/// The file format of the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Csv,
    Parquet,
    Jsonl,
    /// A WACZ package of the WARC records, not tables.
    Wacz,
}

impl OutputFormat {
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Csv => "csv",
            OutputFormat::Parquet => "parquet",
            OutputFormat::Jsonl => "jsonl",
            OutputFormat::Wacz => "wacz",
        }
    }
}

/// What to export, from where, to where.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The archive directory (holding `nianbao.sqlite` and `warc/`).
    pub archive: PathBuf,
    /// The export directory; created if missing, its tables replaced.
    pub out: PathBuf,
    pub format: OutputFormat,
    pub filter: Filter,
    /// CSV only: start each file with a byte-order mark for Excel.
    pub excel: bool,
    /// Source name → 行政区划代码, from the configuration: for sources the
    /// archive's `sources` table does not know (archived before it existed).
    pub regions: HashMap<String, String>,
    /// Draw a progress bar on stderr (drawn only when it is a terminal).
    pub progress: bool,
}

/// Export the archive's tables as `opts` says; returns what was written
/// (also written to `manifest.json`).
pub fn export(opts: &ExportOptions) -> Result<Manifest, ExportError> {
    let started = std::time::Instant::now();
    let reader = Reader::open(&opts.archive)?;
    let all = reader.reports(&opts.regions)?;
    let total_reports = all.len();
    let reports: Selected = all
        .into_iter()
        .filter(|r| opts.filter.accepts(r))
        .map(|r| (r.id, r))
        .collect();
    std::fs::create_dir_all(&opts.out).map_err(|source| ExportError::Io {
        path: opts.out.clone(),
        source,
    })?;
    if opts.format == OutputFormat::Wacz {
        let files = vec![wacz::write(opts, &reader, &reports)?];
        let manifest = Manifest::build(opts, &reader, total_reports, &reports, files, started)?;
        manifest.write(&opts.out.join(manifest::FILE))?;
        return Ok(manifest);
    }
    let mut schemas: Vec<(String, Vec<Column>)> = vec![
        ("reports".into(), rows::report_columns()),
        ("cells".into(), rows::cell_columns()),
        ("checks".into(), rows::check_columns()),
        ("captures".into(), rows::capture_columns()),
    ];
    let mut files = vec![write_table(
        opts,
        "reports",
        &rows::report_columns(),
        |sink| {
            reports
                .values()
                .try_for_each(|r| sink.write(&rows::report_row(r)))
        },
    )?];
    let (cells, wides) = write_cells(opts, &reader, &reports)?;
    files.push(cells);
    files.push(write_checks(opts, &reader, &reports)?);
    files.push(write_captures(opts, &reader, &reports)?);
    files.extend(ledger::write(opts, &reader, &reports, &mut schemas)?);
    for w in &wides {
        let codes = w.codes(&codebook::wide_order(&w.table));
        let name = format!("wide_{}", w.table);
        let columns = w.columns(&codes);
        files.push(write_table(opts, &name, &columns, |sink| {
            w.rows(&codes, &reports)
                .try_for_each(|row| sink.write(&row))
        })?);
        schemas.push((name, columns));
    }
    files.extend(codebook::write(opts)?);
    schemas.push(("codebook".into(), codebook::columns()));
    if opts.format == OutputFormat::Csv {
        let package = datapackage::write(opts, &files, &schemas)?;
        files.push(package);
    }
    let manifest = Manifest::build(opts, &reader, total_reports, &reports, files, started)?;
    manifest.write(&opts.out.join(manifest::FILE))?;
    tracing::info!(out = %opts.out.display(), reports = reports.len(), cells = manifest.rows("cells"), "export written");
    Ok(manifest)
}

/// The exported reports by id.
type Selected = BTreeMap<i64, ReportMeta>;

/// The capture inventory: every capture for a whole-archive export (pages
/// without reports, revisits and error responses included); with a filter,
/// the captures that hold the exported reports.
fn write_captures(
    opts: &ExportOptions,
    reader: &Reader,
    reports: &Selected,
) -> Result<FileEntry, ExportError> {
    let held: HashSet<i64> = reports.values().map(|r| r.capture_id).collect();
    write_table(opts, "captures", &rows::capture_columns(), |sink| {
        reader.for_each_capture(|k| {
            if !opts.filter.is_empty() && !held.contains(&k.id) {
                return Ok(());
            }
            let configured = || k.source.as_ref().and_then(|s| opts.regions.get(s).cloned());
            let region = k.region.clone().or_else(configured);
            sink.write(&rows::capture_row(&k, region))
        })
    })
}

/// Stream every figure of the selected reports into `cells`, gathering the
/// wide tables on the way (one pass over the largest table). Figures are
/// read from the archive on this thread and turned into rows on another, in
/// batches, each half about as long as the other.
fn write_cells(
    opts: &ExportOptions,
    reader: &Reader,
    reports: &Selected,
) -> Result<(FileEntry, Vec<Wide>), ExportError> {
    let bar = progress_bar(opts.progress, reader.cell_count()?);
    let mut wides: Vec<Wide> = WIDE_TABLES.iter().map(|t| Wide::new(t)).collect();
    let dictionary = reader.cell_dictionary()?;
    let file = write_table(opts, "cells", &rows::cell_columns(), |sink| {
        let mut cells = Cells {
            reports,
            wides: &mut wides,
            sink,
            last: None,
        };
        let Some(dictionary) = &dictionary else {
            return reader.for_each_cell(|cell| {
                bar.inc(1);
                cells.write(cell)
            });
        };
        let bar = &bar;
        std::thread::scope(|scope| {
            let (batches, queue) = std::sync::mpsc::sync_channel::<Vec<CodedCell>>(4);
            let writing = scope.spawn(move || -> Result<(), ExportError> {
                for batch in queue {
                    for cell in &batch {
                        cells.write(&dictionary.cell(cell))?;
                    }
                    bar.inc(batch.len() as u64);
                }
                Ok(())
            });
            let mut batch = Vec::with_capacity(CELL_BATCH);
            let mut read = reader.for_each_coded_cell(|cell| {
                batch.push(cell);
                if batch.len() == CELL_BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(CELL_BATCH));
                    // A closed queue: the writing side failed, and says why.
                    batches.send(full).map_err(|_| ExportError::Stopped)?;
                }
                Ok(())
            });
            if read.is_ok() && !batch.is_empty() {
                read = batches.send(batch).map_err(|_| ExportError::Stopped);
            }
            drop(batches);
            let written = writing.join().unwrap_or(Err(ExportError::Stopped));
            written.and(read)
        })
    });
    bar.finish_and_clear();
    Ok((file?, wides))
}

/// Figures read per batch handed to the writing thread.
const CELL_BATCH: usize = 2048;

/// Where the figures of `cells` go: the sink, and the wide tables.
struct Cells<'a> {
    reports: &'a Selected,
    wides: &'a mut Vec<Wide>,
    sink: &'a mut dyn Sink,
    /// The last figure's report: figures come by report, millions of them.
    last: Option<(i64, Option<&'a ReportMeta>)>,
}

impl Cells<'_> {
    fn write(&mut self, cell: &CellRow<'_>) -> Result<(), ExportError> {
        let meta = match self.last {
            Some((id, meta)) if id == cell.report_id => meta,
            _ => {
                let meta = self.reports.get(&cell.report_id);
                self.last = Some((cell.report_id, meta));
                meta
            }
        };
        let Some(meta) = meta else {
            return Ok(());
        };
        if let Some(w) = self.wides.iter_mut().find(|w| w.table == cell.table) {
            w.add(cell);
        }
        self.sink.write(&rows::cell_row(meta, cell))
    }
}

fn write_checks(
    opts: &ExportOptions,
    reader: &Reader,
    reports: &Selected,
) -> Result<FileEntry, ExportError> {
    write_table(opts, "checks", &rows::check_columns(), |sink| {
        reader.for_each_check(|k| match reports.get(&k.report_id) {
            Some(meta) => sink.write(&rows::check_row(meta, &k)),
            None => Ok(()),
        })
    })
}

fn progress_bar(show: bool, total: u64) -> ProgressBar {
    if show {
        crate::progress::bar(total, "cells")
    } else {
        ProgressBar::hidden()
    }
}

/// Write one table to `<out>/<name>.<ext>` through `fill`. The file appears
/// under its name only once complete; a failed table leaves nothing behind.
pub(crate) fn write_table(
    opts: &ExportOptions,
    name: &str,
    columns: &[Column],
    fill: impl FnOnce(&mut dyn Sink) -> Result<(), ExportError>,
) -> Result<FileEntry, ExportError> {
    write_table_as(opts.format, opts, name, columns, fill)
}

/// [`write_table`] in a given format.
fn write_table_as(
    format: OutputFormat,
    opts: &ExportOptions,
    name: &str,
    columns: &[Column],
    fill: impl FnOnce(&mut dyn Sink) -> Result<(), ExportError>,
) -> Result<FileEntry, ExportError> {
    let file_name = format!("{name}.{}", format.extension());
    let target = opts.out.join(&file_name);
    let partial = opts.out.join(format!("{file_name}.partial"));
    let result = (|| {
        let mut sink = open_sink(format, &partial, columns, opts.excel)?;
        fill(sink.as_mut())?;
        let (rows, written) = sink.finish()?;
        std::fs::rename(&partial, &target).map_err(|source| ExportError::Io {
            path: target.clone(),
            source,
        })?;
        Ok(FileEntry::written(file_name, name, rows, written))
    })();
    match result {
        Ok(entry) => Ok(entry),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

/// (Re)write the CDXJ index beside every WARC file of the archive in `dir`.
pub fn index(dir: &Path, force: bool) -> Result<cdxj::IndexSummary, ExportError> {
    cdxj::index_dir(&dir.join(crate::archive::WARC_DIR), force)
}
