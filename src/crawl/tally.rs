//! The end-of-run summary, per source, counted from the archive itself so
//! that a resumed run reports the whole run, not only its last part.

use crate::archive::Cached;
use crate::summary::counted;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use rusqlite::{params, Connection, OptionalExtension};

use crate::frontier::{FrontierError, Run};

/// What one source's crawl did in a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceSummary {
    pub name: String,
    /// Frontier entries visited in this run (robots-blocked ones excluded).
    pub pages: u64,
    /// HTTP exchanges archived (redirect hops, robots.txt and refusals included).
    pub captures: u64,
    /// Report pages the frontier knows for this source (redirects excluded).
    pub reports_found: u64,
    pub reports_new: u64,
    pub reports_changed: u64,
    pub reports_unchanged: u64,
    pub attachments_new: u64,
    /// Entries robots.txt kept us from fetching.
    pub blocked: u64,
    /// Entries left for a later run (the page cap was reached).
    pub left: u64,
    /// Links found beyond the depth cap, not followed.
    pub beyond_depth: u64,
    /// Final failures of this run, by kind (`http_404`, `timeout`, …).
    pub failures: BTreeMap<String, u64>,
    /// Attempts that failed and were retried, by kind.
    pub retried: BTreeMap<String, u64>,
    /// The listing platforms its pages were read as, with the report
    /// candidates each gave: a column read as empty shows here.
    pub platforms: BTreeMap<String, u64>,
    /// What this run's captures were (`report`, `listing`, `block_waf`, …).
    pub outcomes: BTreeMap<String, u64>,
    /// Set when every answer from the source's site was a block page or
    /// challenge: what stopped it, e.g. "blocked by an anti-bot challenge
    /// (HTTP 412, script)".
    pub blocked_by: Option<String>,
}

impl SourceSummary {
    /// True when its listing pages were read but gave no report link and
    /// it knows no report: the column was read as empty.
    pub fn read_as_empty(&self) -> bool {
        !self.platforms.is_empty()
            && self.platforms.values().sum::<u64>() == 0
            && self.reports_found == 0
    }
}

/// The summary of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub run: i64,
    pub resumed: bool,
    pub sources: Vec<SourceSummary>,
    /// The signal that stopped the run early (`SIGINT`, `SIGTERM`).
    pub interrupted: Option<&'static str>,
}

impl RunSummary {
    /// True when any URL ended in failure: the exit code is then 1.
    pub fn has_failures(&self) -> bool {
        self.sources
            .iter()
            .any(|s| !s.failures.is_empty() || s.blocked_by.is_some())
    }

    /// A plain-text table for the terminal or the journal.
    pub fn render(&self) -> String {
        let mut out = format!(
            "run {}{}\n",
            self.run,
            if self.resumed { " (resumed)" } else { "" }
        );
        if let Some(signal) = self.interrupted {
            let _ = writeln!(
                out,
                "stopped by {signal}: the next `nianbao crawl` resumes this run"
            );
        }
        for s in &self.sources {
            let _ = writeln!(
                out,
                "{}: {} ({}); reports {} found, {} new, {} changed, {} unchanged; {}{}{}{}",
                s.name,
                counted(s.pages, "page", "pages"),
                counted(s.captures, "capture", "captures"),
                s.reports_found,
                s.reports_new,
                s.reports_changed,
                s.reports_unchanged,
                counted(s.attachments_new, "new attachment", "new attachments"),
                if s.blocked > 0 {
                    format!("; {} disallowed by robots.txt", s.blocked)
                } else {
                    String::new()
                },
                if s.left > 0 {
                    format!("; {} left for the next run (page cap)", s.left)
                } else {
                    String::new()
                },
                if s.beyond_depth > 0 {
                    format!(
                        "; {} beyond the depth cap not followed",
                        counted(s.beyond_depth, "link", "links")
                    )
                } else {
                    String::new()
                },
            );
            if !s.failures.is_empty() {
                let _ = writeln!(out, "  failed: {}", join(&s.failures));
            }
            if !s.retried.is_empty() {
                let _ = writeln!(out, "  retried: {}", join(&s.retried));
            }
            if !s.platforms.is_empty() {
                let listed: Vec<String> = s
                    .platforms
                    .iter()
                    .map(|(p, n)| {
                        format!(
                            "{p} ({})",
                            counted(*n, "report candidate", "report candidates")
                        )
                    })
                    .collect();
                let _ = writeln!(out, "  listings read as: {}", listed.join(", "));
                if s.platforms.values().sum::<u64>() == 0 {
                    let _ = writeln!(out, "  no report candidates found on its listing pages");
                }
            }
            if !s.outcomes.is_empty() {
                let _ = writeln!(out, "  captures: {}", join(&s.outcomes));
            }
            if let Some(why) = &s.blocked_by {
                let _ = writeln!(out, "  {}: {why}; nothing of the site was archived", s.name);
            }
        }
        out
    }
}

fn join(counts: &BTreeMap<String, u64>) -> String {
    counts
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn summarise(
    conn: &Connection,
    run: &Run,
    sources: &[String],
    max_depth: u32,
) -> Result<RunSummary, FrontierError> {
    let mut out = RunSummary {
        run: run.id,
        resumed: run.resumed,
        sources: Vec::new(),
        interrupted: None,
    };
    for name in sources {
        out.sources
            .push(source_summary(conn, run, name, max_depth)?);
    }
    Ok(out)
}

fn count(conn: &Connection, sql: &str, run: &Run, source: &str) -> Result<u64, FrontierError> {
    let n: i64 = conn.one(sql, params![run.id, source], |r| r.get(0))?;
    Ok(n.max(0) as u64)
}

fn source_summary(
    conn: &Connection,
    run: &Run,
    name: &str,
    max_depth: u32,
) -> Result<SourceSummary, FrontierError> {
    // `+last_run`: read through the source's index, not the run's, which
    // holds every source's entries and made the summary of a run of many
    // sources grow with their square (1,000 sources: 23 s).
    let in_run = "FROM frontier WHERE +last_run = ?1 AND source = ?2";
    let unvisited =
        "SELECT COUNT(*) FROM frontier WHERE (last_run IS NULL OR last_run < ?1) AND source = ?2";
    let outcome = |kind: &str, outcome: &str| {
        count(
            conn,
            &format!("SELECT COUNT(*) {in_run} AND kind = '{kind}' AND outcome = '{outcome}'"),
            run,
            name,
        )
    };
    let captures: i64 = conn.one(
        "SELECT COUNT(*) FROM captures WHERE id > ?1 AND source = ?2",
        params![run.captures_before, name],
        |r| r.get(0),
    )?;
    let outcomes = grouped(
        conn,
        "SELECT outcome, COUNT(*) FROM captures WHERE id > ?1 AND source = ?2
           AND outcome IS NOT NULL GROUP BY outcome",
        run.captures_before,
        name,
    )?;
    Ok(SourceSummary {
        blocked_by: blocked_by(conn, run, name, &outcomes)?,
        outcomes,
        name: name.to_string(),
        pages: count(
            conn,
            &format!("SELECT COUNT(*) {in_run} AND state <> 'blocked'"),
            run,
            name,
        )?,
        captures: captures.max(0) as u64,
        reports_found: count(
            conn,
            "SELECT COUNT(*) FROM frontier WHERE ?1 = ?1 AND source = ?2 AND kind = 'report'
               AND COALESCE(outcome, '') <> 'redirect'",
            run,
            name,
        )?,
        reports_new: outcome("report", "new")?,
        reports_changed: outcome("report", "changed")?,
        reports_unchanged: outcome("report", "unchanged")?,
        attachments_new: outcome("attachment", "new")?,
        blocked: count(
            conn,
            &format!("SELECT COUNT(*) {in_run} AND state = 'blocked'"),
            run,
            name,
        )?,
        left: count(
            conn,
            &format!("{unvisited} AND depth <= {max_depth}"),
            run,
            name,
        )?,
        beyond_depth: count(
            conn,
            &format!("{unvisited} AND depth > {max_depth}"),
            run,
            name,
        )?,
        failures: grouped(
            conn,
            "SELECT outcome, COUNT(*) FROM frontier WHERE +last_run = ?1 AND source = ?2
               AND state = 'failed' GROUP BY outcome",
            run.id,
            name,
        )?,
        retried: grouped(
            conn,
            "SELECT f.kind, COUNT(*) FROM failures f
             WHERE f.id > ?1 AND f.source = ?2
               AND NOT EXISTS (SELECT 1 FROM frontier t WHERE t.url = f.url
                               AND t.state = 'failed' AND t.outcome = f.kind
                               AND f.id = (SELECT MAX(id) FROM failures g WHERE g.url = f.url))
             GROUP BY f.kind",
            run.failures_before,
            name,
        )?,
        platforms: grouped(
            conn,
            "SELECT platform, SUM(candidates) FROM frontier WHERE +last_run = ?1 AND source = ?2
               AND platform IS NOT NULL GROUP BY platform",
            run.id,
            name,
        )?,
    })
}

/// The block page a source answered with, when it answered nothing else.
fn blocked_by(
    conn: &Connection,
    run: &Run,
    name: &str,
    outcomes: &BTreeMap<String, u64>,
) -> Result<Option<String>, FrontierError> {
    use crate::outcome::Outcome;
    let parsed = || outcomes.keys().filter_map(|k| Outcome::parse(k));
    if parsed().any(Outcome::is_content) || !parsed().any(|o| matches!(o, Outcome::Blocked(_))) {
        return Ok(None);
    }
    let first: Option<(String, u16)> = conn
        .one(
            "SELECT outcome, status FROM captures WHERE id > ?1 AND source = ?2
               AND outcome LIKE 'block%' ORDER BY id LIMIT 1",
            params![run.captures_before, name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(first.and_then(|(kind, status)| Outcome::parse(&kind).map(|o| o.describe(status))))
}

fn grouped(
    conn: &Connection,
    sql: &str,
    key: i64,
    source: &str,
) -> Result<BTreeMap<String, u64>, FrontierError> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map(params![key, source], |r| {
        Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)?))
    })?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (kind, n) = row?;
        out.insert(kind.unwrap_or_else(|| "unknown".into()), n.max(0) as u64);
    }
    Ok(out)
}
