//! HTML for the app's own pages: escaping, the page shell, number and link
//! formatting. Every string that comes from the archive goes through `esc`.

use std::fmt::Write;

use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};

/// The policy of the app's own pages: nothing from outside, no script at all,
/// frames only from this server (the replay).
pub const APP_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
     frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Escape text for an HTML text node or a quoted attribute value.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Percent-encode a value for a query string or a path segment.
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A figure as a person reads it: integers without a decimal point.
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The unit of a money cell, in Chinese.
pub fn unit_zh(unit: Option<&str>) -> &'static str {
    match unit {
        Some("yuan") => "元",
        Some("wan_yuan") => "万元",
        Some(_) => "(单位不明)",
        None => "",
    }
}

const STYLE: &str = r#"
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","WenQuanYi Micro Hei",sans-serif;margin:0;color:#1d232a;background:#f6f7f9;font-size:14px}
header{background:#1f3b57;color:#fff;padding:.5em 1em;display:flex;gap:1.5em;align-items:center}
header a{color:#fff;text-decoration:none}header b{font-size:1.1em}
main{padding:1em 1.5em}
a{color:#1357a6}
table{border-collapse:collapse;background:#fff;margin:.5em 0 1.2em}
th,td{border:1px solid #b9c1ca;padding:2px 6px;vertical-align:middle}
th{background:#eef1f4;font-weight:normal}
td.n{text-align:right;font-variant-numeric:tabular-nums;min-width:3em}
td.broken,tr.broken td{background:#ffd7d2;outline:2px solid #c62828}
td.nonstd{font-style:italic}
.lbl{text-align:left}
.muted{color:#68717a}.small{font-size:.85em}
.split{display:flex;gap:1em;align-items:flex-start}
.split>section{flex:1 1 50%;min-width:0}
iframe.replay{width:100%;height:85vh;border:1px solid #b9c1ca;background:#fff}
.facets{display:flex;flex-wrap:wrap;gap:1em}
.facets div{background:#fff;border:1px solid #dde2e7;padding:.4em .7em}
.facets a.on{font-weight:bold}
.bad{color:#b71c1c;font-weight:bold}.good{color:#1b5e20}
form.search input[type=text]{width:20em}
.chart{background:#fff;border:1px solid #dde2e7;margin:.3em 0 1em}
.pager a{margin-right:.6em}
"#;

/// A whole page around `body`.
pub fn page(title: &str, body: &str) -> Response {
    let mut out = String::with_capacity(body.len() + 2048);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <title>{} · nianbao</title><style>{STYLE}</style></head><body>\
         <header><b><a href=\"/\">nianbao 年报档案</a></b>\
         <a href=\"/\">概览 Overview</a><a href=\"/reports\">年报 Reports</a>\
         <a href=\"/regions\">地区 Regions</a><a href=\"/changes\">变动 Changes</a></header>\
         <main>{body}</main></body></html>",
        esc(title)
    );
    let mut resp = Html(out).into_response();
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(APP_CSP),
    );
    resp
}

/// A link to a report's page.
pub fn report_link(id: i64, text: &str) -> String {
    format!("<a href=\"/reports/{id}\">{}</a>", esc(text))
}

/// A link to an agency's page.
pub fn agency_link(agency: &str) -> String {
    format!("<a href=\"/agencies/{}\">{}</a>", enc(agency), esc(agency))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            esc("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
    }

    #[test]
    fn numbers_read_as_printed() {
        assert_eq!(number(1134.0), "1134");
        assert_eq!(number(-49.0), "-49");
        assert_eq!(number(75394432.52), "75394432.52");
    }
}
