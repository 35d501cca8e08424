//! What a person running `nianbao crawl` sees while it works: on a terminal
//! (a pseudo-terminal made by `script`) the bar counts pages done of pages
//! known, with rate and ETA, and log lines are printed whole above it;
//! `SIGUSR1` prints the per-source status so far; the summary's nouns agree
//! with their numbers; `completions` and `man` come from the CLI definition.
//! Loopback hosts 127.0.5.5x.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{crawl_config, report_listing, Reply, Server};

const BIN: &str = env!("CARGO_BIN_EXE_nianbao");

/// Every screen line of a terminal recording: split at new lines and at
/// carriage returns, escape sequences removed.
fn screen_lines(recording: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut chars = recording.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte.
            if chars.peek() == Some(&'[') {
                chars.next();
                for f in chars.by_ref() {
                    if ('@'..='~').contains(&f) {
                        break;
                    }
                }
            }
            continue;
        }
        plain.push(c);
    }
    plain
        .split(['\n', '\r'])
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bar_counts_pages_known_and_logs_print_whole_above_it() {
    let server = Server::start("127.0.5.51", report_listing(8, Duration::from_millis(300))).await;
    let dir = tempfile::tempdir().unwrap();
    let config = crawl_config(dir.path(), "site", &server.url("/nb/index.html"));
    let recording = dir.path().join("screen.txt");
    let inner = format!("{BIN} --config {} crawl --concurrency 1", config.display());
    let status = tokio::task::spawn_blocking({
        let recording = recording.clone();
        move || {
            Command::new("script")
                .args(["-q", "-e", "-c", &inner])
                .arg(&recording)
                // Logs from the crawl while the bar is drawn: every one
                // must land on a line of its own.
                .env("NIANBAO_LOG", "info")
                .env("COLUMNS", "160")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .status()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(0));
    let screen = String::from_utf8_lossy(&std::fs::read(&recording).unwrap()).into_owned();
    let lines = screen_lines(&screen);
    // 1 listing + 8 reports are known once the listing is read.
    let bars: Vec<&String> = lines.iter().filter(|l| l.contains("/9 pages")).collect();
    assert!(
        !bars.is_empty(),
        "no bar with the known total in {lines:#?}"
    );
    assert!(
        bars.iter().any(|l| l.contains("ETA") && l.contains("/s")),
        "rate and ETA: {bars:#?}"
    );
    let logs: Vec<&String> = lines.iter().filter(|l| l.contains(" INFO ")).collect();
    assert!(
        logs.len() >= 9,
        "a log line per page was asked for: {lines:#?}"
    );
    for line in &logs {
        assert!(
            !line.contains(" pages ")
                && line.trim_start().starts_with(|c: char| c.is_ascii_digit()),
            "a log line broken by the bar: {line:?}"
        );
    }
    assert!(
        lines.iter().any(|l| l.starts_with("site: 9 pages (")),
        "{lines:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigusr1_prints_the_status_so_far() {
    let server = Server::start("127.0.5.52", report_listing(12, Duration::from_millis(250))).await;
    let dir = tempfile::tempdir().unwrap();
    let config = crawl_config(dir.path(), "site", &server.url("/nb/index.html"));
    let child = common::crawl_command(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while server.seen().len() < 4 {
        assert!(started.elapsed() < Duration::from_secs(30), "no crawl");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sent = Command::new("kill")
        .args(["-USR1", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    // SIGUSR1's default action would have killed the process.
    assert!(
        out.status.code().is_some(),
        "USR1 ended the run: {:?}",
        out.status
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let status = err
        .lines()
        .skip_while(|l| !l.starts_with("so far, run"))
        .nth(1)
        .unwrap_or_else(|| panic!("no status in {err}"));
    // Mid-run: the listing and some reports, not all 13 pages.
    let pages: u64 = status
        .strip_prefix("site: ")
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{status}"));
    assert!((1..13).contains(&pages), "{status}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("site: 13 pages ("), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_of_a_thing_is_not_plural() {
    let server = Server::routes(
        "127.0.5.53",
        vec![(
            "/nb/only.html",
            Reply::html(
                "<html><body><h1>某区2021年政府信息公开工作年度报告</h1><p>本年新收政府信息公开申请数量</p></body></html>",
            ),
        )],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = crawl_config(dir.path(), "site", &server.url("/nb/only.html"));
    let out = tokio::task::spawn_blocking(move || common::crawl_command(&config).output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("site: 1 page (2 captures);"), "{stdout}");
    assert!(stdout.contains("0 new attachments"), "{stdout}");
    assert!(stdout.contains("html (0 report candidates)"), "{stdout}");
}

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

const COMMANDS: &[&str] = &[
    "crawl",
    "fetch",
    "extract",
    "export",
    "reextract",
    "import",
    "index",
    "verify",
    "rebuild",
    "status",
    "serve",
];

#[test]
fn completions_come_from_the_cli_and_parse_in_their_shell() {
    let (code, bash) = run(&["completions", "bash"]);
    assert_eq!(code, Some(0));
    for command in COMMANDS {
        assert!(bash.contains(command), "bash completion lacks {command}");
    }
    assert!(bash.contains("--max-pages"), "crawl's flags are completed");
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("nianbao.bash");
    std::fs::write(&script, &bash).unwrap();
    let checked = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap();
    assert!(checked.success(), "bash -n rejects the completion script");
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let (code, text) = run(&["completions", shell]);
        assert_eq!(code, Some(0), "{shell}");
        assert!(
            text.contains("crawl") && text.contains("archive"),
            "{shell}"
        );
    }
    let (code, _) = run(&["completions", "tcsh"]);
    assert_eq!(code, Some(2), "an unknown shell is refused");
}

#[test]
fn man_pages_name_every_command_and_its_flags() {
    let (code, page) = run(&["man"]);
    assert_eq!(code, Some(0));
    assert!(page.starts_with(".ie") || page.starts_with(".TH"), "{page}");
    assert!(page.contains(".TH nianbao 1"), "{page}");
    for command in COMMANDS {
        assert!(
            page.contains(&format!("nianbao\\-{command}(1)")),
            "the main page names {command}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let (code, _) = run(&["man", "--out", dir.path().to_str().unwrap()]);
    assert_eq!(code, Some(0));
    for command in COMMANDS {
        let path = dir.path().join(format!("nianbao-{command}.1"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(text.contains(&format!(".TH nianbao-{command} 1")), "{text}");
    }
    let crawl = std::fs::read_to_string(dir.path().join("nianbao-crawl.1")).unwrap();
    assert!(crawl.contains("\\-\\-max\\-pages"), "{crawl}");
}
