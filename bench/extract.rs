//! Extraction throughput on one core over a corpus of report pages, each
//! figure from runs repeated for a few seconds. Prints pages/s and MB/s:
//! - `extract`: decode + extraction of every `.html` page (what
//!   `bench/pandas_read_html.py` is set beside);
//! - `crawl-cpu`: decode + the one tokenising pass + extraction + link
//!   discovery, the CPU a crawl spends on a page, in ms per page;
//! - `two-pass`: the same with extraction and discovery each tokenising
//!   the page, for comparison;
//! - `prose`: extraction of every `.txt` page (prose reports read as text).
//!
//! Run:
//!
//!     cargo run --release --example bench_extract -- tests/fixtures/samples
//!     cargo run --release --example bench_extract -- --write-farm DIR
//!
//! `BENCH_ONLY=extract` runs one of the measures; `BENCH_ROUNDS=N` runs N
//! rounds instead of a few seconds' worth (for an instruction count under
//! `valgrind --tool=cachegrind --cache-sim=no`, which the machine's speed
//! does not change).
//!
//! `--write-farm DIR` writes the pages of the crawl benchmark's loopback farm
//! (`bench/crawl.rs`) to DIR instead: for two hosts, one UTF-8 and one GBK,
//! ten report pages each and their listing page.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nianbao::discover::{self, Page};

const BUDGET: Duration = Duration::from_secs(4);

/// The allocator of the `nianbao` binary, so that what is measured is what
/// a crawl or a fetch runs.
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, dir] = args.as_slice() {
        if flag == "--write-farm" {
            if let Err(e) = write_farm(Path::new(dir)) {
                eprintln!("cannot write the farm pages to {dir}: {e}");
                std::process::exit(2);
            }
            return;
        }
    }
    let dirs: Vec<PathBuf> = args.iter().map(PathBuf::from).collect();
    let html = read_pages(&dirs, &["html", "htm"]);
    let text = read_pages(&dirs, &["txt"]);
    if html.is_empty() {
        eprintln!("no .html pages under {dirs:?}");
        std::process::exit(2);
    }
    let url = url::Url::parse("http://127.0.0.1/nb/index.html").unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    measure("extract", &html, |page| {
        let decoded = nianbao::decode::decode(page, Some("text/html"));
        nianbao::extract::extract_html(&decoded.text).len()
    });
    measure("crawl-cpu", &html, |page| {
        let decoded = nianbao::decode::decode(page, Some("text/html"));
        let (read, outline) = nianbao::markup::read(&decoded.text);
        let reports = nianbao::extract::extract_html_page(&read);
        let found = discover::discover_with(&Page::start(&url, &decoded.text), Some(&outline));
        reports.len() + found.links.len()
    });
    measure("two-pass", &html, |page| {
        let decoded = nianbao::decode::decode(page, Some("text/html"));
        let reports = nianbao::extract::extract_html(&decoded.text);
        let found = discover::discover(&Page::start(&url, &decoded.text));
        reports.len() + found.links.len()
    });
    if !text.is_empty() {
        measure("prose", &text, |page| {
            let decoded = nianbao::decode::decode(page, Some("text/plain"));
            nianbao::extract::extract_text(&decoded.text).len()
        });
    }
}

fn read_pages(dirs: &[PathBuf], exts: &[&str]) -> Vec<Vec<u8>> {
    let mut pages = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            eprintln!("cannot read {}", dir.display());
            std::process::exit(2);
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if exts.contains(&ext) {
                if let Ok(bytes) = std::fs::read(&path) {
                    pages.push(bytes);
                }
            }
        }
    }
    pages
}

/// Run `work` over every page for [`BUDGET`] and print the rates.
fn measure(what: &str, pages: &[Vec<u8>], mut work: impl FnMut(&[u8]) -> usize) {
    let only = std::env::var("BENCH_ONLY").ok();
    if only.as_deref().is_some_and(|o| o != what) {
        return;
    }
    let fixed: Option<u64> = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok());
    let bytes_per_round: usize = pages.iter().map(Vec::len).sum();
    let started = Instant::now();
    let (mut rounds, mut found) = (0u64, 0usize);
    while fixed.map_or(started.elapsed() < BUDGET, |n| rounds < n) {
        for page in pages {
            found += work(page);
        }
        rounds += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    let n = rounds as f64 * pages.len() as f64;
    println!(
        "nianbao {what}: {} pages ({:.2} MB) x {rounds} rounds in {secs:.2} s: {:.1} pages/s, {:.2} MB/s, {:.3} ms/page, {} found/round",
        pages.len(),
        bytes_per_round as f64 / 1e6,
        n / secs,
        rounds as f64 * bytes_per_round as f64 / 1e6 / secs,
        secs * 1e3 / n,
        found / rounds.max(1) as usize
    );
}

/// The crawl farm's pages (`bench/crawl.rs`): its two report pages, one as
/// UTF-8 and one as GBK, ten times each, and a listing page per host.
fn write_farm(dir: &Path) -> std::io::Result<()> {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/samples");
    let utf8 = std::fs::read(samples.join("pingtan-2019-report.html"))?;
    let gbk_text = std::fs::read_to_string(samples.join("pingtan-2022-report.html"))?
        .replace("utf-8", "gbk")
        .replace("UTF-8", "gbk");
    let gbk = encoding_rs::GB18030.encode(&gbk_text).0.into_owned();
    std::fs::create_dir_all(dir)?;
    for host in 0..2 {
        let mut listing = String::from(
            "<html><head><meta charset=\"utf-8\"><title>政府信息公开年报</title></head><body><ul>",
        );
        for i in 0..10 {
            listing.push_str(&format!(
                "<li><a href=\"./2021/t2021_{i}.html\">第{host}区{i}年政府信息公开工作年度报告</a></li>"
            ));
            let page = if host == 0 { &utf8 } else { &gbk };
            std::fs::write(dir.join(format!("host{host}-report{i}.html")), page)?;
        }
        listing.push_str(
            "</ul><script>createPageHTML(2, 0, \"index\", \"html\");</script></body></html>",
        );
        std::fs::write(dir.join(format!("host{host}-listing.html")), listing)?;
    }
    Ok(())
}
