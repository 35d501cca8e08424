//! Politeness, per host: one request in flight, a minimum gap between the
//! starts of two requests (the configured interval or robots.txt `Crawl-delay`, whichever
//! is larger), robots.txt rules (RFC 9309), and pauses of the whole host when
//! it answers 429 or 503 (`Retry-After`, else exponential backoff with jitter).
//!
//! This module keeps state and makes decisions; it does no I/O. The crawl
//! fetches robots.txt and hands the answer here.
//!
//! robots.txt, answer by answer (RFC 9309 §2.3.1):
//! - 2xx: the rules are parsed from the first `ROBOTS_MAX_BYTES` up to the
//!   last whole line; the rest of a longer file is ignored (§2.5). A body
//!   with no readable rules (binary, an HTML page) forbids nothing.
//! - 3xx: followed, even to another host, up to five times; more, or a
//!   redirect to a scheme that is not fetched, counts as no file.
//! - 4xx but 429: no file, nothing forbidden.
//! - 429, 5xx or no answer: the host is paused (`Retry-After` or backoff)
//!   and robots.txt asked again, up to `max_retries` times; after that the
//!   origin is taken as disallowing everything for the run, and its URLs are
//!   recorded as failed with kind `robots_unavailable`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use texting_robots::Robot;
use url::Url;

/// The most of a robots.txt that is parsed (RFC 9309 §2.5 asks for at least 500 KiB).
pub const ROBOTS_MAX_BYTES: usize = 512 * 1024;
/// The longest single pause of a host, whatever it asks for.
pub const MAX_PAUSE: Duration = Duration::from_secs(3600);
/// The shortest backoff after a 429/503 without `Retry-After`.
const MIN_THROTTLE: Duration = Duration::from_secs(1);

/// Per-host settings, from the crawl config.
#[derive(Debug, Clone)]
pub struct Settings {
    pub interval: Duration,
    pub obey_robots: bool,
    /// The product token matched against robots.txt `User-agent` lines.
    pub agent: String,
}

#[derive(Debug)]
struct HostState {
    busy: bool,
    /// No request before this instant (interval after the last one began).
    ready_at: Instant,
    /// When the last request to this host began.
    last_start: Option<Instant>,
    /// No request before this instant (the host asked us to wait).
    paused_until: Option<Instant>,
    crawl_delay: Option<Duration>,
    /// Consecutive 429/503 answers, for the backoff exponent.
    strikes: u32,
}

impl HostState {
    fn new(now: Instant) -> Self {
        Self {
            busy: false,
            ready_at: now,
            last_start: None,
            paused_until: None,
            crawl_delay: None,
            strikes: 0,
        }
    }

    fn free_at(&self) -> Instant {
        self.paused_until
            .map_or(self.ready_at, |p| p.max(self.ready_at))
    }

    /// When a visit may take the host: its turn less `lead`.
    fn claimable_at(&self, lead: Duration) -> Instant {
        let turn = self.free_at();
        turn.checked_sub(lead).unwrap_or(turn)
    }
}

/// What robots.txt says for one origin.
#[derive(Debug)]
pub enum Robots {
    /// Rules parsed from a 2xx answer.
    Rules(Box<Robot>),
    /// Nothing forbidden: robots.txt was absent (4xx) or not obeyed.
    AllowAll,
    /// A 5xx or no answer: nothing may be fetched until robots.txt is read.
    Unreachable,
}

impl Robots {
    /// Interpret an answer to `GET /robots.txt`.
    ///
    /// A file longer than `ROBOTS_MAX_BYTES` is read up to its last whole
    /// line within the limit and the rest ignored (RFC 9309 §2.5): a rule cut
    /// in two (`Disallow: /` of `Disallow: /old/`) would otherwise say
    /// something the file does not.
    pub fn from_answer(agent: &str, status: u16, body: &[u8]) -> Robots {
        match status {
            200..=299 => {
                let body = match body.get(..ROBOTS_MAX_BYTES) {
                    Some(head) if body.len() > ROBOTS_MAX_BYTES => head
                        .iter()
                        .rposition(|b| *b == b'\n')
                        .and_then(|end| head.get(..=end))
                        .unwrap_or_default(),
                    _ => body,
                };
                match Robot::new(agent, body) {
                    Ok(robot) => Robots::Rules(Box::new(robot)),
                    // An unparseable file forbids nothing it could state.
                    Err(_) => Robots::AllowAll,
                }
            }
            400..=499 if status != 429 => Robots::AllowAll,
            _ => Robots::Unreachable,
        }
    }

    pub fn allows(&self, url: &Url) -> bool {
        match self {
            Robots::Rules(robot) => robot.allowed(url.as_str()),
            Robots::AllowAll => true,
            Robots::Unreachable => false,
        }
    }

    /// The `Crawl-delay` for our agent, if the rules give one.
    pub fn crawl_delay(&self) -> Option<Duration> {
        match self {
            Robots::Rules(robot) => robot
                .delay
                .filter(|d| d.is_finite() && *d > 0.0)
                .map(|d| Duration::from_secs_f32(d.min(MAX_PAUSE.as_secs_f32()))),
            _ => None,
        }
    }
}

/// The per-host state of a run, shared by its tasks.
#[derive(Debug)]
pub struct Politeness {
    settings: Settings,
    hosts: Mutex<HashMap<String, HostState>>,
    robots: Mutex<HashMap<String, Arc<Robots>>>,
    /// Failed reads of robots.txt per origin in this run.
    robots_failures: Mutex<HashMap<String, u32>>,
}

/// The right to send requests to one host; released when dropped.
#[derive(Debug)]
pub struct Claim {
    politeness: Arc<Politeness>,
    host: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.politeness.with_host(&self.host, |h| h.busy = false);
    }
}

impl Claim {
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Wait until this host may be asked again; the request that follows
    /// begins now, and the interval runs from its start (the bound a polite
    /// crawl can reach), while the claim keeps it the only one in flight.
    pub async fn wait_turn(&self) {
        let free_at = self.politeness.with_host(&self.host, |h| h.free_at());
        tokio::time::sleep_until(free_at.into()).await;
        let interval = self.politeness.start_gap(&self.host);
        let now = Instant::now();
        self.politeness.with_host(&self.host, |h| {
            h.last_start = Some(now);
            h.ready_at = now + interval;
        });
    }

    /// The request of this turn was written at `at`, later than its turn
    /// began when a connection had to be set up first or no core was free:
    /// the next may begin no sooner than an interval after `at`, so that the
    /// gap the server sees is the interval even for a request that left late
    /// with none before it to compare with.
    /// Whether this host's turn is further off than the lead a host is
    /// claimed ahead of it by (as after a request for robots.txt).
    pub fn turn_is_far(&self) -> bool {
        let far = Instant::now() + self.politeness.lead(&self.host);
        self.politeness.with_host(&self.host, |h| h.ready_at > far)
    }

    pub fn request_sent(&self, at: Instant) {
        let gap = self.politeness.start_gap(&self.host);
        self.politeness.with_host(&self.host, |h| {
            h.ready_at = h.ready_at.max(at + gap);
        });
    }

    /// A request to this host ended. The next may begin an interval after
    /// this one began, by the interval known now (robots.txt may just have
    /// set a `Crawl-delay`). A request that left late (a new connection, no
    /// core free) has already moved that on in [`Claim::request_sent`]; a
    /// slow answer holds the next back only while it is in flight.
    pub fn request_done(&self) {
        let gap = self.politeness.start_gap(&self.host);
        let now = Instant::now();
        self.politeness.with_host(&self.host, |h| {
            let start = h.last_start.unwrap_or(now);
            h.ready_at = h.ready_at.max(start + gap);
        });
    }
}

impl Politeness {
    pub fn new(settings: Settings) -> Arc<Self> {
        Arc::new(Self {
            settings,
            hosts: Mutex::new(HashMap::new()),
            robots: Mutex::new(HashMap::new()),
            robots_failures: Mutex::new(HashMap::new()),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn with_host<T>(&self, host: &str, f: impl FnOnce(&mut HostState) -> T) -> T {
        let now = Instant::now();
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        f(hosts
            .entry(host.to_string())
            .or_insert_with(|| HostState::new(now)))
    }

    /// The gap between two requests to `host`.
    pub fn interval(&self, host: &str) -> Duration {
        let delay = self.with_host(host, |h| h.crawl_delay);
        delay.map_or(self.settings.interval, |d| d.max(self.settings.interval))
    }

    /// The gap between the starts of two requests to `host` as this side
    /// counts it: the interval and a guard of 2% of it, at least 5 ms and at
    /// most 20 ms. A request reaches the server a little later after its
    /// start when it sets up a connection or its thread is kept waiting for
    /// a core; the guard keeps the gap the server sees at the interval when
    /// that delay is short.
    fn start_gap(&self, host: &str) -> Duration {
        let interval = self.interval(host);
        let guard = (interval / 50).clamp(Duration::from_millis(5), Duration::from_millis(20));
        interval + guard
    }

    /// How long before its turn a host may be claimed: a visit has the
    /// archive to read before it asks (the last capture, cookies), and doing
    /// that while the interval runs out lets the request begin on its turn
    /// rather than that long after it. A tenth of the gap, at most 20 ms:
    /// a claim waiting for its turn holds one of the crawl's slots.
    fn lead(&self, host: &str) -> Duration {
        (self.start_gap(host) / 10).min(Duration::from_millis(20))
    }

    /// Take the host if nobody holds it and its turn comes within its lead;
    /// the claim's [`Claim::wait_turn`] waits for the turn itself.
    pub fn try_claim(self: &Arc<Self>, host: &str) -> Option<Claim> {
        let lead = self.lead(host);
        let claimed = self.with_host(host, |h| {
            if h.busy || h.claimable_at(lead) > Instant::now() {
                return false;
            }
            h.busy = true;
            true
        });
        claimed.then(|| Claim {
            politeness: self.clone(),
            host: host.to_string(),
        })
    }

    /// When `host` may next be claimed (its turn less its lead); `None`
    /// while a task holds it.
    pub fn free_at(&self, host: &str) -> Option<Instant> {
        let lead = self.lead(host);
        self.with_host(host, |h| (!h.busy).then(|| h.claimable_at(lead)))
    }

    /// The host answered 429 or 503: pause it, for `retry_after` when it
    /// said so, else for an exponentially growing, jittered time. Returns the
    /// length of the pause.
    pub fn throttled(&self, host: &str, retry_after: Option<Duration>) -> Duration {
        let interval = self.interval(host);
        self.with_host(host, |h| {
            h.strikes = h.strikes.saturating_add(1);
            let pause = retry_after
                .unwrap_or_else(|| backoff(interval.max(MIN_THROTTLE), h.strikes))
                .min(MAX_PAUSE);
            h.paused_until = Some(Instant::now() + pause);
            pause
        })
    }

    /// The host answered normally: forget earlier throttling.
    pub fn answered(&self, host: &str) {
        self.with_host(host, |h| h.strikes = 0);
    }

    /// The rules for the origin of `url`, once read.
    pub fn robots(&self, url: &Url) -> Option<Arc<Robots>> {
        if !self.settings.obey_robots {
            return Some(Arc::new(Robots::AllowAll));
        }
        let robots = self.robots.lock().unwrap_or_else(|p| p.into_inner());
        robots.get(&origin(url)).cloned()
    }

    /// Remember the rules of the origin of `url` (and its Crawl-delay).
    pub fn set_robots(&self, url: &Url, robots: Robots) {
        if let Some(delay) = robots.crawl_delay() {
            let host = crate::frontier::host_of(url);
            self.with_host(&host, |h| {
                h.crawl_delay = Some(h.crawl_delay.map_or(delay, |d| d.max(delay)));
            });
        }
        let mut map = self.robots.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(origin(url), Arc::new(robots));
    }
}

impl Politeness {
    /// Count a failed read of the robots.txt of the origin of `url`; returns
    /// the failures so far.
    pub fn robots_failed(&self, url: &Url) -> u32 {
        let mut map = self
            .robots_failures
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let n = map.entry(origin(url)).or_insert(0);
        *n += 1;
        *n
    }
}

/// scheme://host:port, the unit robots.txt applies to.
pub fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// `robots.txt` of the origin of `url`.
pub fn robots_url(url: &Url) -> Option<Url> {
    url.join("/robots.txt").ok()
}

/// The product token of a User-Agent (`nianbao/0.1 (…)` → `nianbao`).
pub fn agent_token(user_agent: &str) -> String {
    user_agent
        .split(|c: char| c == '/' || c.is_whitespace())
        .next()
        .filter(|t| !t.is_empty())
        .unwrap_or("nianbao")
        .to_string()
}

/// `base × 2^(attempt-1)`, times a random factor in [0.5, 1.5) so that many
/// clients (or many URLs) do not retry in lockstep; at most `MAX_PAUSE`.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let exp = attempt.saturating_sub(1).min(16);
    let raw = base.saturating_mul(1u32 << exp).min(MAX_PAUSE);
    let jitter: f64 = rand::random_range(0.5..1.5);
    raw.mul_f64(jitter).min(MAX_PAUSE)
}

/// A `Retry-After` value: delta-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            interval: Duration::from_millis(100),
            obey_robots: true,
            agent: "nianbao".into(),
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_grows_with_jitter_and_a_cap() {
        let base = Duration::from_secs(1);
        for attempt in 1..6 {
            let d = backoff(base, attempt);
            let nominal = base * (1 << (attempt - 1));
            assert!(d >= nominal / 2 && d < nominal * 3 / 2, "{attempt}: {d:?}");
        }
        assert!(backoff(base, 40) <= MAX_PAUSE);
    }

    #[test]
    fn one_claim_per_host() {
        let p = Politeness::new(settings());
        let claim = p.try_claim("a.cn");
        assert!(claim.is_some());
        assert!(p.try_claim("a.cn").is_none());
        assert!(p.try_claim("b.cn").is_some());
        if let Some(c) = claim {
            c.request_done();
        }
        // Released, but the interval has not passed.
        assert!(p.try_claim("a.cn").is_none());
    }

    #[test]
    fn the_interval_counts_from_when_the_request_was_written() {
        let p = Politeness::new(settings());
        let Some(claim) = p.try_claim("a.cn") else {
            panic!("a new host is free")
        };
        // Written half a second after its turn (a slow connect): the next
        // turn is an interval after the write, not after the turn.
        let sent = Instant::now() + Duration::from_millis(500);
        claim.request_sent(sent);
        claim.request_done();
        drop(claim);
        // Claimable its lead (10.5 ms) before that turn.
        let free = p.free_at("a.cn");
        assert!(
            free.is_some_and(|f| f >= sent + Duration::from_millis(90)),
            "{free:?} against {sent:?}"
        );
    }

    #[tokio::test]
    async fn a_host_is_claimed_ahead_of_its_turn_and_asked_on_it() {
        let p = Politeness::new(settings());
        let Some(first) = p.try_claim("a.cn") else {
            panic!("a new host is free")
        };
        let before = Instant::now();
        first.wait_turn().await;
        first.request_done();
        drop(first);
        // Gap 105 ms (100 and the guard), lead 10.5 ms.
        let Some(claimable) = p.free_at("a.cn") else {
            panic!("the host was let go")
        };
        assert!(
            claimable >= before + Duration::from_millis(94),
            "{claimable:?}"
        );
        assert!(p.try_claim("a.cn").is_none(), "claimed before its lead");
        tokio::time::sleep_until(claimable.into()).await;
        let Some(second) = p.try_claim("a.cn") else {
            panic!("not claimable within its lead")
        };
        second.wait_turn().await;
        assert!(before.elapsed() >= Duration::from_millis(105));
    }

    #[test]
    fn robots_answers() {
        let url = Url::parse("http://a.cn/private/x.html").ok();
        let Some(url) = url else { return };
        let rules = Robots::from_answer(
            "nianbao",
            200,
            b"User-agent: *\nDisallow: /private/\nCrawl-delay: 2\n",
        );
        assert!(!rules.allows(&url));
        assert_eq!(rules.crawl_delay(), Some(Duration::from_secs(2)));
        assert!(Robots::from_answer("nianbao", 404, b"").allows(&url));
        assert!(!Robots::from_answer("nianbao", 503, b"").allows(&url));
        assert!(!Robots::from_answer("nianbao", 429, b"").allows(&url));
        let p = Politeness::new(settings());
        p.set_robots(&url, rules);
        assert_eq!(p.interval("a.cn"), Duration::from_secs(2));
    }

    #[test]
    fn throttling_pauses_the_host() {
        let p = Politeness::new(settings());
        let pause = p.throttled("a.cn", Some(Duration::from_secs(5)));
        assert_eq!(pause, Duration::from_secs(5));
        assert!(p.try_claim("a.cn").is_none());
        assert!(p
            .free_at("a.cn")
            .is_some_and(|t| t > Instant::now() + Duration::from_secs(4)));
    }
}
