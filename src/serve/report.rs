//! The report page: the three tables as the national form prints them, the
//! broken identities with both sides, beside the archived page replayed from
//! its WARC record; the capture history, the attachments, the cells as CSV.

use std::fmt::Write;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::catalog::{self, Attachment, CaptureRow, Cell, Check, ReportRow};
use super::form::{self, Figures};
use super::html::{self, agency_link, esc, number};
use super::ledger::{self, UrlLedger};
use super::{read, ServeError, Shared};

/// Everything the report page shows, as the API returns it.
#[derive(Debug, Serialize)]
pub struct ReportView {
    pub report: ReportRow,
    pub cells: Vec<Cell>,
    pub checks: Vec<Check>,
    pub captures: Vec<CaptureRow>,
    pub attachments: Vec<Attachment>,
    pub ledger: UrlLedger,
}

pub async fn load(site: &Shared, id: i64) -> Result<ReportView, ServeError> {
    read(site, move |site, reader| {
        let conn = reader.conn();
        let report = catalog::report(site, conn, id)?;
        let ledger = ledger::for_url(conn, &report.url)?;
        Ok(ReportView {
            cells: catalog::cells(conn, id)?,
            checks: catalog::checks(conn, id)?,
            captures: catalog::history(conn, &report.url)?,
            attachments: catalog::attachments(conn, &report.url)?,
            ledger,
            report,
        })
    })
    .await
}

pub async fn page(State(site): State<Shared>, Path(id): Path<i64>) -> Result<Response, ServeError> {
    let view = load(&site, id).await?;
    Ok(html::page(&view.report.title, &render(&view)))
}

fn render(v: &ReportView) -> String {
    let r = &v.report;
    let mut out = String::new();
    let _ = write!(
        out,
        "<h1 id=\"title\">{}</h1><p>{} · {} 年 · 格式 {} · {} · {} 项数字 · 抓取于 {} · \
         原网址 <code class=\"small\">{}</code> · \
         <a href=\"/reports/{}/cells.csv\">cells.csv</a> · <a href=\"/api/reports/{}\">JSON</a></p>",
        esc(&r.title),
        r.agency.as_deref().map_or_else(|| "（机关不明）".into(), agency_link),
        r.year.map_or_else(|| "?".into(), |y| y.to_string()),
        esc(&r.format),
        esc(&r.kind),
        r.cells,
        esc(&r.fetched_at),
        esc(&r.url),
        r.id,
        r.id,
    );
    if !r.latest {
        out.push_str("<p class=\"bad\">这不是该网址最新一次抓取的内容。A later capture of this URL supersedes this report.</p>");
    }
    out.push_str("<div class=\"split\"><section id=\"figures\">");
    out.push_str(&checks_summary(v));
    let figures = Figures::new(&r.format, &v.cells, &v.checks);
    out.push_str(&form::render(&figures, &v.cells));
    out.push_str(&history(v));
    out.push_str(&attachments(&v.attachments));
    let _ = write!(
        out,
        "</section><section id=\"snapshot\"><h3>存档页面 Archived page</h3>\
         <p class=\"small muted\">WARC {} @ {} · {} · <a href=\"/replay/{}\" target=\"_blank\">单独打开</a></p>\
         <iframe class=\"replay\" sandbox src=\"/replay/{}\" title=\"archived page\"></iframe></section></div>",
        esc(&r.warc_file),
        r.warc_offset,
        esc(&r.payload_digest),
        r.capture_id,
        r.capture_id
    );
    out
}

/// The identity results: every broken one with both sides.
fn checks_summary(v: &ReportView) -> String {
    let held = v.checks.iter().filter(|c| c.holds == Some(true)).count();
    let broken: Vec<&Check> = v.checks.iter().filter(|c| c.holds == Some(false)).collect();
    let open = v.checks.iter().filter(|c| c.holds.is_none()).count();
    let mut out = format!(
        "<p id=\"identities\">恒等式 Identities: <span class=\"good\">{held} 成立</span> · \
         <span class=\"{}\">{} 不成立</span> · {open} 无法核对</p>",
        if broken.is_empty() { "muted" } else { "bad" },
        broken.len()
    );
    if broken.is_empty() {
        return out;
    }
    out.push_str(
        "<table id=\"broken\"><tr><th>恒等式</th><th>列/行</th><th>左边</th><th>右边</th><th>差</th></tr>",
    );
    for c in broken {
        let side = |x: Option<f64>| x.map_or_else(String::new, number);
        let diff = match (c.left, c.right) {
            (Some(l), Some(r)) => number(l - r),
            _ => String::new(),
        };
        let _ = write!(
            out,
            "<tr class=\"broken\" data-identity=\"{}\" data-col=\"{}\"><td>{}<br><span class=\"small muted\">{}</span></td>\
             <td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&c.identity),
            esc(&c.col),
            esc(form::identity_zh(&c.identity)),
            esc(&c.identity),
            esc(&form::check_target_zh(&c.identity, &c.col)),
            side(c.left),
            side(c.right),
            diff
        );
    }
    out.push_str("</table>");
    out
}

fn history(v: &ReportView) -> String {
    let l = &v.ledger;
    let mut out = format!(
        "<h3>抓取历史 Capture history</h3><p class=\"small\">首次见到 {} · 最后一次正常返回 {} · 状态 <b>{}</b>{}{}</p>\
         {}<table id=\"history\"><tr><th>时间</th><th>HTTP</th><th>记录</th><th>摘要</th><th>报告</th><th></th></tr>",
        esc(l.first_seen.as_deref().unwrap_or("—")),
        esc(l.last_served.as_deref().unwrap_or("—")),
        esc(&l.state),
        l.reason
            .as_deref()
            .map_or_else(String::new, |r| format!(" ({})", esc(r))),
        l.gone_since
            .as_deref()
            .map_or_else(String::new, |g| format!(" · 自 {} 起不可用", esc(g))),
        runs(l)
    );
    for k in &v.captures {
        let here = if k.id == v.report.capture_id {
            " ← 本页"
        } else {
            ""
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"small\">{}</td><td>{}</td>\
             <td><a href=\"/replay/{}\">存档</a>{here}</td></tr>",
            esc(&k.fetched_at),
            k.status,
            esc(&k.record_type),
            esc(&k.payload_digest),
            k.reports,
            k.id
        );
    }
    out.push_str("</table>");
    if !l.edits.is_empty() {
        out.push_str("<h3 class=\"bad\">数字被改动 Figures edited later</h3><table id=\"edits\"><tr><th>时间</th><th>数字</th><th>之前</th><th>之后</th></tr>");
        for e in &l.edits {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&e.at),
                esc(&e.code),
                esc(e.before.as_deref().unwrap_or("")),
                esc(e.after.as_deref().unwrap_or(""))
            );
        }
        out.push_str("</table>");
    }
    out
}

/// The ledger's row of every run that visited the URL.
fn runs(l: &UrlLedger) -> String {
    if l.runs.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<table id=\"ledger\"><tr><th>抓取轮次</th><th>时间</th><th>状态</th><th>原因</th><th>HTTP</th><th>改动</th></tr>",
    );
    for r in &l.runs {
        let class = if crate::ledger::SERVED.contains(&r.state.as_str()) {
            ""
        } else {
            " class=\"bad\""
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td{class}>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            r.run_id,
            esc(&r.checked_at),
            esc(&r.state),
            esc(r.reason.as_deref().unwrap_or("")),
            r.status.map_or_else(String::new, |s| s.to_string()),
            r.cells_changed
        );
    }
    out.push_str("</table>");
    out
}

fn attachments(list: &[Attachment]) -> String {
    if list.is_empty() {
        return String::new();
    }
    let mut out = String::from("<h3>附件 Attachments</h3><ul id=\"attachments\">");
    for a in list {
        let name = a.anchor.as_deref().unwrap_or(&a.url);
        match a.capture_id {
            Some(id) => {
                let _ = write!(
                    out,
                    "<li><a href=\"/replay/{id}\">{}</a> <span class=\"small muted\">HTTP {} · {}</span></li>",
                    esc(name),
                    a.status.unwrap_or(0),
                    esc(a.content_type.as_deref().unwrap_or(""))
                );
            }
            None => {
                let _ = write!(
                    out,
                    "<li>{} <span class=\"small muted\">未存档 not archived: {}</span></li>",
                    esc(name),
                    esc(&a.url)
                );
            }
        }
    }
    out.push_str("</ul>");
    out
}

/// The report's cells as CSV, as in `cells.csv` of an export.
pub async fn cells_csv(
    State(site): State<Shared>,
    Path(id): Path<i64>,
) -> Result<Response, ServeError> {
    let view = load(&site, id).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "report_id",
        "table",
        "row",
        "col",
        "value",
        "raw",
        "unit",
        "standard",
        "label",
    ];
    let fail = |e: csv::Error| ServeError::Task(e.to_string());
    w.write_record(header).map_err(fail)?;
    for c in &view.cells {
        w.write_record([
            id.to_string(),
            c.table.clone(),
            c.row.clone(),
            c.col.clone(),
            c.value.map_or_else(String::new, |v| v.to_string()),
            c.raw.clone(),
            c.unit.clone().unwrap_or_default(),
            c.standard.to_string(),
            c.label.clone().unwrap_or_default(),
        ])
        .map_err(fail)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ServeError::Task(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"report-{id}-cells.csv\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
