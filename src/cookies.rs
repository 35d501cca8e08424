//! Cookies per source, kept in the archive database: a site that sets a
//! session cookie on its first answer and requires it on the next ones is
//! crawled, and a resumed run still holds the session. Sources never share
//! cookies, so one agency's session cannot leak into another's crawl.

use crate::archive::Cached;
use rusqlite::{params, Connection};
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum CookieError {
    #[error("cookie store in the archive database: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Create the `cookies` table in an archive that lacks it; idempotent.
pub fn migrate(conn: &Connection) -> Result<(), CookieError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS cookies (
             source TEXT NOT NULL,
             domain TEXT NOT NULL,   -- the host, or the Domain attribute's suffix
             name   TEXT NOT NULL,
             value  TEXT NOT NULL,
             path   TEXT NOT NULL DEFAULT '/',
             PRIMARY KEY (source, domain, name, path)
         );",
    )?;
    Ok(())
}

/// The `Cookie` header value for `url` in `source`, if it holds any.
pub fn header_for(
    conn: &Connection,
    source: &str,
    url: &Url,
) -> Result<Option<String>, CookieError> {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let mut stmt = conn.prepare_cached(
        "SELECT domain, name, value, path FROM cookies WHERE source = ?1 ORDER BY length(path) DESC, name",
    )?;
    let rows = stmt.query_map([source], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut pairs = Vec::new();
    for row in rows {
        let (domain, name, value, path) = row?;
        let host_matches = host == domain || host.ends_with(&format!(".{domain}"));
        if host_matches && url.path().starts_with(&path) {
            pairs.push(format!("{name}={value}"));
        }
    }
    Ok((!pairs.is_empty()).then(|| pairs.join("; ")))
}

/// Keep the cookies an answer from `url` set (and forget the ones it
/// expired). Returns how many were stored.
pub fn remember(
    conn: &Connection,
    source: &str,
    url: &Url,
    headers: &[(String, Vec<u8>)],
) -> Result<usize, CookieError> {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let mut stored = 0;
    for (name, value) in headers {
        if !name.eq_ignore_ascii_case("set-cookie") {
            continue;
        }
        let Some(cookie) = parse(&String::from_utf8_lossy(value), &host) else {
            continue;
        };
        if cookie.expired {
            conn.run(
                "DELETE FROM cookies WHERE source = ?1 AND domain = ?2 AND name = ?3 AND path = ?4",
                params![source, cookie.domain, cookie.name, cookie.path],
            )?;
            continue;
        }
        conn.run(
            "INSERT INTO cookies (source, domain, name, value, path) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (source, domain, name, path) DO UPDATE SET value = excluded.value",
            params![
                source,
                cookie.domain,
                cookie.name,
                cookie.value,
                cookie.path
            ],
        )?;
        stored += 1;
    }
    Ok(stored)
}

struct Cookie {
    name: String,
    value: String,
    domain: String,
    path: String,
    expired: bool,
}

/// One `Set-Cookie` value; a `Domain` not covering `host` is ignored (the
/// cookie stays host-only), as browsers do.
fn parse(line: &str, host: &str) -> Option<Cookie> {
    let mut parts = line.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let mut cookie = Cookie {
        name: name.to_string(),
        value: value.trim().to_string(),
        domain: host.to_string(),
        path: "/".into(),
        expired: false,
    };
    for attr in parts {
        let (key, val) = attr.split_once('=').unwrap_or((attr, ""));
        let val = val.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            "domain" => {
                let d = val.trim_start_matches('.').to_ascii_lowercase();
                if !d.is_empty() && (host == d || host.ends_with(&format!(".{d}"))) {
                    cookie.domain = d;
                }
            }
            "path" if val.starts_with('/') => cookie.path = val.to_string(),
            "max-age" => cookie.expired = val.parse::<i64>().is_ok_and(|s| s <= 0),
            "expires" => {
                if let Ok(at) = httpdate::parse_http_date(val) {
                    cookie.expired = at < std::time::SystemTime::now();
                }
            }
            _ => {}
        }
    }
    Some(cookie)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_send_expire() {
        let conn = Connection::open_in_memory().unwrap_or_else(|_| unreachable!());
        migrate(&conn).unwrap_or_else(|_| unreachable!());
        let url = Url::parse("http://www.a.cn/col/index.html").unwrap_or_else(|_| unreachable!());
        let set = |v: &str| vec![("Set-Cookie".to_string(), v.as_bytes().to_vec())];
        let n = remember(&conn, "s", &url, &set("JSESSIONID=abc; Path=/; HttpOnly")).unwrap_or(0);
        assert_eq!(n, 1);
        remember(&conn, "s", &url, &set("x=1; Domain=.a.cn")).unwrap_or(0);
        let got = header_for(&conn, "s", &url).ok().flatten();
        assert_eq!(got.as_deref(), Some("JSESSIONID=abc; x=1"));
        assert_eq!(header_for(&conn, "other", &url).ok().flatten(), None);
        remember(&conn, "s", &url, &set("x=; Max-Age=0; Domain=a.cn")).unwrap_or(0);
        let got = header_for(&conn, "s", &url).ok().flatten();
        assert_eq!(got.as_deref(), Some("JSESSIONID=abc"));
    }
}
