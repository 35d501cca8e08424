//! A PDF attached to an HTML report page: the PDF prints its tables under a
//! heading that names neither agency nor year
//! (tests/fixtures/attachments/make_layout.py, `pingtan-2022-untitled.pdf`).
//! Crawled from a loopback listing, its report takes the year from the link
//! text it was found under, the agency from the page that linked it, and is
//! tied to that page's report.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

mod common;

use common::{Reply, Server};
use rusqlite::Connection;

const PAGE_TITLE: &str = "平潭综合实验区2022年政府信息公开工作年度报告";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/attachments")
            .join(name),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachment_takes_identity_from_its_link_and_page() {
    let listing = format!(
        "<html><head><meta charset=\"utf-8\"><title>政府信息公开年报</title></head><body>\
         <ul><li><a href=\"r1.html\">{PAGE_TITLE}</a></li></ul></body></html>"
    );
    let page = format!(
        "<html><head><meta charset=\"utf-8\"><title>{PAGE_TITLE}</title></head><body>\
         <h1>{PAGE_TITLE}</h1><p>本年新收政府信息公开申请数量</p>\
         <p><a href=\"files/nb2022.pdf\">附件：2022年年报（PDF）</a></p></body></html>"
    );
    let server = Server::routes(
        "127.0.11.1",
        vec![
            ("/robots.txt", Reply::new(404, "text/plain", "none")),
            ("/nb/index.html", Reply::html(listing)),
            ("/nb/r1.html", Reply::html(page)),
            (
                "/nb/files/nb2022.pdf",
                Reply::new(200, "application/pdf", fixture("pingtan-2022-untitled.pdf")),
            ),
        ],
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let config = common::crawl_config(tmp.path(), "平潭", &server.url("/nb/index.html"));
    let mut cmd = common::crawl_command(&config);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(server.hits("/nb/files/nb2022.pdf"), 1);

    let db = Connection::open(tmp.path().join("archive").join("nianbao.sqlite")).unwrap();
    let report_of = |path: &str| -> (
        i64,
        String,
        Option<String>,
        Option<i64>,
        Option<i64>,
        String,
    ) {
        db.query_row(
            "SELECT k.id, r.title, r.agency, r.year, r.parent_capture, r.notes
             FROM reports r JOIN captures k ON k.id = r.capture_id WHERE k.url = ?1",
            [server.url(path)],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .unwrap()
    };
    // The report page holds no tables of its own: it is known as a report
    // page by the listing's link, and its title names the agency.
    let page_capture: i64 = db
        .query_row(
            "SELECT id FROM captures WHERE url = ?1",
            [server.url("/nb/r1.html")],
            |r| r.get(0),
        )
        .unwrap();

    let (_, _, agency, year, parent, notes) = report_of("/nb/files/nb2022.pdf");
    assert_eq!(year, Some(2022), "{notes}");
    assert_eq!(agency.as_deref(), Some("平潭综合实验区"), "{notes}");
    assert_eq!(parent, Some(page_capture));
    assert!(
        notes.contains("year from the attachment's link text"),
        "{notes}"
    );
    assert!(
        notes.contains("agency from the page that linked it"),
        "{notes}"
    );
    // The PDF's own figures are read as printed.
    let new_total: Option<f64> = db
        .query_row(
            "SELECT c.value FROM cells c JOIN reports r ON r.id = c.report_id
             WHERE r.parent_capture = ?1 AND c.table_code = 'requests'
               AND c.row_code = 'new' AND c.col_code = 'total'",
            [page_capture],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(new_total, Some(74.0));
    // The export names the page the attachment's report hangs from.
    let out = tmp.path().join("out");
    let export = std::process::Command::new(env!("CARGO_BIN_EXE_nianbao"))
        .args(["export", "--archive"])
        .arg(tmp.path().join("archive"))
        .arg("--out")
        .arg(&out)
        .args(["--format", "csv"])
        .output()
        .unwrap();
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let csv = std::fs::read_to_string(out.join("reports.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let at = header.iter().position(|h| *h == "parent_url").unwrap();
    let pdf_row = csv
        .lines()
        .find(|l| l.contains("nb2022.pdf"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert!(
        pdf_row.contains(&server.url("/nb/r1.html")),
        "parent_url (column {at}) of {pdf_row}"
    );
}
