//! The codebook as an export: every code of `extract::codebook()` (the one
//! list the extractor maps labels to) with its labels, the format versions in
//! which it exists and its unit, as `codebook.csv` (always, for spreadsheets
//! and joins), `codebook.md` (for people), and in the export's format when
//! that is not CSV. Owns the layout of those files, not the codes.

use std::fmt::Write as _;

use super::manifest::FileEntry;
use super::table::{Kind, Value};
use super::{write_table_as, ExportError, ExportOptions, OutputFormat};
use crate::extract::{codebook, CodeEntry};

/// The `row.col` codes of one statistics table, in codebook order (the order
/// of the printed national tables).
pub fn wide_order(table: &str) -> Vec<String> {
    codebook()
        .iter()
        .filter(|e| e.table == table)
        .map(|e| format!("{}.{}", e.row, e.col))
        .collect()
}

/// The format versions of an entry, as the `format` column of `cells` spells them.
fn formats(e: &CodeEntry) -> String {
    let names: Vec<&str> = e.formats.iter().map(|f| f.as_str()).collect();
    names.join(" ")
}

/// The columns of the codebook table.
pub fn columns() -> Vec<super::table::Column> {
    use Kind::*;
    super::table::columns(&[
        ("table", Text),
        ("row", Text),
        ("col", Text),
        ("wide_column", Text),
        ("label_zh", Text),
        ("row_zh", Text),
        ("col_zh", Text),
        ("label_en", Text),
        ("formats", Text),
        ("unit", Text),
    ])
}

fn codebook_row(e: &CodeEntry) -> Vec<Value<'_>> {
    vec![
        e.table.into(),
        e.row.into(),
        e.col.into(),
        Value::Text(format!("{}.{}", e.row, e.col).into()),
        e.label_zh.as_str().into(),
        e.row_zh.as_str().into(),
        e.col_zh.as_str().into(),
        e.label_en.as_str().into(),
        Value::Text(formats(e).into()),
        e.unit.into(),
    ]
}

/// Write `codebook.csv`, `codebook.md` and, for Parquet or JSON Lines, the
/// codebook in that format too.
pub fn write(opts: &ExportOptions) -> Result<Vec<FileEntry>, ExportError> {
    let book = codebook();
    let mut files = Vec::new();
    let mut formats = vec![OutputFormat::Csv];
    if opts.format != OutputFormat::Csv {
        formats.push(opts.format);
    }
    for format in formats {
        files.push(write_table_as(
            format,
            opts,
            "codebook",
            &columns(),
            |sink| book.iter().try_for_each(|e| sink.write(&codebook_row(e))),
        )?);
    }
    let path = opts.out.join("codebook.md");
    std::fs::write(&path, markdown(&book)).map_err(|source| ExportError::Io {
        path: path.clone(),
        source,
    })?;
    files.push(FileEntry::describe(&path, "codebook", book.len() as u64)?);
    Ok(files)
}

/// The codebook as Markdown: one section per statistics table.
pub fn markdown(book: &[CodeEntry]) -> String {
    let mut out = String::from(
        "# Codebook\n\n\
         Every figure of the exports is named by `table`, `row`, `col`; the wide tables name \
         their columns `row.col`. `formats` lists the national formats whose tables carry the \
         figure (`f2019`: reports for 2019–2020, `f2021`: reports for 2021 on, `pre2019`: figures \
         stated in the prose of older reports). `unit`: `count`, or `money` (printed in 元 or \
         万元; each money cell carries its own unit, `yuan` or `wan_yuan`, and is never \
         rescaled). Rows named `nonstandard.N` in `cells` are rows a report added to the \
         national table; they are kept in `cells` and left out of the wide tables.\n",
    );
    let mut table = "";
    for e in book {
        if e.table != table {
            table = e.table;
            let _ = write!(
                out,
                "\n## `{table}`\n\n| row | col | 中文 | English | formats | unit |\n|---|---|---|---|---|---|\n"
            );
        }
        let _ = writeln!(
            out,
            "| `{}` | `{}` | {} | {} | {} | {} |",
            e.row,
            e.col,
            e.label_zh.replace('|', "\\|"),
            e.label_en.replace('|', "\\|"),
            formats(e),
            e.unit
        );
    }
    out
}
