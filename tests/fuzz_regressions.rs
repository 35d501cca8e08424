//! Inputs that once broke (or were made to break) decode + extract: each must
//! go through without a panic, in bounded time. `fuzz/run.sh` adds the inputs
//! it finds crashing to tests/fixtures/fuzz/.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

use std::path::Path;

use nianbao::frontier::Kind;
use url::Url;

#[test]
fn every_hostile_input_goes_through() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let decoded = nianbao::decode::decode(&bytes, None);
        let html = nianbao::extract::extract_html(&decoded.text);
        let text = nianbao::extract::extract_text(&decoded.text);
        let _ = nianbao::attachment::layout_to_cells(&decoded.text);
        let _ = nianbao::pipeline::analyse_document(&path.to_string_lossy(), &bytes, None);
        // Link discovery, as the crawl runs it on every page it archives.
        let base = Url::parse("http://fuzz.gov.cn/xxgk/xxgknb/index_1.html").unwrap();
        for kind in [Kind::Listing, Kind::Report, Kind::Attachment] {
            let links = nianbao::discover::links(&base, &decoded.text, kind);
            assert!(
                links.len() <= nianbao::discover::MAX_SCRIPT_PAGES as usize + bytes.len() / 8,
                "{}: more links than the page could hold",
                path.display()
            );
            for link in &links {
                assert!(matches!(link.url.scheme(), "http" | "https"), "{link:?}");
                let _ = nianbao::discover::names_report(link.anchor.as_deref().unwrap_or(""));
            }
        }
        let _ = nianbao::discover::names_report(&decoded.text);
        // Nothing is invented: no standard figure comes out of these inputs.
        for r in html.iter().chain(&text) {
            assert!(
                r.cells
                    .iter()
                    .filter(|c| c.standard && c.value.is_some())
                    .count()
                    <= 1,
                "{}: figures from nowhere: {r:?}",
                path.display()
            );
        }
        seen += 1;
    }
    assert!(seen >= 9, "the hostile inputs are there");
}

#[test]
fn concatenated_figures_are_flagged_not_guessed() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz/concatenated.txt");
    let text = std::fs::read_to_string(path).unwrap();
    let reports = nianbao::extract::extract_text(&text);
    for r in &reports {
        assert!(!r
            .cells
            .iter()
            .any(|c| c.value == Some(640020470.0) && c.standard));
    }
}
