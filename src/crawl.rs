//! The crawl run: the only place that schedules and spawns tasks.
//!
//! A run takes the archive's lock, indexes WARC records a killed run wrote
//! but did not index, continues the unfinished run or begins a new one (a
//! recrawl: every known URL is due again and asked for conditionally), seeds
//! the sources' start pages and visits due frontier entries, at most one per
//! host at a time, until none is left. It ends with a per-source summary.
//!
//! During the run the archive has one owner, the `writer` thread: visits
//! send it their exchanges and derived rows and await its answers. Decoding,
//! extraction and link discovery run in a bounded blocking pool. The
//! scheduler (`queues`) keeps a queue per host in memory and wakes on
//! events: a visit ended, a host's interval elapsed, a retry came due.
//!
//! Fetching, snapshots, decoding and politeness decisions belong to their own
//! modules; this one only puts them in order.

mod lock;
mod queues;
mod recover;
mod tally;

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use chrono::Utc;
use tokio::task::JoinSet;
use url::Url;

use crate::archive::{Archive, PriorCapture};
use crate::config::{Config, CrawlConfig, Source};
use crate::cookies::{self, CookieError};
use crate::discover::{self, Link};
use crate::fetch::{FetchError, Fetched, Fetcher};
use crate::frontier::{self, Added, FrontierError, Item, Kind, NewUrl, Run, State};
use crate::outcome::Outcome;
use crate::pipeline::{self, Analysis, Hop, Options, PipelineError, Snapped, Step, Store};
use crate::politeness::{self, Claim, Politeness, Robots};
use crate::writer::{Writer, WriterError};

pub use lock::{LockError, RunLock};
pub use tally::{RunSummary, SourceSummary};

use queues::Queues;

/// Index every WARC record no capture row points at (all of them, for a
/// new database); returns how many were indexed.
pub fn index_snapshots(store: &Store) -> Result<usize, CrawlError> {
    recover::index_orphans(store)
}

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
    #[error(transparent)]
    Writer(#[from] WriterError),
    #[error(transparent)]
    Cookies(#[from] CookieError),
    #[error(transparent)]
    Render(#[from] crate::render::RenderError),
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
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
    writer: Writer,
    fetcher: Fetcher,
    politeness: Arc<Politeness>,
    crawl: CrawlConfig,
    run: Run,
    /// Per source: the hosts its links may lead to.
    scopes: HashMap<String, HashSet<String>>,
    /// Per source: its start URLs as configured, fragments kept.
    starts: HashMap<String, Vec<Url>>,
    /// The sources whose empty listings are rendered in Chromium.
    render: HashSet<String>,
    /// The crawl's total request rate across all hosts (off by default);
    /// per-host limits live in `politeness`, since a keyed governor cannot
    /// pause a single host.
    rate: Option<governor::DefaultDirectRateLimiter>,
    /// Bounds the CPU work (decode, extract, discover) running at once.
    cpu: tokio::sync::Semaphore,
}

/// What a visit tells the scheduler when it ends.
struct Visited {
    url: String,
    host: String,
    /// Entries new to the frontier, to queue.
    added: Added,
    /// The URL waits in the frontier until then (a retry, a robots wait).
    retry_at: Option<Instant>,
    /// The host was let go before the visit ended (its answer was in and
    /// no other request of the visit could follow): the scheduler was told.
    released: bool,
    /// Asked again at its host's next turn: the visit read robots.txt, and
    /// waiting a whole interval for the page's turn would have held its
    /// place among the requests in flight.
    requeue: Option<Item>,
}

/// Answers being archived and read at once, at most (each holds its body):
/// enough to keep every core busy while others wait on the archive.
const MAX_READING: usize = 64;

/// Crawl the configured sources into the configured archive.
pub async fn run(config: &Config, opts: &CrawlOptions) -> Result<RunSummary, CrawlError> {
    let sources = select_sources(config, &opts.only_sources)?;
    if sources.iter().any(|s| s.render) {
        crate::render::chromium()?;
    }
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
    store
        .warc
        .lock()
        .map_err(|_| CrawlError::Pipeline(PipelineError::Poisoned))?
        .observe(Box::new(crate::export::cdxj::LiveIndex::default()));
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
    lock_db(&store)?
        .record_sources(&config.sources)
        .map_err(PipelineError::from)?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
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
        starts: sources
            .iter()
            .map(|s| (s.name.clone(), s.start.clone()))
            .collect(),
        render: sources
            .iter()
            .filter(|s| s.render)
            .map(|s| s.name.clone())
            .collect(),
        rate: std::num::NonZeroU32::new(config.crawl.max_requests_per_second)
            .map(|n| governor::RateLimiter::direct(governor::Quota::per_second(n))),
        cpu: tokio::sync::Semaphore::new(cores),
        writer: Writer::spawn(store)?,
    });
    let names: Vec<String> = sources.iter().map(|s| s.name.clone()).collect();
    let scheduled = schedule(
        &ctx,
        &names,
        opts.progress && std::io::stderr().is_terminal(),
    )
    .await;
    // Every task has ended: the context is ours again, and with it the store.
    let ctx =
        Arc::try_unwrap(ctx).map_err(|_| CrawlError::Task("a visit outlived the run".into()))?;
    let store = ctx.writer.close()?;
    store
        .warc
        .lock()
        .map_err(|_| CrawlError::Pipeline(PipelineError::Poisoned))?
        .finish()
        .map_err(PipelineError::from)?;
    scheduled?;
    let db = lock_db(&store)?;
    let interrupted = crate::interrupt::requested();
    // A stopped run stays open: the next start resumes it.
    if interrupted.is_none() {
        crate::ledger::record_run(db.conn(), ctx.run.id)?;
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

/// Sources that have not used up their page cap.
fn open_sources(sources: &[String], pages: &HashMap<String, u32>, cap: u32) -> Vec<String> {
    sources
        .iter()
        .filter(|s| pages.get(*s).copied().unwrap_or(0) < cap)
        .cloned()
        .collect()
}

/// Visit due entries until none is left, one visit per host at a time,
/// hosts in turn; wakes only on events.
async fn schedule(ctx: &Arc<Ctx>, sources: &[String], progress: bool) -> Result<(), CrawlError> {
    let run = ctx.run;
    let max_depth = ctx.crawl.max_depth;
    let cap = ctx.crawl.max_pages_per_source;
    let mut pages: HashMap<String, u32> = ctx
        .db(move |db| Ok(frontier::visited_per_source(db.conn(), &run)?))
        .await?
        .into_iter()
        .collect();
    let open = open_sources(sources, &pages, cap);
    // Every host's first entries in one job: the run starts on all hosts at once.
    let hosts = ctx
        .db(move |db| {
            let open: Vec<&str> = open.iter().map(String::as_str).collect();
            let hosts = frontier::hosts_left(db.conn(), &run, &open, max_depth)?;
            let now = Utc::now();
            let mut filled = Vec::with_capacity(hosts.len());
            for frontier::HostLeft { host, wait, left } in hosts {
                let (items, _) = match wait {
                    Some(_) => (Vec::new(), None),
                    None => frontier::due_for_host(
                        db.conn(),
                        &run,
                        &host,
                        &open,
                        max_depth,
                        now,
                        queues::BATCH,
                    )?,
                };
                filled.push((host, wait, left, items));
            }
            Ok(filled)
        })
        .await?;
    let done: u64 = pages.values().map(|&n| u64::from(n)).sum();
    let left: u64 = hosts.iter().map(|(_, _, left, _)| left).sum();
    let bar = progress.then(|| crate::progress::crawl(done, done + left));
    let mut status = status_signal();
    let mut queues = Queues::default();
    for (host, wait, _, items) in hosts {
        queues.add_host(host.clone(), wait.as_deref().map(instant_of));
        if wait.is_none() {
            let complete = items.len() < queues::BATCH;
            queues.refilled(&host, items, complete);
        }
    }
    let mut tasks: JoinSet<Result<Visited, CrawlError>> = JoinSet::new();
    let (release, mut released) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut counted: HashSet<String> = HashSet::new();
    let mut failure = None;
    loop {
        let stopping = crate::interrupt::requested().is_some();
        // Visits reading an answer are not requests in flight; they are
        // bounded apart, so that a crawl reading slower than it fetches asks
        // no more until it has caught up, its memory bounded.
        let max = ctx.crawl.max_concurrency;
        while failure.is_none()
            && !stopping
            && tasks.len().saturating_sub(queues.reading()) < max
            && queues.reading() < MAX_READING
        {
            let Some(host) = queues.next_host(Instant::now()) else {
                break;
            };
            match ctx.politeness.free_at(&host) {
                // Held by a visit: looked at again when it ends.
                None => continue,
                Some(at) if at > Instant::now() => {
                    queues.wake(&host, Some(at));
                    continue;
                }
                Some(_) => {}
            }
            if queues.needs_refill(&host) {
                refill(ctx, &mut queues, &host, sources, &pages).await?;
            }
            let under_cap = |i: &Item| pages.get(&i.source).copied().unwrap_or(0) < cap;
            let Some(item) = queues.pop(&host, under_cap) else {
                continue;
            };
            let Some(claim) = ctx.politeness.try_claim(&host) else {
                queues.unpop(item);
                queues.wake(&host, ctx.politeness.free_at(&host));
                continue;
            };
            if counted.insert(item.url.clone()) {
                *pages.entry(item.source.clone()).or_insert(0) += 1;
            }
            queues.started(&host);
            let (task_ctx, release) = (ctx.clone(), release.clone());
            tasks.spawn(async move {
                if let Some(rate) = &task_ctx.rate {
                    rate.until_ready().await;
                }
                visit(&task_ctx, claim, item, &release).await
            });
        }
        let wake = queues.next_wake();
        if tasks.is_empty() && (failure.is_some() || stopping || wake.is_none()) {
            break;
        }
        let sleep_to = wake.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            joined = tasks.join_next(), if !tasks.is_empty() => {
                match joined {
                    Some(Ok(Ok(visited))) => {
                        // Its release, sent before it ended, is taken first.
                        while let Ok(host) = released.try_recv() {
                            queues.released(&host, ctx.politeness.free_at(&host));
                        }
                        if let Some(bar) = &bar {
                            bar.inc_length(visited.added.new.iter().filter(|i| i.depth <= max_depth).count() as u64);
                            bar.inc(1);
                            bar.set_message(visited.url.clone());
                        }
                        settle_visit(ctx, &mut queues, visited);
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
            Some(host) = released.recv() => queues.released(&host, ctx.politeness.free_at(&host)),
            () = tokio::time::sleep_until(sleep_to.into()), if wake.is_some() && !stopping => {}
            () = crate::interrupt::stop_requested(), if !stopping => {}
            () = crate::interrupt::grace_over(), if stopping => tasks.abort_all(),
            Some(()) = next_status(&mut status) => print_status(ctx, sources).await,
        }
    }
    if let Some(bar) = bar {
        crate::progress::done(&bar);
    }
    failure.map_or(Ok(()), Err)
}

/// `SIGUSR1` asks a running crawl for its per-source status
/// (`kill -USR1 <pid>`), on a terminal or under cron alike.
#[cfg(unix)]
fn status_signal() -> Option<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1()).ok()
}

#[cfg(not(unix))]
fn status_signal() -> Option<()> {
    None
}

#[cfg(unix)]
async fn next_status(signal: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match signal {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn next_status(_: &mut Option<()>) -> Option<()> {
    std::future::pending().await
}

/// The summary so far, per source, printed above the progress bar.
async fn print_status(ctx: &Ctx, sources: &[String]) {
    let run = ctx.run;
    let names = sources.to_vec();
    let max_depth = ctx.crawl.max_depth;
    let so_far = ctx
        .db(move |db| Ok(tally::summarise(db.conn(), &run, &names, max_depth)?))
        .await;
    match so_far {
        Ok(summary) => {
            crate::progress::print_above(&format!("so far, {}", summary.render()));
        }
        Err(e) => tracing::warn!(error = %e, "the status so far could not be read"),
    }
}

/// Queue what a visit found and put its host back in turn.
fn settle_visit(ctx: &Ctx, queues: &mut Queues, visited: Visited) {
    let max_depth = ctx.crawl.max_depth;
    for item in visited.added.new {
        // Links past the depth cap stay in the frontier, never visited.
        if item.depth <= max_depth {
            queues.push(item);
        }
    }
    for host in visited.added.deepened_hosts {
        queues.more_on_disk(&host, None);
    }
    if let Some(at) = visited.retry_at {
        queues.more_on_disk(&visited.host, Some(at));
    }
    let free_at = ctx.politeness.free_at(&visited.host);
    queues.finished(&visited.host, &visited.url, free_at, visited.released);
    if let Some(item) = visited.requeue {
        queues.requeue(item, free_at);
    }
}

/// Fill the queue of `host` from the frontier: one indexed read of a few
/// entries, whatever the frontier's size.
async fn refill(
    ctx: &Ctx,
    queues: &mut Queues,
    host: &str,
    sources: &[String],
    pages: &HashMap<String, u32>,
) -> Result<(), CrawlError> {
    let open = open_sources(sources, pages, ctx.crawl.max_pages_per_source);
    let (run, max_depth, key) = (ctx.run, ctx.crawl.max_depth, host.to_string());
    let (items, waiting) = ctx
        .db(move |db| {
            let open: Vec<&str> = open.iter().map(String::as_str).collect();
            Ok(frontier::due_for_host(
                db.conn(),
                &run,
                &key,
                &open,
                max_depth,
                Utc::now(),
                queues::BATCH,
            )?)
        })
        .await?;
    let complete = items.len() < queues::BATCH;
    queues.refilled(host, items, complete);
    if let Some(at) = waiting {
        queues.more_on_disk(host, Some(instant_of(&at)));
    }
    Ok(())
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

/// A link found on a page, owned, on its way to the frontier.
struct Wanted {
    url: Url,
    kind: Kind,
    depth: u32,
    anchor: Option<String>,
    form: Option<String>,
}

/// Visit one frontier entry, holding its host until its answer is in.
async fn visit(
    ctx: &Ctx,
    claim: Claim,
    item: Item,
    release: &Release,
) -> Result<Visited, CrawlError> {
    let mut visited = Visited {
        url: item.url.clone(),
        host: item.host.clone(),
        added: Added::default(),
        retry_at: None,
        released: false,
        requeue: None,
    };
    let Ok(url) = Url::parse(&item.url) else {
        ctx.fail(&item, "invalid_url", "not a URL", None).await?;
        return Ok(visited);
    };
    // Read before the turn begins, in one job of the writer: the request
    // then starts when its turn does.
    let (prior, request) = match ctx.request(&item, &url).await? {
        Asked::Captured(capture) => {
            visited.added = ctx.resume_visit(&item, &url, capture).await?;
            return Ok(visited);
        }
        Asked::Fetch(prior, request) => (prior, request),
    };
    let reads_robots = ctx.politeness.robots(&url).is_none();
    match ctx.robots_verdict(&claim, &url, &item.source).await? {
        Verdict::Allowed if reads_robots && claim.turn_is_far() => {
            visited.requeue = Some(item);
            return Ok(visited);
        }
        Verdict::Allowed => {}
        Verdict::Blocked => {
            tracing::info!(url = %url, "disallowed by robots.txt");
            ctx.finish(&item, State::Blocked, "robots", None).await?;
            return Ok(visited);
        }
        Verdict::Wait(wait) => {
            let at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
            let key = item.url.clone();
            ctx.db(move |db| Ok(frontier::defer(db.conn(), &key, at)?))
                .await?;
            visited.retry_at = Some(Instant::now() + wait);
            return Ok(visited);
        }
        Verdict::Unavailable => {
            // Name the cause (the host does not resolve, refused, …).
            let robots = politeness::robots_url(&url)
                .map(|u| u.to_string())
                .unwrap_or_default();
            let cause = ctx
                .db(move |db| Ok(db.last_failure(&robots).map_err(PipelineError::from)?))
                .await?;
            let detail = match cause {
                Some(cause) => format!("robots.txt could not be read: {cause}"),
                None => "robots.txt could not be read".to_string(),
            };
            ctx.fail(&item, "robots_unavailable", &detail, None).await?;
            return Ok(visited);
        }
        Verdict::TooSlow(delay) => {
            let detail = format!(
                "robots.txt asks for a Crawl-delay of {}s, above crawl.max_crawl_delay_s = {}s (crawl.long_crawl_delay = \"skip\")",
                delay.as_secs(),
                ctx.crawl.max_crawl_delay.as_secs()
            );
            ctx.fail(&item, "crawl_delay_too_long", &detail, None)
                .await?;
            return Ok(visited);
        }
    }
    claim.wait_turn().await;
    let fetched = ctx.fetcher.send(&url, &request).await;
    claim.request_done();
    if let Some(at) = fetched.as_ref().ok().and_then(|f| f.sent) {
        claim.request_sent(at);
    }
    let fetched = match fetched {
        Ok(f) => f,
        Err(e) => {
            visited.retry_at = ctx.transient(&item, e.kind(), &e.to_string(), None).await?;
            return Ok(visited);
        }
    };
    // Most answers set no cookie: a job of the writer only for those that do.
    if fetched.header("set-cookie").is_some() {
        let (source, page, headers) = (item.source.clone(), url.clone(), fetched.headers.clone());
        ctx.db(move |db| Ok(cookies::remember(db.conn(), &source, &page, &headers)?))
            .await?;
    }
    // An anti-bot answer (加速乐's 521) is archived as what it is, not
    // retried as a server error.
    if is_retryable(fetched.status)
        && crate::outcome::challenge_of(fetched.status, &fetched.entity(PROBE_BYTES)).is_none()
    {
        visited.retry_at = ctx.refused(&claim, &item, fetched, prior).await?;
        return Ok(visited);
    }
    ctx.politeness.answered(claim.host());
    // Only a listing that may be rendered asks its host again in this
    // visit; any other lets the host go now, while its answer is archived
    // and read, so that the next request need not wait for that.
    let claim = if item.kind == Kind::Listing && ctx.render.contains(&item.source) {
        Some(claim)
    } else {
        drop(claim);
        visited.released = release.send(item.host.clone()).is_ok();
        None
    };
    visited.added = ctx
        .archive_answer(&item, &url, fetched, prior, claim.as_ref())
        .await?;
    Ok(visited)
}

/// What a visit reads before its request.
// One a visit, moved once: not worth a box.
#[allow(clippy::large_enum_variant)]
enum Asked {
    /// This run archived the entry already (it was killed before it
    /// recorded the visit): recorded from the archive, not asked again.
    Captured(i64),
    /// Ask for it, against the prior capture if any.
    Fetch(Option<PriorCapture>, crate::fetch::Request),
}

/// A final answer as `settle` records it.
struct Answer {
    status: u16,
    /// `new`, `changed` or `unchanged`.
    outcome: &'static str,
    /// What the answer was read as, to record with the links: when this
    /// visit read it after its snapshot (a first capture's is set with its
    /// snapshot, a revisit's too, a resumed visit's was set before).
    kind: Option<Outcome>,
}

/// How the visit of a final answer ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// A page past the end of a list.
    EndOfList,
    /// A listing API refused its form: asked again by GET.
    FormRefused,
    /// An error status.
    HttpError,
    /// Archived, with what was derived from it and its links.
    Archived,
}

impl Ending {
    fn of(item: &Item, page: &Url, status: u16) -> Ending {
        if discover::ends_list(page, status) {
            Ending::EndOfList
        } else if item.form.is_some() && (400..500).contains(&status) {
            Ending::FormRefused
        } else if !(200..300).contains(&status) && status != 304 {
            Ending::HttpError
        } else {
            Ending::Archived
        }
    }
}

/// What an answer read before its snapshot was read as, on its capture, and
/// what was derived from it when its visit keeps that (not a refusal).
fn record_read(
    db: &mut Archive,
    capture: i64,
    (analysis, _, kind): &(Option<Analysis>, Option<discover::Found>, Outcome),
    archived: bool,
) -> Result<(), CrawlError> {
    db.set_outcome(capture, kind.as_str())
        .map_err(PipelineError::from)?;
    if let (true, false, Some(a)) = (archived, kind.is_refusal(), analysis) {
        pipeline::record_analysis(db, capture, a).map_err(PipelineError::from)?;
    }
    Ok(())
}

/// Decode and extract an answer, and find its links unless it is a refusal
/// (CPU work).
fn read_answer(
    fetched: &Fetched,
    item: &Item,
    starts: &[Url],
) -> (Option<Analysis>, Option<discover::Found>, Outcome) {
    let analysis = pipeline::analyse(fetched);
    let kind = pipeline::outcome_of_answer(fetched, analysis.as_ref());
    let found = analysis
        .as_ref()
        .filter(|_| !kind.is_refusal())
        .and_then(|a| Some((a.decoded.as_ref()?, a.outline.as_ref())))
        .map(|(d, outline)| discover_on(item, &fetched.url, &d.text, outline, starts));
    (analysis, found, kind)
}

/// Tells the scheduler that a visit let its host go before it ended.
type Release = tokio::sync::mpsc::UnboundedSender<String>;

/// Every link of a page, whatever platform keeps its list (CPU work).
fn discover_on(
    item: &Item,
    page: &Url,
    text: &str,
    outline: Option<&discover::outline::Outline>,
    starts: &[Url],
) -> discover::Found {
    let page = discover::Page {
        url: page,
        text,
        kind: item.kind,
        depth: item.depth,
        anchor: item.anchor.as_deref(),
        form: item.form.as_deref(),
        starts,
    };
    discover::discover_with(&page, outline)
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
    /// Run `f` on the archive's owner and await its answer (sent once it
    /// has run; its rows commit with its batch).
    async fn store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, CrawlError> + Send + 'static,
    ) -> Result<T, CrawlError> {
        self.writer.call(f).await?
    }

    /// `store`, with the database only.
    async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Archive) -> Result<T, CrawlError> + Send + 'static,
    ) -> Result<T, CrawlError> {
        self.store(move |store| f(&mut *lock_db(store)?)).await
    }

    /// Run CPU work in the blocking pool, a bounded number at once, so the
    /// runtime's threads stay free for I/O.
    async fn cpu<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, CrawlError> {
        let _permit = self
            .cpu
            .acquire()
            .await
            .map_err(|e| CrawlError::Task(e.to_string()))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| CrawlError::Task(e.to_string()))
    }

    /// The request for an entry, with the last capture it is asked against:
    /// its validators, its form (a POST, asked in full: its answer depends
    /// on the form) and the source's cookies, read in one job of the writer;
    /// or the capture this run already made of it (before it was killed).
    /// The prior capture is read through the pipeline: a revisit may only
    /// point at a record that is there and whole.
    async fn request(&self, item: &Item, url: &Url) -> Result<Asked, CrawlError> {
        let (source, key, form) = (item.source.clone(), url.clone(), item.form.clone());
        let (run, entry) = (self.run, item.url.clone());
        self.store(move |store| {
            let captured = frontier::captured_in_run(lock_db(store)?.conn(), &run, &entry)?;
            if let Some(capture) = captured {
                return Ok(Asked::Captured(capture));
            }
            let prior = pipeline::prior_capture(store, &key, form.is_none())?;
            let cookie = cookies::header_for(lock_db(store)?.conn(), &source, &key)?;
            let request = crate::fetch::Request {
                conditional: pipeline::conditional(prior.as_ref()),
                form,
                cookie,
            };
            Ok(Asked::Fetch(prior, request))
        })
        .await
    }

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

    /// Snapshot an answer, then decode and extract it off the archive's
    /// owner, then record what was derived, the links and the visit.
    async fn archive_answer(
        &self,
        item: &Item,
        url: &Url,
        fetched: Fetched,
        prior: Option<PriorCapture>,
        claim: Option<&Claim>,
    ) -> Result<Added, CrawlError> {
        let opts = self.options(item);
        let had_prior = prior.is_some();
        let (looked, starts) = (item.clone(), self.starts_of(&item.source));
        // Digest and compress here, so that the archive's one owner only
        // appends: done there, it alone would bound the crawl. With no prior
        // capture the answer is read in the same job: one wait for the CPU
        // pool a visit, not two.
        let (prepared, read, fetched) = match prior {
            Some(_) => (None, None, fetched),
            None => {
                self.cpu(move || {
                    let prepared = pipeline::prepare(&fetched);
                    let read = read_answer(&fetched, &looked, &starts);
                    (Some(prepared), Some(read), fetched)
                })
                .await?
            }
        };
        // What the answer was read as and what was derived from it go with
        // its snapshot, in one job: a kill never leaves a capture without
        // them (a resumed visit reads its links again, not its tables).
        let archived = Ending::of(item, &fetched.url, fetched.status) == Ending::Archived;
        let (step, fetched, read) = self
            .store(move |store| {
                let step = pipeline::snapshot_hop(store, &fetched, prior.as_ref(), &opts, prepared);
                if let (Ok(Step::Final(Snapped::Response { capture_id })), Some(read)) =
                    (&step, &read)
                {
                    record_read(&mut *lock_db(store)?, *capture_id, read, archived)?;
                }
                Ok((step, fetched, read))
            })
            .await?;
        let recorded = read.is_some();
        let capture = match step {
            Ok(Step::Redirect { target, capture_id }) => {
                if crate::outcome::is_soft_404_redirect(url, &target) {
                    let detail = format!("{url}: redirect to the home page {target} (soft 404)");
                    self.fail(item, "soft_404", &detail, Some(capture_id))
                        .await?;
                    return Ok(Added::default());
                }
                return self.follow_redirect(item, url, &target, capture_id).await;
            }
            Ok(Step::Final(Snapped::Revisit { capture_id })) => {
                let status = fetched.status;
                let answer = Answer {
                    status,
                    outcome: "unchanged",
                    kind: None,
                };
                return self
                    .settle(item, &fetched.url, answer, capture_id, None, None)
                    .await;
            }
            Ok(Step::Final(Snapped::Response { capture_id })) => capture_id,
            Err(e) if e.is_fatal() => return Err(e.into()),
            Err(e) => {
                self.fail(item, e.kind(), &e.to_string(), None).await?;
                return Ok(Added::default());
            }
        };
        let outcome = if had_prior { "changed" } else { "new" };
        let (status, page) = (fetched.status, fetched.url.clone());
        let (analysis, found, kind) = match read {
            Some(read) => read,
            None => {
                let (looked, starts) = (item.clone(), self.starts_of(&item.source));
                self.cpu(move || read_answer(&fetched, &looked, &starts))
                    .await?
            }
        };
        // Not yet recorded when the answer was read after its snapshot.
        let unrecorded = (!recorded).then_some(kind);
        if kind.is_refusal() {
            if unrecorded.is_some() {
                self.set_outcome(capture, kind).await?;
            }
            // A block page, soft 404 or empty answer: never a report, never
            // a new version of one.
            let detail = format!("{page}: {}", kind.describe(status));
            self.fail(item, kind.as_str(), &detail, Some(capture))
                .await?;
            return Ok(Added::default());
        }
        let text = analysis
            .as_ref()
            .and_then(|a| a.decoded.as_ref())
            .map(|d| d.text.as_str());
        let found = self.rendered(item, &page, text, found, claim).await?;
        let answer = Answer {
            status,
            outcome,
            kind: unrecorded,
        };
        let analysis = analysis.filter(|_| !recorded);
        self.settle(item, &page, answer, capture, analysis, found)
            .await
    }

    /// What the answer was read as, on its capture.
    async fn set_outcome(&self, capture: i64, kind: Outcome) -> Result<(), CrawlError> {
        self.db(move |db| {
            Ok(db
                .set_outcome(capture, kind.as_str())
                .map_err(PipelineError::from)?)
        })
        .await
    }

    /// A listing of a source that asks for rendering, which gave no report
    /// links but has scripts: the links of the DOM Chromium builds from it,
    /// in a turn of its host of its own. Chromium's failure is logged and
    /// leaves the page as read.
    async fn rendered(
        &self,
        item: &Item,
        page: &Url,
        text: Option<&str>,
        found: Option<discover::Found>,
        claim: Option<&Claim>,
    ) -> Result<Option<discover::Found>, CrawlError> {
        let Some(mut found) = found else {
            return Ok(None);
        };
        let Some(claim) = claim else {
            return Ok(Some(found));
        };
        if item.kind != Kind::Listing
            || !self.render.contains(&item.source)
            || !text.is_some_and(|t| crate::render::worth_rendering(t, found.candidates))
        {
            return Ok(Some(found));
        }
        let hosts: Vec<String> = self
            .scopes
            .get(&item.source)
            .map(|h| h.iter().cloned().collect())
            .unwrap_or_default();
        let _chromium = crate::render::slot().await;
        claim.wait_turn().await;
        let dom = crate::render::dump_dom(page, &self.fetcher.config().user_agent, &hosts).await;
        // Chromium's last request may come at any point of the render: the
        // host's interval runs from its end.
        claim.wait_turn().await;
        claim.request_done();
        let dom = match dom {
            Ok(dom) => dom,
            Err(e) => {
                tracing::warn!(url = %page, error = %e, "rendering failed");
                return Ok(Some(found));
            }
        };
        let (looked, at, starts) = (item.clone(), page.clone(), self.starts_of(&item.source));
        let rendered = self
            .cpu(move || discover_on(&looked, &at, &dom, None, &starts))
            .await?;
        tracing::info!(url = %page, candidates = rendered.candidates, "rendered in Chromium");
        found.links.extend(rendered.links);
        found.candidates = rendered.candidates;
        found.platform = Some("rendered");
        Ok(Some(found))
    }

    /// Record the end of a visit that archived a final answer: what it was
    /// read as, what was derived from it, its links, its outcome, in one
    /// job of the writer.
    async fn settle(
        &self,
        item: &Item,
        page: &Url,
        answer: Answer,
        capture: i64,
        analysis: Option<Analysis>,
        found: Option<discover::Found>,
    ) -> Result<Added, CrawlError> {
        let Answer {
            status,
            outcome,
            kind,
        } = answer;
        let ending = Ending::of(item, page, status);
        // The outcome goes with the links in one job below; a visit ending
        // otherwise records it first.
        if let (false, Some(kind)) = (ending == Ending::Archived, kind) {
            self.set_outcome(capture, kind).await?;
        }
        match ending {
            Ending::EndOfList => {
                self.finish(item, State::Done, "end_of_list", Some(capture))
                    .await?;
                return Ok(Added::default());
            }
            Ending::FormRefused => return self.fall_back_to_get(item, page, capture).await,
            Ending::HttpError => {
                let kind = format!("http_{status}");
                let detail = format!("{page}: HTTP {status}");
                self.fail(item, &kind, &detail, Some(capture)).await?;
                return Ok(Added::default());
            }
            Ending::Archived => {}
        }
        let platform = found
            .as_ref()
            .and_then(|f| f.platform.map(|p| (p, f.candidates)));
        let found = self.wanted(item, found.map(|f| f.links).unwrap_or_default());
        tracing::info!(url = %page, status, outcome, kind = item.kind.as_str(), "archived");
        let (run, key, source, outcome) = (
            self.run,
            item.url.clone(),
            item.source.clone(),
            outcome.to_string(),
        );
        self.db(move |db| {
            if let Some(kind) = kind {
                db.set_outcome(capture, kind.as_str())
                    .map_err(PipelineError::from)?;
            }
            if let Some(a) = &analysis {
                pipeline::record_analysis(db, capture, a).map_err(PipelineError::from)?;
            }
            let urls: Vec<NewUrl<'_>> = found
                .iter()
                .map(|f| NewUrl {
                    url: &f.url,
                    source: &source,
                    kind: f.kind,
                    depth: f.depth,
                    anchor: f.anchor.as_deref(),
                    found_from: Some(&key),
                })
                .collect();
            let mut added = frontier::add_items(db.conn(), &urls)?;
            for f in found.iter() {
                if let Some(form) = &f.form {
                    frontier::set_form(db.conn(), &f.url, form)?;
                }
            }
            // New entries asked by POST carry their form into the queue.
            for new in &mut added.new {
                new.form = found
                    .iter()
                    .find(|f| f.form.is_some() && frontier::canonical(&f.url).as_str() == new.url)
                    .and_then(|f| f.form.clone());
            }
            if let Some((platform, candidates)) = platform {
                frontier::note_platform(db.conn(), &key, platform, candidates)?;
            }
            frontier::finish(db.conn(), &run, &key, State::Done, &outcome, Some(capture))?;
            Ok(added)
        })
        .await
    }

    /// The links of a page that stay within its source's hosts, with their
    /// depth. Links beyond the depth cap are kept too: never visited in
    /// this run, they are what the summary counts as left by the cap.
    fn wanted(&self, item: &Item, links: Vec<Link>) -> Vec<Wanted> {
        links
            .into_iter()
            .filter(|l| self.in_scope(&item.source, &l.url))
            .map(|l| Wanted {
                depth: if l.pagination {
                    item.depth
                } else {
                    item.depth.saturating_add(1)
                },
                url: l.url,
                kind: l.kind,
                anchor: l.anchor,
                form: l.form,
            })
            .collect()
    }

    fn starts_of(&self, source: &str) -> Vec<Url> {
        self.starts.get(source).cloned().unwrap_or_default()
    }

    /// A listing API refused the POST: ask it once more by GET, the form's
    /// fields in the query, as many jcms sites also accept.
    async fn fall_back_to_get(
        &self,
        item: &Item,
        page: &Url,
        capture: i64,
    ) -> Result<Added, CrawlError> {
        let form = item.form.as_deref().unwrap_or_default();
        let target = discover::as_get(page, form);
        let in_scope = self.in_scope(&item.source, &target);
        tracing::info!(url = %page, "POST refused; asking by GET");
        let (run, item) = (self.run, item.clone());
        self.db(move |db| {
            let added = if in_scope {
                frontier::add_items(
                    db.conn(),
                    &[NewUrl {
                        url: &target,
                        source: &item.source,
                        kind: item.kind,
                        depth: item.depth,
                        anchor: item.anchor.as_deref(),
                        found_from: Some(&item.url),
                    }],
                )?
            } else {
                Added::default()
            };
            frontier::finish(
                db.conn(),
                &run,
                &item.url,
                State::Done,
                "post_refused",
                Some(capture),
            )?;
            Ok(added)
        })
        .await
    }

    /// A redirect is a link: its target joins the frontier in its own right,
    /// so that it is paced, checked against robots.txt and archived once.
    async fn follow_redirect(
        &self,
        item: &Item,
        url: &Url,
        target: &Url,
        capture: i64,
    ) -> Result<Added, CrawlError> {
        if !self.in_scope(&item.source, target) {
            let detail = format!("{url}: redirect to {target} leaves the source's hosts");
            self.fail(item, "redirect_out_of_scope", &detail, Some(capture))
                .await?;
            return Ok(Added::default());
        }
        let (limit, key) = (self.crawl.max_redirects, item.url.clone());
        let before = self
            .db(move |db| {
                crate::redirect_chain::hops_to(db.conn(), &key, limit)
                    .map_err(|e| CrawlError::Frontier(e.into()))
            })
            .await?;
        if before + 1 > limit {
            let detail = format!("{url}: more than {limit} redirects in a chain of new URLs");
            self.fail(item, "redirect_loop", &detail, Some(capture))
                .await?;
            return Ok(Added::default());
        }
        let (run, item, target) = (self.run, item.clone(), target.clone());
        self.db(move |db| {
            let added = frontier::add_items(
                db.conn(),
                &[NewUrl {
                    url: &target,
                    source: &item.source,
                    kind: item.kind,
                    depth: item.depth,
                    anchor: item.anchor.as_deref(),
                    found_from: Some(&item.url),
                }],
            )?;
            frontier::finish(
                db.conn(),
                &run,
                &item.url,
                State::Done,
                "redirect",
                Some(capture),
            )?;
            Ok(added)
        })
        .await
    }

    /// Record the end of a visit that archived nothing new.
    async fn finish(
        &self,
        item: &Item,
        state: State,
        outcome: &str,
        capture: Option<i64>,
    ) -> Result<(), CrawlError> {
        let (run, key, outcome) = (self.run, item.url.clone(), outcome.to_string());
        self.db(move |db| {
            Ok(frontier::finish(
                db.conn(),
                &run,
                &key,
                state,
                &outcome,
                capture,
            )?)
        })
        .await
    }

    /// A failure that retrying will not mend.
    async fn fail(
        &self,
        item: &Item,
        kind: &str,
        detail: &str,
        capture: Option<i64>,
    ) -> Result<(), CrawlError> {
        tracing::warn!(url = %item.url, kind, detail, "failed");
        let (run, key, source) = (self.run, item.url.clone(), item.source.clone());
        let (kind, detail) = (kind.to_string(), detail.to_string());
        self.db(move |db| {
            db.insert_failure(&key, &kind, &detail, Some(&source))
                .map_err(PipelineError::from)?;
            Ok(frontier::finish(
                db.conn(),
                &run,
                &key,
                State::Failed,
                &kind,
                capture,
            )?)
        })
        .await
    }

    /// A timeout, lost connection or 5xx: try again later, a bounded number
    /// of times, waiting longer each time. Returns when, if it will.
    async fn transient(
        &self,
        item: &Item,
        kind: &str,
        detail: &str,
        wait: Option<Duration>,
    ) -> Result<Option<Instant>, CrawlError> {
        if item.attempts >= self.crawl.max_retries {
            self.fail(item, kind, detail, None).await?;
            return Ok(None);
        }
        let base = self.crawl.per_host_interval.max(MIN_RETRY);
        let wait = wait.unwrap_or_else(|| politeness::backoff(base, item.attempts + 1));
        tracing::info!(url = %item.url, kind, retry_in = ?wait, "will retry");
        let at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
        let (key, source) = (item.url.clone(), item.source.clone());
        let (kind, detail) = (kind.to_string(), detail.to_string());
        self.db(move |db| {
            db.insert_failure(&key, &kind, &detail, Some(&source))
                .map_err(PipelineError::from)?;
            Ok(frontier::retry_later(db.conn(), &key, &kind, at)?)
        })
        .await?;
        Ok(Some(Instant::now() + wait))
    }

    /// A 429 or 5xx answer: 429 and 503 pause the whole host (for its
    /// `Retry-After` if it gave one); the URL is tried again later. The last
    /// refusal is archived: it is what the server said.
    async fn refused(
        &self,
        claim: &Claim,
        item: &Item,
        fetched: Fetched,
        prior: Option<PriorCapture>,
    ) -> Result<Option<Instant>, CrawlError> {
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
            return self.transient(item, &kind, &detail, wait).await;
        }
        let opts = self.options(item);
        let capture = self
            .store(move |store| {
                Ok(
                    match pipeline::snapshot_hop(store, &fetched, prior.as_ref(), &opts, None)? {
                        Step::Redirect { capture_id, .. } => capture_id,
                        Step::Final(snapped) => snapped.capture_id(),
                    },
                )
            })
            .await?;
        self.fail(item, &kind, &detail, Some(capture)).await?;
        Ok(None)
    }

    /// This run already archived the URL but was killed before recording it:
    /// take the outcome (and the links) from the archive instead of asking
    /// the server again.
    async fn resume_visit(
        &self,
        item: &Item,
        url: &Url,
        capture: i64,
    ) -> Result<Added, CrawlError> {
        let run = self.run;
        let page = self
            .store(move |store| recover::captured_page(store, &run, capture))
            .await?;
        tracing::info!(url = %url, capture, "already archived by this run; recorded from the archive");
        if let Some(what) = page.outcome.filter(|o| o.is_refusal()) {
            let detail = format!("{url}: {}", what.describe(page.status));
            self.fail(item, what.as_str(), &detail, Some(capture))
                .await?;
            return Ok(Added::default());
        }
        if let Some(target) = page.location.as_deref().and_then(|l| url.join(l).ok()) {
            return self.follow_redirect(item, url, &target, capture).await;
        }
        let outcome = match (page.revisit, page.had_prior) {
            (true, _) => "unchanged",
            (false, true) => "changed",
            (false, false) => "new",
        };
        let (page_url, looked, text) = (url.clone(), item.clone(), page.text);
        let starts = self.starts_of(&item.source);
        let found = self
            .cpu(move || text.map(|t| discover_on(&looked, &page_url, &t, None, &starts)))
            .await?;
        let answer = Answer {
            status: page.status,
            outcome,
            kind: None,
        };
        self.settle(item, url, answer, capture, None, found).await
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
        if let Some(robots) = self.robots_from_run(&current, &agent).await? {
            let verdict = self.judge(&robots, url);
            self.politeness.set_robots(url, robots);
            return Ok(verdict);
        }
        for _ in 0..=ROBOTS_REDIRECTS {
            claim.wait_turn().await;
            // Always asked in full: a 304 would leave no rules to read.
            let got = self.fetcher.get(&current, &Default::default()).await;
            claim.request_done();
            if let Some(at) = got.as_ref().ok().and_then(|f| f.sent) {
                claim.request_sent(at);
            }
            let fetched = match got {
                Ok(f) => f,
                Err(e) => {
                    return self
                        .robots_unreachable(claim, url, source, &e.to_string(), None)
                        .await
                }
            };
            let status = fetched.status;
            // One byte more than is parsed: `from_answer` then knows the file was cut.
            let body = fetched
                .entity(politeness::ROBOTS_MAX_BYTES as u64 + 1)
                .into_owned();
            let retry_after = fetched
                .header("retry-after")
                .and_then(|v| politeness::parse_retry_after(&v, SystemTime::now()));
            let opts = Options {
                source: Some(source.to_string()),
                ..self.options_for_robots()
            };
            let robots_url = current.clone();
            let hop = self
                .store(move |store| {
                    let prior = pipeline::prior_capture(store, &robots_url, true)?;
                    Ok(pipeline::archive_fetched(store, fetched, prior, &opts)?)
                })
                .await?;
            match hop {
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
                return self
                    .robots_unreachable(claim, url, source, &detail, retry_after)
                    .await;
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
    async fn robots_from_run(
        &self,
        robots_url: &Url,
        agent: &str,
    ) -> Result<Option<Robots>, CrawlError> {
        let (run, key) = (self.run, robots_url.to_string());
        let page = self
            .store(move |store| {
                let captured = frontier::captured_in_run(lock_db(store)?.conn(), &run, &key)?;
                captured
                    .map(|capture| recover::captured_page(store, &run, capture))
                    .transpose()
            })
            .await?;
        let Some(page) = page else {
            return Ok(None);
        };
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
    async fn robots_unreachable(
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
        let (source, detail) = (source.to_string(), detail.to_string());
        self.db(move |db| {
            db.insert_failure(&robots_url, "robots_unreachable", &detail, Some(&source))
                .map_err(PipelineError::from)?;
            Ok(())
        })
        .await?;
        if failures > self.crawl.max_retries {
            self.politeness.set_robots(url, Robots::Unreachable);
            return Ok(Verdict::Unavailable);
        }
        Ok(Verdict::Wait(
            self.politeness.throttled(claim.host(), retry_after),
        ))
    }
}
