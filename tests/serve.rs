//! `nianbao serve` end to end: real sample pages served on loopback are
//! archived by `nianbao fetch`, one is edited and one taken down between two
//! fetches, then the real `nianbao serve` binary answers on loopback. The
//! figures asserted are the hand-verified ones of `extract_golden.rs`.
//! In CI (and wherever Debian's `chromium` is installed) a headless Chromium
//! renders the report page and the replay, and screenshots are kept under
//! `target/serve-screenshots/`.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use common::{Reply, Server};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_nianbao");

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/samples")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

const PINGTAN_2019: &str = "平潭综合实验区2019年度政府信息公开工作年度报告";
const HOSTILE: &str = "<script>alert(1)</script>";

/// The Pingtan 2019 page with `<script>` in its title (as an entity, so that
/// the title text holds the markup), before and after a silent edit of the
/// procurement amount.
fn hostile_page(edited: bool) -> String {
    let page = fixture("pingtan-2019-report.html").replace(
        PINGTAN_2019,
        &format!("{PINGTAN_2019}&lt;script&gt;alert(1)&lt;/script&gt;"),
    );
    if edited {
        page.replace("75394432.52", "75394433.52")
    } else {
        page
    }
}

fn fetch(url: &str, archive: &Path) {
    let out = Command::new(BIN)
        .args([
            "--config",
            "/nonexistent/nianbao.toml",
            "fetch",
            url,
            "--archive",
        ])
        .arg(archive)
        .env("NIANBAO_LOG", "warn")
        .output()
        .unwrap();
    let code = out.status.code();
    assert!(
        code == Some(0) || code == Some(1),
        "fetch {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The running `nianbao serve`, stopped when dropped.
struct Serving {
    child: Child,
    base: String,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_serve(archive: &Path) -> Serving {
    let mut child = Command::new(BIN)
        .args([
            "--config",
            "/nonexistent/nianbao.toml",
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--archive",
        ])
        .arg(archive)
        .env("NIANBAO_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut line = String::new();
    BufReader::new(stderr).read_line(&mut line).unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    Serving { child, base }
}

/// An archive made by `nianbao fetch` from the sample pages: a report page,
/// a 2021-format page later taken down, the Hongkou aggregator text (four
/// reports, one breaking the balance identity), and the hostile page fetched
/// before and after an edit.
async fn build_archive(dir: &Path) -> (Server, PathBuf) {
    // 0: first crawl; 1: the edit and the take-down.
    let phase = Arc::new(AtomicU8::new(0));
    let seen = phase.clone();
    let server = Server::start("127.0.0.1", move |s| {
        let later = seen.load(Ordering::SeqCst) == 1;
        match s.path.as_str() {
            "/nb/p2019.htm" => Reply::html(fixture("pingtan-2019-report.html")),
            "/nb/p2022.htm" if later => Reply::new(404, "text/html", "<html>404 Not Found</html>"),
            "/nb/p2022.htm" => Reply::html(fixture("pingtan-2022-report.html")),
            // No charset given, as many servers send plain text.
            "/hk.txt" => Reply::new(
                200,
                "text/plain",
                fixture("hongkou-2017-2020-aggregator.txt"),
            ),
            "/nb/hostile.htm" => Reply::html(hostile_page(later)),
            _ => Reply::new(404, "text/plain", "not found"),
        }
    })
    .await;
    let archive = dir.join("archive");
    let urls = [
        "/nb/p2019.htm",
        "/nb/p2022.htm",
        "/hk.txt",
        "/nb/hostile.htm",
    ];
    for path in urls {
        let (url, archive) = (server.url(path), archive.clone());
        tokio::task::spawn_blocking(move || fetch(&url, &archive))
            .await
            .unwrap();
    }
    phase.store(1, Ordering::SeqCst);
    for path in ["/nb/p2022.htm", "/nb/hostile.htm"] {
        let (url, archive) = (server.url(path), archive.clone());
        tokio::task::spawn_blocking(move || fetch(&url, &archive))
            .await
            .unwrap();
    }
    (server, archive)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

async fn get(base: &str, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let resp = client().get(format!("{base}{path}")).send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap())
}

async fn json(base: &str, path: &str) -> Value {
    let (status, _, body) = get(base, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// The report of `year` whose title starts with `title`.
fn find_report(list: &Value, title: &str, year: i64) -> Value {
    list["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["title"].as_str().unwrap().starts_with(title) && r["year"] == year)
        .cloned()
        .unwrap_or_else(|| panic!("no {title} {year} in {list}"))
}

fn cell(report: &Value, parts: [&str; 3]) -> Value {
    let code = parts.join(" ");
    report["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["table"] == parts[0] && c["row"] == parts[1] && c["col"] == parts[2])
        .cloned()
        .unwrap_or_else(|| panic!("no cell {code}"))
}

/// The text of the `<td>` holding `code` on a report page.
fn td<'a>(page: &'a str, code: &str) -> &'a str {
    let mark = format!("data-code=\"{code}\"");
    let at = page
        .find(&mark)
        .unwrap_or_else(|| panic!("no {code} on the page"));
    let rest = &page[at..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest.find("</td>").unwrap();
    &rest[open..close]
}

fn td_class<'a>(page: &'a str, code: &str) -> &'a str {
    let mark = format!("data-code=\"{code}\"");
    let at = page.find(&mark).unwrap();
    let start = page[..at].rfind("<td").unwrap();
    &page[start..at]
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_shows_figures_beside_their_archived_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let (_site, archive) = build_archive(tmp.path()).await;
    let db = archive.join("nianbao.sqlite");
    let serving = start_serve(&archive);
    let base = serving.base.clone();

    // The list: every report once (latest captures), with facets.
    let list = json(&base, "/api/reports").await;
    assert_eq!(list["total"], 7, "{list}");
    let p2019 = find_report(&list, PINGTAN_2019, 2019);
    assert!(p2019["url"].as_str().unwrap().ends_with("/nb/p2019.htm"));
    let hk2019 = find_report(&list, "2019年上海市虹口区", 2019);
    let p2022 = find_report(&list, "平潭综合实验区2022年度", 2022);
    let broken = json(&base, "/api/reports?broken=1").await;
    assert_eq!(broken["total"], 1, "{broken}");
    assert_eq!(broken["reports"][0]["id"], hk2019["id"]);
    let pre = json(&base, "/api/reports?format=pre2019").await;
    assert_eq!(pre["total"], 2);
    let text = json(&base, "/api/reports?kind=text&year=2020").await;
    assert_eq!(text["total"], 1);
    let searched = json(&base, "/api/reports?q=%E8%99%B9%E5%8F%A3").await; // 虹口
    assert_eq!(searched["total"], 4);
    // Each facet value counts exactly the reports its own filter selects,
    // and a facet leaves its own condition out: filtered to one year, the
    // year facet still offers every year.
    let facet = |page: &serde_json::Value, name: &str| -> Vec<(String, i64)> {
        page["facets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f[0] == name)
            .unwrap()[1]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["value"].as_str().unwrap().to_string(),
                    v["count"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    for name in ["year", "format", "kind", "agency"] {
        let values = facet(&list, name);
        assert!(!values.is_empty(), "{name}: {list}");
        for (value, count) in values.into_iter().filter(|(v, _)| !v.is_empty()) {
            let enc: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            let page = json(&base, &format!("/api/reports?{name}={enc}")).await;
            assert_eq!(page["total"], count, "{name}={value}: {page}");
        }
    }
    // Plain text replays in the charset it was read in, sent as UTF-8.
    let (status, headers, text) = get(&base, &format!("/replay/{}", hk2019["capture_id"])).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert!(
        text.contains("上海市虹口区"),
        "{}",
        &text[..text.len().min(300)]
    );
    let one_year = json(&base, "/api/reports?year=2019").await;
    assert_eq!(facet(&one_year, "year"), facet(&list, "year"));
    assert!(
        facet(&one_year, "format")
            .iter()
            .map(|(_, n)| n)
            .sum::<i64>()
            < 7
    );
    let (status, _, body) = get(&base, "/api/reports?year=twenty").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("year"), "{body}");

    // One report through the API: the hand-verified figures.
    let id = p2019["id"].as_i64().unwrap();
    let r = json(&base, &format!("/api/reports/{id}")).await;
    assert_eq!(cell(&r, ["requests", "new", "total"])["value"], 23.0);
    assert_eq!(
        cell(&r, ["requests", "unable.not_held", "natural_person"])["value"],
        7.0
    );
    let amount = cell(&r, ["proactive", "procurement", "amount"]);
    assert_eq!(amount["value"], 75394432.52);
    assert_eq!(amount["unit"], "yuan");
    let checks = r["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 7 + 23 + 7 + 3);
    assert!(checks.iter().all(|c| c["holds"] == true));

    // The report page: the national form with its labels and figures.
    let (status, headers, page) = get(&base, &format!("/reports/{id}")).await;
    assert_eq!(status, 200);
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    for label in [
        "一、本年新收政府信息公开申请数量",
        "三(七)总计",
        "四、结转下年度继续办理",
        "法人或其他组织",
        "行政复议",
        "政府集中采购",
    ] {
        assert!(page.contains(label), "{label}");
    }
    assert_eq!(td(&page, "requests.new.total"), "23");
    assert_eq!(td(&page, "proactive.procurement.amount"), "75394432.52元");
    assert_eq!(td(&page, "proactive.normative_docs.total_published"), "89");
    assert!(page.contains(&format!("src=\"/replay/{}\"", p2019["capture_id"])));
    // The 2021 form: its own rows; a row of the 2019 form is not printed.
    let id22 = p2022["id"].as_i64().unwrap();
    let (_, _, page22) = get(&base, &format!("/reports/{id22}")).await;
    assert_eq!(td(&page22, "requests.other.other.legal.business"), "2");
    assert_eq!(td(&page22, "proactive.fees.amount"), "9116.36万元");
    assert!(!page22.contains("data-code=\"requests.other.total\""));

    // A broken identity: highlighted in the table, both sides listed.
    let hk_id = hk2019["id"].as_i64().unwrap();
    let (_, _, hk) = get(&base, &format!("/reports/{hk_id}")).await;
    assert!(td_class(&hk, "requests.new.natural_person").contains("broken"));
    assert!(td_class(&hk, "requests.carried_forward.legal.business").contains("broken"));
    assert!(!td_class(&hk, "requests.new.legal.research").contains("broken"));
    assert!(!td_class(&hk, "appeals.all.review.total").contains("broken"));
    let row = hk
        .split("<tr class=\"broken\"")
        .find(|r| r.contains("data-identity=\"requests_balance\" data-col=\"natural_person\""))
        .expect("the broken balance is listed");
    assert!(
        row.contains(">884<") && row.contains(">885<") && row.contains(">-1<"),
        "{row}"
    );
    assert_eq!(td(&hk, "appeals.all.review.total"), "92");
    assert_eq!(td(&hk, "proactive.procurement.amount"), "67552.91万元");
    // Pre-2019: the figures read from the prose.
    let hk2018 = find_report(&list, "2018年上海市虹口区", 2018);
    let (_, _, page18) = get(&base, &format!("/reports/{}", hk2018["id"])).await;
    assert_eq!(td(&page18, "headline.requests_received.value"), "1100");
    assert_eq!(td(&page18, "headline.suits.value"), "50");

    // Cells as CSV.
    let (status, headers, csv) = get(&base, &format!("/reports/{id}/cells.csv")).await;
    assert_eq!(status, 200);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(csv.starts_with("report_id,table,row,col,value,raw,unit,standard,label\n"));
    assert!(
        csv.contains(&format!("{id},requests,new,total,23,")),
        "{csv}"
    );
    assert_eq!(
        csv.lines().count(),
        1 + r["cells"].as_array().unwrap().len()
    );

    // An agency across years: one point per year, gaps where none.
    let agency = "%E4%B8%8A%E6%B5%B7%E5%B8%82%E8%99%B9%E5%8F%A3%E5%8C%BA"; // 上海市虹口区
    let s = json(
        &base,
        &format!("/api/agencies/{agency}/series?code=requests.new.total"),
    )
    .await;
    let points: Vec<(i64, Value)> = s["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["year"].as_i64().unwrap(), p["value"].clone()))
        .collect();
    assert_eq!(
        points,
        vec![
            (2017, Value::Null),
            (2018, Value::Null),
            (2019, 860.0.into()),
            (2020, 1134.0.into())
        ]
    );
    let s = json(&base, &format!("/api/agencies/{agency}/series")).await;
    let requests = s["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f[0] == "requests")
        .unwrap()[1]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect::<Vec<_>>();
    assert_eq!(requests, vec![1799.0, 1100.0, 860.0, 1134.0]);
    let (status, _, agency_page) = get(&base, &format!("/agencies/{agency}")).await;
    assert_eq!(status, 200);
    let chart = agency_page.split("id=\"chart-suits\"").nth(1).unwrap();
    let chart = &chart[..chart.find("</svg>").unwrap()];
    assert_eq!(chart.matches("<circle").count(), 4, "{chart}");
    assert!(
        chart.contains("data-year=\"2019\" data-value=\"82\""),
        "{chart}"
    );
    let pingtan = "%E5%B9%B3%E6%BD%AD%E7%BB%BC%E5%90%88%E5%AE%9E%E9%AA%8C%E5%8C%BA"; // 平潭综合实验区
    let (_, _, pt) = get(&base, &format!("/agencies/{pingtan}")).await;
    let chart = pt.split("id=\"chart-requests\"").nth(1).unwrap();
    let chart = &chart[..chart.find("</svg>").unwrap()];
    assert_eq!(chart.matches("<circle").count(), 2, "{chart}");
    assert_eq!(
        chart.matches("class=\"gap\"").count(),
        2,
        "2020 and 2021 missing: {chart}"
    );
    let (status, _, _) = get(&base, "/agencies/%E6%97%A0%E6%AD%A4").await;
    assert_eq!(status, 404);

    // `nianbao fetch` makes no crawl run: the ledger (tests/ledger.rs) is
    // not recorded, and the pages say so instead of inventing one.
    let changes = json(&base, "/api/changes").await;
    assert_eq!(changes["entries"].as_array().unwrap().len(), 0);
    let (status, _, _) = get(&base, "/changes").await;
    assert_eq!(status, 200);
    let (_, _, down_page) = get(&base, &format!("/reports/{id22}")).await;
    assert!(down_page.contains("<b>unrecorded</b>"), "{down_page}");

    // Escaping: the hostile title is shown as text, never as markup.
    let hostile = find_report(&list, &format!("{PINGTAN_2019}{HOSTILE}"), 2019);
    let hid = hostile["id"].as_i64().unwrap();
    for path in [
        format!("/reports/{hid}"),
        "/reports".to_string(),
        "/reports?q=script".to_string(),
        format!("/agencies/{pingtan}"),
    ] {
        let (status, _, body) = get(&base, &path).await;
        assert_eq!(status, 200, "{path}");
        assert!(!body.contains(HOSTILE), "{path} prints the title unescaped");
        assert!(
            body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path} shows the title"
        );
        assert!(!body.to_ascii_lowercase().contains("<script"), "{path}");
    }

    // Replay: the archived page under a sandbox CSP, links kept in the archive.
    let capture = p2019["capture_id"].as_i64().unwrap();
    let (status, headers, replay) = get(&base, &format!("/replay/{capture}")).await;
    assert_eq!(status, 200);
    let csp = headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "sandbox",
        "default-src 'none'",
        "script-src 'none'",
        "connect-src 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(replay.contains(PINGTAN_2019));
    assert!(replay.contains("75394432.52"));
    let lower = replay.to_ascii_lowercase();
    for leak in [
        "href=\"http",
        "src=\"http",
        "href='http",
        "src='http",
        "<base",
    ] {
        assert!(!lower.contains(leak), "replay keeps {leak}");
    }
    assert!(replay.contains("href=\"/replay/at?url=https%3A%2F%2Fwww.gov.cn%2F\""));
    // A link to a page in the archive leads to its copy; others to a notice.
    let to_archived = format!("/replay/at?url={}", url_enc(p2022["url"].as_str().unwrap()));
    let (status, headers, _) = get(&base, &to_archived).await;
    assert_eq!(status, 303, "{to_archived}");
    let location = headers["location"].to_str().unwrap();
    let (status, _, copy) = get(&base, location).await;
    assert_eq!(status, 200);
    assert!(
        copy.contains("平潭综合实验区2022年度"),
        "the last copy that was served"
    );
    let (status, headers, missing) = get(&base, "/replay/at?url=https%3A%2F%2Fwww.gov.cn%2F").await;
    assert_eq!(status, 404);
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("sandbox"));
    assert!(missing.contains("https://www.gov.cn/") && !missing.contains("href=\"https"));

    // Paths and parameters never leave the archive directory.
    for path in [
        "/replay/..%2F..%2F..%2Fetc%2Fpasswd",
        "/replay/../../etc/passwd",
        "/reports/..%2Fnianbao.sqlite",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%2F..%2FCargo.toml",
        "/reports/1/cells.csv/..%2F..%2F..%2Fetc%2Fpasswd",
    ] {
        let (status, _, body) = get(&base, path).await;
        assert!((400..500).contains(&status), "{path}: {status}");
        assert!(
            !body.contains("root:") && !body.contains("[package]"),
            "{path}"
        );
    }
    // Even a database row naming a file outside `warc/` is refused (written
    // while the server runs, as a crawl would).
    let warc_file: String = {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let name = conn
            .query_row(
                "SELECT warc_file FROM captures WHERE id = ?1",
                [capture],
                |r| r.get(0),
            )
            .unwrap();
        conn.execute(
            "UPDATE captures SET warc_file = '../../../../../../etc/passwd' WHERE id = ?1",
            [capture],
        )
        .unwrap();
        name
    };
    let (status, _, body) = get(&base, &format!("/replay/{capture}")).await;
    assert_eq!(status, 404, "{body}");
    assert!(!body.contains("root:"));
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute(
            "UPDATE captures SET warc_file = ?2 WHERE id = ?1",
            rusqlite::params![capture, warc_file],
        )
        .unwrap();
    }

    // The overview counts what the archive holds.
    let o = json(&base, "/api/overview").await;
    assert_eq!(o["reports"], 8, "{o}"); // 7 latest + the one a recrawl superseded
    assert_eq!(o["captures"], 6);
    assert_eq!(o["checks"][1], 2, "two broken balance columns: {o}");
    let (status, _, overview) = get(&base, "/").await;
    assert_eq!(status, 200);
    assert!(overview.contains("id=\"years\"") && overview.contains(">2022<"));

    drop(serving);

    browser(&archive, PINGTAN_2019, hk_id, capture).await;
}

fn url_enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Debian's `chromium`, if installed.
fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Headless Chromium on one URL: the DOM after load (or a screenshot), and
/// what the page wrote to the console.
fn chromium_run(bin: &Path, url: &str, shot: Option<&Path>) -> (String, Vec<String>) {
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(bin);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--no-first-run",
        "--no-default-browser-check",
        "--mute-audio",
        // Nothing may resolve but loopback: a request leaving 127.0.0.1 fails.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--window-size=1400,1000",
        "--virtual-time-budget=5000",
        // A screenshot waits for every frame to be drawn (the replay frame too).
        "--run-all-compositor-stages-before-draw",
        // Console messages go to stderr as `…:INFO:CONSOLE:N] "text", source: URL (N)`.
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()));
    match shot {
        Some(path) => cmd.arg(format!("--screenshot={}", path.display())),
        None => cmd.arg("--dump-dom"),
    };
    let out = cmd.arg(url).stdin(Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "chromium {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        console_errors(&stderr),
    )
}

/// The console messages of a page (an uncaught exception, a resource that
/// failed to load, a CSP violation: the app pages have no script, so any
/// message is an error), leaving out those of the replayed archived page,
/// whose scripts the sandbox refuses by design.
fn console_errors(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .filter(|l| {
            l.rsplit_once("source: ")
                .is_none_or(|(_, source)| !source.contains("/replay/"))
        })
        .map(str::to_string)
        .collect()
}

/// The console check can fail: a page with a deliberate script error, on
/// loopback, yields the uncaught exception.
async fn console_check_sees_a_broken_page(bin: &Path) {
    let broken = Server::routes(
        "127.0.0.1",
        vec![(
            "/broken.html",
            Reply::html("<html><body><p>x</p><script>undefinedFunction()</script></body></html>"),
        )],
    )
    .await;
    let (bin, url) = (bin.to_path_buf(), broken.url("/broken.html"));
    let (_, errors) = tokio::task::spawn_blocking(move || chromium_run(&bin, &url, None))
        .await
        .unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("Uncaught ReferenceError: undefinedFunction")),
        "the console check must see a script error: {errors:?}"
    );
}

/// What a person sees: the report page and its replay, rendered by Chromium.
async fn browser(archive: &Path, title: &str, broken_report: i64, capture: i64) {
    let Some(bin) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have chromium: scripts/install-deps.sh installs it"
        );
        eprintln!("SKIPPED browser test: chromium is not installed (apt-get install chromium)");
        return;
    };
    console_check_sees_a_broken_page(&bin).await;
    let serving = start_serve(archive);
    let base = serving.base.clone();
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/serve-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let report_url = format!("{base}/reports/{broken_report}");
    let replay_url = format!("{base}/replay/{capture}");
    let (dom, replay_dom) = tokio::task::spawn_blocking({
        let (bin, shots, base) = (bin.clone(), shots.clone(), base.clone());
        move || {
            let (dom, errors) = chromium_run(&bin, &report_url, None);
            assert_eq!(errors, Vec::<String>::new(), "console of {report_url}");
            // The other app pages: no console error either.
            for path in ["/", "/reports", "/changes", "/regions"] {
                let (_, errors) = chromium_run(&bin, &format!("{base}{path}"), None);
                assert_eq!(errors, Vec::<String>::new(), "console of {path}");
            }
            let (replay, _) = chromium_run(&bin, &replay_url, None);
            chromium_run(&bin, &report_url, Some(&shots.join("report.png")));
            chromium_run(&bin, &replay_url, Some(&shots.join("replay.png")));
            chromium_run(
                &bin,
                &format!("{}/", base_of(&report_url)),
                Some(&shots.join("overview.png")),
            );
            (dom, replay)
        }
    })
    .await
    .unwrap();
    // The rendered report page: labels, a figure in its cell, the broken identity.
    assert!(dom.contains("一、本年新收政府信息公开申请数量"));
    assert!(dom.contains("2019年上海市虹口区政府信息公开工作年度报告"));
    assert!(
        td(&dom, "requests.new.total").contains("860"),
        "{}",
        td(&dom, "requests.new.total")
    );
    assert!(td_class(&dom, "requests.new.natural_person").contains("broken"));
    assert!(dom.contains("<iframe"), "the replay frame is on the page");
    // The replay as Chromium renders it under its sandbox: the page's text.
    assert!(replay_dom.contains(title), "replay shows the archived page");
    assert!(replay_dom.contains("75394432.52"));
    for shot in ["report.png", "replay.png", "overview.png"] {
        let len = std::fs::metadata(shots.join(shot)).unwrap().len();
        assert!(len > 10_000, "{shot}: {len} bytes");
    }
    drop(serving);
}

fn base_of(url: &str) -> &str {
    let after = url.find("//").map_or(0, |i| i + 2);
    url[after..].find('/').map_or(url, |i| &url[..after + i])
}
