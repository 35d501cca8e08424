//! Hostile servers and faults at the level of one URL: the run completes, the
//! outcome is recorded, and nothing already archived is damaged.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{gbk, Reply, Server};
use nianbao::fetch::{FetchConfig, Fetcher};
use nianbao::pipeline::{self, Archived, Options, PipelineError, Store};
use nianbao::warc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

fn tight() -> FetchConfig {
    FetchConfig {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(1),
        total_timeout: Duration::from_secs(3),
        max_body_bytes: 1024 * 1024,
        ..FetchConfig::default()
    }
}

fn store(dir: &Path) -> Store {
    Store::open(dir, 1 << 30, pipeline::warcinfo("test", "none")).unwrap()
}

async fn get(
    store: &Store,
    url: &str,
    scope_host: Option<&str>,
) -> Result<Archived, PipelineError> {
    let fetcher = Fetcher::new(tight()).unwrap();
    let opts = Options {
        max_redirects: 5,
        ..Options::default()
    };
    let host = scope_host.map(str::to_string);
    let in_scope = move |u: &Url| host.as_deref().is_none_or(|h| u.host_str() == Some(h));
    pipeline::archive_url(&fetcher, store, &Url::parse(url).unwrap(), &opts, &in_scope).await
}

/// A server that reads the request head, then does `then` with the socket.
async fn raw<F, Fut>(then: F) -> String
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let then = std::sync::Arc::new(then);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let then = then.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let _ = s.read(&mut buf).await;
                then(s).await;
            });
        }
    });
    format!("http://{addr}/")
}

fn record_of(store: &Store, id: i64) -> warc::Record {
    let db = store.db.lock().unwrap();
    let (file, offset): (String, i64) = db
        .conn()
        .query_row(
            "SELECT warc_file, warc_offset FROM captures WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    warc::read_record(&db.warc_dir().join(file), offset as u64).unwrap()
}

fn all_files_whole(dir: &Path) {
    for f in warc::warc_files(&dir.join("warc")).unwrap() {
        let m = warc::members(&f).unwrap();
        assert_eq!(m.good_end, m.size, "{}: a torn record", f.display());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn gzip_bomb_is_stored_as_sent_and_inflated_only_up_to_a_cap() {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..128 {
        enc.write_all(&zeros).unwrap(); // 128 MiB inflated, past the parse cap
    }
    let bomb = enc.finish().unwrap();
    assert!(bomb.len() < 1024 * 1024);
    let server = Server::routes(
        "127.0.0.1",
        vec![(
            "/bomb.html",
            Reply::new(200, "text/html", bomb.clone()).header("Content-Encoding", "gzip"),
        )],
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let a = get(&store, &server.url("/bomb.html"), None).await.unwrap();
    assert!(a.reports.is_empty());
    let record = record_of(&store, a.capture_id);
    assert_eq!(
        record.http_parts().1,
        bomb.as_slice(),
        "stored compressed, as sent"
    );
    let headers = vec![("content-encoding".to_string(), b"gzip".to_vec())];
    assert_eq!(nianbao::fetch::entity(&headers, &bomb, 4096).len(), 4096);
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_and_endless_bodies_are_cut_and_marked_truncated() {
    let big = vec![b'x'; 5 * 1024 * 1024];
    let server = Server::routes(
        "127.0.0.1",
        vec![("/big.html", Reply::new(200, "text/html", big))],
    )
    .await;
    let endless = raw(|mut s| async move {
        let _ = s
            .write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n",
            )
            .await;
        let chunk = format!("{:x}\r\n{}\r\n", 8192, "y".repeat(8192));
        while s.write_all(chunk.as_bytes()).await.is_ok() {}
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    for url in [server.url("/big.html"), endless] {
        let a = get(&store, &url, None).await.unwrap();
        assert_eq!(a.truncated, Some("length"), "{url}");
        let record = record_of(&store, a.capture_id);
        assert_eq!(record.header("WARC-Truncated"), Some("length"), "{url}");
        assert_eq!(record.http_parts().1.len(), 1024 * 1024, "{url}");
        let head = String::from_utf8_lossy(record.http_parts().0).to_ascii_lowercase();
        assert!(!head.contains("transfer-encoding"), "{url}");
    }
    all_files_whole(tmp.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_and_silent_servers_time_out() {
    let drip = raw(|mut s| async move {
        let _ = s
            .write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n",
            )
            .await;
        loop {
            if s.write_all(b"<").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
    .await;
    let silent = raw(|s| async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop(s);
    })
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let started = Instant::now();
    let a = get(&store, &drip, None).await.unwrap();
    assert_eq!(
        a.truncated,
        Some("time"),
        "slow-loris body kept, cut by the total timeout"
    );
    let e = get(&store, &silent, None).await.unwrap_err();
    assert_eq!(e.kind(), "timeout", "{e}");
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[tokio::test(flavor = "multi_thread")]
async fn redirect_loops_foreign_hosts_and_schemes_stop_with_a_reason() {
    let server = Server::routes(
        "127.0.0.1",
        vec![
            ("/a", Reply::redirect(302, "/b")),
            ("/b", Reply::redirect(301, "/a")),
            ("/away", Reply::redirect(302, "http://127.0.9.9:9/x")),
            ("/ftp", Reply::redirect(302, "ftp://127.0.0.1/report.pdf")),
            ("/js", Reply::redirect(302, "javascript:alert(1)")),
        ],
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let e = get(&store, &server.url("/a"), Some("127.0.0.1"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "redirect_loop");
    for path in ["/away", "/ftp", "/js"] {
        let e = get(&store, &server.url(path), Some("127.0.0.1"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), "redirect_out_of_scope", "{path}: {e}");
    }
    assert_eq!(server.hits("/a"), 1, "the loop is noticed, not run round");
    let db = store.db.lock().unwrap();
    let hops: i64 = db
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM captures WHERE status IN (301, 302)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(hops, 5, "every hop that was served is archived");
}

#[tokio::test(flavor = "multi_thread")]
async fn lying_labels_and_binary_bodies_are_survived_and_recorded() {
    let text = "2020年某区政府信息公开工作年度报告 本年新收政府信息公开申请数量 行政复议";
    let utf8_says_gbk = format!("<html><head><meta http-equiv=Content-Type content=\"text/html; charset=gb2312\"></head><body>{text}</body></html>");
    let gbk_says_utf8 = gbk(&format!(
        "<html><head><meta charset=\"utf-8\"></head><body>{text}</body></html>"
    ));
    let mut invalid = gbk(&format!("<html><body>{text}</body></html>"));
    invalid.splice(20..20, [0xff, 0xfe, 0x81]);
    let binary = common::noise(200_000);
    let server = Server::routes(
        "127.0.0.1",
        vec![
            (
                "/u.html",
                Reply::new(200, "text/html", utf8_says_gbk.into_bytes()),
            ),
            ("/g.html", Reply::new(200, "text/html", gbk_says_utf8)),
            ("/bad.html", Reply::new(200, "text/html", invalid)),
            ("/bin.html", Reply::new(200, "text/html", binary)),
        ],
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    for (path, rejected) in [("/u.html", "gb2312"), ("/g.html", "utf-8")] {
        let a = get(&store, &server.url(path), None).await.unwrap();
        assert!(a.text.unwrap().contains(text), "{path}");
        assert_eq!(
            a.decoded.unwrap().rejected,
            vec![rejected.to_string()],
            "{path}"
        );
    }
    let a = get(&store, &server.url("/bad.html"), None).await.unwrap();
    let d = a.decoded.unwrap();
    assert!(d.had_errors, "replacement characters recorded");
    assert!(a.text.unwrap().contains("本年新收政府信息公开申请数量"));
    let a = get(&store, &server.url("/bin.html"), None).await.unwrap();
    assert!(a.reports.is_empty());
    all_files_whole(tmp.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn odd_urls_never_become_paths_and_are_percent_encoded() {
    let server = Server::start("127.0.0.1", |_| Reply::html("<html>ok</html>")).await;
    let base = server.url("");
    let odd = [
        format!("{base}/a/../../../../etc/passwd"),
        format!("{base}/%2e%2e/%2e%2e/secret"),
        format!("{base}/政府信息公开/年报 2020.html?标题=年度 报告"),
        format!("{base}/q?{}", "x=1&".repeat(2000)),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    for url in &odd {
        let a = get(&store, url, None).await.unwrap();
        let record = record_of(&store, a.capture_id);
        let uri = record.header("WARC-Target-URI").unwrap();
        assert!(
            uri.is_ascii() && !uri.contains(' ') && !uri.contains('<'),
            "{uri}"
        );
    }
    let names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for name in &names {
        assert!(
            name == "warc" || name.starts_with("nianbao.sqlite"),
            "unexpected {name}"
        );
    }
}

fn nianbao(args: &[&str], file_limit_kb: Option<u64>) -> std::process::Output {
    let bin = env!("CARGO_BIN_EXE_nianbao");
    let mut script = String::from("trap '' XFSZ; ");
    if let Some(kb) = file_limit_kb {
        script.push_str(&format!("ulimit -f {kb}; "));
    }
    script.push_str("exec \"$0\" \"$@\" --config /nonexistent.toml");
    Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg(bin)
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_stops_with_a_clear_error_and_keeps_the_archive_whole() {
    let small = "<html><head><title>2020年某区政府信息公开工作年度报告</title></head><body>年报</body></html>";
    let big: String = "<p>政府信息公开工作年度报告</p>".repeat(40_000);
    let noise = common::noise(2_000_000);
    let server = Server::routes(
        "127.0.0.1",
        vec![
            ("/small.html", Reply::html(small)),
            ("/big.html", Reply::html(big)),
            (
                "/noise.bin",
                Reply::new(200, "application/octet-stream", noise),
            ),
        ],
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("archive");
    let arch = dir.to_string_lossy().to_string();
    let url = server.url("/small.html");
    let out =
        tokio::task::spawn_blocking(move || nianbao(&["fetch", &url, "--archive", &arch], None))
            .await
            .unwrap();
    assert_eq!(out.status.code(), Some(1), "fetched, no tables");
    // Every file may grow to 1 MiB at most: the WARC write of 2 MB fails.
    let arch = dir.to_string_lossy().to_string();
    let url = server.url("/noise.bin");
    let out = tokio::task::spawn_blocking(move || {
        nianbao(&["fetch", &url, "--archive", &arch], Some(1024))
    })
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("WARC file") && err.to_lowercase().contains("too large"),
        "{err}"
    );
    all_files_whole(&dir);
    let conn = rusqlite::Connection::open(dir.join("nianbao.sqlite")).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let captures: i64 = conn
        .query_row("SELECT COUNT(*) FROM captures", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        captures, 1,
        "the earlier capture is still there, the failed one is not"
    );
    let (file, offset): (String, i64) = conn
        .query_row("SELECT warc_file, warc_offset FROM captures", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let record = warc::read_record(&dir.join("warc").join(file), offset as u64).unwrap();
    assert!(String::from_utf8_lossy(record.http_parts().1).contains("年度报告"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_archive_is_refused_before_anything_starts() {
    let server = Server::routes(
        "127.0.0.1",
        vec![("/x.html", Reply::html("<html>x</html>"))],
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("archive");
    std::fs::create_dir_all(dir.join("warc")).unwrap();
    // Root ignores permission bits; the immutable attribute binds root too.
    let locked = Command::new("chattr")
        .arg("+i")
        .arg(&dir)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !locked {
        let mut perms = std::fs::metadata(&dir).unwrap().permissions();
        perms.set_readonly(true);
        std::fs::set_permissions(&dir, perms).unwrap();
    }
    let arch = dir.to_string_lossy().to_string();
    let url = server.url("/x.html");
    let out =
        tokio::task::spawn_blocking(move || nianbao(&["fetch", &url, "--archive", &arch], None))
            .await
            .unwrap();
    let _ = Command::new("chattr").arg("-i").arg(&dir).status();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not writable"), "{err}");
    assert_eq!(server.hits("/x.html"), 0, "nothing was fetched");
}
