//! Keeping an imported file: its SHA-256, a byte-for-byte copy under
//! `<archive>/warc/imported/<first 16 hex digits of the SHA-256>/<name>`,
//! and its row in `imports`.
//!
//! The copy is never opened for writing after it is made (it is made
//! read-only), and it lives in a subdirectory, where the WARC writer's
//! torn-tail repair, which only looks at `warc/*.warc.gz`, never reaches it.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};

use super::ImportError;
use crate::archive::Archive;

/// Directory of the imported files inside the WARC directory.
pub const IMPORTED_DIR: &str = "imported";

/// Hex SHA-256 and size of a file, read once.
pub fn sha256_file(path: &Path) -> Result<(String, u64), ImportError> {
    let io_err = |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex(&hasher.finalize()), size))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The directory (relative to the WARC directory) an imported file with
/// this digest is kept in.
pub fn stored_dir(sha256: &str) -> String {
    format!("{IMPORTED_DIR}/{}", sha256.get(..16).unwrap_or(sha256))
}

/// A file name safe to keep: its last component, without path separators.
pub fn safe_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = last
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect();
    match cleaned.as_str() {
        "" | "." | ".." => "file".to_string(),
        _ => cleaned,
    }
}

/// Copy `from` to `<warc dir>/<relative>` unless it is there already,
/// and make the copy read-only.
pub fn keep_copy(archive: &Archive, from: &Path, relative: &str) -> Result<PathBuf, ImportError> {
    let target = archive.warc_dir().join(relative);
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ImportError::Io { path, source }
    };
    if target.exists() {
        return Ok(target);
    }
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let partial = target.with_extension("partial");
    std::fs::copy(from, &partial).map_err(io_err(&partial))?;
    make_read_only(&partial).map_err(io_err(&partial))?;
    std::fs::rename(&partial, &target).map_err(io_err(&target))?;
    Ok(target)
}

/// Write `reader` to `<warc dir>/<relative>` (a member of a package),
/// returning its SHA-256 and size.
pub fn keep_stream(
    archive: &Archive,
    reader: &mut dyn Read,
    relative: &str,
) -> Result<(String, u64), ImportError> {
    let target = archive.warc_dir().join(relative);
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ImportError::Io { path, source }
    };
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let partial = target.with_extension("partial");
    let mut out = File::create(&partial).map_err(io_err(&partial))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(io_err(&partial))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(io_err(&partial))?;
        size += n as u64;
    }
    out.sync_all().map_err(io_err(&partial))?;
    drop(out);
    make_read_only(&partial).map_err(io_err(&partial))?;
    std::fs::rename(&partial, &target).map_err(io_err(&target))?;
    Ok((hex(&hasher.finalize()), size))
}

fn make_read_only(path: &Path) -> io::Result<()> {
    let mut perms = std::fs::metadata(path)?.permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(path, perms)
}

/// A new row of `imports`.
#[derive(Debug, Clone)]
pub struct NewImport<'a> {
    pub file_name: &'a str,
    pub sha256: &'a str,
    pub size: u64,
    pub stored_as: &'a str,
    pub format: &'a str,
    pub compression: &'a str,
    pub writer: Option<&'a str>,
    pub parent: Option<i64>,
    pub source: Option<&'a str>,
}

pub fn insert_import(archive: &Archive, row: &NewImport<'_>) -> Result<i64, ImportError> {
    archive.conn().execute(
        "INSERT INTO imports (file_name, sha256, size, stored_as, format, compression, writer,
           parent, source, imported_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            row.file_name,
            row.sha256,
            row.size as i64,
            row.stored_as,
            row.format,
            row.compression,
            row.writer,
            row.parent,
            row.source,
            crate::warc::warc_date(chrono::Utc::now()),
        ],
    )?;
    Ok(archive.conn().last_insert_rowid())
}

/// What reading a file found, written to its row at the end.
pub fn finish_import(
    archive: &Archive,
    id: i64,
    format: &str,
    compression: &str,
    writer: Option<&str>,
    counts: (u64, u64, u64),
) -> Result<(), ImportError> {
    archive.conn().execute(
        "UPDATE imports SET format = ?2, compression = ?3, writer = COALESCE(?4, writer),
           records = ?5, captures = ?6, bad_records = ?7 WHERE id = ?1",
        params![
            id,
            format,
            compression,
            writer,
            counts.0 as i64,
            counts.1 as i64,
            counts.2 as i64
        ],
    )?;
    Ok(())
}

/// An earlier import of a top-level file with this digest: its id and name.
pub fn earlier_import(
    archive: &Archive,
    sha256: &str,
) -> Result<Option<(i64, String)>, ImportError> {
    Ok(archive
        .conn()
        .query_row(
            "SELECT id, file_name FROM imports WHERE sha256 = ?1 AND parent IS NULL
             ORDER BY id LIMIT 1",
            [sha256],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}
