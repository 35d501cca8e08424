//! Hostile sites and faults at the level of a whole crawl, against farms of
//! loopback hosts (127.0.3.x are distinct hosts): link traps that never end,
//! robots.txt that fails, redirects, is huge or is garbage, a 429 storm, a
//! host that goes down and comes back, and the real binary killed at random
//! points. The run always ends, every outcome is recorded for its URL and
//! shows in the summary, and nothing archived is lost or archived twice.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use common::{Reply, Seen, Server};
use nianbao::config::Config;
use nianbao::crawl::{self, CrawlOptions, RunSummary};
use nianbao::warc;
use rusqlite::Connection;

fn report_page(title: &str) -> String {
    format!(
        "<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>本年新收政府信息公开申请数量</p></body></html>"
    )
}

fn links_html(links: &[(String, String)], tail: &str) -> String {
    let items: String = links
        .iter()
        .map(|(href, text)| format!("<li><a href=\"{href}\">{text}</a></li>\n"))
        .collect();
    format!(
        "<html><head><meta charset=\"utf-8\"><title>信息公开年报</title></head>\
         <body><ul>{items}</ul>{tail}</body></html>"
    )
}

/// A site of one listing page with `n` reports under `/nb/`.
fn small_site(tag: &'static str, n: usize) -> impl Fn(&Seen) -> Reply + Send + Sync + 'static {
    move |seen| {
        let path = seen.path.as_str();
        if path == "/nb/index.html" {
            let links: Vec<(String, String)> = (0..n)
                .map(|i| {
                    (
                        format!("./2021/t2021_{i}.html"),
                        format!("{tag}{i}年政府信息公开工作年度报告"),
                    )
                })
                .collect();
            return Reply::html(links_html(&links, ""));
        }
        if let Some(i) = path
            .strip_prefix("/nb/2021/t2021_")
            .and_then(|p| p.strip_suffix(".html"))
        {
            return Reply::html(report_page(&format!("{tag}{i}年政府信息公开工作年度报告")));
        }
        Reply::new(404, "text/plain", "not found")
    }
}

fn small_site_reports(server: &Server, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| server.url(&format!("/nb/2021/t2021_{i}.html")))
        .collect()
}

fn config(archive: &Path, crawl: &str, starts: &[(&str, String)]) -> Config {
    let mut text = format!(
        "archive = {:?}\n[crawl]\nuser_agent = \"nianbao-test/1.0\"\ntotal_timeout_s = 5\n\
         connect_timeout_s = 2\nmax_concurrency = 8\n{crawl}\n",
        archive.display().to_string()
    );
    for (name, start) in starts {
        text.push_str(&format!(
            "\n[[sources]]\nname = \"{name}\"\nstart = [\"{start}\"]\n"
        ));
    }
    Config::parse(&text, Path::new("test.toml")).unwrap()
}

async fn crawl_once(config: &Config) -> RunSummary {
    let started = Instant::now();
    let summary = crawl::run(config, &CrawlOptions::default()).await.unwrap();
    println!("run took {:?}\n{}", started.elapsed(), summary.render());
    summary
}

fn db(archive: &Path) -> Connection {
    Connection::open(archive.join("nianbao.sqlite")).unwrap()
}

/// Full 200 `response` captures of `url`.
fn archived(db: &Connection, url: &str) -> i64 {
    db.query_row(
        "SELECT COUNT(*) FROM captures WHERE url = ?1 AND record_type = 'response' AND status = 200",
        [url],
        |r| r.get(0),
    )
    .unwrap()
}

fn frontier_outcome(db: &Connection, url: &str) -> (String, String) {
    db.query_row(
        "SELECT state, COALESCE(outcome, '') FROM frontier WHERE url = ?1",
        [url],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

fn source<'a>(summary: &'a RunSummary, name: &str) -> &'a crawl::SourceSummary {
    summary.sources.iter().find(|s| s.name == name).unwrap()
}

/// Smallest gap between two arrivals at one server.
fn min_gap(server: &Server) -> Duration {
    server
        .seen()
        .windows(2)
        .map(|w| w[1].at.duration_since(w[0].at))
        .min()
        .unwrap_or(Duration::MAX)
}

/// A TRS listing that never ends: every `index_N.html` links the next one
/// and claims 999 999 pages; only the first three list reports.
fn pagination_trap(seen: &Seen) -> Reply {
    let path = seen.path.as_str();
    let page = match path {
        "/nb/index.html" => Some(0),
        _ => path
            .strip_prefix("/nb/index_")
            .and_then(|p| p.strip_suffix(".html"))
            .and_then(|p| p.parse::<u64>().ok()),
    };
    if let Some(n) = page {
        let links: Vec<(String, String)> = if n < 3 {
            (0..2)
                .map(|i| {
                    (
                        format!("./2021/t2021_{n}_{i}.html"),
                        format!("陷阱区{n}{i}年政府信息公开工作年度报告"),
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        // Pager scripts with made-up names besides the real one.
        let decoys: String = (0..5)
            .map(|i| format!("<script>createPageHTML(999999, 0, \"p{i}\", \"html\");</script>"))
            .collect();
        let tail = format!(
            "<a href=\"index_{}.html\">下一页</a>\
             <script>createPageHTML(999999, {n}, \"index\", \"html\");</script>{decoys}",
            n + 1
        );
        return Reply::html(links_html(&links, &tail));
    }
    if path.starts_with("/nb/2021/t2021_") {
        return Reply::html(report_page("陷阱区年政府信息公开工作年度报告"));
    }
    Reply::new(404, "text/plain", "not found")
}

fn next_day(date: &str) -> String {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map(|d| (d + chrono::Duration::days(1)).to_string())
        .unwrap_or_else(|_| "2021-01-01".into())
}

/// A calendar: every day links the next one, for ever. `numbered` links
/// read like page numbers (the same listing, paged); otherwise each day is
/// a column of its own, one level deeper.
fn calendar(numbered: bool) -> impl Fn(&Seen) -> Reply + Send + Sync + 'static {
    move |seen| {
        let Some(date) = seen.path.strip_prefix("/cal/list.jsp?date=") else {
            if seen.path.starts_with("/cal/t2021") {
                return Reply::html(report_page("日历区2020年政府信息公开工作年度报告"));
            }
            return Reply::new(404, "text/plain", "not found");
        };
        let next = next_day(date);
        let text = if numbered {
            next.replace('-', "")
        } else {
            format!("政府信息公开年报 {next}")
        };
        let mut links = vec![(format!("list.jsp?date={next}"), text)];
        if date == "2021-01-01" {
            links.push((
                "t20210101_1.html".into(),
                "日历区2020年政府信息公开工作年度报告".into(),
            ));
        }
        Reply::html(links_html(&links, ""))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_traps_end_at_the_page_and_depth_caps() {
    let trap = Server::start("127.0.3.1", pagination_trap).await;
    let deep = Server::start("127.0.3.2", calendar(false)).await;
    let paged = Server::start("127.0.3.3", calendar(true)).await;
    let tmp = tempfile::tempdir().unwrap();
    let cap: u32 = 20;
    let config = config(
        tmp.path(),
        &format!(
            "per_host_interval_ms = 20\nmax_retries = 1\nmax_depth = 3\nmax_pages_per_source = {cap}"
        ),
        &[
            ("trap", trap.url("/nb/index.html")),
            ("deep", deep.url("/cal/list.jsp?date=2021-01-01")),
            ("paged", paged.url("/cal/list.jsp?date=2021-01-01")),
        ],
    );
    let summary = crawl_once(&config).await;
    let db = db(tmp.path());

    // The pagination trap: the page cap ends it, with the reports of the
    // pages that list any archived, not starved by ever more listing pages.
    let s = source(&summary, "trap");
    assert_eq!(s.pages, u64::from(cap), "{}", summary.render());
    assert!(s.left > 900, "pages left by the cap: {}", s.left);
    let requested = trap
        .seen()
        .iter()
        .filter(|r| r.path != "/robots.txt")
        .count();
    assert_eq!(requested, cap as usize, "requests beyond the page cap");
    let known: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM frontier WHERE source = 'trap'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    println!("the trap left {known} URLs in the frontier");
    assert!(known < 1100, "one page flooded the frontier: {known}");
    for n in 0..3 {
        for i in 0..2 {
            let url = trap.url(&format!("/nb/2021/t2021_{n}_{i}.html"));
            assert_eq!(archived(&db, &url), 1, "{url}");
        }
    }

    // The calendar, day by day one level deeper: the depth cap ends it.
    let s = source(&summary, "deep");
    let days: Vec<_> = deep
        .seen()
        .iter()
        .filter(|r| r.path.starts_with("/cal/list.jsp"))
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(days.len(), 4, "depth 0 to 3: {days:?}");
    assert_eq!(s.beyond_depth, 1, "{}", summary.render());
    assert_eq!(archived(&db, &deep.url("/cal/t20210101_1.html")), 1);

    // The calendar paged by day numbers: the page cap ends it.
    let s = source(&summary, "paged");
    assert_eq!(s.pages, u64::from(cap));
    assert!(s.left >= 1);
    assert_eq!(archived(&db, &paged.url("/cal/t20210101_1.html")), 1);

    let text = summary.render();
    assert!(text.contains("left for the next run (page cap)"), "{text}");
    assert!(text.contains("beyond the depth cap"), "{text}");
    assert!(!summary.has_failures(), "{text}");
}

/// A site whose listing links a public and a private report.
fn guarded_site(robots: Reply) -> impl Fn(&Seen) -> Reply + Send + Sync + 'static {
    move |seen| match seen.path.as_str() {
        "/robots.txt" => robots.clone(),
        "/robots-real.txt" => {
            Reply::new(200, "text/plain", "User-agent: *\nDisallow: /nb/private/\n")
        }
        "/nb/index.html" => Reply::html(links_html(
            &[
                (
                    "./t20210101_1.html".into(),
                    "公开区2020年政府信息公开工作年度报告".into(),
                ),
                (
                    "./private/t20210101_2.html".into(),
                    "内部区2020年政府信息公开工作年度报告".into(),
                ),
            ],
            "",
        )),
        "/nb/t20210101_1.html" => Reply::html(report_page("公开区2020年政府信息公开工作年度报告")),
        "/nb/private/t20210101_2.html" => {
            Reply::html(report_page("内部区2020年政府信息公开工作年度报告"))
        }
        _ => Reply::new(404, "text/plain", "not found"),
    }
}

/// A 5 MB robots.txt: a rule at the top, a rule cut in two by the 512 KiB
/// parsing limit, and `Disallow: /` far past it.
fn huge_robots() -> Vec<u8> {
    const LIMIT: usize = 512 * 1024;
    let mut text = String::from("User-agent: *\nDisallow: /nb/private/\n");
    while text.len() < LIMIT - 200 {
        text.push_str("# 本网站所有栏目均欢迎抓取，以下为历史规则说明，无实际内容。\n");
    }
    while text.len() < LIMIT - 11 {
        text.push('\n');
    }
    // The cut falls right after "Disallow: /": read as is, it would forbid everything.
    text.push_str("Disallow: /nb/straddling-the-limit/\n");
    while text.len() < 5 * 1024 * 1024 {
        text.push_str("# filler filler filler filler filler filler filler filler\n");
    }
    text.push_str("Disallow: /\n");
    text.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robots_txt_failing_redirected_huge_or_garbage() {
    let failing = Server::start(
        "127.0.3.11",
        guarded_site(Reply::new(500, "text/plain", "internal error")),
    )
    .await;
    let same_host = Server::start(
        "127.0.3.12",
        guarded_site(Reply::redirect(301, "/robots-real.txt")),
    )
    .await;
    let elsewhere = Server::start("127.0.3.14", guarded_site(Reply::new(404, "", ""))).await;
    let other_host = Server::start(
        "127.0.3.13",
        guarded_site(Reply::redirect(302, &elsewhere.url("/robots-real.txt"))),
    )
    .await;
    let huge = Server::start(
        "127.0.3.15",
        guarded_site(Reply::new(200, "text/plain", huge_robots())),
    )
    .await;
    let garbage = Server::start(
        "127.0.3.16",
        guarded_site(Reply::new(200, "text/plain", common::noise(64 * 1024))),
    )
    .await;
    let nowhere = Server::start(
        "127.0.3.17",
        guarded_site(Reply::redirect(301, "ftp://127.0.3.17/robots.txt")),
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let config = config(
        tmp.path(),
        "per_host_interval_ms = 50\nmax_retries = 2\nmax_depth = 3",
        &[
            ("failing", failing.url("/nb/index.html")),
            ("same_host", same_host.url("/nb/index.html")),
            ("other_host", other_host.url("/nb/index.html")),
            ("huge", huge.url("/nb/index.html")),
            ("garbage", garbage.url("/nb/index.html")),
            ("nowhere", nowhere.url("/nb/index.html")),
        ],
    );
    let summary = crawl_once(&config).await;
    let db = db(tmp.path());

    // 5xx: nothing but robots.txt is asked for, a bounded number of times,
    // backing off; then the site is recorded as unavailable (RFC 9309 §2.3.1.4).
    let asked: Vec<_> = failing.seen().iter().map(|s| s.path.clone()).collect();
    assert!(asked.iter().all(|p| p == "/robots.txt"), "{asked:?}");
    assert_eq!(asked.len(), 3, "max_retries + 1 reads: {asked:?}");
    assert!(
        min_gap(&failing) >= Duration::from_millis(500),
        "{:?}",
        min_gap(&failing)
    );
    assert_eq!(
        frontier_outcome(&db, &failing.url("/nb/index.html")),
        ("failed".into(), "robots_unavailable".into())
    );
    let s = source(&summary, "failing");
    assert_eq!(
        s.failures.get("robots_unavailable"),
        Some(&1),
        "{}",
        summary.render()
    );

    // Redirected (same host, another host), huge: the rules that were read
    // are obeyed.
    for (name, server) in [
        ("same_host", &same_host),
        ("other_host", &other_host),
        ("huge", &huge),
    ] {
        assert_eq!(
            server.hits("/nb/private/t20210101_2.html"),
            0,
            "{name}: disallowed path fetched"
        );
        assert_eq!(
            archived(&db, &server.url("/nb/t20210101_1.html")),
            1,
            "{name}"
        );
        assert_eq!(
            frontier_outcome(&db, &server.url("/nb/private/t20210101_2.html")),
            ("blocked".into(), "robots".into()),
            "{name}"
        );
        assert_eq!(source(&summary, name).blocked, 1, "{name}");
        assert!(source(&summary, name).failures.is_empty(), "{name}");
    }
    assert_eq!(elsewhere.hits("/robots-real.txt"), 1);
    // The huge file is archived as sent, whole.
    let stored: i64 = db
        .query_row(
            "SELECT payload_length FROM captures WHERE url = ?1",
            [huge.url("/robots.txt")],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored as usize, huge_robots().len());

    // Garbage, or a redirect to a scheme that is not fetched: no rules, so
    // nothing forbidden (RFC 9309 §2.3.1.3), and robots.txt asked for once.
    for (name, server) in [("garbage", &garbage), ("nowhere", &nowhere)] {
        assert_eq!(
            archived(&db, &server.url("/nb/t20210101_1.html")),
            1,
            "{name}"
        );
        assert_eq!(
            archived(&db, &server.url("/nb/private/t20210101_2.html")),
            1,
            "{name}"
        );
        assert_eq!(server.hits("/robots.txt"), 1, "{name}");
        assert!(source(&summary, name).failures.is_empty(), "{name}");
    }
}

/// After the first `calm` requests, every request answered 429 for `storm`,
/// with a `Retry-After` from `retry_after`; `site` otherwise.
fn stormy(
    calm: usize,
    storm: Duration,
    retry_after: fn() -> String,
    site: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
) -> impl Fn(&Seen) -> Reply + Send + Sync + 'static {
    let state: Mutex<(usize, Option<Instant>)> = Mutex::new((0, None));
    move |seen| {
        let mut state = state.lock().unwrap();
        state.0 += 1;
        if state.0 > calm {
            let start = *state.1.get_or_insert(seen.at);
            if seen.at.duration_since(start) < storm {
                return Reply::new(429, "text/plain", "too many requests")
                    .header("Retry-After", &retry_after());
            }
        }
        site(seen)
    }
}

/// After every 429, the host's next request waited at least `at_least`.
fn honoured_retry_after(server: &Server, at_least: Duration) -> usize {
    let mut refusals = 0;
    for w in server.seen().windows(2) {
        if w[0].status == 429 {
            refusals += 1;
            let gap = w[1].at.duration_since(w[0].at);
            assert!(
                gap >= at_least,
                "{}: asked again {gap:?} after a 429",
                server.addr
            );
        }
    }
    refusals
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_is_waited_out_politely() {
    // Every host: 甲 from its first request (robots.txt), 乙 and 丙 once
    // robots.txt and the listing are read (the reports).
    let storm = Duration::from_millis(1500);
    let one_second = || "1".to_string();
    let date = || httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3));
    let hosts = [
        Server::start(
            "127.0.3.21",
            stormy(0, storm, one_second, small_site("甲", 4)),
        )
        .await,
        Server::start(
            "127.0.3.22",
            stormy(2, storm, one_second, small_site("乙", 4)),
        )
        .await,
        Server::start("127.0.3.23", stormy(2, storm, date, small_site("丙", 4))).await,
    ];
    // A host that never recovers, robots.txt aside.
    let site = small_site("丁", 2);
    let stubborn = Server::start("127.0.3.24", move |seen| {
        if seen.path == "/robots.txt" || seen.path == "/nb/index.html" {
            return site(seen);
        }
        Reply::new(429, "text/plain", "too many requests").header("Retry-After", "1")
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let interval = Duration::from_millis(100);
    let starts: Vec<(&str, String)> = ["甲", "乙", "丙", "丁"]
        .into_iter()
        .zip(hosts.iter().chain([&stubborn]))
        .map(|(name, s)| (name, s.url("/nb/index.html")))
        .collect();
    let config = config(
        tmp.path(),
        "per_host_interval_ms = 100\nmax_retries = 3\nmax_depth = 3",
        &starts,
    );
    let summary = crawl_once(&config).await;
    let db = db(tmp.path());

    for (server, name) in hosts.iter().zip(["甲", "乙", "丙"]) {
        for url in small_site_reports(server, 4) {
            assert_eq!(archived(&db, &url), 1, "{url}");
        }
        let gap = min_gap(server);
        let refusals = honoured_retry_after(server, Duration::from_secs(1));
        println!(
            "{name}: {} requests, {refusals} refused, smallest gap {gap:?}",
            server.seen().len()
        );
        assert!(refusals >= 1, "{name}: the storm was not met");
        assert!(gap >= interval, "{name}: gap {gap:?}");
        let s = source(&summary, name);
        assert!(s.failures.is_empty(), "{}", summary.render());
        // 甲 was refused robots.txt, the others their reports.
        let kind = if name == "甲" {
            "robots_unreachable"
        } else {
            "http_429"
        };
        assert!(s.retried.contains_key(kind), "{}", summary.render());
    }
    // Retries exhausted: failed with its kind, the last refusal archived.
    honoured_retry_after(&stubborn, Duration::from_secs(1));
    assert!(min_gap(&stubborn) >= interval);
    for i in 0..2 {
        let path = format!("/nb/2021/t2021_{i}.html");
        let url = stubborn.url(&path);
        assert_eq!(
            frontier_outcome(&db, &url),
            ("failed".into(), "http_429".into())
        );
        assert_eq!(stubborn.hits(&path), 4, "{url}: max_retries + 1 attempts");
        let kept: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM captures WHERE url = ?1 AND status = 429",
                [&url],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(kept, 1, "{url}: the last refusal is archived");
    }
    assert_eq!(source(&summary, "丁").failures.get("http_429"), Some(&2));
    assert!(
        summary.render().contains("failed: http_429 2"),
        "{}",
        summary.render()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_going_down_is_retried_and_holds_up_no_other() {
    let flaky = Server::start("127.0.3.31", small_site("甲", 6)).await;
    let steady = Server::start("127.0.3.32", small_site("乙", 6)).await;
    let gone = Server::start("127.0.3.33", small_site("丙", 2)).await;
    let tmp = tempfile::tempdir().unwrap();
    let config = config(
        tmp.path(),
        "per_host_interval_ms = 100\nmax_retries = 3\nmax_depth = 3",
        &[
            ("flaky", flaky.url("/nb/index.html")),
            ("steady", steady.url("/nb/index.html")),
            ("gone", gone.url("/nb/index.html")),
        ],
    );
    let run = tokio::spawn(async move { crawl_once(&config).await });
    // One host down after robots.txt and the listing, for good; the other
    // after robots.txt, the listing and a report, for a while.
    let deadline = Instant::now() + Duration::from_secs(20);
    for (server, served) in [(&gone, 2), (&flaky, 3)] {
        while server.seen().len() < served {
            assert!(Instant::now() < deadline, "the crawl did not start");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        server.down().await;
    }
    let went_down = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    flaky.up().await;
    let came_back = Instant::now();
    let summary = run.await.unwrap();
    let db = db(tmp.path());

    for url in small_site_reports(&flaky, 6) {
        assert_eq!(archived(&db, &url), 1, "{url}");
    }
    assert!(min_gap(&flaky) >= Duration::from_millis(100));
    let back_at = flaky.seen().iter().position(|s| s.at > came_back);
    println!(
        "flaky host: {} requests before it went down, {} after it came back",
        back_at.unwrap_or(0),
        flaky.seen().len() - back_at.unwrap_or(0)
    );
    let retried = &source(&summary, "flaky").retried;
    assert!(!retried.is_empty(), "{}", summary.render());
    assert!(
        source(&summary, "flaky").failures.is_empty(),
        "{}",
        summary.render()
    );

    // The steady host was not held up by the other two.
    for url in small_site_reports(&steady, 6) {
        assert_eq!(archived(&db, &url), 1, "{url}");
    }
    let steady_done = steady.seen().last().unwrap().at;
    println!(
        "steady host done {:?} after the others went down",
        steady_done.saturating_duration_since(went_down)
    );
    assert!(
        steady_done < came_back,
        "the steady host waited for the flaky one"
    );

    // The host that never came back: bounded retries, then failed with its kind.
    for url in small_site_reports(&gone, 2) {
        let (state, kind) = frontier_outcome(&db, &url);
        assert_eq!(state, "failed", "{url}");
        assert!(kind == "connect" || kind == "http", "{url}: {kind}");
    }
    let failed: u64 = source(&summary, "gone").failures.values().sum();
    assert_eq!(failed, 2, "{}", summary.render());
}

/// Keep the WARC files a test wrote where CI runs independent readers on
/// them. A run killed between the warcinfo record of its new file and its
/// first exchange leaves a file holding only the warcinfo: valid, read back
/// here with the others, but below the record count CI's check asks of a
/// file (which catches files that are only a gzip header), so not kept.
fn keep_for_ci(dir: &Path, name: &str) -> usize {
    let keep = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("ci-warcs")
        .join(name);
    let _ = std::fs::remove_dir_all(&keep);
    std::fs::create_dir_all(&keep).unwrap();
    let mut kept = 0;
    for f in warc::warc_files(dir).unwrap() {
        if warc::read_all(&f).unwrap().len() >= 3 {
            std::fs::copy(&f, keep.join(f.file_name().unwrap())).unwrap();
            kept += 1;
        }
    }
    kept
}

/// A site of `pages` listing pages (TRS script pager) of `per_page` reports.
fn paged_site(tag: u32, pages: u32, per_page: u32) -> impl Fn(&Seen) -> Reply + Send + Sync {
    move |seen| {
        let path = seen.path.as_str();
        let page = match path {
            "/nb/index.html" => Some(0),
            _ => path
                .strip_prefix("/nb/index_")
                .and_then(|p| p.strip_suffix(".html"))
                .and_then(|p| p.parse::<u32>().ok()),
        };
        if let Some(page) = page {
            let links: Vec<(String, String)> = (0..per_page)
                .map(|i| {
                    let n = page * per_page + i;
                    (
                        format!("./2021/t2021_{n}.html"),
                        format!("{tag}号区{n}年政府信息公开工作年度报告"),
                    )
                })
                .collect();
            let tail = format!("<script>var countPage = {pages}//共多少页</script>");
            return Reply::html(links_html(&links, &tail));
        }
        if let Some(n) = path
            .strip_prefix("/nb/2021/t2021_")
            .and_then(|p| p.strip_suffix(".html"))
        {
            let body = format!(
                "<html><head><meta charset=\"utf-8\"><title>{tag}号区{n}年政府信息公开工作年度报告</title></head><body><p>{}</p></body></html>",
                "年报正文".repeat(300)
            );
            return Reply::html(body);
        }
        Reply::new(404, "text/plain", "not found")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_ten_times_at_random_then_finished_archives_each_report_once() {
    const PAGES: u32 = 3;
    const PER_PAGE: u32 = 6;
    let servers = [
        Server::start("127.0.3.41", paged_site(1, PAGES, PER_PAGE)).await,
        Server::start("127.0.3.42", paged_site(2, PAGES, PER_PAGE)).await,
    ];
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let mut text = format!(
        "archive = {:?}\n[crawl]\nper_host_interval_ms = 30\nuser_agent = \"nianbao-test/1.0\"\n\
         max_retries = 1\ntotal_timeout_s = 5\nwarc_max_file_mb = 1\n",
        archive.display().to_string()
    );
    for (i, s) in servers.iter().enumerate() {
        text.push_str(&format!(
            "\n[[sources]]\nname = \"区{i}\"\nstart = [\"{}\"]\n",
            s.url("/nb/index.html")
        ));
    }
    let config_path = tmp.path().join("nianbao.toml");
    std::fs::write(&config_path, text).unwrap();

    let started = Instant::now();
    let db_path = archive.join("nianbao.sqlite");
    let captures = || {
        Connection::open(&db_path)
            .and_then(|c| c.query_row("SELECT COUNT(*) FROM captures", [], |r| r.get::<_, i64>(0)))
            .unwrap_or(0)
    };
    // (ms after the start, captures when killed, had ended by itself)
    let mut kills = Vec::new();
    for _ in 0..10 {
        let mut child = common::crawl_command(&config_path).spawn().unwrap();
        let after = Duration::from_millis(rand::random_range(20..500));
        tokio::time::sleep(after).await;
        let ended = child.try_wait().unwrap().is_some();
        if !ended {
            child.kill().unwrap(); // SIGKILL
        }
        child.wait().unwrap();
        kills.push((after.as_millis(), captures(), ended));
    }
    let mut last = common::crawl_command(&config_path);
    last.stdout(Stdio::piped());
    let out = tokio::task::spawn_blocking(move || last.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!(
        "kills (ms, captures by then, had ended): {kills:?}; all runs took {:?}\n{stdout}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}");

    let db = Connection::open(archive.join("nianbao.sqlite")).unwrap();
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    // The crawl's writer does not have SQLite enforce foreign keys: after
    // every kill, each row it wrote still refers to rows that are there.
    let dangling: i64 = db
        .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(dangling, 0, "rows refer to rows that are not there");

    // Every WARC file is whole gzip and reads back record by record.
    let files = warc::warc_files(&archive.join("warc")).unwrap();
    let mut responses: HashMap<String, usize> = HashMap::new();
    let mut ids = HashSet::new();
    for file in &files {
        let gzip = Command::new("gzip").arg("-t").arg(file).output().unwrap();
        assert!(gzip.status.success(), "{}: gzip -t failed", file.display());
        for (_, record) in warc::read_all(file).unwrap() {
            if record.header("WARC-Type") == Some("response") {
                let uri = record.header("WARC-Target-URI").unwrap().to_string();
                let (head, _) = record.http_parts();
                if head.starts_with(b"HTTP/1.1 200") {
                    *responses.entry(uri).or_default() += 1;
                }
                ids.insert(record.header("WARC-Record-ID").unwrap().to_string());
            }
        }
    }
    let reports: Vec<String> = servers
        .iter()
        .flat_map(|s| (0..PAGES * PER_PAGE).map(|n| s.url(&format!("/nb/2021/t2021_{n}.html"))))
        .collect();
    for url in &reports {
        assert_eq!(
            responses.get(url),
            Some(&1),
            "{url}: full responses in the WARC files"
        );
        assert_eq!(archived(&db, url), 1, "{url}: capture rows");
    }
    let twice: Vec<_> = responses.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "written twice: {twice:?}");
    let indexed: HashSet<String> = db
        .prepare("SELECT warc_record_id FROM captures WHERE record_type = 'response'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(indexed, ids, "WARC records and index rows differ");
    let unfinished: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM frontier WHERE state <> 'done'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unfinished, 0);
    let kept = keep_for_ci(&archive.join("warc"), "kill9");
    println!("{} WARC files, {kept} kept for CI", files.len());
    assert!(kept >= 1);
}
