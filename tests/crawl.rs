//! `crawl` against a farm of loopback hosts (127.0.1.x are distinct hosts):
//! TRS-style listings with script pagination, reports in GBK and UTF-8, an
//! attachment, robots.txt, 429 with Retry-After, 503, 500, a slow host with
//! ETags, a redirect. Politeness is measured at the servers.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{gbk, Reply, Seen, Server};
use nianbao::config::Config;
use nianbao::crawl::{self, CrawlOptions};
use rusqlite::Connection;

const INTERVAL_MS: u64 = 150;

fn report_page(title: &str, extra: &str) -> String {
    format!(
        "<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>本年新收政府信息公开申请数量</p>{extra}</body></html>"
    )
}

fn gbk_report(title: &str) -> Vec<u8> {
    gbk(&format!(
        "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\">\
         <title>{title}</title></head><body><h1>{title}</h1></body></html>"
    ))
}

/// A TRS listing page: a list of links and the pager script.
fn listing(links: &[(&str, &str)], pages: u32, current: u32) -> String {
    let items: String = links
        .iter()
        .map(|(href, text)| format!("<li><a href=\"{href}\" target=\"_blank\">{text}</a></li>\n"))
        .collect();
    format!(
        "<html><head><meta charset=\"utf-8\"><title>信息公开年报</title></head><body>\
         <a href=\"../\">信息公开</a><ul>{items}</ul>\
         <script>var currentPage = {current};//所在页从0开始\nvar countPage = {pages}//共多少页\n\
         document.write(\"<a href=\\\"index_\" + (currentPage+1) + \".html\\\">下一页</a>\");</script>\
         </body></html>"
    )
}

/// Serve `routes`; answers with `Some` from `special` win.
async fn host(
    ip: &str,
    routes: Vec<(&str, Reply)>,
    special: impl Fn(&Seen) -> Option<Reply> + Send + Sync + 'static,
) -> Server {
    let map: HashMap<String, Reply> = routes
        .into_iter()
        .map(|(p, r)| (p.to_string(), r))
        .collect();
    Server::start(ip, move |seen| {
        special(seen)
            .or_else(|| map.get(&seen.path).cloned())
            .unwrap_or_else(|| Reply::new(404, "text/plain", "not found"))
    })
    .await
}

/// Fails the first `n` requests to `path` with `reply`.
fn fail_first(
    path: &'static str,
    n: usize,
    reply: Reply,
) -> impl Fn(&Seen) -> Option<Reply> + Send + Sync + 'static {
    let count = Arc::new(AtomicUsize::new(0));
    move |seen| {
        (seen.path == path && count.fetch_add(1, Ordering::SeqCst) < n).then(|| reply.clone())
    }
}

/// ETag/304 for every path: the slow host behaves like a good server.
fn etag_aware(seen: &Seen) -> Option<Reply> {
    let tag = format!("\"{}\"", seen.path.len());
    (seen.header("if-none-match") == Some(tag.as_str())).then(|| Reply::new(304, "", ""))
}

struct Farm {
    hosts: Vec<Server>,
    /// Every report URL that must be archived exactly once.
    reports: Vec<String>,
    attachment: String,
    never: Vec<(usize, &'static str)>,
}

async fn farm() -> Farm {
    let a_robots = "User-agent: *\nDisallow: /private/\n\nUser-agent: otherbot\nDisallow: /\n";
    let a = host(
        "127.0.1.1",
        vec![
            ("/robots.txt", Reply::new(200, "text/plain", a_robots)),
            (
                "/xxgk/xxgknb/index.html",
                Reply::html(listing(
                    &[
                        (
                            "./202101/t20210115_1.html",
                            "甲区2020年政府信息公开工作年度报告",
                        ),
                        ("./202101/t20210115_2.html", "甲区召开年度工作会议"),
                        (
                            "/private/t20210115_9.html",
                            "甲区2020年政府信息公开年报（内部）",
                        ),
                    ],
                    3,
                    0,
                )),
            ),
            (
                "/xxgk/xxgknb/index_1.html",
                Reply::html(listing(
                    &[
                        (
                            "./202001/t20200110_3.html",
                            "甲区2019年政府信息公开工作年度报告",
                        ),
                        (
                            "./201901/t20190110_4.html#top",
                            "甲区2018年政府信息公开年度报告",
                        ),
                    ],
                    3,
                    1,
                )),
            ),
            (
                "/xxgk/xxgknb/index_2.html",
                Reply::html(listing(
                    &[("./201801/t20180110_5.html", "甲区2017年政府信息公开年报")],
                    3,
                    2,
                )),
            ),
            (
                "/xxgk/xxgknb/202101/t20210115_1.html",
                Reply::html(report_page("甲区2020年政府信息公开工作年度报告", "")),
            ),
            (
                "/xxgk/xxgknb/202001/t20200110_3.html",
                Reply::new(
                    200,
                    "text/html",
                    gbk_report("甲区2019年政府信息公开工作年度报告"),
                ),
            ),
            (
                "/xxgk/xxgknb/201901/t20190110_4.html",
                Reply::redirect(302, "/xxgk/xxgknb/201901/t20190110_4_new.html"),
            ),
            (
                "/xxgk/xxgknb/201901/t20190110_4_new.html",
                Reply::html(report_page("甲区2018年政府信息公开年度报告", "")),
            ),
            (
                "/xxgk/xxgknb/201801/t20180110_5.html",
                Reply::html(report_page(
                    "甲区2017年政府信息公开年报",
                    "<a href=\"./P020180110.pdf\">附件：全真版</a>",
                )),
            ),
            (
                "/xxgk/xxgknb/201801/P020180110.pdf",
                Reply::new(200, "application/pdf", b"%PDF-1.4 fake".to_vec()),
            ),
        ],
        |_| None,
    )
    .await;
    let b = host(
        "127.0.1.2",
        vec![
            (
                "/nb/",
                Reply::html(listing(
                    &[
                        ("/nb/t20210301_1.html", "乙县2020年政府信息公开工作年度报告"),
                        ("/nb/t20200301_2.html", "乙县2019年政府信息公开工作年度报告"),
                    ],
                    1,
                    0,
                )),
            ),
            (
                "/nb/t20210301_1.html",
                Reply::html(report_page("乙县2020年政府信息公开工作年度报告", "")),
            ),
            (
                "/nb/t20200301_2.html",
                Reply::html(report_page("乙县2019年政府信息公开工作年度报告", "")),
            ),
        ],
        fail_first(
            "/nb/t20210301_1.html",
            1,
            Reply::new(429, "text/plain", "slow down").header("Retry-After", "1"),
        ),
    )
    .await;
    let c_503 = fail_first("/gknb/index.html", 1, Reply::new(503, "text/plain", "busy"));
    let c_500 = fail_first(
        "/gknb/t20210401_1.html",
        1,
        Reply::new(500, "text/plain", "oops"),
    );
    let c = host(
        "127.0.1.3",
        vec![
            (
                "/robots.txt",
                Reply::new(200, "text/plain", "User-agent: *\nCrawl-delay: 0.3\n"),
            ),
            (
                "/gknb/index.html",
                Reply::html(listing(
                    &[("t20210401_1.html", "丙市2020年政府信息公开工作年度报告")],
                    1,
                    0,
                )),
            ),
            (
                "/gknb/t20210401_1.html",
                Reply::html(report_page("丙市2020年政府信息公开工作年度报告", "")),
            ),
        ],
        move |seen| c_503(seen).or_else(|| c_500(seen)),
    )
    .await;
    let pingtan = std::fs::read("tests/fixtures/samples/pingtan-2019-report.html").unwrap();
    let slow = Duration::from_millis(300);
    let tagged = |r: Reply, path: &str| {
        r.header("ETag", &format!("\"{}\"", path.len()))
            .delayed(slow)
    };
    let d = host(
        "127.0.1.4",
        vec![
            (
                "/zfxxgknb/index.html",
                tagged(
                    Reply::html(listing(
                        &[
                            (
                                "./202001/t20200120_80576.htm",
                                "平潭综合实验区2019年政府信息公开工作年度报告",
                            ),
                            (
                                "./202101/t20210120_2.htm",
                                "丁区2020年政府信息公开工作年度报告",
                            ),
                        ],
                        1,
                        0,
                    )),
                    "/zfxxgknb/index.html",
                ),
            ),
            (
                "/zfxxgknb/202001/t20200120_80576.htm",
                tagged(Reply::html(pingtan), "/zfxxgknb/202001/t20200120_80576.htm"),
            ),
            (
                "/zfxxgknb/202101/t20210120_2.htm",
                tagged(
                    Reply::html(report_page("丁区2020年政府信息公开工作年度报告", "")),
                    "/zfxxgknb/202101/t20210120_2.htm",
                ),
            ),
        ],
        |seen| etag_aware(seen).map(|r| r.delayed(Duration::from_millis(300))),
    )
    .await;
    let reports = vec![
        a.url("/xxgk/xxgknb/202101/t20210115_1.html"),
        a.url("/xxgk/xxgknb/202001/t20200110_3.html"),
        a.url("/xxgk/xxgknb/201901/t20190110_4_new.html"),
        a.url("/xxgk/xxgknb/201801/t20180110_5.html"),
        b.url("/nb/t20210301_1.html"),
        b.url("/nb/t20200301_2.html"),
        c.url("/gknb/t20210401_1.html"),
        d.url("/zfxxgknb/202001/t20200120_80576.htm"),
        d.url("/zfxxgknb/202101/t20210120_2.htm"),
    ];
    let attachment = a.url("/xxgk/xxgknb/201801/P020180110.pdf");
    Farm {
        hosts: vec![a, b, c, d],
        reports,
        attachment,
        never: vec![
            (0, "/private/t20210115_9.html"),
            (0, "/xxgk/xxgknb/202101/t20210115_2.html"),
        ],
    }
}

fn config_text(archive: &Path, starts: &[(&str, String)], interval_ms: u64) -> String {
    let mut text = format!(
        "archive = {:?}\n[crawl]\nper_host_interval_ms = {interval_ms}\nmax_concurrency = 8\n\
         user_agent = \"nianbao-test/1.0\"\nmax_retries = 2\ntotal_timeout_s = 5\n\
         max_depth = 3\nmax_pages_per_source = 100\n",
        archive.display().to_string()
    );
    for (name, start) in starts {
        text.push_str(&format!(
            "\n[[sources]]\nname = \"{name}\"\nstart = [\"{start}\"]\n"
        ));
    }
    text
}

fn farm_config(farm: &Farm, archive: &Path) -> Config {
    let starts = [
        ("甲区", farm.hosts[0].url("/xxgk/xxgknb/index.html")),
        ("乙县", farm.hosts[1].url("/nb/")),
        ("丙市", farm.hosts[2].url("/gknb/index.html")),
        ("丁区", farm.hosts[3].url("/zfxxgknb/index.html")),
    ];
    Config::parse(
        &config_text(archive, &starts, INTERVAL_MS),
        Path::new("test.toml"),
    )
    .unwrap()
}

fn count(db: &Connection, sql: &str, url: &str) -> i64 {
    db.query_row(sql, [url], |r| r.get(0)).unwrap()
}

/// Smallest gap between two arrivals at one server.
fn min_gap(server: &Server) -> Option<Duration> {
    let seen = server.seen();
    seen.windows(2)
        .map(|w| w[1].at.duration_since(w[0].at))
        .min()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn farm_is_archived_once_politely_then_revisited() {
    let farm = farm().await;
    let tmp = tempfile::tempdir().unwrap();
    let config = farm_config(&farm, tmp.path());
    let opts = CrawlOptions::default();

    let started = Instant::now();
    let summary = crawl::run(&config, &opts).await.unwrap();
    let first_run = started.elapsed();
    print!("{}", summary.render());
    assert!(!summary.has_failures(), "{}", summary.render());

    let db = Connection::open(tmp.path().join("nianbao.sqlite")).unwrap();
    for url in &farm.reports {
        let full = count(
            &db,
            "SELECT COUNT(*) FROM captures WHERE url = ?1 AND record_type = 'response' AND status = 200",
            url,
        );
        assert_eq!(full, 1, "{url} archived {full} times");
    }
    let pdf = count(
        &db,
        "SELECT COUNT(*) FROM captures WHERE url = ?1 AND status = 200",
        &farm.attachment,
    );
    assert_eq!(pdf, 1, "the report's attachment is archived");
    let gbk_decoded: String = db
        .query_row(
            "SELECT encoding FROM captures WHERE url = ?1",
            [&farm.reports[1]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(gbk_decoded, "gb18030");
    for (i, path) in &farm.never {
        assert_eq!(
            farm.hosts[*i].hits(path),
            0,
            "{path} must never be requested"
        );
    }
    let found: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM frontier WHERE kind = 'report' AND outcome = 'new'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(found as usize, farm.reports.len());
    let anchor: String = db
        .query_row(
            "SELECT anchor FROM frontier WHERE url = ?1",
            [&farm.reports[2]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        anchor, "甲区2018年政府信息公开年度报告",
        "redirect targets keep the title"
    );

    // Politeness, measured at the servers.
    for server in &farm.hosts {
        let gap = min_gap(server).unwrap();
        println!(
            "{}: {} requests, smallest gap {gap:?}",
            server.addr,
            server.seen().len()
        );
        assert!(
            gap >= Duration::from_millis(INTERVAL_MS),
            "{}: gap {gap:?}",
            server.addr
        );
    }
    let b = farm.hosts[1].seen();
    let refused = b
        .iter()
        .position(|s| s.path == "/nb/t20210301_1.html")
        .unwrap();
    let after = b[refused + 1].at.duration_since(b[refused].at);
    println!("after 429 Retry-After: 1 the host was asked again after {after:?}");
    assert!(
        after >= Duration::from_secs(1),
        "Retry-After ignored: {after:?}"
    );
    let delayed = min_gap(&farm.hosts[2]).unwrap();
    assert!(
        delayed >= Duration::from_millis(300),
        "Crawl-delay ignored: {delayed:?}"
    );
    let c = farm.hosts[2].seen();
    let after_503 = c[2].at.duration_since(c[1].at);
    assert!(
        after_503 >= Duration::from_millis(500),
        "503 backoff: {after_503:?}"
    );
    let index_hits = farm.hosts[0].hits("/xxgk/xxgknb/index.html");
    assert_eq!(index_hits, 1);
    assert_eq!(farm.hosts[0].hits("/robots.txt"), 1);

    // `fetch --title`: a report found by the crawl, by part of its title.
    let fetch = |title: &'static str| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_nianbao"));
        cmd.args([
            "--config",
            "no-such-config.toml",
            "fetch",
            "--title",
            title,
            "--archive",
        ])
        .arg(tmp.path());
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
    };
    let one = fetch("甲区2019年").await.unwrap();
    let stdout = String::from_utf8_lossy(&one.stdout);
    assert!(
        stdout.contains(&format!("archived {}", farm.reports[1])),
        "{stdout}"
    );
    let many = fetch("甲区").await.unwrap();
    assert_eq!(many.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&many.stderr).contains("give more of the title"));

    // A second run over the unchanged farm: revisits, no second full copy.
    let before: i64 = db
        .query_row("SELECT MAX(id) FROM captures", [], |r| r.get(0))
        .unwrap();
    let started = Instant::now();
    let summary = crawl::run(&config, &opts).await.unwrap();
    println!(
        "first run {first_run:?}, second run {:?}",
        started.elapsed()
    );
    print!("{}", summary.render());
    assert!(!summary.has_failures());
    let full_again: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM captures WHERE id > ?1 AND record_type = 'response'
               AND status BETWEEN 200 AND 299",
            [before],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(full_again, 0, "unchanged pages are written as revisits");
    for url in &farm.reports {
        let revisits = count(
            &db,
            &format!("SELECT COUNT(*) FROM captures WHERE url = ?1 AND id > {before} AND record_type = 'revisit'"),
            url,
        );
        assert_eq!(revisits, 1, "{url}");
    }
    let conditional = farm.hosts[3]
        .seen()
        .iter()
        .filter(|s| s.header("if-none-match").is_some())
        .count();
    assert_eq!(
        conditional, 3,
        "known pages are asked for with If-None-Match"
    );
    let not_modified: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM captures WHERE id > ?1 AND status = 304",
            [before],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(not_modified, 3);
    assert_eq!(
        summary
            .sources
            .iter()
            .map(|s| s.reports_unchanged)
            .sum::<u64>(),
        9
    );
}

#[tokio::test]
async fn trs_listing_fixture_yields_reports_and_pages() {
    let html =
        std::fs::read_to_string("tests/fixtures/samples/ordos-egb-listing-trs.html").unwrap();
    let page = url::Url::parse("http://egb.ordos.gov.cn/xxgk/xxgknb/").unwrap();
    let links = nianbao::discover::links(&page, &html, nianbao::frontier::Kind::Listing);
    let reports: Vec<_> = links
        .iter()
        .filter(|l| l.kind == nianbao::frontier::Kind::Report)
        .map(|l| l.url.as_str())
        .collect();
    assert_eq!(
        reports,
        [
            "http://egb.ordos.gov.cn/xxgk/xxgknb/202009/t20200903_2748784.html",
            "http://egb.ordos.gov.cn/xxgk/xxgknb/202003/t20200311_2593126.html",
            "http://egb.ordos.gov.cn/xxgk/xxgknb/201905/t20190530_2380968.html",
            "http://egb.ordos.gov.cn/xxgk/xxgknb/201905/t20190530_2380967.html",
        ]
    );
    let pages: Vec<_> = links
        .iter()
        .filter(|l| l.pagination)
        .map(|l| l.url.as_str())
        .collect();
    assert!(
        pages.contains(&"http://egb.ordos.gov.cn/xxgk/xxgknb/index_1.html"),
        "{pages:?}"
    );
    assert!(
        !pages.iter().any(|p| p.contains("index_2")),
        "countPage = 2: {pages:?}"
    );
}

/// A visit that has just read robots.txt gives its place among the requests
/// in flight back while its host's interval runs: with one request in flight
/// at a time, the second host's robots.txt is asked within the first host's
/// interval, not after its page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_waiting_its_turn_after_robots_holds_no_place_in_flight() {
    let robots = || Reply::new(200, "text/plain", "User-agent: *\nAllow: /\n");
    let page = || Reply::html(listing(&[], 1, 0));
    let a = host(
        "127.0.7.1",
        vec![("/robots.txt", robots()), ("/nb/index.html", page())],
        |_| None,
    )
    .await;
    let b = host(
        "127.0.7.2",
        vec![("/robots.txt", robots()), ("/nb/index.html", page())],
        |_| None,
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let starts = [
        ("甲区", a.url("/nb/index.html")),
        ("乙县", b.url("/nb/index.html")),
    ];
    let text = config_text(tmp.path(), &starts, 1500)
        .replace("max_concurrency = 8", "max_concurrency = 1");
    let config = Config::parse(&text, Path::new("test.toml")).unwrap();
    let summary = crawl::run(&config, &CrawlOptions::default()).await.unwrap();
    assert!(!summary.has_failures(), "{}", summary.render());

    let at = |server: &Server, path: &str| {
        server
            .seen()
            .iter()
            .find(|s| s.path == path)
            .map(|s| s.at)
            .unwrap_or_else(|| panic!("{path} was not asked"))
    };
    let (first, second) = if at(&a, "/robots.txt") < at(&b, "/robots.txt") {
        (&a, &b)
    } else {
        (&b, &a)
    };
    assert!(
        at(second, "/robots.txt") < at(first, "/nb/index.html"),
        "the second host's robots.txt waited for the first host's page"
    );
    // Each host still waits its interval between its two requests.
    for server in [&a, &b] {
        let gap = at(server, "/nb/index.html").duration_since(at(server, "/robots.txt"));
        assert!(gap >= Duration::from_millis(1400), "{gap:?}");
    }
}
