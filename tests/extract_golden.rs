//! Golden values of the sample reports, transcribed by hand from the source
//! pages in `tests/fixtures/samples/` (see its README for provenance): every
//! cell of the three tables, the report identity, the identity checks the
//! sources are known to break or satisfy, and the headline figures of the
//! pre-2019 prose reports.

use nianbao::extract::{extract_html, extract_text, Cell, Format, Report};

fn sample(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn hongkou() -> Vec<Report> {
    extract_text(&sample("hongkou-2017-2020-aggregator.txt"))
}

fn by_year(reports: &[Report], year: i32) -> &Report {
    let found: Vec<&Report> = reports.iter().filter(|r| r.year == Some(year)).collect();
    assert_eq!(found.len(), 1, "reports for {year}");
    found[0]
}

fn single(reports: &[Report]) -> &Report {
    assert_eq!(
        reports.len(),
        1,
        "reports: {:?}",
        reports.iter().map(|r| &r.title).collect::<Vec<_>>()
    );
    &reports[0]
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

/// Expected (table, row, col, value) of one table.
type Expect = Vec<(String, String, String, f64)>;

fn requests(rows: &[(&str, [f64; 7])]) -> Expect {
    rows.iter()
        .flat_map(|(row, vals)| {
            REQUEST_COLS
                .iter()
                .zip(vals)
                .map(|(col, v)| ("requests".into(), row.to_string(), col.to_string(), *v))
        })
        .collect()
}

fn appeals(vals: [f64; 15]) -> Expect {
    APPEAL_COLS
        .iter()
        .zip(vals)
        .map(|(col, v)| ("appeals".into(), "all".into(), col.to_string(), v))
        .collect()
}

fn proactive(rows: &[(&str, &[(&str, f64)])]) -> Expect {
    rows.iter()
        .flat_map(|(row, cols)| {
            cols.iter()
                .map(|(col, v)| ("proactive".into(), row.to_string(), col.to_string(), *v))
        })
        .collect()
}

/// Every expected cell is there with its value, and the table has no
/// other standard cell.
fn assert_table(report: &Report, table: &str, expect: &Expect) {
    let actual: Vec<&Cell> = report
        .cells
        .iter()
        .filter(|c| c.table == table && c.standard)
        .collect();
    for (t, row, col, value) in expect {
        let cell = actual
            .iter()
            .find(|c| &c.table == t && &c.row == row && &c.col == col)
            .unwrap_or_else(|| panic!("{}: missing {t}.{row}.{col}", report.title));
        assert_eq!(
            cell.value,
            Some(*value),
            "{}: {t}.{row}.{col} raw {:?}",
            report.title,
            cell.raw
        );
    }
    assert_eq!(
        actual.len(),
        expect.len(),
        "{}: number of {table} cells",
        report.title
    );
}

fn assert_identity(report: &Report, title: &str, year: i32, format: Format, agency: &str) {
    assert_eq!(report.title, title);
    assert_eq!(report.year, Some(year));
    assert_eq!(report.format, format);
    assert_eq!(report.agency.as_deref(), Some(agency));
}

fn check<'a>(report: &'a Report, identity: &str, col: &str) -> &'a nianbao::extract::Check {
    report
        .checks
        .iter()
        .find(|c| c.identity == identity && c.col == col)
        .unwrap_or_else(|| panic!("{}: no check {identity} {col}", report.title))
}

fn money_unit<'a>(report: &'a Report, row: &str) -> (&'a Option<f64>, Option<&'a str>) {
    let c = report
        .cells
        .iter()
        .find(|c| c.table == "proactive" && c.row == row && c.col == "amount")
        .unwrap_or_else(|| panic!("{}: no {row}.amount", report.title));
    (&c.value, c.unit.as_deref())
}

const COLS_RULES_2019: [&str; 3] = ["made", "published", "total_published"];
const COLS_ITEMS_2019: [&str; 3] = ["prev_items", "change", "decisions"];

fn p3(cols: [&'static str; 3], v: [f64; 3]) -> [(&'static str, f64); 3] {
    [(cols[0], v[0]), (cols[1], v[1]), (cols[2], v[2])]
}

#[test]
fn aggregator_holds_four_reports() {
    let reports = hongkou();
    let mut years: Vec<Option<i32>> = reports.iter().map(|r| r.year).collect();
    years.sort();
    assert_eq!(years, vec![Some(2017), Some(2018), Some(2019), Some(2020)]);
    for (year, format) in [
        (2017, Format::Pre2019),
        (2018, Format::Pre2019),
        (2019, Format::V2019),
        (2020, Format::V2019),
    ] {
        let r = by_year(&reports, year);
        let title = format!("{year}年上海市虹口区政府信息公开工作年度报告");
        assert_identity(r, &title, year, format, "上海市虹口区");
    }
}

#[test]
fn hongkou_2020_every_cell() {
    let reports = hongkou();
    let r = by_year(&reports, 2020);
    let rules = p3(COLS_RULES_2019, [0.0, 0.0, 0.0]);
    let norm = p3(COLS_RULES_2019, [7.0, 7.0, 42.0]);
    let lic = p3(COLS_ITEMS_2019, [300.0, -49.0, 219559.0]);
    let oth = p3(COLS_ITEMS_2019, [807.0, 691.0, 1477142.0]);
    let pen = p3(COLS_ITEMS_2019, [1322.0, -17.0, 849084.0]);
    let enf = p3(COLS_ITEMS_2019, [95.0, -3.0, 11321.0]);
    assert_table(
        r,
        "proactive",
        &proactive(&[
            ("rules", &rules),
            ("normative_docs", &norm),
            ("licensing", &lic),
            ("other_services", &oth),
            ("penalties", &pen),
            ("enforcement", &enf),
            ("fees", &[("prev_items", 23.0), ("change", 1.0)]),
            ("procurement", &[("items", 3174.0), ("amount", 608026100.0)]),
        ]),
    );
    assert_table(
        r,
        "requests",
        &requests(&[
            ("new", [1113.0, 17.0, 0.0, 0.0, 4.0, 0.0, 1134.0]),
            ("carried_over", [70.0, 0.0, 0.0, 0.0, 0.0, 0.0, 70.0]),
            ("granted", [502.0, 5.0, 0.0, 0.0, 0.0, 0.0, 507.0]),
            ("partial", [45.0, 1.0, 0.0, 0.0, 1.0, 0.0, 47.0]),
            ("denied.state_secret", [3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0]),
            ("denied.law_prohibited", [0.0; 7]),
            (
                "denied.security_stability",
                [2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0],
            ),
            ("denied.third_party", [0.0; 7]),
            ("denied.internal_affairs", [0.0; 7]),
            ("denied.process_info", [4.0, 0.0, 0.0, 0.0, 0.0, 0.0, 4.0]),
            (
                "denied.enforcement_file",
                [7.0, 0.0, 0.0, 0.0, 0.0, 0.0, 7.0],
            ),
            ("denied.query_matter", [28.0, 0.0, 0.0, 0.0, 1.0, 0.0, 29.0]),
            ("unable.not_held", [320.0, 3.0, 0.0, 0.0, 0.0, 0.0, 323.0]),
            (
                "unable.needs_creation",
                [15.0, 1.0, 0.0, 0.0, 2.0, 0.0, 18.0],
            ),
            ("unable.unclear", [18.0, 0.0, 0.0, 0.0, 0.0, 0.0, 18.0]),
            (
                "not_processed.petition",
                [10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0],
            ),
            (
                "not_processed.duplicate",
                [10.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0],
            ),
            ("not_processed.publication", [0.0; 7]),
            (
                "not_processed.mass_repeated",
                [3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0],
            ),
            ("not_processed.confirm_existing", [0.0; 7]),
            ("other", [174.0, 7.0, 0.0, 0.0, 0.0, 0.0, 181.0]),
            ("total", [1141.0, 17.0, 0.0, 0.0, 4.0, 0.0, 1162.0]),
            ("carried_forward", [42.0, 0.0, 0.0, 0.0, 0.0, 0.0, 42.0]),
        ]),
    );
    assert_table(
        r,
        "appeals",
        &appeals([
            13.0, 0.0, 1.0, 3.0, 17.0, 9.0, 0.0, 0.0, 0.0, 9.0, 6.0, 0.0, 0.0, 0.0, 6.0,
        ]),
    );
    let total = check(r, "requests_balance", "total");
    assert_eq!(
        (total.holds, total.left, total.right),
        (Some(true), Some(1204.0), Some(1204.0))
    );
    let review = check(r, "appeals_group_sum", "review");
    assert_eq!(
        (review.holds, review.left, review.right),
        (Some(true), Some(17.0), Some(17.0))
    );
}

#[test]
fn hongkou_2019_every_cell() {
    let reports = hongkou();
    let r = by_year(&reports, 2019);
    let rules = p3(COLS_RULES_2019, [0.0, 0.0, 0.0]);
    let norm = p3(COLS_RULES_2019, [25.0, 25.0, 42.0]);
    let lic = p3(COLS_ITEMS_2019, [305.0, -5.0, 47818.0]);
    let oth = p3(COLS_ITEMS_2019, [600.0, 232.0, 1150786.0]);
    let pen = p3(COLS_ITEMS_2019, [2175.0, 157.0, 3358.0]);
    let enf = p3(COLS_ITEMS_2019, [136.0, 74.0, 65.0]);
    assert_table(
        r,
        "proactive",
        &proactive(&[
            ("rules", &rules),
            ("normative_docs", &norm),
            ("licensing", &lic),
            ("other_services", &oth),
            ("penalties", &pen),
            ("enforcement", &enf),
            ("fees", &[("prev_items", 23.0), ("change", 0.0)]),
            ("procurement", &[("items", 4047.0), ("amount", 67552.91)]),
        ]),
    );
    assert_table(
        r,
        "requests",
        &requests(&[
            ("new", [850.0, 8.0, 2.0, 0.0, 0.0, 0.0, 860.0]),
            ("carried_over", [34.0, 1.0, 0.0, 0.0, 0.0, 0.0, 35.0]),
            ("granted", [302.0, 4.0, 0.0, 0.0, 0.0, 0.0, 306.0]),
            ("partial", [7.0, 0.0, 0.0, 0.0, 0.0, 0.0, 7.0]),
            ("denied.state_secret", [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]),
            ("denied.law_prohibited", [0.0; 7]),
            (
                "denied.security_stability",
                [3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0],
            ),
            ("denied.third_party", [3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0]),
            (
                "denied.internal_affairs",
                [3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0],
            ),
            ("denied.process_info", [5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 5.0]),
            (
                "denied.enforcement_file",
                [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
            ),
            ("denied.query_matter", [0.0; 7]),
            ("unable.not_held", [265.0, 2.0, 2.0, 0.0, 0.0, 0.0, 269.0]),
            ("unable.needs_creation", [7.0, 0.0, 0.0, 0.0, 0.0, 0.0, 7.0]),
            ("unable.unclear", [9.0, 0.0, 0.0, 0.0, 0.0, 0.0, 9.0]),
            (
                "not_processed.petition",
                [5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 5.0],
            ),
            (
                "not_processed.duplicate",
                [21.0, 0.0, 0.0, 0.0, 0.0, 0.0, 21.0],
            ),
            ("not_processed.publication", [0.0; 7]),
            (
                "not_processed.mass_repeated",
                [11.0, 0.0, 0.0, 0.0, 0.0, 0.0, 11.0],
            ),
            ("not_processed.confirm_existing", [0.0; 7]),
            ("other", [172.0, 2.0, 0.0, 0.0, 0.0, 0.0, 174.0]),
            ("total", [815.0, 8.0, 2.0, 0.0, 0.0, 0.0, 825.0]),
            ("carried_forward", [70.0, 0.0, 0.0, 0.0, 0.0, 0.0, 70.0]),
        ]),
    );
    assert_table(
        r,
        "appeals",
        &appeals([
            79.0, 5.0, 1.0, 7.0, 92.0, 64.0, 0.0, 4.0, 2.0, 70.0, 10.0, 0.0, 1.0, 1.0, 12.0,
        ]),
    );
    assert_eq!(
        money_unit(r, "procurement"),
        (&Some(67552.91), Some("wan_yuan"))
    );
    // The source breaks the balance in two columns and satisfies it in the others.
    for col in REQUEST_COLS {
        let c = check(r, "requests_balance", col);
        let expect = match col {
            "natural_person" => (Some(false), Some(884.0), Some(885.0)),
            "legal.business" => (Some(false), Some(9.0), Some(8.0)),
            _ => (Some(true), c.left, c.left),
        };
        assert_eq!((c.holds, c.left, c.right), expect, "balance {col}");
        assert!(c.left.is_some(), "balance {col} checkable");
    }
}

#[test]
fn pingtan_2019_every_cell() {
    let reports = extract_html(&sample("pingtan-2019-report.html"));
    let r = single(&reports);
    assert_identity(
        r,
        "平潭综合实验区2019年度政府信息公开工作年度报告",
        2019,
        Format::V2019,
        "平潭综合实验区",
    );
    let rules = p3(COLS_RULES_2019, [0.0, 0.0, 0.0]);
    let norm = p3(COLS_RULES_2019, [89.0, 89.0, 89.0]);
    let lic = p3(COLS_ITEMS_2019, [396.0, 0.0, 181.0]);
    let oth = p3(COLS_ITEMS_2019, [10.0, 0.0, 153.0]);
    let pen = p3(COLS_ITEMS_2019, [2648.0, 0.0, 430.0]);
    let enf = p3(COLS_ITEMS_2019, [126.0, 0.0, 25.0]);
    assert_table(
        r,
        "proactive",
        &proactive(&[
            ("rules", &rules),
            ("normative_docs", &norm),
            ("licensing", &lic),
            ("other_services", &oth),
            ("penalties", &pen),
            ("enforcement", &enf),
            ("fees", &[("prev_items", 35.0), ("change", 0.0)]),
            ("procurement", &[("items", 135.0), ("amount", 75394432.52)]),
        ]),
    );
    assert_table(
        r,
        "requests",
        &requests(&[
            ("new", [23.0, 0.0, 0.0, 0.0, 0.0, 0.0, 23.0]),
            ("carried_over", [0.0; 7]),
            ("granted", [7.0, 0.0, 0.0, 0.0, 0.0, 0.0, 7.0]),
            ("partial", [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]),
            ("denied.state_secret", [0.0; 7]),
            ("denied.law_prohibited", [0.0; 7]),
            ("denied.security_stability", [0.0; 7]),
            ("denied.third_party", [0.0; 7]),
            ("denied.internal_affairs", [0.0; 7]),
            ("denied.process_info", [0.0; 7]),
            ("denied.enforcement_file", [0.0; 7]),
            ("denied.query_matter", [0.0; 7]),
            ("unable.not_held", [7.0, 0.0, 0.0, 0.0, 0.0, 0.0, 7.0]),
            ("unable.needs_creation", [0.0; 7]),
            ("unable.unclear", [5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 5.0]),
            ("not_processed.petition", [0.0; 7]),
            (
                "not_processed.duplicate",
                [3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0],
            ),
            ("not_processed.publication", [0.0; 7]),
            ("not_processed.mass_repeated", [0.0; 7]),
            ("not_processed.confirm_existing", [0.0; 7]),
            ("other", [0.0; 7]),
            ("total", [23.0, 0.0, 0.0, 0.0, 0.0, 0.0, 23.0]),
            ("carried_forward", [0.0; 7]),
        ]),
    );
    assert_table(r, "appeals", &appeals([0.0; 15]));
    assert_eq!(
        money_unit(r, "procurement"),
        (&Some(75394432.52), Some("yuan"))
    );
    assert!(
        r.checks.iter().all(|c| c.holds == Some(true)),
        "{:?}",
        r.checks
    );
    assert_eq!(r.checks.len(), 7 + 23 + 7 + 3);
}

#[test]
fn pingtan_2022_every_cell() {
    let reports = extract_html(&sample("pingtan-2022-report.html"));
    let r = single(&reports);
    assert_identity(
        r,
        "平潭综合实验区2022年度政府信息公开工作年度报告",
        2022,
        Format::V2021,
        "平潭综合实验区",
    );
    assert_table(
        r,
        "proactive",
        &proactive(&[
            (
                "rules",
                &[("issued", 0.0), ("repealed", 0.0), ("in_force", 0.0)],
            ),
            (
                "normative_docs",
                &[("issued", 88.0), ("repealed", 55.0), ("in_force", 698.0)],
            ),
            ("licensing", &[("decisions", 10690.0)]),
            ("penalties", &[("decisions", 2113.0)]),
            ("enforcement", &[("decisions", 0.0)]),
            ("fees", &[("amount", 9116.36)]),
        ]),
    );
    assert_table(
        r,
        "requests",
        &requests(&[
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
        ]),
    );
    assert_table(
        r,
        "appeals",
        &appeals([
            0.0, 1.0, 1.0, 0.0, 2.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        ]),
    );
    assert_eq!(money_unit(r, "fees"), (&Some(9116.36), Some("wan_yuan")));
    assert!(
        r.checks.iter().all(|c| c.holds == Some(true)),
        "{:?}",
        r.checks
    );
    assert_eq!(r.checks.len(), 7 + 25 + 7 + 3);
}

fn assert_headline(report: &Report, expect: &[(&str, f64)]) {
    let actual: Vec<(&str, Option<f64>)> = report
        .cells
        .iter()
        .filter(|c| c.table == "headline" && c.col == "value")
        .map(|c| (c.row.as_str(), c.value))
        .collect();
    for (row, value) in expect {
        assert!(
            actual.contains(&(row, Some(*value))),
            "{}: headline {row} = {value}; got {actual:?}",
            report.title
        );
    }
    assert_eq!(actual.len(), expect.len(), "{}: {actual:?}", report.title);
    assert_eq!(
        report.cells.len(),
        expect.len(),
        "{}: only headline figures",
        report.title
    );
}

#[test]
fn hongkou_2018_headline() {
    let reports = hongkou();
    assert_headline(
        by_year(&reports, 2018),
        &[
            ("proactive_items", 3907.0),
            ("requests_received", 1100.0),
            ("requests_in_person", 235.0),
            ("requests_online", 550.0),
            ("requests_letter", 315.0),
            ("answered", 1102.0),
            ("answer_already_public", 124.0),
            ("answer_granted", 535.0),
            ("answer_partial", 6.0),
            ("answer_denied", 53.0),
            ("answer_not_exist", 158.0),
            ("answer_not_this_agency", 158.0),
            ("answer_amend", 53.0),
            ("answer_other_route", 15.0),
            ("reviews", 29.0),
            ("suits", 50.0),
        ],
    );
}

#[test]
fn hongkou_2017_headline() {
    let reports = hongkou();
    assert_headline(
        by_year(&reports, 2017),
        &[
            ("proactive_items", 3776.0),
            ("requests_received", 1799.0),
            ("requests_in_person", 366.0),
            ("requests_online", 900.0),
            ("requests_letter", 532.0),
            ("answered", 1644.0),
            ("answer_already_public", 99.0),
            ("answer_granted", 592.0),
            ("answer_partial", 11.0),
            ("answer_denied", 95.0),
            ("answer_not_exist", 323.0),
            ("answer_not_this_agency", 92.0),
            ("answer_amend", 383.0),
            ("answer_other_route", 49.0),
            ("reviews", 65.0),
            ("suits", 87.0),
        ],
    );
}

#[test]
fn listing_page_holds_no_report() {
    assert_eq!(
        extract_html(&sample("ordos-egb-listing-trs.html")),
        Vec::<Report>::new()
    );
}
