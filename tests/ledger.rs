//! The availability and change ledger end to end: a loopback site of five
//! real report pages is crawled; then one figure is edited on the site, one
//! report taken down (404), one turned into a soft 404 and one into a 安全狗
//! block page, and the site crawled again. The ledger rows, the three export
//! formats and the `nianbao serve` pages must all show the edit (the exact
//! cell and both values) and the take-down (gone since the second run).
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{Reply, Server};
use nianbao::config::Config;
use nianbao::crawl::{self, CrawlOptions};
use nianbao::export::{self, ExportOptions, Filter, OutputFormat};
use rusqlite::Connection;

const SAFEDOG: &str = "<html><head><title>网站防火墙</title></head><body><h3>您的请求带有不合法参数，已被网站管理员设置拦截！</h3><p>可能原因：您提交的内容包含危险的攻击请求</p><p>如何解决：检查提交内容；如网站托管，请联系空间提供商；普通网站访客，请联系网站管理员</p><p>网站安全狗</p></body></html>";
const GONE: &str = "<html><head><title>提示信息</title></head><body><div class=\"err\">对不起，您访问的页面不存在或已被删除！</div><a href=\"/\">返回首页</a></body></html>";
/// The procurement amount of the Pingtan 2019 report, as printed, and after
/// the silent edit.
const AMOUNT: &str = "75394432.52";
const EDITED: &str = "75394433.52";

/// (path, link text): edited, taken down, soft 404, blocked, unchanged.
const PAGES: [(&str, &str); 5] = [
    ("/nb/t0.html", "甲2019年政府信息公开工作年度报告"),
    ("/nb/t1.html", "乙2022年政府信息公开工作年度报告"),
    ("/nb/t2.html", "丙2019年政府信息公开工作年度报告"),
    ("/nb/t3.html", "丁2022年政府信息公开工作年度报告"),
    ("/nb/t4.html", "戊2022年政府信息公开工作年度报告"),
];

fn sample(name: &str) -> String {
    std::fs::read_to_string(Path::new("tests/fixtures/samples").join(name)).unwrap()
}

fn listing() -> String {
    let items: String = PAGES
        .iter()
        .map(|(path, text)| format!("<li><a href=\"{path}\">{text}</a></li>\n"))
        .collect();
    format!(
        "<html><head><meta charset=\"utf-8\"><title>信息公开年报</title></head>\
         <body><ul>{items}</ul></body></html>"
    )
}

/// The site; once `later` is set it serves the second state.
async fn site(later: Arc<AtomicBool>) -> Server {
    let (p2019, p2022) = (
        sample("pingtan-2019-report.html"),
        sample("pingtan-2022-report.html"),
    );
    assert!(p2019.contains(AMOUNT));
    let edited = p2019.replace(AMOUNT, EDITED);
    Server::start("127.0.8.1", move |seen| {
        let later = later.load(Ordering::SeqCst);
        match (seen.path.as_str(), later) {
            ("/robots.txt", _) => Reply::new(404, "text/plain", "no"),
            ("/nb/index.html", _) => Reply::html(listing()),
            ("/nb/t0.html", false) => Reply::html(p2019.clone()),
            ("/nb/t0.html", true) => Reply::html(edited.clone()),
            ("/nb/t1.html", false) => Reply::html(p2022.clone()),
            ("/nb/t2.html", false) => Reply::html(p2019.clone()),
            ("/nb/t2.html", true) => Reply::html(GONE),
            ("/nb/t3.html", false) => Reply::html(p2022.clone()),
            ("/nb/t3.html", true) => Reply::html(SAFEDOG),
            ("/nb/t4.html", _) => Reply::html(p2022.clone()),
            _ => Reply::new(404, "text/plain", "not found"),
        }
    })
    .await
}

fn config(archive: &Path, start: &str) -> Config {
    let text = format!(
        "archive = {:?}\n[crawl]\nuser_agent = \"nianbao-test/1.0\"\ntotal_timeout_s = 5\n\
         connect_timeout_s = 2\nper_host_interval_ms = 0\nmax_retries = 1\n\
         \n[[sources]]\nname = \"平潭\"\nstart = [\"{start}\"]\n",
        archive.display().to_string()
    );
    Config::parse(&text, Path::new("t.toml")).unwrap()
}

/// (url, state, reason, status, capture_id, checked_at, cells_changed) of one run.
type Row = (
    String,
    String,
    Option<String>,
    Option<i64>,
    i64,
    String,
    i64,
);

fn run_rows(db: &Connection, run: i64) -> Vec<Row> {
    db.prepare(
        "SELECT report_url, state, reason, status, capture_id, checked_at, cells_changed
         FROM availability WHERE run_id = ?1 ORDER BY report_url",
    )
    .unwrap()
    .query_map([run], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// (table, row, col, old_raw, new_raw, old_value, new_value, old_capture, new_capture).
type ChangeRow = (
    String,
    String,
    String,
    String,
    String,
    f64,
    f64,
    i64,
    i64,
    String,
);

fn change_rows(db: &Connection) -> Vec<ChangeRow> {
    db.prepare(
        "SELECT table_code, row_code, col_code, old_raw, new_raw, old_value, new_value,
           old_capture, new_capture, report_url FROM changes ORDER BY rowid",
    )
    .unwrap()
    .query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
            r.get(9)?,
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn export_to(archive: &Path, out: &Path, format: OutputFormat) {
    export::export(&ExportOptions {
        archive: archive.to_path_buf(),
        out: out.to_path_buf(),
        format,
        filter: Filter::default(),
        excel: false,
        regions: Default::default(),
        progress: false,
    })
    .unwrap();
}

fn csv_rows(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn parquet_rows(path: &Path) -> usize {
    let file = std::fs::File::open(path).unwrap();
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let batches: Vec<_> = reader.build().unwrap().map(Result::unwrap).collect();
    batches.iter().map(|b| b.num_rows()).sum()
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

fn serve(archive: &Path) -> Serving {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nianbao"))
        .args(["--config", "/nonexistent/nianbao.toml", "serve"])
        .args(["--bind", "127.0.0.1:0", "--archive"])
        .arg(archive)
        .env("NIANBAO_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    Serving { child, base }
}

async fn get(base: &str, path: &str) -> String {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let answer = client.get(format!("{base}{path}")).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 200, "{path}");
    answer.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recrawl_records_edits_and_take_downs_and_every_output_shows_them() {
    let later = Arc::new(AtomicBool::new(false));
    let server = site(later.clone()).await;
    let tmp = tempfile::tempdir().unwrap();
    let archive: PathBuf = tmp.path().join("archive");
    let config = config(&archive, &server.url("/nb/index.html"));
    let url = |i: usize| server.url(PAGES[i].0);

    crawl::run(&config, &CrawlOptions::default()).await.unwrap();
    let db = Connection::open(archive.join("nianbao.sqlite")).unwrap();
    let runs: Vec<i64> = db
        .prepare("SELECT id FROM runs ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(runs.len(), 1);
    let first = run_rows(&db, runs[0]);
    let states: Vec<(&str, &str)> = first.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    let all_new: Vec<(String, &str)> = (0..5).map(|i| (url(i), "new")).collect();
    assert_eq!(
        states,
        all_new
            .iter()
            .map(|(u, s)| (u.as_str(), *s))
            .collect::<Vec<_>>()
    );

    // The site changes, and is crawled again.
    later.store(true, Ordering::SeqCst);
    crawl::run(&config, &CrawlOptions::default()).await.unwrap();
    let second_run: i64 = db
        .query_row("SELECT MAX(id) FROM runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(second_run, runs[0] + 1);
    let second = run_rows(&db, second_run);
    type Seen<'a> = (&'a str, &'a str, Option<&'a str>, Option<i64>, i64);
    let got: Vec<Seen<'_>> = second
        .iter()
        .map(|r| (r.0.as_str(), r.1.as_str(), r.2.as_deref(), r.3, r.6))
        .collect();
    let (u0, u1, u2, u3, u4) = (url(0), url(1), url(2), url(3), url(4));
    assert_eq!(
        got,
        vec![
            (u0.as_str(), "changed", None, Some(200), 1),
            (u1.as_str(), "gone", Some("http_404"), Some(404), 0),
            (u2.as_str(), "gone", Some("soft_404"), Some(200), 0),
            (u3.as_str(), "blocked", Some("block_waf"), Some(200), 0),
            (u4.as_str(), "unchanged", Some("same_payload"), Some(200), 0),
        ]
    );

    // The edit: exactly one cell, with both values and both captures.
    let changes = change_rows(&db);
    assert_eq!(changes.len(), 1, "{changes:?}");
    let c = &changes[0];
    assert_eq!(
        (c.0.as_str(), c.1.as_str(), c.2.as_str()),
        ("proactive", "procurement", "amount")
    );
    let printed = (format!("{AMOUNT}元"), format!("{EDITED}元"));
    assert_eq!(
        (c.3.clone(), c.4.clone()),
        printed,
        "the raw text as printed"
    );
    assert_eq!((c.5, c.6), (75394432.52, 75394433.52));
    assert_eq!(c.9, u0);
    assert_eq!((c.7, c.8), (first[0].4, second[0].4));

    // Per URL: first and last seen, gone since the second run.
    let (first_seen, last_seen, gone_since, gone_run, state): (
        String,
        String,
        Option<String>,
        Option<i64>,
        String,
    ) = db
        .query_row(
            "SELECT first_seen, last_seen, gone_since, gone_since_run, state
             FROM v_ledger WHERE report_url = ?1",
            [&u1],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(
        (first_seen.as_str(), last_seen.as_str()),
        (first[1].5.as_str(), first[1].5.as_str())
    );
    assert_eq!(gone_since.as_deref(), Some(second[1].5.as_str()));
    assert_eq!(gone_run, Some(second_run));
    assert_eq!(state, "gone");
    let (served_gone, edited_last): (Option<String>, String) = db
        .query_row(
            "SELECT gone_since, last_seen FROM v_ledger WHERE report_url = ?1",
            [&u0],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(served_gone, None, "a served report is not gone");
    assert_eq!(edited_last, second[0].5);

    // An archive made before the ledger gets it on open, from its runs.
    let before = (run_rows(&db, second_run), change_rows(&db));
    db.execute_batch("DROP VIEW v_ledger; DROP TABLE changes; DROP TABLE availability;")
        .unwrap();
    drop(nianbao::archive::Archive::open(&archive).unwrap());
    assert_eq!((run_rows(&db, second_run), change_rows(&db)), before);
    // Re-extraction leaves the same ledger (the figures did not change).
    let mut opened = nianbao::archive::Archive::open(&archive).unwrap();
    nianbao::reextract::reextract(&mut opened).unwrap();
    drop(opened);
    assert_eq!((run_rows(&db, second_run), change_rows(&db)), before);

    // Exports: the two tables in CSV (with datapackage.json), JSON Lines, Parquet.
    let out = tmp.path().join("csv");
    export_to(&archive, &out, OutputFormat::Csv);
    let avail = csv_rows(&out.join("availability.csv"));
    assert_eq!(avail.len(), 10);
    let down = avail
        .iter()
        .find(|r| r["report_url"] == u1 && r["run_id"] == second_run.to_string())
        .unwrap();
    assert_eq!(
        (
            down["state"].as_str(),
            down["reason"].as_str(),
            down["status"].as_str()
        ),
        ("gone", "http_404", "404")
    );
    let edits = csv_rows(&out.join("changes.csv"));
    assert_eq!(edits.len(), 1);
    assert_eq!(
        (
            edits[0]["table"].as_str(),
            edits[0]["row"].as_str(),
            edits[0]["col"].as_str(),
            edits[0]["old_value"].as_str(),
            edits[0]["new_value"].as_str()
        ),
        ("proactive", "procurement", "amount", AMOUNT, EDITED)
    );
    let package: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("datapackage.json")).unwrap()).unwrap();
    let names: Vec<&str> = package["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"availability.csv") && names.contains(&"changes.csv"),
        "{names:?}"
    );
    let out = tmp.path().join("jsonl");
    export_to(&archive, &out, OutputFormat::Jsonl);
    let text = std::fs::read_to_string(out.join("changes.jsonl")).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(line["new_value"].as_f64(), Some(75394433.52), "{line}");
    assert_eq!(line["report_url"], u0.as_str());
    let lines = std::fs::read_to_string(out.join("availability.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 10);
    let out = tmp.path().join("parquet");
    export_to(&archive, &out, OutputFormat::Parquet);
    assert_eq!(parquet_rows(&out.join("availability.parquet")), 10);
    assert_eq!(parquet_rows(&out.join("changes.parquet")), 1);

    // `nianbao serve`: the changes page and the report pages.
    let serving = serve(&archive);
    let page = get(&serving.base, "/changes").await;
    let vanished =
        &page[page.find("id=\"vanished\"").unwrap()..page.find("id=\"edited\"").unwrap()];
    assert!(
        vanished.contains("http_404") && vanished.contains(">gone<"),
        "{vanished}"
    );
    assert!(
        vanished.contains("soft_404") && vanished.contains(">blocked<"),
        "{vanished}"
    );
    let edited = &page[page.find("id=\"edited\"").unwrap()..];
    assert!(
        edited.contains("proactive.procurement.amount")
            && edited.contains(&format!(">{AMOUNT}<"))
            && edited.contains(&format!(">{EDITED}<")),
        "{edited}"
    );
    let api: serde_json::Value =
        serde_json::from_str(&get(&serving.base, "/api/changes").await).unwrap();
    let entries = api["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 4, "edited, gone, soft 404, blocked");
    let down = entries
        .iter()
        .find(|e| e["ledger"]["url"] == u1.as_str())
        .unwrap();
    assert_eq!(down["ledger"]["gone_since_run"], second_run);
    let id = down["report_id"].as_i64().unwrap();
    let report = get(&serving.base, &format!("/reports/{id}")).await;
    assert!(report.contains("<b>gone</b>"), "{report}");
    assert!(report.contains(&format!("自 {} 起不可用", second[1].5)));
    let ledger_table = &report[report.find("id=\"ledger\"").unwrap()..];
    assert!(ledger_table.contains(">new<") && ledger_table.contains(">gone<"));
}
