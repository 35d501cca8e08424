//! Reports that arrive as attachments: PDF (through `pdftotext -layout`), DOCX
//! and XLSX, read through the flattened-text extractor. The fixtures hold the
//! 2020 report of 上海市虹口区 (see tests/fixtures/attachments/make.py); the
//! PDF uses a non-embedded Adobe CJK font, as many official PDFs do.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

use std::path::Path;

use nianbao::attachment::{self, Kind};
use nianbao::extract::Report;
use nianbao::pipeline;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/attachments")
            .join(name),
    )
    .unwrap()
}

fn value(r: &Report, table: &str, row: &str, col: &str) -> Option<f64> {
    r.cells
        .iter()
        .find(|c| c.table == table && c.row == row && c.col == col)
        .and_then(|c| c.value)
}

/// Figures of the 2020 Hongkou report, read off the printed tables by hand.
fn assert_hongkou_2020(name: &str, reports: &[Report]) {
    assert_eq!(reports.len(), 1, "{name}: {reports:#?}");
    let r = &reports[0];
    assert_eq!(r.year, Some(2020), "{name}");
    assert_eq!(
        r.title, "2020年上海市虹口区政府信息公开工作年度报告",
        "{name}"
    );
    let expect = [
        ("proactive", "normative_docs", "total_published", 42.0),
        ("proactive", "licensing", "change", -49.0),
        ("proactive", "penalties", "decisions", 849084.0),
        ("proactive", "procurement", "amount", 608026100.0),
        ("requests", "new", "natural_person", 1113.0),
        ("requests", "new", "legal.law_firm", 4.0),
        ("requests", "new", "total", 1134.0),
        ("requests", "carried_over", "total", 70.0),
        ("requests", "denied.query_matter", "total", 29.0),
        ("requests", "unable.needs_creation", "legal.law_firm", 2.0),
        ("requests", "other", "total", 181.0),
        ("requests", "total", "total", 1162.0),
        ("requests", "carried_forward", "total", 42.0),
        ("appeals", "all", "review.total", 17.0),
        ("appeals", "all", "suit_direct.upheld", 9.0),
        ("appeals", "all", "suit_after_review.total", 6.0),
    ];
    for (table, row, col, v) in expect {
        assert_eq!(
            value(r, table, row, col),
            Some(v),
            "{name}: {table}.{row}.{col}"
        );
    }
    let standard = r.cells.iter().filter(|c| c.standard).count();
    assert_eq!(
        standard,
        22 + 161 + 15,
        "{name}: every cell of the three tables"
    );
    assert!(
        r.checks.iter().all(|c| c.holds == Some(true)),
        "{name}: {:?}",
        r.checks
    );
}

#[test]
fn pdf_report_through_pdftotext() {
    let bytes = fixture("hongkou-2020.pdf");
    assert_eq!(
        attachment::kind_of("http://x/a.pdf", Some("application/pdf"), &bytes),
        Some(Kind::Pdf)
    );
    let analysis =
        pipeline::analyse_document("http://x/a.pdf", &bytes, Some("application/pdf")).unwrap();
    assert_hongkou_2020("pdf", &analysis.reports);
}

#[test]
fn docx_report_table_cells() {
    let bytes = fixture("hongkou-2020.docx");
    let analysis = pipeline::analyse_document("http://x/nb.docx", &bytes, None).unwrap();
    assert_hongkou_2020("docx", &analysis.reports);
}

#[test]
fn xlsx_report_sheet_rows() {
    let bytes = fixture("hongkou-2020.xlsx");
    let text = attachment::to_text(Kind::Spreadsheet, &bytes).unwrap();
    let analysis = pipeline::analyse_document(
        "http://x/nb.xlsx",
        &bytes,
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    )
    .unwrap();
    assert_hongkou_2020(&format!("xlsx\n{text}"), &analysis.reports);
}

#[test]
fn broken_attachments_are_errors_not_panics() {
    for kind in [Kind::Pdf, Kind::Docx, Kind::Spreadsheet] {
        assert!(
            attachment::to_text(kind, b"not a document at all").is_err(),
            "{kind:?}"
        );
    }
    // Old binary Word files are archived but not converted.
    let a = pipeline::analyse_document("http://x/report.doc", b"\xd0\xcf\x11\xe0", None).unwrap();
    assert!(a.reports.is_empty());
}
