//! Requests and proactive rows known by their place among recognised
//! neighbours.
//!
//! A printed label with a typo or a missing character (`2.其他法律行政止公开`)
//! names no item, so its row is first kept as `nonstandard.N`. The national
//! form fixes the order of the rows: when the rows just above and below are
//! recognised and exactly one standard row, not yet seen, lies between them
//! in that order, and the printed label is mostly made of that row's
//! characters, the row is that one. The cells say so in their note; no figure
//! is changed.

use super::codes::{proactive_rows, REQUEST_ROWS};
use super::labels::{item_key, key};
use super::tables::Tables;
use super::Format;

/// A proactive row that named no item, with the header columns in force
/// when it was read: its figures fit them, so its place may name it.
#[derive(Debug, Clone)]
pub struct Unplaced {
    /// Its `nonstandard.N` code.
    pub row: String,
    /// Its label as printed.
    pub label: String,
    /// The sub-block's columns, one per figure.
    pub cols: Vec<&'static str>,
    /// The unit of a money column (`amount`), as the header or cell states it.
    pub units: Vec<Option<String>>,
}

/// Share of the printed label's characters that the standard label must hold.
const MIN_OVERLAP: f64 = 0.6;

/// Rename the non-standard requests rows that their neighbours pin down.
pub fn place(out: &mut Tables) {
    let order = request_rows(out);
    for (i, row) in order.iter().enumerate() {
        if !row.starts_with("nonstandard.") {
            continue;
        }
        let (Some(prev), Some(next)) = (
            i.checked_sub(1).and_then(|p| order.get(p)),
            order.get(i + 1),
        ) else {
            continue;
        };
        let Some(code) = pinned(out, &order, prev, next) else {
            continue;
        };
        let label = out
            .cells
            .iter()
            .find(|c| c.table == "requests" && &c.row == row)
            .map(|c| c.label.clone())
            .unwrap_or_default();
        if !looks_like(&label, code) {
            continue;
        }
        let note = format!(
            "row recognised by its place between {prev} and {next}; printed label {label:?}"
        );
        for c in out
            .cells
            .iter_mut()
            .filter(|c| c.table == "requests" && &c.row == row)
        {
            c.row = code.to_string();
            c.standard = true;
            c.note = Some(note.clone());
        }
        let kept = format!("kept as {row}");
        out.notes.retain(|n| !n.ends_with(&kept));
        out.notes
            .push(format!("requests row {label:?} read as {code}: {note}"));
    }
}

/// The requests row codes in the order the table printed them.
fn request_rows(out: &Tables) -> Vec<String> {
    printed_rows(out, "requests")
}

/// The one standard row between `prev` and `next` in the national order
/// that the table has not printed yet, for the format its labels show.
fn pinned(out: &Tables, order: &[String], prev: &str, next: &str) -> Option<&'static str> {
    let position = |code: &str| REQUEST_ROWS.iter().position(|((c, _, _), _)| *c == code);
    let (from, to) = (position(prev)?, position(next)?);
    let format = match (out.saw_2019, out.saw_2021) {
        (true, false) => Some(Format::V2019),
        (false, true) => Some(Format::V2021),
        _ => None,
    };
    let mut between = REQUEST_ROWS
        .get(from + 1..to)?
        .iter()
        .filter(|(_, formats)| format.is_none_or(|f| formats.contains(&f)))
        .map(|((code, _, _), _)| *code)
        .filter(|code| !order.iter().any(|o| o == code));
    let only = between.next()?;
    between.next().is_none().then_some(only)
}

/// True if most characters of the printed label occur in the standard one.
fn looks_like(label: &str, code: &str) -> bool {
    let Some(((_, standard, _), _)) = REQUEST_ROWS.iter().find(|((c, _, _), _)| *c == code) else {
        return false;
    };
    similar(label, standard)
}

/// Rename the non-standard proactive rows that their neighbours pin down:
/// the rows printed just above and below are recognised (or the table ends
/// there, with a recognised row on the other side), exactly one row of the
/// national form not yet printed lies between them, the printed label is
/// mostly made of its characters, and the header's columns are that row's.
pub fn place_proactive(out: &mut Tables, unplaced: &[Unplaced]) {
    let format = match (out.saw_2019, out.saw_2021) {
        (true, false) => Format::V2019,
        (false, true) => Format::V2021,
        _ => return,
    };
    let national: Vec<(&str, &str)> = proactive_rows(format).collect();
    for u in unplaced {
        let order = printed_rows(out, "proactive");
        let Some(i) = order.iter().position(|r| *r == u.row) else {
            continue;
        };
        let prev = i.checked_sub(1).and_then(|p| order.get(p));
        let next = order.get(i + 1);
        if prev.is_none() && next.is_none() {
            continue;
        }
        let at = |r: Option<&String>| r.map(|r| national.iter().position(|(c, _)| c == r));
        let (from, to) = match (at(prev), at(next)) {
            (Some(None), _) | (_, Some(None)) => continue,
            (from, to) => (
                from.flatten().map_or(0, |f| f + 1),
                to.flatten().unwrap_or(national.len()),
            ),
        };
        let mut between = national
            .get(from..to)
            .unwrap_or_default()
            .iter()
            .filter(|(code, _)| !order.iter().any(|o| o == code));
        let (Some((code, standard)), None) = (between.next(), between.next()) else {
            continue;
        };
        let cols = super::codes::proactive_cols(format, code);
        if !similar(&u.label, standard)
            || u.cols.len() != cols.len()
            || !u.cols.iter().all(|c| cols.contains(c))
        {
            continue;
        }
        fn around(r: Option<&String>) -> &str {
            r.map_or("the table's edge", String::as_str)
        }
        let note = format!(
            "row recognised by its place between {} and {}; printed label {:?}",
            around(prev),
            around(next),
            u.label
        );
        for c in out
            .cells
            .iter_mut()
            .filter(|c| c.table == "proactive" && c.row == u.row)
        {
            let k = c
                .col
                .strip_prefix('v')
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| n.checked_sub(1));
            let Some(k) = k.filter(|k| *k < u.cols.len()) else {
                continue;
            };
            c.col = u.cols[k].to_string();
            c.unit = u.units.get(k).cloned().flatten();
            c.row = code.to_string();
            c.standard = true;
            c.note = Some(note.clone());
        }
        let kept = format!("kept as {}", u.row);
        out.notes.retain(|n| !n.ends_with(&kept));
        out.notes.push(format!(
            "proactive row {:?} read as {code}: {note}",
            u.label
        ));
    }
}

/// The row codes of a table in the order it printed them.
fn printed_rows(out: &Tables, table: &str) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    for c in out.cells.iter().filter(|c| c.table == table) {
        if order.last() != Some(&c.row) && !order.contains(&c.row) {
            order.push(c.row.clone());
        }
    }
    order
}

/// True if most characters of a printed label occur in a standard label.
fn similar(label: &str, standard: &str) -> bool {
    let printed: Vec<char> = item_key(label).chars().collect();
    let standard = key(standard);
    if printed.len() < 2 {
        return false;
    }
    let held = printed.iter().filter(|c| standard.contains(**c)).count();
    held as f64 >= MIN_OVERLAP * printed.len() as f64
}

#[cfg(test)]
mod tests {
    use super::super::tables::{read, Row};

    fn row(label: &str) -> Row {
        Row {
            labels: vec![label.to_string()],
            values: ["0", "0", "0", "0", "0", "0", "0"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            confidence: None,
        }
    }

    fn rows_of(labels: &[&str]) -> Vec<(String, bool)> {
        let mut rows = vec![Row {
            labels: vec!["申请人情况".to_string()],
            values: Vec::new(),
            confidence: None,
        }];
        rows.extend(labels.iter().map(|l| row(l)));
        let t = read(&rows);
        let mut out: Vec<(String, bool)> = Vec::new();
        for c in t.cells {
            if !out.iter().any(|(r, _)| *r == c.row) {
                out.push((c.row, c.standard));
            }
        }
        out
    }

    #[test]
    fn a_typo_between_neighbours_is_placed() {
        assert_eq!(
            rows_of(&[
                "1.属于国家秘密",
                "2.其他法律行政止公开",
                "3.危及“三安全一稳定”"
            ]),
            vec![
                ("denied.state_secret".to_string(), true),
                ("denied.law_prohibited".to_string(), true),
                ("denied.security_stability".to_string(), true),
            ]
        );
    }

    #[test]
    fn unpinned_or_unlike_rows_stay_nonstandard() {
        // Two rows missing between the neighbours: not pinned down.
        assert_eq!(
            rows_of(&[
                "1.属于国家秘密",
                "2.其他法律行政止公开",
                "4.保护第三方合法权益"
            ]),
            vec![
                ("denied.state_secret".to_string(), true),
                ("nonstandard.1".to_string(), false),
                ("denied.third_party".to_string(), true),
            ]
        );
        // A province's own row in the gap does not look like the missing one.
        assert_eq!(
            rows_of(&[
                "1.属于国家秘密",
                "2.行政复议决定撤销",
                "3.危及“三安全一稳定”"
            ]),
            vec![
                ("denied.state_secret".to_string(), true),
                ("nonstandard.1".to_string(), false),
                ("denied.security_stability".to_string(), true),
            ]
        );
    }

    fn proactive(rows: &[(&str, &[&str])]) -> Vec<(String, String, bool, Option<String>)> {
        let mut all = vec![Row {
            labels: vec!["第二十条第（一）项".to_string()],
            values: Vec::new(),
            confidence: None,
        }];
        for (label, values) in rows {
            let header = values.is_empty();
            all.push(Row {
                labels: label.split('|').map(str::to_string).collect(),
                values: if header {
                    Vec::new()
                } else {
                    values.iter().map(|v| v.to_string()).collect()
                },
                confidence: None,
            });
        }
        read(&all)
            .cells
            .into_iter()
            .filter(|c| c.table == "proactive")
            .map(|c| (c.row, c.col, c.standard, c.unit))
            .collect()
    }

    const HEAD: (&str, &[&str]) = ("信息内容|本年制发件数|本年废止件数|现行有效件数", &[]);
    const DECISIONS: (&str, &[&str]) = ("信息内容|本年处理决定数量", &[]);
    const FEES: (&str, &[&str]) = ("信息内容|本年收费金额（单位：万元）", &[]);

    #[test]
    fn a_misread_proactive_row_is_placed_by_its_neighbours() {
        let rows = |enforcement: &'static str, fees: &'static str| {
            proactive(&[
                HEAD,
                ("规章", &["0", "0", "0"]),
                ("行政规范性文件", &["1", "2", "3"]),
                DECISIONS,
                ("行政许可", &["4"]),
                ("行政处罚", &["5"]),
                (enforcement, &["6"]),
                FEES,
                (fees, &["7"]),
            ])
        };
        let last = |got: &[(String, String, bool, Option<String>)]| -> Vec<(String, String, bool)> {
            got[got.len() - 2..]
                .iter()
                .map(|(r, c, s, _)| (r.clone(), c.clone(), *s))
                .collect()
        };
        let want = vec![
            ("enforcement".to_string(), "decisions".to_string(), true),
            ("fees".to_string(), "amount".to_string(), true),
        ];
        // Between two recognised rows.
        assert_eq!(last(&rows("行政强币", "行政事业性收费")), want);
        // The last row, at the table's end.
        let got = rows("行政强制", "行政事业性收贵");
        assert_eq!(last(&got), want);
        assert_eq!(got[got.len() - 1].3.as_deref(), Some("wan_yuan"));
    }

    #[test]
    fn an_unpinned_or_unlike_proactive_row_stays_nonstandard() {
        // Two rows missing between penalties and the table's end.
        let got = proactive(&[
            HEAD,
            ("规章", &["0", "0", "0"]),
            DECISIONS,
            ("行政处罚", &["5"]),
            ("行政强币", &["6"]),
        ]);
        assert!(
            got.iter().any(|c| c.0 == "nonstandard.1" && !c.2),
            "{got:?}"
        );
        // A province's own row where enforcement would be.
        let got = proactive(&[
            HEAD,
            ("规章", &["0", "0", "0"]),
            ("行政规范性文件", &["1", "2", "3"]),
            DECISIONS,
            ("行政许可", &["4"]),
            ("行政处罚", &["5"]),
            ("行政确认", &["6"]),
            FEES,
            ("行政事业性收费", &["7"]),
        ]);
        assert!(
            got.iter().any(|c| c.0 == "nonstandard.1" && !c.2),
            "{got:?}"
        );
        assert!(!got.iter().any(|c| c.0 == "enforcement"), "{got:?}");
    }
}
