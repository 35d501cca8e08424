//! Archived pages served back from their WARC records, under `/replay/`,
//! with a `Content-Security-Policy` sandbox: no script runs and nothing is
//! loaded from outside this server. Links and resources of a replayed HTML
//! page lead to `/replay/at?url=…`, which finds the archived copy or says
//! there is none: a click never leaves the archive.

use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use regex::{Captures, Regex};
use serde::Deserialize;
use url::Url;

use super::catalog::{self, Stored};
use super::html::{enc, esc};
use super::{read, ServeError, Shared, Site};
use crate::archive::WARC_DIR;
use crate::warc;

/// The policy of every replayed document: a sandbox (no script, no form, no
/// pop-up), and no request to anywhere but this server.
pub const REPLAY_CSP: &str = "sandbox; default-src 'none'; script-src 'none'; \
     img-src 'self' data:; style-src 'self' 'unsafe-inline'; font-src 'self' data:; \
     media-src 'self'; frame-src 'self'; connect-src 'none'; object-src 'none'; \
     form-action 'none'; base-uri 'none'; frame-ancestors 'self'";

/// Records of more than this many bytes are not replayed (memory stays bounded).
const MAX_RECORD: i64 = 64 * 1024 * 1024;

pub async fn capture(
    State(site): State<Shared>,
    UrlPath(id): UrlPath<i64>,
) -> Result<Response, ServeError> {
    let body = read(&site, move |site, reader| {
        let shown = catalog::stored(reader.conn(), id)?;
        let payload = match (shown.record_type.as_str(), shown.refers_to) {
            ("revisit", Some(original)) => catalog::stored(reader.conn(), original)?,
            _ => shown.clone(),
        };
        let (head, body) = entity(site, &payload)?;
        Ok(render(&shown, &head, body))
    })
    .await?;
    Ok(body)
}

#[derive(Debug, Deserialize)]
pub struct AtQuery {
    url: Option<String>,
}

/// The archived copy of a URL a replayed page links to, or a page saying
/// there is none (the address printed, not linked).
pub async fn at(
    State(site): State<Shared>,
    Query(q): Query<AtQuery>,
) -> Result<Response, ServeError> {
    let wanted = q
        .url
        .ok_or_else(|| ServeError::BadRequest("/replay/at needs ?url=".into()))?;
    let canonical = Url::parse(&wanted).map(|mut u| {
        u.set_fragment(None);
        u.to_string()
    });
    let key = canonical.clone().unwrap_or_else(|_| wanted.clone());
    let found = read(&site, move |_, reader| {
        catalog::capture_of(reader.conn(), &key)
    })
    .await?;
    match found {
        Some(id) => Ok(Redirect::to(&format!("/replay/{id}")).into_response()),
        None => {
            let body = format!(
                "<!DOCTYPE html><meta charset=\"utf-8\"><title>not archived</title>\
                 <p>此网址没有存档。This address is not in the archive:</p><p><code>{}</code></p>",
                esc(&wanted)
            );
            Ok(sandboxed(
                StatusCode::NOT_FOUND,
                "text/html; charset=utf-8",
                body.into_bytes(),
            ))
        }
    }
}

/// A WARC file name from the database as a path inside `<archive>/warc/`,
/// or an error when it would lead anywhere else.
pub fn warc_path(dir: &Path, name: &str) -> Result<PathBuf, ServeError> {
    let mut parts = Path::new(name).components();
    let plain = matches!(
        (parts.next(), parts.next()),
        (Some(Component::Normal(_)), None)
    ) && !name.contains(['/', '\\']);
    if !plain {
        return Err(ServeError::NotFound(format!(
            "WARC file {name:?} is not a file of the archive"
        )));
    }
    let warc_dir = dir.join(WARC_DIR);
    let path = warc_dir.join(name);
    // A symbolic link out of the directory is refused too.
    let inside = match (path.canonicalize(), warc_dir.canonicalize()) {
        (Ok(p), Ok(d)) => p.starts_with(d),
        _ => false,
    };
    if !inside {
        return Err(ServeError::NotFound(format!(
            "WARC file {name:?} is not in the archive"
        )));
    }
    Ok(path)
}

type Headers = Vec<(String, String)>;

/// The HTTP head and the entity (content-decoded) of a capture's record.
fn entity(site: &Site, k: &Stored) -> Result<(Headers, Vec<u8>), ServeError> {
    let path = warc_path(&site.dir, &k.warc_file)?;
    let offset = u64::try_from(k.warc_offset)
        .map_err(|_| ServeError::NotFound(format!("capture {}: bad offset", k.id)))?;
    let record = warc::read_record(&path, offset)?;
    let (head, body) = record.http_parts();
    let (_, headers) = warc::parse_http_head(head);
    if body.len() as i64 > MAX_RECORD {
        return Err(ServeError::BadRequest(format!(
            "capture {} is too large to replay",
            k.id
        )));
    }
    let coding = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-encoding"))
        .map(|(_, v)| v.trim().to_ascii_lowercase());
    let body = match coding.as_deref() {
        Some("gzip" | "x-gzip") => inflate(flate2::read::MultiGzDecoder::new(body), body),
        Some("deflate") => inflate(flate2::read::ZlibDecoder::new(body), body),
        _ => body.to_vec(),
    };
    Ok((headers, body))
}

fn inflate(mut decoder: impl Read, raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match decoder.read_to_end(&mut out) {
        Ok(_) => out,
        Err(_) => raw.to_vec(),
    }
}

/// The response for a capture: HTML rewritten to stay inside the archive,
/// anything else as stored; a redirect as a note naming its target.
fn render(k: &Stored, headers: &[(String, String)], body: Vec<u8>) -> Response {
    let location = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("location"))
        .map(|(_, v)| v.clone());
    let base = Url::parse(&k.url).ok();
    if let (300..=399, Some(loc)) = (k.status, location) {
        let target = base
            .as_ref()
            .and_then(|b| b.join(&loc).ok())
            .map_or(loc.clone(), |u| u.to_string());
        let note = format!(
            "<!DOCTYPE html><meta charset=\"utf-8\"><title>redirect</title>\
             <p>存档时此网址重定向到 (HTTP {}) Redirected to: <a href=\"/replay/at?url={}\">{}</a></p>",
            k.status,
            enc(&target),
            esc(&target)
        );
        return sandboxed(
            StatusCode::OK,
            "text/html; charset=utf-8",
            note.into_bytes(),
        );
    }
    let content_type = k.content_type.clone().unwrap_or_default();
    let is_html = content_type.to_ascii_lowercase().contains("html")
        || (content_type.is_empty() && looks_like_html(&body));
    let mut resp = if is_html {
        let decoded = crate::decode::decode(&body, Some(&content_type));
        let page = rewrite(&decoded.text, base.as_ref());
        sandboxed(
            StatusCode::OK,
            "text/html; charset=utf-8",
            page.into_bytes(),
        )
    } else if content_type.to_ascii_lowercase().starts_with("text/plain") {
        // Plain text served without a charset (or in GBK) would show as
        // mojibake: it is read as the extraction read it, and sent as UTF-8.
        let decoded = crate::decode::decode(&body, Some(&content_type));
        sandboxed(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            decoded.text.into_bytes(),
        )
    } else {
        let ct = if content_type.is_empty() {
            "application/octet-stream"
        } else {
            &content_type
        };
        sandboxed(StatusCode::OK, ct, body)
    };
    let archived = [
        ("x-archive-status", k.status.to_string()),
        ("x-archive-url", enc_header(&k.url)),
        ("x-archive-date", k.fetched_at.clone()),
    ];
    for (name, value) in archived {
        if let Ok(v) = HeaderValue::from_str(&value) {
            resp.headers_mut().insert(HeaderName::from_static(name), v);
        }
    }
    resp
}

fn enc_header(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control())
        .collect()
}

fn looks_like_html(body: &[u8]) -> bool {
    let head = String::from_utf8_lossy(body.get(..512.min(body.len())).unwrap_or_default())
        .to_ascii_lowercase();
    head.contains("<html") || head.contains("<!doctype html")
}

/// A response under the replay policy.
fn sandboxed(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response {
    let ct = HeaderValue::from_str(content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, ct);
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(REPLAY_CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

fn attr_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r#"(?i)(\s(?:href|src|action|background|poster|data|formaction|longdesc|cite)\s*=\s*)("[^"]*"|'[^']*'|[^\s>"']+)"#,
        )
        .unwrap_or_else(|_| unreachable!("the attribute pattern is valid"))
    })
}

fn neutral_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"(?i)<base\b|\s(?:http-equiv|srcset|ping)\s*="#)
            .unwrap_or_else(|_| unreachable!("the neutralising pattern is valid"))
    })
}

/// Every link and resource of a page pointed at the archived copy; `<base>`,
/// `http-equiv` (refresh), `srcset` and `ping` made inert.
pub fn rewrite(page: &str, base: Option<&Url>) -> String {
    let neutral = neutral_re().replace_all(page, |c: &Captures<'_>| {
        let m = c.get(0).map_or("", |m| m.as_str()).to_ascii_lowercase();
        if m.starts_with("<base") {
            "<x-base".to_string()
        } else {
            format!(" data-x-{}", m.trim_start())
        }
    });
    attr_re()
        .replace_all(&neutral, |c: &Captures<'_>| {
            let name = c.get(1).map_or("", |m| m.as_str());
            let quoted = c.get(2).map_or("", |m| m.as_str());
            let value = quoted.trim_matches(|ch| ch == '"' || ch == '\'');
            format!("{name}\"{}\"", esc(&local(&unescape(value), base)))
        })
        .into_owned()
}

/// The few entities that occur inside URLs.
fn unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&#38;", "&")
        .replace("&quot;", "\"")
        .trim()
        .to_string()
}

/// Where a link of a replayed page should lead: the archive's copy.
fn local(value: &str, base: Option<&Url>) -> String {
    if value.starts_with('#') || value.is_empty() {
        return value.to_string();
    }
    let lower = value.to_ascii_lowercase();
    if lower.starts_with("data:image/") {
        return value.to_string();
    }
    let resolved = match base {
        Some(b) => b.join(value),
        None => Url::parse(value),
    };
    match resolved {
        Ok(mut u) if matches!(u.scheme(), "http" | "https") => {
            u.set_fragment(None);
            format!("/replay/at?url={}", enc(u.as_str()))
        }
        _ => "#".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("http://www.example.gov.cn/a/b/page.htm").unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn links_lead_into_the_archive() {
        let page = r##"<a href="../x.htm#top">x</a><img src='http://other.cn/i.png'><a href=javascript:alert(1)>j</a><a href="#s">s</a>"##;
        let out = rewrite(page, Some(&base()));
        assert!(
            out.contains(r#"href="/replay/at?url=http%3A%2F%2Fwww.example.gov.cn%2Fa%2Fx.htm""#),
            "{out}"
        );
        assert!(
            out.contains(r#"src="/replay/at?url=http%3A%2F%2Fother.cn%2Fi.png""#),
            "{out}"
        );
        assert!(out.contains(r##"href="#">j"##), "{out}");
        assert!(out.contains(r##"href="#s""##), "{out}");
    }

    #[test]
    fn base_refresh_and_srcset_are_inert() {
        let page = r#"<base href="http://evil.cn/"><meta http-equiv="refresh" content="0;url=http://evil.cn"><img srcset="http://evil.cn/a.png 2x">"#;
        let out = rewrite(page, Some(&base()));
        assert!(!out.to_ascii_lowercase().contains("<base"), "{out}");
        assert!(!out.contains(" http-equiv="), "{out}");
        assert!(!out.contains(" srcset="), "{out}");
    }

    #[test]
    fn warc_names_stay_inside_the_directory() {
        let dir = std::env::temp_dir();
        for name in ["../nianbao.sqlite", "/etc/passwd", "a/../../b", "..", ""] {
            assert!(warc_path(&dir, name).is_err(), "{name}");
        }
    }
}
