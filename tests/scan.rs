//! Reports that arrive as scans, read with OCR: the tables of the 2022
//! report of 平潭综合实验区 printed, then scanned at 200 dpi, turned by 0.7°,
//! with noise (tests/fixtures/attachments/make_scan.py), as an image-only PDF
//! and as one long PNG; and a second scan at 300 dpi, turned by −1.2°, with
//! more noise; and the first scan made at 150 dpi. Every cell is scored against the figures typed
//! by hand from the report's page; a figure OCR got wrong must be null or
//! caught by a broken identity.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

use nianbao::archive::{Archive, NewCapture};
use nianbao::extract::{min_confidence, Format, Report, MIN_CONFIDENCE};
use nianbao::pipeline;

#[path = "common/pingtan.rs"]
mod pingtan;
use pingtan::{expected, fixture, read_one};

/// The identities (by identity and column) that a cell takes part in.
fn caught(r: &Report, table: &str, row: &str, col: &str) -> bool {
    let broken = |identity: &str, c: &str| {
        r.checks
            .iter()
            .any(|k| k.identity == identity && k.col == c && k.holds == Some(false))
    };
    match table {
        "requests" => {
            broken("requests_balance", col)
                || broken("requests_outcome_sum", col)
                || broken("requests_row_sum", row)
        }
        "appeals" => {
            let group = col.split('.').next().unwrap_or("");
            broken("appeals_group_sum", group)
        }
        _ => false,
    }
}

/// Score the report: cells right, and every wrong one named with whether it
/// is null or caught. At least `min_right` of the cells must be right; with
/// `all_flagged`, no wrong figure may go unflagged; with `titled`, the year
/// must be read from the title.
fn assert_scan(name: &str, r: &Report, min_right: f64, all_flagged: bool, titled: bool) {
    assert_scan_at(name, r, min_right, all_flagged, titled, MIN_CONFIDENCE);
}

/// [`assert_scan`] for a page whose figures need confidence `threshold`.
fn assert_scan_at(
    name: &str,
    r: &Report,
    min_right: f64,
    all_flagged: bool,
    titled: bool,
    threshold: f32,
) {
    let expect = expected(false);
    let mut right = 0;
    let mut unflagged = Vec::new();
    let mut flagged = Vec::new();
    for (t, row, col, v) in &expect {
        let cell = r
            .cells
            .iter()
            .find(|c| c.standard && &c.table == t && &c.row == row && &c.col == col);
        match cell {
            Some(c) if c.value == *v => right += 1,
            Some(c) if c.value.is_none() => flagged.push(format!(
                "{t}.{row}.{col}: null (raw {:?}, conf {:?})",
                c.raw, c.ocr_conf
            )),
            Some(c) if caught(r, t, row, col) => flagged.push(format!(
                "{t}.{row}.{col}: {:?} (raw {:?}) caught",
                c.value, c.raw
            )),
            Some(c) => unflagged.push(format!(
                "{t}.{row}.{col}: {:?} (raw {:?}, conf {:?}) ≠ {v:?}",
                c.value, c.raw, c.ocr_conf
            )),
            // A missing cell holds no wrong figure; it counts as not right.
            None => flagged.push(format!("{t}.{row}.{col}: missing")),
        }
    }
    let accuracy = right as f64 / expect.len() as f64;
    println!(
        "{name}: title {:?}, year {:?}, agency {:?}",
        r.title, r.year, r.agency
    );
    println!(
        "{name}: {right}/{} cells right ({:.1}%); not right but null, missing or caught: {flagged:#?}",
        expect.len(),
        accuracy * 100.0
    );
    println!("{name}: wrong and unflagged: {unflagged:#?}");
    if titled {
        assert_eq!(r.year, Some(2022), "{name}: {:?} {:#?}", r.title, r.notes);
    }
    assert_eq!(r.format, Format::V2021, "{name}");
    if all_flagged {
        assert!(
            unflagged.is_empty(),
            "{name}: wrong and unflagged: {unflagged:#?}\nnotes: {:#?}",
            r.notes
        );
    }
    assert!(
        accuracy >= min_right,
        "{name}: {:.1}% of cells right\nnotes: {:#?}",
        accuracy * 100.0,
        r.notes
    );
    // Every figure of a scan is marked as OCR's, with its confidence when
    // anything was printed.
    assert!(r.cells.iter().all(|c| c.ocr), "{name}");
    assert!(
        r.cells
            .iter()
            .filter(|c| !c.raw.is_empty())
            .all(|c| c.ocr_conf.is_some_and(|k| (0.0..=100.0).contains(&k))),
        "{name}"
    );
    // A doubtful figure is null with its text kept, unless an identity of
    // confident figures holds with it (the note says which).
    for c in &r.cells {
        if c.ocr_conf.is_some_and(|k| k < f64::from(threshold)) {
            assert!(!c.raw.is_empty(), "{name}: {c:?}");
            let kept = c
                .note
                .as_deref()
                .is_some_and(|n| n.contains("holds with it"));
            assert_eq!(c.value.is_none(), !kept, "{name}: {c:?}");
        }
    }
}

#[test]
fn image_only_pdf_reads_by_ocr() {
    // Read as the crawl reads it: derived into a real archive.
    let dir = tempfile::tempdir().unwrap();
    let mut db = Archive::open(dir.path()).unwrap();
    let capture = db
        .insert_capture(&NewCapture {
            url: "http://x/pingtan-2022-scan.pdf".into(),
            fetched_at: "2026-01-01T00:00:00Z".into(),
            status: 200,
            record_type: "response",
            ..NewCapture::default()
        })
        .unwrap();
    let body = fixture("pingtan-2022-scan.pdf");
    let analysis = pipeline::derive(
        &mut db,
        capture,
        "http://x/pingtan-2022-scan.pdf",
        &[],
        &body,
        None,
    )
    .unwrap()
    .unwrap();
    assert_eq!(analysis.reports.len(), 1);
    let r = &analysis.reports[0];
    assert_scan("pingtan-2022-scan.pdf", r, 0.98, true, true);
    // The archive keeps the mark and the confidence of every figure, and the
    // raw text of a doubtful one whose value is null.
    let (cells, ocr, with_conf, doubtful, unread): (i64, i64, i64, i64, i64) = db
        .conn()
        .query_row(
            "SELECT COUNT(*), SUM(ocr = 1), COUNT(ocr_conf),
                    SUM(ocr_conf < 60 AND raw <> ''
                        AND (value IS NULL OR note LIKE '%holds with it%')),
                    SUM(value IS NULL AND raw <> '')
             FROM cells",
            [],
            |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            },
        )
        .unwrap();
    assert_eq!(cells as usize, r.cells.len());
    assert_eq!(ocr, cells);
    assert!(with_conf > 0 && with_conf <= cells);
    let expected_doubtful = r
        .cells
        .iter()
        .filter(|c| c.ocr_conf.is_some_and(|k| k < f64::from(MIN_CONFIDENCE)))
        .count();
    assert_eq!(doubtful as usize, expected_doubtful);
    // The figures OCR could not read are null in the archive, their text kept.
    let expected_unread = r
        .cells
        .iter()
        .filter(|c| c.value.is_none() && !c.raw.is_empty())
        .count();
    assert!(expected_unread > 0, "the fixture has unreadable figures");
    assert_eq!(unread as usize, expected_unread);
}

#[test]
fn long_png_reads_by_ocr() {
    let r = read_one("pingtan-2022-scan.png");
    assert_scan("pingtan-2022-scan.png", &r, 0.98, true, true);
}

#[test]
fn second_scan_reads_by_ocr() {
    // Another scan of the same print: 300 dpi, turned by −1.2°, more noise.
    let r = read_one("pingtan-2022-scan-b.pdf");
    assert_scan("pingtan-2022-scan-b.pdf", &r, 0.98, true, true);
    // The title's large print is read, with the agency above it.
    assert_eq!(r.title, "2022年政府信息公开工作年度报告");
    assert_eq!(r.agency.as_deref(), Some("平潭综合实验区管理委员会"));
    // The total row keeps its seven columns, its misread figure among them.
    let total = r
        .cells
        .iter()
        .filter(|c| c.table == "requests" && c.row == "total")
        .count();
    assert_eq!(total, 7, "{:#?}", r.notes);
}

#[test]
fn coarse_scan_reads_nothing_wrong_unflagged() {
    // The first scan at 150 dpi: figures are misread there with confidence
    // up to 80, so they need more; what is read must be right or flagged.
    let r = read_one("pingtan-2022-scan-150.pdf");
    let threshold = min_confidence(Some(150.0));
    assert!(threshold > 80.0, "{threshold}");
    assert_scan_at("pingtan-2022-scan-150.pdf", &r, 0.4, true, true, threshold);
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("scanned at 150 pixels per inch")),
        "{:#?}",
        r.notes
    );
}
