//! Bodies as sent, read whatever they were wrapped in: every content coding
//! (gzip, zlib and raw deflate, br, stacked), an unreadable one named; a
//! DOCX from a download servlet as `application/octet-stream` with its name
//! only in `Content-Disposition` (GBK bytes, RFC 5987); the reason phrase as
//! served; a redirect chain across new URLs; `Crawl-delay: 3600`. Loopback
//! hosts 127.0.5.4x.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

mod common;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Reply, Server};
use nianbao::config::Config;
use nianbao::crawl::{self, CrawlOptions};
use nianbao::fetch::{FetchConfig, Fetcher};
use nianbao::pipeline::{self, Archived, Options, Store};
use nianbao::warc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

fn pingtan() -> Vec<u8> {
    std::fs::read("tests/fixtures/samples/pingtan-2019-report.html").unwrap()
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn zlib(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn raw_deflate(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// Brotli in uncompressed meta-blocks of at most 64 KiB (RFC 7932 §9.2).
fn brotli_stored(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut bits: u64 = 0; // WBITS = 16: a single 0 bit
    let mut nbits = 1u32;
    for block in data.chunks(1 << 16) {
        // ISLAST 0, MNIBBLES 0 (4 nibbles), MLEN-1, ISUNCOMPRESSED 1.
        let header = ((block.len() as u64 - 1) << 3) | (1 << 19);
        bits |= header << nbits;
        nbits += 20;
        while nbits >= 8 {
            out.push(bits as u8);
            bits >>= 8;
            nbits -= 8;
        }
        if nbits > 0 {
            out.push(bits as u8);
        }
        bits = 0;
        nbits = 0;
        out.extend_from_slice(block);
    }
    out.push(0b11); // ISLAST, ISLASTEMPTY
    out
}

fn store(dir: &Path) -> Store {
    Store::open(dir, 1 << 30, pipeline::warcinfo("test", "none")).unwrap()
}

async fn get(store: &Store, url: &str) -> Archived {
    let fetcher = Fetcher::new(FetchConfig {
        total_timeout: Duration::from_secs(5),
        ..FetchConfig::default()
    })
    .unwrap();
    let opts = Options {
        max_redirects: 5,
        ..Options::default()
    };
    pipeline::archive_url(&fetcher, store, &Url::parse(url).unwrap(), &opts, &|_| true)
        .await
        .unwrap()
}

fn stored_body(store: &Store, capture: i64) -> (Vec<u8>, Vec<u8>) {
    let db = store.db.lock().unwrap();
    let (file, offset): (String, i64) = db
        .conn()
        .query_row(
            "SELECT warc_file, warc_offset FROM captures WHERE id = ?1",
            [capture],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let record = warc::read_record(&db.warc_dir().join(file), offset as u64).unwrap();
    let (head, body) = record.http_parts();
    (head.to_vec(), body.to_vec())
}

#[tokio::test]
async fn every_content_coding_is_read_and_stored_as_sent() {
    let page = pingtan();
    let br = brotli_stored(&page);
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("/gzip", "gzip", gzip(&page)),
        ("/zlib", "deflate", zlib(&page)),
        ("/raw", "deflate", raw_deflate(&page)),
        ("/br", "br", br.clone()),
        ("/twice", "gzip, gzip", gzip(&gzip(&page))),
        ("/br-gzip", "br, gzip", gzip(&br)),
    ];
    let routes: Vec<(&str, Reply)> = cases
        .iter()
        .map(|(path, coding, body)| {
            (
                *path,
                Reply::new(200, "text/html; charset=utf-8", body.clone())
                    .header("Content-Encoding", coding),
            )
        })
        .chain(std::iter::once((
            "/zstd",
            Reply::new(200, "text/html; charset=utf-8", b"(zstd frame)".to_vec())
                .header("Content-Encoding", "zstd"),
        )))
        .collect();
    let server = Server::routes("127.0.5.41", routes).await;
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    for (path, coding, body) in &cases {
        let archived = get(&store, &server.url(path)).await;
        assert_eq!(archived.reports.len(), 1, "{coding}: the report is read");
        let cells = archived.reports[0].cells.len();
        assert!(cells > 50, "{coding}: {cells} cells");
        let (head, stored) = stored_body(&store, archived.capture_id);
        assert_eq!(&stored, body, "{coding}: stored as sent");
        let sent = format!("\r\nContent-Encoding: {coding}\r\n");
        assert!(
            String::from_utf8_lossy(&head).contains(&sent),
            "{coding}: the head as sent"
        );
        assert_eq!(archived.outcome.as_str(), "report");
    }
    // An unknown coding is named, and nothing is made up.
    let problem = nianbao::fetch::coding_problem(
        &[("content-encoding".into(), b"zstd".to_vec())],
        b"(zstd frame)",
    );
    assert_eq!(
        problem.as_deref(),
        Some("Content-Encoding \"zstd\" is not one nianbao reads")
    );
    let archived = get(&store, &server.url("/zstd")).await;
    assert!(archived.reports.is_empty());
}

/// A download servlet on a raw socket: the DOCX as octet-stream, its name in
/// raw GBK bytes (what IIS and Java servlets send).
async fn servlet(docx: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.5.42:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let docx = docx.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).to_string();
                let mut head =
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n".to_vec();
                if request.starts_with("GET /downfile.jsp?id=1 ") {
                    head.extend_from_slice(b"Content-Disposition: attachment; filename=\"");
                    head.extend_from_slice(&encoding_rs::GB18030.encode("虹口区2020年报.docx").0);
                    head.extend_from_slice(b"\"\r\n");
                } else {
                    head.extend_from_slice(
                        b"Content-Disposition: attachment; filename*=UTF-8''%E8%99%B9%E5%8F%A3.docx\r\n",
                    );
                }
                head.extend_from_slice(
                    format!(
                        "Content-Length: {}\r\nConnection: close\r\n\r\n",
                        docx.len()
                    )
                    .as_bytes(),
                );
                let _ = s.write_all(&head).await;
                let _ = s.write_all(&docx).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn an_octet_stream_docx_is_read_by_its_bytes_and_its_name() {
    let docx = std::fs::read("tests/fixtures/attachments/hongkou-2020.docx").unwrap();
    let base = servlet(docx).await;
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    for path in ["/downfile.jsp?id=1", "/DownLoad.aspx?fid=2"] {
        let archived = get(&store, &format!("{base}{path}")).await;
        assert_eq!(archived.reports.len(), 1, "{path}");
        assert!(archived.reports[0].cells.len() > 50, "{path}");
        assert_eq!(archived.outcome.as_str(), "report");
    }
    assert_eq!(
        nianbao::attachment::kind_of(
            "http://x/downfile.jsp?id=1",
            Some("application/octet-stream"),
            &std::fs::read("tests/fixtures/attachments/hongkou-2020.xlsx").unwrap()
        ),
        Some(nianbao::attachment::Kind::Spreadsheet)
    );
}

#[tokio::test]
async fn the_reason_phrase_is_kept_as_served() {
    // The test server answers every status with the reason phrase "X".
    let server = Server::routes("127.0.5.43", vec![("/", Reply::html("<p>hi</p>"))]).await;
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let archived = get(&store, &server.url("/")).await;
    let (head, _) = stored_body(&store, archived.capture_id);
    assert!(
        head.starts_with(b"HTTP/1.1 200 X\r\n"),
        "{}",
        String::from_utf8_lossy(&head)
    );
}

fn crawl_config(archive: &Path, extra: &str, start: &str) -> Config {
    let text = format!(
        "archive = {:?}\n[crawl]\nuser_agent = \"nianbao-test/1.0\"\ntotal_timeout_s = 5\n\
         connect_timeout_s = 2\nper_host_interval_ms = 0\nmax_redirects = 5\n{extra}\n\
         \n[[sources]]\nname = \"s\"\nstart = [\"{start}\"]\n",
        archive.display().to_string()
    );
    Config::parse(&text, Path::new("t.toml")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_chain_to_ever_new_urls_stops_at_max_redirects() {
    let server = Server::start("127.0.5.44", |seen| {
        if seen.path == "/robots.txt" {
            return Reply::new(404, "text/plain", "none");
        }
        let n: u32 = seen
            .path
            .strip_prefix("/hop/")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        Reply::redirect(302, &format!("/hop/{}", n + 1))
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = crawl_config(dir.path(), "", &server.url("/hop/0"));
    let summary = crawl::run(&config, &CrawlOptions::default()).await.unwrap();
    println!("{}", summary.render());
    let hops = server
        .seen()
        .iter()
        .filter(|s| s.path.starts_with("/hop/"))
        .count();
    assert_eq!(hops, 6, "the start and 5 redirects");
    assert_eq!(summary.sources[0].failures.get("redirect_loop"), Some(&1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crawl_delay_of_an_hour_is_reported_and_the_host_skipped() {
    let server = Server::start("127.0.5.45", |seen| match seen.path.as_str() {
        "/robots.txt" => Reply::new(200, "text/plain", "User-agent: *\nCrawl-delay: 3600\n"),
        _ => Reply::html("<a href=\"/a.html\">a</a><a href=\"/b.html\">b</a>"),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = crawl_config(dir.path(), "max_crawl_delay_s = 60", &server.url("/nb/"));
    let started = Instant::now();
    let summary = crawl::run(&config, &CrawlOptions::default()).await.unwrap();
    println!("{}", summary.render());
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(
        summary.sources[0].failures.get("crawl_delay_too_long"),
        Some(&1)
    );
    assert!(summary.has_failures());
    assert_eq!(
        server.hits("/nb/"),
        0,
        "nothing but robots.txt was asked for"
    );
    let bad = Config::parse(
        "[crawl]\nlong_crawl_delay = \"wait\"\n",
        Path::new("t.toml"),
    );
    assert!(bad.unwrap_err().to_string().contains("long_crawl_delay"));
}
