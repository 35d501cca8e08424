//! Redirect chains across frontier entries: a crawl adds each redirect's
//! target as an entry of its own, so a server that redirects to ever-new
//! URLs makes a chain no single fetch sees. Counted here from the entries'
//! `found_from` links.

use rusqlite::{Connection, OptionalExtension};

/// How many redirects led to `url`: the run of entries before it, each found
/// from the previous one, that answered with a redirect. Stops counting
/// past `limit`.
pub fn hops_to(conn: &Connection, url: &str, limit: usize) -> rusqlite::Result<usize> {
    let mut hops = 0;
    let mut current = url.to_string();
    while hops <= limit {
        let parent: Option<String> = conn
            .query_row(
                "SELECT p.url FROM frontier c JOIN frontier p ON p.url = c.found_from
                 WHERE c.url = ?1 AND p.outcome = 'redirect'",
                [&current],
                |r| r.get(0),
            )
            .optional()?;
        let Some(parent) = parent else {
            break;
        };
        hops += 1;
        current = parent;
    }
    Ok(hops)
}
