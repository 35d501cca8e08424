//! Damage costs only what was damaged: a gzip member broken in the middle of
//! a WARC file, then a recrawl; damage and a torn tail after the indexed end
//! (a killed run); a corrupt SQLite file refused, then rebuilt from the WARC
//! files; `nianbao verify` over all of it. Real files, loopback hosts
//! 127.0.5.2x.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Reply, Seen, Server};
use nianbao::config::Config;
use nianbao::crawl::{self, CrawlOptions};
use nianbao::pipeline::{self, Store};
use nianbao::warc::{self, Exchange, WarcWriter};
use rusqlite::Connection;

fn report(i: usize) -> String {
    format!(
        "<html><head><meta charset=\"utf-8\"><title>第{i}区2021年政府信息公开工作年度报告</title></head>\
         <body><h1>第{i}区2021年政府信息公开工作年度报告</h1><p>本年新收政府信息公开申请数量 {i}</p>{}</body></html>",
        "<p>政府信息公开</p>".repeat(200 + i)
    )
}

/// A listing of three reports; answers 304 to a matching `If-None-Match`.
fn site(seen: &Seen) -> Reply {
    let tag = format!("\"{}\"", seen.path.len());
    if seen.header("if-none-match") == Some(tag.as_str()) {
        return Reply::new(304, "", "").header("ETag", &tag);
    }
    let reply = match seen.path.as_str() {
        "/robots.txt" => return Reply::new(404, "text/plain", "none"),
        "/nb/index.html" => Reply::html(
            "<html><body><ul><li><a href=\"r0.html\">第0区2021年政府信息公开工作年度报告</a></li>\
             <li><a href=\"r1.html\">第1区2021年政府信息公开工作年度报告</a></li>\
             <li><a href=\"r2.html\">第2区2021年政府信息公开工作年度报告</a></li></ul></body></html>",
        ),
        p => match p.strip_prefix("/nb/r").and_then(|r| r.strip_suffix(".html")) {
            Some(i) => Reply::html(report(i.parse().unwrap_or(9))),
            None => return Reply::new(404, "text/plain", "not found"),
        },
    };
    reply.header("ETag", &tag)
}

fn config_text(archive: &Path, start: &str) -> String {
    format!(
        "archive = {:?}\n[crawl]\nuser_agent = \"nianbao-test/1.0\"\ntotal_timeout_s = 5\n\
         connect_timeout_s = 2\nper_host_interval_ms = 0\nmax_concurrency = 1\n\
         \n[[sources]]\nname = \"site\"\nstart = [\"{start}\"]\n",
        archive.display().to_string()
    )
}

fn nianbao(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_nianbao"))
        .args(args)
        .env("NIANBAO_LOG", "warn")
        .output()
        .unwrap()
}

fn files_with(dir: &Path, part: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(part))
        .collect()
}

/// (file, offset, length) of the first full response of `url`.
fn record_of(db: &Connection, url: &str) -> (String, u64, u64) {
    db.query_row(
        "SELECT warc_file, warc_offset, warc_length FROM captures
         WHERE url = ?1 AND record_type = 'response' ORDER BY id LIMIT 1",
        [url],
        |r| {
            Ok((
                r.get(0)?,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
            ))
        },
    )
    .unwrap()
}

fn flip(path: &Path, at: u64, len: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    for b in bytes.iter_mut().skip(at as usize).take(len) {
        *b ^= 0x5a;
    }
    std::fs::write(path, bytes).unwrap();
}

/// The site served on `ip`, crawled once into a fresh archive.
struct Crawled {
    server: Server,
    dir: tempfile::TempDir,
    archive: PathBuf,
    text: String,
    config: Config,
}

async fn crawled(ip: &str) -> Crawled {
    let server = Server::start(ip, site).await;
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let text = config_text(&archive, &server.url("/nb/index.html"));
    let config = Config::parse(&text, Path::new("t.toml")).unwrap();
    crawl::run(&config, &CrawlOptions::default()).await.unwrap();
    Crawled {
        server,
        dir,
        archive,
        text,
        config,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_record_mid_file_costs_that_record_only() {
    let Crawled {
        server,
        dir: _dir,
        archive,
        config,
        ..
    } = crawled("127.0.5.21").await;

    let warc_dir = archive.join("warc");
    let db = Connection::open(archive.join("nianbao.sqlite")).unwrap();
    let damaged_url = server.url("/nb/r1.html");
    let (file, offset, length) = record_of(&db, &damaged_url);
    let path = warc_dir.join(&file);
    let size_before = std::fs::metadata(&path).unwrap().len();
    let after: Vec<(String, u64)> = ["/nb/r2.html"]
        .iter()
        .map(|p| {
            let (f, o, _) = record_of(&db, &server.url(p));
            (f, o)
        })
        .collect();
    assert!(
        after.iter().all(|(f, o)| *f == file && *o > offset),
        "r2 lies after r1 in one file"
    );
    flip(&path, offset + length / 2, 16);

    // Recrawl: nothing is cut out of the file, the damaged report is fetched
    // and archived in full again, the others are revisits of whole records.
    let summary = crawl::run(&config, &CrawlOptions::default()).await.unwrap();
    println!("{}", summary.render());
    assert!(
        files_with(&warc_dir, ".torn").is_empty(),
        "no good record moved out"
    );
    assert!(std::fs::metadata(&path).unwrap().len() >= size_before);
    for (f, o) in &after {
        let record = warc::read_record(&warc_dir.join(f), *o).unwrap();
        assert_eq!(
            record.header("WARC-Target-URI"),
            Some(server.url("/nb/r2.html").as_str())
        );
    }
    let second: Vec<(String, String)> = db
        .prepare("SELECT url, record_type FROM captures WHERE id > (SELECT captures_before FROM runs ORDER BY id DESC LIMIT 1) AND url LIKE '%/nb/r%'")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (url, kind) in &second {
        let want = if *url == damaged_url {
            "response"
        } else {
            "revisit"
        };
        assert_eq!(kind, want, "{url}");
    }
    assert_eq!(second.len(), 3, "{second:?}");
    let asked = server
        .seen()
        .into_iter()
        .rfind(|s| s.path == "/nb/r1.html")
        .unwrap();
    assert_eq!(
        asked.header("if-none-match"),
        None,
        "no revisit against a damaged record"
    );

    // verify names the damage and the index row that points into it.
    let out = nianbao(&["verify", "--archive", archive.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.contains(&format!("{file} at {offset}")), "{stdout}");
    assert!(stdout.contains(&damaged_url), "{stdout}");
}

/// A WARC file of its own holding one exchange per URL: (bytes, member spans).
fn foreign_records(urls: &[&str]) -> (Vec<u8>, Vec<(u64, u64)>) {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = WarcWriter::open(dir.path(), u64::MAX, "software: test\r\n".into()).unwrap();
    for url in urls {
        let body = format!("<html><body>{url}</body></html>");
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        writer
            .write_exchange(&Exchange {
                target_uri: url,
                date: chrono::Utc::now(),
                ip: None,
                request_head: b"GET / HTTP/1.1\r\n\r\n",
                response_head: head.as_bytes(),
                body: body.as_bytes(),
                truncated: None,
            })
            .unwrap();
    }
    let path = warc::warc_files(dir.path()).unwrap().remove(0);
    let spans = warc::members(&path).unwrap().spans;
    (std::fs::read(path).unwrap(), spans)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damage_and_a_torn_tail_after_the_index_are_kept_aside_and_named() {
    let Crawled {
        server: _server,
        dir: _dir,
        archive,
        ..
    } = crawled("127.0.5.22").await;
    let warc_dir = archive.join("warc");
    let path = warc::warc_files(&warc_dir).unwrap().remove(0);

    // What a killed run leaves: records written but not indexed, the first
    // damaged, and half a record at the end.
    let (mut bytes, spans) = foreign_records(&["http://lost.test/a", "http://kept.test/b"]);
    let base = std::fs::metadata(&path).unwrap().len();
    // spans: warcinfo, response a, request a, response b, request b
    let (lost_at, lost_len) = spans[1];
    // Damage in the record's body, the last compressed bytes before the
    // gzip trailer: its head, and the URI in it, still inflate.
    for b in bytes
        .iter_mut()
        .skip((lost_at + lost_len - 16) as usize)
        .take(8)
    {
        *b ^= 0xa5;
    }
    let (b_at, b_len) = spans[3];
    let torn = bytes[b_at as usize..(b_at + b_len / 2) as usize].to_vec();
    bytes.extend_from_slice(&torn);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(&mut file, &bytes).unwrap();
    drop(file);
    let grown = std::fs::metadata(&path).unwrap().len();

    let store = Store::open(&archive, u64::MAX, pipeline::warcinfo("t", "t")).unwrap();
    crawl::index_snapshots(&store).unwrap();
    drop(store);
    let size = std::fs::metadata(&path).unwrap().len();
    assert_eq!(
        size,
        grown - torn.len() as u64,
        "only the torn tail is cut off"
    );
    assert_eq!(files_with(&warc_dir, ".torn").len(), 1);
    let kept = files_with(&warc_dir, ".damaged-");
    assert_eq!(kept.len(), 1, "the damaged region is copied aside");
    let db = Connection::open(archive.join("nianbao.sqlite")).unwrap();
    let (at, urls): (i64, String) = db
        .query_row("SELECT warc_offset, urls FROM damage", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(at as u64, base + lost_at);
    assert!(urls.contains("http://lost.test/a"), "{urls}");
    let indexed: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM captures WHERE url = 'http://kept.test/b' AND warc_offset = ?1",
            [(base + b_at) as i64],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        indexed, 1,
        "the good record after the damage is indexed where it is"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_database_is_refused_untouched_then_rebuilt_from_the_warcs() {
    let Crawled {
        server: _server,
        dir,
        archive,
        text,
        ..
    } = crawled("127.0.5.23").await;
    let config_path = dir.path().join("c.toml");
    std::fs::write(&config_path, &text).unwrap();
    let db_path = archive.join("nianbao.sqlite");
    let (captures, reports): (i64, i64) = {
        let db = Connection::open(&db_path).unwrap();
        db.query_row(
            "SELECT (SELECT COUNT(*) FROM captures), (SELECT COUNT(*) FROM reports)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    assert!(reports >= 1);
    let mut bytes = std::fs::read(&db_path).unwrap();
    assert!(bytes.len() > 3 * 4096, "a database of several pages");
    for b in bytes.iter_mut().skip(4096 + 100).take(3000) {
        *b = 0xff;
    }
    std::fs::write(&db_path, &bytes).unwrap();
    let warcs_before = warc::warc_files(&archive.join("warc")).unwrap();

    let out = tokio::task::spawn_blocking({
        let config_path = config_path.clone();
        move || common::crawl_command(&config_path).output().unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stderr}");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains(&db_path.display().to_string()), "{stderr}");
    assert!(stderr.contains("nianbao rebuild"), "{stderr}");
    assert_eq!(std::fs::read(&db_path).unwrap(), bytes, "nothing written");
    assert_eq!(
        warc::warc_files(&archive.join("warc")).unwrap(),
        warcs_before
    );
    assert!(!archive.join("nianbao.lock").exists());

    let out = nianbao(&["rebuild", "--archive", archive.to_str().unwrap()]);
    println!("{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = Connection::open(&db_path).unwrap();
    let (c, r): (i64, i64) = db
        .query_row(
            "SELECT (SELECT COUNT(*) FROM captures), (SELECT COUNT(*) FROM reports)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (c, r),
        (captures, reports),
        "every capture and report is back"
    );
    assert_eq!(files_with(&archive, ".before-rebuild-").len(), 1);
    let out = nianbao(&["verify", "--archive", archive.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The crawl writes its rows without SQLite enforcing foreign keys, so
/// `verify` checks them: a clean crawl has none dangling; reports whose
/// capture row went missing behind the archive's back are named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_names_rows_that_refer_to_missing_rows() {
    let Crawled {
        server: _server,
        dir: _dir,
        archive,
        ..
    } = crawled("127.0.5.24").await;

    let out = nianbao(&["verify", "--archive", archive.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("all whole"), "{stdout}");

    let db = Connection::open(archive.join("nianbao.sqlite")).unwrap();
    db.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    let (report, capture): (i64, i64) = db
        .query_row(
            "SELECT id, capture_id FROM reports ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    db.execute("DELETE FROM captures WHERE id = ?1", [capture])
        .unwrap();
    drop(db);

    let out = nianbao(&["verify", "--archive", archive.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "reports: row {report} refers to a missing row of captures"
        )),
        "{stdout}"
    );
}
