//! Statements through the connection's cache.
//!
//! A crawl runs the same few dozen statements for every page, hundreds of
//! times a second, on the archive's one writer; `Connection::execute`
//! parses its SQL anew each time, which was a seventh of that writer's CPU.

use rusqlite::{Connection, Params, Row};

/// How many parsed statements a connection keeps: more than the crawl's
/// writer cycles through, so that none is parsed twice.
pub const CAPACITY: usize = 256;

/// `execute` and `query_row` with the statement kept parsed.
pub trait Cached {
    /// Run a statement; the number of rows changed.
    fn run<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    /// The first row of a query, through `f`.
    fn one<T, P: Params, F: FnOnce(&Row<'_>) -> rusqlite::Result<T>>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> rusqlite::Result<T>;
}

impl Cached for Connection {
    fn run<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn one<T, P: Params, F: FnOnce(&Row<'_>) -> rusqlite::Result<T>>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}
