//! Label text → matching key, and the printed variants that must read alike.
//!
//! Labels are matched by meaning: the key keeps only the Chinese characters of
//! a label (after NFKC and folding traditional variants), so brackets,
//! numbering digits, quotes, line breaks and pinyin injected by mirror sites
//! do not matter. Chinese numerals (`三`, `四`) stay: section numbering is
//! itself part of the meaning.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind};

use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

/// Traditional (or variant) characters met in the tables, and their
/// simplified forms.
const CHAR_FOLDS: &[(char, char)] = &[
    ('規', '规'),
    ('範', '范'),
    ('檔', '档'),
    ('數', '数'),
    ('處', '处'),
    ('罰', '罚'),
    ('強', '强'),
    ('許', '许'),
    ('費', '费'),
    ('採', '采'),
    ('購', '购'),
    ('額', '额'),
    ('總', '总'),
    ('計', '计'),
    ('審', '审'),
    ('結', '结'),
    ('複', '复'),
    ('復', '复'),
    ('議', '议'),
    ('訴', '诉'),
    ('訟', '讼'),
    ('維', '维'),
    ('糾', '纠'),
    ('請', '请'),
    ('類', '类'),
    ('機', '机'),
    ('關', '关'),
    ('資', '资'),
    ('訊', '讯'),
    ('開', '开'),
    ('與', '与'),
    ('統', '统'),
    ('會', '会'),
    ('業', '业'),
    ('組', '组'),
    ('織', '织'),
    ('務', '务'),
    ('權', '权'),
    ('護', '护'),
    ('國', '国'),
    ('險', '险'),
    ('穩', '稳'),
    ('過', '过'),
    ('執', '执'),
    ('詢', '询'),
    ('項', '项'),
    ('製', '制'),
    ('補', '补'),
    ('確', '确'),
    ('認', '认'),
    ('獲', '获'),
    ('訪', '访'),
    ('舉', '举'),
    ('報', '报'),
    ('覆', '复'),
    ('發', '发'),
    ('廢', '废'),
    ('現', '现'),
    ('効', '效'),
    ('單', '单'),
    ('萬', '万'),
    ('轉', '转'),
    ('辦', '办'),
    ('無', '无'),
    ('從', '从'),
    ('徵', '征'),
    ('繳', '缴'),
    ('納', '纳'),
    ('這', '这'),
    ('僅', '仅'),
    ('來', '来'),
    ('產', '产'),
    ('體', '体'),
    ('團', '团'),
    ('個', '个'),
    ('錄', '录'),
    ('實', '实'),
    ('驗', '验'),
    ('區', '区'),
    ('縣', '县'),
    ('鎮', '镇'),
    ('圖', '图'),
    ('書', '书'),
    ('屬', '属'),
    ('於', '于'),
    ('決', '决'),
    ('証', '证'),
    ('證', '证'),
];

/// Word-level variants: a naive converter renders 文件 as 檔案.
const WORD_FOLDS: &[(&str, &str)] = &[("档案", "文件")];

/// `CHAR_FOLDS` sorted, for a binary search: every character of every
/// label is folded.
static SORTED_FOLDS: LazyLock<Vec<(char, char)>> = LazyLock::new(|| {
    let mut folds = CHAR_FOLDS.to_vec();
    folds.sort_unstable();
    folds
});

/// Fold one character to its simplified form.
pub(crate) fn fold_char(c: char) -> char {
    if c < '\u{4e00}' {
        return c;
    }
    SORTED_FOLDS
        .binary_search_by_key(&c, |(from, _)| *from)
        .ok()
        .and_then(|at| SORTED_FOLDS.get(at))
        .map_or(c, |(_, to)| *to)
}

/// Text of a cell for display and matching: NFKC (full-width → half-width),
/// traditional variants folded, all whitespace removed.
pub fn normalize(text: &str) -> String {
    NORMALIZED.with(|m| m.get_or(text, normalize_afresh))
}

/// The labels of the national form, printed on every report, each
/// normalised once a thread: normalising a label (NFKC, folds, a string built
/// char by char) cost a fifth of extracting a report page, and one label is
/// looked at by several readers.
struct Memo(RefCell<HashMap<Box<str>, Box<str>, foldhash::fast::RandomState>>);

impl Memo {
    /// Texts remembered at most; then the memo starts again.
    const ENTRIES: usize = 4096;
    /// Longer texts (prose) are not remembered.
    const TEXT: usize = 256;

    fn new() -> Self {
        Memo(RefCell::new(HashMap::default()))
    }

    fn get_or(&self, text: &str, make: fn(&str) -> String) -> String {
        if text.len() > Self::TEXT {
            return make(text);
        }
        if let Some(hit) = self.0.borrow().get(text) {
            return hit.to_string();
        }
        let made = make(text);
        let mut memo = self.0.borrow_mut();
        if memo.len() >= Self::ENTRIES {
            memo.clear();
        }
        memo.insert(text.into(), made.as_str().into());
        made
    }
}

thread_local! {
    static NORMALIZED: Memo = Memo::new();
    static KEYS: Memo = Memo::new();
    static ITEM_KEYS: Memo = Memo::new();
}

fn normalize_afresh(text: &str) -> String {
    let norm = nfkc(text);
    let mut s = String::with_capacity(norm.len());
    s.extend(
        norm.chars()
            .filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\u{200b}')
            .map(fold_char),
    );
    for (from, to) in WORD_FOLDS {
        if s.contains(from) {
            s = s.replace(from, to);
        }
    }
    s
}

/// NFKC of `text`, borrowed when it already is (most printed labels are).
pub fn nfkc(text: &str) -> Cow<'_, str> {
    // Chinese text is ASCII, unified ideographs, CJK punctuation and
    // full-width forms: told and mapped without the normalisation tables.
    let mut changed = false;
    for c in text.chars() {
        match common_nfkc(c) {
            Some(n) => changed |= n != c,
            None => return tables_nfkc(text),
        }
    }
    if changed {
        Cow::Owned(text.chars().filter_map(common_nfkc).collect())
    } else {
        Cow::Borrowed(text)
    }
}

fn tables_nfkc(text: &str) -> Cow<'_, str> {
    match is_nfkc_quick(text.chars()) {
        IsNormalized::Yes => Cow::Borrowed(text),
        _ => Cow::Owned(text.nfkc().collect()),
    }
}

/// The NFKC of a character of common Chinese text, where it is one
/// character that composes with none of its neighbours; `None` otherwise.
/// (The ideographic tone marks U+302A–302F are left out: they reorder.)
fn common_nfkc(c: char) -> Option<char> {
    match c {
        '\0'..='\u{7f}'
        | '\u{4e00}'..='\u{9fff}'
        | '\u{3001}'..='\u{3029}'
        | '\u{3030}'..='\u{3035}'
        | '\u{3037}'
        | '\u{303b}'..='\u{303f}'
        | '\u{b7}'
        | '\u{2014}'
        | '\u{2018}'
        | '\u{2019}'
        | '\u{201c}'
        | '\u{201d}'
        | '\u{2022}'
        | '\u{25cb}' => Some(c),
        '\u{3000}' => Some(' '),
        '\u{ff01}'..='\u{ff5e}' => char::from_u32(u32::from(c) - 0xfee0),
        _ => None,
    }
}

/// True for a CJK unified ideograph (the characters of a label).
pub fn is_han(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

/// Matching key: the Chinese characters of the normalised label only.
pub fn key(text: &str) -> String {
    KEYS.with(|m| m.get_or(text, key_afresh))
}

fn key_afresh(text: &str) -> String {
    let norm = normalize(text);
    let mut key = String::with_capacity(norm.len());
    key.extend(norm.chars().filter(|c| is_han(*c)));
    key
}

/// The key without a leading Chinese section numeral (`三` of `三、…`, `四`
/// of `（四）`), so that an item reads the same whatever its numbering.
pub fn item_key(text: &str) -> String {
    ITEM_KEYS.with(|m| m.get_or(text, item_key_afresh))
}

fn item_key_afresh(text: &str) -> String {
    let norm = normalize(text);
    let trimmed = strip_numbering(&norm);
    trimmed.chars().filter(|c| is_han(*c)).collect()
}

/// Remove a leading numbering such as `三、`, `(四)`, `1.`, `（六）`.
fn strip_numbering(s: &str) -> &str {
    const NUMERALS: &str = "一二三四五六七八九十";
    let mut rest = s.trim_start_matches(|c: char| c == '(' || c == '（' || c.is_ascii_digit());
    let before = rest;
    rest = rest.trim_start_matches(|c: char| NUMERALS.contains(c));
    let after = rest.trim_start_matches([')', '）', '、', '.', '．', ' ']);
    if after.len() == rest.len() && before.len() != rest.len() {
        // A numeral not followed by a separator is part of the word (三类).
        return before.trim_start_matches([')', '）', '、', '.', '．']);
    }
    after
}

/// True if the key contains any of the words.
pub fn has_any(key: &str, words: &[&str]) -> bool {
    words.iter().any(|w| key.contains(w))
}

/// Codes and the words that name them, every word looked for in one pass
/// over a key: a requests label is asked about some thirty words, on every
/// row of every report.
pub(crate) struct Words {
    codes: &'static [(&'static str, &'static [&'static str])],
    /// Every word of every code, overlapping matches; `None` only if the
    /// automaton could not be built, when the words are looked for in turn.
    automaton: Option<AhoCorasick>,
    /// The code (index into `codes`) of each word of the automaton.
    code_of: Vec<usize>,
}

impl Words {
    pub(crate) fn new(codes: &'static [(&'static str, &'static [&'static str])]) -> Self {
        let words = codes.iter().flat_map(|(_, words)| words.iter());
        let code_of = codes
            .iter()
            .enumerate()
            .flat_map(|(i, (_, words))| words.iter().map(move |_| i))
            .collect();
        Words {
            codes,
            automaton: AhoCorasick::builder()
                .kind(Some(AhoCorasickKind::DFA))
                .build(words)
                .ok(),
            code_of,
        }
    }

    /// The one code whose words occur in the key; `None` if none or
    /// several do.
    pub(crate) fn unique(&self, key: &str) -> Option<&'static str> {
        let Some(automaton) = &self.automaton else {
            let mut hits = self.codes.iter().filter(|(_, w)| has_any(key, w));
            let first = hits.next()?;
            return hits.next().is_none().then_some(first.0);
        };
        let mut found = None;
        for m in automaton.find_overlapping_iter(key) {
            let code = self.code_of.get(m.pattern().as_usize()).copied();
            match found {
                None => found = code,
                Some(seen) if Some(seen) != code => return None,
                Some(_) => {}
            }
        }
        found.and_then(|i| self.codes.get(i)).map(|(code, _)| *code)
    }

    /// The first code (in the table's order) any of whose words occur in
    /// the key.
    pub(crate) fn first(&self, key: &str) -> Option<&'static str> {
        let Some(automaton) = &self.automaton else {
            return self
                .codes
                .iter()
                .find(|(_, w)| has_any(key, w))
                .map(|(code, _)| *code);
        };
        automaton
            .find_overlapping_iter(key)
            .filter_map(|m| self.code_of.get(m.pattern().as_usize()).copied())
            .min()
            .and_then(|i| self.codes.get(i))
            .map(|(code, _)| *code)
    }
}

const PROACTIVE_ROWS: &[(&str, &[&str])] = &[
    ("rules", &["规章"]),
    ("normative_docs", &["规范性文件"]),
    ("licensing", &["行政许可"]),
    ("other_services", &["对外管理服务"]),
    ("penalties", &["行政处罚"]),
    ("enforcement", &["行政强制"]),
    ("fees", &["事业性收费"]),
    ("procurement", &["集中采购", "政府采购"]),
];

const PROACTIVE_COL_WORDS: &[(&str, &[&str])] = &[
    ("made", &["新制作", "制作数量"]),
    ("published", &["新公开"]),
    ("total_published", &["公开总数"]),
    ("prev_items", &["上一年", "上年项目"]),
    ("change", &["增减"]),
    ("decisions", &["处理决定"]),
    ("items", &["采购项目"]),
    ("amount", &["金额"]),
    ("issued", &["制发"]),
    ("repealed", &["废止"]),
    ("in_force", &["现行有效"]),
];

/// Proactive row code of a label (`规范性文件`, `行政规范性文件` alike).
pub fn proactive_row(label: &str) -> Option<&'static str> {
    static WORDS: LazyLock<Words> = LazyLock::new(|| Words::new(PROACTIVE_ROWS));
    WORDS.unique(&key(label))
}

/// Proactive column code of a header label.
pub fn proactive_col(label: &str) -> Option<&'static str> {
    static WORDS: LazyLock<Words> = LazyLock::new(|| Words::new(PROACTIVE_COL_WORDS));
    WORDS.unique(&key(label))
}

/// The sub-heading of `三、本年度办理结果` a label opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Denied,
    Unable,
    NotProcessed,
    Other,
    Total,
}

/// The sub-heading a label names, if any.
pub fn outcome_heading(label: &str) -> Option<Outcome> {
    let k = item_key(label);
    [
        ("不予公开", Outcome::Denied),
        ("无法提供", Outcome::Unable),
        ("不予处理", Outcome::NotProcessed),
        ("其他处理", Outcome::Other),
        ("总计", Outcome::Total),
    ]
    .into_iter()
    .find(|(w, _)| k.starts_with(w))
    .map(|(_, o)| o)
}

/// Requests items whose words name them whatever the section.
const REQUEST_ITEMS: &[(&str, &[&str])] = &[
    ("new", &["本年新收"]),
    ("carried_over", &["上年结转"]),
    ("granted", &["予以公开"]),
    ("partial", &["部分公开"]),
    ("denied.state_secret", &["国家秘密"]),
    ("denied.law_prohibited", &["禁止公开"]),
    ("denied.security_stability", &["三安全一稳定"]),
    ("denied.third_party", &["第三方"]),
    ("denied.internal_affairs", &["内部事务"]),
    ("denied.process_info", &["过程性信息"]),
    ("denied.enforcement_file", &["执法案卷"]),
    ("denied.query_matter", &["查询事项"]),
    ("unable.not_held", &["不掌握"]),
    ("unable.needs_creation", &["另行制作"]),
    ("unable.unclear", &["不明确"]),
    ("not_processed.petition", &["信访", "举报投诉"]),
    ("not_processed.duplicate", &["重复申请"]),
    ("not_processed.publication", &["出版物"]),
    ("not_processed.mass_repeated", &["大量反复"]),
    ("not_processed.confirm_existing", &["重新出具"]),
    ("other.no_supplement", &["不补正"]),
    ("other.no_fee_paid", &["缴纳费用"]),
    ("total", &["总计", "合计"]),
    ("carried_forward", &["结转下年度", "下年度继续"]),
];

/// Requests row code of an item label, given the sub-heading it sits under.
/// `其他` alone is `other.other` only under `其他处理`; a label naming no
/// known item gets no code (the row is kept as non-standard).
pub fn requests_row(label: &str, under: Option<Outcome>) -> Option<&'static str> {
    let k = item_key(label);
    static WORDS: LazyLock<Words> = LazyLock::new(|| Words::new(REQUEST_ITEMS));
    if let Some(code) = WORDS.unique(&k) {
        return Some(code);
    }
    match k.as_str() {
        "其他处理" => Some("other"),
        "其他" if under == Some(Outcome::Other) => Some("other.other"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_characters_map_as_the_normalisation_tables_do() {
        let mut checked = 0;
        for c in (0..=0x10ffff_u32).filter_map(char::from_u32) {
            if let Some(n) = common_nfkc(c) {
                let tables: String = c.to_string().nfkc().collect();
                assert_eq!(tables, n.to_string(), "U+{:04X}", u32::from(c));
                checked += 1;
            }
        }
        assert!(checked > 20_000, "{checked}");
        let mixed = "（一）收到申请数：３件　“公开”，ＡＢＣ";
        assert_eq!(nfkc(mixed), mixed.nfkc().collect::<String>());
        assert_eq!(nfkc("行政复议"), Cow::Borrowed("行政复议"));
        assert_eq!(nfkc("ａ\u{301}"), "ａ\u{301}".nfkc().collect::<String>());
    }

    fn check_key(input: &str, expect: &str) {
        assert_eq!(key(input), expect, "input {input:?}");
    }

    fn check_item(input: &str, expect: &str) {
        assert_eq!(item_key(input), expect, "input {input:?}");
    }

    #[test]
    fn keys_ignore_layout_and_variants() {
        check_key("（三）不予公开", "三不予公开");
        check_key("3.危及“三安全一稳定”", "危及三安全一稳定");
        check_key("規範性檔案", "规范性文件");
        check_key("规gui范fan性xing文wen件jian", "规范性文件");
        check_key("商业\n企业", "商业企业");
        check_key("ＡＢＣ规章", "规章");
    }

    #[test]
    fn item_keys_drop_numbering() {
        check_item("（六）其他处理", "其他处理");
        check_item("3.其他", "其他");
        check_item("三、本年度办理结果", "本年度办理结果");
        check_item("5.属于三类内部事务信息", "属于三类内部事务信息");
        check_item("三类内部事务", "三类内部事务");
        check_item("(七)总计", "总计");
    }

    #[test]
    fn request_rows_by_meaning() {
        let check =
            |label: &str, under, expect| assert_eq!(requests_row(label, under), expect, "{label}");
        check("1.属于国家秘密", None, Some("denied.state_secret"));
        check(
            "2.其他法律行政法规禁止公开",
            None,
            Some("denied.law_prohibited"),
        );
        check(
            "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
            None,
            Some("partial"),
        );
        check("(六)其他处理", None, Some("other"));
        check("3.其他", Some(Outcome::Other), Some("other.other"));
        check("6.其他", Some(Outcome::NotProcessed), None);
        check("四、结转下年度继续办理", None, Some("carried_forward"));
        check("(八)行政复议决定撤销", None, None);
    }

    #[test]
    fn proactive_labels_by_meaning() {
        assert_eq!(proactive_row("行政规范性文件"), Some("normative_docs"));
        assert_eq!(proactive_row("規範性檔案"), Some("normative_docs"));
        assert_eq!(proactive_row("规章和规范性文件"), None);
        assert_eq!(proactive_col("本年新制作数量"), Some("made"));
        assert_eq!(proactive_col("本年增/减"), Some("change"));
        assert_eq!(proactive_col("本年收费金额（单位：万元）"), Some("amount"));
        assert_eq!(proactive_col("信息内容"), None);
    }
}
