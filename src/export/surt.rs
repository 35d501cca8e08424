//! SURT keys as the `surt` Python package (and so `cdxj-indexer` and pywb)
//! writes them: the Google and Internet Archive canonicalisations, then the
//! host reversed. `http://www.Example.com:8080/A/b/?q=2&p=1#x` becomes
//! `com,example:8080)/a/b?p=1&q=2`. Lookups in a CDXJ index compare these
//! keys byte for byte, so every step follows that package, quirks included.

use std::sync::LazyLock;

use regex::bytes::Regex;

/// Parts of a URL as the `surt` package splits it.
#[derive(Debug, Default)]
struct Parts {
    scheme: Vec<u8>,
    host: Option<Vec<u8>>,
    port: Option<u32>,
    path: Vec<u8>,
    query: Option<Vec<u8>>,
}

/// The SURT key of `url`.
pub fn surt(url: &str) -> String {
    if url.is_empty() {
        return "-".into();
    }
    if url.starts_with("filedesc") {
        return url.to_string();
    }
    let mut p = parse(url.as_bytes());
    google(&mut p);
    internet_archive(&mut p);
    String::from_utf8_lossy(&render(&p)).into_owned()
}

static SCHEME: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z][a-zA-Z0-9+\-.]*:").ok());
static MULTI_PROTOCOL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(https?://)+").ok());
static RFC2396: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^(([a-zA-Z][a-zA-Z0-9+.\-]*):)?((//([^/?#]*))?([^?#]*)(\?([^#]*))?)?(#(.*))?$")
        .ok()
});

fn parse(url: &[u8]) -> Parts {
    let mut url: Vec<u8> = url
        .trim_ascii()
        .iter()
        .copied()
        .filter(|b| !matches!(b, b'\n' | b'\r' | b'\t'))
        .collect();
    if !SCHEME.as_ref().is_some_and(|r| r.is_match(&url)) {
        url.splice(0..0, b"http://".iter().copied());
    }
    if let Some(re) = MULTI_PROTOCOL.as_ref() {
        if let Some(m) = re.captures(&url) {
            if let (Some(all), Some(one)) = (m.get(0), m.get(1)) {
                let (end, keep) = (all.end(), one.as_bytes().to_vec());
                url.splice(0..end, keep);
            }
        }
    }
    let Some(c) = RFC2396.as_ref().and_then(|re| re.captures(&url)) else {
        return Parts::default();
    };
    let group = |i: usize| c.get(i).map(|m| m.as_bytes().to_vec()).unwrap_or_default();
    let scheme = group(2);
    let mut netloc = group(5);
    let mut path = group(6);
    let query = Some(group(8)).filter(|q| !q.is_empty());
    if netloc.ends_with(b":") {
        while netloc.ends_with(b":") {
            netloc.pop();
        }
    }
    let (mut host, port) = split_netloc(&netloc);
    if scheme.starts_with(b"http") && host.is_none() && !path.is_empty() {
        let trimmed: Vec<u8> = path.iter().copied().skip_while(|b| *b == b'/').collect();
        let (h, rest) = match trimmed.iter().position(|b| *b == b'/') {
            Some(i) => (trimmed[..i].to_vec(), trimmed[i + 1..].to_vec()),
            None => (trimmed.clone(), Vec::new()),
        };
        host = Some(h);
        path = [b"/".as_slice(), &rest].concat();
    }
    Parts {
        scheme,
        host,
        port,
        path,
        query,
    }
}

/// Host (lower-cased, as Python's `hostname`) and port of a netloc.
fn split_netloc(netloc: &[u8]) -> (Option<Vec<u8>>, Option<u32>) {
    let hostport = match netloc.iter().rposition(|b| *b == b'@') {
        Some(i) => &netloc[i + 1..],
        None => netloc,
    };
    let (host, port) = if hostport.starts_with(b"[") {
        match hostport.iter().position(|b| *b == b']') {
            Some(i) => (&hostport[1..i], hostport.get(i + 2..).unwrap_or_default()),
            None => (hostport, &b""[..]),
        }
    } else {
        match hostport.iter().position(|b| *b == b':') {
            Some(i) => (&hostport[..i], &hostport[i + 1..]),
            None => (hostport, &b""[..]),
        }
    };
    let port = std::str::from_utf8(port)
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        .filter(|p| *p > 0);
    let host = Some(host.to_ascii_lowercase()).filter(|h| !h.is_empty());
    (host, port)
}

/// GoogleURLCanonicalizer.
fn google(p: &mut Parts) {
    if let Some(q) = p.query.take() {
        p.query = Some(escape_once(&unescape_repeatedly(&q)));
    }
    if let Some(host) = p.host.take() {
        let mut host = unescape_repeatedly(&host);
        while let Some(i) = host.windows(2).position(|w| w == b"..") {
            host.remove(i);
        }
        let host = trim_dots(&host);
        p.host = Some(match ipv4(&host) {
            Some(ip) => ip.into_bytes(),
            None => escape_once(&host.to_ascii_lowercase()),
        });
    }
    let path = unescape_repeatedly(&p.path);
    let path = if p.host.is_some() {
        normalize_path(&path)
    } else {
        path
    };
    p.path = escape_once(&path);
}

fn trim_dots(host: &[u8]) -> Vec<u8> {
    let start = host.iter().position(|b| *b != b'.').unwrap_or(host.len());
    let end = host
        .iter()
        .rposition(|b| *b != b'.')
        .map_or(start, |i| i + 1);
    host.get(start..end).unwrap_or_default().to_vec()
}

/// `..` and `.` segments resolved, empty segments dropped (but a trailing
/// slash kept), as GoogleURLCanonicalizer.normalizePath.
fn normalize_path(path: &[u8]) -> Vec<u8> {
    if path.is_empty() {
        return b"/".to_vec();
    }
    let mut kept: Vec<&[u8]> = Vec::new();
    for segment in path.split(|b| *b == b'/').skip(1) {
        match segment {
            b"." => {}
            b".." => {
                if kept.pop().is_none() {
                    kept.push(segment);
                }
            }
            _ => kept.push(segment),
        }
    }
    let mut out = b"/".to_vec();
    if let Some((last, init)) = kept.split_last() {
        for segment in init.iter().filter(|s| !s.is_empty()) {
            out.extend_from_slice(segment);
            out.push(b'/');
        }
        out.extend_from_slice(last);
    }
    out
}

/// A dotted or plain-number IPv4 host in dotted-quad form (inet_aton rules:
/// `0x` hex, leading-zero octal, the last part filling the remaining bytes).
fn ipv4(host: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(host).ok()?;
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let n: u128 = text.parse().ok()?;
        return Some(dotted((n & 0xffff_ffff) as u32));
    }
    let plausible = text.split('.').count() <= 4
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.bytes().next().is_some_and(|b| b.is_ascii_digit());
    if !plausible {
        return None;
    }
    let parts: Vec<u64> = text.split('.').map(c_integer).collect::<Option<Vec<_>>>()?;
    let (last, init) = parts.split_last()?;
    let mut value: u64 = 0;
    for (i, part) in init.iter().enumerate() {
        if *part > 255 {
            return None;
        }
        value |= part << (24 - 8 * i);
    }
    let room = 32 - 8 * init.len() as u32;
    if room < 64 && *last >= (1u64 << room) {
        return None;
    }
    Some(dotted((value | last) as u32))
}

fn c_integer(part: &str) -> Option<u64> {
    if part.is_empty() {
        return None;
    }
    if part.len() > 1 && part.starts_with('0') {
        return u64::from_str_radix(&part[1..], 8).ok();
    }
    part.parse().ok()
}

fn dotted(n: u32) -> String {
    let b = n.to_be_bytes();
    format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
}

/// Percent-decode until nothing changes (Python `unquote_to_bytes`, repeated).
fn unescape_repeatedly(input: &[u8]) -> Vec<u8> {
    let mut current = input.to_vec();
    loop {
        let next = unquote(&current);
        if next == current {
            return current;
        }
        current = next;
    }
}

fn unquote(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let hex = |j: usize| input.get(j).and_then(|b| (*b as char).to_digit(16));
        match (input[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Percent-encode what lies outside printable ASCII, and `#` and `%`.
fn escape_once(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    for &b in input {
        if b > 0x20 && b < 0x7f && b != b'#' && b != b'%' {
            out.push(b);
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    out
}

static WWW: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^www\d*\.").ok());
static PATH_SESSION: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"(?i)^(.*/)(\((?:[a-z]\([0-9a-z]{24}\))+\)/)([^\?]+\.aspx.*)$",
        r"(?i)^(.*/)(\([0-9a-z]{24}\)/)([^\?]+\.aspx.*)$",
    ]
    .iter()
    .filter_map(|r| Regex::new(r).ok())
    .collect()
});
static QUERY_SESSION: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"(?i)^(.*)(?:jsessionid=[0-9a-zA-Z]{32})(?:&(.*))?$",
        r"(?i)^(.*)(?:phpsessid=[0-9a-zA-Z]{32})(?:&(.*))?$",
        r"(?i)^(.*)(?:sid=[0-9a-zA-Z]{32})(?:&(.*))?$",
        r"(?i)^(.*)(?:ASPSESSIONID[a-zA-Z]{8}=[a-zA-Z]{24})(?:&(.*))?$",
        r"(?i)^(.*)(?:cfid=[^&]+&cftoken=[^&]+)(?:&(.*))?$",
    ]
    .iter()
    .filter_map(|r| Regex::new(r).ok())
    .collect()
});

/// IAURLCanonicalizer with its defaults.
fn internet_archive(p: &mut Parts) {
    if let Some(host) = p.host.take() {
        let host = host.to_ascii_lowercase();
        let skip = WWW
            .as_ref()
            .and_then(|re| re.find(&host))
            .map_or(0, |m| m.end());
        p.host = Some(host[skip..].to_vec());
    }
    let default_port = match p.scheme.to_ascii_lowercase().as_slice() {
        b"http" => Some(80),
        b"https" => Some(443),
        _ => None,
    };
    if p.port.is_some() && p.port == default_port {
        p.port = None;
    }
    let mut path = p.path.to_ascii_lowercase();
    for re in PATH_SESSION.iter() {
        if let Some(c) = re.captures(&path) {
            let part = |i: usize| c.get(i).map_or(&b""[..], |m| m.as_bytes());
            path = [part(1), part(3)].concat();
        }
    }
    if path.len() > 1 && path.ends_with(b"/") {
        path.pop();
    }
    p.path = path;
    if let Some(mut q) = p.query.take() {
        for re in QUERY_SESSION.iter() {
            if let Some(c) = re.captures(&q) {
                let head = c.get(1).map(|m| m.as_bytes().to_vec()).unwrap_or_default();
                q = match c.get(2).filter(|m| !m.as_bytes().is_empty()) {
                    Some(tail) => [head.as_slice(), tail.as_bytes()].concat(),
                    None => head,
                };
            }
        }
        let q = alpha_reorder(&q.to_ascii_lowercase());
        p.query = Some(q).filter(|q| !q.is_empty());
    }
}

/// Query arguments sorted by name, then value (`a` before `a=`).
fn alpha_reorder(query: &[u8]) -> Vec<u8> {
    if query.len() <= 1 {
        return query.to_vec();
    }
    let mut args: Vec<(&[u8], Option<&[u8]>)> = query
        .split(|b| *b == b'&')
        .map(|arg| match arg.iter().position(|b| *b == b'=') {
            Some(i) => (&arg[..i], Some(&arg[i + 1..])),
            None => (arg, None),
        })
        .collect();
    args.sort();
    let joined: Vec<Vec<u8>> = args
        .into_iter()
        .map(|(k, v)| match v {
            Some(v) => [k, b"=", v].concat(),
            None => k.to_vec(),
        })
        .collect();
    joined.join(&b'&')
}

fn render(p: &Parts) -> Vec<u8> {
    let mut out = Vec::new();
    match &p.host {
        Some(host) => {
            let mut labels: Vec<&[u8]> = host.split(|b| *b == b'.').collect();
            labels.reverse();
            out.extend_from_slice(&labels.join(&b','));
            if let Some(port) = p.port {
                out.extend_from_slice(format!(":{port}").as_bytes());
            }
            out.push(b')');
        }
        None => {
            out.extend_from_slice(&p.scheme);
            out.push(b':');
        }
    }
    if !p.path.is_empty() {
        out.extend_from_slice(&p.path);
    } else if p.query.is_some() {
        out.push(b'/');
    }
    if let Some(q) = &p.query {
        out.push(b'?');
        out.extend_from_slice(q);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::surt;

    /// Expected keys as `surt.surt()` 0.3.1 returns them.
    #[test]
    fn keys_match_the_surt_package() {
        let cases = [
            ("http://www.example.com/", "com,example)/"),
            ("http://www.Example.com:8080/A/b/?q=2&p=1#x", "com,example:8080)/a/b?p=1&q=2"),
            ("https://example.com:443/x", "com,example)/x"),
            ("http://127.0.0.1:8080/a.html", "1,0,0,127:8080)/a.html"),
            ("http://www.gov.cn/zhengce/%E5%B9%B4%E6%8A%A5.html", "cn,gov)/zhengce/%e5%b9%b4%e6%8a%a5.html"),
            ("http://example.com/a//b/../c/./d", "com,example)/a/c/d"),
            ("http://example.com/?", "com,example)/"),
            ("http://example.com/p?b&a=&a", "com,example)/p?a&a=&b"),
            ("http://www2.example.com/index.jsp?jsessionid=0123456789abcdef0123456789ABCDEF&id=7", "com,example)/index.jsp?id=7"),
            ("http://example.com/a%2520b", "com,example)/a%20b"),
            ("http://[::1]:8080/x", "::1:8080)/x"),
            ("http://example.com", "com,example)/"),
            ("http://example.com/a b?x=%20y", "com,example)/a%20b?x=%20y"),
            ("http://1.2.3/x", "3,0,2,1)/x"),
            ("http://2130706433/", "1,0,0,127)/"),
            ("http://ex.com/(S(abcdefghijklmnopqrstuvwx))/page.aspx?x", "com,ex)/page.aspx?x"),
            ("http://ex.com/a/../../b", "com,ex)/../b"),
            ("http://ex.com/a?cfid=1&cftoken=2&z=1", "com,ex)/a?z=1"),
            ("http://EX.com./a..b/", "com,ex)/a..b"),
            ("http://user:pw@ex.com/", "com,ex)/"),
        ];
        for (url, key) in cases {
            assert_eq!(surt(url), key, "{url}");
        }
    }
}
