//! The JSON API: the data of each page (SCHEMA.md, "`nianbao serve`").

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::catalog::{self, ReportPage, ReportQuery};
use super::figures::{self, Point};
use super::ledger::{self, Changes};
use super::listing::Params;
use super::overview::{self, Overview};
use super::region::{self, RegionParams, RegionView};
use super::report::{self, ReportView};
use super::{read, ServeError, Shared};

pub async fn overview(State(site): State<Shared>) -> Result<Json<Overview>, ServeError> {
    Ok(Json(
        read(&site, |site, reader| overview::cached(site, reader.conn())).await?,
    ))
}

pub async fn reports(
    State(site): State<Shared>,
    Query(params): Query<Params>,
) -> Result<Json<ReportPage>, ServeError> {
    let q = ReportQuery::from_params(params)?;
    Ok(Json(
        read(&site, move |site, reader| {
            catalog::reports(site, reader.conn(), &q)
        })
        .await?,
    ))
}

pub async fn report(
    State(site): State<Shared>,
    Path(id): Path<i64>,
) -> Result<Json<ReportView>, ServeError> {
    Ok(Json(report::load(&site, id).await?))
}

#[derive(Debug, Deserialize)]
pub struct SeriesParams {
    code: Option<String>,
}

/// One series: a code's value per year, or every key figure's.
#[derive(Debug, Serialize)]
pub struct Series {
    pub agency: String,
    pub code: Option<String>,
    pub points: Vec<Point>,
    /// Without `code`: every key figure by name.
    pub figures: Vec<(String, Vec<Point>)>,
}

pub async fn series(
    State(site): State<Shared>,
    Path(agency): Path<String>,
    Query(params): Query<SeriesParams>,
) -> Result<Json<Series>, ServeError> {
    let code = params.code.filter(|c| !c.trim().is_empty());
    if let Some(c) = &code {
        let parts = c.split('.').count();
        if parts < 3 || c.len() > 120 {
            return Err(ServeError::BadRequest(format!(
                "code={c:?} is not a code table.row.col (e.g. requests.new.total)"
            )));
        }
    }
    let series = read(&site, move |_, reader| {
        let conn = reader.conn();
        if figures::yearly_reports(conn, &agency)?.is_empty() {
            return Err(ServeError::NotFound(format!("agency {agency:?}")));
        }
        let (points, figures) = match &code {
            Some(c) => (figures::code_series(conn, &agency, c)?, Vec::new()),
            None => (
                Vec::new(),
                figures::key_series(conn, &agency)?
                    .into_iter()
                    .map(|(f, p)| (f.key.to_string(), p))
                    .collect(),
            ),
        };
        Ok(Series {
            agency,
            code,
            points,
            figures,
        })
    })
    .await?;
    Ok(Json(series))
}

pub async fn region(
    State(site): State<Shared>,
    Path(prefix): Path<String>,
    Query(params): Query<RegionParams>,
) -> Result<Json<RegionView>, ServeError> {
    Ok(Json(region::load(&site, prefix, params).await?))
}

pub async fn changes(State(site): State<Shared>) -> Result<Json<Changes>, ServeError> {
    Ok(Json(
        read(&site, |_, reader| ledger::all(reader.conn())).await?,
    ))
}
