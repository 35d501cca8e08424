//! The archive writer's cost per report page, on one thread: a capture row
//! and the page's reports with their figures and checks, eight pages to a
//! transaction as the crawl's writer batches them, into a fresh archive.
//! Prints µs per report page, figure rows per second and the database's
//! size per report. Foreign keys are not enforced, as in the crawl's writer;
//! `--enforce` enforces them, as every other writer does.
//!
//!     cargo run --release --example bench_archive -- [PAGES] [--enforce]

use std::time::Instant;

use nianbao::archive::{Archive, NewCapture};

/// The allocator of the `nianbao` binary, so that what is measured is what
/// a crawl runs.
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Pages to a transaction, about what the crawl's writer gathers in a batch.
const BATCH: usize = 8;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let enforce = args.iter().any(|a| a == "--enforce");
    let pages: usize = match args.iter().find(|a| !a.starts_with("--")) {
        Some(n) => n.parse().map_err(|e| format!("PAGES: {e}"))?,
        None => 4000,
    };
    let samples = std::path::Path::new("tests/fixtures/samples");
    let mut reports = Vec::new();
    for name in ["pingtan-2019-report.html", "pingtan-2022-report.html"] {
        let bytes = std::fs::read(samples.join(name)).map_err(|e| format!("{name}: {e}"))?;
        let text = nianbao::decode::decode(&bytes, Some("text/html")).text;
        reports.push(nianbao::extract::extract_html(&text));
    }
    let rows: usize = reports.iter().flatten().map(|r| r.cells.len()).sum();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut archive = Archive::open(dir.path()).map_err(|e| e.to_string())?;
    archive
        .enforce_references(enforce)
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    for batch in 0..pages.div_ceil(BATCH) {
        archive
            .conn()
            .execute_batch("BEGIN")
            .map_err(|e| e.to_string())?;
        for i in batch * BATCH..((batch + 1) * BATCH).min(pages) {
            let capture = archive
                .insert_capture(&capture(i))
                .map_err(|e| e.to_string())?;
            let page = reports
                .get(i % reports.len())
                .map_or(&[][..], Vec::as_slice);
            archive
                .replace_reports(capture, page)
                .map_err(|e| e.to_string())?;
        }
        archive
            .conn()
            .execute_batch("COMMIT")
            .map_err(|e| e.to_string())?;
    }
    let secs = started.elapsed().as_secs_f64();
    let size = std::fs::metadata(archive.db_path()).map_or(0, |m| m.len())
        + std::fs::metadata(archive.db_path().with_extension("sqlite-wal")).map_or(0, |m| m.len());
    let figures = rows as f64 / reports.len() as f64 * pages as f64;
    println!(
        "{pages} report pages ({figures:.0} figures) in {secs:.2} s: {:.0} µs per page, \
         {:.0} figures/s; database {:.1} KB per page",
        secs * 1e6 / pages as f64,
        figures / secs,
        size as f64 / 1024.0 / pages as f64,
    );
    Ok(())
}

fn capture(i: usize) -> NewCapture {
    NewCapture {
        url: format!("http://127.0.0.1/nb/t{i}.html"),
        fetched_at: "2026-01-01T00:00:00Z".into(),
        status: 200,
        headers: vec![("Content-Type".into(), "text/html".into())],
        content_type: Some("text/html".into()),
        record_type: "response",
        payload_digest: format!("sha1:{i:032}"),
        payload_length: 260_000,
        truncated: None,
        warc_file: "bench.warc.gz".into(),
        warc_offset: i as u64 * 30_000,
        warc_length: 30_000,
        warc_record_id: format!("<urn:uuid:{i}>"),
        ip: Some("127.0.0.1".into()),
        refers_to: None,
        encoding: Some("utf-8".into()),
        encoding_decision: Some("meta".into()),
        encoding_errors: Some(false),
        encoding_rejected: Vec::new(),
        source: Some("bench".into()),
        etag: None,
        last_modified: None,
        import_id: None,
    }
}
