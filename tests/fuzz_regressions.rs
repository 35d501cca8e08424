//! Inputs that once broke (or were made to break) decode + extract: each must
//! go through without a panic, in bounded time. `fuzz/run.sh` adds the inputs
//! it finds crashing to tests/fixtures/fuzz/.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

use std::path::Path;

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
