//! SIGINT and SIGTERM in the middle of a crawl, against the real binary: the
//! run stops within seconds, prints its summary, brings the CDXJ indexes up
//! to date, releases the lock, exits 130 / 143, and the next start resumes
//! it; a second Ctrl-C ends it at once. A closed stdout ends a command
//! quietly. Loopback hosts 127.0.5.3x.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{crawl_config, report_listing, Server};

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

async fn wait_for_requests(server: &Server, n: usize) {
    let started = Instant::now();
    while server.seen().len() < n {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the crawl never got going"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Wait for the child, at most `limit`; returns (exit code, stdout, how long).
fn finish(mut child: Child, limit: Duration) -> (Option<i32>, String, Duration) {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut out = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            return (status.code(), out, started.elapsed());
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("the crawl did not stop within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn stopped_by(name: &str, code: i32, ip: &str) {
    let server = Server::start(ip, report_listing(40, Duration::from_millis(400))).await;
    let dir = tempfile::tempdir().unwrap();
    let config = crawl_config(dir.path(), "slow", &server.url("/nb/index.html"));
    let child = common::crawl_command(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_requests(&server, 5).await;
    signal(&child, name);
    let at_signal = server.seen().len();
    let (got, stdout, took) =
        tokio::task::spawn_blocking(move || finish(child, Duration::from_secs(10)))
            .await
            .unwrap();
    println!("{stdout}");
    assert_eq!(got, Some(code), "{name}");
    assert!(took < Duration::from_secs(6), "stopped in {took:?}");
    assert!(
        stdout.contains(&format!("stopped by SIG{name}")),
        "{stdout}"
    );
    assert!(stdout.contains("slow:"), "the summary is printed: {stdout}");
    // No new requests after the signal beyond those already in flight.
    assert!(
        server.seen().len() <= at_signal + 2,
        "{} > {at_signal} + 2",
        server.seen().len()
    );
    let archive = dir.path().join("archive");
    assert!(!archive.join("nianbao.lock").exists(), "lock released");
    let warcs = nianbao::warc::warc_files(&archive.join("warc")).unwrap();
    assert!(!warcs.is_empty());
    for w in &warcs {
        let cdxj = format!("{}.cdxj", w.display());
        assert!(Path::new(&cdxj).exists(), "{cdxj} written");
    }

    // The next start resumes and finishes the run.
    let out = tokio::task::spawn_blocking(move || common::crawl_command(&config).output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("(resumed)"), "{stdout}");
    for i in 0..40 {
        assert!(
            server.hits(&format!("/nb/r{i}.html")) >= 1,
            "r{i} archived in the end"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_gracefully_and_the_next_run_resumes() {
    stopped_by("INT", 130, "127.0.5.31").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_gracefully_and_the_next_run_resumes() {
    stopped_by("TERM", 143, "127.0.5.32").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_ctrl_c_stops_at_once() {
    let server = Server::start("127.0.5.33", report_listing(40, Duration::from_secs(30))).await;
    let dir = tempfile::tempdir().unwrap();
    let config = crawl_config(dir.path(), "slow", &server.url("/nb/index.html"));
    let child = common::crawl_command(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_requests(&server, 3).await;
    signal(&child, "INT");
    tokio::time::sleep(Duration::from_millis(300)).await;
    signal(&child, "INT");
    let (got, _, took) =
        tokio::task::spawn_blocking(move || finish(child, Duration::from_secs(10)))
            .await
            .unwrap();
    assert_eq!(got, Some(130));
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let sample = "tests/fixtures/samples/pingtan-2019-report.html";
    // Far more output than a pipe buffers.
    let mut child = Command::new(env!("CARGO_BIN_EXE_nianbao"))
        .arg("extract")
        .args(std::iter::repeat_n(sample, 60))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take()); // `| head -c 1`
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
