//! What the `nianbao` binary says when things go wrong, and how its logs look
//! off a terminal: causes named (a name that does not resolve, a missing
//! config), each OS error once, no colour codes, JSON logs on request.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

mod common;

use std::process::{Command, Output};

use common::{Reply, Server};

const BIN: &str = env!("CARGO_BIN_EXE_nianbao");
/// Under the reserved `.invalid` TLD (RFC 6761): never resolves.
const OFFLINE_HOST: &str = "nianbao-test.invalid";

fn nianbao(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("NO_COLOR")
        .env_remove("NIANBAO_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_missing_config_says_how_to_start_one() {
    let out = nianbao(&["--config", "/nonexistent/nianbao.toml", "crawl"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("/nonexistent/nianbao.toml"), "{err}");
    assert!(err.contains("config/example.toml"), "{err}");
    assert!(!err.contains("os error"), "{err}");
}

#[test]
fn an_unreadable_config_names_the_os_error_once() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should be: exists, cannot be read as a file.
    let path = dir.path().join("nianbao.toml");
    std::fs::create_dir(&path).unwrap();
    let out = nianbao(&["--config", path.to_str().unwrap(), "crawl"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("cannot read config"), "{err}");
    assert_eq!(err.matches("os error").count(), 1, "{err}");
}

#[test]
fn a_host_that_does_not_resolve_is_named_with_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let url = format!("http://{OFFLINE_HOST}/nb/2023.html");
    let out = nianbao(
        &[
            "--config",
            "/nonexistent/nianbao.toml",
            "fetch",
            &url,
            "--archive",
            archive.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("cannot resolve {OFFLINE_HOST}")),
        "{err}"
    );
    assert!(err.contains("is the network up"), "{err}");
    // The failure is in the archive with the same words.
    let conn = rusqlite::Connection::open(archive.join("nianbao.sqlite")).unwrap();
    let (kind, detail): (String, String) = conn
        .query_row("SELECT kind, detail FROM failures", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(kind, "connect");
    assert!(detail.contains("cannot resolve"), "{detail}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_connection_says_so() {
    // Bind a port, then close it: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let url = format!("http://127.0.0.1:{port}/nb.html");
    let args = [
        "--config".to_string(),
        "/nonexistent/nianbao.toml".into(),
        "fetch".into(),
        url,
        "--archive".into(),
        archive.to_string_lossy().into(),
    ];
    let out = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        nianbao(&args, &[])
    })
    .await
    .unwrap();
    let err = stderr(&out);
    assert!(err.contains("127.0.0.1 refused the connection"), "{err}");
}

/// Archive one page into a fresh archive, then export it with `env` set.
async fn export_with(env: Vec<(&'static str, &'static str)>, extra: Vec<&'static str>) -> Output {
    let server = Server::routes(
        "127.0.0.1",
        vec![(
            "/nb.html",
            Reply::html(
                "<html><head><meta charset=\"utf-8\"><title>年报</title></head><body>年报</body></html>",
            ),
        )],
    )
    .await;
    let url = server.url("/nb.html");
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive");
        let archive = archive.to_str().unwrap();
        let cfg = ["--config", "/nonexistent/nianbao.toml"];
        nianbao(
            &[&cfg[..], &["fetch", &url, "--archive", archive]].concat(),
            &[],
        );
        let out_dir = dir.path().join("out");
        let args = [
            &cfg[..],
            &extra,
            &[
                "export",
                "--archive",
                archive,
                "--out",
                out_dir.to_str().unwrap(),
            ],
        ]
        .concat();
        nianbao(&args, &env)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_off_a_terminal_carry_no_colour_codes() {
    for env in [
        vec![("NIANBAO_LOG", "info")],
        vec![("NIANBAO_LOG", "info"), ("NO_COLOR", "1")],
    ] {
        let out = export_with(env, vec![]).await;
        let err = stderr(&out);
        assert!(err.contains("export written"), "{err}");
        assert!(!err.contains('\u{1b}'), "escape codes in {err:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn json_logs_are_one_object_per_line() {
    let out = export_with(vec![("NIANBAO_LOG", "info")], vec!["--log-format", "json"]).await;
    let err = stderr(&out);
    let events: Vec<serde_json::Value> = err
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let written = events
        .iter()
        .find(|e| e["fields"]["message"] == "export written")
        .unwrap_or_else(|| panic!("no JSON event 'export written' in {err}"));
    assert_eq!(written["level"], "INFO");
    assert!(written["fields"]["reports"].is_number(), "{written}");
    assert!(!err.contains('\u{1b}'));
}

#[test]
fn status_without_an_archive_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let out = nianbao(
        &[
            "--config",
            "/nonexistent/nianbao.toml",
            "status",
            "--archive",
            archive.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("nothing crawled yet"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn status_json_counts_the_archive() {
    let server = Server::routes("127.0.0.1", vec![("/nb.html", Reply::html("<p>年报</p>"))]).await;
    let url = server.url("/nb.html");
    let out = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive");
        let archive = archive.to_str().unwrap();
        let cfg = ["--config", "/nonexistent/nianbao.toml"];
        nianbao(
            &[&cfg[..], &["fetch", &url, "--archive", archive]].concat(),
            &[],
        );
        let text = nianbao(&[&cfg[..], &["status", "--archive", archive]].concat(), &[]);
        let json = nianbao(
            &[&cfg[..], &["status", "--json", "--archive", archive]].concat(),
            &[],
        );
        (text, json)
    })
    .await
    .unwrap();
    let (text, json) = out;
    // A fetch is no crawl run: "did last night's run work" has no yes.
    assert_eq!(json.status.code(), Some(1));
    let status: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(status["runs"].as_array().unwrap().len(), 0);
    assert_eq!(status["warc_files"], 1);
    assert!(status["warc_bytes"].as_u64().unwrap() > 0);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.contains("no crawl run yet"), "{text}");
    assert!(text.contains("in 1 WARC file,"), "{text}");
}
