//! WACZ 1.1.1: the archive as one package that web archivists share and
//! ReplayWeb.page opens — the WARC files (`archive/`), their CDXJ index
//! (`indexes/index.cdxj`), the reports as pages (`pages/pages.jsonl`), and
//! `datapackage.json` with the SHA-256 of every file, itself hashed in
//! `datapackage-digest.json`.
//!
//! A whole-archive export carries the WARC files as they are. A filtered one
//! carries one WARC file made of the records of the exported reports' URLs
//! (every capture of each, revisits with the records they refer to), their
//! gzip members copied byte for byte, so that every record stays as written.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde_json::json;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::import::store::hex;

use super::manifest::FileEntry;
use super::reader::{CaptureRow, Reader, ReportMeta};
use super::{cdxj, ExportError, ExportOptions};

/// File name of the package inside the export directory.
pub const FILE: &str = "nianbao.wacz";
/// The WARC file of a filtered package.
const FILTERED_WARC: &str = "data.warc.gz";
const WACZ_VERSION: &str = "1.1.1";

#[derive(Debug, thiserror::Error)]
pub enum WaczError {
    #[error("writing the WACZ package {path}: {source}")]
    Zip {
        path: PathBuf,
        source: zip::result::ZipError,
    },
}

/// One file of the package: its path inside, size and SHA-256.
struct Entry {
    path: String,
    bytes: u64,
    sha256: String,
}

/// The package being written.
struct Package {
    path: PathBuf,
    zip: ZipWriter<File>,
    entries: Vec<Entry>,
}

impl Package {
    fn create(path: &Path) -> Result<Self, ExportError> {
        let file = File::create(path).map_err(|source| ExportError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            zip: ZipWriter::new(file),
            entries: Vec::new(),
        })
    }

    fn zip_err(&self, source: zip::result::ZipError) -> ExportError {
        ExportError::Wacz(WaczError::Zip {
            path: self.path.clone(),
            source,
        })
    }

    fn io_err(&self, source: std::io::Error) -> ExportError {
        ExportError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Add `name` with the bytes of `data`, stored (WARC members are
    /// compressed already) or deflated (text), hashing on the way.
    fn add(
        &mut self,
        name: &str,
        mut data: impl Read,
        size: u64,
        listed: bool,
    ) -> Result<(), ExportError> {
        let method = if name.ends_with(".gz") {
            CompressionMethod::Stored
        } else {
            CompressionMethod::Deflated
        };
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .large_file(size >= u64::from(u32::MAX));
        self.zip
            .start_file(name, options)
            .map_err(|e| self.zip_err(e))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut bytes = 0u64;
        loop {
            let n = data.read(&mut buf).map_err(|e| self.io_err(e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            self.zip.write_all(&buf[..n]).map_err(|e| self.io_err(e))?;
            bytes += n as u64;
        }
        if listed {
            self.entries.push(Entry {
                path: name.to_string(),
                bytes,
                sha256: hex(&hasher.finalize()),
            });
        }
        Ok(())
    }

    fn add_bytes(&mut self, name: &str, data: &[u8]) -> Result<(), ExportError> {
        self.add(name, data, data.len() as u64, true)
    }

    fn finish(self) -> Result<(), ExportError> {
        let path = self.path.clone();
        let zip_err = |source| {
            ExportError::Wacz(WaczError::Zip {
                path: path.clone(),
                source,
            })
        };
        self.zip.finish().map_err(zip_err)?;
        Ok(())
    }
}

/// Write `<out>/nianbao.wacz` for the selected reports.
pub fn write(
    opts: &ExportOptions,
    reader: &Reader,
    reports: &BTreeMap<i64, ReportMeta>,
) -> Result<FileEntry, ExportError> {
    let target = opts.out.join(FILE);
    let partial = opts.out.join(format!("{FILE}.partial"));
    let result = build(opts, reader, reports, &partial).and_then(|()| {
        std::fs::rename(&partial, &target).map_err(|source| ExportError::Io {
            path: target.clone(),
            source,
        })
    });
    if let Err(e) = result {
        let _ = std::fs::remove_file(&partial);
        let _ = std::fs::remove_file(opts.out.join(FILTERED_WARC));
        return Err(e);
    }
    FileEntry::describe(&target, "wacz", reports.len() as u64)
}

fn build(
    opts: &ExportOptions,
    reader: &Reader,
    reports: &BTreeMap<i64, ReportMeta>,
    path: &Path,
) -> Result<(), ExportError> {
    let warc_dir = opts.archive.join(crate::archive::WARC_DIR);
    let warcs: Vec<PathBuf> = if opts.filter.is_empty() {
        whole_files(&warc_dir)?
    } else {
        vec![filtered_warc(opts, reader, reports, &warc_dir)?]
    };
    let mut package = Package::create(path)?;
    let mut index = Vec::new();
    for warc in &warcs {
        index.extend(cdxj::index_lines(warc)?);
        let name = warc
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = File::open(warc).map_err(|source| ExportError::Io {
            path: warc.clone(),
            source,
        })?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
        package.add(&format!("archive/{name}"), file, size, true)?;
    }
    if !opts.filter.is_empty() {
        let _ = std::fs::remove_file(opts.out.join(FILTERED_WARC));
    }
    index.sort();
    index.dedup();
    package.add_bytes("indexes/index.cdxj", index.concat().as_bytes())?;
    package.add_bytes("pages/pages.jsonl", pages(reports).as_bytes())?;
    let datapackage = datapackage(&package.entries);
    package.add("datapackage.json", datapackage.as_bytes(), 0, false)?;
    let digest = json!({
        "path": "datapackage.json",
        "hash": format!("sha256:{}", hex(&Sha256::digest(datapackage.as_bytes()))),
    });
    let digest = serde_json::to_string_pretty(&digest).unwrap_or_default();
    package.add("datapackage-digest.json", digest.as_bytes(), 0, false)?;
    package.finish()
}

/// Every WARC file of the archive, in name order.
fn whole_files(warc_dir: &Path) -> Result<Vec<PathBuf>, ExportError> {
    let entries = std::fs::read_dir(warc_dir).map_err(|source| ExportError::Io {
        path: warc_dir.to_path_buf(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".warc.gz"))
        .collect();
    files.sort();
    Ok(files)
}

/// The captures a filtered package holds: every capture of an exported
/// report's URL, and the captures their revisits refer to.
fn selected_captures(
    reader: &Reader,
    reports: &BTreeMap<i64, ReportMeta>,
) -> Result<Vec<CaptureRow>, ExportError> {
    let urls: HashSet<&str> = reports.values().map(|r| r.url.as_str()).collect();
    let mut all = Vec::new();
    reader.for_each_capture(|k| {
        all.push(k);
        Ok(())
    })?;
    let mut keep: BTreeSet<i64> = all
        .iter()
        .filter(|k| urls.contains(k.url.as_str()))
        .map(|k| k.id)
        .collect();
    let referred: Vec<i64> = all
        .iter()
        .filter(|k| keep.contains(&k.id))
        .filter_map(|k| k.refers_to)
        .collect();
    keep.extend(referred);
    Ok(all.into_iter().filter(|k| keep.contains(&k.id)).collect())
}

/// Copy the gzip members of the selected captures into one WARC file in
/// the export directory (removed once packed).
fn filtered_warc(
    opts: &ExportOptions,
    reader: &Reader,
    reports: &BTreeMap<i64, ReportMeta>,
    warc_dir: &Path,
) -> Result<PathBuf, ExportError> {
    let path = opts.out.join(FILTERED_WARC);
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| ExportError::Io { path: p, source }
    };
    let mut out = std::io::BufWriter::new(File::create(&path).map_err(io(&path))?);
    for k in selected_captures(reader, reports)? {
        let source = warc_dir.join(&k.warc_file);
        let mut file = File::open(&source).map_err(io(&source))?;
        let offset = u64::try_from(k.warc_offset).unwrap_or(0);
        let length = u64::try_from(k.warc_length).unwrap_or(0);
        file.seek(SeekFrom::Start(offset)).map_err(io(&source))?;
        std::io::copy(&mut file.take(length), &mut out).map_err(io(&source))?;
    }
    out.flush().map_err(io(&path))?;
    Ok(path)
}

/// `pages/pages.jsonl`: one page per captured report page, titled with the
/// report's title (the first report's when a page holds several).
fn pages(reports: &BTreeMap<i64, ReportMeta>) -> String {
    let mut out =
        json!({"format": "json-pages-1.0", "id": "pages", "title": "Reports"}).to_string();
    out.push('\n');
    let mut seen = HashSet::new();
    for r in reports.values() {
        if !seen.insert(r.capture_id) {
            continue;
        }
        let id = r
            .warc_record_id
            .trim_start_matches("<urn:uuid:")
            .trim_end_matches('>');
        let page = json!({"id": id, "url": r.url, "ts": r.fetched_at, "title": r.title});
        out.push_str(&page.to_string());
        out.push('\n');
    }
    out
}

/// `datapackage.json` of the package: every file with its size and hash.
fn datapackage(entries: &[Entry]) -> String {
    let resources: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            let name = e.path.rsplit('/').next().unwrap_or(&e.path).to_lowercase();
            json!({
                "name": name,
                "path": e.path,
                "hash": format!("sha256:{}", e.sha256),
                "bytes": e.bytes,
            })
        })
        .collect();
    let package = json!({
        "profile": "data-package",
        "resources": resources,
        "title": "nianbao: government information-disclosure annual reports",
        "created": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "wacz_version": WACZ_VERSION,
        "software": concat!("nianbao ", env!("CARGO_PKG_VERSION")),
    });
    serde_json::to_string_pretty(&package).unwrap_or_default()
}
