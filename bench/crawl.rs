//! Crawl throughput against the politeness bound, on a loopback farm.
//!
//! Starts H hosts on 127.0.x.y, each a 年报 column of N reports paged ten
//! to a TRS listing page (`createPageHTML`), half of them in GBK, every
//! answer after a fixed latency; runs the release `nianbao crawl` on it as
//! a child process; and prints
//! - efficiency: the bound (the busiest host's requests × the interval)
//!   over the wall time of the crawl,
//! - CPU seconds per page of the crawl process,
//! - the median and smallest gap between two requests to one host, as the
//!   servers saw them,
//! - the crawl's peak RSS, and the CPU the farm itself took from the
//!   same cores.
//!
//! With `--known K`, K URLs of other sources are put in the frontier first,
//! so that the cost of scheduling can be seen against the frontier's size.
//! With `--keep DIR`, the archive is made in DIR and kept for a look; with
//! `--name N`, sources are named N0, N1, … (default `host`); with
//! `--concurrency C`, the crawl runs with `max_concurrency = C` instead of
//! the shipped default.
//!
//!   cargo build --release && cargo run --release --example bench_crawl -- \
//!       --hosts 200 --reports 20 --latency-ms 50 --interval-ms 200 [--known 100000]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const PER_PAGE: usize = 10;

struct Args {
    hosts: usize,
    reports: usize,
    latency: Duration,
    interval_ms: u64,
    known: usize,
    binary: PathBuf,
    /// Keep the archive here instead of a temporary directory.
    keep: Option<PathBuf>,
    /// Sources are named this, then the host's number.
    name: String,
    /// `crawl.max_concurrency`, when set; else the shipped default.
    concurrency: Option<u64>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        hosts: 50,
        reports: 20,
        latency: Duration::from_millis(50),
        interval_ms: 200,
        known: 0,
        binary: PathBuf::from("target/release/nianbao"),
        keep: None,
        name: "host".into(),
        concurrency: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let n = || value.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--hosts" => a.hosts = n()? as usize,
            "--reports" => a.reports = n()? as usize,
            "--latency-ms" => a.latency = Duration::from_millis(n()?),
            "--interval-ms" => a.interval_ms = n()?,
            "--known" => a.known = n()? as usize,
            "--binary" => a.binary = PathBuf::from(&value),
            "--keep" => a.keep = Some(PathBuf::from(&value)),
            "--name" => a.name = value.clone(),
            "--concurrency" => a.concurrency = Some(n()?),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

/// The pages of one host, by path.
fn site(host: usize, reports: usize, utf8_page: &str, gbk_page: &[u8]) -> HashMap<String, Reply> {
    let mut pages = HashMap::new();
    let listing_pages = reports.div_ceil(PER_PAGE).max(1);
    for p in 0..listing_pages {
        let mut html = String::from(
            "<html><head><meta charset=\"utf-8\"><title>政府信息公开年报</title></head><body><ul>",
        );
        for i in (p * PER_PAGE)..((p + 1) * PER_PAGE).min(reports) {
            html.push_str(&format!(
                "<li><a href=\"./2021/t2021_{i}.html\">第{host}区{i}年政府信息公开工作年度报告</a></li>"
            ));
        }
        html.push_str(&format!(
            "</ul><script>createPageHTML({listing_pages}, {p}, \"index\", \"html\");</script></body></html>"
        ));
        let path = match p {
            0 => "/nb/index.html".to_string(),
            _ => format!("/nb/index_{p}.html"),
        };
        pages.insert(path, Reply::html(html.into_bytes(), "utf-8"));
    }
    for i in 0..reports {
        let reply = if host.is_multiple_of(2) {
            Reply::html(utf8_page.as_bytes().to_vec(), "utf-8")
        } else {
            Reply::html(gbk_page.to_vec(), "GBK")
        };
        pages.insert(format!("/nb/2021/t2021_{i}.html"), reply);
    }
    pages.insert(
        "/robots.txt".into(),
        Reply {
            status: 404,
            content_type: "text/plain".into(),
            body: b"not found".to_vec(),
        },
    );
    pages
}

#[derive(Clone)]
struct Reply {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Reply {
    fn html(body: Vec<u8>, charset: &str) -> Self {
        Reply {
            status: 200,
            content_type: format!("text/html; charset={charset}"),
            body,
        }
    }
}

type Log = Arc<Mutex<Vec<Instant>>>;

async fn serve(
    listener: TcpListener,
    pages: Arc<HashMap<String, Reply>>,
    log: Log,
    latency: Duration,
) {
    while let Ok((stream, _)) = listener.accept().await {
        let (pages, log) = (pages.clone(), log.clone());
        tokio::spawn(async move {
            let _ = connection(stream, &pages, &log, latency).await;
        });
    }
}

async fn connection(
    mut stream: TcpStream,
    pages: &HashMap<String, Reply>,
    log: &Log,
    latency: Duration,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let end = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        };
        if let Ok(mut log) = log.lock() {
            log.push(Instant::now());
        }
        let head = String::from_utf8_lossy(buf.get(..end).unwrap_or_default()).into_owned();
        buf.drain(..end);
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
        tokio::time::sleep(latency).await;
        let reply = pages.get(&path).cloned().unwrap_or(Reply {
            status: 404,
            content_type: "text/plain".into(),
            body: b"not found".to_vec(),
        });
        let mut out = format!(
            "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n",
            reply.status,
            reply.content_type,
            reply.body.len()
        )
        .into_bytes();
        out.extend_from_slice(&reply.body);
        stream.write_all(&out).await?;
    }
}

/// Put `known` URLs of another source in the frontier of a new archive.
fn seed_frontier(archive: &Path, known: usize) -> Result<(), String> {
    nianbao::archive::Archive::open(archive).map_err(|e| e.to_string())?;
    let conn =
        rusqlite::Connection::open(archive.join("nianbao.sqlite")).map_err(|e| e.to_string())?;
    let tx = conn.unchecked_transaction().map_err(|e| e.to_string())?;
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO frontier (url, host, source, kind, depth) VALUES (?1, ?2, 'elsewhere', 'report', 1)",
            )
            .map_err(|e| e.to_string())?;
        for i in 0..known {
            let host = format!("h{}.example.invalid", i % 1000);
            insert
                .execute(rusqlite::params![
                    format!("http://{host}/nb/{i}.html"),
                    host
                ])
                .map_err(|e| e.to_string())?;
        }
    }
    tx.commit().map_err(|e| e.to_string())
}

/// CPU seconds of the children waited for so far (`cutime` + `cstime` of
/// /proc/self/stat, in clock ticks of 1/100 s).
fn children_cpu() -> f64 {
    stat_seconds(16, 17)
}

/// CPU seconds of this process, the farm (`utime` + `stime`).
fn own_cpu() -> f64 {
    stat_seconds(14, 15)
}

/// The sum of two fields of /proc/self/stat (numbered as in proc(5), from
/// 1), in seconds.
fn stat_seconds(a: usize, b: usize) -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields after the command name, which may hold spaces: the state is 3.
    (ticks(a - 3) + ticks(b - 3)) / 100.0
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let a = args()?;
    if !a.binary.exists() {
        return Err(format!(
            "{} is missing: run `cargo build --release` first",
            a.binary.display()
        ));
    }
    let samples = Path::new("tests/fixtures/samples");
    let utf8_page = std::fs::read_to_string(samples.join("pingtan-2019-report.html"))
        .map_err(|e| e.to_string())?;
    let gbk_text = std::fs::read_to_string(samples.join("pingtan-2022-report.html"))
        .map_err(|e| e.to_string())?
        .replace("utf-8", "gbk")
        .replace("UTF-8", "gbk");
    let gbk_page = encoding_rs::GB18030.encode(&gbk_text).0.into_owned();

    let mut logs = Vec::new();
    let mut starts = Vec::new();
    for h in 0..a.hosts {
        let ip = format!("127.0.{}.{}", 10 + h / 250, 1 + h % 250);
        let listener = TcpListener::bind((ip.as_str(), 0))
            .await
            .map_err(|e| format!("bind {ip}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let log: Log = Arc::default();
        let pages = Arc::new(site(h, a.reports, &utf8_page, &gbk_page));
        tokio::spawn(serve(listener, pages, log.clone(), a.latency));
        logs.push(log);
        starts.push(format!("http://{addr}/nb/index.html"));
    }

    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let archive = a.keep.clone().unwrap_or_else(|| dir.path().join("archive"));
    if a.known > 0 {
        seed_frontier(&archive, a.known)?;
    }
    let mut config = format!(
        "archive = {:?}\n[crawl]\nper_host_interval_ms = {}\nmax_depth = 3\nmax_pages_per_source = 10000\n",
        archive.display().to_string(),
        a.interval_ms
    );
    if let Some(n) = a.concurrency {
        config.push_str(&format!("max_concurrency = {n}\n"));
    }
    for (h, start) in starts.iter().enumerate() {
        config.push_str(&format!(
            "\n[[sources]]\nname = \"{}{h}\"\nstart = [\"{start}\"]\n",
            a.name
        ));
    }
    let config_path = dir.path().join("bench.toml");
    std::fs::write(&config_path, config).map_err(|e| e.to_string())?;

    let cpu_before = children_cpu();
    let farm_before = own_cpu();
    let started = Instant::now();
    let status = tokio::task::spawn_blocking({
        let binary = a.binary.clone();
        let config_path = config_path.clone();
        move || {
            Command::new("/usr/bin/time")
                .arg("-f")
                .arg("%M")
                .arg("-o")
                .arg("/dev/stderr")
                .arg(binary)
                .arg("--config")
                .arg(config_path)
                .arg("crawl")
                .arg("--no-progress")
                .env("NIANBAO_LOG", "warn")
                .stdout(std::process::Stdio::null())
                .output()
        }
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| format!("running the crawl (is GNU time installed?): {e}"))?;
    let wall = started.elapsed();
    let cpu_after = children_cpu();
    let farm_cpu = own_cpu() - farm_before;
    let stderr = String::from_utf8_lossy(&status.stderr);
    let rss_kib: u64 = stderr
        .lines()
        .rev()
        .find_map(|l| l.trim().parse().ok())
        .unwrap_or(0);
    if !status.status.success() {
        eprintln!("{stderr}");
    }

    let interval = Duration::from_millis(a.interval_ms);
    let mut busiest = 0usize;
    let mut requests = 0usize;
    let mut gaps = Vec::new();
    // Gaps by their place in a host's requests (the 1st to the 2nd, …).
    let mut by_place: Vec<Vec<Duration>> = Vec::new();
    let mut starts = Vec::new();
    let (mut first, mut last) = (None::<Instant>, None::<Instant>);
    for log in &logs {
        let seen = log.lock().map(|l| l.clone()).unwrap_or_default();
        first = seen.first().copied().into_iter().chain(first).min();
        last = seen.last().copied().into_iter().chain(last).max();
        busiest = busiest.max(seen.len());
        requests += seen.len();
        gaps.extend(seen.windows(2).map(|w| w[1].duration_since(w[0])));
        for (i, w) in seen.windows(2).enumerate() {
            if by_place.len() <= i {
                by_place.resize_with(i + 1, Vec::new);
            }
            if let Some(place) = by_place.get_mut(i) {
                place.push(w[1].duration_since(w[0]));
            }
        }
        starts.extend(seen.first().map(|t| t.duration_since(started)));
    }
    let bound = interval * (busiest.saturating_sub(1) as u32);
    let pages = a.hosts * a.reports;
    let min_gap = gaps.iter().min().copied().unwrap_or_default();
    let cpu = cpu_after - cpu_before;
    println!(
        "hosts {} × reports {} (latency {:?}, interval {:?}, known {}): {} requests in {:.2} s",
        a.hosts,
        a.reports,
        a.latency,
        interval,
        a.known,
        requests,
        wall.as_secs_f64()
    );
    println!(
        "efficiency {:.3} of the bound ({:.2} s); CPU {:.2} ms per report page ({:.2} s); \
         per-host gap median {:?}, smallest {:?}; peak RSS {} MB; exit {}",
        bound.as_secs_f64() / wall.as_secs_f64(),
        bound.as_secs_f64(),
        cpu * 1000.0 / pages.max(1) as f64,
        cpu,
        median(&mut gaps),
        min_gap,
        rss_kib / 1024,
        status.status.code().unwrap_or(-1)
    );
    // Where a host waited longer than its interval: the slowest gaps, the
    // places in a host's requests whose gaps are longest, and how late the
    // last host began.
    let pct = |q: usize| gaps.get(gaps.len() * q / 100).copied().unwrap_or_default();
    let mut places: Vec<(usize, Duration)> = by_place
        .iter_mut()
        .enumerate()
        .map(|(i, g)| (i + 1, median(g)))
        .collect();
    places.sort_by_key(|p| std::cmp::Reverse(p.1));
    starts.sort();
    println!(
        "per-host gap p90 {:?}, p99 {:?}, largest {:?}; longest median gaps after request {:?}; \
         hosts began from {:.2} to {:.2} s",
        pct(90),
        pct(99),
        gaps.last().copied().unwrap_or_default(),
        places.iter().take(3).collect::<Vec<_>>(),
        starts.first().map_or(0.0, Duration::as_secs_f64),
        starts.last().map_or(0.0, Duration::as_secs_f64),
    );
    // Where the wall time went outside the requests: start-up before the
    // first one, the end of the run (ledger, summary, indexes) after the last.
    let since = |t: Option<Instant>| t.map_or(0.0, |t| t.duration_since(started).as_secs_f64());
    println!(
        "first request at {:.2} s, last at {:.2} s, exit at {:.2} s; the farm's own CPU {:.2} s",
        since(first),
        since(last),
        wall.as_secs_f64(),
        farm_cpu
    );
    Ok(())
}
