//! Response heads as served: the WARC `response` record holds the status
//! line with its reason phrase and the header lines in their case and order,
//! byte for byte, however many there are; the `request` record holds what
//! went on the wire. Loopback servers here write every byte by hand.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::keep_for_ci;
use nianbao::fetch::{Conditional, FetchConfig, Fetcher};
use nianbao::pipeline::{self, Options, Store};
use nianbao::warc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

const PAGE: &str = "<html><head><meta charset=\"utf-8\"><title>年度报告</title></head><body><p>某某区2021年政府信息公开工作年度报告</p></body></html>";

/// A server that answers every request with `head` then `body`, and keeps
/// the request heads it read, byte for byte. It closes the connection after
/// each answer, or with `keep_alive` waits there for the next request.
struct Raw {
    url: String,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
    connections: Arc<AtomicUsize>,
}

async fn serve(head: Vec<u8>, body: Vec<u8>) -> Raw {
    serve_on(head, body, false).await
}

async fn serve_on(head: Vec<u8>, body: Vec<u8>, keep_alive: bool) -> Raw {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let connections = Arc::new(AtomicUsize::new(0));
    let (seen, count) = (requests.clone(), connections.clone());
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let (head, body, seen) = (head.clone(), body.clone(), seen.clone());
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                loop {
                    let mut got = Vec::new();
                    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                    seen.lock().unwrap().push(got);
                    let _ = s.write_all(&head).await;
                    let _ = s.write_all(&body).await;
                    if !keep_alive {
                        let _ = s.shutdown().await;
                        return;
                    }
                }
            });
        }
    });
    Raw {
        url: format!("http://{addr}/nb/2021.html"),
        requests,
        connections,
    }
}

/// `n` header lines of mixed case, in no alphabetical order.
fn many_headers(n: usize) -> String {
    (0..n)
        .map(|i| {
            let name = match i % 4 {
                0 => format!("X-Trace-{:03}", n - i),
                1 => format!("x-trace-{:03}", n - i),
                2 => format!("X-TRACE-{:03}", n - i),
                _ => format!("x-Trace-{:03}", n - i),
            };
            format!("{name}: v{i}\r\n")
        })
        .collect()
}

fn store(dir: &Path) -> Store {
    Store::open(dir, 1 << 30, pipeline::warcinfo("test", "none")).unwrap()
}

/// Archive `url`; the response and request records of its capture.
async fn archive(store: &Store, url: &str) -> (u16, warc::Record, warc::Record) {
    let fetcher = Fetcher::new(FetchConfig::default()).unwrap();
    let opts = Options {
        max_redirects: 0,
        ..Options::default()
    };
    let url = Url::parse(url).unwrap();
    let archived = pipeline::archive_url(&fetcher, store, &url, &opts, &|_| true)
        .await
        .unwrap();
    let db = store.db.lock().unwrap();
    let (file, offset, record_id): (String, u64, String) = db
        .conn()
        .query_row(
            "SELECT warc_file, warc_offset, warc_record_id FROM captures WHERE id = ?1",
            [archived.capture_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let path = db.warc_dir().join(file);
    let response = warc::read_record(&path, offset).unwrap();
    assert_eq!(response.header("WARC-Record-ID"), Some(record_id.as_str()));
    let request = warc::read_all(&path)
        .unwrap()
        .into_iter()
        .map(|(_, r)| r)
        .find(|r| r.header("WARC-Concurrent-To") == Some(record_id.as_str()))
        .expect("the request record of the capture");
    (archived.status, response, request)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_head_of_120_mixed_case_headers_is_archived_as_sent() {
    let head = format!(
        "HTTP/1.1 200 Everything Is Fine Here\r\nServer: Microsoft-IIS/6.0\r\n\
         content-TYPE: text/html; charset=utf-8\r\nSet-Cookie: JSESSIONID=a1; Path=/\r\n\
         X-Powered-By: ASP.NET\r\nset-cookie: route=b2\r\nETag: \"5f-1\"\r\n{}\
         Content-Length: {}\r\n\r\n",
        many_headers(114),
        PAGE.len()
    );
    assert_eq!(head.matches("\r\n").count() - 2, 121, "121 header lines");
    let server = serve(head.clone().into_bytes(), PAGE.as_bytes().to_vec()).await;
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let (status, response, request) = archive(&store, &server.url).await;
    assert_eq!(status, 200);
    let (stored_head, payload) = response.http_parts();
    assert_eq!(
        String::from_utf8_lossy(stored_head),
        head,
        "the head byte for byte as served"
    );
    assert_eq!(payload, PAGE.as_bytes());
    // The request record is what the server read.
    let sent = server.requests.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        String::from_utf8_lossy(&request.block),
        String::from_utf8_lossy(&sent[0])
    );
    assert!(request.block.starts_with(b"GET /nb/2021.html HTTP/1.1\r\n"));
    // The capture row still reads its headers by name, whatever their case.
    let db = store.db.lock().unwrap();
    let etag: Option<String> = db
        .conn()
        .query_row("SELECT etag FROM captures", [], |r| r.get(0))
        .unwrap();
    assert_eq!(etag.as_deref(), Some("\"5f-1\""));
    drop(db);
    keep_for_ci(&tmp.path().join("warc"), "heads-120");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chunked_head_of_300_headers_loses_only_its_transfer_encoding_line() {
    let lines = many_headers(298);
    let sent = format!(
        "HTTP/1.1 404 Page Gone Fishing\r\nContent-Type: text/html\r\n{lines}\
         Transfer-Encoding: chunked\r\nvia: 1.1 squid\r\n\r\n"
    );
    let kept = format!(
        "HTTP/1.1 404 Page Gone Fishing\r\nContent-Type: text/html\r\n{lines}\
         via: 1.1 squid\r\n\r\n"
    );
    let body = b"5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n".to_vec();
    let server = serve(sent.into_bytes(), body).await;

    let fetcher = Fetcher::new(FetchConfig::default()).unwrap();
    let url = Url::parse(&server.url).unwrap();
    let fetched = fetcher.get(&url, &Conditional::default()).await.unwrap();
    assert_eq!(fetched.status, 404);
    assert_eq!(fetched.headers.len(), 301);
    assert_eq!(fetched.headers[1].0, "x-trace-298", "in the order sent");
    assert_eq!(fetched.header("x-TRACE-001").as_deref(), Some("v297"));
    assert_eq!(
        fetched.header("transfer-encoding").as_deref(),
        Some("chunked")
    );

    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let (status, response, _) = archive(&store, &server.url).await;
    assert_eq!(status, 404);
    let (stored_head, payload) = response.http_parts();
    assert_eq!(String::from_utf8_lossy(stored_head), kept);
    assert_eq!(payload, b"hello, world", "stored de-chunked");
    keep_for_ci(&tmp.path().join("warc"), "heads-300");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_http_1_0_answer_after_an_interim_head_keeps_its_own_status_line() {
    // An old server's lowercase reason, after a 100 Continue the client reads past.
    let head = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 ok\r\ncontent-type: text/html\r\nDate: Sat, 01 Jan 2022 00:00:00 GMT\r\n\r\n";
    let server = serve(head.into(), PAGE.as_bytes().to_vec()).await;
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let (status, response, _) = archive(&store, &server.url).await;
    assert_eq!(status, 200);
    let (stored_head, payload) = response.http_parts();
    assert_eq!(
        String::from_utf8_lossy(stored_head),
        "HTTP/1.0 200 ok\r\ncontent-type: text/html\r\nDate: Sat, 01 Jan 2022 00:00:00 GMT\r\n\r\n"
    );
    assert_eq!(payload, PAGE.as_bytes(), "read until the server closed");
    keep_for_ci(&tmp.path().join("warc"), "heads-1.0");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_head_past_the_limits_is_refused_with_a_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let fetcher = Fetcher::new(FetchConfig::default()).unwrap();
    // Too many lines, and too many bytes in a few lines.
    let huge = format!("X-Padding: {}\r\n", "p".repeat(100 * 1024)).repeat(3);
    for lines in [many_headers(1100), huge] {
        let head = format!("HTTP/1.1 200 OK\r\n{lines}Content-Length: 2\r\n\r\n");
        let head_len = head.len();
        let server = serve(head.into_bytes(), b"ok".to_vec()).await;
        let url = Url::parse(&server.url).unwrap();
        let Err(e) = fetcher.get(&url, &Conditional::default()).await else {
            panic!("a head of {} bytes was taken", head_len);
        };
        assert_eq!(e.kind(), "http", "{e}");
        assert!(e.to_string().contains("too large"), "{e}");
        let opts = Options::default();
        let archived = pipeline::archive_url(&fetcher, &store, &url, &opts, &|_| true).await;
        assert_eq!(archived.err().map(|e| e.kind()), Some("http"));
    }
    let db = store.db.lock().unwrap();
    let captures: i64 = db
        .conn()
        .query_row("SELECT count(*) FROM captures", [], |r| r.get(0))
        .unwrap();
    assert_eq!(captures, 0, "nothing archived from a refused head");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kept_alive_connection_carries_each_exchange_whole() {
    let head = format!(
        "HTTP/1.1 200 Fine\r\ncontent-type: text/html\r\nKeep-Alive: timeout=5\r\nContent-Length: {}\r\n\r\n",
        PAGE.len()
    );
    // A server that keeps the connection, and one that closes it after
    // every answer without saying so (a kept-alive connection gone stale).
    for (keep_alive, connections) in [(true, 1), (false, 3)] {
        let server = serve_on(
            head.clone().into_bytes(),
            PAGE.as_bytes().to_vec(),
            keep_alive,
        )
        .await;
        let fetcher = Fetcher::new(FetchConfig::default()).unwrap();
        let mut fetched = Vec::new();
        for page in ["a", "b", "c"] {
            let url = Url::parse(&format!("{}?p={page}", server.url)).unwrap();
            fetched.push(fetcher.get(&url, &Conditional::default()).await.unwrap());
        }
        assert_eq!(
            server.connections.load(Ordering::SeqCst),
            connections,
            "keep-alive {keep_alive}"
        );
        let sent = server.requests.lock().unwrap().clone();
        assert_eq!(sent.len(), 3);
        for (f, request) in fetched.iter().zip(&sent) {
            assert_eq!(String::from_utf8_lossy(&f.response_head), head);
            assert_eq!(f.body, PAGE.as_bytes());
            assert_eq!(
                String::from_utf8_lossy(&f.request_head),
                String::from_utf8_lossy(request),
                "each request record holds its own request only"
            );
        }
    }
}
