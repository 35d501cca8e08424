//! Any bytes through decode + extract (HTML and text paths) and the layout
//! splitter of PDF text: nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoded = nianbao::decode::decode(data, None);
    let _ = nianbao::extract::extract_html(&decoded.text);
    let _ = nianbao::extract::extract_text(&decoded.text);
    let _ = nianbao::attachment::layout_to_cells(&decoded.text);
    let _ = nianbao::pipeline::analyse_document("http://fuzz/x", data, None);
});
