//! `fetch` end to end against a real HTTP server on loopback: charsets decided
//! and recorded, snapshots read back byte for byte, redirects archived hop by hop.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

mod common;

use std::path::Path;

use common::{gbk, keep_for_ci, Reply, Server};
use nianbao::fetch::{FetchConfig, Fetcher};
use nianbao::pipeline::{self, Options, Store};
use nianbao::warc;
use url::Url;

const REPORT_TEXT: &str = "某某区2020年政府信息公开工作年度报告：本年新收政府信息公开申请数量，予以公开，行政复议结果维持";

fn page_with_meta(charset_meta: &str) -> String {
    format!("<html><head>{charset_meta}<title>年度报告</title></head><body><p>{REPORT_TEXT}</p></body></html>")
}

async fn archive(store: &Store, url: &str) -> pipeline::Archived {
    let fetcher = Fetcher::new(FetchConfig::default()).unwrap();
    let opts = Options {
        max_redirects: 5,
        ..Options::default()
    };
    pipeline::archive_url(&fetcher, store, &Url::parse(url).unwrap(), &opts, &|_| true)
        .await
        .unwrap()
}

fn open_store(dir: &Path) -> Store {
    Store::open(dir, 1 << 30, pipeline::warcinfo("test", "none")).unwrap()
}

#[tokio::test]
async fn charsets_are_decided_and_recorded() {
    let meta_gbk = gbk(&page_with_meta(
        "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\">",
    ));
    let utf8 = page_with_meta("<meta charset=\"utf-8\">").into_bytes();
    let unlabelled_gbk = gbk(&page_with_meta(""));
    let lying_gbk = gbk(&page_with_meta(""));
    let server = Server::routes(
        "127.0.0.1",
        vec![
            ("/meta-gbk.html", Reply::new(200, "text/html", meta_gbk)),
            ("/utf8.html", Reply::html(utf8)),
            (
                "/nolabel.html",
                Reply::new(200, "text/html", unlabelled_gbk),
            ),
            (
                "/lying.html",
                Reply::new(200, "text/html; charset=UTF-8", lying_gbk),
            ),
        ],
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let store = open_store(tmp.path());

    let cases = [
        ("/meta-gbk.html", "gb18030", "meta_tag", vec![]),
        ("/utf8.html", "UTF-8", "http_header", vec![]),
        ("/nolabel.html", "gb18030", "detector", vec![]),
        (
            "/lying.html",
            "gb18030",
            "detector",
            vec!["UTF-8".to_string()],
        ),
    ];
    for (path, encoding, decision, rejected) in cases {
        let archived = archive(&store, &server.url(path)).await;
        let text = archived.text.clone().unwrap();
        assert!(text.contains(REPORT_TEXT), "{path}: decoded text wrong");
        let d = archived.decoded.clone().unwrap();
        assert_eq!(
            d.encoding.to_ascii_lowercase(),
            encoding.to_ascii_lowercase(),
            "{path}"
        );
        assert_eq!(d.rejected, rejected, "{path}");
        assert!(!d.had_errors, "{path}");
        let db = store.db.lock().unwrap();
        let (enc, how): (String, String) = db
            .conn()
            .query_row(
                "SELECT encoding, encoding_decision FROM captures WHERE id = ?1",
                [archived.capture_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(
            enc.to_ascii_lowercase(),
            encoding.to_ascii_lowercase(),
            "{path}"
        );
        // The UTF-8 page declares its charset in the HTTP header (Reply::html).
        assert_eq!(how, decision, "{path}");
    }
    keep_for_ci(&tmp.path().join("warc"), "charsets");
}

#[tokio::test]
async fn snapshots_read_back_byte_for_byte() {
    let body = gbk(&page_with_meta(
        "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=gbk\">",
    ));
    let server = Server::routes(
        "127.0.0.1",
        vec![
            ("/plain.html", Reply::new(200, "text/html", body.clone())),
            (
                "/chunked.html",
                Reply::new(200, "text/html", body.clone()).chunked(4),
            ),
            ("/moved", Reply::redirect(302, "/plain.html")),
            (
                "/%E5%B9%B4%E6%8A%A5.html?q=%E5%B9%B4",
                Reply::new(200, "text/html", body.clone()),
            ),
        ],
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let store = open_store(tmp.path());
    for path in ["/plain.html", "/chunked.html", "/年报.html?q=年"] {
        archive(&store, &server.url(path)).await;
    }
    let redirected = archive(&store, &server.url("/moved")).await;
    assert_eq!(redirected.hops.len(), 2);
    assert!(redirected.final_url.as_str().ends_with("/plain.html"));

    let db = store.db.lock().unwrap();
    let mut stmt = db
        .conn()
        .prepare("SELECT url, status, warc_file, warc_offset, payload_digest, warc_record_id FROM captures ORDER BY id")
        .unwrap();
    let rows: Vec<(String, u16, String, u64, String, String)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 5, "four pages plus the redirect hop");
    let warc_dir = tmp.path().join("warc");
    for (url, status, file, offset, digest, record_id) in &rows {
        let record = warc::read_record(&warc_dir.join(file), *offset).unwrap();
        assert_eq!(record.header("WARC-Type"), Some("response"));
        assert_eq!(record.header("WARC-Record-ID"), Some(record_id.as_str()));
        assert_eq!(record.header("WARC-Target-URI"), Some(url.as_str()));
        assert!(
            url.is_ascii() && !url.contains('<'),
            "percent-encoded: {url}"
        );
        assert_eq!(record.header("WARC-IP-Address"), Some("127.0.0.1"));
        let (head, payload) = record.http_parts();
        assert_eq!(record.header("WARC-Payload-Digest"), Some(digest.as_str()));
        assert_eq!(warc::sha1_digest(payload), *digest);
        assert_eq!(
            record.header("WARC-Block-Digest"),
            Some(warc::sha1_digest(&record.block).as_str())
        );
        let head = String::from_utf8_lossy(head).to_ascii_lowercase();
        assert!(
            !head.contains("transfer-encoding"),
            "{url}: chunked label kept"
        );
        if *status == 200 {
            assert_eq!(
                payload,
                body.as_slice(),
                "{url}: payload differs from what was served"
            );
        } else {
            assert_eq!(*status, 302);
            assert!(head.contains("location: /plain.html"));
        }
    }
    // Every response has its request, linked by WARC-Concurrent-To.
    let records: Vec<_> = warc::warc_files(&warc_dir)
        .unwrap()
        .iter()
        .flat_map(|f| warc::read_all(f).unwrap())
        .map(|(_, r)| r)
        .collect();
    assert_eq!(
        records.first().and_then(|r| r.header("WARC-Type")),
        Some("warcinfo")
    );
    let requests: Vec<_> = records
        .iter()
        .filter(|r| r.header("WARC-Type") == Some("request"))
        .collect();
    assert_eq!(requests.len(), 5);
    for (_, _, _, _, _, record_id) in &rows {
        assert!(requests
            .iter()
            .any(|r| r.header("WARC-Concurrent-To") == Some(record_id.as_str())));
    }
    assert!(String::from_utf8_lossy(&requests[0].block).starts_with("GET /plain.html HTTP/1.1\r\n"));
    drop(stmt);
    drop(db);
    keep_for_ci(&warc_dir, "bytes");
}

#[tokio::test]
async fn a_killed_writer_leaves_no_torn_record() {
    let server = Server::routes(
        "127.0.0.1",
        vec![("/a.html", Reply::html(page_with_meta("")))],
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = open_store(tmp.path());
        archive(&store, &server.url("/a.html")).await;
    }
    let warc_dir = tmp.path().join("warc");
    let file = warc::warc_files(&warc_dir).unwrap().pop().unwrap();
    let good_len = std::fs::metadata(&file).unwrap().len();
    // Half a gzip member, as a kill in the middle of a write leaves it.
    let mut torn = std::fs::read(&file).unwrap();
    torn.truncate(good_len as usize);
    let tail: Vec<u8> = torn[torn.len() / 2..].to_vec();
    let mut appended = torn.clone();
    appended.extend_from_slice(&tail[..tail.len() / 2]);
    std::fs::write(&file, &appended).unwrap();

    let store = open_store(tmp.path());
    assert_eq!(
        std::fs::metadata(&file).unwrap().len(),
        good_len,
        "torn tail cut off"
    );
    archive(&store, &server.url("/a.html")).await;
    let files = warc::warc_files(&warc_dir).unwrap();
    assert_eq!(files.len(), 2, "a new file after the repaired one");
    for f in &files {
        let m = warc::members(f).unwrap();
        assert_eq!(
            m.good_end,
            m.size,
            "{}: every byte is a complete record",
            f.display()
        );
    }
    let kept: Vec<_> = std::fs::read_dir(&warc_dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".torn-"))
        .collect();
    assert_eq!(kept.len(), 1, "the cut bytes are kept beside the file");
}
