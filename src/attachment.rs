//! Attachments: PDF, DOCX and spreadsheet reports turned into text for the
//! flattened-text extractor. The attachment itself stays byte-exact in the
//! WARC; only a copy is converted.
//!
//! PDF goes through poppler's `pdftotext -layout`: official Chinese PDFs often
//! use GBK-EUC-H / UniGB-UCS2-H fonts without ToUnicode maps, which pure-Rust
//! extractors turn into U+FFFD. Layout columns become `|`-separated cells.

use std::io::{Cursor, Read, Write};
use std::time::Duration;

use calamine::Reader;
use quick_xml::events::Event;

use crate::scan::{Tool, ToolError};

const PDFTOTEXT: Tool = Tool {
    program: "pdftotext",
    package: "poppler-utils",
};
/// Longest a converter may run on one attachment.
const CONVERT_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest XML part read out of a DOCX.
const MAX_XML_BYTES: u64 = 64 * 1024 * 1024;

/// Document kinds a report arrives as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Html,
    Text,
    Pdf,
    Docx,
    Spreadsheet,
    /// A PNG or JPEG picture: a scanned page, read with OCR.
    Image,
    /// Old binary Word or WPS files: archived, not converted.
    Unconvertible,
}

#[derive(Debug, thiserror::Error)]
pub enum AttachmentError {
    #[error("pdftotext is not installed (Debian: apt-get install poppler-utils)")]
    NoPdftotext,
    #[error("pdftotext failed: {0}")]
    Pdftotext(String),
    #[error("not a readable DOCX: {0}")]
    Docx(String),
    #[error("not a readable spreadsheet: {0}")]
    Spreadsheet(String),
    #[error("no converter for this document type")]
    Unsupported,
}

/// Decide the kind from the content type, the URL's extension and the magic bytes.
pub fn kind_of(url: &str, content_type: Option<&str>, bytes: &[u8]) -> Option<Kind> {
    let mime = content_type
        .and_then(|c| c.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    // The bytes say what a document is, whatever the server labelled it.
    if let Some(kind) = kind_by_bytes(bytes) {
        return Some(kind);
    }
    if bytes.starts_with(b"%PDF") || mime == "application/pdf" || ext == "pdf" {
        return Some(Kind::Pdf);
    }
    if mime.contains("wordprocessingml") || ext == "docx" {
        return Some(Kind::Docx);
    }
    if mime.contains("spreadsheetml")
        || mime.contains("ms-excel")
        || matches!(ext, "xlsx" | "xls" | "et")
    {
        return Some(Kind::Spreadsheet);
    }
    if mime == "application/msword" || matches!(ext, "doc" | "wps") {
        return Some(Kind::Unconvertible);
    }
    if mime.contains("html") || mime.contains("xml") {
        return Some(Kind::Html);
    }
    // JSON: the answers of listing APIs, read for their links.
    if mime.starts_with("text/") || mime.contains("json") || mime.contains("javascript") {
        return Some(Kind::Text);
    }
    if mime.is_empty() || mime == "application/octet-stream" {
        return sniff_text(bytes);
    }
    None
}

/// ZIP containers (DOCX, XLSX) and OLE compound files (DOC, XLS) by their
/// magic bytes and the names of their parts.
fn kind_by_bytes(bytes: &[u8]) -> Option<Kind> {
    const OLE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    if bytes.starts_with(b"%PDF") {
        return Some(Kind::Pdf);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(Kind::Image);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        let zip = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
        let names: Vec<String> = zip
            .file_names()
            .filter_map(Result::ok)
            .map(|n| n.into_owned())
            .collect();
        if names.iter().any(|n| n.starts_with("word/")) {
            return Some(Kind::Docx);
        }
        if names.iter().any(|n| n.starts_with("xl/")) {
            return Some(Kind::Spreadsheet);
        }
        return None;
    }
    if bytes.starts_with(&OLE) {
        // Directory entries are UTF-16LE names: "Workbook" / "Book" for
        // Excel, "WordDocument" for Word.
        let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
        let has = |s: &str| memchr::memmem::find(bytes, &utf16(s)).is_some();
        if has("Workbook") || has("Book") {
            return Some(Kind::Spreadsheet);
        }
        return Some(Kind::Unconvertible);
    }
    None
}

fn sniff_text(bytes: &[u8]) -> Option<Kind> {
    let head = bytes.get(..1024.min(bytes.len())).unwrap_or_default();
    if head.contains(&0) {
        return None;
    }
    let lower = String::from_utf8_lossy(head).to_ascii_lowercase();
    if lower.contains("<html") || lower.contains("<!doctype html") || lower.contains("<table") {
        Some(Kind::Html)
    } else {
        Some(Kind::Text)
    }
}

/// Convert an attachment to text the flattened-text extractor reads.
pub fn to_text(kind: Kind, bytes: &[u8]) -> Result<String, AttachmentError> {
    match kind {
        Kind::Pdf => pdf_text(bytes).map(|t| layout_to_cells(&t)),
        Kind::Docx => docx_text(bytes),
        Kind::Spreadsheet => spreadsheet_text(bytes),
        Kind::Html | Kind::Text | Kind::Image | Kind::Unconvertible => {
            Err(AttachmentError::Unsupported)
        }
    }
}

/// The text of a PDF as `pdftotext -layout` prints it, columns kept as runs
/// of spaces (for [`crate::extract::extract_layout`]).
pub fn pdf_layout(bytes: &[u8]) -> Result<String, AttachmentError> {
    pdf_text(bytes)
}

/// The word boxes of a PDF as `pdftotext -bbox-layout` prints them (XHTML),
/// for [`crate::extract::extract_pdf`].
pub fn pdf_boxes(bytes: &[u8]) -> Result<String, AttachmentError> {
    run_pdftotext(bytes, &["-bbox-layout", "-enc", "UTF-8"])
}

fn pdf_text(bytes: &[u8]) -> Result<String, AttachmentError> {
    run_pdftotext(bytes, &["-layout", "-enc", "UTF-8"])
}

/// Run `pdftotext` with `args` on the bytes, bounded by [`CONVERT_TIMEOUT`]:
/// the program's output is waited on with a deadline, never polled.
fn run_pdftotext(bytes: &[u8], args: &[&str]) -> Result<String, AttachmentError> {
    let mut file =
        tempfile::NamedTempFile::new().map_err(|e| AttachmentError::Pdftotext(e.to_string()))?;
    file.write_all(bytes)
        .map_err(|e| AttachmentError::Pdftotext(e.to_string()))?;
    let mut argv: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
    argv.push(file.path().as_os_str());
    argv.push("-".as_ref());
    let out = PDFTOTEXT
        .run(&argv, &[], CONVERT_TIMEOUT)
        .map_err(|e| match e {
            ToolError::Missing { .. } => AttachmentError::NoPdftotext,
            ToolError::TimedOut { secs, .. } => {
                AttachmentError::Pdftotext(format!("timed out after {secs} s"))
            }
            ToolError::Failed { message, .. } => AttachmentError::Pdftotext(message),
        })?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// `pdftotext -layout` aligns columns with runs of spaces: two or more spaces
/// separate cells, which become `|`-separated.
pub fn layout_to_cells(text: &str) -> String {
    text.lines()
        .map(|line| {
            line.trim()
                .split("  ")
                .map(str::trim)
                .filter(|cell| !cell.is_empty())
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text of a DOCX: paragraphs on their own lines, each table cell on its
/// own line (one cell per line, as the flattened-text extractor expects).
fn docx_text(bytes: &[u8]) -> Result<String, AttachmentError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| AttachmentError::Docx(e.to_string()))?;
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .map_err(|e| AttachmentError::Docx(e.to_string()))?
        .take(MAX_XML_BYTES)
        .read_to_string(&mut xml)
        .map_err(|e| AttachmentError::Docx(e.to_string()))?;
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut out = String::new();
    let mut line = String::new();
    let mut in_text = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) if e.name().0 == "w:t" => in_text = true,
            Ok(Event::End(e)) => match e.name().0 {
                "w:t" => in_text = false,
                "w:p" | "w:tc" => flush_line(&mut out, &mut line),
                _ => {}
            },
            Ok(Event::Empty(e)) if matches!(e.name().0, "w:br" | "w:tab") => line.push(' '),
            Ok(Event::Text(t)) if in_text => {
                line.push_str(&t.into_inner());
            }
            Ok(Event::GeneralRef(r)) if in_text => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    line.push(c);
                } else {
                    line.push_str(match r.into_inner().as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        _ => "",
                    });
                }
            }
            Ok(Event::Eof) => break,
            Err(e) => return Err(AttachmentError::Docx(e.to_string())),
            _ => {}
        }
    }
    flush_line(&mut out, &mut line);
    Ok(out)
}

fn flush_line(out: &mut String, line: &mut String) {
    let trimmed = line.trim();
    if !trimmed.is_empty() {
        out.push_str(trimmed);
        out.push('\n');
    }
    line.clear();
}

/// Every sheet, each row as `|`-separated cells.
fn spreadsheet_text(bytes: &[u8]) -> Result<String, AttachmentError> {
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes.to_vec()))
        .map_err(|e| AttachmentError::Spreadsheet(e.to_string()))?;
    let mut out = String::new();
    for name in book.sheet_names() {
        let Ok(range) = book.worksheet_range(&name) else {
            continue;
        };
        for row in range.rows() {
            let mut cells: Vec<String> = row
                .iter()
                .map(|c| c.to_string().trim().to_string())
                .collect();
            // A sheet is as wide as its widest row: the padding is not data.
            while cells.last().is_some_and(String::is_empty) {
                cells.pop();
            }
            if !cells.is_empty() {
                out.push_str(&cells.join(" | "));
                out.push('\n');
            }
        }
    }
    Ok(out)
}
