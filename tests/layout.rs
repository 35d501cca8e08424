//! Reports that arrive as PDFs laid out as county agencies' word processors
//! lay them out, read through `pdftotext -layout`: labels wrapped over two or
//! three lines with the figures on the first, middle or last line or on a
//! line of their own, `、` numbering, stray spaces inside labels, a typo in a
//! label, blank cells, merged and wrapped headers, the agency on its own line
//! above the title. The fixtures (tests/fixtures/attachments/make_layout.py)
//! set the tables of the 2022 report of 平潭综合实验区
//! (tests/fixtures/samples/pingtan-2022-report.html); the expected figures
//! below were typed from that page.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

use std::path::Path;

use nianbao::extract::{extract_text, Format, Report};
use nianbao::pipeline;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/attachments")
            .join(name),
    )
    .unwrap()
}

fn read_pdf(name: &str) -> Report {
    let analysis =
        pipeline::analyse_document(&format!("http://x/{name}"), &fixture(name), None).unwrap();
    assert_eq!(analysis.reports.len(), 1, "{name}: {:#?}", analysis.reports);
    analysis.reports.into_iter().next().unwrap()
}

const REQUEST_COLS: [&str; 7] = [
    "natural_person",
    "legal.business",
    "legal.research",
    "legal.nonprofit",
    "legal.law_firm",
    "legal.other",
    "total",
];

const APPEAL_COLS: [&str; 15] = [
    "review.upheld",
    "review.corrected",
    "review.other",
    "review.pending",
    "review.total",
    "suit_direct.upheld",
    "suit_direct.corrected",
    "suit_direct.other",
    "suit_direct.pending",
    "suit_direct.total",
    "suit_after_review.upheld",
    "suit_after_review.corrected",
    "suit_after_review.other",
    "suit_after_review.pending",
    "suit_after_review.total",
];

/// The requests table of the 2022 Pingtan report, as printed.
const REQUESTS: [(&str, [f64; 7]); 25] = [
    ("new", [71.0, 3.0, 0.0, 0.0, 0.0, 0.0, 74.0]),
    ("carried_over", [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]),
    ("granted", [21.0, 0.0, 0.0, 0.0, 0.0, 0.0, 21.0]),
    ("partial", [8.0, 1.0, 0.0, 0.0, 0.0, 0.0, 9.0]),
    ("denied.state_secret", [0.0; 7]),
    ("denied.law_prohibited", [0.0; 7]),
    ("denied.security_stability", [0.0; 7]),
    ("denied.third_party", [0.0; 7]),
    (
        "denied.internal_affairs",
        [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
    ),
    ("denied.process_info", [2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0]),
    (
        "denied.enforcement_file",
        [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
    ),
    ("denied.query_matter", [0.0; 7]),
    ("unable.not_held", [37.0, 0.0, 0.0, 0.0, 0.0, 0.0, 37.0]),
    ("unable.needs_creation", [0.0; 7]),
    ("unable.unclear", [0.0; 7]),
    ("not_processed.petition", [0.0; 7]),
    ("not_processed.duplicate", [0.0; 7]),
    ("not_processed.publication", [0.0; 7]),
    ("not_processed.mass_repeated", [0.0; 7]),
    ("not_processed.confirm_existing", [0.0; 7]),
    ("other.no_supplement", [2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0]),
    ("other.no_fee_paid", [0.0; 7]),
    ("other.other", [0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 2.0]),
    ("total", [72.0, 3.0, 0.0, 0.0, 0.0, 0.0, 75.0]),
    ("carried_forward", [0.0; 7]),
];

const APPEALS: [f64; 15] = [
    0.0, 1.0, 1.0, 0.0, 2.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0,
];

/// Every cell of the three tables: (table, row, col, value). `blanks` names
/// the cells the fixture prints blank, whose value must be null.
fn expected(blanks: bool) -> Vec<(String, String, String, Option<f64>)> {
    let mut out = Vec::new();
    let mut add = |t: &str, r: &str, c: &str, v: Option<f64>| {
        out.push((t.to_string(), r.to_string(), c.to_string(), v))
    };
    add("proactive", "rules", "issued", Some(0.0));
    add("proactive", "rules", "repealed", (!blanks).then_some(0.0));
    add("proactive", "rules", "in_force", Some(0.0));
    add("proactive", "normative_docs", "issued", Some(88.0));
    add("proactive", "normative_docs", "repealed", Some(55.0));
    add("proactive", "normative_docs", "in_force", Some(698.0));
    add("proactive", "licensing", "decisions", Some(10690.0));
    add("proactive", "penalties", "decisions", Some(2113.0));
    add("proactive", "enforcement", "decisions", Some(0.0));
    add("proactive", "fees", "amount", Some(9116.36));
    for (row, values) in REQUESTS {
        // The blanks fixture leaves the zeros of a row blank where the row
        // has other figures, except rows 一 and （七）.
        let sparse = blanks && values.iter().any(|v| *v != 0.0) && row != "new" && row != "total";
        for (col, v) in REQUEST_COLS.iter().zip(values) {
            add("requests", row, col, (!(sparse && v == 0.0)).then_some(v));
        }
    }
    for (col, v) in APPEAL_COLS.iter().zip(APPEALS) {
        add("appeals", "all", col, Some(v));
    }
    out
}

/// Cells right out of the expected ones, and the misses named.
fn score(r: &Report, expect: &[(String, String, String, Option<f64>)]) -> (usize, Vec<String>) {
    let mut misses = Vec::new();
    for (t, row, col, v) in expect {
        let cell = r
            .cells
            .iter()
            .find(|c| c.standard && &c.table == t && &c.row == row && &c.col == col);
        match cell {
            Some(c) if c.value == *v => {}
            Some(c) => misses.push(format!(
                "{t}.{row}.{col}: {:?} (raw {:?}) ≠ {v:?}",
                c.value, c.raw
            )),
            None => misses.push(format!("{t}.{row}.{col}: missing")),
        }
    }
    (expect.len() - misses.len(), misses)
}

fn assert_every_cell(name: &str, r: &Report, blanks: bool) {
    let expect = expected(blanks);
    let (right, misses) = score(r, &expect);
    println!("{name}: {right}/{} cells right", expect.len());
    assert!(
        misses.is_empty(),
        "{name}: {misses:#?}\nnotes: {:#?}",
        r.notes
    );
    let standard = r.cells.iter().filter(|c| c.standard).count();
    assert_eq!(standard, expect.len(), "{name}: no other standard cell");
    let nonstandard: Vec<_> = r.cells.iter().filter(|c| !c.standard).collect();
    assert!(nonstandard.is_empty(), "{name}: {nonstandard:#?}");
    assert_eq!(r.format, Format::V2021, "{name}");
    assert_eq!(r.year, Some(2022), "{name}");
    assert_eq!(r.title, "2022年政府信息公开工作年度报告", "{name}");
    assert_eq!(
        r.agency.as_deref(),
        Some("平潭综合实验区管理委员会"),
        "{name}"
    );
    let fees = r.cells.iter().find(|c| c.row == "fees").unwrap();
    assert_eq!(fees.unit.as_deref(), Some("wan_yuan"), "{name}");
    let broken: Vec<_> = r.checks.iter().filter(|c| c.holds == Some(false)).collect();
    assert!(broken.is_empty(), "{name}: {broken:#?}");
}

#[test]
fn wrapped_labels_every_cell() {
    let r = read_pdf("pingtan-2022-wrapped.pdf");
    assert_every_cell("wrapped", &r, false);
    assert!(
        r.checks.iter().all(|c| c.holds == Some(true)),
        "{:?}",
        r.checks
    );
    // The misprinted `2、其他法律行政止公开` is known by its neighbours, and
    // its cells say so.
    let typo = r
        .cells
        .iter()
        .find(|c| c.row == "denied.law_prohibited" && c.col == "total")
        .unwrap();
    assert!(
        typo.note.as_deref().is_some_and(
            |n| n.contains("denied.state_secret") && n.contains("denied.security_stability")
        ),
        "{typo:?}"
    );
    assert!(r
        .cells
        .iter()
        .filter(|c| c.row != "denied.law_prohibited")
        .all(|c| c.note.is_none()));
    // The stray space of `一情 形` is not kept in the label.
    let partial = r.cells.iter().find(|c| c.row == "partial").unwrap();
    assert_eq!(
        partial.label,
        "（二）部分公开（区分处理的，只计这一情形，不计其他情形）"
    );
}

#[test]
fn blank_cells_stay_blank() {
    let r = read_pdf("pingtan-2022-blanks.pdf");
    assert_every_cell("blanks", &r, true);
    let granted = r
        .cells
        .iter()
        .find(|c| c.row == "granted" && c.col == "legal.business")
        .unwrap();
    assert_eq!((granted.raw.as_str(), granted.value), ("", None));
}

/// Layout text saved from `pdftotext -layout` reads as the PDF does.
#[test]
fn layout_text_reads_as_its_pdf() {
    let text = String::from_utf8(fixture("pingtan-2022-wrapped.txt")).unwrap();
    let reports = extract_text(&text);
    assert_eq!(reports.len(), 1, "{reports:#?}");
    assert_eq!(reports[0], read_pdf("pingtan-2022-wrapped.pdf"));
}
