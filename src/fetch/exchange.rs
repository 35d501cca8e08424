//! One HTTP/1.1 exchange on an open connection, with hyper's client
//! connection: the request sent, the head taken as it came off the wire,
//! the body read within the body cap, the read timeout and the deadline.

use std::error::Error as StdError;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use hyper::body::{Body, Incoming};
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

/// Send `req` to `url` over `connected` and read the answer, all before
/// `deadline`.
pub(super) async fn run(
    config: &FetchConfig,
    url: &Url,
    req: &Request,
    connected: Connected,
    date: DateTime<Utc>,
    deadline: Instant,
) -> Result<Fetched, FetchError> {
    let failed = |detail: String| FetchError::Http {
        url: url.to_string(),
        detail,
    };
    let timed_out = |stage: &'static str| FetchError::Timeout {
        url: url.to_string(),
        stage,
    };
    let request = request(url, &config.user_agent, req).map_err(failed)?;
    let taps = Arc::new(Mutex::new(Taps::default()));
    let io = TokioIo::new(Wire::new(
        connected.stream,
        config.read_timeout,
        taps.clone(),
    ));
    let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
        .max_headers(MAX_HEADERS)
        .max_buf_size(HEAD_LIMIT)
        .handshake::<_, String>(io)
        .await
        .map_err(|e| failed(error_chain(&e)))?;
    let _driver = Driver(tokio::spawn(async move {
        let _ = conn.await;
    }));
    let response = match tokio::time::timeout_at(deadline, sender.send_request(request)).await {
        Err(_) => return Err(timed_out("waiting for the response head")),
        Ok(Err(e)) if is_timeout(&e) => return Err(timed_out("waiting for the response head")),
        Ok(Err(e)) => return Err(failed(error_chain(&e))),
        Ok(Ok(response)) => response,
    };
    let head = {
        let taps = taps
            .lock()
            .map_err(|_| failed("the wire tap is poisoned".into()))?;
        read_head(&taps.read)
    }
    .ok_or_else(|| failed("the response head was not found in the bytes received".into()))?;
    // The client's own bound is its read buffer, which can hold more.
    if head.warc_head.len() > HEAD_LIMIT {
        return Err(failed(format!(
            "message head is too large (over {} KiB)",
            HEAD_LIMIT / 1024
        )));
    }
    let (body, truncated) = read_body(config, url, response.into_body(), deadline).await?;
    let request_head = taps
        .lock()
        .map(|t| t.written.clone())
        .map_err(|_| failed("the wire tap is poisoned".into()))?;
    Ok(Fetched {
        url: url.clone(),
        date,
        status: head.status,
        headers: head.headers,
        response_head: head.warc_head,
        request_head,
        body,
        truncated,
        ip: Some(connected.peer.ip()),
    })
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
    let mut out = Vec::new();
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
