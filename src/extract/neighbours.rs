//! Requests rows known by their place among recognised neighbours.
//!
//! A printed label with a typo or a missing character (`2.其他法律行政止公开`)
//! names no item, so its row is first kept as `nonstandard.N`. The national
//! form fixes the order of the rows: when the rows just above and below are
//! recognised and exactly one standard row, not yet seen, lies between them
//! in that order, and the printed label is mostly made of that row's
//! characters, the row is that one. The cells say so in their note; no figure
//! is changed.

use super::codes::REQUEST_ROWS;
use super::labels::{item_key, key};
use super::tables::Tables;
use super::Format;

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
    let mut order: Vec<String> = Vec::new();
    for c in out.cells.iter().filter(|c| c.table == "requests") {
        if order.last() != Some(&c.row) && !order.contains(&c.row) {
            order.push(c.row.clone());
        }
    }
    order
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
}
