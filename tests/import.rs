//! `nianbao import` on web archives written by other tools: GNU Wget's
//! `--warc-file` (gzip per record, and uncompressed), Python warcio's
//! `capture_http`, ARC 1.0 files written by a generator following the ARC
//! format (below), and a WACZ made by py-wacz, each holding loopback
//! captures of the real sample reports of `tests/fixtures/samples/`. The
//! figures asserted are hand-verified values of `tests/extract_golden.rs`;
//! the provenance is checked against the files themselves.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Reply, Server};
use rusqlite::Connection;
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_nianbao");

fn sample(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/samples")
        .join(name);
    std::fs::read(path).unwrap()
}

/// The loopback site: the two Pingtan report pages (the 2019 one sent
/// chunked), the Hongkou aggregator text, and a stylesheet that is no report.
async fn site(ip: &str) -> Server {
    Server::routes(
        ip,
        vec![
            (
                "/zfxxgknb/t20200120_80576.htm",
                Reply::html(sample("pingtan-2019-report.html")).chunked(3),
            ),
            (
                "/zfxxgknb/t20230220_80629.htm",
                Reply::html(sample("pingtan-2022-report.html")),
            ),
            (
                "/hongkou.txt",
                Reply::new(
                    200,
                    "text/plain; charset=utf-8",
                    sample("hongkou-2017-2020-aggregator.txt"),
                ),
            ),
            (
                "/style.css",
                Reply::new(200, "text/css", "body { margin: 0 }"),
            ),
        ],
    )
    .await
}

const PATHS: [&str; 4] = [
    "/zfxxgknb/t20200120_80576.htm",
    "/zfxxgknb/t20230220_80629.htm",
    "/hongkou.txt",
    "/style.css",
];

fn urls(server: &Server) -> Vec<String> {
    PATHS.iter().map(|p| server.url(p)).collect()
}

fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("import")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn run(cmd: Command) -> Output {
    let mut cmd = cmd;
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn tool(program: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("no_proxy", "*")
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY");
    cmd
}

fn succeeded(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}): {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn import(archive: &Path, files: &[&Path], source: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("--config")
        .arg("/nonexistent/nianbao.toml")
        .arg("import")
        .args(files)
        .arg("--archive")
        .arg(archive)
        .arg("--source")
        .arg(source)
        .env("NIANBAO_LOG", "error");
    cmd
}

fn db(archive: &Path) -> Connection {
    Connection::open(archive.join("nianbao.sqlite")).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The latest value of a cell of the report of `year` from `url`.
fn cell(conn: &Connection, url: &str, year: i32, code: (&str, &str, &str)) -> Option<f64> {
    conn.query_row(
        "SELECT value FROM v_cells WHERE url = ?1 AND year = ?2 AND \"table\" = ?3
           AND \"row\" = ?4 AND col = ?5 AND latest",
        rusqlite::params![url, year, code.0, code.1, code.2],
        |r| r.get(0),
    )
    .unwrap()
}

/// Hand-verified figures of the three sample pages (tests/extract_golden.rs).
fn assert_golden(conn: &Connection, server: &Server) {
    let u = urls(server);
    let p2019 = &u[0];
    assert_eq!(
        cell(conn, p2019, 2019, ("requests", "new", "natural_person")),
        Some(23.0)
    );
    assert_eq!(
        cell(conn, p2019, 2019, ("requests", "new", "total")),
        Some(23.0)
    );
    assert_eq!(
        cell(conn, p2019, 2019, ("proactive", "normative_docs", "made")),
        Some(89.0)
    );
    assert_eq!(
        cell(conn, p2019, 2019, ("proactive", "procurement", "amount")),
        Some(75394432.52)
    );
    let p2022 = &u[1];
    assert_eq!(
        cell(conn, p2022, 2022, ("requests", "new", "total")),
        Some(74.0)
    );
    assert_eq!(
        cell(conn, p2022, 2022, ("requests", "new", "legal.business")),
        Some(3.0)
    );
    assert_eq!(
        cell(
            conn,
            p2022,
            2022,
            ("proactive", "normative_docs", "in_force")
        ),
        Some(698.0)
    );
    assert_eq!(
        cell(conn, p2022, 2022, ("proactive", "fees", "amount")),
        Some(9116.36)
    );
    let hk = &u[2];
    assert_eq!(
        cell(conn, hk, 2020, ("requests", "new", "total")),
        Some(1134.0)
    );
    assert_eq!(
        cell(conn, hk, 2020, ("requests", "total", "total")),
        Some(1162.0)
    );
    assert_eq!(
        cell(conn, hk, 2019, ("requests", "new", "total")),
        Some(860.0)
    );
    assert_eq!(
        cell(conn, hk, 2019, ("proactive", "procurement", "amount")),
        Some(67552.91)
    );
    // The balance identity the 2019 Hongkou report breaks in print.
    let broken: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM v_checks WHERE url = ?1 AND year = 2019
               AND identity = 'requests_balance' AND holds = 0",
            [hk],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(broken, 2);
    // Every figure as the extractor reads the sample itself: an imported
    // page is derived exactly as a crawled one.
    for (url, name, html) in [
        (p2019, "pingtan-2019-report.html", true),
        (p2022, "pingtan-2022-report.html", true),
        (hk, "hongkou-2017-2020-aggregator.txt", false),
    ] {
        let text = String::from_utf8(sample(name)).unwrap();
        let direct = if html {
            nianbao::extract::extract_html(&text)
        } else {
            nianbao::extract::extract_text(&text)
        };
        let cells: usize = direct.iter().map(|r| r.cells.len()).sum();
        let stored: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM v_cells WHERE url = ?1 AND latest",
                [url],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stored as usize, cells, "{name}");
    }
    // The stylesheet is no report page: not a capture.
    let css: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM captures WHERE url LIKE '%style.css'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(css, 0);
}

/// The provenance of every imported capture: the import row names the
/// original file and its SHA-256, the copy is byte for byte the original,
/// and each capture's offset leads to a record with its id, URL and date.
fn assert_provenance(archive: &Path, original: &Path, writer_prefix: &str, gzip_members: bool) {
    let conn = db(archive);
    let bytes = std::fs::read(original).unwrap();
    let (import_id, name, sha, size, stored_as, writer): (i64, String, String, i64, String, Option<String>) = conn
        .query_row(
            "SELECT id, file_name, sha256, size, stored_as, writer FROM imports WHERE parent IS NULL",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .unwrap();
    assert_eq!(name, original.file_name().unwrap().to_string_lossy());
    assert_eq!(sha, sha256_hex(&bytes));
    assert_eq!(size as usize, bytes.len());
    let writer = writer.unwrap_or_default();
    assert!(writer.starts_with(writer_prefix), "writer {writer:?}");
    let copy = std::fs::read(archive.join("warc").join(&stored_as)).unwrap();
    assert!(copy == bytes, "the kept copy differs from the original");
    let cdxj =
        std::fs::read_to_string(archive.join("warc").join(format!("{stored_as}.cdxj"))).unwrap();

    let mut stmt = conn
        .prepare(
            "SELECT k.url, k.fetched_at, k.warc_file, k.warc_offset, k.warc_length, k.warc_record_id,
                    k.ip, k.source, k.import_id
             FROM captures k WHERE k.record_type = 'response'",
        )
        .unwrap();
    let rows: Vec<CaptureRow> = stmt
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
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 3, "the three report documents");
    for (url, fetched_at, file, offset, length, record_id, ip, source, imp) in rows {
        assert_eq!(file, stored_as);
        assert_eq!(imp, Some(import_id));
        assert_eq!(source.as_deref(), Some("others"));
        assert!(
            fetched_at.starts_with("20") && fetched_at.ends_with('Z'),
            "{fetched_at}"
        );
        let record = record_at(&bytes, offset as usize, length as usize, gzip_members);
        assert!(
            record.starts_with("WARC/1."),
            "{url}: no record at {offset}"
        );
        assert!(
            record.contains(&record_id),
            "{url}: {record_id} not at {offset}"
        );
        assert!(record.contains("WARC-Type: response"), "{url}");
        let host = url.split('/').nth(2).unwrap().split(':').next().unwrap();
        if let Some(ip) = ip {
            assert_eq!(ip, host);
        }
        let date = &fetched_at[..19];
        assert!(record.contains(date), "{url}: date {date}");
        assert!(
            cdxj.contains(&format!("\"offset\": \"{offset}\"")),
            "{url}: offset {offset} not in the CDXJ"
        );
    }
}

/// url, fetched_at, warc_file, warc_offset, warc_length, warc_record_id, ip,
/// source, import_id of a capture.
type CaptureRow = (
    String,
    String,
    String,
    i64,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
);

/// The head of the record at `offset` of a file: a gzip member, or plain.
fn record_at(bytes: &[u8], offset: usize, length: usize, gzip: bool) -> String {
    let mut out = Vec::new();
    if gzip {
        let member = &bytes[offset..offset + length];
        flate2::read::GzDecoder::new(member)
            .read_to_end(&mut out)
            .unwrap();
    } else {
        out = bytes[offset..(offset + 4096).min(bytes.len())].to_vec();
    }
    let text = String::from_utf8_lossy(&out);
    text.split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_string()
}

async fn wget(server: &Server, dir: &Path, stem: &str, extra: &[&str]) -> PathBuf {
    let base = dir.join(stem);
    let warc_arg = format!("--warc-file={}", base.display());
    let mut args = vec!["-q", "-O", "/dev/null", "--no-config", &warc_arg];
    args.extend_from_slice(extra);
    let u = urls(server);
    let mut all: Vec<&str> = args;
    all.extend(u.iter().map(String::as_str));
    let out = run(tool("wget", &all)).await;
    succeeded("wget (install it: scripts/install-deps.sh)", &out);
    let gz = base.with_extension("warc.gz");
    if gz.exists() {
        gz
    } else {
        base.with_extension("warc")
    }
}

#[tokio::test]
async fn wget_gzip_warc() {
    let server = site("127.0.15.1").await;
    let dir = tmp("wget-gzip");
    let warc = wget(&server, &dir, "site", &[]).await;
    assert!(warc.to_string_lossy().ends_with(".warc.gz"));
    let archive = dir.join("archive");
    let out = run(import(&archive, &[&warc], "others")).await;
    succeeded("import", &out);
    let conn = db(&archive);
    assert_golden(&conn, &server);
    assert_provenance(&archive, &warc, "Wget/1.", true);
    // Importing the same file again adds nothing.
    let again = run(import(&archive, &[&warc], "others")).await;
    succeeded("second import", &again);
    assert!(String::from_utf8_lossy(&again.stdout).contains("already imported"));
    let captures: i64 = conn
        .query_row("SELECT COUNT(*) FROM captures", [], |r| r.get(0))
        .unwrap();
    assert_eq!(captures, 3);
    // Re-extraction reads the imported records back from the kept copy.
    let re = run({
        let mut c = Command::new(BIN);
        c.args([
            "--config",
            "/nonexistent/nianbao.toml",
            "reextract",
            "--archive",
        ])
        .arg(&archive);
        c
    })
    .await;
    succeeded("reextract", &re);
    let text = String::from_utf8_lossy(&re.stdout);
    assert!(text.contains("0 added, 0 changed, 0 removed"), "{text}");
    assert_golden(&conn, &server);
}

#[tokio::test]
async fn wget_uncompressed_warc() {
    let server = site("127.0.15.2").await;
    let dir = tmp("wget-plain");
    let warc = wget(&server, &dir, "site", &["--no-warc-compression"]).await;
    assert!(warc.to_string_lossy().ends_with(".warc"));
    let archive = dir.join("archive");
    let out = run(import(&archive, &[&warc], "others")).await;
    succeeded("import", &out);
    assert_golden(&db(&archive), &server);
    assert_provenance(&archive, &warc, "Wget/1.", false);
}

const WARCIO_CAPTURE: &str = r#"
import sys, urllib.request
from warcio.capture_http import capture_http
with capture_http(sys.argv[1]):
    for url in sys.argv[2:]:
        urllib.request.urlopen(url).read()
"#;

async fn warcio(server: &Server, dir: &Path) -> PathBuf {
    let warc = dir.join("warcio.warc.gz");
    let u = urls(server);
    let mut args = vec!["-c", WARCIO_CAPTURE, warc.to_str().unwrap()];
    args.extend(u.iter().map(String::as_str));
    let out = run(tool("python3", &args)).await;
    succeeded(
        "warcio capture_http (pip install -r .ci/requirements.txt)",
        &out,
    );
    warc
}

#[tokio::test]
async fn warcio_capture_http() {
    let server = site("127.0.15.3").await;
    let dir = tmp("warcio");
    let warc = warcio(&server, &dir).await;
    let archive = dir.join("archive");
    let out = run(import(&archive, &[&warc], "others")).await;
    succeeded("import", &out);
    assert_golden(&db(&archive), &server);
    assert_provenance(&archive, &warc, "", true);
}

#[tokio::test]
async fn wacz_by_py_wacz() {
    let server = site("127.0.15.4").await;
    let dir = tmp("wacz");
    let warc = warcio(&server, &dir).await;
    let wacz = dir.join("site.wacz");
    let out = run(tool(
        "wacz",
        &[
            "create",
            "-o",
            wacz.to_str().unwrap(),
            warc.to_str().unwrap(),
        ],
    ))
    .await;
    succeeded("wacz create (pip install -r .ci/requirements.txt)", &out);
    let archive = dir.join("archive");
    let out = run(import(&archive, &[&wacz], "others")).await;
    succeeded("import", &out);
    let conn = db(&archive);
    assert_golden(&conn, &server);
    let (pkg, name, sha, format, writer): (i64, String, String, String, Option<String>) = conn
        .query_row(
            "SELECT id, file_name, sha256, format, writer FROM imports WHERE parent IS NULL",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!((name.as_str(), format.as_str()), ("site.wacz", "wacz"));
    assert_eq!(sha, sha256_hex(&std::fs::read(&wacz).unwrap()));
    assert!(writer.unwrap_or_default().contains("wacz"));
    let (inner, inner_sha, stored_as): (String, String, String) = conn
        .query_row(
            "SELECT file_name, sha256, stored_as FROM imports WHERE parent = ?1",
            [pkg],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert!(
        inner.starts_with("archive/") && inner.ends_with(".warc.gz"),
        "{inner}"
    );
    // The WARC in the package is the one warcio wrote, kept byte for byte.
    let kept = std::fs::read(archive.join("warc").join(&stored_as)).unwrap();
    assert_eq!(inner_sha, sha256_hex(&std::fs::read(&warc).unwrap()));
    assert_eq!(sha256_hex(&kept), inner_sha);
    let on_inner: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM captures k JOIN imports i ON i.id = k.import_id
             WHERE i.parent = ?1 AND k.warc_file = i.stored_as",
            [pkg],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(on_inner, 3);
}

/// Fetch a URL over a raw connection: the response exactly as sent.
fn raw_get(addr: std::net::SocketAddr, path: &str) -> Vec<u8> {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: arc-generator\r\n\r\n"
    )
    .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let n = stream.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if let Some(end) = response_end(&got) {
            got.truncate(end);
            break;
        }
    }
    got
}

fn response_end(got: &[u8]) -> Option<usize> {
    let head_end = got.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&got[..head_end]).to_ascii_lowercase();
    if head.contains("transfer-encoding: chunked") {
        let body = &got[head_end..];
        return body
            .windows(5)
            .position(|w| w == b"0\r\n\r\n")
            .map(|i| head_end + i + 5);
    }
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))?
        .trim()
        .parse()
        .ok()?;
    (got.len() >= head_end + len).then_some(head_end + len)
}

/// An ARC 1.0 file as the format describes it: a version block
/// (`filedesc://` URL record, version 1, origin code, the field names),
/// then one URL record per capture (`URL IP date type length`, the HTTP
/// response, a newline). `gzip`: one member per record, as `.arc.gz`.
fn write_arc(path: &Path, captures: &[(String, String, Vec<u8>)], gzip: bool) {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let date = "20200121080910";
    let version =
        b"1 0 nianbao-test-arc-writer\nURL IP-address Archive-date Content-type Archive-length\n";
    let mut records = vec![[
        format!(
            "filedesc://{name} 0.0.0.0 {date} text/plain {}\n",
            version.len()
        )
        .into_bytes(),
        version.to_vec(),
        b"\n".to_vec(),
    ]
    .concat()];
    for (url, ip, response) in captures {
        let head_end = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&response[..head_end]).to_ascii_lowercase();
        let mime = head
            .lines()
            .find_map(|l| l.strip_prefix("content-type:"))
            .map(|v| v.trim().split(';').next().unwrap().to_string())
            .unwrap_or_else(|| "no-type".into());
        records.push(
            [
                format!("{url} {ip} {date} {mime} {}\n", response.len()).into_bytes(),
                response.clone(),
                b"\n".to_vec(),
            ]
            .concat(),
        );
    }
    let mut out = Vec::new();
    for record in records {
        if gzip {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(&record).unwrap();
            out.extend(enc.finish().unwrap());
        } else {
            out.extend(record);
        }
    }
    std::fs::write(path, out).unwrap();
}

#[tokio::test]
async fn arc_files_both_compressions() {
    let server = site("127.0.15.5").await;
    let dir = tmp("arc");
    let mut captures: Vec<(String, String, Vec<u8>)> = Vec::new();
    for p in PATHS {
        let addr = server.addr;
        let bytes = tokio::task::spawn_blocking(move || raw_get(addr, p))
            .await
            .unwrap();
        captures.push((server.url(p), addr.ip().to_string(), bytes));
    }
    for (file, gzip) in [("site.arc", false), ("site.arc.gz", true)] {
        let arc = dir.join(file);
        write_arc(&arc, &captures, gzip);
        let archive = dir.join(format!("archive-{file}"));
        let out = run(import(&archive, &[&arc], "others")).await;
        succeeded("import", &out);
        let conn = db(&archive);
        assert_golden(&conn, &server);
        let (writer, format, compression): (String, String, String) = conn
            .query_row("SELECT writer, format, compression FROM imports", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(writer, "nianbao-test-arc-writer");
        assert_eq!(format, "arc");
        assert_eq!(compression, if gzip { "gzip-record" } else { "none" });
        let (fetched_at, ip, id): (String, String, String) = conn
            .query_row(
                "SELECT fetched_at, ip, warc_record_id FROM captures WHERE url LIKE '%80576.htm'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(fetched_at, "2020-01-21T08:09:10Z");
        assert_eq!(ip, "127.0.15.5");
        assert!(id.starts_with("<urn:arc:sha256:"), "{id}");
    }
}

/// A damaged copy of a gzip-per-record WARC: the member of the first
/// report page is cut in half. The records after it are still imported,
/// and the cut one is reported with its offset.
#[tokio::test]
async fn damaged_file_keeps_later_records() {
    let server = site("127.0.15.6").await;
    let dir = tmp("damaged");
    let warc = wget(&server, &dir, "site", &[]).await;
    let bytes = std::fs::read(&warc).unwrap();
    let members = nianbao::warc::members(&warc).unwrap().spans;
    let (cut_at, cut_len) = *members
        .iter()
        .find(|(offset, length)| {
            let mut text = Vec::new();
            let member = &bytes[*offset as usize..(*offset + *length) as usize];
            flate2::read::GzDecoder::new(member)
                .read_to_end(&mut text)
                .unwrap();
            let text = String::from_utf8_lossy(&text);
            text.contains("WARC-Type: response") && text.contains("80576.htm")
        })
        .unwrap();
    let mut damaged = bytes[..(cut_at + cut_len / 2) as usize].to_vec();
    damaged.extend_from_slice(&bytes[(cut_at + cut_len) as usize..]);
    let file = dir.join("damaged.warc.gz");
    std::fs::write(&file, &damaged).unwrap();
    let archive = dir.join("archive");
    let out = run(import(&archive, &[&file], "others")).await;
    assert_eq!(out.status.code(), Some(1), "a bad record makes exit code 1");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("bad record at {cut_at}")),
        "{stdout}"
    );
    let conn = db(&archive);
    let u = urls(&server);
    assert_eq!(
        cell(&conn, &u[1], 2022, ("requests", "new", "total")),
        Some(74.0)
    );
    assert_eq!(
        cell(&conn, &u[2], 2020, ("requests", "new", "total")),
        Some(1134.0)
    );
    let failures: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM failures WHERE kind = 'import' AND url = 'damaged.warc.gz'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(failures >= 1);
    let bad: i64 = conn
        .query_row("SELECT bad_records FROM imports", [], |r| r.get(0))
        .unwrap();
    assert!(bad >= 1);
}

/// One hand-written record, as older or careless writers make them.
fn record(fields: &[(&str, &str)], block: &[u8], content_length: Option<usize>) -> Vec<u8> {
    let mut out = b"WARC/1.0\r\n".to_vec();
    for (k, v) in fields {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    if let Some(len) = content_length {
        out.extend_from_slice(format!("Content-Length: {len}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(block);
    out.extend_from_slice(b"\r\n\r\n");
    out
}

fn http(head: &str, body: &[u8]) -> Vec<u8> {
    [head.replace('\n', "\r\n").as_bytes(), b"\r\n", body].concat()
}

fn chunked(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in body.chunks(4000) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// The quirks of real writers in one uncompressed WARC 1.0: a URI in angle
/// brackets, `Transfer-Encoding: chunked` before a body already de-chunked
/// and before one still chunked, a wrong and a missing `Content-Length`, a
/// record the writer truncated, a revisit of a page earlier in the file,
/// and a record without a usable date (skipped, the rest read).
#[tokio::test]
async fn quirks_of_real_writers() {
    let dir = tmp("quirks");
    let p2019 = sample("pingtan-2019-report.html");
    let p2022 = sample("pingtan-2022-report.html");
    let hk = sample("hongkou-2017-2020-aggregator.txt");
    let html =
        "HTTP/1.1 200 OK\nContent-Type: text/html; charset=utf-8\nTransfer-Encoding: chunked\n";
    let a = http(html, &p2019);
    let b = http(html, &chunked(&p2022));
    let c = http(
        "HTTP/1.1 200 OK\nContent-Type: text/plain; charset=utf-8\n",
        &hk,
    );
    let cut = http(html, &p2019[..p2019.len() / 3]);
    let revisit = http(
        "HTTP/1.1 200 OK\nContent-Type: text/html; charset=utf-8\n",
        b"",
    );
    let mut file = record(
        &[
            ("WARC-Type", "warcinfo"),
            ("WARC-Record-ID", "<urn:uuid:0>"),
            ("WARC-Date", "2020-01-21T08:00:00Z"),
        ],
        b"software: OldWriter/0.9\r\n",
        Some(25),
    );
    file.extend(record(
        &[
            ("WARC-Type", "response"),
            ("WARC-Record-ID", "<urn:uuid:1>"),
            ("WARC-Date", "2020-01-21T08:09:10.123456Z"),
            (
                "WARC-Target-URI",
                "<http://www.pingtan.gov.cn/zfxxgknb/t20200120_80576.htm>",
            ),
            ("WARC-IP-Address", "10.1.2.3"),
            ("Content-Type", "application/http; msgtype=response"),
        ],
        &a,
        Some(a.len() - 100),
    ));
    file.extend(record(
        &[
            ("WARC-Type", "response"),
            ("WARC-Record-ID", "<urn:uuid:bad>"),
            ("WARC-Date", "the day before yesterday"),
            ("WARC-Target-URI", "http://www.pingtan.gov.cn/bad.htm"),
        ],
        &c,
        Some(c.len()),
    ));
    file.extend(record(
        &[
            ("WARC-Type", "response"),
            ("WARC-Record-ID", "<urn:uuid:2>"),
            ("WARC-Date", "2023-02-21T01:02:03Z"),
            (
                "WARC-Target-URI",
                "http://www.pingtan.gov.cn/zfxxgknb/t20230220_80629.htm",
            ),
            ("Content-Type", "application/http; msgtype=response"),
        ],
        &b,
        None,
    ));
    file.extend(record(
        &[
            ("WARC-Type", "response"),
            ("WARC-Record-ID", "<urn:uuid:3>"),
            ("WARC-Date", "2021-05-06T07:08:09Z"),
            ("WARC-Target-URI", "http://hk.example.cn/hongkou.txt"),
            ("Content-Type", "application/http; msgtype=response"),
        ],
        &c,
        Some(c.len()),
    ));
    file.extend(record(
        &[
            ("WARC-Type", "response"),
            ("WARC-Record-ID", "<urn:uuid:4>"),
            ("WARC-Date", "2020-02-01T00:00:00Z"),
            ("WARC-Target-URI", "http://cut.example.cn/report.htm"),
            ("WARC-Truncated", "length"),
            ("Content-Type", "application/http; msgtype=response"),
        ],
        &cut,
        Some(cut.len()),
    ));
    file.extend(record(
        &[
            ("WARC-Type", "revisit"),
            ("WARC-Record-ID", "<urn:uuid:5>"),
            ("WARC-Date", "2020-06-01T00:00:00Z"),
            (
                "WARC-Target-URI",
                "<http://www.pingtan.gov.cn/zfxxgknb/t20200120_80576.htm>",
            ),
            (
                "WARC-Profile",
                "http://netpreserve.org/warc/1.0/revisit/identical-payload-digest",
            ),
            (
                "WARC-Refers-To-Target-URI",
                "http://www.pingtan.gov.cn/zfxxgknb/t20200120_80576.htm",
            ),
            ("WARC-Refers-To-Date", "2020-01-21T08:09:10Z"),
            ("Content-Type", "application/http; msgtype=response"),
        ],
        &revisit,
        Some(revisit.len()),
    ));
    let path = dir.join("quirks.warc");
    std::fs::write(&path, &file).unwrap();
    let archive = dir.join("archive");
    let out = run(import(&archive, &[&path], "others")).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("OldWriter/0.9"), "{stdout}");
    assert!(
        stdout.contains("1 bad"),
        "the record without a date: {stdout}"
    );
    let conn = db(&archive);
    let u2019 = "http://www.pingtan.gov.cn/zfxxgknb/t20200120_80576.htm";
    assert_eq!(
        cell(&conn, u2019, 2019, ("requests", "new", "total")),
        Some(23.0)
    );
    assert_eq!(
        cell(&conn, u2019, 2019, ("proactive", "procurement", "amount")),
        Some(75394432.52)
    );
    let u2022 = "http://www.pingtan.gov.cn/zfxxgknb/t20230220_80629.htm";
    assert_eq!(
        cell(&conn, u2022, 2022, ("requests", "new", "total")),
        Some(74.0)
    );
    let uhk = "http://hk.example.cn/hongkou.txt";
    assert_eq!(
        cell(&conn, uhk, 2020, ("requests", "new", "total")),
        Some(1134.0)
    );
    let (fetched_at, ip): (String, String) = conn
        .query_row(
            "SELECT fetched_at, ip FROM captures WHERE url = ?1 AND record_type = 'response'",
            [u2019],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (fetched_at.as_str(), ip.as_str()),
        ("2020-01-21T08:09:10Z", "10.1.2.3")
    );
    let truncated: Option<String> = conn
        .query_row(
            "SELECT truncated FROM captures WHERE url = 'http://cut.example.cn/report.htm'",
            [],
            |r| r.get(0),
        )
        .unwrap_or(None);
    let cut_reports: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM captures WHERE url = 'http://cut.example.cn/report.htm'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(cut_reports == 0 || truncated.as_deref() == Some("length"));
    // The revisit is a capture of its original, and the report was seen
    // from the first capture to the revisit.
    let (refers, original): (i64, i64) = conn
        .query_row(
            "SELECT v.refers_to, o.id FROM captures v JOIN captures o
               ON o.url = v.url AND o.record_type = 'response'
             WHERE v.record_type = 'revisit'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(refers, original);
    let (first, last): (String, String) = conn
        .query_row(
            "SELECT first_seen, last_seen FROM v_seen WHERE url = ?1",
            [u2019],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (first.as_str(), last.as_str()),
        ("2020-01-21T08:09:10Z", "2020-06-01T00:00:00Z")
    );
}

/// A report fetched by nianbao now and imported from a capture of 2020 is
/// one report with two captures: the crawl's is the latest, and it was
/// first seen at the imported capture's time.
#[tokio::test]
async fn import_and_own_capture_are_one_report() {
    let server = site("127.0.15.7").await;
    let dir = tmp("own-and-imported");
    let archive = dir.join("archive");
    let url = server.url(PATHS[1]);
    let mut fetch = Command::new(BIN);
    fetch
        .args([
            "--config",
            "/nonexistent/nianbao.toml",
            "fetch",
            &url,
            "--archive",
        ])
        .arg(&archive)
        .env("NIANBAO_LOG", "error");
    succeeded("fetch", &run(fetch).await);
    let body = http(
        "HTTP/1.1 200 OK\nContent-Type: text/html; charset=utf-8\n",
        &sample("pingtan-2022-report.html"),
    );
    let file = record(
        &[
            ("WARC-Type", "response"),
            ("WARC-Record-ID", "<urn:uuid:old>"),
            ("WARC-Date", "2023-02-21T01:02:03Z"),
            ("WARC-Target-URI", &url),
            ("Content-Type", "application/http; msgtype=response"),
        ],
        &body,
        Some(body.len()),
    );
    let path = dir.join("old.warc");
    std::fs::write(&path, &file).unwrap();
    succeeded("import", &run(import(&archive, &[&path], "others")).await);
    let conn = db(&archive);
    let (reports, latest_imported): (i64, i64) = conn
        .query_row(
            "SELECT COUNT(*), SUM(v.latest AND k.import_id IS NOT NULL)
             FROM v_reports v JOIN captures k ON k.id = v.capture_id WHERE v.url = ?1",
            [&url],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((reports, latest_imported), (2, 0));
    let latest: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM v_reports WHERE url = ?1 AND latest",
            [&url],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(latest, 1);
    let (first, last, captures, imported): (String, String, i64, i64) = conn
        .query_row(
            "SELECT first_seen, last_seen, captures, imported FROM v_seen WHERE url = ?1",
            [&url],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(first, "2023-02-21T01:02:03Z");
    assert!(last.as_str() > "2025", "{last}");
    assert_eq!((captures, imported), (2, 1));
}
