//! One loopback replica per class of listing platform: Hanweb jpage (POST
//! and its GET fallback), Guangdong gkmlpt (by fragment and by name, page 2
//! a 404), script-literal lists, a year tree with unit-named links, redirect
//! shells, a cookie-gated column and a raw-GBK `Location`, Hanweb's
//! "加载更多" `morecolumndataproxy.jsp`, TRS later pages from the IGS search
//! API, a list only a browser can build (rendered in Chromium), and a
//! portal walked by `sources find` to its columns. Each asserts that
//! every listed report is archived exactly once, that nothing outside the
//! column is asked for, and that politeness holds for API requests too.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

mod common;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{gbk, Reply, Seen, Server};
use nianbao::config::Config;
use nianbao::crawl::{self, CrawlOptions, RunSummary};
use rusqlite::Connection;

const INTERVAL_MS: u64 = 120;

fn report_page(title: &str) -> Reply {
    Reply::html(format!(
        "<html><head><meta charset=\"utf-8\"><title>{title}</title>\
         <meta name=\"ArticleTitle\" content=\"{title}\"></head>\
         <body><h1>{title}</h1><p>一、总体情况</p><p>本年新收政府信息公开申请数量</p></body></html>"
    ))
}

fn config(archive: &Path, sources: &[(&str, String)]) -> Config {
    let mut text = format!(
        "archive = {:?}\n[crawl]\nper_host_interval_ms = {INTERVAL_MS}\nmax_concurrency = 8\n\
         user_agent = \"nianbao-test/1.0\"\nmax_retries = 1\ntotal_timeout_s = 5\n\
         max_depth = 3\nmax_pages_per_source = 200\n",
        archive.display().to_string()
    );
    for (name, start) in sources {
        text.push_str(&format!(
            "\n[[sources]]\nname = \"{name}\"\nstart = [\"{start}\"]\n"
        ));
    }
    Config::parse(&text, Path::new("test.toml")).unwrap()
}

async fn crawl_sources(archive: &Path, sources: &[(&str, String)]) -> RunSummary {
    let summary = crawl::run(&config(archive, sources), &CrawlOptions::default())
        .await
        .unwrap();
    print!("{}", summary.render());
    summary
}

fn db(archive: &Path) -> Connection {
    Connection::open(archive.join("nianbao.sqlite")).unwrap()
}

/// Every URL archived exactly once as a full 200 response.
fn assert_archived_once(archive: &Path, urls: &[String]) {
    let db = db(archive);
    for url in urls {
        let n: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM captures WHERE url = ?1 AND record_type = 'response' AND status = 200",
                [url],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "{url} archived {n} times");
    }
}

/// Only these paths (and robots.txt) were asked for, each once.
fn assert_only(server: &Server, allowed: &[String]) {
    let seen = server.seen();
    let allowed: BTreeSet<&str> = allowed.iter().map(String::as_str).collect();
    for s in &seen {
        assert!(
            s.path == "/robots.txt" || allowed.contains(s.path.as_str()),
            "{} {} was asked for but is outside the column",
            s.method,
            s.path
        );
    }
    for path in &allowed {
        let n = seen.iter().filter(|s| s.path == *path).count();
        assert_eq!(n, 1, "{path} asked {n} times");
    }
}

/// The smallest gap between two arrivals, printed and checked.
fn assert_polite(server: &Server) {
    let seen = server.seen();
    let gap = seen
        .windows(2)
        .map(|w| w[1].at.duration_since(w[0].at))
        .min()
        .unwrap();
    println!(
        "{}: {} requests, smallest gap {gap:?}",
        server.addr,
        seen.len()
    );
    assert!(gap >= Duration::from_millis(INTERVAL_MS), "gap {gap:?}");
}

/// Every WARC record of the archive, inflated, as one text.
fn warc_text(archive: &Path) -> String {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(archive.join("warc")).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        if path.to_string_lossy().ends_with(".gz") {
            flate2::read::MultiGzDecoder::new(&bytes[..])
                .read_to_end(&mut out)
                .unwrap();
        } else {
            out.extend_from_slice(&bytes);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query<'a>(path: &'a str, name: &str) -> Option<&'a str> {
    let (_, q) = path.split_once('?')?;
    q.split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

fn form_field<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    body.split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

// ---------------------------------------------------------------- Hanweb

const HANWEB_TITLES: [&str; 16] = [
    "某县2023年政府信息公开工作年度报告",
    "县教育局",
    "县财政局2023年政府信息公开工作年度报告",
    "高岭镇",
    "某县2022年政府信息公开工作年度报告",
    "县卫生健康局",
    "某县2021年政府信息公开工作年度报告",
    "县民政局",
    "某县2020年度政府信息公开工作年度报告",
    "县公安局",
    "某县2019年政府信息公开工作年度报告",
    "县司法局",
    "某县2018年政府信息公开工作年度报告",
    "县人力资源和社会保障局",
    "某县2017年政府信息公开工作年度报告",
    "县自然资源局",
];

fn hanweb_record(i: usize) -> String {
    let title = HANWEB_TITLES[i - 1];
    format!(
        "<record><![CDATA[\n<li><a href=\"/art/2024/3/{i}/art_1229_{}.html\" title=\"{title}\" target=\"_blank\">{title}</a><span>2024-03-0{}</span></li>]]></record>\n",
        5000 + i,
        i % 9 + 1
    )
}

fn datastore(records: std::ops::RangeInclusive<usize>, total: usize) -> String {
    let body: String = records.map(hanweb_record).collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><datastore><nextgroup><![CDATA[<a href=\"/col/col1229/index.html?uid=4390542&pageNum=2\">下一页</a>]]></nextgroup>\
         <recordset>\n{body}</recordset><totalrecord>{total}</totalrecord><totalpage>{}</totalpage></datastore>",
        total.div_ceil(2)
    )
}

fn hanweb_column(proxy: &str, total: usize, per_page: usize) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>政府信息公开年报 某县人民政府</title>\
         <meta name=\"ColumnName\" content=\"政府信息公开年报\"></head><body>\
         <div class=\"nav\"><a href=\"/index.html\">首页</a><a href=\"/col/col100/index.html\">机构概况</a>\
         <a href=\"/art/2024/1/2/art_100_99.html\">县长调研工作</a></div>\
         <div class=\"main\"><div id=\"4390542\"><script type=\"text/xml\">{}</script></div></div>\
         <script type=\"text/javascript\">\n\
         var param_4390542 = {{\"col\":1,\"appid\":1,\"webid\":3167,\"path\":\"/\",\"columnid\":1229,\"sourceContentType\":1,\"unitid\":\"4390542\",\"webname\":\"某县人民政府\",\"permissiontype\":0}};\n\
         $(document).ready(function() {{ $('#4390542').jpage({{ dataStore: dataStore, perPage: {per_page}, totalRecord: {total}, groupSize: 3,\n\
           proxyUrl: '{proxy}', ajaxParam: param_4390542, barPosition: 'bottom', showMode: 'full' }}); }});\n\
         </script></body></html>",
        datastore(1..=per_page * 3, total)
    )
}

/// The proxy: answers a POST of the column's fields (or, with `get_only`,
/// a GET with the fields in the query) for `startrecord..=endrecord`.
fn hanweb_api(seen: &Seen, proxy: &str, total: usize, get_only: bool) -> Option<Reply> {
    let (path, _) = seen.path.split_once('?')?;
    if path != proxy {
        return None;
    }
    let body = String::from_utf8_lossy(&seen.body).into_owned();
    let fields = if seen.method == "POST" {
        if get_only {
            return Some(Reply::new(405, "text/html", "Method Not Allowed"));
        }
        body.as_str()
    } else {
        seen.path.split_once('?')?.1
    };
    if form_field(fields, "columnid") != Some("1229") || form_field(fields, "webid") != Some("3167")
    {
        return Some(Reply::new(400, "text/plain", "missing fields"));
    }
    let start: usize = query(&seen.path, "startrecord")?.parse().ok()?;
    let end: usize = query(&seen.path, "endrecord")?.parse().ok()?;
    Some(Reply::new(
        200,
        "text/xml;charset=UTF-8",
        datastore(start..=end.min(total), total),
    ))
}

/// The report page of Hanweb record `n` (of `total`), if `path` is one.
fn hanweb_report(path: &str, total: usize) -> Option<Reply> {
    let n = path
        .strip_prefix("/art/2024/3/")
        .and_then(|r| r.split('/').next())
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| (1..=total).contains(n))?;
    Some(report_page(HANWEB_TITLES[n - 1]))
}

async fn hanweb_host(ip: &str, proxy: &'static str, get_only: bool, per_page: usize) -> Server {
    let total = HANWEB_TITLES.len();
    Server::start(ip, move |seen| {
        if let Some(reply) = hanweb_api(seen, proxy, total, get_only) {
            return reply;
        }
        if seen.path == "/col/col1229/index.html" {
            return Reply::html(hanweb_column(proxy, total, per_page));
        }
        if seen.path == "/robots.txt" {
            return Reply::new(200, "text/plain", "User-agent: *\nDisallow: /private/\n");
        }
        if let Some(reply) = hanweb_report(&seen.path, total) {
            return reply;
        }
        Reply::new(404, "text/plain", "not found")
    })
    .await
}

fn hanweb_reports(server: &Server) -> Vec<String> {
    (1..=HANWEB_TITLES.len())
        .map(|i| server.url(&format!("/art/2024/3/{i}/art_1229_{}.html", 5000 + i)))
        .collect()
}

fn path_of(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    rest[rest.find('/').unwrap()..].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanweb_datastore_and_dataproxy_pages() {
    // perPage 2, groupSize 3: 6 records embedded, then groups 7–12 and 13–16.
    let post = hanweb_host("127.0.3.1", "/module/web/jpage/dataproxy.jsp", false, 2).await;
    let get = hanweb_host(
        "127.0.3.2",
        "/module/jslib/jquery/jpage/dataproxy.jsp",
        true,
        2,
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let summary = crawl_sources(
        tmp.path(),
        &[
            ("某县", post.url("/col/col1229/index.html")),
            ("某区", get.url("/col/col1229/index.html")),
        ],
    )
    .await;
    assert!(!summary.has_failures(), "{}", summary.render());
    let reports = hanweb_reports(&post);
    assert_archived_once(tmp.path(), &reports);
    let mut allowed: Vec<String> = reports.iter().map(|u| path_of(u)).collect();
    allowed.push("/col/col1229/index.html".into());
    let groups = [(7, 12), (13, 16)];
    for (a, b) in groups {
        allowed.push(format!(
            "/module/web/jpage/dataproxy.jsp?startrecord={a}&endrecord={b}&perpage=2"
        ));
    }
    assert_only(&post, &allowed);
    let seen = post.seen();
    let api: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.path.contains("dataproxy.jsp"))
        .collect();
    assert_eq!(api.len(), 2);
    assert!(api.iter().all(|s| s.method == "POST"));
    assert!(api.iter().all(|s| s
        .header("content-type")
        .unwrap_or("")
        .starts_with("application/x-www-form-urlencoded")));
    assert_polite(&post);

    // The GET fallback: each POST refused once, then asked by GET.
    let get_reports = hanweb_reports(&get);
    assert_archived_once(tmp.path(), &get_reports);
    let seen = get.seen();
    let api_posts = seen
        .iter()
        .filter(|s| s.method == "POST" && s.path.contains("dataproxy.jsp"))
        .count();
    let api_gets = seen
        .iter()
        .filter(|s| s.method == "GET" && s.path.contains("dataproxy.jsp"))
        .count();
    assert_eq!((api_posts, api_gets), (2, 2), "{seen:#?}");
    assert!(seen
        .iter()
        .all(|s| !s.path.contains("col100") && !s.path.contains("art_100_")));
    assert_polite(&get);

    // The POST's form is in its WARC request record.
    let warc = warc_text(tmp.path());
    let at = warc
        .find("POST /module/web/jpage/dataproxy.jsp?startrecord=7&endrecord=12&perpage=2 HTTP/1.1")
        .expect("POST request record");
    let record = &warc[at..at + 1500.min(warc.len() - at)];
    assert!(
        record.contains("columnid=1229") && record.contains("webid=3167"),
        "{record}"
    );
    let text = summary.render();
    assert!(
        text.contains("hanweb (16 report candidates)"),
        "the summary names the platform: {text}"
    );
    println!(
        "hanweb: {} reports listed, {} archived (POST); {} listed, {} archived (GET fallback)",
        HANWEB_TITLES.len(),
        reports.len(),
        HANWEB_TITLES.len(),
        get_reports.len()
    );
}

// ---------------------------------------------------------------- gkmlpt

fn gkmlpt_shell() -> String {
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>政府信息公开</title>\
     <link rel=\"stylesheet\" href=\"/gkmlpt/static/css/app.css\"></head><body><div id=\"app\"></div>\
     <script>window._CONFIG = {\n  SID: 'gd0012',\n  SITE_NAME: '某市人民政府',\n  TREE: [{\"id\":2700,\"name\":\"概况信息\",\"children\":[{\"id\":2701,\"name\":\"机构职能\",\"children\":[]}]},\
     {\"id\":2850,\"name\":\"政府信息公开\",\"children\":[{\"id\":2852,\"name\":\"政府信息公开指南\",\"children\":[]},{\"id\":2853,\"name\":\"政府信息公开年报\",\"children\":[]}]}]\n};</script>\
     <script src=\"/gkmlpt/static/js/app.js\"></script></body></html>"
        .to_string()
}

fn gkmlpt_article(host: &str, id: u64) -> String {
    format!(
        "http://{host}/gkmlpt/content/{}/{}/post_{id}.html",
        id / 1_000_000,
        id / 1000
    )
}

fn gkmlpt_json(host: &str, ids: &[u64], total: usize) -> String {
    let articles: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(
                "{{\"id\":{id},\"title\":\"{}\",\"url\":\"{}\",\"date\":1709888400,\"publisher\":\"某市政务服务数据管理局\",\"identifier\":\"11440300-0-02-{id}\"}}",
                gkmlpt_title(*id),
                gkmlpt_article(host, *id)
            )
        })
        .collect();
    format!(
        "{{\"total\":{total},\"classify\":{{\"id\":2853,\"name\":\"政府信息公开年报\"}},\"articles\":[{}]}}",
        articles.join(",")
    )
}

fn gkmlpt_title(id: u64) -> String {
    format!("某市{}单位2023年政府信息公开工作年度报告", id % 1000)
}

/// `pages[n-1]` are the ids of API page n; pages beyond answer `beyond`.
async fn gkmlpt_host(ip: &str, pages: Vec<Vec<u64>>, total: usize, beyond: u16) -> Server {
    Server::start(ip, move |seen| {
        let host = seen.header("host").unwrap_or("").to_string();
        if seen.path == "/gkmlpt/index" {
            return Reply::html(gkmlpt_shell());
        }
        if seen.path == "/robots.txt" {
            return Reply::new(404, "text/plain", "");
        }
        if let Some(rest) = seen.path.strip_prefix("/gkmlpt/api/all/2853?") {
            if query(&format!("?{rest}"), "sid") != Some("gd0012") {
                return Reply::new(403, "text/plain", "sid");
            }
            let n: usize = query(&format!("?{rest}"), "page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(1);
            return match pages.get(n - 1) {
                Some(ids) => Reply::new(
                    200,
                    "application/json;charset=UTF-8",
                    gkmlpt_json(&host, ids, total),
                ),
                None if beyond == 200 => {
                    Reply::new(200, "application/json", gkmlpt_json(&host, &[], total))
                }
                None => Reply::new(beyond, "text/html", "<h1>404 Not Found</h1>"),
            };
        }
        let id = seen
            .path
            .rsplit_once("/post_")
            .and_then(|(_, r)| r.strip_suffix(".html"))
            .and_then(|n| n.parse::<u64>().ok());
        match id {
            Some(id) if pages.iter().flatten().any(|i| *i == id) => report_page(&gkmlpt_title(id)),
            _ => Reply::new(404, "text/plain", "not found"),
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gkmlpt_shell_and_api() {
    // By fragment: page 1 carries all twelve though `total` says thirty; page 2 is 404.
    let first: Vec<u64> = (0..12).map(|i| 2_853_100 + i * 7).collect();
    let a = gkmlpt_host("127.0.3.3", vec![first.clone()], 30, 404).await;
    // By name in TREE: three pages, the last partial, then an empty one.
    let pages = vec![
        vec![4_100_001, 4_100_002, 4_100_003],
        vec![4_100_004, 4_100_005, 4_100_006],
        vec![4_100_007],
    ];
    let b = gkmlpt_host("127.0.3.4", pages.clone(), 7, 200).await;
    let tmp = tempfile::tempdir().unwrap();
    let summary = crawl_sources(
        tmp.path(),
        &[
            ("某市", a.url("/gkmlpt/index#2853")),
            ("某区", b.url("/gkmlpt/index")),
        ],
    )
    .await;
    assert!(!summary.has_failures(), "{}", summary.render());
    let host_a = a.addr.to_string();
    let reports_a: Vec<String> = first
        .iter()
        .map(|id| gkmlpt_article(&host_a, *id))
        .collect();
    assert_archived_once(tmp.path(), &reports_a);
    let mut allowed: Vec<String> = reports_a.iter().map(|u| path_of(u)).collect();
    allowed.push("/gkmlpt/index".into());
    allowed.push("/gkmlpt/api/all/2853?page=1&sid=gd0012".into());
    allowed.push("/gkmlpt/api/all/2853?page=2&sid=gd0012".into());
    assert_only(&a, &allowed);
    assert_polite(&a);
    let host_b = b.addr.to_string();
    let reports_b: Vec<String> = pages
        .iter()
        .flatten()
        .map(|id| gkmlpt_article(&host_b, *id))
        .collect();
    assert_archived_once(tmp.path(), &reports_b);
    let mut allowed: Vec<String> = reports_b.iter().map(|u| path_of(u)).collect();
    allowed.push("/gkmlpt/index".into());
    // The partial third page does not say it is the last: the empty fourth does.
    for n in 1..=4 {
        allowed.push(format!("/gkmlpt/api/all/2853?page={n}&sid=gd0012"));
    }
    assert_only(&b, &allowed);
    assert_polite(&b);
    let text = summary.render();
    assert!(text.contains("gkmlpt (12 report candidates)"), "{text}");
    assert!(text.contains("gkmlpt (7 report candidates)"), "{text}");
    println!(
        "gkmlpt: {} listed, {} archived (fragment); {} listed, {} archived (TREE by name)",
        first.len(),
        reports_a.len(),
        pages.iter().flatten().count(),
        reports_b.len()
    );
}

// ---------------------------------------------------------- script lists

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_literal_list() {
    let items = [
        (
            "某部2023年政府信息公开工作年度报告",
            "/zhengce/2024-03/08/content_6937101.htm",
        ),
        (
            "某部2022年政府信息公开工作年度报告",
            "/zhengce/2023-03/10/content_6745102.htm",
        ),
        (
            "某部2021年政府信息公开工作年度报告",
            "/zhengce/2022-03/11/content_5678103.htm",
        ),
    ];
    let objects: Vec<String> = items
        .iter()
        .map(|(t, p)| {
            format!(
                "{{\"aT\": \"{t}\", \"aPd\": \"2024-03-08 17:00\", \"aU\": \"{{\\\"common\\\": \\\"{p}\\\"}}\"}}"
            )
        })
        .collect();
    let page = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>政府信息公开工作年度报告</title></head><body>\
         <div class=\"header\"><a href=\"/\">首页</a><a href=\"/zhengce/index.htm\">政策</a></div>\
         <ul id=\"list\"></ul>\
         <script>var itemObj = [{}];\n\
         var other = [{{\"aT\": \"某省2023年政府信息公开工作年度报告\", \"aU\": \"http://127.0.9.9:9/zhengce/2024-01/02/content_6900001.htm\"}}];\n\
         for (var i = 0; i < itemObj.length; i++) {{ var u = JSON.parse(itemObj[i].aU).common; }}</script></body></html>",
        objects.join(",\n")
    );
    let mut routes: Vec<(String, Reply)> =
        vec![("/zhengce/xxgknb/index.htm".into(), Reply::html(page))];
    for (t, p) in &items {
        routes.push(((*p).to_string(), report_page(t)));
    }
    let server = Server::routes(
        "127.0.3.5",
        routes
            .iter()
            .map(|(p, r)| (p.as_str(), r.clone()))
            .collect(),
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let summary = crawl_sources(
        tmp.path(),
        &[("某部", server.url("/zhengce/xxgknb/index.htm"))],
    )
    .await;
    assert!(!summary.has_failures(), "{}", summary.render());
    let reports: Vec<String> = items.iter().map(|(_, p)| server.url(p)).collect();
    assert_archived_once(tmp.path(), &reports);
    let mut allowed: Vec<String> = items.iter().map(|(_, p)| (*p).to_string()).collect();
    allowed.push("/zhengce/xxgknb/index.htm".into());
    assert_only(&server, &allowed);
    assert_polite(&server);
    assert!(summary
        .render()
        .contains("script-list (3 report candidates)"));
    println!(
        "script list: {} listed, {} archived",
        items.len(),
        reports.len()
    );
}

// ------------------------------------------------- year tree, unit names

fn column_page(title: &str, items: &[(&str, &str)], column_meta: bool) -> Reply {
    let list: String = items
        .iter()
        .map(|(href, text)| {
            format!(
                "<li><a href=\"{href}\" target=\"_blank\">{text}</a><span>2024-01-20</span></li>\n"
            )
        })
        .collect();
    let meta = if column_meta {
        "<meta name=\"ColumnName\" content=\"政府信息公开年报\">"
    } else {
        ""
    };
    Reply::html(format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title>{meta}</head><body>\
         <div class=\"top-nav\"><a href=\"/\">首页</a><a href=\"/zwgk/\">政务公开</a><a href=\"/hdjl/\">互动交流</a></div>\
         <div class=\"position\">当前位置：<a href=\"/\">首页</a> &gt; <a href=\"/zwgk/\">政务公开</a> &gt; <a href=\"/zfxxgknb/\">政府信息公开年报</a></div>\
         <div class=\"sidebar\"><h3>最新动态</h3><ul><li><a href=\"/xwzx/202401/t20240105_901.html\">县长调研春耕</a></li>\
         <li><a href=\"/xwzx/202401/t20240106_902.html\">召开常务会议</a></li></ul></div>\
         <div class=\"list\"><ul>{list}</ul></div>\
         <div class=\"footer\"><a href=\"/about/t20200101_1.html\">关于我们</a></div></body></html>"
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn year_tree_and_unit_named_links() {
    let reports: Vec<(&str, &str)> = vec![
        (
            "/zfxxgknb/2023/202401/t20240120_11.html",
            "高岭镇2023年政府信息公开工作年度报告",
        ),
        (
            "/zfxxgknb/2023/202401/t20240121_12.html",
            "区发展和改革委员会2023年政府信息公开工作年度报告",
        ),
        (
            "/zfxxgknb/2023/jw/202401/t20240125_13.html",
            "区教育委员会2023年政府信息公开工作年度报告",
        ),
        (
            "/zfxxgknb/2023/202401/wjw/t20240122_16.html",
            "区卫生健康委员会2023年政府信息公开工作年度报告",
        ),
        (
            "/zfxxgknb/gknb2022/202301/t20230118_21.html",
            "高岭镇2022年政府信息公开工作年度报告",
        ),
        (
            "/zfxxgknb/gknb2022/202301/t20230119_22.html",
            "区教育委员会2022年政府信息公开工作年度报告",
        ),
    ];
    let mut routes: Vec<(&str, Reply)> = vec![
        (
            "/zfxxgknb/",
            column_page(
                "政府信息公开年报_某区人民政府",
                &[("./2023/", "2023年度"), ("./gknb2022/index.html", "2022年")],
                true,
            ),
        ),
        (
            "/zfxxgknb/2023/",
            column_page(
                "2023年度_政府信息公开年报_某区人民政府",
                &[
                    ("./202401/t20240120_11.html", "高岭镇"),
                    ("./202401/t20240121_12.html", "区发展和改革委员会"),
                    ("./jw/", "区教育委员会"),
                    ("./202401/t20240122_15.html", "区卫生健康委员会"),
                ],
                true,
            ),
        ),
        (
            "/zfxxgknb/2023/jw/",
            column_page(
                "区教育委员会_2023年度_政府信息公开年报",
                &[("./202401/t20240125_13.html", "区教育委员会")],
                false,
            ),
        ),
        // A unit's link that leads to its own list of one report.
        (
            "/zfxxgknb/2023/202401/t20240122_15.html",
            column_page(
                "区卫生健康委员会",
                &[("./wjw/t20240122_16.html", "区卫生健康委员会")],
                true,
            ),
        ),
        (
            "/zfxxgknb/gknb2022/index.html",
            column_page(
                "2022年_政府信息公开年报_某区人民政府",
                &[
                    ("./202301/t20230118_21.html", "高岭镇"),
                    ("./202301/t20230119_22.html", "区教育委员会"),
                ],
                true,
            ),
        ),
    ];
    for (path, title) in &reports {
        routes.push((path, report_page(title)));
    }
    let server = Server::routes("127.0.3.6", routes.clone()).await;
    let tmp = tempfile::tempdir().unwrap();
    let summary = crawl_sources(tmp.path(), &[("某区", server.url("/zfxxgknb/"))]).await;
    assert!(!summary.has_failures(), "{}", summary.render());
    let urls: Vec<String> = reports.iter().map(|(p, _)| server.url(p)).collect();
    assert_archived_once(tmp.path(), &urls);
    let allowed: Vec<String> = routes.iter().map(|(p, _)| (*p).to_string()).collect();
    assert_only(&server, &allowed);
    assert_polite(&server);
    let db = db(tmp.path());
    let read_as: Option<String> = db
        .query_row(
            "SELECT platform FROM frontier WHERE url = ?1",
            [server.url("/zfxxgknb/2023/202401/t20240122_15.html")],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        read_as.as_deref(),
        Some("report-column"),
        "a candidate that is a column page is read as a listing"
    );
    println!(
        "year tree: {} listed, {} archived",
        reports.len(),
        urls.len()
    );
}

// ------------------------------------------------------ redirect shells

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_shells() {
    let refresh = "<html><head><meta http-equiv=\"refresh\" content=\"0; url=./zfxxgknb/\"></head><body></body></html>";
    let scripted = "<html><head><script type=\"text/javascript\">window.location.replace(\"./nb/index.html\");</script></head><body>正在跳转…</body></html>";
    let href =
        "<html><head><script>location.href = \"/bm/cz/ndbg/\";</script></head><body></body></html>";
    let listing = |items: &[(&str, &str)]| {
        let list: String = items
            .iter()
            .map(|(h, t)| format!("<li><a href=\"{h}\">{t}</a></li>"))
            .collect();
        Reply::html(format!(
            "<html><head><meta charset=\"utf-8\"><title>信息公开年报</title></head><body><a href=\"/\">首页</a><ul>{list}</ul></body></html>"
        ))
    };
    let routes: Vec<(&str, Reply)> = vec![
        ("/xxgk/", Reply::html(refresh)),
        (
            "/xxgk/zfxxgknb/",
            listing(&[(
                "./202401/t20240110_1.html",
                "某县2023年政府信息公开工作年度报告",
            )]),
        ),
        ("/bm/jyj/", Reply::html(scripted)),
        (
            "/bm/jyj/nb/index.html",
            listing(&[(
                "./202401/t20240111_2.html",
                "县教育局2023年政府信息公开工作年度报告",
            )]),
        ),
        ("/bm/cz/", Reply::html(href)),
        (
            "/bm/cz/ndbg/",
            listing(&[(
                "./202401/t20240112_3.html",
                "县财政局2023年政府信息公开工作年度报告",
            )]),
        ),
        (
            "/xxgk/zfxxgknb/202401/t20240110_1.html",
            report_page("某县2023年政府信息公开工作年度报告"),
        ),
        (
            "/bm/jyj/nb/202401/t20240111_2.html",
            report_page("县教育局2023年政府信息公开工作年度报告"),
        ),
        (
            "/bm/cz/ndbg/202401/t20240112_3.html",
            report_page("县财政局2023年政府信息公开工作年度报告"),
        ),
    ];
    let server = Server::routes("127.0.3.7", routes.clone()).await;
    let tmp = tempfile::tempdir().unwrap();
    let summary = crawl_sources(
        tmp.path(),
        &[
            ("某县", server.url("/xxgk/")),
            ("县教育局", server.url("/bm/jyj/")),
            ("县财政局", server.url("/bm/cz/")),
        ],
    )
    .await;
    assert!(!summary.has_failures(), "{}", summary.render());
    let reports: Vec<String> = routes
        .iter()
        .filter(|(p, _)| p.ends_with(".html") && p.contains("/t2024"))
        .map(|(p, _)| server.url(p))
        .collect();
    assert_eq!(reports.len(), 3);
    assert_archived_once(tmp.path(), &reports);
    let allowed: Vec<String> = routes.iter().map(|(p, _)| (*p).to_string()).collect();
    assert_only(&server, &allowed);
    assert_polite(&server);
    assert!(summary.render().contains("redirect-shell"));
    println!("shells: 3 listed, {} archived", reports.len());
}

// ------------------------------------------- cookies and a GBK Location

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_gated_column_and_gbk_location() {
    let issued = Arc::new(AtomicBool::new(false));
    let gbk_path: String = gbk("/gknb/年报2023.html")
        .iter()
        .map(|b| {
            if b.is_ascii() {
                (*b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let gbk_served = gbk_path.clone();
    let flag = issued.clone();
    let server = Server::start("127.0.3.8", move |seen| {
        let has_session = seen
            .header("cookie")
            .is_some_and(|c| c.split("; ").any(|kv| kv == "JSESSIONID=s3cr3t"));
        if seen.path == "/robots.txt" {
            return Reply::new(404, "text/plain", "");
        }
        if !has_session {
            // Only the very first request gets the cookie: a crawler that
            // forgets it (or loses it between runs) is refused from then on.
            if flag.swap(true, Ordering::SeqCst) {
                return Reply::new(403, "text/html", "<h1>403 Forbidden</h1>");
            }
            if seen.path != "/gknb/index.html" {
                return Reply::new(403, "text/html", "<h1>403 Forbidden</h1>");
            }
        }
        let reply = match seen.path.as_str() {
            "/gknb/index.html" => Reply::html(
                "<html><head><meta charset=\"utf-8\"><title>政府信息公开年报</title></head><body><ul>\
                 <li><a href=\"/gknb/t20240110_1.html\">某县2023年政府信息公开工作年度报告</a></li>\
                 <li><a href=\"/gknb/old.aspx?id=2022\">某县2022年政府信息公开工作年度报告</a></li>\
                 </ul></body></html>",
            ),
            "/gknb/t20240110_1.html" => report_page("某县2023年政府信息公开工作年度报告"),
            "/gknb/old.aspx?id=2022" => Reply::new(302, "text/html", "")
                .raw_header("Location", &gbk("/gknb/年报2023.html")),
            p if p == gbk_served => report_page("某县2022年政府信息公开工作年度报告"),
            _ => Reply::new(404, "text/plain", "not found"),
        };
        if has_session {
            reply
        } else {
            reply.header("Set-Cookie", "JSESSIONID=s3cr3t; Path=/; HttpOnly")
        }
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let sources = [("某县", server.url("/gknb/index.html"))];
    let summary = crawl_sources(tmp.path(), &sources).await;
    assert!(!summary.has_failures(), "{}", summary.render());
    let reports = vec![server.url("/gknb/t20240110_1.html"), server.url(&gbk_path)];
    assert_archived_once(tmp.path(), &reports);
    assert_eq!(
        server.hits(&gbk_path),
        1,
        "the GBK bytes are sent as they came"
    );
    assert!(
        server.seen().iter().all(|s| s.status != 403),
        "{:#?}",
        server.seen()
    );
    assert_polite(&server);
    // A second run holds the session from the archive.
    let before = server.seen().len();
    let summary = crawl_sources(tmp.path(), &sources).await;
    assert!(!summary.has_failures(), "{}", summary.render());
    let again = server.seen();
    assert!(again.len() > before);
    assert!(
        again[before..].iter().all(|s| s.status != 403),
        "{again:#?}"
    );
    println!(
        "cookies + GBK Location: 2 listed, {} archived",
        reports.len()
    );
}

// ------------------------------------------------- sources find: a portal

/// A plain page of `links` (href, text) under a title.
fn plain_page(title: &str, links: &[(&str, &str)]) -> Reply {
    let list: String = links
        .iter()
        .map(|(h, t)| format!("<li><a href=\"{h}\">{t}</a></li>\n"))
        .collect();
    Reply::html(format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><ul>{list}</ul></body></html>"
    ))
}

const PORTAL_GOV_REPORTS: [(&str, &str); 3] = [
    (
        "/zwgk/fdzdgk/zfxxgknb/202401/t20240110_1.html",
        "某县2023年政府信息公开工作年度报告",
    ),
    (
        "/zwgk/fdzdgk/zfxxgknb/202301/t20230112_2.html",
        "某县2022年政府信息公开工作年度报告",
    ),
    (
        "/zwgk/fdzdgk/zfxxgknb/202201/t20220114_3.html",
        "某县2021年政府信息公开工作年度报告",
    ),
];

const PORTAL_CZJ_REPORTS: [(&str, &str); 2] = [
    (
        "/bm/czj/nb/202401/t20240115_7.html",
        "县财政局2023年政府信息公开工作年度报告",
    ),
    (
        "/bm/czj/nb/202301/t20230116_8.html",
        "县财政局2022年政府信息公开工作年度报告",
    ),
];

/// A county portal: home → 政务公开 → 法定主动公开内容 → 政府信息公开年报
/// (a plain list); 政务公开 → 部门信息公开 → 县教育局 → 信息公开 → its Hanweb
/// column; → 县财政局 (a redirect shell) → its plain 年报 list; 县卫生健康局 on `elsewhere`.
async fn portal_host(ip: &str, elsewhere: String) -> Server {
    let proxy = "/module/web/jpage/dataproxy.jsp";
    let total = HANWEB_TITLES.len();
    Server::start(ip, move |seen| {
        if let Some(reply) = hanweb_api(seen, proxy, total, false) {
            return reply;
        }
        if let Some(reply) = hanweb_report(&seen.path, total) {
            return reply;
        }
        if let Some((_, title)) = PORTAL_GOV_REPORTS
            .iter()
            .chain(PORTAL_CZJ_REPORTS.iter())
            .find(|(p, _)| *p == seen.path)
        {
            return report_page(title);
        }
        match seen.path.as_str() {
            "/robots.txt" => Reply::new(200, "text/plain", "User-agent: *\nDisallow: /private/\n"),
            "/" => Reply::html(format!(
                "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>首页 - 某县人民政府门户网站</title>\
                 <meta name=\"SiteName\" content=\"某县人民政府\"><meta name=\"SiteIdcode\" content=\"3501280001\"></head><body>\
                 <div class=\"nav\"><a href=\"/\">首页</a><a href=\"/xwzx/\">新闻中心</a><a href=\"/zwgk/\">政务公开</a>\
                 <a href=\"/hdjl/\">互动交流</a><a href=\"/private/xxgk/\">信息公开（内网）</a></div>\
                 <ul><li><a href=\"/xwzx/202401/t20240105_901.html\">县长调研春耕</a></li>\
                 <li><a href=\"/xwzx/202401/t20240106_902.html\">召开常务会议</a></li></ul>\
                 <div class=\"links\"><a href=\"{elsewhere}\">县卫生健康局</a><a href=\"http://127.0.5.9:9/\">市人民政府</a></div>\
                 </body></html>"
            )),
            "/zwgk/" => plain_page(
                "政务公开_某县人民政府",
                &[
                    ("/", "首页"),
                    ("/zwgk/zn/", "政府信息公开指南"),
                    ("/zwgk/fdzdgk/", "法定主动公开内容"),
                    ("/zwgk/bmxxgk/", "部门信息公开"),
                    ("/zwgk/zcwj/", "政策文件"),
                ],
            ),
            "/zwgk/fdzdgk/" => plain_page(
                "法定主动公开内容_某县人民政府",
                &[
                    ("/zwgk/fdzdgk/jgzn/", "机构职能"),
                    ("/zwgk/fdzdgk/czyjs/", "财政预决算"),
                    ("/zwgk/fdzdgk/zfxxgknb/", "政府信息公开年报"),
                ],
            ),
            "/zwgk/fdzdgk/jgzn/" => plain_page(
                "机构职能_某县人民政府",
                &[("/zwgk/fdzdgk/jgzn/t20230101_5.html", "县人民政府职能")],
            ),
            "/zwgk/fdzdgk/zfxxgknb/" => plain_page(
                "政府信息公开年报_某县人民政府",
                &PORTAL_GOV_REPORTS.map(|(p, t)| (p, t)),
            ),
            "/zwgk/bmxxgk/" => Reply::html(format!(
                "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>部门信息公开</title></head><body><ul>\
                 <li><a href=\"/bm/jyj/\">县教育局</a></li><li><a href=\"/bm/czj/\">县财政局</a></li>\
                 <li><a href=\"{elsewhere}\">县卫生健康局</a></li></ul></body></html>"
            )),
            "/bm/jyj/" => plain_page(
                "县教育局",
                &[
                    ("/", "首页"),
                    ("/bm/jyj/gzdt/", "工作动态"),
                    ("/bm/jyj/xxgk/", "信息公开"),
                ],
            ),
            "/bm/jyj/xxgk/" => plain_page(
                "县教育局 信息公开",
                &[
                    ("/bm/jyj/xxgk/zn/", "信息公开指南"),
                    ("/col/col1229/index.html", "信息公开年报"),
                ],
            ),
            "/col/col1229/index.html" => Reply::html(hanweb_column(proxy, total, 2)),
            "/bm/czj/" => Reply::html(
                "<html><head><meta http-equiv=\"refresh\" content=\"0; url=./index.html\"></head><body></body></html>",
            ),
            "/bm/czj/index.html" => plain_page(
                "县财政局",
                &[("/bm/czj/gzdt/", "工作动态"), ("/bm/czj/nb/", "政府信息公开年报")],
            ),
            "/bm/czj/nb/" => plain_page(
                "政府信息公开年报 县财政局",
                &PORTAL_CZJ_REPORTS.map(|(p, t)| (p, t)),
            ),
            _ => plain_page("某县人民政府", &[("/", "首页")]),
        }
    })
    .await
}

fn crawl_settings(archive: &Path) -> String {
    format!(
        "archive = {:?}\n[crawl]\nper_host_interval_ms = {INTERVAL_MS}\nmax_concurrency = 8\n\
         user_agent = \"nianbao-test/1.0\"\nmax_retries = 1\ntotal_timeout_s = 5\n\
         max_depth = 3\nmax_pages_per_source = 200\n",
        archive.display().to_string()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_find_walks_a_portal_to_its_columns() {
    let elsewhere = Server::routes("127.0.5.2", vec![]).await;
    let portal = portal_host("127.0.5.1", elsewhere.url("/")).await;
    let tmp = tempfile::tempdir().unwrap();
    let settings = tmp.path().join("find.toml");
    std::fs::write(&settings, crawl_settings(&tmp.path().join("unused"))).unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_nianbao"))
        .arg("--config")
        .arg(&settings)
        .args(["sources", "find", &portal.url("/")])
        .env("NIANBAO_LOG", "warn")
        .output()
        .await
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    println!("{printed}{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "exit {:?}", output.status);

    // The printed tables parse with the config loader and name the three columns.
    let text = format!("{}\n{printed}", crawl_settings(&tmp.path().join("archive")));
    let config = Config::parse(&text, Path::new("found.toml")).unwrap();
    let found: Vec<(String, Option<String>, String)> = config
        .sources
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.region.clone(),
                s.start.iter().map(|u| path_of(u.as_str())).collect(),
            )
        })
        .collect();
    let region = Some("350128".to_string());
    assert_eq!(
        found,
        [
            (
                "某县人民政府".to_string(),
                region.clone(),
                "/zwgk/fdzdgk/zfxxgknb/".to_string()
            ),
            (
                "县教育局".to_string(),
                region.clone(),
                "/col/col1229/index.html".to_string()
            ),
            ("县财政局".to_string(), region, "/bm/czj/nb/".to_string()),
        ]
    );
    assert!(printed.contains("read as hanweb"), "{printed}");
    assert!(
        printed.contains("县卫生健康局 is on another host"),
        "{printed}"
    );

    // The walk kept to the portal's host, to robots.txt, and to the interval.
    assert!(elsewhere.seen().is_empty(), "{:#?}", elsewhere.seen());
    let seen = portal.seen();
    assert!(seen.iter().all(|s| !s.path.starts_with("/private/")));
    assert!(
        seen.iter()
            .all(|s| !s.path.contains("/art/") && !s.path.contains("/t20")),
        "the walk reads no report: {seen:#?}"
    );
    let mut paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
    let asked = paths.len();
    paths.sort_unstable();
    paths.dedup();
    assert_eq!(paths.len(), asked, "a page asked twice: {paths:?}");
    assert_polite(&portal);
    println!("sources find: {asked} requests");

    // A crawl of the printed sources archives every listed report.
    let before = portal.seen().len();
    let summary = crawl::run(&config, &CrawlOptions::default()).await.unwrap();
    print!("{}", summary.render());
    assert!(!summary.has_failures(), "{}", summary.render());
    let mut reports: Vec<String> = PORTAL_GOV_REPORTS
        .iter()
        .chain(PORTAL_CZJ_REPORTS.iter())
        .map(|(p, _)| portal.url(p))
        .collect();
    reports.extend(hanweb_reports(&portal));
    assert_archived_once(&tmp.path().join("archive"), &reports);
    let crawled = &portal.seen()[before..];
    assert!(crawled
        .iter()
        .all(|s| !s.path.starts_with("/private/") && !s.path.starts_with("/xwzx/")));
    println!(
        "portal: {} reports listed, {} archived",
        reports.len(),
        reports.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_find_keeps_to_its_page_budget() {
    let elsewhere = Server::routes("127.0.5.4", vec![]).await;
    let portal = portal_host("127.0.5.3", elsewhere.url("/")).await;
    let tmp = tempfile::tempdir().unwrap();
    let config = Config::parse(&crawl_settings(tmp.path()), Path::new("t.toml")).unwrap();
    let opts = nianbao::sources_find::FindOptions {
        max_pages: 3,
        region: None,
    };
    let finds = nianbao::sources_find::find(&config, &[portal.url("/")], &opts)
        .await
        .unwrap();
    let pages: Vec<Seen> = portal
        .seen()
        .into_iter()
        .filter(|s| s.path != "/robots.txt")
        .collect();
    assert_eq!(pages.len(), 3, "{pages:#?}");
    assert_eq!(finds[0].pages, 3);
    assert!(finds[0].budget_spent);
    // Three pages reach the government's column (home, hub, its list) but
    // not its page: nothing is claimed that was not read.
    assert!(finds[0].sources.is_empty(), "{:?}", finds[0].sources);
    assert!(elsewhere.seen().is_empty());
    let text = nianbao::sources_find::to_toml(&finds);
    assert!(text.contains("page budget ran out"), "{text}");
}

// ------------------------------------- render: links built by a script

const RENDER_REPORTS: [(&str, &str); 3] = [
    (
        "/xxgk/nb/202401/t20240110_1.html",
        "某县2023年政府信息公开工作年度报告",
    ),
    (
        "/xxgk/nb/202301/t20230112_2.html",
        "某县2022年政府信息公开工作年度报告",
    ),
    (
        "/xxgk/nb/202201/t20220115_3.html",
        "某县2021年政府信息公开工作年度报告",
    ),
];

/// A 年报 column whose links exist only once its script has decoded them
/// (base64 of `year|month|day|id` rows, paths and titles put together at
/// run time): no path or title is in the served HTML. It also asks for an
/// image and for a page on `other`, which a render must not reach.
async fn scripted_column_host(ip: &str, other: String) -> Server {
    let listing = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>政府信息公开年报</title></head><body>\
         <img src=\"/img/banner.png\"><ul id=\"list\"></ul>\
         <script>\n\
         var _0x = atob('{}').split(';');\n\
         var ul = document.getElementById('list');\n\
         _0x.forEach(function (r) {{ var f = r.split('|'); var a = document.createElement('a');\n\
           a.href = '/xxgk/' + 'nb/' + (+f[0] + 1) + '0' + f[1] + '/t' + (+f[0] + 1) + '0' + f[1] + f[2] + '_' + f[3] + '.html';\n\
           a.textContent = '某县' + f[0] + '年' + ['政府', '信息', '公开', '工作', '年度', '报告'].join('');\n\
           var li = document.createElement('li'); li.appendChild(a); ul.appendChild(li); }});\n\
         fetch('{other}beacon').catch(function () {{}});\n\
         </script></body></html>",
        base64_rows()
    );
    Server::start(ip, move |seen| {
        if seen.path == "/xxgk/nb/index.html" {
            return Reply::html(listing.clone());
        }
        match RENDER_REPORTS.iter().find(|(p, _)| *p == seen.path) {
            Some((_, title)) => report_page(title),
            None => Reply::new(404, "text/plain", "not found"),
        }
    })
    .await
}

/// `2023|1|10|1;2022|1|12|2;2021|1|15|3` in base64.
fn base64_rows() -> String {
    let rows = "2023|1|10|1;2022|1|12|2;2021|1|15|3";
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in rows.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Chromium's requests carry the `Sec-Fetch-*` headers a browser sends.
fn by_browser(s: &Seen) -> bool {
    s.header("sec-fetch-mode").is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn render_takes_links_from_the_rendered_dom() {
    let other = Server::routes("127.0.6.2", vec![]).await;
    let server = scripted_column_host("127.0.6.1", other.url("/")).await;
    let tmp = tempfile::tempdir().unwrap();
    let text = format!(
        "{}\n[[sources]]\nname = \"某县\"\nstart = [\"{}\"]\nrender = true\n",
        crawl_settings(tmp.path()),
        server.url("/xxgk/nb/index.html")
    );
    let config = Config::parse(&text, Path::new("render.toml")).unwrap();
    let summary = crawl::run(&config, &CrawlOptions::default()).await.unwrap();
    print!("{}", summary.render());
    assert!(!summary.has_failures(), "{}", summary.render());
    let reports: Vec<String> = RENDER_REPORTS.iter().map(|(p, _)| server.url(p)).collect();
    assert_archived_once(tmp.path(), &reports);
    assert!(
        summary.render().contains("rendered (3 report candidates)"),
        "{}",
        summary.render()
    );
    let seen = server.seen();
    for s in &seen {
        println!("{} {} browser={}", s.method, s.path, by_browser(s));
    }
    // The fetcher asked for the listing and each report once; Chromium for
    // the listing (and the favicon it asks for unbidden), never an image.
    let fetched: Vec<&str> = seen
        .iter()
        .filter(|s| !by_browser(s))
        .map(|s| s.path.as_str())
        .collect();
    let mut expected: Vec<&str> = vec!["/robots.txt", "/xxgk/nb/index.html"];
    expected.extend(RENDER_REPORTS.iter().map(|(p, _)| *p));
    let mut sorted = fetched.clone();
    sorted.sort_unstable();
    expected.sort_unstable();
    assert_eq!(sorted, expected);
    let rendered: Vec<&str> = seen
        .iter()
        .filter(|s| by_browser(s))
        .map(|s| s.path.as_str())
        .collect();
    assert!(rendered.contains(&"/xxgk/nb/index.html"), "{rendered:?}");
    assert!(
        rendered
            .iter()
            .all(|p| *p == "/xxgk/nb/index.html" || *p == "/favicon.ico"),
        "{rendered:?}"
    );
    assert!(other.seen().is_empty(), "{:#?}", other.seen());
    // The render is one turn of the host: the interval holds before and
    // after Chromium's requests.
    let turns: Vec<&Seen> = seen
        .iter()
        .enumerate()
        .filter(|(i, s)| !by_browser(s) || *i == 0 || !by_browser(&seen[i - 1]))
        .map(|(_, s)| s)
        .collect();
    let gap = turns
        .windows(2)
        .map(|w| w[1].at.duration_since(w[0].at))
        .min()
        .unwrap();
    assert!(gap >= Duration::from_millis(INTERVAL_MS), "gap {gap:?}");
    let last_browser = seen.iter().rposition(by_browser).unwrap();
    if let Some(next) = seen.get(last_browser + 1) {
        let after = next.at.duration_since(seen[last_browser].at);
        assert!(after >= Duration::from_millis(INTERVAL_MS), "{after:?}");
    }
    println!("render: 3 listed, {} archived", reports.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_render_the_column_reads_as_empty() {
    let other = Server::routes("127.0.6.4", vec![]).await;
    let server = scripted_column_host("127.0.6.3", other.url("/")).await;
    let tmp = tempfile::tempdir().unwrap();
    let config_path = tmp.path().join("off.toml");
    std::fs::write(
        &config_path,
        format!(
            "{}\n[[sources]]\nname = \"某县\"\nstart = [\"{}\"]\n",
            crawl_settings(&tmp.path().join("archive")),
            server.url("/xxgk/nb/index.html")
        ),
    )
    .unwrap();
    let run = |extra: &[&str], chromium: Option<&str>| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_nianbao"));
        cmd.arg("--config")
            .arg(&config_path)
            .args(["crawl", "--no-progress"])
            .args(extra)
            .env("NIANBAO_LOG", "warn");
        if let Some(path) = chromium {
            cmd.env("NIANBAO_CHROMIUM", path);
        }
        cmd.output()
    };
    let out = run(&[], None).await.unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    println!("{stdout}{stderr}");
    assert_eq!(out.status.code(), Some(1), "an empty column is not success");
    assert!(stdout.contains("html (0 report candidates)"), "{stdout}");
    assert!(stdout.contains("no report candidates found"), "{stdout}");
    assert!(stderr.contains("render = true"), "{stderr}");
    assert!(server.seen().iter().all(|s| !by_browser(s)));
    assert!(server
        .seen()
        .iter()
        .all(|s| !RENDER_REPORTS.iter().any(|(p, _)| *p == s.path)));

    // Asked to render without Chromium: a clear message, nothing fetched.
    let before = server.seen().len();
    let out = run(&["--render"], Some("/nonexistent/chromium"))
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stderr}");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("Chromium") && stderr.contains("apt-get install chromium"),
        "{stderr}"
    );
    assert_eq!(server.seen().len(), before);
}

// ------------------------------------------ TRS: later pages from IGS JSON

fn trs_title(i: usize) -> String {
    format!("某县{}单位2023年政府信息公开工作年度报告", 100 + i)
}

fn trs_path(i: usize) -> String {
    format!("/xxgk/zfxxgknb/202403/t20240308_{}.html", 7000 + i)
}

/// A TRS column: items 1–5 served in the page, the rest (6–12) only from
/// the IGS search API, five a page, `totalPages` 3.
async fn trs_host(ip: &str) -> Server {
    const TOTAL: usize = 12;
    const PER: usize = 5;
    let static_items: String = (1..=PER)
        .map(|i| {
            format!(
                "<li><a href=\"{}\" title=\"{}\">{}</a><span>2024-03-08</span></li>\n",
                trs_path(i),
                trs_title(i),
                trs_title(i)
            )
        })
        .collect();
    let column = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>政府信息公开年报_某县人民政府</title></head><body>\
         <div class=\"nav\"><a href=\"/\">首页</a><a href=\"/xxgk/\">信息公开</a></div>\
         <ul id=\"list\">{static_items}</ul><div id=\"page\"></div>\
         <script>\n\
         var searchUrl = \"/igs/front/search/list.html?index=xxgk-index&type=nb&pageSize={PER}&filter[CHANNELID]=4821&orderProperty=PUBDATE&orderDirection=desc\";\n\
         function loadPage(n) {{ $.getJSON(searchUrl + '&pageNumber=' + n, function (d) {{ render(d.page.content); }}); }}\n\
         </script></body></html>"
    );
    Server::start(ip, move |seen| {
        let host = seen.header("host").unwrap_or("").to_string();
        if seen.path == "/xxgk/zfxxgknb/index.html" {
            return Reply::html(column.clone());
        }
        if let Some(q) = seen.path.strip_prefix("/igs/front/search/list.html?") {
            let q = format!("?{q}");
            if query(&q, "filter[CHANNELID]") != Some("4821") || query(&q, "index") != Some("xxgk-index") {
                return Reply::new(400, "application/json", "{\"error\":\"fields\"}");
            }
            let n: usize = query(&q, "pageNumber").and_then(|p| p.parse().ok()).unwrap_or(1);
            let items: Vec<String> = ((n - 1) * PER + 1..=(n * PER).min(TOTAL))
                .map(|i| {
                    format!(
                        "{{\"DOCTITLE\":\"{}\",\"DOCPUBURL\":\"http://{host}{}\",\"PUBDATE\":\"2024-03-08 10:00:00\"}}",
                        trs_title(i),
                        trs_path(i)
                    )
                })
                .collect();
            return Reply::new(
                200,
                "application/json;charset=UTF-8",
                format!(
                    "{{\"page\":{{\"content\":[{}],\"total\":{TOTAL},\"totalPages\":{}}}}}",
                    items.join(","),
                    TOTAL.div_ceil(PER)
                ),
            );
        }
        match (1..=TOTAL).find(|i| trs_path(*i) == seen.path) {
            Some(i) => report_page(&trs_title(i)),
            None => Reply::new(404, "text/plain", "not found"),
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trs_later_pages_from_the_search_api() {
    let server = trs_host("127.0.3.9").await;
    let tmp = tempfile::tempdir().unwrap();
    let summary = crawl_sources(
        tmp.path(),
        &[("某县", server.url("/xxgk/zfxxgknb/index.html"))],
    )
    .await;
    assert!(!summary.has_failures(), "{}", summary.render());
    let reports: Vec<String> = (1..=12).map(|i| server.url(&trs_path(i))).collect();
    assert_archived_once(tmp.path(), &reports);
    let mut allowed: Vec<String> = (1..=12).map(trs_path).collect();
    allowed.push("/xxgk/zfxxgknb/index.html".into());
    for n in 2..=3 {
        allowed.push(format!(
            "/igs/front/search/list.html?index=xxgk-index&type=nb&pageSize=5&filter[CHANNELID]=4821&orderProperty=PUBDATE&orderDirection=desc&pageNumber={n}"
        ));
    }
    assert_only(&server, &allowed);
    assert_polite(&server);
    let text = summary.render();
    assert!(text.contains("trs-api"), "{text}");
    println!("trs search API: 12 listed, {} archived", reports.len());
}

// ------------------------------- Hanweb "加载更多": morecolumndataproxy.jsp

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanweb_load_more_pages_by_number() {
    const TOTAL: usize = 8;
    const PER: usize = 3;
    let proxy = "/module/web/jpage/morecolumndataproxy.jsp";
    let column = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>政府信息公开年报</title></head><body>\
         <div id=\"list\"><script type=\"text/xml\"><datastore><recordset>\n{}</recordset></datastore></script></div>\
         <a class=\"more\" href=\"javascript:more()\">加载更多</a>\
         <script>var n = 1; function more() {{ n++; $.ajax({{ url: '{proxy}', type: 'post',\n\
           data: {{ col: 1, webid: 3167, columnid: 1229, unitid: 'list', page: n }}, totalRecord: {TOTAL}, perPage: {PER} }}); }}</script>\
         </body></html>",
        (1..=PER).map(hanweb_record).collect::<String>()
    );
    let server = Server::start("127.0.3.10", move |seen| {
        if seen.path == "/col/col1229/index.html" {
            return Reply::html(column.clone());
        }
        if let Some(q) = seen.path.strip_prefix(proxy).and_then(|r| r.strip_prefix('?')) {
            let body = String::from_utf8_lossy(&seen.body).into_owned();
            if seen.method != "POST" || form_field(&body, "columnid") != Some("1229") {
                return Reply::new(400, "text/plain", "missing fields");
            }
            let q = format!("?{q}");
            let n: usize = query(&q, "page").and_then(|p| p.parse().ok()).unwrap_or(1);
            let records: String = ((n - 1) * PER + 1..=(n * PER).min(TOTAL))
                .map(hanweb_record)
                .collect();
            return Reply::new(
                200,
                "text/xml;charset=UTF-8",
                format!(
                    "<?xml version=\"1.0\" encoding=\"utf-8\"?><datastore><recordset>\n{records}</recordset>\
                     <totalrecord>{TOTAL}</totalrecord><totalpage>{}</totalpage></datastore>",
                    TOTAL.div_ceil(PER)
                ),
            );
        }
        hanweb_report(&seen.path, TOTAL).unwrap_or_else(|| Reply::new(404, "text/plain", "not found"))
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let summary = crawl_sources(
        tmp.path(),
        &[("某县", server.url("/col/col1229/index.html"))],
    )
    .await;
    assert!(!summary.has_failures(), "{}", summary.render());
    let reports: Vec<String> = hanweb_reports(&server).into_iter().take(TOTAL).collect();
    assert_archived_once(tmp.path(), &reports);
    let mut allowed: Vec<String> = reports.iter().map(|u| path_of(u)).collect();
    allowed.push("/col/col1229/index.html".into());
    for n in 2..=3 {
        allowed.push(format!("{proxy}?page={n}&perpage={PER}"));
    }
    assert_only(&server, &allowed);
    assert_polite(&server);
    assert!(
        summary.render().contains("hanweb (8 report candidates)"),
        "{}",
        summary.render()
    );
    println!(
        "hanweb load-more: {TOTAL} listed, {} archived",
        reports.len()
    );
}

// ------------------------------- query-parameter paging of server pages

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_parameter_paging() {
    // `iList.jsp?node_id=…&cat_id=…&cur_page=N` (pager words) and
    // `InfoPublic.aspx?cid=…&pid=…&page=N` (page numbers), three pages each.
    let ilist = |n: u32| format!("/xxgk/iList.jsp?node_id=12&cat_id=88&cur_page={n}");
    let aspx = |n: u32| format!("/gk/InfoPublic.aspx?cid=5&pid=2&page={n}");
    let report = |dir: &str, n: u32, i: u32| format!("/{dir}/content.jsp?id={}", 3000 + n * 10 + i);
    let title =
        |who: &str, n: u32, i: u32| format!("{who}{}年政府信息公开工作年度报告", 2024 - n * 2 - i);
    let mut routes: Vec<(String, Reply)> = Vec::new();
    let mut reports = Vec::new();
    for n in 1..=3u32 {
        let mut items = Vec::new();
        for i in 0..2u32 {
            let (p, t) = (report("xxgk", n, i), title("某县", n, i));
            items.push((p.clone(), t.clone()));
            routes.push((p.clone(), report_page(&t)));
            reports.push(p);
        }
        let mut pager: Vec<(String, String)> = vec![(ilist(1), "首页".into())];
        if n > 1 {
            pager.push((ilist(n - 1), "上一页".into()));
        }
        if n < 3 {
            pager.push((ilist(n + 1), "下一页".into()));
        }
        pager.push((ilist(3), "尾页".into()));
        items.extend(pager);
        let links: Vec<(&str, &str)> = items
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        routes.push((ilist(n), plain_page("政府信息公开年报", &links)));

        let mut items = Vec::new();
        for i in 0..2u32 {
            let (p, t) = (report("gk", n, i), title("某区", n, i));
            items.push((p.clone(), t.clone()));
            routes.push((p.clone(), report_page(&t)));
            reports.push(p);
        }
        items.extend((1..=3u32).map(|k| (aspx(k), k.to_string())));
        let links: Vec<(&str, &str)> = items
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        routes.push((aspx(n), plain_page("信息公开年报", &links)));
    }
    let server = Server::routes(
        "127.0.3.11",
        routes
            .iter()
            .map(|(p, r)| (p.as_str(), r.clone()))
            .collect(),
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let summary = crawl_sources(
        tmp.path(),
        &[
            ("某县", server.url(&ilist(1))),
            ("某区", server.url(&aspx(1))),
        ],
    )
    .await;
    assert!(!summary.has_failures(), "{}", summary.render());
    let urls: Vec<String> = reports.iter().map(|p| server.url(p)).collect();
    assert_archived_once(tmp.path(), &urls);
    let allowed: Vec<String> = routes.iter().map(|(p, _)| p.clone()).collect();
    assert_only(&server, &allowed);
    assert_polite(&server);
    println!(
        "query-parameter paging: {} listed, {} archived",
        reports.len(),
        urls.len()
    );
}
