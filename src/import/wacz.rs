//! WACZ packages (a zip holding `archive/*.warc.gz`, indexes, pages and
//! `datapackage.json`): the package is kept as it came, and each WARC in it
//! is kept beside it, byte for byte as it is in the package, and imported
//! as a file of its own with the package as its parent.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::{read_records, store, FileOutcome, ImportError, ImportOptions};
use crate::archive::Archive;

/// The most of `datapackage.json` read (it names the writing software).
const MAX_DATAPACKAGE: u64 = 16 * 1024 * 1024;

/// A zip file (local file header magic).
pub fn is_wacz(path: &Path) -> Result<bool, ImportError> {
    let mut magic = [0u8; 4];
    let mut file = File::open(path).map_err(|source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let n = file.read(&mut magic).unwrap_or(0);
    Ok(n == 4 && magic == *b"PK\x03\x04")
}

/// Import every WARC and ARC file in the package.
pub fn import_package(
    archive: &mut Archive,
    path: &Path,
    package_id: i64,
    stored_as: &str,
    opts: &ImportOptions,
    outcome: &mut FileOutcome,
) -> Result<(), ImportError> {
    let bad_package = |why: String| ImportError::NotAnArchive {
        path: path.to_path_buf(),
        why,
    };
    let file = File::open(path).map_err(|source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut zip =
        zip::ZipArchive::new(BufReader::new(file)).map_err(|e| bad_package(e.to_string()))?;
    let software = package_software(&mut zip);
    outcome.format = "WACZ".into();
    outcome.writer = software.clone();
    let dir = stored_as
        .rsplit_once('/')
        .map_or(String::new(), |(d, _)| d.to_string());
    let members: Vec<String> = zip
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .filter(|n| n.starts_with("archive/") && is_warc_name(n))
        .collect();
    if members.is_empty() {
        return Err(bad_package("no WARC file under archive/".into()));
    }
    let mut formats = Vec::new();
    for member in members {
        let inner_name = store::safe_name(&member);
        let relative = format!("{dir}/archive/{inner_name}");
        let (sha256, size) = {
            let mut entry = zip
                .by_name(&member)
                .map_err(|e| bad_package(format!("{member}: {e}")))?;
            store::keep_stream(archive, &mut entry, &relative)?
        };
        let row = store::NewImport {
            file_name: &member,
            sha256: &sha256,
            size,
            stored_as: &relative,
            format: "warc",
            compression: "none",
            writer: None,
            parent: Some(package_id),
            source: opts.source.as_deref(),
        };
        let id = store::insert_import(archive, &row)?;
        let mut inner = FileOutcome {
            path: path.join(&member),
            sha256,
            ..FileOutcome::default()
        };
        let copy = archive.warc_dir().join(&relative);
        read_records(
            archive,
            &copy,
            id,
            &relative,
            software.as_deref(),
            opts,
            &mut inner,
        )?;
        formats.push(inner.format.clone());
        if outcome.writer.is_none() {
            outcome.writer = inner.writer.clone();
        }
        merge(outcome, inner);
    }
    outcome.format = format!("WACZ of {}", formats.join(", "));
    store::finish_import(
        archive,
        package_id,
        "wacz",
        "zip",
        outcome.writer.as_deref(),
        (outcome.records, outcome.captures, outcome.bad.len() as u64),
    )
}

fn is_warc_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [".warc", ".warc.gz", ".arc", ".arc.gz"]
        .iter()
        .any(|s| name.ends_with(s))
}

/// `software` of `datapackage.json` (py-wacz and Browsertrix write it).
fn package_software<R: Read + std::io::Seek>(zip: &mut zip::ZipArchive<R>) -> Option<String> {
    let mut text = String::new();
    zip.by_name("datapackage.json")
        .ok()?
        .take(MAX_DATAPACKAGE)
        .read_to_string(&mut text)
        .ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.get("software")?.as_str().map(str::to_string)
}

fn merge(into: &mut FileOutcome, inner: FileOutcome) {
    into.records += inner.records;
    into.captures += inner.captures;
    into.reports += inner.reports;
    into.revisits += inner.revisits;
    into.unresolved_revisits += inner.unresolved_revisits;
    into.duplicates += inner.duplicates;
    into.truncated += inner.truncated;
    into.bad.extend(inner.bad);
    if into.cdxj.is_none() {
        into.cdxj = inner.cdxj;
    }
}
