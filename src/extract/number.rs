//! Cell text → number and unit.
//!
//! Reads the figures as printed in the statistics tables: signs written as
//! `+`, `-` or `减`, full-width digits, thousands separators, up to six
//! decimals, and a money unit inside the cell (`67552.91(万元)`,
//! `75394432.52元`). Never rescales: a unit is recorded, not applied.

/// Money unit stated by a cell or its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Yuan,
    WanYuan,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Yuan => "yuan",
            Unit::WanYuan => "wan_yuan",
        }
    }
}

/// What a cell holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Figure {
    /// Nothing printed (or only spaces / `&nbsp;`).
    Blank,
    /// A dash, slash or `无`: printed, but no figure.
    Nil,
    /// A figure, with the unit printed inside the cell if any.
    Number(f64, Option<Unit>),
}

impl Figure {
    pub fn value(&self) -> Option<f64> {
        match self {
            Figure::Number(v, _) => Some(*v),
            _ => None,
        }
    }
}

/// Texts that stand for "no figure" in the tables.
const NIL_MARKS: &[&str] = &[
    "—", "——", "-", "--", "/", "\\", "无", "─", "−", "–", "_", "×", "空", "暂无", "—/—",
];

/// Collapse every run of whitespace (including `&nbsp;` and the ideographic
/// space) to one space and trim: the raw text kept beside a figure.
pub fn collapse_ws(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split(is_gap).filter(|s| !s.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// [`collapse_ws`] in place, copying only a text that changes (most cells
/// hold one word).
pub fn collapse_ws_in(text: &mut String) {
    let mut after_gap = true;
    let changes = text.chars().any(|c| {
        let gap = is_gap(c);
        let change = gap && (after_gap || c != ' ');
        after_gap = gap;
        change
    }) || (after_gap && !text.is_empty());
    if changes {
        *text = collapse_ws(text);
    }
}

fn is_gap(c: char) -> bool {
    c.is_whitespace() || c == '\u{a0}' || c == '\u{3000}'
}

/// Read one cell. `None` when the text is not a figure at all (a label).
pub fn parse(text: &str) -> Option<Figure> {
    // Most cells are a plain count: read without normalising or copying.
    let bare = text.trim_matches(char::is_whitespace);
    if !bare.is_empty() && bare.bytes().all(|b| b.is_ascii_digit()) {
        return bare.parse().ok().map(|v| Figure::Number(v, None));
    }
    if names_something(text) {
        return None;
    }
    let norm: String = super::labels::nfkc(text)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .collect();
    if norm.is_empty() {
        return Some(Figure::Blank);
    }
    if NIL_MARKS.contains(&norm.as_str()) {
        return Some(Figure::Nil);
    }
    let (body, unit) = strip_unit(&norm);
    let (sign, digits) = strip_sign(body);
    parse_unsigned(digits).map(|v| Figure::Number(sign * v, unit))
}

/// Whether the text holds an ideograph no figure, unit, sign or no-figure
/// mark is written with: a label, told without normalising it. Unified
/// ideographs are their own NFKC, so they survive normalisation as printed.
fn names_something(text: &str) -> bool {
    text.chars().any(|c| {
        matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}')
            && !matches!(c, '万' | '元' | '增' | '减' | '无' | '空' | '暂')
    })
}

/// True when the text is a figure, blank or a no-figure mark.
pub fn is_figure(text: &str) -> bool {
    parse(text).is_some()
}

/// Remove a money unit printed after the figure, with or without brackets.
fn strip_unit(s: &str) -> (&str, Option<Unit>) {
    const UNITS: &[(&str, Unit)] = &[
        ("(万元)", Unit::WanYuan),
        ("万元", Unit::WanYuan),
        ("(元)", Unit::Yuan),
        ("元", Unit::Yuan),
    ];
    for (suffix, unit) in UNITS {
        if let Some(body) = s.strip_suffix(suffix) {
            return (body, Some(*unit));
        }
    }
    (s, None)
}

fn strip_sign(s: &str) -> (f64, &str) {
    for (prefix, sign) in [("+", 1.0), ("增", 1.0), ("-", -1.0), ("减", -1.0)] {
        if let Some(rest) = s.strip_prefix(prefix) {
            return (sign, rest);
        }
    }
    (1.0, s)
}

/// Digits with optional thousands separators and at most six decimals.
fn parse_unsigned(s: &str) -> Option<f64> {
    let (int_part, frac_part) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let int_digits = strip_thousands(int_part)?;
    if let Some(f) = frac_part {
        if f.is_empty() || f.len() > 6 || !f.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        return format!("{int_digits}.{f}").parse().ok();
    }
    int_digits.parse().ok()
}

/// `1,234,567` → `1234567`; separators must group by three.
fn strip_thousands(s: &str) -> Option<String> {
    let all_digits = |g: &str| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit());
    let mut groups = s.split(',');
    let first = groups.next().filter(|g| all_digits(g))?;
    let rest: Vec<&str> = groups.collect();
    let grouped =
        rest.is_empty() || (first.len() <= 3 && rest.iter().all(|g| g.len() == 3 && all_digits(g)));
    grouped.then(|| [first].iter().chain(rest.iter()).copied().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_collapses_alike_in_place_and_by_copy() {
        for text in [
            "",
            " ",
            "12",
            "a b",
            " a",
            "a ",
            "a  b",
            "a\tb",
            "a\u{3000}b",
            "\u{a0}12\u{a0}",
            "依 申 请\n 公开",
        ] {
            let mut in_place = text.to_string();
            collapse_ws_in(&mut in_place);
            assert_eq!(in_place, collapse_ws(text), "{text:?}");
        }
        assert_eq!(collapse_ws(" 依 申\u{3000}\u{3000}请\n"), "依 申 请");
    }

    fn check(input: &str, expect: Option<Figure>) {
        assert_eq!(parse(input), expect, "input {input:?}");
    }

    #[test]
    fn figures() {
        use Figure::*;
        check("0", Some(Number(0.0, None)));
        check("-49", Some(Number(-49.0, None)));
        check("+2", Some(Number(2.0, None)));
        check("减4", Some(Number(-4.0, None)));
        check("１２３", Some(Number(123.0, None)));
        check("1,234", Some(Number(1234.0, None)));
        check("1,234,567.5", Some(Number(1234567.5, None)));
        check("9116.360000", Some(Number(9116.36, None)));
        check(
            "67552.91(万元)",
            Some(Number(67552.91, Some(Unit::WanYuan))),
        );
        check(
            "67552.91（万元）",
            Some(Number(67552.91, Some(Unit::WanYuan))),
        );
        check("75394432.52元", Some(Number(75394432.52, Some(Unit::Yuan))));
        check(" 7 ", Some(Number(7.0, None)));
        check("", Some(Blank));
        check("\u{a0}", Some(Blank));
        check("—", Some(Nil));
        check("/", Some(Nil));
        check("无", Some(Nil));
        check("1.2345678", None);
        check("12,34", None);
        check(",123", None);
        check("1.", None);
        check("规章", None);
        check("13%", None);
        check("2022-12-07", None);
        check("元", None);
        check("暂无", Some(Nil));
        check("空", Some(Nil));
        check("增3", Some(Number(3.0, None)));
        check("3 万元", Some(Number(3.0, Some(Unit::WanYuan))));
        check("3件", None);
        check("三", None);
    }
}
