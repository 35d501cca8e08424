//! The tables of the 2022 report of 平潭综合实验区 as printed
//! (tests/fixtures/samples/pingtan-2022-report.html), typed by hand, and the
//! scoring of a report's cells against them: shared by the PDF and scan
//! tests, whose fixtures set these tables.
#![allow(dead_code)]

use nianbao::extract::Report;

/// A file of tests/fixtures/attachments.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/attachments")
            .join(name),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The one report a fixture holds, read as the crawl reads a document.
pub fn read_one(name: &str) -> Report {
    let analysis =
        nianbao::pipeline::analyse_document(&format!("http://x/{name}"), &fixture(name), None)
            .unwrap_or_else(|| panic!("{name}: not a document"));
    assert_eq!(analysis.reports.len(), 1, "{name}: {:#?}", analysis.reports);
    analysis
        .reports
        .into_iter()
        .next()
        .unwrap_or_else(|| unreachable!())
}

pub const REQUEST_COLS: [&str; 7] = [
    "natural_person",
    "legal.business",
    "legal.research",
    "legal.nonprofit",
    "legal.law_firm",
    "legal.other",
    "total",
];

pub const APPEAL_COLS: [&str; 15] = [
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
pub const REQUESTS: [(&str, [f64; 7]); 25] = [
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

pub const APPEALS: [f64; 15] = [
    0.0, 1.0, 1.0, 0.0, 2.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0,
];

/// Every cell of the three tables: (table, row, col, value). `blanks` names
/// the cells the fixture prints blank, whose value must be null.
pub fn expected(blanks: bool) -> Vec<(String, String, String, Option<f64>)> {
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
pub fn score(r: &Report, expect: &[(String, String, String, Option<f64>)]) -> (usize, Vec<String>) {
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
