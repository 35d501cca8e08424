//! `nianbao export` and `nianbao index` end to end: an archive built through
//! the real pipeline against a loopback server, figures added as hand-built
//! reports, exported in every format, read back with independent readers
//! (the `csv` and `parquet` crates, serde_json) and compared value by value
//! with the archive.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use arrow_array::{
    Array, BooleanArray, Decimal128Array, Int64Array, StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, TimeUnit};
use common::{Reply, Server};
use nianbao::export::{self, ExportOptions, Filter, OutputFormat};
use nianbao::extract::{Cell, Check, Format, Report};
use nianbao::fetch::{FetchConfig, Fetcher};
use nianbao::pipeline::{self, Options, Store};
use nianbao::warc;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rusqlite::Connection;
use url::Url;

const PAGE: &str = "<html><head><meta charset=\"utf-8\"><title>年度报告</title></head><body><p>政府信息公开工作年度报告</p></body></html>";

fn cell(
    table: &str,
    row: &str,
    col: &str,
    raw: &str,
    value: Option<f64>,
    unit: Option<&str>,
) -> Cell {
    Cell {
        table: table.into(),
        row: row.into(),
        col: col.into(),
        raw: raw.into(),
        value,
        unit: unit.map(str::to_string),
        standard: !row.starts_with("nonstandard."),
        label: String::new(),
        note: None,
        ocr: false,
        ocr_conf: None,
    }
}

fn check(
    identity: &str,
    col: &str,
    holds: Option<bool>,
    left: Option<f64>,
    right: Option<f64>,
) -> Check {
    Check {
        identity: identity.into(),
        col: col.into(),
        holds,
        left,
        right,
    }
}

/// 上海市虹口区 2020 (2019 format): one identity broken on purpose.
fn hongkou_2020() -> Report {
    Report {
        title: "上海市虹口区2020年政府信息公开工作年度报告".into(),
        year: Some(2020),
        format: Format::V2019,
        agency: Some("上海市虹口区人民政府".into()),
        cells: vec![
            cell("proactive", "rules", "made", "0", Some(0.0), None),
            cell(
                "proactive",
                "procurement",
                "amount",
                "67552.91(万元)",
                Some(67552.91),
                Some("wan_yuan"),
            ),
            cell(
                "requests",
                "new",
                "natural_person",
                "1113",
                Some(1113.0),
                None,
            ),
            cell("requests", "new", "total", "1134", Some(1134.0), None),
            cell("requests", "carried_over", "total", "70", Some(70.0), None),
            cell("requests", "total", "total", "1162", Some(1162.0), None),
            cell(
                "requests",
                "carried_forward",
                "total",
                "42",
                Some(42.0),
                None,
            ),
            cell("requests", "new", "legal.research", "—", None, None),
            cell("requests", "nonstandard.1", "total", "3", Some(3.0), None),
            cell("appeals", "all", "review.upheld", "13", Some(13.0), None),
            cell("appeals", "all", "review.total", "17", Some(17.0), None),
        ],
        checks: vec![
            check(
                "requests_balance",
                "total",
                Some(true),
                Some(1204.0),
                Some(1204.0),
            ),
            check(
                "requests_row_sum",
                "new",
                Some(false),
                Some(1134.0),
                Some(1113.0),
            ),
            check(
                "appeals_group_sum",
                "review",
                Some(true),
                Some(17.0),
                Some(17.0),
            ),
        ],
        notes: vec!["表格含非标准行".into()],
    }
}

/// 深圳市龙岗区 2021 (2021 format): one identity not checkable.
fn longgang_2021() -> Report {
    Report {
        title: "深圳市龙岗区人民政府2021年政府信息公开工作年度报告".into(),
        year: Some(2021),
        format: Format::V2021,
        agency: Some("深圳市龙岗区人民政府".into()),
        cells: vec![
            cell("proactive", "fees", "amount", "0", Some(0.0), Some("yuan")),
            cell("requests", "new", "total", "50", Some(50.0), None),
            cell("requests", "other.other", "total", "/", None, None),
        ],
        checks: vec![
            check(
                "requests_balance",
                "total",
                Some(true),
                Some(50.0),
                Some(50.0),
            ),
            check("requests_outcome_sum", "total", None, None, Some(50.0)),
        ],
        notes: vec![],
    }
}

/// A pre-2019 report: prose figures, no identity to check.
fn longgang_2018() -> Report {
    Report {
        title: "深圳市龙岗区2018年政府信息公开工作年度报告".into(),
        year: Some(2018),
        format: Format::Pre2019,
        agency: Some("深圳市龙岗区人民政府".into()),
        cells: vec![
            cell(
                "headline",
                "requests_received",
                "value",
                "1100",
                Some(1100.0),
                None,
            ),
            cell("headline", "reviews", "value", "29", Some(29.0), None),
        ],
        checks: vec![],
        notes: vec![],
    }
}

struct Built {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    regions: HashMap<String, String>,
}

/// The 虹口 page's path: Chinese, percent-encoded, with a query to sort.
const HK_PATH: &str = "/xxgk/%E5%B9%B4%E6%8A%A5/2020.html?id=7&a=1";

/// An archive with five captures: the 虹口 page twice (the second capture
/// supersedes the first), the 龙岗 page (two reports), a 404, and the 龙岗
/// page again, unchanged (a revisit record).
async fn build_archive() -> Built {
    let server = Server::routes(
        "127.0.0.1",
        vec![
            (HK_PATH, Reply::html(PAGE)),
            ("/lg/nb.html", Reply::html(PAGE).header("ETag", "\"x\"")),
        ],
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("archive");
    let store = Store::open(&dir, 1 << 30, pipeline::warcinfo("test", "none")).unwrap();
    let fetcher = Fetcher::new(FetchConfig::default()).unwrap();
    let archive = |path: &str, source: Option<&str>, conditional: bool| {
        let url = Url::parse(&server.url(path)).unwrap();
        let opts = Options {
            max_redirects: 5,
            source: source.map(str::to_string),
            conditional,
        };
        let (fetcher, store) = (&fetcher, &store);
        async move {
            pipeline::archive_url(fetcher, store, &url, &opts, &|_| true)
                .await
                .unwrap()
        }
    };
    let hk1 = archive(HK_PATH, Some("上海市虹口区"), false).await;
    let hk2 = archive(HK_PATH, Some("上海市虹口区"), false).await;
    let lg = archive("/lg/nb.html", Some("深圳市龙岗区人民政府"), false).await;
    let missing = archive("/gone.html", None, false).await;
    assert_eq!(missing.status, 404);
    let unchanged = archive("/lg/nb.html", Some("深圳市龙岗区人民政府"), true).await;
    assert_eq!(unchanged.record_type, "revisit");
    {
        let mut db = store.db.lock().unwrap();
        db.replace_reports(hk1.capture_id, &[hongkou_2020()])
            .unwrap();
        db.replace_reports(hk2.capture_id, &[hongkou_2020()])
            .unwrap();
        db.replace_reports(lg.capture_id, &[longgang_2021(), longgang_2018()])
            .unwrap();
    }
    let regions = HashMap::from([
        ("上海市虹口区".to_string(), "310109".to_string()),
        ("深圳市龙岗区人民政府".to_string(), "440307".to_string()),
    ]);
    // The crawl stores its sources; exports then need no config for regions.
    let sources: Vec<nianbao::config::Source> = regions
        .iter()
        .map(|(name, region)| nianbao::config::Source {
            name: name.clone(),
            region: Some(region.clone()),
            start: vec![Url::parse(&server.url("/")).unwrap()],
            allow_hosts: vec![],
            render: false,
        })
        .collect();
    store.db.lock().unwrap().record_sources(&sources).unwrap();
    drop(store);
    Built {
        _tmp: tmp,
        dir,
        regions,
    }
}

fn options(built: &Built, out: &Path, format: OutputFormat) -> ExportOptions {
    ExportOptions {
        archive: built.dir.clone(),
        out: out.to_path_buf(),
        format,
        filter: Filter::default(),
        excel: false,
        // No config: regions come from the archive.
        regions: HashMap::new(),
        progress: false,
    }
}

/// A row of `v_cells` joined with its region, keyed for comparison.
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    report_id: i64,
    agency: Option<String>,
    region: Option<String>,
    year: Option<i64>,
    format: String,
    table: String,
    row: String,
    col: String,
    value: Option<f64>,
    raw: String,
    unit: Option<String>,
    url: String,
    fetched_at: String,
    warc_file: String,
    warc_offset: i64,
    warc_length: i64,
    warc_record_id: String,
    payload_digest: String,
    extractor_version: String,
    identities: String,
    latest: bool,
}

type Key = (i64, String, String, String);

fn expected_cells(built: &Built) -> HashMap<Key, Expected> {
    let conn = Connection::open(built.dir.join("nianbao.sqlite")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT report_id, agency, source, year, format, \"table\", \"row\", col, value, raw, unit,
               url, fetched_at, warc_file, warc_offset, warc_length, warc_record_id, payload_digest,
               extractor_version, identities, latest FROM v_cells",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            let source: Option<String> = r.get(2)?;
            Ok(Expected {
                report_id: r.get(0)?,
                agency: r.get(1)?,
                region: source.and_then(|s| built.regions.get(&s).cloned()),
                year: r.get(3)?,
                format: r.get(4)?,
                table: r.get(5)?,
                row: r.get(6)?,
                col: r.get(7)?,
                value: r.get(8)?,
                raw: r.get(9)?,
                unit: r.get(10)?,
                url: r.get(11)?,
                fetched_at: r.get(12)?,
                warc_file: r.get(13)?,
                warc_offset: r.get(14)?,
                warc_length: r.get(15)?,
                warc_record_id: r.get(16)?,
                payload_digest: r.get(17)?,
                extractor_version: r.get(18)?,
                identities: r.get(19)?,
                latest: r.get(20)?,
            })
        })
        .unwrap();
    rows.map(|r| {
        let r = r.unwrap();
        (
            (r.report_id, r.table.clone(), r.row.clone(), r.col.clone()),
            r,
        )
    })
    .collect()
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// Read a CSV export into header-keyed maps.
fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .map(str::to_string)
                .zip(r.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

/// Where CI loads the exports with pandas and pyarrow and runs cdxj-indexer.
fn ci_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ci-export")
}

/// One archive exported in every format and indexed, kept for the Python
/// checks of `.ci/check-export.py` (which compare the formats with each other).
#[tokio::test]
async fn one_archive_in_every_format_is_kept_for_ci() {
    let built = build_archive().await;
    let keep = ci_dir();
    let _ = std::fs::remove_dir_all(&keep);
    for format in [
        OutputFormat::Csv,
        OutputFormat::Parquet,
        OutputFormat::Jsonl,
    ] {
        let out = keep.join(format.extension());
        let manifest = export::export(&options(&built, &out, format)).unwrap();
        assert_eq!(manifest.rows("cells"), 27);
    }
    // The whole archive and one report's page as WACZ, for `wacz validate`.
    export::export(&options(&built, &keep.join("wacz"), OutputFormat::Wacz)).unwrap();
    let mut filtered = options(&built, &keep.join("wacz-filtered"), OutputFormat::Wacz);
    filtered.filter.agency = Some("虹口".into());
    export::export(&filtered).unwrap();
    export::index(&built.dir, true).unwrap();
    let warcs = keep.join("warc");
    std::fs::create_dir_all(&warcs).unwrap();
    for f in warc::warc_files(&built.dir.join("warc")).unwrap() {
        std::fs::copy(&f, warcs.join(f.file_name().unwrap())).unwrap();
        let cdxj = export::cdxj::index_path(&f);
        std::fs::copy(&cdxj, warcs.join(cdxj.file_name().unwrap())).unwrap();
    }
}

#[tokio::test]
async fn csv_cells_match_the_archive_value_by_value() {
    let built = build_archive().await;
    let out = built.dir.parent().unwrap().join("out-csv");
    let manifest = export::export(&options(&built, &out, OutputFormat::Csv)).unwrap();
    let expected = expected_cells(&built);
    let rows = read_csv(&out.join("cells.csv"));
    assert_eq!(rows.len(), expected.len());
    assert_eq!(rows.len(), 11 + 11 + 3 + 2);
    assert_eq!(manifest.rows("cells"), expected.len() as u64);
    let mut seen = HashSet::new();
    for row in &rows {
        let key: Key = (
            row["report_id"].parse().unwrap(),
            row["table"].clone(),
            row["row"].clone(),
            row["col"].clone(),
        );
        let e = expected
            .get(&key)
            .unwrap_or_else(|| panic!("{key:?} not in archive"));
        assert!(seen.insert(key.clone()), "{key:?} twice");
        assert_eq!(opt(&row["agency"]), e.agency);
        assert_eq!(opt(&row["region"]), e.region, "{key:?}");
        assert_eq!(row["year"].parse::<i64>().ok(), e.year);
        assert_eq!(row["format"], e.format);
        // Counts are integers in `value`, money decimals in `amount`.
        if e.unit.is_some() {
            assert_eq!(row["value"], "", "{key:?}");
            assert_eq!(row["amount"].parse::<f64>().ok(), e.value, "{key:?}");
            assert!(row["amount"].is_empty() || row["amount"].contains('.'));
        } else {
            assert_eq!(row["amount"], "", "{key:?}");
            let count = row["value"].parse::<i64>().ok();
            assert_eq!(count.map(|v| v as f64), e.value, "{key:?}");
        }
        assert_eq!(row["raw"], e.raw);
        assert_eq!(opt(&row["unit"]), e.unit);
        assert_eq!(row["url"], e.url);
        assert_eq!(row["fetched_at"], e.fetched_at);
        assert_eq!(row["warc_file"], e.warc_file);
        assert_eq!(row["warc_offset"].parse::<i64>().unwrap(), e.warc_offset);
        assert_eq!(row["warc_length"].parse::<i64>().unwrap(), e.warc_length);
        assert_eq!(row["warc_record_id"], e.warc_record_id);
        assert_eq!(row["payload_digest"], e.payload_digest);
        assert_eq!(row["extractor_version"], e.extractor_version);
        assert_eq!(row["identities"], e.identities);
        assert_eq!(row["latest"], e.latest.to_string());
    }
    // Hand-picked: the figures as printed, the blank kept blank, money unit kept.
    let find = |agency: &str, latest: &str, table: &str, r: &str, c: &str| {
        rows.iter()
            .find(|x| {
                x["agency"].contains(agency)
                    && x["latest"] == latest
                    && x["table"] == table
                    && x["row"] == r
                    && x["col"] == c
            })
            .unwrap_or_else(|| panic!("{agency} {table}.{r}.{c}"))
            .clone()
    };
    let new_total = find("虹口", "true", "requests", "new", "total");
    assert_eq!(new_total["value"], "1134");
    assert_eq!(new_total["year"], "2020");
    assert_eq!(new_total["region"], "310109");
    assert_eq!(new_total["identities"], "some_broken");
    let blank = find("虹口", "true", "requests", "new", "legal.research");
    assert_eq!((blank["value"].as_str(), blank["raw"].as_str()), ("", "—"));
    let money = find("虹口", "true", "proactive", "procurement", "amount");
    assert_eq!(
        (money["amount"].as_str(), money["unit"].as_str()),
        ("67552.91", "wan_yuan")
    );
    assert_eq!(money["value"], "");
    assert_eq!(
        find("龙岗", "true", "requests", "new", "total")["identities"],
        "partly_checked"
    );
    assert_eq!(
        find("龙岗", "true", "headline", "requests_received", "value")["identities"],
        "not_checkable"
    );
    assert_eq!(
        find("虹口", "false", "requests", "new", "total")["value"],
        "1134"
    );
}

#[tokio::test]
async fn provenance_points_at_the_warc_record_that_holds_the_page() {
    let built = build_archive().await;
    let out = built.dir.parent().unwrap().join("out");
    export::export(&options(&built, &out, OutputFormat::Csv)).unwrap();
    let rows = read_csv(&out.join("reports.csv"));
    assert_eq!(rows.len(), 4);
    for row in rows {
        let path = built.dir.join("warc").join(&row["warc_file"]);
        let record = warc::read_record(&path, row["warc_offset"].parse().unwrap()).unwrap();
        assert_eq!(
            record.header("WARC-Record-ID"),
            Some(row["warc_record_id"].as_str())
        );
        assert_eq!(record.header("WARC-Target-URI"), Some(row["url"].as_str()));
        assert_eq!(record.header("WARC-Date"), Some(row["fetched_at"].as_str()));
        let (_, body) = record.http_parts();
        assert_eq!(warc::sha1_digest(body), row["payload_digest"]);
        assert_eq!(body, PAGE.as_bytes());
    }
}

#[tokio::test]
async fn reports_checks_and_wide_tables_agree_with_the_cells() {
    let built = build_archive().await;
    let out = built.dir.parent().unwrap().join("out");
    export::export(&options(&built, &out, OutputFormat::Csv)).unwrap();
    let reports = read_csv(&out.join("reports.csv"));
    let by_title = |t: &str, latest: &str| {
        reports
            .iter()
            .find(|r| r["title"].contains(t) && r["latest"] == latest)
            .unwrap()
            .clone()
    };
    let hk = by_title("虹口区2020", "true");
    assert_eq!(
        (
            &hk["checks_held"][..],
            &hk["checks_broken"][..],
            &hk["checks_uncheckable"][..]
        ),
        ("2", "1", "0")
    );
    assert_eq!(hk["identities"], "some_broken");
    assert_eq!(hk["cells"], "11");
    assert_eq!(hk["status"], "200");
    assert_eq!(hk["notes"], "[\"表格含非标准行\"]");
    assert_eq!(by_title("虹口区2020", "false")["identities"], "some_broken");
    let lg = by_title("龙岗区人民政府2021", "true");
    assert_eq!(
        (&lg["checks_held"][..], &lg["checks_uncheckable"][..]),
        ("1", "1")
    );
    assert_eq!(lg["region"], "440307");
    assert_eq!(lg["format"], "f2021");
    assert_eq!(
        by_title("龙岗区2018", "true")["identities"],
        "not_checkable"
    );

    let checks = read_csv(&out.join("checks.csv"));
    assert_eq!(checks.len(), 3 + 3 + 2);
    let broken: Vec<_> = checks.iter().filter(|c| c["holds"] == "false").collect();
    assert_eq!(broken.len(), 2);
    assert!(broken
        .iter()
        .all(|c| c["identity"] == "requests_row_sum" && c["difference"] == "21"));
    let uncheckable: Vec<_> = checks.iter().filter(|c| c["holds"].is_empty()).collect();
    assert_eq!(uncheckable.len(), 1);
    assert_eq!(uncheckable[0]["left_value"], "");

    // Wide: one row per report that has figures of that table, same values.
    let cells = read_csv(&out.join("cells.csv"));
    for table in ["proactive", "requests", "appeals", "headline"] {
        let wide = read_csv(&out.join(format!("wide_{table}.csv")));
        let ids: HashSet<&str> = cells
            .iter()
            .filter(|c| c["table"] == table)
            .map(|c| c["report_id"].as_str())
            .collect();
        assert_eq!(wide.len(), ids.len(), "{table}");
        let standard = |c: &&HashMap<String, String>| !c["row"].starts_with("nonstandard.");
        for c in cells
            .iter()
            .filter(|c| c["table"] == table)
            .filter(standard)
        {
            let w = wide
                .iter()
                .find(|w| w["report_id"] == c["report_id"])
                .unwrap();
            let code = format!("{}.{}", c["row"], c["col"]);
            let figure = if c["unit"].is_empty() {
                &c["value"]
            } else {
                &c["amount"]
            };
            assert_eq!(&w[&code], figure, "{table} {code}");
            if !c["unit"].is_empty() {
                assert_eq!(w[&format!("{code}_unit")], c["unit"]);
            }
        }
    }
    let requests = read_csv(&out.join("wide_requests.csv"));
    let hk_wide = requests
        .iter()
        .find(|w| w["agency"].contains("虹口"))
        .unwrap();
    assert_eq!(hk_wide["new.total"], "1134");
    assert_eq!(hk_wide["other.other.total"], "");
    assert!(
        hk_wide.keys().all(|k| !k.starts_with("nonstandard.")),
        "a non-standard row means something else in every report: no wide column"
    );
}

#[tokio::test]
async fn captures_list_every_exchange_or_those_of_the_exported_reports() {
    let built = build_archive().await;
    let out = built.dir.parent().unwrap().join("out-captures");
    export::export(&options(&built, &out, OutputFormat::Csv)).unwrap();
    let all = read_csv(&out.join("captures.csv"));
    assert_eq!(all.len(), 5);
    let kinds: Vec<(&str, &str, &str)> = all
        .iter()
        .map(|k| {
            (
                k["record_type"].as_str(),
                k["status"].as_str(),
                k["reports"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("response", "200", "1"),
            ("response", "200", "1"),
            ("response", "200", "2"),
            ("response", "404", "0"),
            ("revisit", "200", "0"),
        ]
    );
    assert_eq!(all[4]["refers_to"], all[2]["capture_id"]);
    assert_eq!(all[2]["region"], "440307");
    assert_eq!(all[0]["encoding"], "UTF-8");
    let mut opts = options(&built, &out, OutputFormat::Csv);
    opts.filter.year = Some(2018);
    export::export(&opts).unwrap();
    let held = read_csv(&out.join("captures.csv"));
    assert_eq!(held.len(), 1);
    assert_eq!(held[0]["capture_id"], all[2]["capture_id"]);
}

#[tokio::test]
async fn the_codebook_names_every_standard_code_and_orders_the_wide_columns() {
    let built = build_archive().await;
    let out = built.dir.parent().unwrap().join("out-codebook");
    let manifest = export::export(&options(&built, &out, OutputFormat::Parquet)).unwrap();
    let book = nianbao::extract::codebook();
    let rows = read_csv(&out.join("codebook.csv"));
    assert_eq!(rows.len(), book.len());
    assert_eq!(manifest.rows("codebook"), book.len() as u64);
    assert!(out.join("codebook.parquet").is_file());
    let known: HashSet<(String, String, String)> = rows
        .iter()
        .map(|r| (r["table"].clone(), r["row"].clone(), r["col"].clone()))
        .collect();
    let cells = parquet_batches(&out.join("cells.parquet"));
    for b in &cells {
        let (t, r, c) = (
            column::<StringArray>(b, "table"),
            column::<StringArray>(b, "row"),
            column::<StringArray>(b, "col"),
        );
        for i in 0..b.num_rows() {
            let key = (
                t.value(i).to_string(),
                r.value(i).to_string(),
                c.value(i).to_string(),
            );
            assert!(
                key.1.starts_with("nonstandard.") || known.contains(&key),
                "{key:?}"
            );
        }
    }
    let amount = rows
        .iter()
        .find(|r| r["table"] == "proactive" && r["row"] == "procurement" && r["col"] == "amount")
        .unwrap();
    assert_eq!(
        (amount["unit"].as_str(), amount["formats"].as_str()),
        ("money", "f2019")
    );
    assert_eq!(amount["wide_column"], "procurement.amount");
    let other = rows
        .iter()
        .find(|r| r["table"] == "requests" && r["row"] == "other.other" && r["col"] == "total")
        .unwrap();
    assert_eq!(other["formats"], "f2021");
    assert!(!other["label_zh"].is_empty() && !other["label_en"].is_empty());
    let md = std::fs::read_to_string(out.join("codebook.md")).unwrap();
    assert!(md.contains("| `new` | `natural_person` |"), "{md}");

    // Wide columns follow the codebook's order.
    let order = nianbao::export::codebook::wide_order("requests");
    let wide = parquet_batches(&out.join("wide_requests.parquet"));
    let names: Vec<String> = wide[0]
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|n| order.contains(n))
        .collect();
    let positions: Vec<usize> = names
        .iter()
        .map(|n| order.iter().position(|o| o == n).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{names:?}");
    assert!(names.len() >= 7, "{names:?}");
}

fn parquet_batches(path: &Path) -> Vec<arrow_array::RecordBatch> {
    let file = std::fs::File::open(path).unwrap();
    ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

fn column<'a, T: 'static>(batch: &'a arrow_array::RecordBatch, name: &str) -> &'a T {
    batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .as_any()
        .downcast_ref::<T>()
        .unwrap_or_else(|| panic!("{name}: unexpected type"))
}

fn text(a: &StringArray, i: usize) -> Option<String> {
    (!a.is_null(i)).then(|| a.value(i).to_string())
}

#[tokio::test]
async fn parquet_cells_have_real_types_and_the_archive_values() {
    let built = build_archive().await;
    let out = built.dir.parent().unwrap().join("out-parquet");
    let manifest = export::export(&options(&built, &out, OutputFormat::Parquet)).unwrap();
    let expected = expected_cells(&built);
    let batches = parquet_batches(&out.join("cells.parquet"));
    let schema = batches[0].schema();
    let kind = |n: &str| schema.field_with_name(n).unwrap().data_type().clone();
    assert_eq!(kind("report_id"), DataType::Int64);
    assert_eq!(kind("value"), DataType::Int64);
    assert_eq!(kind("amount"), DataType::Decimal128(20, 4));
    assert_eq!(kind("raw"), DataType::Utf8);
    assert_eq!(kind("latest"), DataType::Boolean);
    assert_eq!(
        kind("fetched_at"),
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    let mut n = 0;
    for b in &batches {
        let ids = column::<Int64Array>(b, "report_id");
        let tables = column::<StringArray>(b, "table");
        let rows = column::<StringArray>(b, "row");
        let cols = column::<StringArray>(b, "col");
        let values = column::<Int64Array>(b, "value");
        let amounts = column::<Decimal128Array>(b, "amount");
        let raws = column::<StringArray>(b, "raw");
        let units = column::<StringArray>(b, "unit");
        let regions = column::<StringArray>(b, "region");
        let times = column::<TimestampMicrosecondArray>(b, "fetched_at");
        let offsets = column::<Int64Array>(b, "warc_offset");
        let record_ids = column::<StringArray>(b, "warc_record_id");
        let digests = column::<StringArray>(b, "payload_digest");
        let latest = column::<BooleanArray>(b, "latest");
        for i in 0..b.num_rows() {
            let key: Key = (
                ids.value(i),
                tables.value(i).into(),
                rows.value(i).into(),
                cols.value(i).into(),
            );
            let e = &expected[&key];
            let count = (!values.is_null(i)).then(|| values.value(i) as f64);
            let amount = (!amounts.is_null(i)).then(|| amounts.value(i) as f64 / 1e4);
            assert_eq!(count.or(amount), e.value, "{key:?}");
            assert!(count.is_none() || amount.is_none(), "{key:?}");
            assert_eq!(amount.is_some(), e.unit.is_some() && e.value.is_some());
            assert_eq!(raws.value(i), e.raw);
            assert_eq!(text(units, i), e.unit);
            assert_eq!(text(regions, i), e.region);
            let t = chrono::DateTime::from_timestamp_micros(times.value(i)).unwrap();
            assert_eq!(warc::warc_date(t), e.fetched_at);
            assert_eq!(offsets.value(i), e.warc_offset);
            assert_eq!(record_ids.value(i), e.warc_record_id);
            assert_eq!(digests.value(i), e.payload_digest);
            assert_eq!(latest.value(i), e.latest);
            n += 1;
        }
    }
    assert_eq!(n, expected.len());
    let checks = parquet_batches(&out.join("checks.parquet"));
    let holds = column::<BooleanArray>(&checks[0], "holds");
    assert_eq!(holds.null_count(), 1);
    assert_eq!(
        checks.iter().map(|b| b.num_rows()).sum::<usize>() as u64,
        manifest.rows("checks")
    );
    let wide = parquet_batches(&out.join("wide_requests.parquet"));
    assert_eq!(
        wide[0]
            .schema()
            .field_with_name("new.total")
            .unwrap()
            .data_type(),
        &DataType::Int64
    );
}

#[tokio::test]
async fn jsonl_rows_are_objects_with_every_column() {
    let built = build_archive().await;
    let out = built.dir.parent().unwrap().join("out-jsonl");
    export::export(&options(&built, &out, OutputFormat::Jsonl)).unwrap();
    let expected = expected_cells(&built);
    let text = std::fs::read_to_string(out.join("cells.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), expected.len());
    for l in &lines {
        let key: Key = (
            l["report_id"].as_i64().unwrap(),
            l["table"].as_str().unwrap().into(),
            l["row"].as_str().unwrap().into(),
            l["col"].as_str().unwrap().into(),
        );
        let e = &expected[&key];
        let figure = if e.unit.is_some() {
            l["amount"].as_f64()
        } else {
            l["value"].as_i64().map(|v| v as f64)
        };
        assert_eq!(figure, e.value, "{key:?}");
        assert!(l.get("unit").is_some(), "null columns are written out");
        assert_eq!(l["fetched_at"], e.fetched_at.as_str());
        assert_eq!(l["warc_record_id"], e.warc_record_id.as_str());
    }
}

#[tokio::test]
async fn filters_select_by_year_agency_and_region_prefix() {
    let built = build_archive().await;
    let cases: [(Filter, usize); 5] = [
        (
            Filter {
                year: Some(2021),
                ..Filter::default()
            },
            1,
        ),
        (
            Filter {
                agency: Some("虹口".into()),
                ..Filter::default()
            },
            2,
        ),
        (
            Filter {
                region: Some("44".into()),
                ..Filter::default()
            },
            2,
        ),
        (
            Filter {
                region: Some("310109".into()),
                year: Some(2020),
                ..Filter::default()
            },
            2,
        ),
        (
            Filter {
                region: Some("11".into()),
                ..Filter::default()
            },
            0,
        ),
    ];
    for (i, (filter, reports)) in cases.into_iter().enumerate() {
        let out = built.dir.parent().unwrap().join(format!("out-{i}"));
        let mut opts = options(&built, &out, OutputFormat::Csv);
        opts.filter = filter.clone();
        let manifest = export::export(&opts).unwrap();
        assert_eq!(manifest.rows("reports"), reports as u64, "{filter:?}");
        let cells = read_csv(&out.join("cells.csv"));
        let ids: HashSet<String> = read_csv(&out.join("reports.csv"))
            .into_iter()
            .map(|r| r["report_id"].clone())
            .collect();
        assert!(
            cells.iter().all(|c| ids.contains(&c["report_id"])),
            "{filter:?}"
        );
        assert_eq!(manifest.rows("cells"), cells.len() as u64);
    }
}

#[tokio::test]
async fn excel_flag_adds_a_bom_and_the_manifest_describes_every_file() {
    let built = build_archive().await;
    let out = built.dir.parent().unwrap().join("out-excel");
    let mut opts = options(&built, &out, OutputFormat::Csv);
    opts.excel = true;
    let manifest = export::export(&opts).unwrap();
    let bytes = std::fs::read(out.join("cells.csv")).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBFreport_id,"));
    let plain = built.dir.parent().unwrap().join("out-plain");
    export::export(&options(&built, &plain, OutputFormat::Csv)).unwrap();
    assert!(std::fs::read(plain.join("cells.csv"))
        .unwrap()
        .starts_with(b"report_id,"));

    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(written["nianbao_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(written["archive"]["captures"], 5);
    assert_eq!(written["archive"]["reports"], 4);
    assert_eq!(written["excel_bom"], true);
    for f in &manifest.files {
        let data = std::fs::read(out.join(&f.name)).unwrap();
        assert_eq!(data.len() as u64, f.bytes, "{}", f.name);
        let sha = sha256_hex(&data);
        assert_eq!(sha, f.sha256, "{}", f.name);
    }
    assert!(!std::fs::read_dir(&out).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".partial")));
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn an_archive_without_the_views_is_exported_through_temporary_ones() {
    let built = build_archive().await;
    let conn = Connection::open(built.dir.join("nianbao.sqlite")).unwrap();
    conn.execute_batch(
        "DROP VIEW v_checks; DROP VIEW v_cells; DROP VIEW v_reports; DROP VIEW v_seen;
         DROP VIEW v_ledger;",
    )
    .unwrap();
    drop(conn);
    let out = built.dir.parent().unwrap().join("out-noviews");
    let manifest = export::export(&options(&built, &out, OutputFormat::Csv)).unwrap();
    assert_eq!(manifest.rows("cells"), 27);
    let conn = Connection::open(built.dir.join("nianbao.sqlite")).unwrap();
    let views: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'view' AND substr(name, 1, 2) = 'v_'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(views, 0, "the export must not write to the archive");
}

#[tokio::test]
async fn an_export_reads_one_snapshot_while_the_archive_is_written() {
    let built = build_archive().await;
    let reader = nianbao::export::reader::Reader::open(&built.dir).unwrap();
    let before = reader.reports(&HashMap::new()).unwrap();
    assert_eq!(before.len(), 4);
    let mut db = nianbao::archive::Archive::open(&built.dir).unwrap();
    let capture: i64 = db
        .conn()
        .query_row("SELECT MAX(capture_id) FROM reports", [], |r| r.get(0))
        .unwrap();
    db.replace_reports(capture, &[longgang_2021()]).unwrap();
    let mut cells = 0;
    reader
        .for_each_cell(|c| {
            assert!(
                before.iter().any(|r| r.id == c.report_id),
                "{c:?} is not of the snapshot"
            );
            cells += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(cells, 27, "the snapshot's cells, not the rewritten ones");
}

#[test]
fn a_missing_archive_is_named_in_the_error() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = ExportOptions {
        archive: tmp.path().join("nowhere"),
        out: tmp.path().join("out"),
        format: OutputFormat::Csv,
        filter: Filter::default(),
        excel: false,
        regions: HashMap::new(),
        progress: false,
    };
    let err = export::export(&opts).unwrap_err().to_string();
    assert!(err.contains("nowhere"), "{err}");
    assert!(!tmp.path().join("out").exists());
}

#[tokio::test]
async fn cdxj_indexes_every_response_and_revisit_with_offsets_from_the_archive() {
    let built = build_archive().await;
    let summary = export::index(&built.dir, false).unwrap();
    assert_eq!(summary.written.len(), 1);
    let again = export::index(&built.dir, false).unwrap();
    assert_eq!((again.written.len(), again.up_to_date.len()), (0, 1));
    let index = &summary.written[0];
    assert!(index.to_string_lossy().ends_with(".warc.gz.cdxj"));
    let text = std::fs::read_to_string(index).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted, "sorted for binary search");
    let conn = Connection::open(built.dir.join("nianbao.sqlite")).unwrap();
    let mut stmt = conn
        .prepare("SELECT url, warc_offset, warc_length, payload_digest, status FROM captures")
        .unwrap();
    let captures: Vec<(String, i64, i64, String, i64)> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        captures.len(),
        "responses and revisits, no request or warcinfo"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("\"mime\": \"warc/revisit\""))
            .count(),
        1
    );
    for (url, offset, length, digest, status) in captures {
        let line = lines
            .iter()
            .find(|l| l.contains(&format!("\"offset\": \"{offset}\"")))
            .unwrap_or_else(|| panic!("no line at offset {offset}"));
        let (key, rest) = line.split_once(' ').unwrap();
        let (stamp, json) = rest.split_once(' ').unwrap();
        assert!(key.starts_with("1,0,0,127:"), "{key}");
        if url.contains("2020.html") {
            assert!(
                key.ends_with(")/xxgk/%e5%b9%b4%e6%8a%a5/2020.html?a=1&id=7"),
                "{key}"
            );
        }
        assert_eq!(stamp.len(), 14);
        let j: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(j["url"], url.as_str());
        assert_eq!(j["length"], length.to_string().as_str());
        assert_eq!(j["digest"], digest.as_str());
        assert_eq!(j["status"], status.to_string().as_str());
    }
}

#[tokio::test]
async fn the_cli_exports_and_indexes() {
    let built = build_archive().await;
    let out = built.dir.parent().unwrap().join("out-cli");
    let config = built.dir.parent().unwrap().join("nianbao.toml");
    std::fs::write(
        &config,
        "[[sources]]\nname = \"深圳市龙岗区人民政府\"\nregion = \"440307\"\nstart = [\"http://127.0.0.1/\"]\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_nianbao"))
            .args(args)
            .output()
            .unwrap()
    };
    let archive = built.dir.to_str().unwrap();
    let ok = run(&[
        "--config",
        config.to_str().unwrap(),
        "export",
        "--archive",
        archive,
        "--out",
        out.to_str().unwrap(),
        "--region",
        "4403",
        "--format",
        "csv",
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(read_csv(&out.join("reports.csv")).len(), 2);
    let none = run(&[
        "export",
        "--archive",
        archive,
        "--out",
        out.to_str().unwrap(),
        "--year",
        "1999",
    ]);
    assert_eq!(none.status.code(), Some(1));
    let missing = run(&[
        "export",
        "--archive",
        "/nonexistent/archive",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/archive"));
    let index = run(&["index", "--archive", archive]);
    assert!(
        index.status.success(),
        "{}",
        String::from_utf8_lossy(&index.stderr)
    );
    assert!(String::from_utf8_lossy(&index.stdout).contains("1 index file written"));
}

#[tokio::test]
async fn csv_export_has_a_datapackage_with_each_columns_type() {
    let built = build_archive().await;
    let out = built.dir.parent().unwrap().join("out-package");
    export::export(&options(&built, &out, OutputFormat::Csv)).unwrap();
    let text = std::fs::read_to_string(out.join("datapackage.json")).unwrap();
    let package: serde_json::Value = serde_json::from_str(&text).unwrap();
    let resources = package["resources"].as_array().unwrap();
    let resource = |path: &str| {
        resources
            .iter()
            .find(|r| r["path"] == path)
            .unwrap_or_else(|| panic!("{path} not in datapackage.json"))
    };
    let field = |path: &str, name: &str| {
        resource(path)["schema"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("{path}: no field {name}"))
            .clone()
    };
    assert_eq!(field("cells.csv", "value")["type"], "integer");
    assert_eq!(field("cells.csv", "amount")["type"], "number");
    assert_eq!(field("cells.csv", "format")["type"], "string");
    assert_eq!(field("cells.csv", "latest")["type"], "boolean");
    assert_eq!(field("cells.csv", "fetched_at")["type"], "datetime");
    assert_eq!(field("checks.csv", "difference")["type"], "integer");
    let new_total = field("wide_requests.csv", "new.total");
    assert_eq!(new_total["type"], "integer");
    let title = new_total["title"].as_str().unwrap();
    assert!(title.contains("本年新收政府信息公开申请数量"), "{title}");
    assert_eq!(
        field("wide_proactive.csv", "procurement.amount")["type"],
        "number"
    );
    // Each resource's hash and size are those of its file.
    for r in resources {
        let data = std::fs::read(out.join(r["path"].as_str().unwrap())).unwrap();
        assert_eq!(r["bytes"], data.len() as u64);
        assert_eq!(r["hash"], format!("sha256:{}", sha256_hex(&data)));
    }
    // Every column of every CSV file is in its schema, in order.
    for r in resources {
        let path = out.join(r["path"].as_str().unwrap());
        let header = std::fs::read_to_string(&path).unwrap();
        let header = header.lines().next().unwrap().to_string();
        let names: Vec<String> = r["schema"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect();
        let printed: Vec<String> = csv::Reader::from_reader(header.as_bytes())
            .headers()
            .unwrap()
            .iter()
            .map(str::to_string)
            .collect();
        assert_eq!(names, printed, "{}", path.display());
    }
}

#[tokio::test]
async fn an_archive_of_an_earlier_schema_is_upgraded_on_export() {
    let built = build_archive().await;
    {
        // As an earlier nianbao left it: no sources table, numeric format
        // codes, views without region.
        let conn = Connection::open(built.dir.join("nianbao.sqlite")).unwrap();
        conn.execute_batch(
            "DROP VIEW v_checks; DROP VIEW v_cells; DROP TABLE sources;
             UPDATE reports SET format = '2019' WHERE format = 'f2019';
             UPDATE reports SET format = 'pre-2019' WHERE format = 'pre2019';
             CREATE VIEW v_cells AS SELECT 1 AS old;",
        )
        .unwrap();
    }
    let out = built.dir.parent().unwrap().join("out-upgraded");
    let mut opts = options(&built, &out, OutputFormat::Csv);
    opts.regions = built.regions.clone();
    export::export(&opts).unwrap();
    let cells = read_csv(&out.join("cells.csv"));
    let formats: HashSet<&str> = cells.iter().map(|c| c["format"].as_str()).collect();
    assert_eq!(formats, HashSet::from(["f2019", "f2021", "pre2019"]));
    // Regions of an archive crawled before they were stored: from the config.
    assert!(cells.iter().all(|c| !c["region"].is_empty()));
    let conn = Connection::open(built.dir.join("nianbao.sqlite")).unwrap();
    let n: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM v_cells WHERE region IS NULL AND source IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        n,
        cells.len() as i64,
        "v_cells has region again; sources unknown"
    );
    let sources: i64 = conn
        .query_row("SELECT COUNT(*) FROM sources", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sources, 0);
}

/// The entries of a zip file: name → (bytes, stored uncompressed).
fn zip_entries(path: &Path) -> HashMap<String, (Vec<u8>, bool)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = HashMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut data).unwrap();
        let stored = f.compression() == zip::CompressionMethod::Stored;
        out.insert(f.name().unwrap().to_string(), (data, stored));
    }
    out
}

#[tokio::test]
async fn wacz_packages_the_warc_records_index_and_report_pages() {
    let built = build_archive().await;
    let out = built.dir.parent().unwrap().join("out-wacz");
    let manifest = export::export(&options(&built, &out, OutputFormat::Wacz)).unwrap();
    assert_eq!(manifest.rows("wacz"), 4);
    let entries = zip_entries(&out.join("nianbao.wacz"));
    let warcs: Vec<&String> = entries
        .keys()
        .filter(|k| k.starts_with("archive/") && k.ends_with(".warc.gz"))
        .collect();
    assert_eq!(warcs.len(), 1, "{:?}", entries.keys());
    let (warc, stored) = &entries[warcs[0]];
    assert!(*stored, "WARC files are stored, not deflated");
    let original =
        std::fs::read(built.dir.join("warc").join(&warcs[0]["archive/".len()..])).unwrap();
    assert_eq!(warc, &original, "the WARC file as written");
    let index = String::from_utf8(entries["indexes/index.cdxj"].0.clone()).unwrap();
    assert!(index.lines().count() >= 5, "{index}");
    assert!(index.contains("warc/revisit"), "{index}");
    let pages = String::from_utf8(entries["pages/pages.jsonl"].0.clone()).unwrap();
    let pages: Vec<serde_json::Value> = pages
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(pages[0]["format"], "json-pages-1.0");
    // Three captures hold the four reports (one page holds two).
    assert_eq!(pages.len(), 1 + 3);
    assert!(pages[1..]
        .iter()
        .any(|p| p["title"] == "上海市虹口区2020年政府信息公开工作年度报告"));
    let package: serde_json::Value =
        serde_json::from_slice(&entries["datapackage.json"].0).unwrap();
    assert_eq!(package["wacz_version"], "1.1.1");
    let resources = package["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 3);
    for r in resources {
        let (data, _) = &entries[r["path"].as_str().unwrap()];
        assert_eq!(r["hash"], format!("sha256:{}", sha256_hex(data)));
        assert_eq!(r["bytes"], data.len() as u64);
    }
    let digest: serde_json::Value =
        serde_json::from_slice(&entries["datapackage-digest.json"].0).unwrap();
    assert_eq!(
        digest["hash"],
        format!("sha256:{}", sha256_hex(&entries["datapackage.json"].0))
    );

    // Filtered: one WARC file of the selected page's records only.
    let out = built.dir.parent().unwrap().join("out-wacz-hk");
    let mut opts = options(&built, &out, OutputFormat::Wacz);
    opts.filter.agency = Some("虹口".into());
    export::export(&opts).unwrap();
    let entries = zip_entries(&out.join("nianbao.wacz"));
    assert!(
        entries.contains_key("archive/data.warc.gz"),
        "{:?}",
        entries.keys()
    );
    assert!(
        !out.join("data.warc.gz").exists(),
        "the working copy is removed"
    );
    let index = String::from_utf8(entries["indexes/index.cdxj"].0.clone()).unwrap();
    let lines: Vec<&str> = index.lines().collect();
    assert_eq!(lines.len(), 2, "the 虹口 page, captured twice: {index}");
    assert!(lines
        .iter()
        .all(|l| l.contains("/xxgk/%E5%B9%B4%E6%8A%A5/2020.html")));
    assert!(lines
        .iter()
        .all(|l| l.contains("\"filename\": \"data.warc.gz\"")));
}

/// Put an archive's figures and checks back as an earlier nianbao stored
/// them: `cells` and `checks` as tables of text codes, in extraction order.
fn to_table_layout(conn: &Connection) {
    // Its views read the tables.
    let v_reports = nianbao::archive::schema_statement("CREATE VIEW v_reports AS")
        .unwrap()
        .replace("FROM cell_values", "FROM cells")
        .replace("FROM check_values", "FROM checks");
    conn.execute_batch(
        "DROP VIEW v_checks; DROP VIEW v_cells; DROP VIEW v_reports;
         CREATE TABLE old_cells AS
           SELECT report_id, table_code, row_code, col_code, raw, value, unit, standard, label,
                  note, ocr, ocr_conf FROM cells ORDER BY report_id, ord;
         CREATE TABLE old_checks AS
           SELECT report_id, identity, col, holds, left_value, right_value
           FROM checks ORDER BY report_id, ord;
         DROP VIEW cells; DROP VIEW checks;
         DROP TABLE cell_values; DROP TABLE check_values;
         DROP TABLE cell_codes; DROP TABLE labels; DROP TABLE check_codes;
         ALTER TABLE old_cells RENAME TO cells; ALTER TABLE old_checks RENAME TO checks;
         CREATE INDEX cells_report ON cells(report_id, table_code, row_code, col_code);
         CREATE INDEX checks_report ON checks(report_id);",
    )
    .unwrap();
    conn.execute_batch(&v_reports).unwrap();
    for view in ["v_cells", "v_checks"] {
        let create = format!("CREATE VIEW {view} AS");
        conn.execute_batch(nianbao::archive::schema_statement(&create).unwrap())
            .unwrap();
    }
}

#[tokio::test]
async fn figures_stored_as_tables_by_an_earlier_nianbao_are_moved_and_read_alike() {
    let built = build_archive().await;
    let before = built.dir.parent().unwrap().join("out-compact");
    export::export(&options(&built, &before, OutputFormat::Csv)).unwrap();
    let db = built.dir.join("nianbao.sqlite");
    to_table_layout(&Connection::open(&db).unwrap());

    let after = built.dir.parent().unwrap().join("out-moved");
    export::export(&options(&built, &after, OutputFormat::Csv)).unwrap();
    let kind = |name: &str| -> String {
        Connection::open(&db)
            .unwrap()
            .query_row(
                "SELECT type FROM sqlite_master WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert_eq!(kind("cells"), "view", "the figures were moved");
    assert_eq!(kind("checks"), "view");
    assert_eq!(kind("cell_values"), "table");
    for file in ["cells.csv", "checks.csv", "reports.csv"] {
        let old = read_csv(&before.join(file));
        assert!(!old.is_empty(), "{file}");
        assert_eq!(old, read_csv(&after.join(file)), "{file} after the move");
    }
}
