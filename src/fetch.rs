//! Fetching one URL, one hop: the bytes exactly as the server sent them.
//!
//! No automatic decompression and no redirect following here: every hop is
//! its own snapshot, and the caller decides whether a redirect stays in scope.
//! Many government servers speak only old TLS, so an `https` host that rustls
//! cannot reach is retried with the platform's native TLS and remembered.
//! The response head goes into the archive as it came off the wire: status
//! line, header names in their case and order (`wire`).

mod connect;
mod exchange;
mod pool;
mod wire;

use std::borrow::Cow;
use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

/// Limits and identity of the fetcher, validated once from config.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    pub user_agent: String,
    pub connect_timeout: Duration,
    /// Longest silence between two reads (head or body); also how long a
    /// kept-alive connection may stay idle.
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
    /// Header names lowercased, values as sent, in the order sent.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Status line and header lines byte for byte as received, less any
    /// `Transfer-Encoding` line (the body is stored de-chunked).
    pub response_head: Vec<u8>,
    /// The request as written to the socket, form body included.
    pub request_head: Vec<u8>,
    /// The entity body: de-chunked, still compressed if it was sent so.
    pub body: Vec<u8>,
    /// `Some("length")` / `Some("time")` when cut short.
    pub truncated: Option<&'static str>,
    pub ip: Option<IpAddr>,
    /// When the request's first byte was written, after any connection was
    /// set up: the server's view of when it was asked.
    pub sent: Option<std::time::Instant>,
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
    pub fn entity(&self, limit: u64) -> Cow<'_, [u8]> {
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
/// The body as sent is borrowed, not copied: it is most answers.
pub fn entity<'a>(headers: &[(String, Vec<u8>)], body: &'a [u8], limit: u64) -> Cow<'a, [u8]> {
    let coding = header_value(headers, "content-encoding").unwrap_or_default();
    let as_sent = || Cow::Borrowed(body.get(..body.len().min(limit as usize)).unwrap_or(body));
    if coding.trim().is_empty() {
        return as_sent();
    }
    match crate::coding::decode(&coding, body, limit) {
        Ok(out) => Cow::Owned(out),
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

/// The HTTP/1.1 client: rustls first, native TLS for old servers.
pub struct Fetcher {
    config: FetchConfig,
    connector: connect::Connector,
    pool: pool::Pool,
    native_hosts: Mutex<HashSet<String>>,
}

impl Fetcher {
    pub fn new(config: FetchConfig) -> Result<Self, FetchError> {
        Ok(Self {
            connector: connect::Connector::new(&config)?,
            pool: pool::Pool::default(),
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
        if url.scheme() == "http" || self.uses_native_tls(&host) {
            return self.exchange(url, req, connect::Tls::Native).await;
        }
        match self.exchange(url, req, connect::Tls::Rustls).await {
            Err(FetchError::Connect { .. }) => {
                let retried = self.exchange(url, req, connect::Tls::Native).await;
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

    /// One exchange, on the host's kept-alive connection or a new one:
    /// connect within the connect timeout, the whole of it within the total
    /// timeout. A kept-alive connection the server closed while it was idle
    /// is replaced by a new one.
    async fn exchange(
        &self,
        url: &Url,
        req: &Request,
        tls: connect::Tls,
    ) -> Result<Fetched, FetchError> {
        let deadline = tokio::time::Instant::now() + self.config.total_timeout;
        let key = pool::Key::new(url, tls);
        if let Some(mut conn) = self.pool.take(&key).await {
            let ended = exchange::run(&self.config, url, req, &mut conn, Utc::now(), deadline);
            match ended.await {
                exchange::Ended::Unanswered(e) => {
                    tracing::debug!(error = %e, "kept-alive connection closed; connecting again");
                }
                ended => return self.settle(key, conn, ended),
            }
        }
        let date = Utc::now();
        let connect_within = self.config.connect_timeout.min(self.config.total_timeout);
        let connected = self.connector.connect(url, tls, connect_within).await?;
        let mut conn = exchange::Conn::open(&self.config, url, connected).await?;
        let ended = exchange::run(&self.config, url, req, &mut conn, date, deadline).await;
        self.settle(key, conn, ended)
    }

    /// The outcome of an exchange; its connection kept when it can serve
    /// again.
    fn settle(
        &self,
        key: pool::Key,
        conn: exchange::Conn,
        ended: exchange::Ended,
    ) -> Result<Fetched, FetchError> {
        match ended {
            exchange::Ended::Answered { fetched, reusable } => {
                if reusable {
                    self.pool.put(key, conn);
                }
                Ok(*fetched)
            }
            exchange::Ended::Unanswered(e) | exchange::Ended::Failed(e) => Err(e),
        }
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

/// An error and its causes, joined: the transport's own words.
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

/// The headers every request carries, and those of its conditions, cookies
/// and form.
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
