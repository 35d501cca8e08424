//! The `nianbao` binary end to end: fetch a GBK report page from a loopback
//! server into a fresh archive, extract local files, re-extract the archive.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{gbk, Reply, Server};

const BIN: &str = env!("CARGO_BIN_EXE_nianbao");

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/samples")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            .arg("--config")
            .arg("/nonexistent/nianbao.toml")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The Pingtan 2019 report as an old GBK site serves it: charset only in
/// `<meta http-equiv>`, nothing in the HTTP header.
fn gbk_report() -> Vec<u8> {
    let page = fixture("pingtan-2019-report.html").replace(
        "<meta charset=\"utf-8\"",
        "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\"><meta",
    );
    gbk(&page)
}

fn count(db: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn fetch_archives_a_gbk_report_and_prints_its_tables() {
    let server = Server::routes(
        "127.0.0.1",
        vec![
            (
                "/nb/t20200120_80576.htm",
                Reply::new(200, "text/html", gbk_report()),
            ),
            (
                "/gone.htm",
                Reply::new(404, "text/html", "<html>404</html>"),
            ),
        ],
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let arch = archive.to_string_lossy().to_string();

    let out = run(vec![
        "fetch".into(),
        server.url("/nb/t20200120_80576.htm"),
        "--archive".into(),
        arch.clone(),
    ])
    .await;
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("平潭综合实验区2019年度政府信息公开工作年度报告"),
        "{text}"
    );
    assert!(text.contains("decided by meta_tag"), "{text}");
    assert!(text.contains("一、本年新收政府信息公开申请数量"), "{text}");
    assert!(text.contains("75394432.52 元"), "{text}");
    assert!(text.contains("40 of 40 hold"), "{text}");

    let db = archive.join("nianbao.sqlite");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM captures"), 1);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM reports WHERE year = 2019 AND format = 'f2019'"
        ),
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM cells WHERE table_code = 'requests'"
        ),
        161
    );
    assert_eq!(
        count(&db, "SELECT CAST(value AS INTEGER) FROM v_cells WHERE \"table\" = 'requests' AND \"row\" = 'new' AND col = 'total'"),
        23
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM captures WHERE encoding = 'gb18030' AND encoding_decision = 'meta_tag'"), 1);

    // An HTTP error is archived too, and the exit code says something failed.
    let out = run(vec![
        "fetch".into(),
        server.url("/gone.htm"),
        "--archive".into(),
        arch.clone(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM captures WHERE status = 404"),
        1
    );

    // Unusable input.
    let out = run(vec![
        "fetch".into(),
        "ftp://example.invalid/x".into(),
        "--archive".into(),
        arch.clone(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    let out = run(vec![
        "fetch".into(),
        "not a url".into(),
        "--archive".into(),
        arch.clone(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));

    // Re-extraction from the snapshots alone rebuilds the same figures.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("DELETE FROM cells WHERE table_code = 'appeals'", [])
        .unwrap();
    conn.execute("UPDATE cells SET value = 999 WHERE table_code = 'requests' AND row_code = 'new' AND col_code = 'total'", []).unwrap();
    drop(conn);
    let out = run(vec!["reextract".into(), "--archive".into(), arch.clone()]).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("cells: 15 added, 1 changed, 0 removed"),
        "{text}"
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM cells"), 198);
}

#[tokio::test(flavor = "multi_thread")]
async fn extract_json_finds_the_four_aggregated_reports() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/samples/hongkou-2017-2020-aggregator.txt");
    let out = run(vec![
        "extract".into(),
        path.to_string_lossy().into(),
        "--json".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reports = doc["reports"].as_array().unwrap();
    let mut years: Vec<i64> = reports
        .iter()
        .map(|r| r["year"].as_i64().unwrap())
        .collect();
    years.sort();
    assert_eq!(years, vec![2017, 2018, 2019, 2020]);
    let r2019 = reports.iter().find(|r| r["year"] == 2019).unwrap();
    assert_eq!(r2019["format"], "f2019");
    let cell = |r: &serde_json::Value, table: &str, row: &str, col: &str| {
        r["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["table"] == table && c["row"] == row && c["col"] == col)
            .cloned()
            .unwrap()
    };
    let amount = cell(r2019, "proactive", "procurement", "amount");
    assert_eq!(amount["raw"], "67552.91(万元)");
    assert_eq!(amount["value"], 67552.91);
    assert_eq!(amount["unit"], "wan_yuan");
    let broken: Vec<&str> = r2019["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["holds"] == false)
        .map(|c| c["col"].as_str().unwrap())
        .collect();
    assert_eq!(broken, vec!["natural_person", "legal.business"]);
    let r2018 = reports.iter().find(|r| r["year"] == 2018).unwrap();
    assert_eq!(r2018["format"], "pre2019");
    assert_eq!(
        cell(r2018, "headline", "requests_received", "value")["value"],
        1100.0
    );

    let out = run(vec!["extract".into(), "/nonexistent/file.html".into()]).await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fetch_waits_its_turn_on_a_busy_archive() {
    // A server that accepts and never answers keeps the first fetch busy.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let arch = tmp.path().join("archive");
    let mut first = Command::new(BIN)
        .args(["fetch", &format!("http://{addr}/slow.html"), "--archive"])
        .arg(&arch)
        .args(["--config", "/nonexistent/nianbao.toml"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lock = arch.join("nianbao.lock");
    let started = std::time::Instant::now();
    while !lock.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "no lock taken"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let out = run(vec![
        "fetch".into(),
        format!("http://{addr}/other.html"),
        "--archive".into(),
        arch.to_string_lossy().into(),
    ])
    .await;
    let _ = first.kill();
    let _ = first.wait();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("nianbao.lock") && err.contains(&first.id().to_string()),
        "{err}"
    );
}

/// The CDXJ index beside a WARC file is what replay tools read: after each
/// `fetch` it lists every page fetched so far, the new one included.
#[tokio::test(flavor = "multi_thread")]
async fn fetch_keeps_the_cdxj_index_current() {
    let server = Server::routes(
        "127.0.0.1",
        vec![
            ("/nb/one.htm", Reply::new(200, "text/html", gbk_report())),
            ("/nb/two.htm", Reply::new(200, "text/html", gbk_report())),
        ],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let index_lines = || -> Vec<String> {
        let mut lines = Vec::new();
        for entry in std::fs::read_dir(archive.join("warc")).unwrap() {
            let path = entry.unwrap().path();
            if path.to_string_lossy().ends_with(".warc.gz.cdxj") {
                let text = std::fs::read_to_string(&path).unwrap();
                lines.extend(text.lines().map(str::to_string));
            }
        }
        lines
    };
    for (page, expected) in [("/nb/one.htm", 1), ("/nb/two.htm", 2)] {
        let out = run(vec![
            "fetch".into(),
            server.url(page),
            "--archive".into(),
            archive.display().to_string(),
        ])
        .await;
        assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
        let lines = index_lines();
        let pages: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains("/nb/") && l.contains("\"status\": \"200\""))
            .collect();
        assert_eq!(pages.len(), expected, "{lines:#?}");
        assert!(
            pages.iter().any(|l| l.contains(page)),
            "{page} in {lines:#?}"
        );
    }
}
