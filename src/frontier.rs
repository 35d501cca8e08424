//! The crawl frontier: every URL a crawl knows of, in the SQLite archive,
//! canonicalised and stored once, with its state in the current run.
//!
//! The frontier is never held only in memory: a run killed at any moment
//! finds here what it had done and what remained. This module owns the
//! `frontier` and `runs` tables and URL canonicalisation; it does not fetch,
//! schedule or decide politeness.

use crate::archive::Cached;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum FrontierError {
    #[error("crawl frontier in the archive database: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// What a URL is to the crawl.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A page listing reports (a column index and its pagination).
    Listing,
    /// A report page.
    Report,
    /// A file linked from a report (PDF, DOC, XLS, …).
    Attachment,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Listing => "listing",
            Kind::Report => "report",
            Kind::Attachment => "attachment",
        }
    }

    fn parse(s: &str) -> Kind {
        match s {
            "report" => Kind::Report,
            "attachment" => Kind::Attachment,
            _ => Kind::Listing,
        }
    }
}

/// Where a URL stands after a visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Done,
    Failed,
    /// Not fetched: robots.txt forbids it.
    Blocked,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Done => "done",
            State::Failed => "failed",
            State::Blocked => "blocked",
        }
    }
}

/// A URL to add to the frontier.
#[derive(Debug, Clone)]
pub struct NewUrl<'a> {
    pub url: &'a Url,
    pub source: &'a str,
    pub kind: Kind,
    pub depth: u32,
    pub anchor: Option<&'a str>,
    pub found_from: Option<&'a str>,
}

/// A frontier entry due for a visit.
#[derive(Debug, Clone)]
pub struct Item {
    pub url: String,
    pub host: String,
    pub source: String,
    pub kind: Kind,
    pub depth: u32,
    pub anchor: Option<String>,
    /// Attempts already made in this run.
    pub attempts: u32,
    /// The form body of a POST (a listing API asked as its page's script
    /// asks); `None` for a GET.
    pub form: Option<String>,
}

/// The run being crawled.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub id: i64,
    /// Captures with a larger id were made by this run.
    pub captures_before: i64,
    /// Failures with a larger id were recorded by this run.
    pub failures_before: i64,
    /// True when an unfinished earlier run is being continued.
    pub resumed: bool,
}

/// The canonical form of a URL: the frontier's key.
///
/// Lowercase scheme and host and no default port (the `url` crate already
/// does this), no fragment, percent-escapes with uppercase hex digits, and
/// unreserved characters (RFC 3986 §2.3) never escaped.
pub fn canonical(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_fragment(None);
    let path = normalise_escapes(url.path());
    if path != url.path() {
        url.set_path(&path);
    }
    if let Some(query) = url.query().map(normalise_escapes) {
        if query.is_empty() {
            url.set_query(None);
        } else if Some(query.as_str()) != url.query() {
            url.set_query(Some(&query));
        }
    }
    url
}

/// Uppercase the hex digits of `%xx` escapes and decode unreserved characters.
fn normalise_escapes(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = bytes
            .get(i + 1..i + 3)
            .filter(|h| bytes.get(i) == Some(&b'%') && h.iter().all(u8::is_ascii_hexdigit));
        match escape.and_then(|h| std::str::from_utf8(h).ok()) {
            Some(hex) => {
                let value = u8::from_str_radix(hex, 16).unwrap_or(b'%');
                if value.is_ascii_alphanumeric() || b"-._~".contains(&value) {
                    out.push(char::from(value));
                } else {
                    out.push('%');
                    out.push_str(&hex.to_ascii_uppercase());
                }
                i += 3;
            }
            None => {
                // Not an escape: copy one whole character.
                let ch = s
                    .get(i..)
                    .and_then(|r| r.chars().next())
                    .unwrap_or('\u{FFFD}');
                out.push(ch);
                i += ch.len_utf8().max(1);
            }
        }
    }
    out
}

/// The politeness key of a URL: its lowercase host name.
pub fn host_of(url: &Url) -> String {
    url.host_str().unwrap_or_default().to_ascii_lowercase()
}

/// A timestamp as stored in `not_before`: sortable as text.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Continue the unfinished run, or begin a new one in which every known URL
/// is due again (a recrawl).
pub fn begin_run(conn: &Connection) -> Result<Run, FrontierError> {
    let open: Option<(i64, i64, i64)> = conn
        .one(
            "SELECT id, captures_before, failures_before FROM runs
             WHERE finished_at IS NULL ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    if let Some((id, captures_before, failures_before)) = open {
        conn.run(
            "UPDATE runs SET pid = ?2 WHERE id = ?1",
            params![id, std::process::id()],
        )?;
        return Ok(Run {
            id,
            captures_before,
            failures_before,
            resumed: true,
        });
    }
    let tx = conn.unchecked_transaction()?;
    tx.run(
        "INSERT INTO runs (started_at, pid, captures_before, failures_before)
         VALUES (?1, ?2, (SELECT COALESCE(MAX(id), 0) FROM captures),
                 (SELECT COALESCE(MAX(id), 0) FROM failures))",
        params![timestamp(Utc::now()), std::process::id()],
    )?;
    let id = tx.last_insert_rowid();
    tx.run(
        "UPDATE frontier SET attempts = 0, not_before = NULL, state = 'pending'",
        [],
    )?;
    let (captures_before, failures_before) = tx.one(
        "SELECT captures_before, failures_before FROM runs WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    tx.commit()?;
    Ok(Run {
        id,
        captures_before,
        failures_before,
        resumed: false,
    })
}

/// Mark a run complete, so that the next start begins a new one.
pub fn finish_run(conn: &Connection, run: &Run) -> Result<(), FrontierError> {
    conn.run(
        "UPDATE runs SET finished_at = ?2 WHERE id = ?1",
        params![run.id, timestamp(Utc::now())],
    )?;
    Ok(())
}

/// Run `f` atomically: inside a savepoint, so that it nests in the archive
/// writer's batch transaction as well as standing alone.
fn atomically<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, FrontierError>,
) -> Result<T, FrontierError> {
    conn.execute_batch("SAVEPOINT frontier")?;
    match f(conn) {
        Ok(value) => {
            conn.execute_batch("RELEASE frontier")?;
            Ok(value)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK TO frontier; RELEASE frontier");
            Err(e)
        }
    }
}

/// Add URLs not yet known; known ones keep their first source and kind, and
/// take the smaller depth (a page first seen beyond the depth cap is
/// visited once a shorter path to it is found). Returns how many were new.
pub fn add(conn: &Connection, urls: &[NewUrl<'_>]) -> Result<usize, FrontierError> {
    Ok(add_items(conn, urls)?.new.len())
}

/// What `add_items` changed.
#[derive(Debug, Default)]
pub struct Added {
    /// The entries that were not known before, as the scheduler queues them.
    pub new: Vec<Item>,
    /// Hosts of known entries that came within a shallower depth: the
    /// scheduler looks at their frontier again.
    pub deepened_hosts: Vec<String>,
}

/// `add`, returning the new entries themselves.
pub fn add_items(conn: &Connection, urls: &[NewUrl<'_>]) -> Result<Added, FrontierError> {
    atomically(conn, |tx| {
        let mut added = Added::default();
        let mut insert = tx.prepare_cached(
            "INSERT OR IGNORE INTO frontier (url, host, source, kind, depth, anchor, found_from)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let mut anchor =
            tx.prepare_cached("UPDATE frontier SET anchor = ?2 WHERE url = ?1 AND anchor IS NULL")?;
        let mut shallower =
            tx.prepare_cached("UPDATE frontier SET depth = ?2 WHERE url = ?1 AND depth > ?2")?;
        for u in urls {
            let url = canonical(u.url);
            let host = host_of(&url);
            let inserted = insert.execute(params![
                url.as_str(),
                host,
                u.source,
                u.kind.as_str(),
                u.depth,
                u.anchor,
                u.found_from
            ])?;
            if inserted == 0 {
                if shallower.execute(params![url.as_str(), u.depth])? > 0 {
                    added.deepened_hosts.push(host.clone());
                }
            } else {
                added.new.push(Item {
                    url: url.to_string(),
                    host,
                    source: u.source.to_string(),
                    kind: u.kind,
                    depth: u.depth,
                    anchor: u.anchor.map(str::to_string),
                    attempts: 0,
                    form: None,
                });
            }
            if u.anchor.is_some() {
                anchor.execute(params![url.as_str(), u.anchor])?;
            }
        }
        Ok(added)
    })
}

/// A host with entries left in this run.
#[derive(Debug)]
pub struct HostLeft {
    pub host: String,
    /// The earliest `not_before` when every entry waits, `None` when one is
    /// due now.
    pub wait: Option<String>,
    /// How many entries are left.
    pub left: u64,
}

/// Per host with entries left in this run (among `sources`, no deeper than
/// `max_depth`), hosts in the order they were found. One pass over the
/// frontier, at the start of a run.
pub fn hosts_left(
    conn: &Connection,
    run: &Run,
    sources: &[&str],
    max_depth: u32,
) -> Result<Vec<HostLeft>, FrontierError> {
    let sources = serde_json::to_string(sources).unwrap_or_else(|_| "[]".into());
    let mut stmt = conn.prepare_cached(
        "SELECT host, MIN(COALESCE(not_before, '')), COUNT(*) FROM frontier
         WHERE (last_run IS NULL OR last_run < ?1)
           AND source IN (SELECT value FROM json_each(?2))
           AND depth <= ?3
         GROUP BY host ORDER BY MIN(rowid)",
    )?;
    let rows = stmt.query_map(params![run.id, sources, max_depth], |r| {
        let wait: String = r.get(1)?;
        Ok(HostLeft {
            host: r.get(0)?,
            wait: (!wait.is_empty()).then_some(wait),
            left: r.get::<_, i64>(2)?.unsigned_abs(),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Up to `limit` due entries of one host in due order (reports and
/// attachments before listings, then the least recently visited), through
/// the `frontier_host` index: the cost does not grow with the frontier.
/// Also the earliest `not_before` of its entries that wait, if any.
pub fn due_for_host(
    conn: &Connection,
    run: &Run,
    host: &str,
    sources: &[&str],
    max_depth: u32,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<(Vec<Item>, Option<String>), FrontierError> {
    let sources = serde_json::to_string(sources).unwrap_or_else(|_| "[]".into());
    let mut stmt = conn.prepare_cached(
        "SELECT url, host, source, kind, depth, anchor, attempts,
                CASE method WHEN 'POST' THEN body END FROM frontier
         WHERE host = ?1 AND (last_run IS NULL OR last_run < ?2)
           AND (not_before IS NULL OR not_before <= ?3)
           AND source IN (SELECT value FROM json_each(?4))
           AND depth <= ?5
         ORDER BY kind = 'listing', last_run IS NOT NULL, last_run, rowid LIMIT ?6",
    )?;
    let rows = stmt.query_map(
        params![
            host,
            run.id,
            timestamp(now),
            sources,
            max_depth,
            limit as i64
        ],
        |r| {
            Ok(Item {
                url: r.get(0)?,
                host: r.get(1)?,
                source: r.get(2)?,
                kind: Kind::parse(&r.get::<_, String>(3)?),
                depth: r.get(4)?,
                anchor: r.get(5)?,
                attempts: r.get(6)?,
                form: r.get(7)?,
            })
        },
    )?;
    let items: Vec<Item> = rows.collect::<Result<_, _>>()?;
    let mut waiting = conn.prepare_cached(
        "SELECT MIN(not_before) FROM frontier
         WHERE host = ?1 AND (last_run IS NULL OR last_run < ?2) AND not_before > ?3
           AND source IN (SELECT value FROM json_each(?4)) AND depth <= ?5",
    )?;
    let earliest: Option<String> = waiting.query_row(
        params![host, run.id, timestamp(now), sources, max_depth],
        |r| r.get(0),
    )?;
    Ok((items, earliest))
}

/// Columns added after the first schema, added to an older archive on open
/// (nullable, so every existing row stays valid).
const ADDED_COLUMNS: &[(&str, &str)] = &[
    ("method", "TEXT"),
    ("body", "TEXT"),
    ("platform", "TEXT"),
    ("candidates", "INTEGER"),
];

/// Bring an older archive's `frontier` table up to date; idempotent.
pub fn migrate(conn: &Connection) -> Result<(), FrontierError> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('frontier')")?;
    let have: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for (name, ty) in ADDED_COLUMNS {
        if !have.iter().any(|h| h == name) {
            conn.execute_batch(&format!("ALTER TABLE frontier ADD COLUMN {name} {ty}"))?;
        }
    }
    Ok(())
}

/// Ask for `url` with a POST of `form` instead of a GET. The first
/// discoverer's request stands.
pub fn set_form(conn: &Connection, url: &Url, form: &str) -> Result<(), FrontierError> {
    conn.run(
        "UPDATE frontier SET method = 'POST', body = ?2 WHERE url = ?1 AND method IS NULL",
        params![canonical(url).as_str(), form],
    )?;
    Ok(())
}

/// Record which listing platform a page was read as, and how many report
/// candidates it gave, for the run summary.
pub fn note_platform(
    conn: &Connection,
    url: &str,
    platform: &str,
    candidates: usize,
) -> Result<(), FrontierError> {
    conn.run(
        "UPDATE frontier SET platform = ?2, candidates = ?3 WHERE url = ?1",
        params![url, platform, candidates as i64],
    )?;
    Ok(())
}

/// Record the end of a visit in this run.
pub fn finish(
    conn: &Connection,
    run: &Run,
    url: &str,
    state: State,
    outcome: &str,
    capture: Option<i64>,
) -> Result<(), FrontierError> {
    conn.run(
        "UPDATE frontier SET state = ?2, outcome = ?3, last_run = ?4, not_before = NULL,
           attempts = attempts + 1, last_capture = COALESCE(?5, last_capture)
         WHERE url = ?1",
        params![url, state.as_str(), outcome, run.id, capture],
    )?;
    Ok(())
}

/// Put a URL back for another attempt no earlier than `not_before`.
pub fn retry_later(
    conn: &Connection,
    url: &str,
    outcome: &str,
    not_before: DateTime<Utc>,
) -> Result<(), FrontierError> {
    conn.run(
        "UPDATE frontier SET outcome = ?2, not_before = ?3, attempts = attempts + 1
         WHERE url = ?1",
        params![url, outcome, timestamp(not_before)],
    )?;
    Ok(())
}

/// Defer a URL without counting an attempt (its host asked us to wait).
pub fn defer(conn: &Connection, url: &str, not_before: DateTime<Utc>) -> Result<(), FrontierError> {
    conn.run(
        "UPDATE frontier SET not_before = ?2 WHERE url = ?1",
        params![url, timestamp(not_before)],
    )?;
    Ok(())
}

/// The capture this run already made of `url` (first hop), if any: a run
/// killed between archiving a page and recording it here must not fetch
/// it again.
pub fn captured_in_run(
    conn: &Connection,
    run: &Run,
    url: &str,
) -> Result<Option<i64>, FrontierError> {
    Ok(conn
        .one(
            "SELECT id FROM captures WHERE url = ?1 AND id > ?2 ORDER BY id DESC LIMIT 1",
            params![url, run.captures_before],
            |r| r.get(0),
        )
        .optional()?)
}

/// Pages visited per source in this run (robots-blocked ones not counted).
pub fn visited_per_source(
    conn: &Connection,
    run: &Run,
) -> Result<Vec<(String, u32)>, FrontierError> {
    let mut stmt = conn.prepare(
        "SELECT source, COUNT(*) FROM frontier WHERE last_run = ?1 AND state <> 'blocked'
         GROUP BY source",
    )?;
    let rows = stmt.query_map([run.id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Entries whose anchor text contains `title`, reports and attachments first.
pub fn find_by_title(
    conn: &Connection,
    title: &str,
) -> Result<Vec<(String, String, String)>, FrontierError> {
    let mut stmt = conn.prepare(
        "SELECT url, COALESCE(anchor, ''), kind FROM frontier
         WHERE instr(anchor, ?1) > 0
         ORDER BY kind = 'listing', length(anchor), url LIMIT 50",
    )?;
    let rows = stmt.query_map([title], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        Url::parse(s)
            .map(|u| canonical(&u).to_string())
            .unwrap_or_default()
    }

    #[test]
    fn canonical_form() {
        assert_eq!(
            canon("HTTP://WWW.Example.GOV.cn:80/a/%7euser/%e5%b9%b4#top"),
            "http://www.example.gov.cn/a/~user/%E5%B9%B4"
        );
        assert_eq!(
            canon("https://a.cn:443/x?q=%41%2f"),
            "https://a.cn/x?q=A%2F"
        );
        assert_eq!(
            canon("http://a.cn:8080/年报.html"),
            canon("http://a.cn:8080/%E5%B9%B4%E6%8A%A5.html")
        );
        assert_eq!(canon("http://a.cn/x?"), "http://a.cn/x");
    }

    #[test]
    fn broken_escapes_survive() {
        assert_eq!(canon("http://a.cn/%zz%4"), "http://a.cn/%zz%4");
    }
}
