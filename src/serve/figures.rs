//! Key figures of an agency across years, compared across the 2019 break:
//! a figure is read from the national table where there is one and from the
//! prose of a pre-2019 report otherwise. A year without a report, or whose
//! report does not state the figure, has no value: never 0.

use std::collections::HashMap;
use std::fmt::Write;

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};
use serde::Serialize;

use super::html::{esc, number};
use super::ServeError;

/// A figure researchers follow, and the codes that state it: the first
/// alternative whose every code has a value is summed.
pub struct KeyFigure {
    pub key: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    alternatives: &'static [&'static [&'static str]],
}

pub const KEY_FIGURES: &[KeyFigure] = &[
    KeyFigure {
        key: "requests",
        zh: "收到申请",
        en: "requests received",
        alternatives: &[
            &["requests.new.total"],
            &["headline.requests_received.value"],
        ],
    },
    KeyFigure {
        key: "granted",
        zh: "予以公开",
        en: "granted",
        alternatives: &[
            &["requests.granted.total"],
            &["headline.answer_granted.value"],
        ],
    },
    KeyFigure {
        key: "reviews",
        zh: "行政复议",
        en: "administrative reviews",
        alternatives: &[&["appeals.all.review.total"], &["headline.reviews.value"]],
    },
    KeyFigure {
        key: "suits",
        zh: "行政诉讼",
        en: "lawsuits",
        alternatives: &[
            &[
                "appeals.all.suit_direct.total",
                "appeals.all.suit_after_review.total",
            ],
            &["headline.suits.value"],
        ],
    },
    KeyFigure {
        key: "fees",
        zh: "行政事业性收费金额",
        en: "administrative fees",
        alternatives: &[&["proactive.fees.amount"]],
    },
];

/// One year of a series.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub year: i64,
    /// The report the value was read from; null for a year without one.
    pub report_id: Option<i64>,
    pub value: Option<f64>,
    pub unit: Option<String>,
}

/// The latest report of each year of an agency: (year, report id).
pub fn yearly_reports(conn: &Connection, agency: &str) -> Result<Vec<(i64, i64)>, ServeError> {
    let mut stmt = conn.prepare(
        "SELECT year, MAX(report_id) FROM v_reports
         WHERE latest AND agency = ?1 AND year IS NOT NULL GROUP BY year ORDER BY year",
    )?;
    let rows = stmt
        .query_map([agency], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A figure and its unit, if stated.
pub type Figure = (Option<f64>, Option<String>);

type Values = HashMap<(i64, String), Figure>;

/// The figures of `codes` in the given reports.
pub fn values(conn: &Connection, reports: &[i64], codes: &[&str]) -> Result<Values, ServeError> {
    let mut out = Values::new();
    if reports.is_empty() || codes.is_empty() {
        return Ok(out);
    }
    let marks = vec!["?"; reports.len()].join(",");
    let code_marks = vec!["?"; codes.len()].join(",");
    let sql = format!(
        "SELECT report_id, table_code || '.' || row_code || '.' || col_code AS code, value, unit
         FROM cells WHERE report_id IN ({marks}) AND code IN ({code_marks})"
    );
    let params: Vec<Value> = reports
        .iter()
        .map(|id| Value::Integer(*id))
        .chain(codes.iter().map(|c| Value::Text(c.to_string())))
        .collect();
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(params.iter()))?;
    while let Some(r) = rows.next()? {
        out.insert((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?));
    }
    Ok(out)
}

fn all_codes() -> Vec<&'static str> {
    KEY_FIGURES
        .iter()
        .flat_map(|f| f.alternatives.iter().flat_map(|a| a.iter().copied()))
        .collect()
}

/// A key figure of one report, if it states it.
fn figure_of(values: &Values, report: i64, f: &KeyFigure) -> (Option<f64>, Option<String>) {
    for alt in f.alternatives {
        let parts: Option<Vec<(f64, Option<String>)>> = alt
            .iter()
            .map(|code| {
                let (v, unit) = values.get(&(report, code.to_string()))?;
                Some(((*v)?, unit.clone()))
            })
            .collect();
        if let Some(parts) = parts {
            let unit = parts.first().and_then(|(_, u)| u.clone());
            return (Some(parts.iter().map(|(v, _)| v).sum()), unit);
        }
    }
    (None, None)
}

/// Every year from the first report to the last, with gaps as null points.
fn span(years: &[(i64, i64)]) -> Vec<(i64, Option<i64>)> {
    let (Some(first), Some(last)) = (years.first(), years.last()) else {
        return Vec::new();
    };
    (first.0..=last.0)
        .map(|y| (y, years.iter().find(|(yy, _)| *yy == y).map(|(_, id)| *id)))
        .collect()
}

/// Each key figure of an agency, one point per year.
pub fn key_series(
    conn: &Connection,
    agency: &str,
) -> Result<Vec<(&'static KeyFigure, Vec<Point>)>, ServeError> {
    let years = yearly_reports(conn, agency)?;
    let ids: Vec<i64> = years.iter().map(|(_, id)| *id).collect();
    let vals = values(conn, &ids, &all_codes())?;
    let spanned = span(&years);
    Ok(KEY_FIGURES
        .iter()
        .map(|f| {
            let points = spanned
                .iter()
                .map(|(year, report)| {
                    let (value, unit) = report.map_or((None, None), |id| figure_of(&vals, id, f));
                    Point {
                        year: *year,
                        report_id: *report,
                        value,
                        unit,
                    }
                })
                .collect();
            (f, points)
        })
        .collect())
}

/// One code of an agency, one point per year.
pub fn code_series(conn: &Connection, agency: &str, code: &str) -> Result<Vec<Point>, ServeError> {
    let years = yearly_reports(conn, agency)?;
    let ids: Vec<i64> = years.iter().map(|(_, id)| *id).collect();
    let vals = values(conn, &ids, &[code])?;
    Ok(span(&years)
        .into_iter()
        .map(|(year, report)| {
            let (value, unit) = report
                .and_then(|id| vals.get(&(id, code.to_string())).cloned())
                .unwrap_or((None, None));
            Point {
                year,
                report_id: report,
                value,
                unit,
            }
        })
        .collect())
}

/// The key figures of one set of reports (a region's agencies in one year).
pub fn key_figures_of(
    conn: &Connection,
    reports: &[i64],
) -> Result<HashMap<i64, Vec<Figure>>, ServeError> {
    let vals = values(conn, reports, &all_codes())?;
    Ok(reports
        .iter()
        .map(|id| {
            (
                *id,
                KEY_FIGURES
                    .iter()
                    .map(|f| figure_of(&vals, *id, f))
                    .collect(),
            )
        })
        .collect())
}

const W: f64 = 520.0;
const H: f64 = 170.0;
const PAD_L: f64 = 56.0;
const PAD_R: f64 = 16.0;
const PAD_T: f64 = 14.0;
const PAD_B: f64 = 28.0;

/// A line chart as inline SVG: a circle per year with a value, the line
/// broken where a year has none, every year on the axis.
pub fn chart(id: &str, title: &str, points: &[Point]) -> String {
    let max = points
        .iter()
        .filter_map(|p| p.value)
        .fold(0.0_f64, f64::max);
    let min = points
        .iter()
        .filter_map(|p| p.value)
        .fold(0.0_f64, f64::min);
    let range = if max - min > 0.0 { max - min } else { 1.0 };
    let n = points.len().max(1) as f64;
    let step = (W - PAD_L - PAD_R) / (n - 1.0).max(1.0);
    let x = |i: usize| {
        if points.len() == 1 {
            (W + PAD_L - PAD_R) / 2.0
        } else {
            PAD_L + step * i as f64
        }
    };
    let y = |v: f64| PAD_T + (H - PAD_T - PAD_B) * (1.0 - (v - min) / range);
    let mut out = format!(
        "<svg class=\"chart\" id=\"{}\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\" \
         aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{}</title>",
        esc(id),
        esc(title),
        esc(title)
    );
    let _ = write!(
        out,
        "<line x1=\"{PAD_L}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#999\"/>\
         <text x=\"{t}\" y=\"{yt}\" font-size=\"11\" text-anchor=\"end\">{}</text>\
         <text x=\"{t}\" y=\"{b}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
        number(max),
        number(min),
        b = H - PAD_B,
        r = W - PAD_R,
        t = PAD_L - 6.0,
        yt = PAD_T + 4.0,
    );
    // Line segments between consecutive years that both have a value.
    let mut segment: Vec<String> = Vec::new();
    let flush = |segment: &mut Vec<String>, out: &mut String| {
        if segment.len() > 1 {
            let _ = write!(
                out,
                "<polyline fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"2\" points=\"{}\"/>",
                segment.join(" ")
            );
        }
        segment.clear();
    };
    for (i, p) in points.iter().enumerate() {
        match p.value {
            Some(v) => segment.push(format!("{:.1},{:.1}", x(i), y(v))),
            None => flush(&mut segment, &mut out),
        }
    }
    flush(&mut segment, &mut out);
    for (i, p) in points.iter().enumerate() {
        let label_y = H - PAD_B + 16.0;
        match p.value {
            Some(v) => {
                let _ = write!(
                    out,
                    "<circle class=\"point\" data-year=\"{}\" data-value=\"{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"#1f5fa8\">\
                     <title>{}: {}</title></circle>",
                    p.year,
                    number(v),
                    x(i),
                    y(v),
                    p.year,
                    number(v)
                );
                let _ = write!(
                    out,
                    "<text x=\"{:.1}\" y=\"{label_y}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
                    x(i),
                    p.year
                );
            }
            None => {
                let _ = write!(
                    out,
                    "<text class=\"gap\" data-year=\"{}\" x=\"{:.1}\" y=\"{label_y}\" font-size=\"11\" \
                     text-anchor=\"middle\" fill=\"#b71c1c\">{}缺</text>",
                    p.year,
                    x(i),
                    p.year
                );
            }
        }
    }
    out.push_str("</svg>");
    out
}
