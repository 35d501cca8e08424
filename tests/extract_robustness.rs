//! Regression fixtures: minimal excerpts reproducing layouts met on real
//! report pages (the case each reproduces is named above it), and inputs
//! that must never make the extractor panic.

use nianbao::extract::{extract_html, extract_text, Cell, Format, Report};

fn page(title: &str, body: &str) -> String {
    format!(
        "<html><head><meta name=\"ArticleTitle\" content=\"{title}\"><title>{title}_年报</title></head><body>{body}</body></html>"
    )
}

fn one(reports: &[Report]) -> &Report {
    assert_eq!(reports.len(), 1, "{reports:#?}");
    &reports[0]
}

fn cell<'a>(r: &'a Report, table: &str, row: &str, col: &str) -> &'a Cell {
    r.cells
        .iter()
        .find(|c| c.table == table && c.row == row && c.col == col)
        .unwrap_or_else(|| panic!("no {table}.{row}.{col} in {:#?}", r.cells))
}

/// (table, row, col, raw, value) expected among the report's cells.
fn check(r: &Report, expect: &[(&str, &str, &str, &str, Option<f64>)]) {
    for (table, row, col, raw, value) in expect {
        let c = cell(r, table, row, col);
        assert_eq!(
            (c.raw.as_str(), c.value),
            (*raw, *value),
            "{table}.{row}.{col}"
        );
    }
}

fn values_row(vals: [&str; 7]) -> String {
    vals.iter().map(|v| format!("<td>{v}</td>")).collect()
}

/// Pingtan 2019 (and many TRS pages): a sub-block header laid out
/// `[1][2][1]` above data laid out `[2][1][1]`; `减4` for a decrease.
#[test]
fn header_and_data_colspans_differ() {
    let html = page(
        "某县2019年政府信息公开工作年度报告",
        "<table><tr><td colspan=4>第二十条第（八）项</td></tr>\
         <tr><td>信息内容</td><td colspan=2>上一年项目数量</td><td>本年增/减</td></tr>\
         <tr><td colspan=2>行政事业性收费</td><td>35</td><td>减4</td></tr>\
         <tr><td colspan=4>第二十条第（九）项</td></tr>\
         <tr><td>信息内容</td><td>采购项目数量</td><td colspan=2>采购总金额</td></tr>\
         <tr><td>政府集中采购</td><td>1,234</td><td colspan=2>75394432.52元</td></tr></table>",
    );
    let r = &one(&extract_html(&html)).clone();
    check(
        r,
        &[
            ("proactive", "fees", "prev_items", "35", Some(35.0)),
            ("proactive", "fees", "change", "减4", Some(-4.0)),
            ("proactive", "procurement", "items", "1,234", Some(1234.0)),
        ],
    );
    assert_eq!(
        cell(r, "proactive", "procurement", "amount")
            .unit
            .as_deref(),
        Some("yuan")
    );
    assert_eq!(cell(r, "proactive", "fees", "change").unit, None);
}

/// A requests table as Word exports it: 1, 2 or 3 label cells per row with
/// rowspans, a label spread over several `<p>`, the `(四)` numbering cell
/// split from `无法提供`, `三、本年度办理结果` repeated after a page break,
/// blank, `—` and `无` cells, a province's extra row, traditional characters.
fn requests_page() -> String {
    let head = "<tr><td colspan=3 rowspan=3>（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）</td><td colspan=7>申请人情况</td></tr>\
        <tr><td rowspan=2>自然人</td><td colspan=5>法人或其他组织</td><td rowspan=2>总计</td></tr>\
        <tr><td><p>商业</p><p>企业</p></td><td>科研机构</td><td>社会公益组织</td><td>法律服务机构</td><td>其他</td></tr>";
    let rows = [
        ("<td colspan=3>一、本年新收政府信息公开申请数量</td>".to_string(), ["10", "1", "0", "0", "0", "0", "11"]),
        (
            "<td rowspan=3>三、本年度办理结果</td><td rowspan=2>（三）不予公开</td><td><p>1.屬於</p><p>國家</p><p>秘密</p></td>".to_string(),
            ["1", "", "0", "0", "0", "0", "1"],
        ),
        ("<td>2.其他法律行政法规禁止公开</td>".to_string(), ["—", "无", "/", "0", "0", "0", "0"]),
        ("<td colspan=2>（六）其他处理</td>".to_string(), ["3", "0", "0", "0", "0", "0", "3"]),
    ];
    let mut body = String::from(head);
    for (labels, vals) in &rows {
        body.push_str(&format!("<tr>{labels}{}</tr>", values_row(*vals)));
    }
    body.push_str("<tr><td colspan=10>三、本年度办理结果</td></tr>");
    body.push_str(&format!(
        "<tr><td rowspan=2>(四)</td><td rowspan=2>无法提供</td><td>1.本机关不掌握相关政府信息</td>{}</tr>",
        values_row(["4", "0", "0", "0", "0", "0", "4"])
    ));
    body.push_str(&format!(
        "<tr><td>6.申请人申请行政复议期间的其他情形</td>{}</tr>",
        values_row(["2", "0", "0", "0", "0", "0", "2"])
    ));
    body.push_str(&format!(
        "<tr><td colspan=3>四、结转下年度继续办理</td>{}</tr>",
        values_row(["5", "0", "0", "0", "0", "0", "5"])
    ));
    page(
        "某县2019年政府信息公开工作年度报告",
        &format!("<table>{body}</table>"),
    )
}

#[test]
fn requests_labels_by_meaning() {
    let reports = extract_html(&requests_page());
    let r = one(&reports);
    assert_eq!(r.format, Format::V2019);
    check(
        r,
        &[
            ("requests", "new", "total", "11", Some(11.0)),
            ("requests", "new", "legal.business", "1", Some(1.0)),
            (
                "requests",
                "denied.state_secret",
                "natural_person",
                "1",
                Some(1.0),
            ),
            (
                "requests",
                "denied.state_secret",
                "legal.business",
                "",
                None,
            ),
            (
                "requests",
                "denied.law_prohibited",
                "natural_person",
                "—",
                None,
            ),
            (
                "requests",
                "denied.law_prohibited",
                "legal.business",
                "无",
                None,
            ),
            (
                "requests",
                "denied.law_prohibited",
                "legal.research",
                "/",
                None,
            ),
            ("requests", "other", "total", "3", Some(3.0)),
            (
                "requests",
                "unable.not_held",
                "natural_person",
                "4",
                Some(4.0),
            ),
            ("requests", "carried_forward", "total", "5", Some(5.0)),
        ],
    );
}

#[test]
fn province_rows_kept_apart_never_guessed() {
    let reports = extract_html(&requests_page());
    let r = one(&reports);
    let extra: Vec<&Cell> = r.cells.iter().filter(|c| !c.standard).collect();
    assert_eq!(extra.len(), 7, "{extra:#?}");
    assert!(extra
        .iter()
        .all(|c| c.row == "nonstandard.1" && c.label.contains("其他情形")));
    assert_eq!(extra.first().map(|c| c.value), Some(Some(2.0)));
    assert!(
        r.notes.iter().any(|n| n.contains("nonstandard.1")),
        "{:?}",
        r.notes
    );
    // Not folded into a standard row of the same sub-heading either.
    assert!(!r
        .cells
        .iter()
        .any(|c| c.standard && c.row == "unable.needs_creation"));
}

#[test]
fn blank_cells_make_checks_uncheckable() {
    let reports = extract_html(&requests_page());
    let r = one(&reports);
    let row_sum = r
        .checks
        .iter()
        .find(|c| c.identity == "requests_row_sum" && c.col == "denied.state_secret")
        .map(|c| (c.holds, c.left, c.right));
    assert_eq!(row_sum, Some((None, Some(1.0), None)));
    let business = r
        .checks
        .iter()
        .find(|c| c.identity == "requests_balance" && c.col == "legal.business")
        .map(|c| c.holds);
    // carried_over is absent from this excerpt.
    assert_eq!(business, Some(None));
}

/// 2021 format with the variants met on copies: 行政规范性文件 in
/// traditional characters, pinyin injected by a mirror site, the appeals
/// heading misprinted `行政法复议` (Pingtan 2022), money unit in the header.
#[test]
fn variants_and_typos_2021() {
    let zeros = |n: usize| "<td>0</td>".repeat(n);
    let html = page(
        "某市2021年政府信息公开工作年度报告",
        &format!(
            "<table><tr><td colspan=4>第二十条第（一）项</td></tr>\
             <tr><td>信息内容</td><td>本年制发件数</td><td>本年废止件数</td><td>现行有效件数</td></tr>\
             <tr><td>規範性檔案</td><td>３</td><td>1</td><td>20</td></tr>\
             <tr><td colspan=4>第二十条第（五）项</td></tr>\
             <tr><td>信息内容</td><td colspan=3>本年处理决定数量</td></tr>\
             <tr><td>行xing政zheng许xu可ke</td><td colspan=3>12</td></tr>\
             <tr><td colspan=4>第二十条第（八）项</td></tr>\
             <tr><td>信息内容</td><td colspan=3>本年收费金额（单位：万元）</td></tr>\
             <tr><td>行政事业性收费</td><td colspan=3>1.234567</td></tr></table>\
             <p>四、政府信息公开行政法复议、行政诉讼情况</p>\
             <table><tr><td colspan=5>行政法复议</td><td colspan=10>行政诉讼</td></tr>\
             <tr>{}<td>1</td><td>1</td></tr></table>",
            zeros(13)
        ),
    );
    let reports = extract_html(&html);
    let r = one(&reports);
    assert_eq!(r.format, Format::V2021);
    check(
        r,
        &[
            ("proactive", "normative_docs", "issued", "３", Some(3.0)),
            ("proactive", "normative_docs", "in_force", "20", Some(20.0)),
            ("proactive", "licensing", "decisions", "12", Some(12.0)),
            ("proactive", "fees", "amount", "1.234567", Some(1.234567)),
            (
                "appeals",
                "all",
                "suit_after_review.pending",
                "1",
                Some(1.0),
            ),
            ("appeals", "all", "suit_after_review.total", "1", Some(1.0)),
        ],
    );
    assert_eq!(
        cell(r, "proactive", "fees", "amount").unit.as_deref(),
        Some("wan_yuan")
    );
    let appeals: Vec<_> = r
        .checks
        .iter()
        .filter(|c| c.identity == "appeals_group_sum")
        .map(|c| (c.col.as_str(), c.holds))
        .collect();
    assert_eq!(
        appeals,
        vec![
            ("review", Some(true)),
            ("suit_direct", Some(true)),
            ("suit_after_review", Some(true))
        ]
    );
}

/// A statistics table on a page that names no report.
#[test]
fn table_without_report_title_is_noted() {
    let html = "<table><tr><td>一、本年新收政府信息公开申请数量</td><td>1</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>1</td></tr></table>";
    let reports = extract_html(html);
    let r = one(&reports);
    assert_eq!(r.title, "");
    assert!(
        r.notes.iter().any(|n| n.contains("no report title")),
        "{:?}",
        r.notes
    );
}

/// A text copy whose cells ran together (`640020470`): noted, not guessed.
#[test]
fn cells_run_together_are_noted() {
    let text = "2020年某区政府信息公开工作年度报告\n四、因政府信息公开工作被申请行政复议、提起行政诉讼情况\n行政复议\n行政诉讼\n总计\n640020470\n0\n0";
    let reports = extract_text(text);
    let r = one(&reports);
    assert!(!r.cells.iter().any(|c| c.table == "appeals"));
    assert!(
        r.notes.iter().any(|n| n.contains("run together")),
        "{:?}",
        r.notes
    );
}

/// Tables pasted as `|`-separated lines.
#[test]
fn pipe_separated_text() {
    let text = "2019年某区政府信息公开工作年度报告\n\
        | 申请人情况 | 自然人 | 法人或其他组织 | 总计 |\n\
        | 一、本年新收政府信息公开申请数量 | 5 | 1 | 0 | 0 | 0 | 0 | 6 |\n\
        | 二、上年结转政府信息公开申请数量 | 1 | | 0 | 0 | 0 | 0 | 1 |";
    let reports = extract_text(text);
    let r = one(&reports);
    check(
        r,
        &[
            ("requests", "new", "natural_person", "5", Some(5.0)),
            ("requests", "new", "total", "6", Some(6.0)),
            ("requests", "carried_over", "legal.business", "", None),
        ],
    );
}

#[test]
fn garbage_never_panics() {
    let deep = "<div>".repeat(5000) + &"<table><tr><td>".repeat(200);
    let inputs: Vec<String> = vec![
        String::new(),
        "<<<>>>".into(),
        "\u{0}\u{feff}\u{10ffff}".into(),
        "<table><tr><td rowspan=\"99999999\" colspan=\"-1\">规章</td><td colspan=\"x\">0</td></tr><tr></tr></table>".into(),
        "<table><tr><td rowspan=0>第二十条</td></tr><tr><td>规章</td><td>1</td></tr></table>".into(),
        deep,
        "规章\n０\n１\n二〇一九年\n年\n报告".into(),
        "2019年政府信息公开工作年度报告\n申请人情况\n1\n2\n一、本年新收\n1.\n".into(),
        "１２３４５６７８９０".repeat(1000),
        "政府信息公开工作年度报告2019年".repeat(50),
    ];
    for input in &inputs {
        let html = extract_html(input);
        let text = extract_text(input);
        assert!(html
            .iter()
            .chain(&text)
            .all(|r| r.cells.iter().all(|c| c.value.is_none_or(f64::is_finite))));
    }
    assert!(extract_html("").is_empty());
    assert!(extract_text("<<<>>>").is_empty());
    assert!(extract_text("随便一些文字，没有任何报告。\n123\n456").is_empty());
}

/// A pre-2019 report page: prose only, figures in sentences.
#[test]
fn prose_report_page_yields_headline() {
    let filler = "本机关认真贯彻落实条例要求，进一步推进政府信息公开工作。".repeat(10);
    let html = page(
        "某县2016年政府信息公开工作年度报告",
        &format!(
            "<div><p>{filler}</p><p>全年新增主动公开政府信息共计120条。</p>\
             <p>全年共受理政府信息公开申请35件，其中网上申请20件。</p>\
             <p>发生政府信息公开行政复议案2件，行政诉讼案0件。</p></div>"
        ),
    );
    let reports = extract_html(&html);
    let r = one(&reports);
    assert_eq!(r.format, Format::Pre2019);
    let got: Vec<(&str, Option<f64>)> = r.cells.iter().map(|c| (c.row.as_str(), c.value)).collect();
    assert_eq!(
        got,
        vec![
            ("proactive_items", Some(120.0)),
            ("requests_received", Some(35.0)),
            ("requests_online", Some(20.0)),
            ("reviews", Some(2.0)),
            ("suits", Some(0.0)),
        ]
    );
}

/// All three tables in one `<table>`, their headings as rows: the
/// requests row `四、结转下年度继续办理` must not open the appeals table,
/// the heading `四、…行政复议…` must.
#[test]
fn three_tables_in_one() {
    let v = |n: &str| format!("<td>{n}</td>").repeat(7);
    let html = page(
        "某区2020年政府信息公开工作年度报告",
        &format!(
            "<table><tr><td><table>\
             <tr><td colspan=10>二、主动公开政府信息情况</td></tr>\
             <tr><td colspan=10>第二十条第（一）项</td></tr>\
             <tr><td>信息内容</td><td>本年新制作数量</td><td>本年新公开数量</td><td>对外公开总数量</td></tr>\
             <tr><td>规章</td><td>1</td><td>2</td><td>3</td></tr>\
             <tr><td colspan=10>三、收到和处理政府信息公开申请情况</td></tr>\
             <tr><td>申请人情况</td></tr>\
             <tr><td>一、本年新收政府信息公开申请数量</td>{}</tr>\
             <tr><td>四、结转下年度继续办理</td>{}</tr>\
             <tr><td colspan=10>四、因政府信息公开工作被申请行政复议、提起行政诉讼情况</td></tr>\
             <tr><td colspan=5>行政复议</td><td colspan=10>行政诉讼</td></tr>\
             <tr>{}</tr></table></td></tr></table>",
            v("1"),
            v("2"),
            "<td>3</td>".repeat(15)
        ),
    );
    let reports = extract_html(&html);
    let r = one(&reports);
    check(
        r,
        &[
            ("proactive", "rules", "total_published", "3", Some(3.0)),
            ("requests", "new", "legal.other", "1", Some(1.0)),
            ("requests", "carried_forward", "total", "2", Some(2.0)),
            ("appeals", "all", "suit_direct.total", "3", Some(3.0)),
        ],
    );
    assert_eq!(r.cells.len(), 3 + 14 + 15);
}

/// 2021 format flattened: `(六)其他处理` on its own line, then its items.
#[test]
fn flat_other_items_2021() {
    let v = |n: &str| format!("\n{n}").repeat(7);
    let text = format!(
        "2021年某区政府信息公开工作年度报告\n申请人情况\n(六)其他处理\n\
         1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请{}\n\
         2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请{}\n3.其他{}",
        v("1"),
        v("2"),
        v("3")
    );
    let reports = extract_text(&text);
    let r = one(&reports);
    assert_eq!(r.format, Format::V2021);
    check(
        r,
        &[
            ("requests", "other.no_supplement", "total", "1", Some(1.0)),
            ("requests", "other.no_fee_paid", "total", "2", Some(2.0)),
            ("requests", "other.other", "total", "3", Some(3.0)),
        ],
    );
}

/// A requests table printed with its first row ten thousand times (a
/// hostile or broken page): the first is the report's, every other is kept
/// as a row of its own, and the table is read in one pass (each row once
/// looked for among all the rows before it, such a page took minutes).
#[test]
fn a_row_printed_ten_thousand_times_is_read_once_and_kept_apart() {
    let row = |n: usize| {
        format!(
            "<tr><td>一、本年新收政府信息公开申请数量</td>{}</tr>",
            values_row(["1", "2", "0", "0", "0", "0", &(n + 3).to_string()])
        )
    };
    let rows: String = (0..10_000).map(row).collect();
    let html = page(
        "2020年政府信息公开工作年度报告",
        &format!("<table><tr><td>三、收到和处理政府信息公开申请情况</td></tr>{rows}</table>"),
    );
    let r = one(&extract_html(&html)).clone();
    check(&r, &[("requests", "new", "total", "3", Some(3.0))]);
    let totals: Vec<(&str, &str)> = r
        .cells
        .iter()
        .filter(|c| c.col == "total")
        .map(|c| (c.row.as_str(), c.raw.as_str()))
        .collect();
    assert_eq!(totals.len(), 10_000);
    assert_eq!(totals.last(), Some(&("nonstandard.9999", "10002")));
    assert!(r
        .cells
        .iter()
        .all(|c| c.table == "requests" && c.standard == (c.row == "new")));
}
