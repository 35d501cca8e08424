//! The page that linked an attachment. A PDF or scan often prints neither
//! its agency nor its year (the agency line is in the page around it, not in
//! the file), but the link text it was found under and the report of the
//! page that linked it do. The frontier keeps both (`anchor`, `found_from`);
//! an attachment's report takes its missing identity from them, in that
//! order, and is tied to the report of that page: the HTML report whose
//! attachment it is (`reports.parent_capture`).

use crate::archive::Cached;
use rusqlite::{params, Connection, OptionalExtension};

use crate::extract::{self, Report};

/// What the archive knows of the page an attachment was linked from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parent {
    /// The link text (or title) the attachment was found under.
    pub anchor: Option<String>,
    /// The latest capture of the linking page, when that is a report page.
    pub capture: Option<i64>,
    /// That page's report title, agency and year: from its first report,
    /// else from the link text the page itself was found under.
    pub title: Option<String>,
    pub agency: Option<String>,
    pub year: Option<i32>,
}

/// The linking page of the URL captured as `capture_id`, from the frontier;
/// `None` when the frontier does not know where the URL was found.
pub fn of_capture(conn: &Connection, capture_id: i64) -> rusqlite::Result<Option<Parent>> {
    let found: Option<(Option<String>, Option<String>)> = conn
        .one(
            "SELECT f.anchor, f.found_from FROM captures k JOIN frontier f ON f.url = k.url
             WHERE k.id = ?1",
            [capture_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((anchor, found_from)) = found else {
        return Ok(None);
    };
    let mut parent = Parent {
        anchor: anchor.filter(|a| !a.trim().is_empty()),
        ..Parent::default()
    };
    let Some(from) = found_from else {
        return Ok(Some(parent));
    };
    // How the crawl knew the page: its kind and the link text it was found
    // under (a listing's link names the report).
    let known: Option<(String, Option<String>)> = conn
        .one(
            "SELECT kind, anchor FROM frontier WHERE url = ?1",
            [&from],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let capture: Option<i64> = conn
        .one(
            "SELECT id FROM captures WHERE url = ?1 AND record_type = 'response' AND id <> ?2
             ORDER BY fetched_at DESC, id DESC LIMIT 1",
            params![from, capture_id],
            |r| r.get(0),
        )
        .optional()?;
    let report: Option<(String, Option<String>, Option<i32>)> = match capture {
        Some(c) => conn
            .one(
                "SELECT title, agency, year FROM reports WHERE capture_id = ?1 AND ordinal = 0",
                [c],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?,
        None => None,
    };
    let is_report_page = known.as_ref().is_some_and(|(k, _)| k == "report");
    if is_report_page || report.is_some() {
        parent.capture = capture;
    }
    let page_anchor = known
        .and_then(|(_, a)| a)
        .filter(|a| extract::is_title_line(a));
    match report {
        Some((title, agency, year)) if !title.is_empty() => {
            parent.agency = agency.or_else(|| extract::agency_of(&title));
            parent.year = year.or_else(|| extract::year_of(&title));
            parent.title = Some(title);
        }
        _ => {
            parent.agency = page_anchor.as_deref().and_then(extract::agency_of);
            parent.year = page_anchor.as_deref().and_then(extract::year_of);
            parent.title = page_anchor;
        }
    }
    Ok(Some(parent))
}

/// Give a report the title, agency and year it lacks: from the link text
/// first, then from the linking page's report, each with a note saying so.
/// Returns whether anything was taken.
pub fn complete(report: &mut Report, parent: &Parent) -> bool {
    let anchor = parent.anchor.as_deref().unwrap_or("");
    let mut taken = false;
    if report.title.is_empty() && extract::is_title_line(anchor) {
        report.title = anchor.trim().to_string();
        report
            .notes
            .push("title from the attachment's link text".into());
        taken = true;
    }
    if report.agency.is_none() {
        let from_parent = parent.agency.clone();
        // Only a link text that is a report's title names its agency
        // (`附件1：2022年年报` names none).
        let from_anchor = extract::is_title_line(anchor)
            .then(|| extract::agency_of(anchor))
            .flatten();
        if let Some(a) = from_anchor {
            report.agency = Some(a);
            report
                .notes
                .push("agency from the attachment's link text".into());
            taken = true;
        } else if let Some(a) = from_parent {
            report.agency = Some(a);
            report
                .notes
                .push("agency from the page that linked it".into());
            taken = true;
        }
    }
    if report.year.is_none() {
        if let Some(y) = extract::year_of(anchor) {
            report.year = Some(y);
            report
                .notes
                .push("year from the attachment's link text".into());
            taken = true;
        } else if let Some(y) = parent.year {
            report.year = Some(y);
            report
                .notes
                .push("year from the page that linked it".into());
            taken = true;
        }
    }
    taken
}

/// Complete the reports of an attachment captured as `capture_id` from the
/// page that linked it, write them, and tie them to that page's report.
/// Reports of a page that is itself HTML are written as they are.
pub fn record(
    db: &mut crate::archive::Archive,
    capture_id: i64,
    reports: &[Report],
) -> Result<(), crate::archive::ArchiveError> {
    let parent = of_capture(db.conn(), capture_id).map_err(|e| db.err(e))?;
    let Some(parent) = parent else {
        db.replace_reports(capture_id, reports)?;
        return Ok(());
    };
    let mut completed = reports.to_vec();
    for r in &mut completed {
        complete(r, &parent);
    }
    db.replace_reports(capture_id, &completed)?;
    if let Some(p) = parent.capture {
        db.conn()
            .run(
                "UPDATE reports SET parent_capture = ?1 WHERE capture_id = ?2",
                params![p, capture_id],
            )
            .map_err(|e| db.err(e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(title: &str) -> Report {
        Report {
            title: title.into(),
            year: extract::year_of(title),
            format: extract::Format::V2021,
            agency: extract::agency_of(title),
            cells: Vec::new(),
            checks: Vec::new(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn link_text_first_then_the_linking_page() {
        let parent = Parent {
            anchor: Some("洪泽区人民政府2023年政府信息公开工作年度报告.pdf".into()),
            capture: Some(1),
            title: Some("淮安市2022年政府信息公开工作年度报告".into()),
            agency: Some("淮安市".into()),
            year: Some(2022),
        };
        let mut r = report("");
        assert!(complete(&mut r, &parent));
        assert_eq!(r.agency.as_deref(), Some("洪泽区人民政府"));
        assert_eq!(r.year, Some(2023));
        assert!(r.notes.iter().any(|n| n.contains("link text")));
        // A link text that is no title: its year, the linking page's agency.
        let bare = Parent {
            anchor: Some("附件1：2023年年报（PDF）".into()),
            ..parent.clone()
        };
        let mut r = report("");
        complete(&mut r, &bare);
        assert_eq!(r.agency.as_deref(), Some("淮安市"));
        assert_eq!(r.year, Some(2023));
        // A link text that names nothing: the linking page's report.
        let bare = Parent {
            anchor: Some("附件下载".into()),
            ..parent.clone()
        };
        let mut r = report("");
        complete(&mut r, &bare);
        assert_eq!(r.agency.as_deref(), Some("淮安市"));
        assert_eq!(r.year, Some(2022));
        // What the file prints itself is kept.
        let mut r = report("平潭综合实验区2022年政府信息公开工作年度报告");
        assert!(!complete(&mut r, &parent));
        assert_eq!(r.agency.as_deref(), Some("平潭综合实验区"));
        assert_eq!(r.year, Some(2022));
    }
}
