//! The order of the stages for one URL: fetch → snapshot → decode → extract →
//! index. Both `nianbao fetch` and the crawl run every page through here, so a
//! page archived either way is archived the same way.

use std::sync::Mutex;

use url::Url;

use crate::archive::{Archive, ArchiveError, NewCapture};
use crate::attachment::{self, Kind};
use crate::decode::{self, Decoded};
use crate::discover::outline::Outline;
use crate::extract::{self, Report};
use crate::fetch::{self, Conditional, FetchError, Fetched, Fetcher};
use crate::outcome::{self, Outcome};
use crate::scan;
use crate::warc::{self, Exchange, Revisit, WarcError, WarcWriter};

/// The most a parser is handed of one (possibly compressed) body.
pub const PARSE_LIMIT: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Warc(#[from] WarcError),
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("{url}: more than {limit} redirects")]
    TooManyRedirects { url: String, limit: usize },
    #[error("{url}: redirect to {target} leaves the allowed scope")]
    OutOfScope { url: String, target: String },
    #[error("{url}: redirect with an unusable Location: {location}")]
    BadRedirect { url: String, location: String },
    #[error("archive lock poisoned by an earlier failure")]
    Poisoned,
}

impl PipelineError {
    /// A short, stable name for summaries and the failures table.
    pub fn kind(&self) -> &'static str {
        match self {
            PipelineError::Fetch(e) => e.kind(),
            PipelineError::Warc(_) => "warc",
            PipelineError::Archive(_) => "archive",
            PipelineError::TooManyRedirects { .. } => "redirect_loop",
            PipelineError::OutOfScope { .. } => "redirect_out_of_scope",
            PipelineError::BadRedirect { .. } => "redirect_invalid",
            PipelineError::Poisoned => "internal",
        }
    }

    /// Errors of the archive itself (disk full, database gone) stop a run;
    /// everything else is a fact about one URL.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            PipelineError::Warc(_) | PipelineError::Archive(_) | PipelineError::Poisoned
        )
    }
}

/// The WARC writer and the database, shared by every task of a run.
pub struct Store {
    pub warc: Mutex<WarcWriter>,
    pub db: Mutex<Archive>,
}

impl Store {
    /// Open the archive in `dir` and a WARC writer in its `warc/` directory.
    pub fn open(
        dir: &std::path::Path,
        max_warc_bytes: u64,
        info: String,
    ) -> Result<Self, PipelineError> {
        let db = Archive::open(dir)?;
        let known = crate::integrity::known_ends(&db).unwrap_or_default();
        let warc = WarcWriter::open_known(&db.warc_dir(), max_warc_bytes, info, &known)?;
        if let Err(e) = crate::integrity::record_damage(&db, warc.damage()) {
            tracing::warn!(error = %e, "damaged WARC regions not recorded in the database");
        }
        Ok(Self {
            warc: Mutex::new(warc),
            db: Mutex::new(db),
        })
    }
}

/// The `warcinfo` body naming the software and its settings.
pub fn warcinfo(user_agent: &str, robots: &str) -> String {
    format!(
        "software: nianbao/{}\r\nformat: WARC File Format 1.1\r\nconformsTo: http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\nhttp-header-user-agent: {user_agent}\r\nrobots: {robots}\r\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// Options for archiving one URL.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub max_redirects: usize,
    /// Which configured source led here, stored with the capture.
    pub source: Option<String>,
    /// Ask with the validators of the last capture and write revisits for
    /// unchanged payloads.
    pub conditional: bool,
}

/// What became of one URL.
#[derive(Debug, Clone)]
pub struct Archived {
    /// The URL whose response ended the redirect chain.
    pub final_url: Url,
    pub status: u16,
    pub capture_id: i64,
    /// `response`, or `revisit` when the payload was already archived.
    pub record_type: &'static str,
    pub decoded: Option<DecodeSummary>,
    pub reports: Vec<Report>,
    /// The decoded text, for link discovery by the crawl.
    pub text: Option<String>,
    pub content_type: Option<String>,
    /// Every hop of the redirect chain, first to last.
    pub hops: Vec<Url>,
    pub truncated: Option<&'static str>,
    /// What the final answer is (a report, a block page, …).
    pub outcome: Outcome,
}

#[derive(Debug, Clone)]
pub struct DecodeSummary {
    pub encoding: &'static str,
    pub decision: decode::Decision,
    pub had_errors: bool,
    pub rejected: Vec<String>,
}

/// Fetch `url` (following redirects that `in_scope` accepts), snapshot every
/// hop, decode and extract the final page, index it all.
pub async fn archive_url(
    fetcher: &Fetcher,
    store: &Store,
    url: &Url,
    opts: &Options,
    in_scope: &(dyn Fn(&Url) -> bool + Sync),
) -> Result<Archived, PipelineError> {
    let mut current = url.clone();
    let mut hops = vec![current.clone()];
    loop {
        let prior = prior_capture(store, &current, opts.conditional)?;
        let fetched = fetcher.get(&current, &conditional(prior.as_ref())).await?;
        let target = match archive_fetched(store, fetched, prior, opts)? {
            Hop::Final(mut archived) => {
                archived.hops = hops;
                return Ok(archived);
            }
            Hop::Redirect { target, .. } => target,
        };
        if hops.len() > opts.max_redirects {
            return Err(PipelineError::TooManyRedirects {
                url: url.to_string(),
                limit: opts.max_redirects,
            });
        }
        if !matches!(target.scheme(), "http" | "https") || !in_scope(&target) {
            return Err(PipelineError::OutOfScope {
                url: current.to_string(),
                target: target.to_string(),
            });
        }
        if hops.contains(&target) {
            return Err(PipelineError::TooManyRedirects {
                url: url.to_string(),
                limit: opts.max_redirects,
            });
        }
        hops.push(target.clone());
        current = target;
    }
}

/// The outcome of archiving one exchange.
#[derive(Debug, Clone)]
pub enum Hop {
    /// A 3xx with a usable `Location`; the redirect itself is archived.
    Redirect { target: Url, capture_id: i64 },
    /// Anything else: archived, decoded and extracted.
    Final(Archived),
}

/// The last full capture of `url` when a conditional request is wanted.
pub fn prior_capture(
    store: &Store,
    url: &Url,
    conditional: bool,
) -> Result<Option<crate::archive::PriorCapture>, PipelineError> {
    if !conditional {
        return Ok(None);
    }
    let db = lock(store)?;
    let prior = db.prior_capture(url.as_str())?;
    // A revisit may only point at a record that is there and whole; where
    // it is not, the page is asked for in full and archived again.
    Ok(prior.filter(|p| {
        let whole = crate::integrity::prior_is_whole(&db.warc_dir(), p);
        if !whole {
            tracing::warn!(%url, file = %p.warc_file, offset = p.warc_offset, "the archived record of this URL is damaged or missing: archiving a full copy");
        }
        whole
    }))
}

/// The validators to send for a URL with this prior capture.
pub fn conditional(prior: Option<&crate::archive::PriorCapture>) -> Conditional {
    prior
        .map(|p| Conditional {
            etag: p.etag.clone(),
            last_modified: p.last_modified.clone(),
        })
        .unwrap_or_default()
}

/// Snapshot and index one exchange the caller fetched (with the validators
/// of `prior`), so that a caller pacing its own requests archives them the
/// same way `archive_url` does.
pub fn archive_fetched(
    store: &Store,
    fetched: Fetched,
    prior: Option<crate::archive::PriorCapture>,
    opts: &Options,
) -> Result<Hop, PipelineError> {
    if let Some(target) = redirect_target(&fetched)? {
        let capture_id = snapshot_redirect(store, &fetched, &target, opts, None)?;
        return Ok(Hop::Redirect { target, capture_id });
    }
    let hops = vec![fetched.url.clone()];
    finish(store, fetched, prior, opts, hops).map(Hop::Final)
}

/// What `snapshot_hop` stored of one exchange.
#[derive(Debug)]
pub enum Step {
    /// A 3xx with a usable `Location`.
    Redirect { target: Url, capture_id: i64 },
    /// The final answer of a chain.
    Final(Snapped),
}

/// Snapshot and index one exchange, redirect or final, without decoding it:
/// the crawl's archive writer runs this, and the crawl decodes elsewhere.
/// `prepared`, when given, is the exchange's records made ready by
/// [`prepare`] off the writer; it is used when no prior capture is compared
/// with.
pub fn snapshot_hop(
    store: &Store,
    fetched: &Fetched,
    prior: Option<&crate::archive::PriorCapture>,
    opts: &Options,
    prepared: Option<warc::PreparedExchange>,
) -> Result<Step, PipelineError> {
    if let Some(target) = redirect_target(fetched)? {
        let capture_id = snapshot_redirect(store, fetched, &target, opts, prepared)?;
        return Ok(Step::Redirect { target, capture_id });
    }
    snapshot_final(store, fetched, prior, opts, prepared).map(Step::Final)
}

/// The WARC records of a fetched exchange, digested and compressed: CPU work
/// for any thread, so that the archive's owner only appends them.
pub fn prepare(fetched: &Fetched) -> warc::PreparedExchange {
    warc::prepare_exchange(&exchange_of(fetched))
}

fn exchange_of(f: &Fetched) -> Exchange<'_> {
    Exchange {
        target_uri: f.url.as_str(),
        date: f.date,
        ip: f.ip,
        request_head: &f.request_head,
        response_head: &f.response_head,
        body: &f.body,
        truncated: f.truncated,
    }
}

/// Snapshot and index a redirect, with its outcome (a redirect, or a soft
/// 404 when it leads to the home page).
fn snapshot_redirect(
    store: &Store,
    fetched: &Fetched,
    target: &Url,
    opts: &Options,
    prepared: Option<warc::PreparedExchange>,
) -> Result<i64, PipelineError> {
    let capture_id = snapshot(store, fetched, None, opts, prepared)?;
    let kind = outcome::of_exchange(
        &fetched.url,
        fetched.status,
        &fetched.headers,
        &fetched.body,
        Some(target),
        None,
    );
    lock(store)?.set_outcome(capture_id, kind.as_str())?;
    Ok(capture_id)
}

fn redirect_target(f: &Fetched) -> Result<Option<Url>, PipelineError> {
    if !matches!(f.status, 301 | 302 | 303 | 307 | 308) {
        return Ok(None);
    }
    let Some(raw) = f.raw_header("location") else {
        return Ok(None);
    };
    let location = fetch::raw_reference(raw.trim_ascii());
    f.url
        .join(&location)
        .map(Some)
        .map_err(|_| PipelineError::BadRedirect {
            url: f.url.to_string(),
            location,
        })
}

/// What snapshotting the final answer of a chain stored.
#[derive(Debug)]
pub enum Snapped {
    /// The payload was already archived: a `revisit` record was written.
    Revisit { capture_id: i64 },
    /// A full `response` record was written.
    Response { capture_id: i64 },
}

impl Snapped {
    pub fn capture_id(&self) -> i64 {
        match self {
            Snapped::Revisit { capture_id } | Snapped::Response { capture_id } => *capture_id,
        }
    }
}

/// Snapshot and index one final answer, a revisit when `prior` holds the
/// same payload (or the server said 304). No decoding: that is `analyse`,
/// which the crawl runs off the archive's owner.
pub fn snapshot_final(
    store: &Store,
    fetched: &Fetched,
    prior: Option<&crate::archive::PriorCapture>,
    opts: &Options,
    prepared: Option<warc::PreparedExchange>,
) -> Result<Snapped, PipelineError> {
    // Digested here only when there is a prior capture to compare with: the
    // WARC writer digests the payload it writes.
    let unchanged = prior.filter(|p| {
        fetched.status == 304
            || (fetched.truncated.is_none()
                && (200..300).contains(&fetched.status)
                && p.payload_digest == warc::sha1_digest(&fetched.body))
    });
    Ok(match unchanged {
        Some(prior) => {
            let capture_id = snapshot(store, fetched, Some(prior), opts, None)?;
            // The same payload is what it was when first archived.
            let db = lock(store)?;
            let kind = db
                .outcome_of(prior.id)?
                .and_then(|o| Outcome::parse(&o))
                .unwrap_or(Outcome::Other);
            db.set_outcome(capture_id, kind.as_str())?;
            Snapped::Revisit { capture_id }
        }
        None => Snapped::Response {
            capture_id: snapshot(store, fetched, None, opts, prepared)?,
        },
    })
}

/// Decode + extract a fetched 2xx body; `None` for other statuses and for
/// bodies that are not documents. Pure CPU work: no archive, no I/O but the
/// converters of attachments.
pub fn analyse(fetched: &Fetched) -> Option<Analysis> {
    if !(200..300).contains(&fetched.status) {
        return None;
    }
    let content_type = fetched.header("content-type");
    analyse_stored(
        fetched.url.as_str(),
        &fetched.headers,
        &fetched.body,
        content_type.as_deref(),
    )
}

/// What a final answer is (a report, a block page, …), from what `analyse`
/// read of it.
pub fn outcome_of_answer(fetched: &Fetched, analysis: Option<&Analysis>) -> Outcome {
    outcome::of_exchange(
        &fetched.url,
        fetched.status,
        &fetched.headers,
        &fetched.body,
        None,
        analysis,
    )
}

/// Write what `analyse` derived to its capture.
pub fn record_analysis(
    db: &mut Archive,
    capture_id: i64,
    analysis: &Analysis,
) -> Result<(), ArchiveError> {
    if let Some(d) = &analysis.decoded {
        db.set_encoding(
            capture_id,
            d.encoding,
            d.decision.as_str(),
            d.had_errors,
            &d.rejected_labels,
        )?;
    }
    if analysis.decoded.is_some() {
        db.replace_reports(capture_id, &analysis.reports)?;
    } else {
        // An attachment: what it lacks is taken from the page that linked it.
        crate::parent_page::record(db, capture_id, &analysis.reports)?;
    }
    Ok(())
}

fn finish(
    store: &Store,
    fetched: Fetched,
    prior: Option<crate::archive::PriorCapture>,
    opts: &Options,
    hops: Vec<Url>,
) -> Result<Archived, PipelineError> {
    let content_type = fetched.header("content-type");
    let capture_id = match snapshot_final(store, &fetched, prior.as_ref(), opts, None)? {
        Snapped::Revisit { capture_id } => {
            return Ok(Archived {
                final_url: fetched.url.clone(),
                status: fetched.status,
                capture_id,
                record_type: "revisit",
                decoded: None,
                reports: Vec::new(),
                text: None,
                content_type,
                hops,
                truncated: None,
                outcome: lock(store)?
                    .outcome_of(capture_id)?
                    .and_then(|o| Outcome::parse(&o))
                    .unwrap_or(Outcome::Other),
            })
        }
        Snapped::Response { capture_id } => capture_id,
    };
    let analysis = analyse(&fetched);
    if let Some(a) = &analysis {
        let mut db = store.db.lock().map_err(|_| PipelineError::Poisoned)?;
        record_analysis(&mut db, capture_id, a)?;
    }
    let kind = outcome_of_answer(&fetched, analysis.as_ref());
    lock(store)?.set_outcome(capture_id, kind.as_str())?;
    let (decoded, reports) = analysis.map_or((None, Vec::new()), |a| (a.decoded, a.reports));
    let summary = decoded.as_ref().map(DecodeSummary::of);
    let text = decoded.map(|d| d.text);
    Ok(Archived {
        final_url: fetched.url.clone(),
        status: fetched.status,
        capture_id,
        record_type: "response",
        decoded: summary,
        reports,
        text,
        content_type,
        hops,
        truncated: fetched.truncated,
        outcome: kind,
    })
}

impl DecodeSummary {
    fn of(d: &Decoded) -> Self {
        DecodeSummary {
            encoding: d.encoding,
            decision: d.decision,
            had_errors: d.had_errors,
            rejected: d.rejected_labels.clone(),
        }
    }
}

fn lock(store: &Store) -> Result<std::sync::MutexGuard<'_, Archive>, PipelineError> {
    store.db.lock().map_err(|_| PipelineError::Poisoned)
}

/// Decode + extract a stored body and write what was derived (the encoding
/// decision, the reports) to its capture. The one place derived rows are
/// made, whether the body was just fetched, recovered from a WARC file after
/// a kill, or re-read by `reextract`.
pub fn derive(
    db: &mut Archive,
    capture_id: i64,
    url: &str,
    headers: &[(String, Vec<u8>)],
    body: &[u8],
    content_type: Option<&str>,
) -> Result<Option<Analysis>, ArchiveError> {
    let Some(analysis) = analyse_stored(url, headers, body, content_type) else {
        return Ok(None);
    };
    record_analysis(db, capture_id, &analysis)?;
    Ok(Some(analysis))
}

/// Decode + extract a stored body (still compressed if it was sent so),
/// writing nothing: for a caller that decides from the reports whether the
/// body is worth a capture (an import) before it indexes one.
pub fn analyse_stored(
    url: &str,
    headers: &[(String, Vec<u8>)],
    body: &[u8],
    content_type: Option<&str>,
) -> Option<Analysis> {
    let entity = fetch::entity(headers, body, PARSE_LIMIT);
    // A document served by a download servlet is known by the file name
    // its Content-Disposition gives.
    let named = crate::disposition::document_name(url, headers);
    analyse_document(&named, &entity, content_type)
}

/// What was read out of one document.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The decoding of an HTML or text document; `None` for attachments.
    pub decoded: Option<Decoded>,
    pub reports: Vec<Report>,
    /// What link discovery reads of an HTML page, from the pass that also
    /// fed extraction.
    pub outline: Option<Outline>,
}

/// Decode + extract a document by its kind (HTML, text, PDF, DOCX,
/// spreadsheet); `None` for bodies that are not documents (images, archives).
pub fn analyse_document(url: &str, entity: &[u8], content_type: Option<&str>) -> Option<Analysis> {
    let kind = attachment::kind_of(url, content_type, entity)?;
    match kind {
        Kind::Html | Kind::Text if is_binary(entity) => Some(Analysis {
            decoded: None,
            reports: Vec::new(),
            outline: None,
        }),
        Kind::Html | Kind::Text => {
            let decoded = decode::decode(entity, content_type);
            let (reports, outline) = if kind == Kind::Html {
                let (page, outline) = crate::markup::read(&decoded.text);
                (extract::extract_html_page(&page), Some(outline))
            } else {
                (extract::extract_text(&decoded.text), None)
            };
            Some(Analysis {
                decoded: Some(decoded),
                reports,
                outline,
            })
        }
        Kind::Unconvertible => Some(Analysis {
            decoded: None,
            reports: Vec::new(),
            outline: None,
        }),
        Kind::Pdf => {
            let layout = attachment::pdf_layout(entity)
                .map_err(|e| tracing::warn!(%url, error = %e, "attachment not converted"))
                .ok();
            let boxes = layout
                .as_ref()
                .and_then(|_| attachment::pdf_boxes(entity).ok());
            let reports = match layout.as_deref() {
                Some(text) if scan::is_image_only(text, text.matches('\x0c').count()) => {
                    scanned_reports(url, scan::read_pdf(entity))
                }
                _ => extract::extract_pdf(layout.as_deref(), boxes.as_deref()),
            };
            Some(Analysis {
                decoded: None,
                reports,
                outline: None,
            })
        }
        Kind::Image => Some(Analysis {
            decoded: None,
            reports: scanned_reports(url, scan::read_image(entity)),
            outline: None,
        }),
        _ => {
            let reports = match attachment::to_text(kind, entity) {
                Ok(text) => extract::extract_text(&text),
                Err(e) => {
                    tracing::warn!(%url, error = %e, "attachment not converted");
                    Vec::new()
                }
            };
            Some(Analysis {
                decoded: None,
                reports,
                outline: None,
            })
        }
    }
}

/// The reports OCR read on a scan; none (and a warning naming the cause)
/// when it could not be read.
fn scanned_reports(
    url: &str,
    lines: Result<Vec<extract::ScanLine>, scan::ScanError>,
) -> Vec<Report> {
    match lines {
        Ok(lines) => extract::extract_scan(&lines),
        Err(e) => {
            tracing::warn!(%url, error = %e, "scan not read");
            Vec::new()
        }
    }
}

/// Bytes that no text encoding produces (NULs, many control bytes), whatever
/// the content type claims: not worth decoding.
fn is_binary(entity: &[u8]) -> bool {
    let head = entity.get(..8192.min(entity.len())).unwrap_or_default();
    let control = head
        .iter()
        .filter(|b| **b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c))
        .count();
    head.contains(&0) || control * 10 > head.len()
}

/// Write the WARC record(s) of one exchange, then index them. A revisit is
/// written when `prior` holds the same payload.
fn snapshot(
    store: &Store,
    f: &Fetched,
    prior: Option<&crate::archive::PriorCapture>,
    opts: &Options,
    prepared: Option<warc::PreparedExchange>,
) -> Result<i64, PipelineError> {
    let target_uri = f.url.as_str();
    let mut warc = store.warc.lock().map_err(|_| PipelineError::Poisoned)?;
    let (location, digest, record_type, refers_to) = match prior {
        Some(p) => {
            let profile = if f.status == 304 {
                warc::PROFILE_NOT_MODIFIED
            } else {
                warc::PROFILE_IDENTICAL
            };
            let loc = warc.write_revisit(&Revisit {
                target_uri,
                date: f.date,
                ip: f.ip,
                request_head: &f.request_head,
                // A 304's revisit holds no HTTP message, so that replay tools
                // serve the status, headers and payload of the capture it
                // refers to (ARCHITECTURE.md, "Choices"); the 304 head is
                // kept in the capture row.
                response_head: if f.status == 304 {
                    &[]
                } else {
                    &f.response_head
                },
                profile,
                payload_digest: &p.payload_digest,
                refers_to_uri: &p.url,
                refers_to_date: &p.fetched_at,
                refers_to_record: Some(&p.warc_record_id),
            })?;
            (loc, p.payload_digest.clone(), "revisit", Some(p.id))
        }
        None => {
            let written = match prepared {
                Some(ready) => warc.append_exchange(ready)?,
                None => warc.write_exchange(&exchange_of(f))?,
            };
            (written.response, written.payload_digest, "response", None)
        }
    };
    drop(warc);
    let capture = NewCapture {
        url: target_uri.to_string(),
        fetched_at: warc::warc_date(f.date),
        status: f.status,
        headers: f
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
            .collect(),
        content_type: f.header("content-type"),
        record_type,
        payload_digest: digest,
        payload_length: f.body.len() as u64,
        truncated: f.truncated.map(str::to_string),
        warc_file: location.file,
        warc_offset: location.offset,
        warc_length: location.length,
        warc_record_id: location.record_id,
        ip: f.ip.map(|ip| ip.to_string()),
        refers_to,
        source: opts.source.clone(),
        etag: f.header("etag"),
        last_modified: f.header("last-modified"),
        ..NewCapture::default()
    };
    let db = store.db.lock().map_err(|_| PipelineError::Poisoned)?;
    Ok(db.insert_capture(&capture)?)
}
