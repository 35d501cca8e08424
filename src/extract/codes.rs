//! The codebook: every canonical code of TABLES.md with its Chinese and
//! English labels, the formats that print it, and whether it is a count or
//! money. The extractor emits only these codes for standard rows; the export
//! lists them so that a reader can name every column.

use serde::Serialize;

use super::Format;

/// One figure a report may state, named by `table`, `row`, `col`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodeEntry {
    pub table: &'static str,
    pub row: &'static str,
    pub col: &'static str,
    /// Row and column labels as printed in the national format.
    pub label_zh: String,
    /// The row's label alone, and the column's (empty for one-column tables).
    pub row_zh: String,
    pub col_zh: String,
    pub label_en: String,
    /// The formats whose tables carry this figure.
    pub formats: Vec<Format>,
    /// `count`, or `money` (the unit of each money cell is stored with it).
    pub unit: &'static str,
}

/// (code, Chinese label, English label)
type Label = (&'static str, &'static str, &'static str);

const PROACTIVE_COLS: &[Label] = &[
    ("made", "本年新制作数量", "made this year"),
    ("published", "本年新公开数量", "newly published this year"),
    ("total_published", "对外公开总数量", "total published"),
    ("prev_items", "上一年项目数量", "items the previous year"),
    ("change", "本年增/减", "change this year"),
    ("decisions", "处理决定数量", "decisions"),
    ("items", "采购项目数量", "procurement items"),
    ("amount", "金额", "amount"),
    ("issued", "本年制发件数", "issued this year"),
    ("repealed", "本年废止件数", "repealed this year"),
    ("in_force", "现行有效件数", "in force"),
];

/// Proactive rows of the 2019 format with their columns.
const PROACTIVE_2019: &[(Label, &[&str])] = &[
    (
        ("rules", "规章", "rules"),
        &["made", "published", "total_published"],
    ),
    (
        ("normative_docs", "规范性文件", "normative documents"),
        &["made", "published", "total_published"],
    ),
    (
        ("licensing", "行政许可", "administrative licensing"),
        &["prev_items", "change", "decisions"],
    ),
    (
        (
            "other_services",
            "其他对外管理服务事项",
            "other external management services",
        ),
        &["prev_items", "change", "decisions"],
    ),
    (
        ("penalties", "行政处罚", "administrative penalties"),
        &["prev_items", "change", "decisions"],
    ),
    (
        ("enforcement", "行政强制", "administrative enforcement"),
        &["prev_items", "change", "decisions"],
    ),
    (
        ("fees", "行政事业性收费", "administrative fees"),
        &["prev_items", "change"],
    ),
    (
        (
            "procurement",
            "政府集中采购",
            "centralised government procurement",
        ),
        &["items", "amount"],
    ),
];

/// Proactive rows of the 2021 format with their columns.
const PROACTIVE_2021: &[(Label, &[&str])] = &[
    (
        ("rules", "规章", "rules"),
        &["issued", "repealed", "in_force"],
    ),
    (
        ("normative_docs", "行政规范性文件", "normative documents"),
        &["issued", "repealed", "in_force"],
    ),
    (
        ("licensing", "行政许可", "administrative licensing"),
        &["decisions"],
    ),
    (
        ("penalties", "行政处罚", "administrative penalties"),
        &["decisions"],
    ),
    (
        ("enforcement", "行政强制", "administrative enforcement"),
        &["decisions"],
    ),
    (
        ("fees", "行政事业性收费", "administrative fees"),
        &["amount"],
    ),
];

/// Requests columns, in the order the national table prints its figures.
pub const REQUEST_COLS: &[Label] = &[
    ("natural_person", "自然人", "natural persons"),
    ("legal.business", "法人或其他组织/商业企业", "businesses"),
    (
        "legal.research",
        "法人或其他组织/科研机构",
        "research institutions",
    ),
    (
        "legal.nonprofit",
        "法人或其他组织/社会公益组织",
        "non-profit organisations",
    ),
    (
        "legal.law_firm",
        "法人或其他组织/法律服务机构",
        "legal service providers",
    ),
    ("legal.other", "法人或其他组织/其他", "other organisations"),
    ("total", "总计", "total"),
];

const BOTH: &[Format] = &[Format::V2019, Format::V2021];
const ONLY_2019: &[Format] = &[Format::V2019];
const ONLY_2021: &[Format] = &[Format::V2021];

/// Requests rows, in table order.
pub const REQUEST_ROWS: &[(Label, &[Format])] = &[
    (
        (
            "new",
            "一、本年新收政府信息公开申请数量",
            "new requests this year",
        ),
        BOTH,
    ),
    (
        (
            "carried_over",
            "二、上年结转政府信息公开申请数量",
            "carried over from last year",
        ),
        BOTH,
    ),
    (("granted", "三(一)予以公开", "granted"), BOTH),
    (("partial", "三(二)部分公开", "partly granted"), BOTH),
    (
        (
            "denied.state_secret",
            "三(三)1 属于国家秘密",
            "denied: state secret",
        ),
        BOTH,
    ),
    (
        (
            "denied.law_prohibited",
            "三(三)2 其他法律行政法规禁止公开",
            "denied: prohibited by other law",
        ),
        BOTH,
    ),
    (
        (
            "denied.security_stability",
            "三(三)3 危及“三安全一稳定”",
            "denied: security or stability",
        ),
        BOTH,
    ),
    (
        (
            "denied.third_party",
            "三(三)4 保护第三方合法权益",
            "denied: third-party rights",
        ),
        BOTH,
    ),
    (
        (
            "denied.internal_affairs",
            "三(三)5 属于三类内部事务信息",
            "denied: internal affairs",
        ),
        BOTH,
    ),
    (
        (
            "denied.process_info",
            "三(三)6 属于四类过程性信息",
            "denied: process information",
        ),
        BOTH,
    ),
    (
        (
            "denied.enforcement_file",
            "三(三)7 属于行政执法案卷",
            "denied: enforcement file",
        ),
        BOTH,
    ),
    (
        (
            "denied.query_matter",
            "三(三)8 属于行政查询事项",
            "denied: query matter",
        ),
        BOTH,
    ),
    (
        (
            "unable.not_held",
            "三(四)1 本机关不掌握相关政府信息",
            "unable: not held",
        ),
        BOTH,
    ),
    (
        (
            "unable.needs_creation",
            "三(四)2 没有现成信息需要另行制作",
            "unable: would need creating",
        ),
        BOTH,
    ),
    (
        (
            "unable.unclear",
            "三(四)3 补正后申请内容仍不明确",
            "unable: still unclear",
        ),
        BOTH,
    ),
    (
        (
            "not_processed.petition",
            "三(五)1 信访举报投诉类申请",
            "not processed: petition",
        ),
        BOTH,
    ),
    (
        (
            "not_processed.duplicate",
            "三(五)2 重复申请",
            "not processed: duplicate",
        ),
        BOTH,
    ),
    (
        (
            "not_processed.publication",
            "三(五)3 要求提供公开出版物",
            "not processed: publication",
        ),
        BOTH,
    ),
    (
        (
            "not_processed.mass_repeated",
            "三(五)4 无正当理由大量反复申请",
            "not processed: mass repeated",
        ),
        BOTH,
    ),
    (
        (
            "not_processed.confirm_existing",
            "三(五)5 要求行政机关确认或重新出具已获取信息",
            "not processed: confirm existing",
        ),
        BOTH,
    ),
    (("other", "三(六)其他处理", "other handling"), ONLY_2019),
    (
        (
            "other.no_supplement",
            "三(六)1 逾期不补正",
            "other: no supplement",
        ),
        ONLY_2021,
    ),
    (
        (
            "other.no_fee_paid",
            "三(六)2 逾期未缴纳费用",
            "other: fee not paid",
        ),
        ONLY_2021,
    ),
    (("other.other", "三(六)3 其他", "other: other"), ONLY_2021),
    (("total", "三(七)总计", "total handled"), BOTH),
    (
        (
            "carried_forward",
            "四、结转下年度继续办理",
            "carried forward to next year",
        ),
        BOTH,
    ),
];

/// Appeals groups, in the order the national table prints them.
pub const APPEAL_GROUPS: &[Label] = &[
    ("review", "行政复议", "administrative review"),
    (
        "suit_direct",
        "行政诉讼/未经复议直接起诉",
        "lawsuit without prior review",
    ),
    (
        "suit_after_review",
        "行政诉讼/复议后起诉",
        "lawsuit after review",
    ),
];

pub const APPEAL_MEMBERS: &[Label] = &[
    ("upheld", "结果维持", "upheld"),
    ("corrected", "结果纠正", "corrected"),
    ("other", "其他结果", "other outcome"),
    ("pending", "尚未审结", "pending"),
    ("total", "总计", "total"),
];

pub const HEADLINE_ROWS: &[Label] = &[
    (
        "proactive_items",
        "新增主动公开政府信息",
        "items disclosed proactively",
    ),
    (
        "requests_received",
        "受理政府信息公开申请",
        "requests received",
    ),
    ("requests_in_person", "当面申请", "requests in person"),
    ("requests_online", "网上申请", "requests online"),
    ("requests_letter", "信函申请", "requests by letter"),
    ("requests_fax", "传真申请", "requests by fax"),
    ("requests_email", "电子邮件申请", "requests by e-mail"),
    ("requests_other", "其他形式申请", "requests by other means"),
    ("answered", "答复申请", "requests answered"),
    (
        "answer_already_public",
        "属于已主动公开范围",
        "answer: already public",
    ),
    ("answer_granted", "同意公开", "answer: granted"),
    ("answer_partial", "同意部分公开", "answer: partly granted"),
    ("answer_denied", "不同意公开", "answer: denied"),
    (
        "answer_not_exist",
        "申请信息不存在",
        "answer: does not exist",
    ),
    (
        "answer_not_this_agency",
        "不属于本行政机关公开",
        "answer: not this agency",
    ),
    ("answer_amend", "告知作出更改补充", "answer: asked to amend"),
    (
        "answer_other_route",
        "告知通过其他途径办理",
        "answer: other route",
    ),
    ("reviews", "行政复议", "administrative reviews"),
    ("suits", "行政诉讼", "lawsuits"),
];

/// The columns a proactive row carries in a format.
pub fn proactive_cols(format: Format, row: &str) -> &'static [&'static str] {
    let rows = match format {
        Format::V2021 => PROACTIVE_2021,
        _ => PROACTIVE_2019,
    };
    rows.iter()
        .find(|((code, _, _), _)| *code == row)
        .map_or(&[], |(_, cols)| *cols)
}

/// The proactive rows of a format in the order the national form prints
/// them: code and Chinese label.
pub fn proactive_rows(format: Format) -> impl Iterator<Item = (&'static str, &'static str)> {
    let rows = match format {
        Format::V2021 => PROACTIVE_2021,
        _ => PROACTIVE_2019,
    };
    rows.iter().map(|((code, zh, _), _)| (*code, *zh))
}

/// Every code, with labels, formats and unit.
pub fn codebook() -> Vec<CodeEntry> {
    let mut out = Vec::new();
    for (format, rows) in [
        (Format::V2019, PROACTIVE_2019),
        (Format::V2021, PROACTIVE_2021),
    ] {
        for ((row, row_zh, row_en), cols) in rows {
            for col in *cols {
                let (_, col_zh, col_en) = find(PROACTIVE_COLS, col);
                out.push(CodeEntry {
                    table: "proactive",
                    row,
                    col,
                    label_zh: format!("{row_zh}/{col_zh}"),
                    row_zh: row_zh.to_string(),
                    col_zh: col_zh.to_string(),
                    label_en: format!("{row_en}: {col_en}"),
                    formats: vec![format],
                    unit: if *col == "amount" { "money" } else { "count" },
                });
            }
        }
    }
    merge_formats(&mut out);
    for ((row, row_zh, row_en), formats) in REQUEST_ROWS {
        for (col, col_zh, col_en) in REQUEST_COLS {
            out.push(count(
                "requests", row, col, row_zh, col_zh, row_en, col_en, formats,
            ));
        }
    }
    for (group, g_zh, g_en) in APPEAL_GROUPS {
        for (member, m_zh, m_en) in APPEAL_MEMBERS {
            let col: &'static str = appeal_col(group, member);
            out.push(count("appeals", "all", col, g_zh, m_zh, g_en, m_en, BOTH));
        }
    }
    for (row, zh, en) in HEADLINE_ROWS {
        out.push(count(
            "headline",
            row,
            "value",
            zh,
            "",
            en,
            "",
            &[Format::Pre2019],
        ));
    }
    out
}

#[allow(clippy::too_many_arguments)] // reason: one line per code keeps the tables above flat
fn count(
    table: &'static str,
    row: &'static str,
    col: &'static str,
    row_zh: &str,
    col_zh: &str,
    row_en: &str,
    col_en: &str,
    formats: &[Format],
) -> CodeEntry {
    let join = |a: &str, b: &str, sep: &str| {
        if b.is_empty() {
            a.to_string()
        } else {
            format!("{a}{sep}{b}")
        }
    };
    CodeEntry {
        table,
        row,
        col,
        label_zh: join(row_zh, col_zh, "/"),
        row_zh: row_zh.to_string(),
        col_zh: col_zh.to_string(),
        label_en: join(row_en, col_en, ": "),
        formats: formats.to_vec(),
        unit: "count",
    }
}

/// A proactive code present in both formats is listed once with both.
fn merge_formats(entries: &mut Vec<CodeEntry>) {
    let mut merged: Vec<CodeEntry> = Vec::new();
    for e in entries.drain(..) {
        match merged.iter_mut().find(|m| m.row == e.row && m.col == e.col) {
            Some(m) => m.formats.extend(e.formats),
            None => merged.push(e),
        }
    }
    *entries = merged;
}

fn find(list: &'static [Label], code: &str) -> Label {
    list.iter()
        .find(|(c, _, _)| *c == code)
        .copied()
        .unwrap_or(("", "", ""))
}

/// `review` + `upheld` → `review.upheld`, as a static code.
pub fn appeal_col(group: &str, member: &str) -> &'static str {
    APPEAL_COLS
        .iter()
        .find(|c| {
            c.split_once('.')
                .is_some_and(|(g, m)| g == group && m == member)
        })
        .copied()
        .unwrap_or("")
}

/// Appeals columns in printed order.
pub const APPEAL_COLS: &[&str] = &[
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codebook_is_complete_and_unique() {
        let book = codebook();
        let count_of = |t: &str| book.iter().filter(|e| e.table == t).count();
        // 2019: 2×3 + 4×3 + 2 + 2 = 22; 2021 adds issued/repealed/in_force ×2 and fees.amount = 7.
        assert_eq!(count_of("proactive"), 29);
        assert_eq!(count_of("requests"), 26 * 7);
        assert_eq!(count_of("appeals"), 15);
        assert_eq!(count_of("headline"), 19);
        let mut keys: Vec<String> = book
            .iter()
            .map(|e| format!("{}.{}.{}", e.table, e.row, e.col))
            .collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), book.len());
        assert!(book.iter().all(|e| !e.col.is_empty()));
    }
}
