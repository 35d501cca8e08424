//! `nianbao serve` on a generated archive of many reports: the latency of the
//! overview, a reports list, a searched and filtered list, a report page and
//! an agency page (p50 / p95 / max over many requests), and the server's peak
//! RSS. The archive is written straight into SQLite through the archive's
//! schema: regions with a few agencies each, one report per agency and year,
//! every figure of the national form for 2019 on, headline figures before,
//! identity results, and two crawl runs in the ledger.
//!
//!   cargo run --release --example bench_serve -- [--reports 100000] [--requests 200]
//!       [--bin target/release/nianbao] [--archive DIR]
#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark: a panic is a failed run

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nianbao::extract::codes::codebook;
use nianbao::extract::Format;
use rusqlite::{params, Connection};

struct Args {
    reports: usize,
    requests: usize,
    bin: PathBuf,
    archive: Option<PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        reports: 100_000,
        requests: 200,
        bin: PathBuf::from("target/release/nianbao"),
        archive: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--reports" => a.reports = value.parse().expect("--reports N"),
            "--requests" => a.requests = value.parse().expect("--requests N"),
            "--bin" => a.bin = PathBuf::from(value),
            "--archive" => a.archive = Some(PathBuf::from(value)),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

const YEARS: [i64; 10] = [2014, 2015, 2016, 2017, 2018, 2019, 2020, 2021, 2022, 2023];
const AGENCIES_PER_REGION: usize = 8;
const KINDS: [&str; 8] = [
    "人民政府",
    "发展和改革局",
    "教育局",
    "公安局",
    "财政局",
    "自然资源局",
    "住房和城乡建设局",
    "卫生健康委员会",
];

/// A small deterministic generator, so that every run makes the same archive.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Agencies: (name, source, region code).
fn agencies(reports: usize) -> Vec<(String, String)> {
    let count = reports.div_ceil(YEARS.len());
    (0..count)
        .map(|i| {
            let region = format!(
                "{:02}{:02}{:02}",
                11 + (i / 2000) % 55,
                (i / 80) % 25 + 1,
                (i / AGENCIES_PER_REGION) % 10 + 1
            );
            let name = format!(
                "第{}区{}",
                i / AGENCIES_PER_REGION,
                KINDS[i % AGENCIES_PER_REGION]
            );
            (name, region)
        })
        .collect()
}

fn generate(dir: &Path, reports: usize) -> (Vec<String>, i64) {
    drop(nianbao::archive::Archive::open(dir).unwrap());
    let mut db = Connection::open(dir.join("nianbao.sqlite")).unwrap();
    db.execute_batch("PRAGMA synchronous = OFF").unwrap();
    let book = codebook();
    let form = |f: Format| -> Vec<(&str, &str, &str, bool)> {
        book.iter()
            .filter(|e| e.table != "headline" && e.formats.contains(&f))
            .map(|e| (e.table, e.row, e.col, e.unit == "money"))
            .collect()
    };
    let (f2019, f2021) = (form(Format::V2019), form(Format::V2021));
    let headline: Vec<(&str, &str, &str, bool)> = book
        .iter()
        .filter(|e| e.table == "headline")
        .map(|e| (e.table, e.row, e.col, e.unit == "money"))
        .collect();
    let agencies = agencies(reports);
    let mut rng = Lcg(7);
    let tx = db.transaction().unwrap();
    {
        let mut source = tx
            .prepare("INSERT INTO sources (name, region, start, updated_at) VALUES (?1, ?2, '[]', '2024-01-01T00:00:00Z')")
            .unwrap();
        for (name, region) in &agencies {
            source.execute(params![name, region]).unwrap();
        }
        tx.execute_batch(
            "INSERT INTO runs (id, started_at, finished_at, pid, captures_before, failures_before)
             VALUES (1, '2024-01-01T00:00:00.000Z', '2024-01-02T00:00:00.000Z', 1, 0, 0)",
        )
        .unwrap();
        let mut capture = tx
            .prepare(
                "INSERT INTO captures (id, url, fetched_at, status, headers, content_type, record_type,
                   payload_digest, payload_length, warc_file, warc_offset, warc_length,
                   warc_record_id, source, outcome)
                 VALUES (?1, ?2, ?3, 200, '[]', 'text/html; charset=utf-8', 'response', ?4, 40000,
                   'bench.warc.gz', ?5, 12000, ?6, ?7, 'report')",
            )
            .unwrap();
        let mut report = tx
            .prepare(
                "INSERT INTO reports (id, capture_id, ordinal, title, year, format, agency,
                   extractor_version, notes) VALUES (?1, ?1, 0, ?2, ?3, ?4, ?5, 'bench', '[]')",
            )
            .unwrap();
        let mut cell = tx
            .prepare(
                "INSERT INTO cells (report_id, table_code, row_code, col_code, raw, value, unit)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .unwrap();
        let mut check = tx
            .prepare(
                "INSERT INTO checks (report_id, identity, col, holds, left_value, right_value)
                 VALUES (?1, ?2, 'total', ?3, ?4, ?5)",
            )
            .unwrap();
        let mut avail = tx
            .prepare(
                "INSERT INTO availability (report_url, run_id, state, status, capture_id, checked_at)
                 VALUES (?1, 1, 'new', 200, ?2, ?3)",
            )
            .unwrap();
        let mut id = 0i64;
        'all: for (name, _) in &agencies {
            for year in YEARS {
                if id as usize >= reports {
                    break 'all;
                }
                id += 1;
                let url = format!(
                    "http://gov{}.example.cn/xxgk/nb/{year}/t{id}.html",
                    id % 997
                );
                let at = format!(
                    "2024-01-01T{:02}:{:02}:{:02}Z",
                    (id / 3600) % 24,
                    (id / 60) % 60,
                    id % 60
                );
                capture
                    .execute(params![
                        id,
                        url,
                        at,
                        format!("sha1:BENCH{id:032}"),
                        id * 12000,
                        format!("<urn:uuid:bench-{id}>"),
                        name
                    ])
                    .unwrap();
                let (fmt, cells) = match year {
                    ..=2018 => ("pre2019", &headline),
                    2019 | 2020 => ("f2019", &f2019),
                    _ => ("f2021", &f2021),
                };
                let title = format!("{name}{year}年政府信息公开工作年度报告");
                report.execute(params![id, title, year, fmt, name]).unwrap();
                for (table, row, col, money) in cells.iter() {
                    let v = rng.below(2000) as f64 + if *money { 0.25 } else { 0.0 };
                    let unit = money.then_some("wan_yuan");
                    cell.execute(params![id, table, row, col, v.to_string(), v, unit])
                        .unwrap();
                }
                for identity in [
                    "requests_balance",
                    "granted_split",
                    "reviews_sum",
                    "suits_sum",
                ] {
                    let holds = rng.below(20) != 0;
                    let left = rng.below(1000) as f64;
                    let right = if holds { left } else { left + 1.0 };
                    check
                        .execute(params![id, identity, holds, left, right])
                        .unwrap();
                }
                avail.execute(params![url, id, at]).unwrap();
            }
        }
    }
    tx.commit().unwrap();
    db.execute_batch("PRAGMA synchronous = NORMAL; ANALYZE;")
        .unwrap();
    (
        agencies.into_iter().map(|(n, _)| n).collect(),
        reports as i64,
    )
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// A page to time: its name, and the path of its next request.
type Page = (&'static str, Box<dyn Fn(&mut Lcg) -> String>);

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let a = args();
    let tmp = tempfile::tempdir().unwrap();
    let dir = a
        .archive
        .clone()
        .unwrap_or_else(|| tmp.path().join("archive"));
    let started = Instant::now();
    let fresh = !dir.join("nianbao.sqlite").exists();
    let (agencies, reports) = if fresh {
        generate(&dir, a.reports)
    } else {
        (
            agencies(a.reports).into_iter().map(|(n, _)| n).collect(),
            a.reports as i64,
        )
    };
    let size = std::fs::metadata(dir.join("nianbao.sqlite"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "archive: {reports} reports, {} agencies, {:.0} MB, made in {:.1?}",
        agencies.len(),
        size as f64 / 1e6,
        started.elapsed()
    );
    let mut child = Command::new(&a.bin)
        .args([
            "--config",
            "/nonexistent/nianbao.toml",
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--archive",
        ])
        .arg(&dir)
        .env("NIANBAO_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nianbao serve (build it with cargo build --release)");
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut rng = Lcg(11);
    let pages: Vec<Page> = vec![
        ("overview /", Box::new(|_| "/".to_string())),
        (
            "reports list /reports",
            Box::new(|r| format!("/reports?page={}", r.below(20) + 1)),
        ),
        (
            "searched+filtered list",
            Box::new(|r| {
                format!(
                    "/reports?q={}&year={}&format=f2021",
                    enc(&format!("第{}区", r.below(1000))),
                    2021 + r.below(3)
                )
            }),
        ),
        (
            "report page /reports/ID",
            Box::new(move |r| format!("/reports/{}", r.below(reports as u64) + 1)),
        ),
        (
            "agency page /agencies/NAME",
            Box::new({
                let agencies = agencies.clone();
                move |r| {
                    format!(
                        "/agencies/{}",
                        enc(&agencies[r.below(agencies.len() as u64) as usize])
                    )
                }
            }),
        ),
    ];
    println!(
        "{:<28} {:>9} {:>9} {:>9} {:>6}",
        "page", "p50 ms", "p95 ms", "max ms", "n"
    );
    for (name, path) in &pages {
        let first = Instant::now();
        let answer = client
            .get(format!("{base}{}", path(&mut rng)))
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{name}: {}", answer.status());
        answer.bytes().await.unwrap();
        let cold = first.elapsed();
        let mut times = Vec::with_capacity(a.requests);
        for _ in 0..a.requests {
            let url = format!("{base}{}", path(&mut rng));
            let t = Instant::now();
            let answer = client.get(&url).send().await.unwrap();
            let status = answer.status();
            answer.bytes().await.unwrap();
            times.push(t.elapsed());
            assert!(status.is_success(), "{url}: {status}");
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{name:<28} {:>9.1} {:>9.1} {:>9.1} {:>6}   (first request {:.1} ms)",
            ms(pct(&times, 0.5)),
            ms(pct(&times, 0.95)),
            ms(*times.last().unwrap()),
            times.len(),
            ms(cold)
        );
    }
    println!(
        "peak RSS of nianbao serve: {} MiB",
        peak_rss_kib(child.id())
            .map_or_else(|| "?".into(), |k| format!("{:.1}", k as f64 / 1024.0))
    );
    let _ = child.kill();
    let _ = child.wait();
}
