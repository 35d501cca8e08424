//! What the reports list filters and counts by, for every report, held in
//! memory once per archive state. Filtering and counting facets through the
//! SQL view costs a pass over every report per facet (seconds at 100k
//! reports); one pass over this vector costs milliseconds. About 100 bytes a
//! report: 10 MB at 100k.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::Connection;

use super::catalog::{FacetValue, ReportQuery, KIND_SQL};
use super::{overview, ServeError, Site};

/// One report's filterable facts.
#[derive(Debug)]
struct Fact {
    id: i64,
    /// The title with ASCII letters lowercased, for search (as SQL `LIKE`).
    title_folded: Box<str>,
    agency: Option<Box<str>>,
    source: Option<Box<str>>,
    year: Option<i64>,
    format: Box<str>,
    kind: &'static str,
    identities: &'static str,
    broken: bool,
    /// No later capture of the same URL carries a report.
    latest: bool,
}

/// Every report's facts, in list order: agency, then year (newest first),
/// then id.
#[derive(Debug)]
pub struct Facts {
    all: Vec<Fact>,
}

/// The reports of one list page and the facet counts around it.
pub struct Selection {
    pub total: i64,
    /// The ids of the page's reports, in list order.
    pub page: Vec<i64>,
    pub facets: Vec<(String, Vec<FacetValue>)>,
}

/// The conditions of a query, one bit each; a facet leaves its own out.
const LATEST: u16 = 1;
const SEARCH: u16 = 1 << 1;
const REGION: u16 = 1 << 2;
const AGENCY: u16 = 1 << 3;
const YEAR: u16 = 1 << 4;
const FORMAT: u16 = 1 << 5;
const KIND: u16 = 1 << 6;
const BROKEN: u16 = 1 << 7;

/// The facets in the order the list shows them, with the condition each
/// leaves out (so that its counts show the alternatives).
const FACETS: [(&str, u16); 6] = [
    ("year", YEAR),
    ("format", FORMAT),
    ("kind", KIND),
    ("identities", BROKEN),
    ("agency", AGENCY),
    ("source", 0),
];

/// Values a facet shows at most.
const FACET_VALUES: usize = 40;

/// The facts, from the cache while the archive has not changed.
pub fn cached(site: &Site, conn: &Connection) -> Result<Arc<Facts>, ServeError> {
    let now = overview::stamp(conn)?;
    if let Ok(cache) = site.facts.lock() {
        if let Some((at, facts)) = cache.as_ref() {
            if *at == now {
                return Ok(facts.clone());
            }
        }
    }
    let fresh = Arc::new(Facts::load(conn)?);
    if let Ok(mut cache) = site.facts.lock() {
        *cache = Some((now, fresh.clone()));
    }
    Ok(fresh)
}

impl Facts {
    /// Read every report once: its checks counted in one grouped pass, its
    /// `latest` flag from the newest capture of its URL.
    pub fn load(conn: &Connection) -> Result<Self, ServeError> {
        let mut checks: HashMap<i64, (i64, i64, i64)> = HashMap::new();
        let mut stmt = conn.prepare(
            "SELECT report_id, SUM(holds = 1), SUM(holds = 0), SUM(holds IS NULL)
             FROM checks GROUP BY report_id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let sum = |i: usize| -> rusqlite::Result<i64> {
                Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0))
            };
            checks.insert(r.get(0)?, (sum(1)?, sum(2)?, sum(3)?));
        }
        let sql = format!(
            "SELECT r.id, r.title, r.agency, k.source, r.year, r.format, {KIND_SQL},
                    k.url, k.fetched_at, k.id
             FROM reports r JOIN captures k ON k.id = r.capture_id"
        );
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        let mut all = Vec::new();
        let mut captured: Vec<(String, String, i64)> = Vec::new();
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let title: String = r.get(1)?;
            let kind: String = r.get(6)?;
            let (held, broken, uncheckable) = checks.get(&id).copied().unwrap_or_default();
            all.push(Fact {
                id,
                title_folded: title.to_ascii_lowercase().into(),
                agency: r.get::<_, Option<String>>(2)?.map(Into::into),
                source: r.get::<_, Option<String>>(3)?.map(Into::into),
                year: r.get(4)?,
                format: r.get::<_, String>(5)?.into(),
                kind: kind_name(&kind),
                identities: identities(held, broken, uncheckable),
                broken: broken > 0,
                latest: false,
            });
            captured.push((r.get(7)?, r.get(8)?, r.get(9)?));
        }
        mark_latest(&mut all, &captured);
        all.sort_by(|a, b| {
            (a.agency.as_deref(), std::cmp::Reverse(a.year), a.id).cmp(&(
                b.agency.as_deref(),
                std::cmp::Reverse(b.year),
                b.id,
            ))
        });
        Ok(Self { all })
    }

    /// The page `q` asks for and the facets, in one pass over every report.
    pub fn select(&self, site: &Site, q: &ReportQuery, per_page: u32) -> Selection {
        let test = Test::new(site, q);
        let skip = u64::from(q.page.max(1) - 1) * u64::from(per_page);
        let mut total: u64 = 0;
        let mut page = Vec::new();
        let mut counts: [HashMap<String, i64>; FACETS.len()] = Default::default();
        for f in &self.all {
            let failed = test.failed(f);
            if failed == 0 {
                if total >= skip && page.len() < per_page as usize {
                    page.push(f.id);
                }
                total += 1;
            }
            // A report counts in a facet when it fails no condition but
            // that facet's own.
            for (i, (name, own)) in FACETS.iter().enumerate() {
                if failed & !own == 0 {
                    *counts[i].entry(facet_value(f, name)).or_default() += 1;
                }
            }
        }
        let facets = FACETS
            .iter()
            .zip(counts)
            .map(|((name, _), counts)| (name.to_string(), top(counts)))
            .collect();
        Selection {
            total: i64::try_from(total).unwrap_or(i64::MAX),
            page,
            facets,
        }
    }
}

/// A query's conditions, prepared once for the pass.
struct Test<'q> {
    q: &'q ReportQuery,
    search: Option<String>,
    /// The sources of the region asked for.
    region: Option<Vec<String>>,
}

impl<'q> Test<'q> {
    fn new(site: &Site, q: &'q ReportQuery) -> Self {
        Self {
            q,
            search: q
                .q
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(str::to_ascii_lowercase),
            region: q.region.as_deref().map(|p| site.sources_in(p)),
        }
    }

    /// The conditions `f` fails, as bits.
    fn failed(&self, f: &Fact) -> u16 {
        let q = self.q;
        let mut out = 0;
        let mut fail = |bit: u16, holds: bool| {
            if !holds {
                out |= bit;
            }
        };
        fail(LATEST, q.all || f.latest);
        if let Some(s) = &self.search {
            let in_agency = f
                .agency
                .as_deref()
                .is_some_and(|a| a.to_ascii_lowercase().contains(s.as_str()));
            fail(SEARCH, f.title_folded.contains(s.as_str()) || in_agency);
        }
        if let Some(names) = &self.region {
            fail(
                REGION,
                f.source
                    .as_deref()
                    .is_some_and(|s| names.iter().any(|n| n == s)),
            );
        }
        if let Some(a) = &q.agency {
            fail(AGENCY, f.agency.as_deref() == Some(a.as_str()));
        }
        if let Some(y) = q.year {
            fail(YEAR, f.year == Some(y));
        }
        if let Some(fmt) = &q.format {
            fail(FORMAT, &*f.format == fmt.as_str());
        }
        if let Some(k) = &q.kind {
            fail(KIND, f.kind == k.as_str());
        }
        if q.broken {
            fail(BROKEN, f.broken);
        }
        out
    }
}

fn facet_value(f: &Fact, name: &str) -> String {
    match name {
        "year" => f.year.map(|y| y.to_string()).unwrap_or_default(),
        "format" => f.format.to_string(),
        "kind" => f.kind.to_string(),
        "identities" => f.identities.to_string(),
        "agency" => f.agency.as_deref().unwrap_or_default().to_string(),
        _ => f.source.as_deref().unwrap_or_default().to_string(),
    }
}

/// The most frequent values first, ties by value.
fn top(counts: HashMap<String, i64>) -> Vec<FacetValue> {
    let mut out: Vec<FacetValue> = counts
        .into_iter()
        .map(|(value, count)| FacetValue { value, count })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    out.truncate(FACET_VALUES);
    out
}

/// Each report is the latest of its URL when its capture is the newest
/// (by fetch time, then id) of that URL's captures that carry a report.
fn mark_latest(all: &mut [Fact], captured: &[(String, String, i64)]) {
    let mut newest: HashMap<&str, (&str, i64)> = HashMap::new();
    for (url, at, id) in captured {
        let e = newest.entry(url.as_str()).or_insert((at.as_str(), *id));
        if (at.as_str(), *id) > *e {
            *e = (at.as_str(), *id);
        }
    }
    for (f, (url, at, id)) in all.iter_mut().zip(captured) {
        f.latest = newest.get(url.as_str()) == Some(&(at.as_str(), *id));
    }
}

fn kind_name(kind: &str) -> &'static str {
    match kind {
        "pdf" => "pdf",
        "docx" => "docx",
        "spreadsheet" => "spreadsheet",
        "text" => "text",
        _ => "html",
    }
}

/// As `v_reports.identities`.
fn identities(held: i64, broken: i64, uncheckable: i64) -> &'static str {
    if broken > 0 {
        "some_broken"
    } else if held > 0 && uncheckable == 0 {
        "all_hold"
    } else if held > 0 {
        "partly_checked"
    } else {
        "not_checkable"
    }
}
