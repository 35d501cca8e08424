//! Charset decoding: the raw bytes a server sent, in; text, out.
//!
//! Government sites serve GB2312/GBK/GB18030 and UTF-8, often declared only in
//! a `<meta>` tag, not at all, or wrongly. The order of evidence is fixed:
//! BOM → HTTP `charset` → `<meta>` prescan of the head → chardetng with the
//! `cn` hint → GB18030. A declared label is believed only when the bytes decode
//! under it without error; a lie falls through to the next step. Pure: no I/O.

use encoding_rs::{Encoding, GB18030, UTF_8};
use serde::Serialize;

/// Which step of the evidence chain decided the encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Bom,
    HttpHeader,
    MetaTag,
    Detector,
    Fallback,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Bom => "bom",
            Decision::HttpHeader => "http_header",
            Decision::MetaTag => "meta_tag",
            Decision::Detector => "detector",
            Decision::Fallback => "fallback",
        }
    }
}

/// Decoded text and how it was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub text: String,
    /// WHATWG name of the encoding used (`GB18030`, `UTF-8`, …).
    pub encoding: &'static str,
    pub decision: Decision,
    /// Replacement characters were needed: some bytes were invalid.
    pub had_errors: bool,
    /// Labels that were declared but contradicted by the bytes, for the record.
    pub rejected_labels: Vec<String>,
}

/// How many bytes of the head the `<meta>` prescan reads (HTML spec: 1024;
/// Chinese CMS pages often carry long comments first, so a little more).
const PRESCAN_BYTES: usize = 4096;

/// Decode `bytes`, given the HTTP `Content-Type` header value if there was one.
pub fn decode(bytes: &[u8], content_type: Option<&str>) -> Decoded {
    let mut rejected = Vec::new();
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let body = bytes.get(bom_len..).unwrap_or_default();
        return finish(enc, body, Decision::Bom, rejected);
    }
    let declared = [
        (content_type.and_then(charset_param), Decision::HttpHeader),
        (meta_charset(bytes), Decision::MetaTag),
    ];
    for (label, decision) in declared {
        let Some(label) = label else { continue };
        match label_encoding(&label).and_then(|enc| Some((enc, believed(enc, bytes)?))) {
            Some((enc, text)) => return clean(enc, text, decision, rejected),
            None => rejected.push(label),
        }
    }
    // chardetng guesses UTF-8 for any text that is valid UTF-8 (its
    // candidate survives only then), so valid text is told without feeding
    // it the whole page.
    if !bytes.is_ascii() && std::str::from_utf8(bytes).is_ok() {
        return finish(UTF_8, bytes, Decision::Detector, rejected);
    }
    let mut detector = chardetng::EncodingDetector::new();
    let sample = detector_sample(bytes);
    detector.feed(sample, sample.len() == bytes.len());
    let (guess, confident) = detector.guess_assess(Some(b"cn"), true);
    let guess = widen(guess);
    if !bytes.is_ascii() {
        if confident {
            return finish(guess, bytes, Decision::Detector, rejected);
        }
        if let Some(text) = cleanly(guess, bytes) {
            return clean(guess, text, Decision::Detector, rejected);
        }
    }
    if let Some(text) = cleanly(UTF_8, bytes) {
        return clean(UTF_8, text, Decision::Detector, rejected);
    }
    finish(GB18030, bytes, Decision::Fallback, rejected)
}

/// Bytes not ASCII the detector is given at most: a page's text, not its
/// markup, tells the encodings apart, and this much tells GBK, Big5 and the
/// rest apart as surely as a whole page does. chardetng costs some thousand
/// instructions a byte, so a long unlabelled page fed whole cost more than
/// all the rest of its reading.
const DETECTOR_TEXT: usize = 16 * 1024;

/// The start of the page holding [`DETECTOR_TEXT`] bytes that are not
/// ASCII, or the whole page.
fn detector_sample(bytes: &[u8]) -> &[u8] {
    let mut seen = 0;
    for (i, &b) in bytes.iter().enumerate() {
        seen += usize::from(!b.is_ascii());
        if seen == DETECTOR_TEXT {
            return bytes.get(..=i).unwrap_or(bytes);
        }
    }
    bytes
}

/// A decoding that needed no replacement, its text already made.
fn clean(
    enc: &'static Encoding,
    text: String,
    decision: Decision,
    rejected: Vec<String>,
) -> Decoded {
    Decoded {
        text,
        encoding: enc.name(),
        decision,
        had_errors: false,
        rejected_labels: rejected,
    }
}

fn finish(
    enc: &'static Encoding,
    bytes: &[u8],
    decision: Decision,
    rejected: Vec<String>,
) -> Decoded {
    let (text, had_errors) = enc.decode_without_bom_handling(bytes);
    Decoded {
        text: text.into_owned(),
        encoding: enc.name(),
        decision,
        had_errors,
        rejected_labels: rejected,
    }
}

/// GB2312 and GBK are subsets of GB18030: decode them all as GB18030 so that
/// characters outside the declared subset, common in practice, survive.
fn widen(enc: &'static Encoding) -> &'static Encoding {
    if enc == encoding_rs::GBK {
        GB18030
    } else {
        enc
    }
}

fn label_encoding(label: &str) -> Option<&'static Encoding> {
    Encoding::for_label(label.trim().as_bytes()).map(|e| widen(e.output_encoding()))
}

/// A declared label is believed when the bytes decode under it without error
/// and, for a legacy label, when they are not valid UTF-8 with non-ASCII
/// text: GB18030 accepts almost any byte pairs, so UTF-8 Chinese would pass
/// as (garbled) GBK, while GBK text is practically never valid UTF-8.
/// The text of that decoding when believed, so the page is decoded once.
fn believed(enc: &'static Encoding, bytes: &[u8]) -> Option<String> {
    if enc != UTF_8 && !bytes.is_ascii() && std::str::from_utf8(bytes).is_ok() {
        return None;
    }
    cleanly(enc, bytes)
}

/// The text of `bytes` under `enc` if no byte needs replacing.
fn cleanly(enc: &'static Encoding, bytes: &[u8]) -> Option<String> {
    enc.decode_without_bom_handling_and_without_replacement(bytes)
        .map(std::borrow::Cow::into_owned)
}

/// The `charset` parameter of a `Content-Type` value.
pub fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(['"', '\'']).to_string())
            .filter(|v| !v.is_empty())
    })
}

/// The charset declared by a `<meta charset>` or `<meta http-equiv="Content-Type"
/// content="…; charset=…">` in the head. ASCII-only scan, so it works before
/// the encoding is known.
pub fn meta_charset(bytes: &[u8]) -> Option<String> {
    let head = bytes.get(..PRESCAN_BYTES.min(bytes.len()))?;
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let mut from = 0;
    while let Some(pos) = find(&lower[from..], b"<meta") {
        let start = from + pos;
        let end = find(&lower[start..], b">").map_or(lower.len(), |e| start + e);
        let tag = String::from_utf8_lossy(&lower[start..end]);
        if let Some(label) = charset_in_meta(&tag) {
            return Some(label);
        }
        from = end;
    }
    None
}

fn charset_in_meta(tag: &str) -> Option<String> {
    let at = tag.find("charset")?;
    let rest = tag[at + "charset".len()..].trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    let rest = rest.trim_start_matches(['"', '\'']);
    let label: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        .collect();
    (!label.is_empty()).then_some(label)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(s: &str) -> Vec<u8> {
        GB18030.encode(s).0.into_owned()
    }

    #[test]
    fn meta_http_equiv_gbk() {
        let mut page = b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\"></head><body>".to_vec();
        page.extend(gbk("政府信息公开工作年度报告"));
        let d = decode(&page, Some("text/html"));
        assert_eq!(d.decision, Decision::MetaTag);
        assert_eq!(d.encoding, "gb18030");
        assert!(d.text.contains("政府信息公开工作年度报告"));
    }

    #[test]
    fn header_lies_utf8_but_bytes_gbk() {
        let page = gbk("<p>本年新收政府信息公开申请数量，行政复议结果维持</p>");
        let d = decode(&page, Some("text/html; charset=UTF-8"));
        assert_eq!(d.rejected_labels, vec!["UTF-8".to_string()]);
        assert_eq!(d.decision, Decision::Detector);
        assert!(d.text.contains("本年新收政府信息公开申请数量"));
        assert!(!d.had_errors);
    }

    #[test]
    fn meta_says_gb2312_but_bytes_are_utf8() {
        let page = "<meta http-equiv=Content-Type content=\"text/html; charset=gb2312\"><p>行政复议结果维持</p>";
        let d = decode(page.as_bytes(), None);
        assert_eq!(d.rejected_labels, vec!["gb2312".to_string()]);
        assert_eq!((d.encoding, d.text.as_str()), ("UTF-8", page));
    }

    #[test]
    fn a_long_unlabelled_page_is_told_by_its_start() {
        let body = "<p>本年新收政府信息公开申请数量，予以公开，部分公开。</p>".repeat(2000);
        // Markup and scripts before the text are all ASCII: not counted.
        let head = format!("<script>{}</script>", "var a = 1;".repeat(20_000));
        for text in [body.clone(), head + &body] {
            let (bytes, _, _) = GB18030.encode(&text);
            assert!(detector_sample(&bytes).len() < bytes.len());
            let d = decode(&bytes, Some("text/html"));
            assert_eq!((d.encoding, d.decision), ("gb18030", Decision::Detector));
            assert!(!d.had_errors);
            assert_eq!(d.text, text);
        }
        // A short page is fed whole.
        let (bytes, _, _) = GB18030.encode("收到申请");
        assert_eq!(detector_sample(&bytes), &bytes[..]);
    }

    #[test]
    fn bom_wins() {
        let mut page = vec![0xEF, 0xBB, 0xBF];
        page.extend("年报".as_bytes());
        let d = decode(&page, Some("text/html; charset=gbk"));
        assert_eq!((d.decision, d.text.as_str()), (Decision::Bom, "年报"));
    }

    #[test]
    fn charset_param_forms() {
        assert_eq!(
            charset_param("text/html; Charset=\"GBK\""),
            Some("GBK".into())
        );
        assert_eq!(charset_param("text/html"), None);
        assert_eq!(
            meta_charset(b"<META charset='utf-8'>"),
            Some("utf-8".into())
        );
    }

    #[test]
    fn invalid_bytes_are_flagged_not_fatal() {
        let d = decode(&[0xff, 0xfe, 0x80, 0x81, 0xff, 0x41], None);
        assert!(!d.text.is_empty());
    }
}
