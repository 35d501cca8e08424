//! One HTTP/1.1 exchange on an open connection, with hyper's client
//! connection: the request sent, the head taken as it came off the wire,
//! the body read within the body cap, the read timeout and the deadline.

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use hyper::body::{Body, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderMap, HeaderValue, HOST};
use hyper_util::rt::TokioIo;
use tokio::time::Instant;
use url::Url;

use super::connect::Connected;
use super::wire::{read_head, Taps, Wire, HEAD_LIMIT, MAX_HEADERS};
use super::{error_chain, request_headers, FetchConfig, FetchError, Fetched, Request};

/// The task that drives the connection; the connection is closed when the
/// exchange is over, whatever state it was left in.
struct Driver(tokio::task::JoinHandle<()>);

impl Drop for Driver {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// An HTTP/1.1 connection: where requests are sent, the task that drives
/// it, and the copy of the bytes that crossed it.
pub(super) struct Conn {
    sender: SendRequest<String>,
    _driver: Driver,
    taps: Arc<Mutex<Taps>>,
    peer: SocketAddr,
}

impl Conn {
    pub async fn open(
        config: &FetchConfig,
        url: &Url,
        connected: Connected,
    ) -> Result<Self, FetchError> {
        let taps = Arc::new(Mutex::new(Taps::default()));
        let io = TokioIo::new(Wire::new(
            connected.stream,
            config.read_timeout,
            taps.clone(),
        ));
        let (sender, conn) = hyper::client::conn::http1::Builder::new()
            .max_headers(MAX_HEADERS)
            .max_buf_size(HEAD_LIMIT)
            .handshake::<_, String>(io)
            .await
            .map_err(|e| FetchError::Http {
                url: url.to_string(),
                detail: error_chain(&e),
            })?;
        let driver = Driver(tokio::spawn(async move {
            let _ = conn.await;
        }));
        Ok(Self {
            sender,
            _driver: driver,
            taps,
            peer: connected.peer,
        })
    }

    /// Whether another request can go on this connection (the server did
    /// not close it, nor ask to), waiting a moment for the end of the last
    /// exchange to be settled.
    pub async fn ready(&mut self) -> bool {
        let ready = std::future::poll_fn(|cx| self.sender.poll_ready(cx));
        matches!(
            tokio::time::timeout(std::time::Duration::from_millis(100), ready).await,
            Ok(Ok(()))
        )
    }

    /// Whether the connection is known to be closed.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

/// How an exchange ended.
pub(super) enum Ended {
    /// With an answer; `reusable` when its body was read to the end.
    Answered {
        fetched: Box<Fetched>,
        reusable: bool,
    },
    /// The connection failed before a byte of an answer came: on a kept-
    /// alive connection, the server had closed it while it was idle.
    Unanswered(FetchError),
    Failed(FetchError),
}

/// Send `req` to `url` over `conn` and read the answer, all before
/// `deadline`.
pub(super) async fn run(
    config: &FetchConfig,
    url: &Url,
    req: &Request,
    conn: &mut Conn,
    date: DateTime<Utc>,
    deadline: Instant,
) -> Ended {
    let failed = |detail: String| {
        Ended::Failed(FetchError::Http {
            url: url.to_string(),
            detail,
        })
    };
    let timed_out = |stage: &'static str| {
        Ended::Failed(FetchError::Timeout {
            url: url.to_string(),
            stage,
        })
    };
    let request = match request(url, &config.user_agent, req) {
        Ok(request) => request,
        Err(detail) => return failed(detail),
    };
    if let Ok(mut taps) = conn.taps.lock() {
        *taps = Taps::default();
    }
    let response = match tokio::time::timeout_at(deadline, conn.sender.send_request(request)).await
    {
        Err(_) => return timed_out("waiting for the response head"),
        Ok(Err(e)) if is_timeout(&e) => return timed_out("waiting for the response head"),
        Ok(Err(e)) => {
            let nothing_read = conn.taps.lock().is_ok_and(|t| t.read.is_empty());
            let error = FetchError::Http {
                url: url.to_string(),
                detail: error_chain(&e),
            };
            return if nothing_read && (e.is_canceled() || req.form.is_none()) {
                Ended::Unanswered(error)
            } else {
                Ended::Failed(error)
            };
        }
        Ok(Ok(response)) => response,
    };
    let head = match conn.taps.lock() {
        Ok(taps) => read_head(&taps.read),
        Err(_) => None,
    };
    let Some(head) = head else {
        return failed("the response head was not found in the bytes received".into());
    };
    // The client's own bound is its read buffer, which can hold more.
    if head.warc_head.len() > HEAD_LIMIT {
        return failed(format!(
            "message head is too large (over {} KiB)",
            HEAD_LIMIT / 1024
        ));
    }
    let (body, truncated) = match read_body(config, url, response.into_body(), deadline).await {
        Ok(read) => read,
        Err(e) => return Ended::Failed(e),
    };
    let (request_head, sent) = conn
        .taps
        .lock()
        .map(|t| (t.written.clone(), t.sent))
        .unwrap_or_default();
    Ended::Answered {
        reusable: truncated.is_none(),
        fetched: Box::new(Fetched {
            url: url.clone(),
            date,
            status: head.status,
            headers: head.headers,
            response_head: head.warc_head,
            request_head,
            body,
            truncated,
            ip: Some(conn.peer.ip()),
            sent,
        }),
    }
}

/// The request: origin-form target, `Host` first, then the fetcher's headers.
fn request(url: &Url, user_agent: &str, req: &Request) -> Result<hyper::Request<String>, String> {
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
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&host) {
        headers.insert(HOST, v);
    }
    headers.extend(request_headers(user_agent, req));
    let (method, body) = match &req.form {
        Some(form) => (hyper::Method::POST, form.clone()),
        None => (hyper::Method::GET, String::new()),
    };
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(target.as_str())
        .body(body)
        .map_err(|e| format!("the request target {target:?} cannot be sent: {e}"))?;
    *request.headers_mut() = headers;
    Ok(request)
}

/// The most room a body's announced length reserves before its bytes come.
const RESERVE_AT_MOST: usize = 8 << 20;

/// The body, de-chunked: cut at `max_body_bytes` ("length"), or at the
/// deadline or a read timeout once some of it is in ("time").
async fn read_body(
    config: &FetchConfig,
    url: &Url,
    mut body: Incoming,
    deadline: Instant,
) -> Result<(Vec<u8>, Option<&'static str>), FetchError> {
    let cap = usize::try_from(config.max_body_bytes).unwrap_or(usize::MAX);
    let timed_out = || FetchError::Timeout {
        url: url.to_string(),
        stage: "reading the body",
    };
    // Room for what Content-Length announces, so the body is not copied as
    // it grows; bounded, since a server may announce what it never sends.
    let announced = usize::try_from(hyper::body::Body::size_hint(&body).lower()).unwrap_or(0);
    let mut out = Vec::with_capacity(announced.min(cap).min(RESERVE_AT_MOST));
    loop {
        let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx));
        let frame = match tokio::time::timeout_at(deadline, frame).await {
            Err(_) if out.is_empty() => return Err(timed_out()),
            Err(_) => return Ok((out, Some("time"))),
            Ok(None) => return Ok((out, None)),
            Ok(Some(Err(e))) if is_timeout(&e) && out.is_empty() => return Err(timed_out()),
            Ok(Some(Err(e))) if is_timeout(&e) => return Ok((out, Some("time"))),
            Ok(Some(Err(e))) => {
                return Err(FetchError::Http {
                    url: url.to_string(),
                    detail: error_chain(&e),
                })
            }
            Ok(Some(Ok(frame))) => frame,
        };
        // Trailers carry no body bytes.
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        let room = cap.saturating_sub(out.len());
        if chunk.len() > room {
            out.extend_from_slice(chunk.get(..room).unwrap_or_default());
            return Ok((out, Some("length")));
        }
        out.extend_from_slice(&chunk);
    }
}

/// Whether the read timeout of `Wire` is behind an error.
fn is_timeout(e: &hyper::Error) -> bool {
    let mut source: Option<&(dyn StdError + 'static)> = e.source();
    while let Some(s) = source {
        if s.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        source = s.source();
    }
    false
}
