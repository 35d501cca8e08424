//! The file name a download servlet gives in `Content-Disposition`
//! (`downfile.jsp?id=…` serving a DOCX as `application/octet-stream`): raw
//! GBK bytes, percent-encoded UTF-8 or GBK, or RFC 5987 `filename*`. Pure.

/// The file name of a `Content-Disposition` value (raw header bytes).
/// `filename*` (RFC 5987/6266) wins over `filename`.
pub fn file_name(value: &[u8]) -> Option<String> {
    let text = bytes_to_text(value);
    let mut plain = None;
    let mut extended = None;
    for part in split_params(&text) {
        let Some((key, val)) = part.split_once('=') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        let val = val.trim();
        if key == "filename*" {
            extended = extended_value(val);
        } else if key == "filename" {
            let unquoted = val.trim_matches('"');
            plain = Some(percent_decoded_text(unquoted));
        }
    }
    extended
        .or(plain)
        .map(|n| {
            n.trim()
                .rsplit(['/', '\\'])
                .next()
                .unwrap_or("")
                .to_string()
        })
        .filter(|n| !n.is_empty())
}

/// The name to tell a document's kind by: the `Content-Disposition` file
/// name when the server gave one, else the URL.
pub fn document_name(url: &str, headers: &[(String, Vec<u8>)]) -> String {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-disposition"))
        .and_then(|(_, v)| file_name(v))
        .unwrap_or_else(|| url.to_string())
}

/// Parameters split at `;` outside quotes.
fn split_params(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ';' if !quoted => out.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    out.push(current);
    out
}

/// `charset'lang'percent-encoded` (RFC 5987).
fn extended_value(val: &str) -> Option<String> {
    let val = val.trim_matches('"');
    let mut parts = val.splitn(3, '\'');
    let charset = parts.next()?.trim().to_ascii_lowercase();
    let _lang = parts.next()?;
    let encoded = parts.next()?;
    let bytes = percent_decode(encoded);
    let encoding =
        encoding_rs::Encoding::for_label(charset.as_bytes()).unwrap_or(encoding_rs::UTF_8);
    let (text, _, _) = encoding.decode(&bytes);
    Some(text.into_owned())
}

/// A `filename=` value that some servers percent-encode (UTF-8 or GBK).
fn percent_decoded_text(val: &str) -> String {
    if !val.contains('%') {
        return val.to_string();
    }
    bytes_to_text(&percent_decode(val))
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let byte = b.get(i).copied().unwrap_or(0);
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (byte, hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

/// UTF-8 when the bytes are UTF-8, else GBK (GB18030), as IIS and Java
/// servlets on Chinese systems send them.
fn bytes_to_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(t) => t.to_string(),
        Err(_) => encoding_rs::GB18030.decode(bytes).0.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_every_form() {
        let gbk = encoding_rs::GB18030
            .encode("2020年年报.docx")
            .0
            .into_owned();
        let mut raw = b"attachment; filename=\"".to_vec();
        raw.extend_from_slice(&gbk);
        raw.push(b'"');
        assert_eq!(file_name(&raw).as_deref(), Some("2020年年报.docx"));
        assert_eq!(
            file_name(b"attachment; filename*=UTF-8''2020%E5%B9%B4%E6%8A%A5.xlsx").as_deref(),
            Some("2020年报.xlsx")
        );
        assert_eq!(
            file_name(b"attachment; filename=\"fallback.doc\"; filename*=utf-8''%E5%B9%B4.pdf")
                .as_deref(),
            Some("年.pdf")
        );
        assert_eq!(
            file_name(b"attachment;filename=%C4%EA%B1%A8.doc").as_deref(),
            Some("年报.doc")
        );
        assert_eq!(
            file_name(b"attachment; filename*=GBK''%C4%EA%B1%A8.xls").as_deref(),
            Some("年报.xls")
        );
        assert_eq!(file_name(b"inline"), None);
        assert_eq!(
            file_name(b"attachment; filename=\"a;b.docx\"").as_deref(),
            Some("a;b.docx")
        );
    }
}
