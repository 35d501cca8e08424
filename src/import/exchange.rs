//! One imported record as an HTTP exchange: what was asked for, when, from
//! where, and the entity body as the server sent it, with the writers'
//! quirks undone (angle brackets round the URI, a body still chunked behind
//! `Transfer-Encoding: chunked`, fractional or ARC-style dates).

use super::records::RawRecord;

/// What kind of record an imported record is, for the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// An HTTP response (WARC `response`, or an ARC record of an HTTP URL).
    Response,
    /// A document stored without an HTTP exchange (WARC `resource`).
    Resource,
    Revisit,
    Warcinfo,
    /// Requests, metadata, conversions, …: read past.
    Other(String),
}

/// Where a revisit says its payload is.
#[derive(Debug, Clone, Default)]
pub struct RefersTo {
    pub record_id: Option<String>,
    pub uri: Option<String>,
    pub date: Option<String>,
    pub payload_digest: Option<String>,
}

/// An imported record, ready to be indexed and derived from.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub kind: Kind,
    /// Percent-encoded, as the crawl stores URLs (so that both name a page alike).
    pub url: String,
    /// `YYYY-MM-DDThh:mm:ssZ`, from WARC-Date as recorded.
    pub date: String,
    pub ip: Option<String>,
    pub record_id: String,
    pub status: u16,
    /// The response headers as recorded.
    pub headers: Vec<(String, Vec<u8>)>,
    pub content_type: Option<String>,
    /// The entity body: de-chunked, still compressed if it was sent so.
    pub body: Vec<u8>,
    /// `WARC-Truncated` as recorded, or `length` when the body was cut here.
    pub truncated: Option<String>,
    pub refers_to: RefersTo,
    pub notes: Vec<String>,
}

impl Exchange {
    pub fn header(&self, name: &str) -> Option<String> {
        crate::fetch::header_value(&self.headers, name)
    }
}

/// Read a record as an exchange; `Err` says why it cannot be one.
pub fn exchange(record: &RawRecord) -> Result<Exchange, String> {
    let kind = match record
        .header("WARC-Type")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "response" => Kind::Response,
        "resource" => Kind::Resource,
        "revisit" => Kind::Revisit,
        "warcinfo" => Kind::Warcinfo,
        other => Kind::Other(other.to_string()),
    };
    let url = target_uri(record.header("WARC-Target-URI").unwrap_or_default());
    let date = normalise_date(record.header("WARC-Date").unwrap_or_default())
        .ok_or_else(|| format!("unreadable WARC-Date {:?}", record.header("WARC-Date")))?;
    let mut ex = Exchange {
        kind,
        url,
        date,
        ip: record.header("WARC-IP-Address").map(str::to_string),
        record_id: record
            .header("WARC-Record-ID")
            .unwrap_or_default()
            .to_string(),
        status: 0,
        headers: Vec::new(),
        content_type: None,
        body: Vec::new(),
        truncated: record
            .header("WARC-Truncated")
            .map(str::to_string)
            .or_else(|| record.cut.then(|| "length".to_string())),
        refers_to: RefersTo {
            record_id: record.header("WARC-Refers-To").map(str::to_string),
            uri: record.header("WARC-Refers-To-Target-URI").map(target_uri),
            date: record
                .header("WARC-Refers-To-Date")
                .and_then(normalise_date),
            payload_digest: record.header("WARC-Payload-Digest").map(str::to_string),
        },
        notes: record.notes.clone(),
    };
    match ex.kind {
        Kind::Response | Kind::Revisit => read_http(&mut ex, &record.block)?,
        Kind::Resource => {
            ex.status = 200;
            ex.content_type = record.header("Content-Type").map(str::to_string);
            ex.body = record.block.clone();
        }
        Kind::Warcinfo | Kind::Other(_) => {}
    }
    Ok(ex)
}

/// Split an HTTP response into status, headers and entity body.
fn read_http(ex: &mut Exchange, block: &[u8]) -> Result<(), String> {
    if !block.starts_with(b"HTTP/") {
        if ex.kind == Kind::Revisit && block.is_empty() {
            return Ok(());
        }
        return Err("response record without an HTTP status line".into());
    }
    let (head, body) = split_head(block);
    let text = String::from_utf8_lossy(head);
    let mut lines = text.lines();
    ex.status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or("HTTP status line without a status code")?;
    ex.headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().as_bytes().to_vec()))
        .collect();
    ex.content_type = ex.header("content-type");
    let chunked = ex
        .header("transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    ex.body = if chunked {
        match dechunk(body) {
            Dechunked::Whole(b) => b,
            Dechunked::Partial(b) => {
                ex.notes
                    .push("chunked body ends before its last chunk".into());
                ex.truncated.get_or_insert_with(|| "length".into());
                b
            }
            Dechunked::NotChunked => {
                ex.notes
                    .push("Transfer-Encoding: chunked in front of a de-chunked body".into());
                body.to_vec()
            }
        }
    } else {
        body.to_vec()
    };
    // What derive sees: no transfer coding left to undo.
    ex.headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case("transfer-encoding"));
    Ok(())
}

/// The head of an HTTP message ends at its first blank line (CRLF, or a
/// bare LF from some older writers).
fn split_head(message: &[u8]) -> (&[u8], &[u8]) {
    let crlf = memchr::memmem::find(message, b"\r\n\r\n").map(|i| (i, 4));
    let lf = memchr::memmem::find(message, b"\n\n").map(|i| (i, 2));
    let end = match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    };
    match end {
        Some((i, n)) => (&message[..i], &message[i + n..]),
        None => (message, &[]),
    }
}

/// The outcome of undoing chunked framing.
#[derive(Debug, PartialEq, Eq)]
pub enum Dechunked {
    Whole(Vec<u8>),
    /// Framing that breaks off: the chunks read so far.
    Partial(Vec<u8>),
    /// The body does not start with a chunk size: already de-chunked.
    NotChunked,
}

/// Undo `Transfer-Encoding: chunked`.
pub fn dechunk(body: &[u8]) -> Dechunked {
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    let mut first = true;
    loop {
        let Some(eol) = memchr::memchr(b'\n', rest) else {
            return broken(out, first);
        };
        let line = String::from_utf8_lossy(&rest[..eol]);
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            return broken(out, first);
        };
        if size_text.is_empty() {
            return broken(out, first);
        }
        first = false;
        rest = &rest[eol + 1..];
        if size == 0 {
            return Dechunked::Whole(out);
        }
        let Some(data) = rest.get(..size) else {
            out.extend_from_slice(rest);
            return Dechunked::Partial(out);
        };
        out.extend_from_slice(data);
        rest = &rest[size..];
        rest = rest
            .strip_prefix(b"\r\n")
            .or_else(|| rest.strip_prefix(b"\n"))
            .unwrap_or(rest);
    }
}

fn broken(out: Vec<u8>, first: bool) -> Dechunked {
    if first {
        Dechunked::NotChunked
    } else {
        Dechunked::Partial(out)
    }
}

/// A WARC-Target-URI as a URL in the crawl's form: angle brackets (WARC
/// 1.0 grammar, older wget) and spaces dropped, percent-encoded.
pub fn target_uri(raw: &str) -> String {
    let bare = raw
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    match url::Url::parse(bare) {
        Ok(u) => u.as_str().to_string(),
        Err(_) => bare.to_string(),
    }
}

/// A WARC-Date (with or without fractions of a second, or an ARC
/// `YYYYMMDDhhmmss`) as `YYYY-MM-DDThh:mm:ssZ`.
pub fn normalise_date(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.len() >= 8 && raw.bytes().all(|b| b.is_ascii_digit()) {
        return Some(super::records::arc_date(raw));
    }
    let parsed = chrono::DateTime::parse_from_rfc3339(raw)
        .ok()
        .or_else(|| chrono::DateTime::parse_from_rfc3339(&format!("{raw}Z")).ok())?;
    Some(crate::warc::warc_date(parsed.with_timezone(&chrono::Utc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_are_dechunked_and_plain_ones_kept() {
        assert_eq!(
            dechunk(b"5\r\nhello\r\n6;x=1\r\n world\r\n0\r\n\r\n"),
            Dechunked::Whole(b"hello world".to_vec())
        );
        assert_eq!(dechunk(b"<html>"), Dechunked::NotChunked);
        assert_eq!(dechunk(b"5\r\nhel"), Dechunked::Partial(b"hel".to_vec()));
    }

    #[test]
    fn uris_lose_their_brackets() {
        assert_eq!(
            target_uri("<http://a.cn/年报.html>"),
            "http://a.cn/%E5%B9%B4%E6%8A%A5.html"
        );
    }

    #[test]
    fn dates_are_normalised() {
        assert_eq!(
            normalise_date("2024-01-02T03:04:05.123456Z").as_deref(),
            Some("2024-01-02T03:04:05Z")
        );
        assert_eq!(
            normalise_date("20240102030405").as_deref(),
            Some("2024-01-02T03:04:05Z")
        );
        assert_eq!(normalise_date("yesterday"), None);
    }
}
