//! The real binary, killed with SIGKILL in the middle of a crawl and started
//! again: the archive ends complete, with nothing archived twice, and a
//! second run cannot start while the first holds the archive.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Reply, Server};
use nianbao::warc;
use rusqlite::Connection;

const PAGES: u32 = 4;
const PER_PAGE: u32 = 5;

fn listing(host: u32, page: u32) -> String {
    let items: String = (0..PER_PAGE)
        .map(|i| {
            let n = page * PER_PAGE + i;
            format!("<li><a href=\"./2021/t2021_{n}.html\">{host}号区{n}年政府信息公开工作年度报告</a></li>")
        })
        .collect();
    format!(
        "<html><head><meta charset=\"utf-8\"></head><body><ul>{items}</ul>\
         <script>var countPage = {PAGES}//共多少页</script></body></html>"
    )
}

async fn site(ip: &str, host: u32) -> Server {
    Server::start(ip, move |seen| {
        let path = seen.path.as_str();
        if path == "/nb/index.html" {
            return Reply::html(listing(host, 0));
        }
        if let Some(page) = path
            .strip_prefix("/nb/index_")
            .and_then(|p| p.strip_suffix(".html"))
            .and_then(|p| p.parse::<u32>().ok())
        {
            return Reply::html(listing(host, page));
        }
        if let Some(n) = path.strip_prefix("/nb/2021/t2021_").and_then(|p| p.strip_suffix(".html")) {
            let body = format!("<html><head><meta charset=\"utf-8\"><title>{host}号区{n}年政府信息公开工作年度报告</title></head><body><p>{}</p></body></html>", "年报正文".repeat(200));
            return Reply::html(body);
        }
        Reply::new(404, "text/plain", "not found")
    })
    .await
}

fn write_config(dir: &Path, servers: &[Server]) -> std::path::PathBuf {
    let mut text = format!(
        "archive = {:?}\n[crawl]\nper_host_interval_ms = 100\nuser_agent = \"nianbao-test/1.0\"\n\
         max_retries = 1\ntotal_timeout_s = 5\n",
        dir.join("archive").display().to_string()
    );
    for (i, s) in servers.iter().enumerate() {
        text.push_str(&format!(
            "\n[[sources]]\nname = \"区{i}\"\nstart = [\"{}\"]\n",
            s.url("/nb/index.html")
        ));
    }
    let path = dir.join("nianbao.toml");
    std::fs::write(&path, text).unwrap();
    path
}

async fn output(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn captures(db: &Path) -> i64 {
    Connection::open(db)
        .and_then(|c| c.query_row("SELECT COUNT(*) FROM captures", [], |r| r.get(0)))
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_run_resumes_without_duplicates() {
    let servers = vec![site("127.0.1.21", 1).await, site("127.0.1.22", 2).await];
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), &servers);
    let db_path = tmp.path().join("archive").join("nianbao.sqlite");

    let mut first = common::crawl_command(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while captures(&db_path) < 14 {
        assert!(
            Instant::now() < deadline,
            "the first run archived too little"
        );
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first run ended before the kill"
        );
        tokio::time::sleep(Duration::from_millis(15)).await;
    }

    // A second run while the first holds the archive: refused, exit code 2.
    let refused = output(common::crawl_command(&config)).await;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("nianbao.lock"), "{stderr}");
    assert!(stderr.contains(&first.id().to_string()), "{stderr}");

    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let at_kill = captures(&db_path);
    println!("killed after {at_kill} captures");

    let second = output(common::crawl_command(&config)).await;
    let stdout = String::from_utf8_lossy(&second.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&second.stderr));
    assert_eq!(second.status.code(), Some(0));
    assert!(stdout.contains("(resumed)"), "{stdout}");

    let db = Connection::open(&db_path).unwrap();
    let expected = (PAGES * PER_PAGE) as usize;
    for (i, server) in servers.iter().enumerate() {
        for n in 0..expected {
            let url = server.url(&format!("/nb/2021/t2021_{n}.html"));
            let full: i64 = db
                .query_row(
                    "SELECT COUNT(*) FROM captures WHERE url = ?1 AND status = 200",
                    [&url],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(full, 1, "host {i}: {url} archived {full} times");
        }
    }
    let unfinished: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM frontier WHERE state <> 'done'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unfinished, 0);

    // Every HTTP answer in the WARC files is indexed exactly once, and no URL
    // was written twice.
    let mut in_warc: HashMap<String, usize> = HashMap::new();
    let mut ids = HashSet::new();
    for file in warc::warc_files(&tmp.path().join("archive").join("warc")).unwrap() {
        for (_, record) in warc::read_all(&file).unwrap() {
            if record.header("WARC-Type") == Some("response") {
                let uri = record.header("WARC-Target-URI").unwrap().to_string();
                *in_warc.entry(uri).or_default() += 1;
                ids.insert(record.header("WARC-Record-ID").unwrap().to_string());
            }
        }
    }
    let twice: Vec<_> = in_warc.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "written twice: {twice:?}");
    let indexed: HashSet<String> = db
        .prepare("SELECT warc_record_id FROM captures WHERE record_type = 'response'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(indexed, ids, "WARC records and index rows differ");
    assert!(!tmp.path().join("archive").join("nianbao.lock").exists());
    // The clean run leaves a current CDXJ index beside every WARC file.
    for file in warc::warc_files(&tmp.path().join("archive").join("warc")).unwrap() {
        let cdxj = nianbao::export::cdxj::index_path(&file);
        let lines = std::fs::read_to_string(&cdxj).unwrap_or_default();
        let responses = warc::read_all(&file)
            .unwrap()
            .iter()
            .filter(|(_, r)| r.header("WARC-Type") == Some("response"))
            .count();
        assert!(
            lines.lines().count() >= responses,
            "{}: stale or missing",
            cdxj.display()
        );
        // Kept as the records were written, it is the index read from the file.
        assert_eq!(
            lines,
            nianbao::export::cdxj::index_lines(&file).unwrap().concat(),
            "{}",
            cdxj.display()
        );
    }
}

/// The window between a WARC write and its index row: a record on disk that
/// no row knows is indexed on start, and its URL is not fetched again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_written_but_not_indexed_is_recovered() {
    let server = site("127.0.1.23", 3).await;
    let tmp = tempfile::tempdir().unwrap();
    let config_path = write_config(tmp.path(), std::slice::from_ref(&server));
    let config = nianbao::config::Config::load(&config_path).unwrap();
    let archive = tmp.path().join("archive");

    // An interrupted run that had archived one report but not indexed it.
    let db = nianbao::archive::Archive::open(&archive).unwrap();
    db.conn()
        .execute(
            "INSERT INTO runs (started_at, pid, captures_before, failures_before)
             VALUES ('2024-01-01T00:00:00.000Z', 1, 0, 0)",
            [],
        )
        .unwrap();
    drop(db);
    let report = server.url("/nb/2021/t2021_3.html");
    let body = "<html><head><meta charset=\"utf-8\"><title>3号区3年政府信息公开工作年度报告</title></head><body></body></html>";
    let mut writer = warc::WarcWriter::open(&archive.join("warc"), 1 << 30, "test".into()).unwrap();
    writer
        .write_exchange(&warc::Exchange {
            target_uri: &report,
            date: chrono::Utc::now(),
            ip: None,
            request_head: b"GET /nb/2021/t2021_3.html HTTP/1.1\r\n\r\n",
            response_head: b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n",
            body: body.as_bytes(),
            truncated: None,
        })
        .unwrap();
    drop(writer);

    let summary = nianbao::crawl::run(&config, &nianbao::crawl::CrawlOptions::default())
        .await
        .unwrap();
    print!("{}", summary.render());
    assert!(summary.resumed);
    assert_eq!(server.hits("/nb/2021/t2021_3.html"), 0, "fetched again");
    assert_eq!(server.hits("/nb/2021/t2021_4.html"), 1);
    let db = Connection::open(archive.join("nianbao.sqlite")).unwrap();
    let (rows, outcome): (i64, String) = db
        .query_row(
            "SELECT (SELECT COUNT(*) FROM captures WHERE url = ?1),
                    (SELECT outcome FROM frontier WHERE url = ?1)",
            [&report],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((rows, outcome.as_str()), (1, "new"));
    assert_eq!(summary.sources[0].reports_new, (PAGES * PER_PAGE) as u64);
}
