//! Any bytes through decode + extract (HTML and text paths), the layout
//! splitter of PDF text and link discovery: nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nianbao::frontier::Kind;

fuzz_target!(|data: &[u8]| {
    let decoded = nianbao::decode::decode(data, None);
    let _ = nianbao::extract::extract_html(&decoded.text);
    let _ = nianbao::extract::extract_text(&decoded.text);
    let _ = nianbao::attachment::layout_to_cells(&decoded.text);
    let _ = nianbao::pipeline::analyse_document("http://fuzz/x", data, None);
    if let Ok(base) = url::Url::parse("http://fuzz.gov.cn/xxgk/xxgknb/index_1.html") {
        for kind in [Kind::Listing, Kind::Report, Kind::Attachment] {
            for link in nianbao::discover::links(&base, &decoded.text, kind) {
                let _ = nianbao::discover::names_report(link.anchor.as_deref().unwrap_or(""));
            }
        }
    }
    let _ = nianbao::discover::names_report(&decoded.text);
});
