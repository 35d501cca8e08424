//! Figures stated in the prose of reports for 2008–2018 → table `headline`.
//!
//! Each figure is found by its wording (`共受理政府信息公开申请1100件`,
//! `当面、网上、信函方式提交申请的申请量分别为235件、550件、315件`,
//! `“同意公开”535件`). A figure the text does not state is absent: nothing is
//! derived, nothing defaults to 0. The first statement found wins.

use super::labels::normalize;
use super::number::parse;
use super::Cell;

/// Characters that end the stretch in which a figure is looked for.
const STOPS: &[char] = &['。', ';', '；', '\n'];
/// Counting words that follow a headline figure.
const COUNTERS: &[char] = &['件', '条', '起', '宗', '个', '项'];

/// Request channels named before `分别为`, in the codes' terms.
const CHANNELS: &[(&str, &str)] = &[
    ("当面", "requests_in_person"),
    ("网上", "requests_online"),
    ("网络", "requests_online"),
    ("在线", "requests_online"),
    ("信函", "requests_letter"),
    ("邮寄", "requests_letter"),
    ("来信", "requests_letter"),
    ("传真", "requests_fax"),
    ("电子邮件", "requests_email"),
    ("电邮", "requests_email"),
    ("其他方式", "requests_other"),
    ("其他形式", "requests_other"),
];

/// Answer categories: a quoted label followed by its count.
const ANSWERS: &[(&str, &[&str])] = &[
    (
        "answer_already_public",
        &["属于已主动公开范围", "已主动公开"],
    ),
    ("answer_granted", &["同意公开"]),
    ("answer_partial", &["同意部分公开"]),
    ("answer_denied", &["不同意公开", "不予公开"]),
    ("answer_not_exist", &["申请信息不存在", "信息不存在"]),
    (
        "answer_not_this_agency",
        &["不属于本行政机关公开", "不属于本机关", "非本机关"],
    ),
    ("answer_amend", &["告知作出更改补充", "更改补充"]),
    ("answer_other_route", &["告知通过其他途径办理", "其他途径"]),
];

/// Every headline figure the prose states.
///
/// The text is searched as bytes (`memchr::memmem`), positions are byte
/// offsets; only the few characters after a match are walked one by one.
pub fn read(prose: &str) -> Vec<Cell> {
    let text: String = prose.lines().map(normalize).collect::<Vec<_>>().join("\n");
    let text = text.as_str();
    let mut out: Vec<Cell> = Vec::new();
    let mut put = |row: &str, found: Option<(String, &str)>| {
        if let Some((raw, label)) = found {
            if !out.iter().any(|c| c.row == row) {
                out.push(cell(row, &raw, label));
            }
        }
    };
    put(
        "proactive_items",
        after_words(text, &["主动公开政府信息", "主动公开信息"], 8, &[]),
    );
    put(
        "requests_received",
        request_count(text, &["受理", "收到", "接收"]),
    );
    for (row, raw) in channels(text) {
        put(row, Some((raw, "分别为")));
    }
    for (word, row) in CHANNELS {
        let phrases = [format!("{word}申请"), format!("{word}提交申请")];
        let phrases: Vec<&str> = phrases.iter().map(String::as_str).collect();
        put(
            row,
            after_words(text, &phrases, 3, &[]).map(|(raw, _)| (raw, *word)),
        );
    }
    put("answered", request_count(text, &["办结", "答复"]));
    for (row, words) in ANSWERS {
        put(row, after_words(text, words, 3, &['不']));
    }
    put("reviews", after_words(text, &["行政复议"], 6, &[]));
    put("suits", after_words(text, &["行政诉讼"], 6, &[]));
    out
}

fn cell(row: &str, raw: &str, label: &str) -> Cell {
    Cell {
        table: "headline".to_string(),
        row: row.to_string(),
        col: "value".to_string(),
        raw: raw.to_string(),
        value: parse(raw).and_then(|f| f.value()),
        unit: None,
        standard: true,
        label: label.to_string(),
        note: None,
        ocr: false,
        ocr_conf: None,
    }
}

/// Byte ranges of each occurrence of `word`, overlapping ones included.
fn occurrences<'a>(text: &'a str, word: &'a str) -> impl Iterator<Item = (usize, usize)> + 'a {
    let finder = memchr::memmem::Finder::new(word.as_bytes());
    let mut from = 0;
    std::iter::from_fn(move || {
        if word.is_empty() {
            return None;
        }
        let start = from + finder.find(text.as_bytes().get(from..)?)?;
        // Resume one character on, as a search by windows would.
        from = start + text.get(start..)?.chars().next()?.len_utf8();
        Some((start, start + word.len()))
    })
}

/// The first count within `gap` characters after one of the words (a word
/// preceded by one of `not_after` does not count: `不同意公开` is not `同意公开`).
fn after_words<'w>(
    text: &str,
    words: &[&'w str],
    gap: usize,
    not_after: &[char],
) -> Option<(String, &'w str)> {
    words.iter().find_map(|word| {
        occurrences(text, word)
            .filter(|(start, _)| {
                text.get(..*start)
                    .and_then(|before| before.chars().next_back())
                    .is_none_or(|c| !not_after.contains(&c))
            })
            .find_map(|(_, end)| count_after(text, end, gap))
            .map(|raw| (raw, *word))
    })
}

/// `受理…申请1100件`: a verb, then `申请` within a few characters, then the count.
fn request_count<'w>(text: &str, verbs: &[&'w str]) -> Option<(String, &'w str)> {
    verbs.iter().find_map(|verb| {
        occurrences(text, verb)
            .find_map(|(_, end)| {
                let rest = text.get(end..)?;
                let window_len: usize = rest
                    .chars()
                    .take(12)
                    .take_while(|c| !STOPS.contains(c))
                    .map(char::len_utf8)
                    .sum();
                let at = rest.get(..window_len)?.find("申请")?;
                count_after(text, end + at + "申请".len(), 4)
            })
            .map(|raw| (raw, *verb))
    })
}

/// Digits reached within `gap` characters (no stop in between), followed by a counter.
fn count_after(text: &str, from: usize, gap: usize) -> Option<String> {
    let rest = text.get(from..)?;
    let start = rest
        .char_indices()
        .take(gap + 1)
        .take_while(|(_, c)| !STOPS.contains(c))
        .find(|(_, c)| c.is_ascii_digit())
        .map(|(i, _)| i)?;
    let digits_len = rest
        .get(start..)?
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b',')
        .count();
    let digits = rest.get(start..start + digits_len)?;
    let next = rest.get(start + digits_len..)?.chars().next()?;
    (COUNTERS.contains(&next) && !digits.is_empty()).then(|| digits.to_string())
}

/// `当面、网上、信函方式…分别为235件、550件、315件`: channels named in the
/// sentence before `分别为`, paired in order with the counts after it.
fn channels(text: &str) -> Vec<(&'static str, String)> {
    occurrences(text, "分别为")
        .find_map(|(start, end)| {
            let before = text.get(..start)?;
            let sentence_start = before
                .char_indices()
                .rev()
                .find(|(_, c)| STOPS.contains(c))
                .map_or(0, |(i, c)| i + c.len_utf8());
            let named = channels_named(before.get(sentence_start..)?);
            let counts = counts_listed(text, end);
            (!named.is_empty() && counts.len() >= named.len())
                .then(|| named.into_iter().zip(counts).collect())
        })
        .unwrap_or_default()
}

/// Channel codes in the order the sentence names them.
fn channels_named(sentence: &str) -> Vec<&'static str> {
    let mut found: Vec<(usize, &'static str)> = CHANNELS
        .iter()
        .filter_map(|(word, code)| sentence.find(word).map(|pos| (pos, *code)))
        .collect();
    found.sort_by_key(|(pos, _)| *pos);
    let mut codes: Vec<&'static str> = Vec::new();
    for (_, code) in found {
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
}

/// `235件、550件、315件`: counts joined by `、`, `,` or `和`.
fn counts_listed(text: &str, mut at: usize) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(raw) = count_after(text, at, 0) {
        // The digits (ASCII) and the counter after them.
        at += raw.len();
        at += text
            .get(at..)
            .and_then(|r| r.chars().next())
            .map_or(1, char::len_utf8);
        out.push(raw);
        match text.get(at..).and_then(|r| r.chars().next()) {
            Some(c @ ('、' | ',' | '和' | '及')) => at += c.len_utf8(),
            _ => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: &[(&str, f64)]) {
        let got: Vec<(String, Option<f64>)> =
            read(text).into_iter().map(|c| (c.row, c.value)).collect();
        let want: Vec<(String, Option<f64>)> = expect
            .iter()
            .map(|(r, v)| (r.to_string(), Some(*v)))
            .collect();
        assert_eq!(got, want, "{text}");
    }

    #[test]
    fn sentences() {
        check(
            "全年共受理政府信息公开申请1100件。",
            &[("requests_received", 1100.0)],
        );
        check(
            "主要通过当面、网上、信函方式提交申请的申请量分别为235件、550件、315件,其所占比重分别为21.36%、50%、28.64%。",
            &[("requests_in_person", 235.0), ("requests_online", 550.0), ("requests_letter", 315.0)],
        );
        check(
            "“同意公开”535件,“不同意公开”53件",
            &[("answer_granted", 535.0), ("answer_denied", 53.0)],
        );
        check(
            "除去“申请信息不存在”、“不属于本行政机关公开”等其他情况",
            &[],
        );
        check("行政复议案共29件", &[("reviews", 29.0)]);
        check(
            "其中网上申请20件,当面申请3件",
            &[("requests_in_person", 3.0), ("requests_online", 20.0)],
        );
        check(
            "新增主动公开政府信息共计3907条",
            &[("proactive_items", 3907.0)],
        );
        check("二、主动公开政府信息情况\n2018年,全区", &[]);
    }
}
