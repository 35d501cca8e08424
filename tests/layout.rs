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

use nianbao::extract::{extract_text, Format, Report};

#[path = "common/pingtan.rs"]
mod pingtan;
use pingtan::{expected, fixture, read_one, score};

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
    let r = read_one("pingtan-2022-wrapped.pdf");
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
    let r = read_one("pingtan-2022-blanks.pdf");
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
    assert_eq!(reports[0], read_one("pingtan-2022-wrapped.pdf"));
}

/// Layout text that runs to tens of thousands of lines in one block (a
/// register of figures printed before the report) is read in one pass, and
/// the report after it reads as it does alone.
#[test]
fn a_long_block_before_the_report_changes_nothing_in_it() {
    let text = String::from_utf8(fixture("pingtan-2022-wrapped.txt")).unwrap();
    let register = "  序号    12    3\n".repeat(60_000);
    let reports = extract_text(&(register + &text));
    let report = reports
        .iter()
        .find(|r| r.title == "2022年政府信息公开工作年度报告")
        .unwrap_or_else(|| {
            panic!(
                "{:#?}",
                reports.iter().map(|r| &r.title).collect::<Vec<_>>()
            )
        });
    assert_eq!(report, &read_one("pingtan-2022-wrapped.pdf"));
}
