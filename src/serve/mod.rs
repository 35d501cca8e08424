//! `nianbao serve`: a local web app over the archive. Every figure is shown
//! beside the archived page it was read from, replayed from its WARC record.
//!
//! Read-only: each request reads one consistent snapshot of the SQLite file
//! (`export::reader`), so a crawl may write meanwhile; WARC records are read
//! at the offsets the database names, inside `<archive>/warc/` only. Pages
//! are rendered on the server with every archive string escaped (`html`);
//! replayed pages get a `Content-Security-Policy` sandbox (`replay`).

mod agency;
mod api;
mod catalog;
mod facts;
mod figures;
mod form;
mod html;
mod ledger;
mod listing;
mod overview;
mod region;
mod replay;
mod report;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::export::reader::Reader;
use crate::export::ExportError;

/// The address `serve` listens on unless told otherwise: this machine only.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Archive(#[from] ExportError),
    #[error("archive database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("WARC record: {0}")]
    Warc(#[from] crate::warc::WarcError),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("listening on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
    #[error("request task failed: {0}")]
    Task(String),
}

impl IntoResponse for ServeError {
    fn into_response(self) -> Response {
        let status = match &self {
            ServeError::NotFound(_) => StatusCode::NOT_FOUND,
            ServeError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ServeError::Archive(ExportError::NoArchive(_)) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "request failed");
        }
        let body = html::page(
            &status.to_string(),
            &format!(
                "<h1>{}</h1><p>{}</p>",
                html::esc(&status.to_string()),
                html::esc(&self.to_string())
            ),
        );
        let mut resp = (status, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(html::APP_CSP),
        );
        resp
    }
}

/// A configured source: its name and 行政区划代码.
#[derive(Debug, Clone)]
pub struct SourceInfo {
    pub name: String,
    pub region: Option<String>,
}

/// What every request needs: where the archive is and what the config says
/// about its sources.
#[derive(Debug)]
pub struct Site {
    dir: PathBuf,
    sources: Vec<SourceInfo>,
    /// Source name → region code.
    regions: BTreeMap<String, String>,
    /// The overview, with the archive state it was computed for: computed
    /// again only when the archive changed.
    overview: std::sync::Mutex<Option<(overview::Stamp, overview::Overview)>>,
    /// The reports list's facts, likewise.
    facts: std::sync::Mutex<Option<(overview::Stamp, Arc<facts::Facts>)>>,
}

impl Site {
    pub fn new(dir: &Path, sources: Vec<SourceInfo>) -> Self {
        let regions = sources
            .iter()
            .filter_map(|s| Some((s.name.clone(), s.region.clone()?)))
            .collect();
        Self {
            dir: dir.to_path_buf(),
            sources,
            regions,
            overview: std::sync::Mutex::new(None),
            facts: std::sync::Mutex::new(None),
        }
    }

    fn region_of(&self, source: Option<&str>) -> Option<String> {
        self.regions.get(source?).cloned()
    }

    /// Names of the sources whose region code starts with `prefix`.
    fn sources_in(&self, prefix: &str) -> Vec<String> {
        self.sources
            .iter()
            .filter(|s| s.region.as_deref().is_some_and(|r| r.starts_with(prefix)))
            .map(|s| s.name.clone())
            .collect()
    }
}

type Shared = Arc<Site>;

/// Run `work` on a read-only snapshot of the archive, off the async threads.
async fn read<T: Send + 'static>(
    site: &Shared,
    work: impl FnOnce(&Site, &Reader) -> Result<T, ServeError> + Send + 'static,
) -> Result<T, ServeError> {
    let site = site.clone();
    tokio::task::spawn_blocking(move || {
        let reader = Reader::open(&site.dir)?;
        catalog::fast_views(reader.conn())?;
        work(&site, &reader)
    })
    .await
    .map_err(|e| ServeError::Task(e.to_string()))?
}

/// Every page and API route.
pub fn router(site: Site) -> Router {
    Router::new()
        .route("/", get(overview::page))
        .route("/reports", get(listing::page))
        .route("/reports/{id}", get(report::page))
        .route("/reports/{id}/cells.csv", get(report::cells_csv))
        .route("/agencies/{name}", get(agency::page))
        .route("/regions", get(region::index))
        .route("/regions/{prefix}", get(region::page))
        .route("/changes", get(ledger::page))
        .route("/replay/at", get(replay::at))
        .route("/replay/{capture}", get(replay::capture))
        .route("/api/overview", get(api::overview))
        .route("/api/reports", get(api::reports))
        .route("/api/reports/{id}", get(api::report))
        .route("/api/agencies/{name}/series", get(api::series))
        .route("/api/regions/{prefix}", get(api::region))
        .route("/api/changes", get(api::changes))
        .fallback(not_found)
        .with_state(Arc::new(site))
}

async fn not_found(uri: axum::http::Uri) -> ServeError {
    ServeError::NotFound(uri.path().to_string())
}

/// Listen on `bind` and serve until the process is stopped.
pub async fn serve(site: Site, bind: &str) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|source| ServeError::Bind {
            addr: bind.to_string(),
            source,
        })?;
    let addr: SocketAddr = listener.local_addr()?;
    tracing::info!(%addr, "serving");
    eprintln!(
        "nianbao serve: http://{addr}/  (archive {})",
        site.dir.display()
    );
    axum::serve(listener, router(site)).await?;
    Ok(())
}
