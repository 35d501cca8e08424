//! Fetching one URL, one hop: the bytes exactly as the server sent them.
//!
//! No automatic decompression and no redirect following here: every hop is
//! its own snapshot, and the caller decides whether a redirect stays in scope.
//! Many government servers speak only old TLS, so an `https` host that rustls
//! cannot reach is retried with the platform's native TLS and remembered.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

/// Limits and identity of the fetcher, validated once from config.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    pub user_agent: String,
    pub connect_timeout: Duration,
    /// Longest silence between two reads of a body.
    pub read_timeout: Duration,
    /// Longest time for a whole exchange, body included.
    pub total_timeout: Duration,
    /// Bodies longer than this are cut and recorded as truncated.
    pub max_body_bytes: u64,
    /// Government sites often carry expired or mis-chained certificates; an
    /// archive records what was served and says so in the log.
    pub accept_invalid_certs: bool,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            user_agent: concat!("nianbao/", env!("CARGO_PKG_VERSION")).into(),
            connect_timeout: Duration::from_secs(15),
            read_timeout: Duration::from_secs(30),
            total_timeout: Duration::from_secs(120),
            max_body_bytes: 50 * 1024 * 1024,
            accept_invalid_certs: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: unsupported URL scheme (only http and https are fetched)")]
    Scheme { url: String },
    #[error("{url}: timed out ({stage})")]
    Timeout { url: String, stage: &'static str },
    /// `detail` names the cause: a name that does not resolve, a refused
    /// connection, or the transport's own words.
    #[error("{url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("{url}: request failed: {detail}")]
    Http { url: String, detail: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl FetchError {
    /// A short, stable name for summaries and the archive.
    pub fn kind(&self) -> &'static str {
        match self {
            FetchError::Scheme { .. } => "scheme",
            FetchError::Timeout { .. } => "timeout",
            FetchError::Connect { .. } => "connect",
            FetchError::Http { .. } => "http",
            FetchError::Client(_) => "client",
        }
    }
}

/// Validators of an earlier capture, for a conditional request.
#[derive(Debug, Clone, Default)]
pub struct Conditional {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What to send besides the URL: a form body (then the request is a POST,
/// as a page's script would send it) and the source's cookies.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub conditional: Conditional,
    /// An `application/x-www-form-urlencoded` body; `None` for a GET.
    pub form: Option<String>,
    /// The `Cookie` header value, when the source holds cookies for the host.
    pub cookie: Option<String>,
}

/// One exchange, as received.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub url: Url,
    pub date: DateTime<Utc>,
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    /// Status line and headers, CRLF-terminated, as they go into the WARC.
    pub response_head: Vec<u8>,
    pub request_head: Vec<u8>,
    /// The entity body: de-chunked, still compressed if it was sent so.
    pub body: Vec<u8>,
    /// `Some("length")` / `Some("time")` when cut short.
    pub truncated: Option<&'static str>,
    pub ip: Option<IpAddr>,
}

impl Fetched {
    /// First value of a header, as sent.
    pub fn raw_header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// First value of a header, as text.
    pub fn header(&self, name: &str) -> Option<String> {
        header_value(&self.headers, name)
    }

    /// The body to parse: inflated if the server compressed it, capped at
    /// `limit` bytes so a compression bomb cannot exhaust memory.
    pub fn entity(&self, limit: u64) -> Vec<u8> {
        entity(&self.headers, &self.body, limit)
    }
}

/// First value of header `name` in a list of raw headers.
pub fn header_value(headers: &[(String, Vec<u8>)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
}

/// A header's raw bytes as a URL reference: bytes outside printable ASCII
/// (GBK from IIS, say) percent-encoded exactly as sent, never replaced.
pub fn raw_reference(value: &[u8]) -> String {
    let mut out = String::with_capacity(value.len());
    for &b in value {
        if b.is_ascii_graphic() {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Undo `Content-Encoding` (gzip, deflate, br, stacked), reading at most
/// `limit` bytes. A coding that cannot be read is named in the log, and the
/// body is handed on as sent (some servers label plain bodies as gzip).
pub fn entity(headers: &[(String, Vec<u8>)], body: &[u8], limit: u64) -> Vec<u8> {
    let coding = header_value(headers, "content-encoding").unwrap_or_default();
    let as_sent = || {
        body.get(..body.len().min(limit as usize))
            .unwrap_or(body)
            .to_vec()
    };
    if coding.trim().is_empty() {
        return as_sent();
    }
    match crate::coding::decode(&coding, body, limit) {
        Ok(out) => out,
        Err(e) => {
            tracing::warn!(error = %e, "body read as sent");
            as_sent()
        }
    }
}

/// Why a body's `Content-Encoding` could not be undone, if it could not.
pub fn coding_problem(headers: &[(String, Vec<u8>)], body: &[u8]) -> Option<String> {
    let coding = header_value(headers, "content-encoding")?;
    crate::coding::decode(&coding, body, 1 << 16)
        .err()
        .map(|e| e.to_string())
}

/// An HTTP client pair (rustls first, native TLS for old servers).
pub struct Fetcher {
    config: FetchConfig,
    rustls: reqwest::Client,
    native: reqwest::Client,
    native_hosts: Mutex<HashSet<String>>,
}

impl Fetcher {
    pub fn new(config: FetchConfig) -> Result<Self, FetchError> {
        let build = |native: bool| {
            let builder = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(config.connect_timeout)
                .read_timeout(config.read_timeout)
                .danger_accept_invalid_certs(config.accept_invalid_certs)
                .no_proxy()
                .http1_only();
            let builder = if native {
                builder.use_native_tls()
            } else {
                builder.use_rustls_tls()
            };
            builder
                .build()
                .map_err(|e| FetchError::Client(e.to_string()))
        };
        Ok(Self {
            rustls: build(false)?,
            native: build(true)?,
            native_hosts: Mutex::new(HashSet::new()),
            config,
        })
    }

    /// Whether `host` was found to need native TLS.
    pub fn uses_native_tls(&self, host: &str) -> bool {
        self.native_hosts
            .lock()
            .map(|s| s.contains(host))
            .unwrap_or(false)
    }

    pub fn config(&self) -> &FetchConfig {
        &self.config
    }

    /// GET one URL, without following redirects.
    pub async fn get(&self, url: &Url, cond: &Conditional) -> Result<Fetched, FetchError> {
        let req = Request {
            conditional: cond.clone(),
            ..Request::default()
        };
        self.send(url, &req).await
    }

    /// Send one request (GET, or POST when it carries a form), without
    /// following redirects.
    pub async fn send(&self, url: &Url, req: &Request) -> Result<Fetched, FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::Scheme {
                url: url.to_string(),
            });
        }
        let host = url.host_str().unwrap_or_default().to_string();
        let use_native = self.uses_native_tls(&host);
        if use_native || url.scheme() == "http" {
            return self
                .get_with(&self.native_or_plain(use_native), url, req)
                .await;
        }
        match self.get_with(&self.rustls, url, req).await {
            Err(FetchError::Connect { .. }) => {
                let retried = self.get_with(&self.native, url, req).await;
                if retried.is_ok() {
                    tracing::info!(%host, "falling back to native TLS for this host");
                    if let Ok(mut hosts) = self.native_hosts.lock() {
                        hosts.insert(host);
                    }
                }
                retried
            }
            other => other,
        }
    }

    fn native_or_plain(&self, native: bool) -> reqwest::Client {
        if native {
            self.native.clone()
        } else {
            self.rustls.clone()
        }
    }

    async fn get_with(
        &self,
        client: &reqwest::Client,
        url: &Url,
        req: &Request,
    ) -> Result<Fetched, FetchError> {
        let headers = request_headers(&self.config.user_agent, req);
        let request_head = request_head(url, &headers, req.form.as_deref());
        let date = Utc::now();
        let builder = match &req.form {
            Some(form) => client.post(url.clone()).body(form.clone()),
            None => client.get(url.clone()),
        };
        let send = builder.headers(headers).send();
        let response = tokio::time::timeout(self.config.total_timeout, send)
            .await
            .map_err(|_| FetchError::Timeout {
                url: url.to_string(),
                stage: "waiting for the response head",
            })?
            .map_err(|e| classify(url, &e))?;
        let ip = response.remote_addr().map(|a| a.ip());
        let status = response.status();
        // hyper keeps a reason phrase only when it is not the canonical one.
        let reason = response
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| r.as_bytes().to_vec());
        let raw_headers: Vec<(String, Vec<u8>)> = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.as_bytes().to_vec()))
            .collect();
        let deadline = tokio::time::Instant::now() + self.config.total_timeout;
        let (body, truncated) = self.read_body(response, url, deadline).await?;
        Ok(Fetched {
            url: url.clone(),
            date,
            status: status.as_u16(),
            response_head: response_head(status, reason.as_deref(), &raw_headers),
            headers: raw_headers,
            request_head,
            body,
            truncated,
            ip,
        })
    }

    async fn read_body(
        &self,
        mut response: reqwest::Response,
        url: &Url,
        deadline: tokio::time::Instant,
    ) -> Result<(Vec<u8>, Option<&'static str>), FetchError> {
        let cap = self.config.max_body_bytes as usize;
        let mut body = Vec::new();
        loop {
            let next = tokio::time::timeout_at(deadline, response.chunk()).await;
            let chunk = match next {
                Err(_) if body.is_empty() => {
                    return Err(FetchError::Timeout {
                        url: url.to_string(),
                        stage: "reading the body",
                    })
                }
                Err(_) => return Ok((body, Some("time"))),
                Ok(Err(e)) if e.is_timeout() && !body.is_empty() => {
                    return Ok((body, Some("time")))
                }
                Ok(Err(e)) => return Err(classify(url, &e)),
                Ok(Ok(None)) => return Ok((body, None)),
                Ok(Ok(Some(chunk))) => chunk,
            };
            let room = cap.saturating_sub(body.len());
            if chunk.len() > room {
                body.extend_from_slice(chunk.get(..room).unwrap_or_default());
                return Ok((body, Some("length")));
            }
            body.extend_from_slice(&chunk);
        }
    }
}

fn classify(url: &Url, e: &reqwest::Error) -> FetchError {
    let url = url.to_string();
    let detail = error_chain(e);
    if e.is_timeout() {
        FetchError::Timeout {
            url,
            stage: "connecting or reading",
        }
    } else if e.is_connect() {
        let host = e
            .url()
            .and_then(|u| u.host_str())
            .unwrap_or_default()
            .to_string();
        FetchError::Connect {
            url,
            detail: connect_cause(&host, &detail),
        }
    } else {
        FetchError::Http { url, detail }
    }
}

/// Why a connection failed, in words that point at the fix.
pub fn connect_cause(host: &str, chain: &str) -> String {
    let lower = chain.to_ascii_lowercase();
    let unresolved = [
        "dns error",
        "failed to lookup address",
        "name or service not known",
    ]
    .iter()
    .any(|m| lower.contains(m));
    if unresolved {
        format!("cannot resolve {host} (DNS lookup failed) — is the network up and the name right?")
    } else if lower.contains("connection refused") {
        format!("{host} refused the connection — is the server up, and on this port?")
    } else {
        format!("cannot connect: {chain}")
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn request_headers(user_agent: &str, req: &Request) -> HeaderMap {
    let cond = &req.conditional;
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    put("user-agent", user_agent);
    put("accept", "text/html,application/xhtml+xml,*/*;q=0.8");
    put("accept-language", "zh-CN,zh;q=0.9");
    if let Some(etag) = &cond.etag {
        put("if-none-match", etag);
    }
    if let Some(lm) = &cond.last_modified {
        put("if-modified-since", lm);
    }
    if let Some(cookie) = &req.cookie {
        put("cookie", cookie);
    }
    if req.form.is_some() {
        put(
            "content-type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        );
        put("x-requested-with", "XMLHttpRequest");
    }
    headers
}

/// The request as it goes on the wire, for the WARC `request` record (a
/// POST's form body included).
fn request_head(url: &Url, headers: &HeaderMap, form: Option<&str>) -> Vec<u8> {
    let mut target = url.path().to_string();
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => String::new(),
    };
    let method = if form.is_some() { "POST" } else { "GET" };
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\n").into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if let Some(form) = form {
        out.extend_from_slice(format!("content-length: {}\r\n\r\n", form.len()).as_bytes());
        out.extend_from_slice(form.as_bytes());
    } else {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The response head for the WARC, with the reason phrase as served.
/// `Transfer-Encoding` is dropped: the body stored after it is de-chunked,
/// and a chunked label would make readers mis-parse it. Header names come
/// lowercased from the HTTP client (which does not expose their case).
fn response_head(
    status: reqwest::StatusCode,
    reason: Option<&[u8]>,
    headers: &[(String, Vec<u8>)],
) -> Vec<u8> {
    let canonical = status.canonical_reason().unwrap_or("");
    let mut out = format!("HTTP/1.1 {} ", status.as_u16()).into_bytes();
    out.extend_from_slice(reason.unwrap_or(canonical.as_bytes()));
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("transfer-encoding") {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}
