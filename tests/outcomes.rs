//! Every capture gets an outcome, and a block page, soft 404 or empty answer
//! is never counted as a report: a site of loopback hosts (127.0.5.x) that
//! answers some report links with 安全狗, 加速乐, 瑞数 and captcha pages, soft
//! 404s of both kinds and an empty 200; a recrawl that meets a block page
//! where a report was; a source whose listing is a challenge, against the
//! real binary.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{Reply, Server};
use nianbao::config::Config;
use nianbao::crawl::{self, CrawlOptions, RunSummary};
use rusqlite::Connection;

const SAFEDOG: &str = "<html><head><title>网站防火墙</title></head><body><h3>您的请求带有不合法参数，已被网站管理员设置拦截！</h3><p>可能原因：您提交的内容包含危险的攻击请求</p><p>如何解决：检查提交内容；如网站托管，请联系空间提供商；普通网站访客，请联系网站管理员</p><p>网站安全狗</p></body></html>";
const JSL: &str = "<script>document.cookie=('_')+('_j')+('sl_clearance')+('=1700000000.123|0|')+(function(){return 'abc'})()+(';max-age=3600;path=/');location.href=location.pathname+location.search</script>";
const RIVERS: &str = "<html><head><meta content=\"{qqqqq.x}\" r='m'><script type=\"text/javascript\" r='m'>$_ts=window['$_ts'];if(!$_ts)$_ts={};$_ts.nsd=84810;$_ts.cd=\"qosDrAAlWG\";</script><script type=\"text/javascript\" charset=\"utf-8\" src=\"/4QbVtADbnLVIc/c.FxJzG50F.dfe1675.js\" r='m'></script></head><body></body></html>";
const CAPTCHA: &str = "<html><head><title>安全验证</title></head><body><form action=\"/verify\">请输入验证码：<img src=\"/captcha.jpg\"><input name=\"code\"><button>提交</button></form></body></html>";
const GONE: &str = "<html><head><title>提示信息</title></head><body><div class=\"err\"><img src=\"/images/404.png\">对不起，您访问的页面不存在或已被删除！</div><a href=\"/\">返回首页</a></body></html>";

/// (path, link text, expected capture outcome, expected frontier outcome)
const CASES: [(&str, &str, &str, &str); 8] = [
    (
        "/nb/t0.html",
        "平潭综合实验区2019年政府信息公开工作年度报告",
        "report",
        "new",
    ),
    (
        "/nb/t1.html",
        "甲2019年政府信息公开工作年度报告",
        "block_waf",
        "block_waf",
    ),
    (
        "/nb/t2.html",
        "乙2019年政府信息公开工作年度报告",
        "block_cookie_script",
        "block_cookie_script",
    ),
    (
        "/nb/t3.html",
        "丙2019年政府信息公开工作年度报告",
        "block_challenge",
        "block_challenge",
    ),
    (
        "/nb/t4.html",
        "丁2019年政府信息公开工作年度报告",
        "block_captcha",
        "block_captcha",
    ),
    (
        "/nb/t5.html",
        "戊2019年政府信息公开工作年度报告",
        "soft_404",
        "soft_404",
    ),
    (
        "/nb/t6.html",
        "己2019年政府信息公开工作年度报告",
        "soft_404",
        "soft_404",
    ),
    (
        "/nb/t7.html",
        "庚2019年政府信息公开工作年度报告",
        "empty",
        "empty",
    ),
];

fn listing() -> String {
    let items: String = CASES
        .iter()
        .map(|(path, text, _, _)| format!("<li><a href=\"{path}\">{text}</a></li>\n"))
        .collect();
    format!(
        "<html><head><meta charset=\"utf-8\"><title>信息公开年报</title></head>\
         <body><ul>{items}</ul></body></html>"
    )
}

fn pingtan() -> Vec<u8> {
    std::fs::read("tests/fixtures/samples/pingtan-2019-report.html").unwrap()
}

/// The hostile site; `blocked` turns the good report into a 安全狗 page.
async fn site(ip: &str, blocked: Arc<AtomicBool>) -> Server {
    let report = pingtan();
    Server::start(ip, move |seen| match seen.path.as_str() {
        "/robots.txt" => Reply::new(404, "text/plain", "no"),
        "/nb/index.html" => Reply::html(listing()),
        "/nb/t0.html" if blocked.load(Ordering::SeqCst) => Reply::html(SAFEDOG),
        "/nb/t0.html" => Reply::html(report.clone()).header("ETag", "\"pingtan\""),
        "/nb/t1.html" => Reply::html(SAFEDOG),
        "/nb/t2.html" => Reply::new(521, "text/html", JSL).header(
            "Set-Cookie",
            "__jsluid_h=0b1c; max-age=31536000; path=/; HttpOnly",
        ),
        "/nb/t3.html" => Reply::new(412, "text/html", RIVERS)
            .header("Set-Cookie", "FSSBBIl1UgzbN7N80S=abc; Path=/; HttpOnly"),
        "/nb/t4.html" => Reply::html(CAPTCHA),
        "/nb/t5.html" => Reply::html(GONE),
        "/nb/t6.html" => Reply::redirect(302, "/index.html"),
        "/nb/t7.html" => Reply::html(""),
        "/index.html" => {
            Reply::html("<html><body><a href=\"/nb/index.html\">年报</a></body></html>")
        }
        _ => Reply::new(404, "text/plain", "not found"),
    })
    .await
}

fn config_text(archive: &Path, starts: &[(&str, String)]) -> String {
    let mut text = format!(
        "archive = {:?}\n[crawl]\nuser_agent = \"nianbao-test/1.0\"\ntotal_timeout_s = 5\n\
         connect_timeout_s = 2\nper_host_interval_ms = 0\nmax_retries = 1\n",
        archive.display().to_string()
    );
    for (name, start) in starts {
        text.push_str(&format!(
            "\n[[sources]]\nname = \"{name}\"\nstart = [\"{start}\"]\n"
        ));
    }
    text
}

async fn crawl_once(config: &Config) -> RunSummary {
    let summary = crawl::run(config, &CrawlOptions::default()).await.unwrap();
    println!("{}", summary.render());
    summary
}

fn one<T: rusqlite::types::FromSql>(db: &Connection, sql: &str, url: &str) -> T {
    db.query_row(sql, [url], |r| r.get(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_pages_soft_404s_and_empty_answers_are_never_reports() {
    let blocked = Arc::new(AtomicBool::new(false));
    let server = site("127.0.5.1", blocked.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let text = config_text(dir.path(), &[("hostile", server.url("/nb/index.html"))]);
    let config = Config::parse(&text, Path::new("t.toml")).unwrap();

    let summary = crawl_once(&config).await;
    let s = &summary.sources[0];
    assert_eq!(s.reports_new, 1, "only the real report is new");
    assert!(summary.has_failures(), "block pages make the run fail");
    assert_eq!(s.blocked_by, None, "the site served content too");
    for kind in [
        "block_waf",
        "block_cookie_script",
        "block_challenge",
        "block_captcha",
        "soft_404",
        "empty",
    ] {
        assert!(
            s.failures.contains_key(kind),
            "{kind} missing from {:?}",
            s.failures
        );
    }
    assert_eq!(s.outcomes.get("report"), Some(&1), "{:?}", s.outcomes);
    assert_eq!(s.outcomes.get("listing"), Some(&1), "{:?}", s.outcomes);
    assert_eq!(s.outcomes.get("soft_404"), Some(&2), "{:?}", s.outcomes);

    let db = Connection::open(dir.path().join("nianbao.sqlite")).unwrap();
    for (path, _, capture, frontier) in CASES {
        let url = server.url(path);
        let got: String = one(
            &db,
            "SELECT outcome FROM captures WHERE url = ?1 ORDER BY id DESC LIMIT 1",
            &url,
        );
        assert_eq!(got, capture, "{path}");
        let got: String = one(&db, "SELECT outcome FROM frontier WHERE url = ?1", &url);
        assert_eq!(got, frontier, "{path}");
    }
    // 加速乐's 521 is a challenge, not a server error to retry.
    assert_eq!(server.hits("/nb/t2.html"), 1);
    // The redirect to the home page was not followed as if it were the report.
    assert_eq!(server.hits("/index.html"), 0);
    let reports: i64 = db
        .query_row("SELECT COUNT(*) FROM reports", [], |r| r.get(0))
        .unwrap();
    assert_eq!(reports, 1, "one report, from the one real page");

    // Recrawl: the report now answers a block page.
    blocked.store(true, Ordering::SeqCst);
    let summary = crawl_once(&config).await;
    let s = &summary.sources[0];
    assert_eq!(s.reports_changed, 0, "a block page is no new version");
    assert_eq!(s.reports_new, 0);
    let url = server.url("/nb/t0.html");
    let got: String = one(&db, "SELECT outcome FROM frontier WHERE url = ?1", &url);
    assert_eq!(got, "block_waf");
    let latest: Vec<(i64, String)> = db
        .prepare("SELECT latest, fetched_at FROM v_reports WHERE url = ?1")
        .unwrap()
        .query_map([&url], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(latest.len(), 1, "the block page added no report");
    assert_eq!(
        latest[0].0, 1,
        "the first capture is still the latest report"
    );
    let blocks: i64 = one(
        &db,
        "SELECT COUNT(*) FROM captures WHERE url = ?1 AND outcome = 'block_waf'",
        &url,
    );
    assert_eq!(blocks, 1, "the block page is archived and recorded as one");

    // The site comes back: compared with the last real capture, unchanged.
    blocked.store(false, Ordering::SeqCst);
    let summary = crawl_once(&config).await;
    assert_eq!(
        summary.sources[0].reports_unchanged,
        1,
        "{}",
        summary.render()
    );
    let asked = server
        .seen()
        .into_iter()
        .rfind(|r| r.path == "/nb/t0.html")
        .unwrap();
    assert_eq!(
        asked.header("if-none-match"),
        Some("\"pingtan\""),
        "validators come from the real report, not the block page"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_served_only_a_challenge_exits_1_and_says_so() {
    let challenge = Server::start("127.0.5.2", |seen| match seen.path.as_str() {
        "/robots.txt" => Reply::new(404, "text/plain", "no"),
        _ => Reply::new(412, "text/html", RIVERS),
    })
    .await;
    let good = site("127.0.5.3", Arc::new(AtomicBool::new(false))).await;
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let text = config_text(
        &archive,
        &[
            ("walled", challenge.url("/col/col123/index.html")),
            ("open", good.url("/nb/index.html")),
        ],
    );
    let config_path = dir.path().join("c.toml");
    std::fs::write(&config_path, text).unwrap();
    let out =
        tokio::task::spawn_blocking(move || common::crawl_command(&config_path).output().unwrap())
            .await
            .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.contains("walled: blocked by an anti-bot challenge (HTTP 412, script)"),
        "{stdout}"
    );
    assert!(!stdout.contains("open: blocked"), "{stdout}");
}
