//! The codebook as an export: every code with its labels, the format versions
//! in which it exists and its unit, as `codebook.csv` and `codebook.md`.

use super::manifest::FileEntry;
use super::{ExportError, ExportOptions};

/// The `row.col` codes of one statistics table in codebook order.
pub fn wide_order(_table: &str) -> Vec<String> {
    Vec::new()
}

/// Write the codebook files.
pub fn write(_opts: &ExportOptions) -> Result<Vec<FileEntry>, ExportError> {
    Ok(Vec::new())
}
