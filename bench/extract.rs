//! Extraction throughput on one core: decode + extract over a corpus of
//! report pages, repeated for a few seconds. Prints pages/s and MB/s.
//!
//!     cargo run --release --example bench_extract -- tests/fixtures/samples

use std::path::PathBuf;
use std::time::{Duration, Instant};

fn main() {
    let dirs: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let mut pages: Vec<Vec<u8>> = Vec::new();
    for dir in &dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            eprintln!("cannot read {}", dir.display());
            std::process::exit(2);
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "html" || e == "htm") {
                if let Ok(bytes) = std::fs::read(&path) {
                    pages.push(bytes);
                }
            }
        }
    }
    if pages.is_empty() {
        eprintln!("no .html pages under {dirs:?}");
        std::process::exit(2);
    }
    let bytes_per_round: usize = pages.iter().map(Vec::len).sum();
    let budget = Duration::from_secs(5);
    let started = Instant::now();
    let (mut rounds, mut cells) = (0u64, 0usize);
    while started.elapsed() < budget {
        for page in &pages {
            let decoded = nianbao::decode::decode(page, Some("text/html"));
            cells += nianbao::extract::extract_html(&decoded.text)
                .iter()
                .map(|r| r.cells.len())
                .sum::<usize>();
        }
        rounds += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    let n = rounds as f64 * pages.len() as f64;
    println!(
        "nianbao: {} pages ({:.2} MB) x {rounds} rounds in {secs:.2} s: {:.1} pages/s, {:.2} MB/s, {} cells/round",
        pages.len(),
        bytes_per_round as f64 / 1e6,
        n / secs,
        rounds as f64 * bytes_per_round as f64 / 1e6 / secs,
        cells / rounds.max(1) as usize
    );
}
