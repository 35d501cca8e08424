//! The crawl run: the only place that schedules and spawns tasks.
//!
//! A run takes the archive's lock, indexes WARC records a killed run wrote
//! but did not index, continues the unfinished run or begins a new one (a
//! recrawl: every known URL is due again and asked for conditionally), seeds
//! the sources' start pages and visits due frontier entries, at most one per
//! host at a time, until none is left. It ends with a per-source summary.
//!
//! Fetching, snapshots, decoding and politeness decisions belong to their own
//! modules; this one only puts them in order.

mod lock;
mod recover;
mod tally;

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use chrono::Utc;
use tokio::task::JoinSet;
use url::Url;

use crate::archive::Archive;
use crate::config::{Config, CrawlConfig, Source};
use crate::discover;
use crate::fetch::{FetchError, Fetched, Fetcher};
use crate::frontier::{self, FrontierError, Item, Kind, NewUrl, Run, State};
use crate::pipeline::{self, Hop, Options, PipelineError, Store};
use crate::politeness::{self, Claim, Politeness, Robots};

pub use lock::{LockError, RunLock};
pub use tally::{RunSummary, SourceSummary};

/// Index every WARC record no capture row points at (all of them, for a
/// new database); returns how many were indexed.
pub fn index_snapshots(store: &Store) -> Result<usize, CrawlError> {
    recover::index_orphans(store)
}

/// The longest the scheduler sleeps before looking at the frontier again.
const MAX_IDLE: Duration = Duration::from_millis(500);
/// The shortest wait before a 5xx or timeout is tried again.
const MIN_RETRY: Duration = Duration::from_millis(500);
/// Bytes of a refused answer read to tell an anti-bot script from a server error.
const PROBE_BYTES: u64 = 64 * 1024;
/// robots.txt redirects followed (RFC 9309 §2.3.1.2).
const ROBOTS_REDIRECTS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum CrawlError {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Frontier(#[from] FrontierError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("{0}")]
    Sources(String),
    #[error("a crawl task stopped unexpectedly: {0}")]
    Task(String),
}

impl CrawlError {
    /// True when the config or the archive is unusable (bad source names, the
    /// archive busy, not writable, or failing): exit code 2. Only an internal
    /// failure of a task is not.
    pub fn is_unusable_input(&self) -> bool {
        !matches!(self, CrawlError::Task(_))
    }
}

/// Choices of one invocation on top of the config.
#[derive(Debug, Clone, Default)]
pub struct CrawlOptions {
    /// Crawl only the sources with these names (all when empty).
    pub only_sources: Vec<String>,
    /// Draw a progress bar when stderr is a terminal.
    pub progress: bool,
}

/// Everything a visit needs, shared by the tasks of a run.
struct Ctx {
    store: Store,
    fetcher: Fetcher,
    politeness: Arc<Politeness>,
    crawl: CrawlConfig,
    run: Run,
    /// Per source: the hosts its links may lead to.
    scopes: HashMap<String, HashSet<String>>,
    /// The crawl's total request rate across all hosts; per-host limits live
    /// in `politeness`, since a keyed governor cannot pause a single host.
    rate: Option<governor::DefaultDirectRateLimiter>,
}

/// Crawl the configured sources into the configured archive.
pub async fn run(config: &Config, opts: &CrawlOptions) -> Result<RunSummary, CrawlError> {
    let sources = select_sources(config, &opts.only_sources)?;
    let lock = RunLock::acquire(&config.archive)?;
    let robots_note = if config.crawl.obey_robots {
        "obey"
    } else {
        "ignore"
    };
    let store = Store::open(
        &config.archive,
        config.crawl.warc_max_file_bytes,
        pipeline::warcinfo(&config.fetch.user_agent, robots_note),
    )?;
    let indexed = recover::index_orphans(&store)?;
    if indexed > 0 {
        tracing::warn!(
            records = indexed,
            "indexed WARC records an interrupted run had not"
        );
    }
    let run = frontier::begin_run(lock_db(&store)?.conn())?;
    if run.resumed {
        tracing::info!(run = run.id, "resuming the interrupted run");
    }
    seed(&store, &sources)?;
    let ctx = Arc::new(Ctx {
        politeness: Politeness::new(politeness::Settings {
            interval: config.crawl.per_host_interval,
            obey_robots: config.crawl.obey_robots,
            agent: politeness::agent_token(&config.fetch.user_agent),
        }),
        fetcher: Fetcher::new(config.fetch.clone())?,
        crawl: config.crawl.clone(),
        run,
        scopes: sources.iter().map(|s| (s.name.clone(), scope(s))).collect(),
        rate: std::num::NonZeroU32::new(config.crawl.max_requests_per_second)
            .map(|n| governor::RateLimiter::direct(governor::Quota::per_second(n))),
        store,
    });
    let names: Vec<String> = sources.iter().map(|s| s.name.clone()).collect();
    schedule(
        &ctx,
        &names,
        opts.progress && std::io::stderr().is_terminal(),
    )
    .await?;
    let db = lock_db(&ctx.store)?;
    let interrupted = crate::interrupt::requested();
    // A stopped run stays open: the next start resumes it.
    if interrupted.is_none() {
        frontier::finish_run(db.conn(), &ctx.run)?;
    }
    let mut summary = tally::summarise(db.conn(), &ctx.run, &names, ctx.crawl.max_depth)?;
    summary.interrupted = interrupted.map(crate::interrupt::name);
    drop(db);
    drop(lock);
    Ok(summary)
}

fn select_sources(config: &Config, only: &[String]) -> Result<Vec<Source>, CrawlError> {
    if let Some(unknown) = only
        .iter()
        .find(|name| !config.sources.iter().any(|s| &s.name == *name))
    {
        return Err(CrawlError::Sources(format!(
            "no source named {unknown:?} in the config"
        )));
    }
    let chosen: Vec<Source> = config
        .sources
        .iter()
        .filter(|s| only.is_empty() || only.contains(&s.name))
        .cloned()
        .collect();
    if chosen.is_empty() {
        return Err(CrawlError::Sources(
            "the config names no [[sources]] to crawl".into(),
        ));
    }
    Ok(chosen)
}

fn scope(source: &Source) -> HashSet<String> {
    source
        .start
        .iter()
        .map(frontier::host_of)
        .chain(
            source
                .allow_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase()),
        )
        .collect()
}

fn lock_db(store: &Store) -> Result<MutexGuard<'_, Archive>, CrawlError> {
    store
        .db
        .lock()
        .map_err(|_| CrawlError::Pipeline(PipelineError::Poisoned))
}

fn seed(store: &Store, sources: &[Source]) -> Result<(), CrawlError> {
    let starts: Vec<NewUrl<'_>> = sources
        .iter()
        .flat_map(|s| {
            s.start.iter().map(|url| NewUrl {
                url,
                source: &s.name,
                kind: Kind::Listing,
                depth: 0,
                anchor: None,
                found_from: None,
            })
        })
        .collect();
    frontier::add(lock_db(store)?.conn(), &starts)?;
    Ok(())
}

/// Visit due entries until none is left, one task per host at a time.
async fn schedule(ctx: &Arc<Ctx>, sources: &[String], progress: bool) -> Result<(), CrawlError> {
    let bar = progress.then(|| crate::progress::spinner("pages"));
    let mut tasks: JoinSet<Result<String, CrawlError>> = JoinSet::new();
    let mut in_flight: HashSet<String> = HashSet::new();
    let mut counted: HashSet<String> = HashSet::new();
    let mut pages: HashMap<String, u32> =
        frontier::visited_per_source(lock_db(&ctx.store)?.conn(), &ctx.run)?
            .into_iter()
            .collect();
    let cap = ctx.crawl.max_pages_per_source;
    let mut failure = None;
    loop {
        let open: Vec<&str> = sources
            .iter()
            .filter(|s| pages.get(*s).copied().unwrap_or(0) < cap)
            .map(String::as_str)
            .collect();
        let mut wake = Instant::now() + MAX_IDLE;
        let stopping = crate::interrupt::requested().is_some();
        if failure.is_none() && !stopping {
            let due = frontier::due(
                lock_db(&ctx.store)?.conn(),
                &ctx.run,
                &open,
                ctx.crawl.max_depth,
                Utc::now(),
            )?;
            for item in due {
                if tasks.len() >= ctx.crawl.max_concurrency || in_flight.contains(&item.url) {
                    continue;
                }
                let Some(claim) = ctx.politeness.try_claim(&item.host) else {
                    if let Some(at) = ctx.politeness.free_at(&item.host) {
                        wake = wake.min(at);
                    }
                    continue;
                };
                if pages.get(&item.source).copied().unwrap_or(0) >= cap {
                    continue;
                }
                if counted.insert(item.url.clone()) {
                    *pages.entry(item.source.clone()).or_insert(0) += 1;
                }
                in_flight.insert(item.url.clone());
                let task_ctx = ctx.clone();
                tasks.spawn(async move {
                    let url = item.url.clone();
                    if let Some(rate) = &task_ctx.rate {
                        rate.until_ready().await;
                    }
                    visit(&task_ctx, claim, item).await.map(|()| url)
                });
            }
        }
        if tasks.is_empty() {
            if failure.is_some() || stopping {
                break;
            }
            match frontier::next_due(
                lock_db(&ctx.store)?.conn(),
                &ctx.run,
                &open,
                ctx.crawl.max_depth,
            )? {
                None => break,
                Some(Some(at)) => wake = wake.min(instant_of(&at)),
                Some(None) => {}
            }
            tokio::time::sleep_until(wake.max(Instant::now() + Duration::from_millis(5)).into())
                .await;
            continue;
        }
        tokio::select! {
            joined = tasks.join_next() => {
                match joined {
                    Some(Ok(Ok(url))) => {
                        in_flight.remove(&url);
                        if let Some(bar) = &bar {
                            bar.inc(1);
                            bar.set_message(url);
                        }
                    }
                    Some(Ok(Err(e))) => {
                        tracing::error!(error = %e, "stopping the run");
                        failure.get_or_insert(e);
                    }
                    // A request cut after the grace period of a stop signal.
                    Some(Err(e)) if e.is_cancelled() && stopping => {}
                    Some(Err(e)) => {
                        failure.get_or_insert(CrawlError::Task(e.to_string()));
                    }
                    None => {}
                }
            }
            () = tokio::time::sleep_until(wake.into()) => {}
            () = crate::interrupt::grace_over(), if stopping => tasks.abort_all(),
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    failure.map_or(Ok(()), Err)
}

/// The instant of a stored `not_before`, or now when unreadable.
fn instant_of(stamp: &str) -> Instant {
    let now = Instant::now();
    chrono::DateTime::parse_from_rfc3339(stamp)
        .ok()
        .and_then(|t| (t.with_timezone(&Utc) - Utc::now()).to_std().ok())
        .map_or(now, |d| now + d)
}

/// What robots.txt allows for a URL.
enum Verdict {
    Allowed,
    Blocked,
    /// Not read yet: try again after this long.
    Wait(Duration),
    /// Could not be read after every retry.
    Unavailable,
    /// robots.txt asks for a `Crawl-delay` above the configured ceiling and
    /// the config says to skip such hosts.
    TooSlow(Duration),
}

/// Visit one frontier entry while holding its host.
async fn visit(ctx: &Ctx, claim: Claim, item: Item) -> Result<(), CrawlError> {
    let Ok(url) = Url::parse(&item.url) else {
        return ctx.fail(&item, "invalid_url", "not a URL", None);
    };
    let captured = frontier::captured_in_run(lock_db(&ctx.store)?.conn(), &ctx.run, &item.url)?;
    if let Some(capture) = captured {
        return ctx.resume_visit(&item, &url, capture);
    }
    match ctx.robots_verdict(&claim, &url, &item.source).await? {
        Verdict::Allowed => {}
        Verdict::Blocked => {
            tracing::info!(url = %url, "disallowed by robots.txt");
            let db = lock_db(&ctx.store)?;
            return Ok(frontier::finish(
                db.conn(),
                &ctx.run,
                &item.url,
                State::Blocked,
                "robots",
                None,
            )?);
        }
        Verdict::Wait(wait) => {
            let at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
            return Ok(frontier::defer(lock_db(&ctx.store)?.conn(), &item.url, at)?);
        }
        Verdict::Unavailable => {
            return ctx.fail(
                &item,
                "robots_unavailable",
                "robots.txt could not be read",
                None,
            );
        }
        Verdict::TooSlow(delay) => {
            let detail = format!(
                "robots.txt asks for a Crawl-delay of {}s, above crawl.max_crawl_delay_s = {}s (crawl.long_crawl_delay = \"skip\")",
                delay.as_secs(),
                ctx.crawl.max_crawl_delay.as_secs()
            );
            return ctx.fail(&item, "crawl_delay_too_long", &detail, None);
        }
    }
    claim.wait_turn().await;
    let prior = pipeline::prior_capture(&ctx.store, &url, true)?;
    let fetched = ctx
        .fetcher
        .get(&url, &pipeline::conditional(prior.as_ref()))
        .await;
    claim.request_done();
    let fetched = match fetched {
        Ok(f) => f,
        Err(e) => return ctx.transient(&item, e.kind(), &e.to_string(), None),
    };
    // An anti-bot answer (加速乐's 521) is archived as what it is, not
    // retried as a server error.
    let challenge = crate::outcome::challenge_of(fetched.status, &fetched.entity(PROBE_BYTES));
    if is_retryable(fetched.status) && challenge.is_none() {
        return ctx.refused(&claim, &item, fetched, prior);
    }
    ctx.politeness.answered(claim.host());
    let opts = ctx.options(&item);
    match pipeline::archive_fetched(&ctx.store, fetched, prior.clone(), &opts) {
        Ok(Hop::Redirect { target, capture_id }) => {
            if crate::outcome::is_soft_404_redirect(&url, &target) {
                let detail = format!("{url}: redirect to the home page {target} (soft 404)");
                return ctx.fail(&item, "soft_404", &detail, Some(capture_id));
            }
            ctx.follow_redirect(&item, &url, &target, capture_id)
        }
        Ok(Hop::Final(archived)) if archived.outcome.is_refusal() => {
            let what = archived.outcome;
            let detail = format!("{}: {}", archived.final_url, what.describe(archived.status));
            ctx.fail(&item, what.as_str(), &detail, Some(archived.capture_id))
        }
        Ok(Hop::Final(archived)) => {
            let outcome = match archived.record_type {
                "revisit" => "unchanged",
                _ if prior.is_some() => "changed",
                _ => "new",
            };
            ctx.settle(
                &item,
                &archived.final_url,
                archived.status,
                outcome,
                archived.capture_id,
                archived.text.as_deref(),
            )
        }
        Err(e) if e.is_fatal() => Err(e.into()),
        Err(e) => ctx.fail(&item, e.kind(), &e.to_string(), None),
    }
}

fn verdict(robots: &Robots, url: &Url) -> Verdict {
    match (robots.allows(url), robots) {
        (true, _) => Verdict::Allowed,
        (false, Robots::Unreachable) => Verdict::Unavailable,
        (false, _) => Verdict::Blocked,
    }
}

fn is_retryable(status: u16) -> bool {
    status == 429 || status >= 500
}

impl Ctx {
    fn options(&self, item: &Item) -> Options {
        Options {
            max_redirects: self.crawl.max_redirects,
            source: Some(item.source.clone()),
            conditional: true,
        }
    }

    fn in_scope(&self, source: &str, url: &Url) -> bool {
        matches!(url.scheme(), "http" | "https")
            && self
                .scopes
                .get(source)
                .is_some_and(|hosts| hosts.contains(&frontier::host_of(url)))
    }

    /// Record the end of a visit that archived a final answer.
    fn settle(
        &self,
        item: &Item,
        page: &Url,
        status: u16,
        outcome: &str,
        capture: i64,
        text: Option<&str>,
    ) -> Result<(), CrawlError> {
        if !(200..300).contains(&status) && status != 304 {
            let kind = format!("http_{status}");
            return self.fail(
                item,
                &kind,
                &format!("{page}: HTTP {status}"),
                Some(capture),
            );
        }
        if let Some(text) = text {
            self.enqueue_links(item, page, text)?;
        }
        tracing::info!(url = %page, status, outcome, kind = item.kind.as_str(), "archived");
        let db = lock_db(&self.store)?;
        Ok(frontier::finish(
            db.conn(),
            &self.run,
            &item.url,
            State::Done,
            outcome,
            Some(capture),
        )?)
    }

    fn enqueue_links(&self, item: &Item, page: &Url, text: &str) -> Result<(), CrawlError> {
        let links = discover::links(page, text, item.kind);
        // Links beyond the depth cap are kept too: never visited in this
        // run, they are what the summary counts as left by the cap.
        let wanted: Vec<(discover::Link, u32)> = links
            .into_iter()
            .filter(|l| self.in_scope(&item.source, &l.url))
            .map(|l| {
                let depth = if l.pagination {
                    item.depth
                } else {
                    item.depth.saturating_add(1)
                };
                (l, depth)
            })
            .collect();
        let new: Vec<NewUrl<'_>> = wanted
            .iter()
            .map(|(l, depth)| NewUrl {
                url: &l.url,
                source: &item.source,
                kind: l.kind,
                depth: *depth,
                anchor: l.anchor.as_deref(),
                found_from: Some(&item.url),
            })
            .collect();
        let added = frontier::add(lock_db(&self.store)?.conn(), &new)?;
        tracing::debug!(url = %page, links = new.len(), added, "links discovered");
        Ok(())
    }

    /// A redirect is a link: its target joins the frontier in its own right,
    /// so that it is paced, checked against robots.txt and archived once.
    fn follow_redirect(
        &self,
        item: &Item,
        url: &Url,
        target: &Url,
        capture: i64,
    ) -> Result<(), CrawlError> {
        if !self.in_scope(&item.source, target) {
            let detail = format!("{url}: redirect to {target} leaves the source's hosts");
            return self.fail(item, "redirect_out_of_scope", &detail, Some(capture));
        }
        let limit = self.crawl.max_redirects;
        let before = crate::redirect_chain::hops_to(lock_db(&self.store)?.conn(), &item.url, limit)
            .map_err(|e| CrawlError::Frontier(e.into()))?;
        if before + 1 > limit {
            let detail = format!("{url}: more than {limit} redirects in a chain of new URLs");
            return self.fail(item, "redirect_loop", &detail, Some(capture));
        }
        let db = lock_db(&self.store)?;
        frontier::add(
            db.conn(),
            &[NewUrl {
                url: target,
                source: &item.source,
                kind: item.kind,
                depth: item.depth,
                anchor: item.anchor.as_deref(),
                found_from: Some(&item.url),
            }],
        )?;
        frontier::finish(
            db.conn(),
            &self.run,
            &item.url,
            State::Done,
            "redirect",
            Some(capture),
        )?;
        Ok(())
    }

    /// A failure that retrying will not mend.
    fn fail(
        &self,
        item: &Item,
        kind: &str,
        detail: &str,
        capture: Option<i64>,
    ) -> Result<(), CrawlError> {
        tracing::warn!(url = %item.url, kind, detail, "failed");
        let db = lock_db(&self.store)?;
        db.insert_failure(&item.url, kind, detail, Some(&item.source))
            .map_err(PipelineError::from)?;
        Ok(frontier::finish(
            db.conn(),
            &self.run,
            &item.url,
            State::Failed,
            kind,
            capture,
        )?)
    }

    /// A timeout, lost connection or 5xx: try again later, a bounded number
    /// of times, waiting longer each time.
    fn transient(
        &self,
        item: &Item,
        kind: &str,
        detail: &str,
        wait: Option<Duration>,
    ) -> Result<(), CrawlError> {
        if item.attempts >= self.crawl.max_retries {
            return self.fail(item, kind, detail, None);
        }
        let base = self.crawl.per_host_interval.max(MIN_RETRY);
        let wait = wait.unwrap_or_else(|| politeness::backoff(base, item.attempts + 1));
        tracing::info!(url = %item.url, kind, retry_in = ?wait, "will retry");
        let db = lock_db(&self.store)?;
        db.insert_failure(&item.url, kind, detail, Some(&item.source))
            .map_err(PipelineError::from)?;
        let at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
        Ok(frontier::retry_later(db.conn(), &item.url, kind, at)?)
    }

    /// A 429 or 5xx answer: 429 and 503 pause the whole host (for its
    /// `Retry-After` if it gave one); the URL is tried again later. The last
    /// refusal is archived: it is what the server said.
    fn refused(
        &self,
        claim: &Claim,
        item: &Item,
        fetched: Fetched,
        prior: Option<crate::archive::PriorCapture>,
    ) -> Result<(), CrawlError> {
        let status = fetched.status;
        let kind = format!("http_{status}");
        let detail = format!("{}: HTTP {status}", fetched.url);
        let wait = if status == 429 || status == 503 {
            let asked = fetched
                .header("retry-after")
                .and_then(|v| politeness::parse_retry_after(&v, SystemTime::now()));
            let pause = self.politeness.throttled(claim.host(), asked);
            tracing::info!(host = claim.host(), status, pause = ?pause, "host asked us to slow down");
            Some(pause)
        } else {
            None
        };
        if item.attempts < self.crawl.max_retries {
            return self.transient(item, &kind, &detail, wait);
        }
        let opts = self.options(item);
        let capture = match pipeline::archive_fetched(&self.store, fetched, prior, &opts)? {
            Hop::Redirect { capture_id, .. } => capture_id,
            Hop::Final(a) => a.capture_id,
        };
        self.fail(item, &kind, &detail, Some(capture))
    }

    /// This run already archived the URL but was killed before recording it:
    /// take the outcome (and the links) from the archive instead of asking
    /// the server again.
    fn resume_visit(&self, item: &Item, url: &Url, capture: i64) -> Result<(), CrawlError> {
        let page = recover::captured_page(&self.store, &self.run, capture)?;
        tracing::info!(url = %url, capture, "already archived by this run; recorded from the archive");
        if let Some(what) = page.outcome.filter(|o| o.is_refusal()) {
            let detail = format!("{url}: {}", what.describe(page.status));
            return self.fail(item, what.as_str(), &detail, Some(capture));
        }
        if let Some(target) = page.location.as_deref().and_then(|l| url.join(l).ok()) {
            return self.follow_redirect(item, url, &target, capture);
        }
        let outcome = match (page.revisit, page.had_prior) {
            (true, _) => "unchanged",
            (false, true) => "changed",
            (false, false) => "new",
        };
        self.settle(
            item,
            url,
            page.status,
            outcome,
            capture,
            page.text.as_deref(),
        )
    }

    /// Read robots.txt for the origin of `url` if not yet read, and say
    /// whether `url` may be fetched.
    async fn robots_verdict(
        &self,
        claim: &Claim,
        url: &Url,
        source: &str,
    ) -> Result<Verdict, CrawlError> {
        if let Some(robots) = self.politeness.robots(url) {
            return Ok(self.judge(&robots, url));
        }
        let Some(mut current) = politeness::robots_url(url) else {
            return Ok(Verdict::Allowed);
        };
        let agent = self.politeness.settings().agent.clone();
        if let Some(robots) = self.robots_from_run(&current, &agent)? {
            let verdict = self.judge(&robots, url);
            self.politeness.set_robots(url, robots);
            return Ok(verdict);
        }
        for _ in 0..=ROBOTS_REDIRECTS {
            claim.wait_turn().await;
            // Always asked in full: a 304 would leave no rules to read.
            let got = self.fetcher.get(&current, &Default::default()).await;
            claim.request_done();
            let fetched = match got {
                Ok(f) => f,
                Err(e) => return self.robots_unreachable(claim, url, source, &e.to_string(), None),
            };
            let status = fetched.status;
            // One byte more than is parsed: `from_answer` then knows the file was cut.
            let body = fetched.entity(politeness::ROBOTS_MAX_BYTES as u64 + 1);
            let retry_after = fetched
                .header("retry-after")
                .and_then(|v| politeness::parse_retry_after(&v, SystemTime::now()));
            let prior = pipeline::prior_capture(&self.store, &current, true)?;
            let opts = Options {
                source: Some(source.to_string()),
                ..self.options_for_robots()
            };
            match pipeline::archive_fetched(&self.store, fetched, prior, &opts)? {
                Hop::Redirect { target, .. } if matches!(target.scheme(), "http" | "https") => {
                    current = target;
                    continue;
                }
                // A redirect nowhere fetchable (`ftp:`, `javascript:`): no file.
                Hop::Redirect { .. } => break,
                Hop::Final(_) => {}
            }
            let robots = Robots::from_answer(&agent, status, &body);
            if matches!(robots, Robots::Unreachable) {
                let detail = format!("{current}: HTTP {status}");
                return self.robots_unreachable(claim, url, source, &detail, retry_after);
            }
            self.politeness.answered(claim.host());
            self.report_long_delay(&robots, url);
            let verdict = self.judge(&robots, url);
            self.politeness.set_robots(url, robots);
            // A Crawl-delay applies from this request on.
            claim.request_done();
            return Ok(verdict);
        }
        // Too many redirects, or one that cannot be followed: RFC 9309 treats
        // the file as unavailable (allow all).
        self.politeness.set_robots(url, Robots::AllowAll);
        Ok(Verdict::Allowed)
    }

    /// The robots.txt this run already archived (before it was killed), so
    /// that a resumed run does not archive it twice.
    fn robots_from_run(&self, robots_url: &Url, agent: &str) -> Result<Option<Robots>, CrawlError> {
        let db = lock_db(&self.store)?;
        let captured = frontier::captured_in_run(db.conn(), &self.run, robots_url.as_str())?;
        drop(db);
        let Some(capture) = captured else {
            return Ok(None);
        };
        let page = recover::captured_page(&self.store, &self.run, capture)?;
        Ok(match page.status {
            200..=299 | 304 => page
                .text
                .map(|text| Robots::from_answer(agent, 200, text.as_bytes())),
            400..=499 if page.status != 429 => Some(Robots::AllowAll),
            _ => None,
        })
    }

    /// The verdict of robots.txt, with the configured ceiling on `Crawl-delay`.
    fn judge(&self, robots: &Robots, url: &Url) -> Verdict {
        match robots.crawl_delay() {
            Some(delay)
                if delay > self.crawl.max_crawl_delay && !self.crawl.obey_long_crawl_delay =>
            {
                Verdict::TooSlow(delay)
            }
            _ => verdict(robots, url),
        }
    }

    fn report_long_delay(&self, robots: &Robots, url: &Url) {
        if let Some(delay) = robots
            .crawl_delay()
            .filter(|d| *d > self.crawl.max_crawl_delay)
        {
            let action = if self.crawl.obey_long_crawl_delay {
                "obeyed (crawl.long_crawl_delay = \"obey\")"
            } else {
                "host skipped (crawl.long_crawl_delay = \"skip\")"
            };
            tracing::warn!(origin = %politeness::origin(url), delay_s = delay.as_secs(), ceiling_s = self.crawl.max_crawl_delay.as_secs(), action, "robots.txt asks for a long Crawl-delay");
        }
    }

    fn options_for_robots(&self) -> Options {
        Options {
            max_redirects: ROBOTS_REDIRECTS,
            source: None,
            conditional: true,
        }
    }

    /// robots.txt answered 5xx/429 or not at all: wait (the host is paused)
    /// and try again; after the last retry, fetch nothing from that origin.
    fn robots_unreachable(
        &self,
        claim: &Claim,
        url: &Url,
        source: &str,
        detail: &str,
        retry_after: Option<Duration>,
    ) -> Result<Verdict, CrawlError> {
        let failures = self.politeness.robots_failed(url);
        let robots_url = politeness::robots_url(url)
            .map(|u| u.to_string())
            .unwrap_or_default();
        lock_db(&self.store)?
            .insert_failure(&robots_url, "robots_unreachable", detail, Some(source))
            .map_err(PipelineError::from)?;
        if failures > self.crawl.max_retries {
            self.politeness.set_robots(url, Robots::Unreachable);
            return Ok(Verdict::Unavailable);
        }
        Ok(Verdict::Wait(
            self.politeness.throttled(claim.host(), retry_after),
        ))
    }
}
