//! Which report a text is: title, year, agency, format.
//!
//! The title comes from the page metadata or a title line; the year and the
//! agency are read from the title as printed (`平潭综合实验区2019年度…`,
//! `2020年上海市虹口区政府信息公开…`). The format is decided by the labels
//! the tables print, the year deciding only when the labels do not.

use super::labels::normalize;
use super::Format;

/// Longest line taken for a report title.
const TITLE_MAX_CHARS: usize = 80;

/// True for a line that is the title of an annual report, alone on its line
/// (an aggregator's `…年度报告简介` counts; `…年度报告造价信息` does not).
pub fn is_title_line(line: &str) -> bool {
    // Cheap refusals of a line normalising cannot make a title: ideographs
    // survive it one for one, and every title has its 报 (which a
    // compatibility ideograph or radical, U+2E80 on, might yet become).
    let mut han = 0;
    let mut has_bao = false;
    for c in line.chars() {
        match c {
            '\u{4e00}'..='\u{9fff}' => {
                han += 1;
                if han > TITLE_MAX_CHARS {
                    // A paragraph: not read to its end.
                    return false;
                }
                has_bao |= super::labels::fold_char(c) == '报';
            }
            '\u{3000}'..='\u{303f}' | '\u{ff00}'..='\u{ffef}' => {}
            c if c >= '\u{2e80}' => has_bao = true,
            _ => {}
        }
    }
    if han > TITLE_MAX_CHARS || !has_bao {
        return false;
    }
    let norm = normalize(line);
    if norm.chars().count() > TITLE_MAX_CHARS || year_of(&norm).is_none() {
        return false;
    }
    if norm.matches("政府信息公开").count() != 1 {
        return false;
    }
    let Some(pos) = norm.rfind("报告").or_else(|| norm.rfind("年报")) else {
        return false;
    };
    let tail: String = norm
        .get(pos..)
        .unwrap_or("")
        .chars()
        .skip(2)
        .filter(|c| super::labels::is_han(*c))
        .collect();
    matches!(tail.as_str(), "" | "简介" | "全文")
}

/// The report title from a title line or page title: site names after `_`
/// or `|` and an aggregator's `简介` dropped.
pub fn clean_title(text: &str) -> String {
    let norm = normalize(text);
    let part = norm
        .split(['_', '|'])
        .find(|p| p.contains("报告") || p.contains("年报"))
        .unwrap_or(&norm);
    part.trim_end_matches("简介")
        .trim_end_matches("全文")
        .to_string()
}

/// The report year: the first `YYYY年` (digits or 〇一二… numerals).
pub fn year_of(title: &str) -> Option<i32> {
    let chars: Vec<char> = normalize(title).chars().collect();
    year_at(&chars).map(|(_, y)| y)
}

/// Position and value of the first `YYYY年` among the characters.
fn year_at(chars: &[char]) -> Option<(usize, i32)> {
    chars.windows(5).enumerate().find_map(|(i, w)| {
        if w.get(4) != Some(&'年') {
            return None;
        }
        let digits: Option<String> = w.iter().take(4).map(|c| digit(*c)).collect();
        digits
            .and_then(|d| d.parse::<i32>().ok())
            .filter(|y| (2000..=2100).contains(y))
            .map(|y| (i, y))
    })
}

fn digit(c: char) -> Option<char> {
    const NUMERALS: &str = "〇一二三四五六七八九";
    if c.is_ascii_digit() {
        return Some(c);
    }
    if c == '零' {
        return Some('0');
    }
    NUMERALS
        .chars()
        .position(|n| n == c)
        .and_then(|i| char::from_digit(i as u32, 10))
}

/// The agency as printed: before the year, or between the year and
/// `政府信息公开`.
pub fn agency_of(title: &str) -> Option<String> {
    let chars: Vec<char> = clean_title(title).chars().collect();
    let (i, _) = year_at(&chars)?;
    let before: String = chars.iter().take(i).collect();
    let after: String = chars.iter().skip(i + 5).collect();
    let after = after.strip_prefix('度').unwrap_or(&after);
    let before = before.trim_start_matches("关于");
    let agency = if before.is_empty() {
        let end = ["政府信息公开", "信息公开", "年度报告"]
            .iter()
            .find_map(|w| after.find(w))
            .unwrap_or(after.len());
        after.get(..end).unwrap_or("")
    } else {
        before
    };
    let agency = agency.trim_matches(|c: char| !super::labels::is_han(c));
    (!agency.is_empty()).then(|| agency.to_string())
}

/// The format: by the labels printed, else by the year. A note when the
/// two disagree or the labels are mixed.
pub fn decide_format(
    year: Option<i32>,
    saw_2019: bool,
    saw_2021: bool,
    has_tables: bool,
) -> (Format, Option<String>) {
    let by_year = match year {
        Some(y) if y >= 2021 => Some(Format::V2021),
        Some(y) if y >= 2019 => Some(Format::V2019),
        Some(_) if has_tables => None,
        Some(_) => Some(Format::Pre2019),
        None => None,
    };
    let by_labels = match (saw_2019, saw_2021) {
        (true, false) => Some(Format::V2019),
        (false, true) => Some(Format::V2021),
        _ => None,
    };
    let mixed =
        (saw_2019 && saw_2021).then(|| "labels of both the 2019 and 2021 formats".to_string());
    match (by_labels, by_year) {
        (Some(l), Some(y)) if l != y => (
            l,
            Some(format!(
                "format {} by its labels, though the year suggests {}",
                l.as_str(),
                y.as_str()
            )),
        ),
        (Some(l), _) => (l, mixed),
        (None, Some(y)) => (y, mixed),
        (None, None) if has_tables => (
            Format::V2019,
            Some("format not decided by labels or year; read as 2019".to_string()),
        ),
        (None, None) => (Format::Unknown, mixed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles() {
        for (line, title) in [
            ("2018年上海市虹口区政府信息公开工作年度报告简介", true),
            ("2018年上海市虹口区政府信息公开工作年度报告造价信息", false),
            ("2018年上海市虹口区政府信息公开工作年度报告简介常见问题", false),
            ("三台县环境保护局2009年政府信息公开工作年度报告 三台县环境保护局2009年政府信息公开工作年度报告", false),
            ("宁波市质监局2008年度政府信息公开工作年度报告", true),
            ("政府信息公开工作年度报告", false),
        ] {
            assert_eq!(is_title_line(line), title, "{line}");
        }
    }

    #[test]
    fn year_and_agency() {
        for (title, year, agency) in [
            ("平潭综合实验区2019年度政府信息公开工作年度报告_政府信息公开年报_平潭综合实验区党工委管委会", Some(2019), Some("平潭综合实验区")),
            ("2020年上海市虹口区政府信息公开工作年度报告简介", Some(2020), Some("上海市虹口区")),
            ("二〇二一年度政府信息公开工作年度报告", Some(2021), None),
            ("政府信息公开工作年度报告", None, None),
        ] {
            assert_eq!(year_of(title), year, "{title}");
            assert_eq!(agency_of(title).as_deref(), agency, "{title}");
        }
    }
}
