//! `nianbao sources find`: from a government portal's home page to its 年报
//! column and those of the departments it hosts, written out as
//! ready-to-paste `[[sources]]` tables.
//!
//! The walk stays on the portal's host (and a host its home page redirects
//! to), obeys robots.txt, takes one turn of the host per request through the
//! crawl's politeness (and waits the interval from the end of the last
//! answer, not only from the start of the last request), and stops at a
//! page budget. Its pages are not
//! archived: they are the way to the reports, and the crawl of the sources
//! it prints archives the columns and reports themselves.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use url::Url;

use crate::config::Config;
use crate::discover::portal::{self, PortalLink, Role};
use crate::discover::{self, Page};
use crate::fetch::{Fetched, Fetcher, Request};
use crate::politeness::{self, Claim, Politeness, Robots, Settings};

#[derive(Debug, thiserror::Error)]
pub enum FindError {
    #[error("{0:?} is not an http or https URL")]
    Url(String),
    #[error(transparent)]
    Fetch(#[from] crate::fetch::FetchError),
}

/// How far a walk may go.
#[derive(Debug, Clone)]
pub struct FindOptions {
    /// Requests per portal at most (robots.txt not counted).
    pub max_pages: u32,
    /// The 行政区划代码 for every source found, when the pages give none.
    pub region: Option<String>,
}

/// Links followed from the home page at most before a column is reached.
const MAX_HOPS: u32 = 6;
/// Redirect hops followed per request.
const MAX_REDIRECTS: usize = 5;
/// Pages larger than this are not read for links.
const MAX_PAGE_BYTES: u64 = 4 * 1024 * 1024;

/// One 年报 column found, as a `[[sources]]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundSource {
    /// The site's or department's name, as printed on the site.
    pub name: String,
    pub region: Option<String>,
    pub start: Url,
    /// The listing platform the column page reads as (`hanweb`, `html` …).
    pub platform: Option<&'static str>,
    /// Report links the column page itself gave.
    pub candidates: usize,
    /// The anchor texts that led here from the home page.
    pub trail: Vec<String>,
}

/// What the walk of one portal found.
#[derive(Debug, Clone)]
pub struct PortalFind {
    pub portal: Url,
    pub sources: Vec<FoundSource>,
    /// Requests sent (robots.txt not counted).
    pub pages: u32,
    /// The budget ran out with links still to follow.
    pub budget_spent: bool,
    /// Departments the portal links to on other hosts (not walked).
    pub elsewhere: Vec<(String, Url)>,
    /// Pages that could not be read, with why.
    pub problems: Vec<String>,
}

/// Whose column a page leads to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Owner {
    Government,
    Department(String),
}

/// A page waiting to be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    url: Url,
    role: Role,
    owner: Owner,
    hops: u32,
    trail: Vec<String>,
    /// Walked after every other page: its owner's column is known, and it
    /// is read only for the departments it may list.
    late: bool,
}

impl Step {
    /// Columns first, then the government's hubs, the department lists, a
    /// department's hubs and last the department pages.
    fn rank(&self) -> u8 {
        match (&self.role, &self.owner) {
            (Role::Column, _) => 5,
            (Role::Hub, Owner::Government) => 4,
            (Role::Departments, _) => 3,
            (Role::Hub, Owner::Department(_)) => 2,
            (Role::Department(_), _) => 1,
        }
    }
}

/// Walk every portal (several at once, each one page at a time).
pub async fn find(
    config: &Config,
    portals: &[String],
    opts: &FindOptions,
) -> Result<Vec<PortalFind>, FindError> {
    let mut urls = Vec::new();
    for p in portals {
        match Url::parse(p.trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => urls.push(u),
            _ => return Err(FindError::Url(p.clone())),
        }
    }
    let fetcher = Arc::new(Fetcher::new(config.fetch.clone())?);
    let politeness = Politeness::new(Settings {
        interval: config.crawl.per_host_interval,
        obey_robots: config.crawl.obey_robots,
        agent: politeness::agent_token(&config.fetch.user_agent),
    });
    let permits = Arc::new(tokio::sync::Semaphore::new(config.crawl.max_concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, url) in urls.into_iter().enumerate() {
        let walk = Walk::new(url, fetcher.clone(), politeness.clone(), opts.clone());
        let permits = permits.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (i, walk.run().await)
        });
    }
    let mut done = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        if let Ok(one) = joined {
            done.push(one);
        }
    }
    done.sort_by_key(|(i, _)| *i);
    Ok(done.into_iter().map(|(_, f)| f).collect())
}

/// The state of one portal's walk.
struct Walk {
    fetcher: Arc<Fetcher>,
    politeness: Arc<Politeness>,
    opts: FindOptions,
    hosts: HashSet<String>,
    robots: HashMap<String, Arc<Robots>>,
    /// When this walk's last answer from each host ended.
    last_end: HashMap<String, Instant>,
    queue: BinaryHeap<(u8, Reverse<u32>, Reverse<u64>, Queued)>,
    seq: u64,
    seen: HashSet<Url>,
    owners_done: HashSet<Owner>,
    site: Option<String>,
    region: Option<String>,
    found: PortalFind,
}

/// A step in the queue (ordered by the tuple around it only).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Queued(Step);

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Queued {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl Walk {
    fn new(
        portal: Url,
        fetcher: Arc<Fetcher>,
        politeness: Arc<Politeness>,
        opts: FindOptions,
    ) -> Self {
        let mut walk = Walk {
            fetcher,
            politeness,
            hosts: HashSet::from([crate::frontier::host_of(&portal)]),
            robots: HashMap::new(),
            last_end: HashMap::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            seen: HashSet::new(),
            owners_done: HashSet::new(),
            site: None,
            region: opts.region.clone(),
            opts,
            found: PortalFind {
                portal: portal.clone(),
                sources: Vec::new(),
                pages: 0,
                budget_spent: false,
                elsewhere: Vec::new(),
                problems: Vec::new(),
            },
        };
        walk.push(Step {
            url: portal,
            role: Role::Hub,
            owner: Owner::Government,
            hops: 0,
            trail: Vec::new(),
            late: false,
        });
        walk
    }

    fn push(&mut self, step: Step) {
        let mut key = step.url.clone();
        key.set_fragment(None);
        if self.seen.insert(key) {
            self.requeue(step);
        }
    }

    fn requeue(&mut self, step: Step) {
        self.seq += 1;
        self.queue.push((
            step.rank(),
            Reverse(step.hops),
            Reverse(self.seq),
            Queued(step),
        ));
    }

    async fn run(mut self) -> PortalFind {
        let mut deferred: Vec<Step> = Vec::new();
        loop {
            let Some((_, _, _, Queued(step))) = self.queue.pop() else {
                // The government's other hubs may still list departments.
                if deferred.is_empty() {
                    break;
                }
                for mut step in std::mem::take(&mut deferred) {
                    step.late = true;
                    self.requeue(step);
                }
                continue;
            };
            if self.owners_done.contains(&step.owner) {
                if step.role == Role::Hub && step.owner == Owner::Government && !step.late {
                    deferred.push(step);
                    continue;
                }
                if step.role != Role::Departments && !step.late {
                    continue;
                }
            }
            if self.found.pages >= self.opts.max_pages {
                self.found.budget_spent = true;
                break;
            }
            let Some((url, text)) = self.read(&step.url).await else {
                continue;
            };
            // The home page names the site; a shell in its place does not.
            if step.owner == Owner::Government {
                if self.site.is_none() {
                    self.site = portal::site_name(&text);
                }
                if self.region.is_none() {
                    self.region = portal::region_code(&text);
                }
            }
            self.visit(step, &url, &text);
        }
        self.found
    }

    /// Take what a fetched page says: a column of its owner, or the links
    /// further towards one.
    fn visit(&mut self, step: Step, url: &Url, text: &str) {
        let mut start = url.clone();
        start.set_fragment(step.url.fragment());
        let starts = [start.clone()];
        let read = discover::discover(&Page {
            anchor: step.trail.last().map(String::as_str),
            starts: &starts,
            ..Page::start(url, text)
        });
        if read.platform == Some("redirect-shell") {
            // The page the shell sends the browser to stands in for it.
            for link in read.links.into_iter().filter(|l| l.pagination) {
                if self.hosts.contains(&crate::frontier::host_of(&link.url)) {
                    self.push(Step {
                        url: link.url,
                        hops: step.hops + 1,
                        ..step.clone()
                    });
                }
            }
            return;
        }
        if step.role == Role::Column || read.platform == Some("gkmlpt") {
            self.record(&step, start, read.platform, read.candidates);
            return;
        }
        if step.hops >= MAX_HOPS {
            return;
        }
        let in_department = matches!(step.owner, Owner::Department(_));
        for link in portal::links(url, text, in_department) {
            self.consider(&step, link);
        }
    }

    fn consider(&mut self, from: &Step, link: PortalLink) {
        let PortalLink { url, text, role } = link;
        if !self.hosts.contains(&crate::frontier::host_of(&url)) {
            if let Role::Department(name) = &role {
                if !self.found.elsewhere.iter().any(|(_, u)| *u == url) {
                    self.found.elsewhere.push((name.clone(), url));
                }
            }
            return;
        }
        let owner = match &role {
            Role::Department(name) => Owner::Department(name.clone()),
            _ => from.owner.clone(),
        };
        let mut trail = from.trail.clone();
        trail.push(text);
        self.push(Step {
            url,
            role,
            owner,
            hops: from.hops + 1,
            trail,
            late: false,
        });
    }

    fn record(&mut self, step: &Step, start: Url, platform: Option<&'static str>, n: usize) {
        let name = match &step.owner {
            Owner::Government => self
                .site
                .clone()
                .unwrap_or_else(|| crate::frontier::host_of(&self.found.portal)),
            Owner::Department(name) => name.clone(),
        };
        if !self.owners_done.insert(step.owner.clone())
            || self.found.sources.iter().any(|s| s.start == start)
        {
            return;
        }
        self.found.sources.push(FoundSource {
            name,
            region: self.region.clone(),
            start,
            platform,
            candidates: n,
            trail: step.trail.clone(),
        });
    }

    /// GET a page, redirects followed on the portal's hosts: the final URL
    /// and its text, or `None` (with the reason noted) when it has none.
    async fn read(&mut self, url: &Url) -> Option<(Url, String)> {
        let mut url = url.clone();
        url.set_fragment(None);
        for hop in 0..=MAX_REDIRECTS {
            if self.found.pages >= self.opts.max_pages {
                self.found.budget_spent = true;
                return None;
            }
            if !self.allowed(&url).await {
                let unread = self
                    .robots
                    .get(&politeness::origin(&url))
                    .is_some_and(|r| matches!(**r, Robots::Unreachable));
                let why = if unread {
                    "robots.txt could not be read, so nothing of the site is asked for"
                } else {
                    "disallowed by robots.txt"
                };
                self.found.problems.push(format!("{url}: {why}"));
                return None;
            }
            self.found.pages += 1;
            let fetched = match self.get(&url).await {
                Ok(f) => f,
                Err(e) => {
                    self.found.problems.push(e.to_string());
                    return None;
                }
            };
            match fetched.status {
                200..=299 => return Some((url, text_of(&fetched))),
                300..=399 => {
                    let next = fetched
                        .raw_header("location")
                        .map(crate::fetch::raw_reference)
                        .and_then(|l| url.join(l.trim()).ok())?;
                    let host = crate::frontier::host_of(&next);
                    if hop == 0 && self.found.pages == 1 {
                        // The home page moving (www., https) moves the portal.
                        self.hosts.insert(host.clone());
                    }
                    if !self.hosts.contains(&host) {
                        self.found
                            .problems
                            .push(format!("{url}: redirects off the portal to {next}"));
                        return None;
                    }
                    url = next;
                }
                status => {
                    self.found.problems.push(format!("{url}: HTTP {status}"));
                    return None;
                }
            }
        }
        self.found
            .problems
            .push(format!("{url}: more than {MAX_REDIRECTS} redirects"));
        None
    }

    /// One request, in its turn of the host, and an interval after the
    /// end of this walk's last answer from it: a walk is one page at a time
    /// and gains nothing from counting from the start.
    async fn get(&mut self, url: &Url) -> Result<Fetched, crate::fetch::FetchError> {
        let host = crate::frontier::host_of(url);
        if let Some(end) = self.last_end.get(&host) {
            let at = *end + self.politeness.interval(&host);
            tokio::time::sleep_until(at.into()).await;
        }
        let claim = turn(&self.politeness, &host).await;
        let answer = self.fetcher.send(url, &Request::default()).await;
        claim.request_done();
        self.last_end.insert(host, Instant::now());
        if let Ok(f) = &answer {
            if matches!(f.status, 429 | 503) {
                let wait = f
                    .header("retry-after")
                    .and_then(|v| politeness::parse_retry_after(&v, std::time::SystemTime::now()));
                self.politeness.throttled(claim.host(), wait);
            } else {
                self.politeness.answered(claim.host());
            }
        }
        answer
    }

    /// What robots.txt says of `url`, read once per origin.
    async fn allowed(&mut self, url: &Url) -> bool {
        if !self.politeness.settings().obey_robots {
            return true;
        }
        let origin = politeness::origin(url);
        if let Some(robots) = self.robots.get(&origin) {
            return robots.allows(url);
        }
        let robots = match politeness::robots_url(url) {
            Some(at) => self.read_robots(at).await,
            None => Robots::AllowAll,
        };
        self.politeness.set_robots(url, robots);
        let robots = self
            .politeness
            .robots(url)
            .unwrap_or_else(|| Arc::new(Robots::AllowAll));
        self.robots.insert(origin, robots.clone());
        robots.allows(url)
    }

    /// robots.txt, redirects followed on the same host.
    async fn read_robots(&mut self, mut at: Url) -> Robots {
        let agent = self.politeness.settings().agent.clone();
        for _ in 0..=MAX_REDIRECTS {
            let fetched = match self.get(&at).await {
                Ok(f) => f,
                Err(e) => {
                    self.found
                        .problems
                        .push(format!("robots.txt unreadable: {e}"));
                    return Robots::Unreachable;
                }
            };
            if !(300..=399).contains(&fetched.status) {
                let body = fetched.entity(politeness::ROBOTS_MAX_BYTES as u64 * 2);
                return Robots::from_answer(&agent, fetched.status, &body);
            }
            let next = fetched
                .raw_header("location")
                .map(crate::fetch::raw_reference)
                .and_then(|l| at.join(l.trim()).ok());
            match next {
                Some(n) if n.host_str() == at.host_str() => at = n,
                // Off the portal: not asked, and read as no file.
                _ => return Robots::AllowAll,
            }
        }
        Robots::AllowAll
    }
}

/// Wait for a turn of `host`: one request in flight, the interval kept.
async fn turn(politeness: &Arc<Politeness>, host: &str) -> Claim {
    loop {
        if let Some(claim) = politeness.try_claim(host) {
            claim.wait_turn().await;
            return claim;
        }
        let at = politeness
            .free_at(host)
            .unwrap_or_else(|| Instant::now() + politeness.interval(host));
        tokio::time::sleep_until(at.into()).await;
    }
}

fn text_of(fetched: &Fetched) -> String {
    let body = fetched.entity(MAX_PAGE_BYTES);
    crate::decode::decode(&body, fetched.header("content-type").as_deref()).text
}

/// The `[[sources]]` tables of every walk, in the format of config files.
/// A name already given to an earlier source is qualified by its site's.
pub fn to_toml(finds: &[PortalFind]) -> String {
    let mut out = String::new();
    let mut names: HashSet<String> = HashSet::new();
    for find in finds {
        out.push_str(&format!(
            "# {}: {} sources, {} pages read\n",
            find.portal,
            find.sources.len(),
            find.pages
        ));
        if find.budget_spent {
            out.push_str("# the page budget ran out first: raise --max-pages to look further\n");
        }
        for problem in &find.problems {
            out.push_str(&format!("# not read: {}\n", one_line(problem)));
        }
        let site = find
            .sources
            .first()
            .map(|s| s.name.clone())
            .unwrap_or_default();
        for s in &find.sources {
            let mut name = s.name.clone();
            if !names.insert(name.clone()) {
                name = format!("{site} {name}");
                names.insert(name.clone());
            }
            out.push_str("\n[[sources]]\n");
            out.push_str(&format!(
                "# read as {} ({} report links on the column page), via {}\n",
                s.platform.unwrap_or("html"),
                s.candidates,
                one_line(&s.trail.join(" › "))
            ));
            out.push_str(&format!("name = {}\n", quoted(&name)));
            if let Some(region) = &s.region {
                out.push_str(&format!("region = {}\n", quoted(region)));
            }
            out.push_str(&format!("start = [{}]\n", quoted(s.start.as_str())));
        }
        for (name, url) in &find.elsewhere {
            out.push_str(&format!(
                "# {} is on another host, not walked: {url}\n",
                one_line(name)
            ));
        }
        out.push('\n');
    }
    out
}

/// A TOML basic string.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_parses_and_qualifies_repeated_names() {
        let url = |s: &str| Url::parse(s).unwrap_or_else(|_| unreachable!());
        let source = |name: &str, start: &str| FoundSource {
            name: name.into(),
            region: Some("350128".into()),
            start: url(start),
            platform: Some("hanweb"),
            candidates: 3,
            trail: vec!["政府信息公开".into(), "年报\n\"x\"".into()],
        };
        let find = |site: &str, host: &str| PortalFind {
            portal: url(&format!("http://{host}/")),
            sources: vec![
                source(site, &format!("http://{host}/nb/")),
                source("县教育局", &format!("http://{host}/jyj/nb/")),
            ],
            pages: 9,
            budget_spent: true,
            elsewhere: vec![],
            problems: vec!["x: HTTP 404\nsecond line".into()],
        };
        let text = to_toml(&[find("甲县人民政府", "a.cn"), find("乙县人民政府", "b.cn")]);
        let config = Config::parse(&text, std::path::Path::new("found.toml"));
        let names: Vec<String> = config
            .map(|c| c.sources.into_iter().map(|s| s.name).collect())
            .unwrap_or_default();
        assert_eq!(
            names,
            [
                "甲县人民政府",
                "县教育局",
                "乙县人民政府",
                "乙县人民政府 县教育局"
            ],
            "{text}"
        );
    }
}
