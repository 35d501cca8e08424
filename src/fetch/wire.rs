//! The bytes of one exchange as they cross the socket: the request as it
//! was written and the response head as it was read, for the WARC records,
//! and the read timeout between two reads.
//!
//! The HTTP client parses the head for itself and keeps neither the case nor
//! the order of header names, so the head that goes into the archive is cut
//! from the bytes read here, not rebuilt from the client's parse.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// Most header lines taken in one response head. Browsers set no count,
/// only a size; servers that set many cookies or debugging headers send
/// well over the hundred an HTTP library usually allows.
pub(super) const MAX_HEADERS: usize = 1024;

/// Largest response head taken, status line to blank line (browsers stop
/// between 256 KiB and 1 MiB).
pub(super) const HEAD_LIMIT: usize = 256 * 1024;

/// Most bytes one read takes from the socket. The client grows its read
/// buffer whenever a read fills it, up to the head limit, and a kept-alive
/// connection keeps that buffer while it idles: on a fast link every pooled
/// connection held half a megabyte (200 hosts, 195 MB against 80 MB with no
/// connection kept). Reads of this size keep the buffer at a few times it,
/// and a head still grows to `HEAD_LIMIT` over several reads.
const READ_AT_MOST: usize = 16 * 1024;

/// Largest request kept for its WARC record (the head and a form body).
const REQUEST_LIMIT: usize = 1024 * 1024;

/// What the stream saw, shared with the exchange that reads it afterwards.
#[derive(Debug, Default)]
pub(super) struct Taps {
    /// Bytes written, the request head and body.
    pub written: Vec<u8>,
    /// Bytes read, up to the end of the final response head once it is in.
    pub read: Vec<u8>,
    /// The final (non-1xx) response head is complete in `read`.
    pub head_done: bool,
    /// When the request's first byte was written.
    pub sent: Option<Instant>,
}

/// A stream that copies what crosses it into `Taps` and fails a read that
/// waits longer than `read_timeout`.
pub(super) struct Wire<S> {
    inner: S,
    read_timeout: Duration,
    idle: Option<Pin<Box<Sleep>>>,
    taps: Arc<Mutex<Taps>>,
}

impl<S> Wire<S> {
    pub fn new(inner: S, read_timeout: Duration, taps: Arc<Mutex<Taps>>) -> Self {
        Self {
            inner,
            read_timeout,
            idle: None,
            taps,
        }
    }

    fn tap_read(&self, bytes: &[u8]) {
        let Ok(mut taps) = self.taps.lock() else {
            return;
        };
        if taps.head_done || bytes.is_empty() {
            return;
        }
        // A 1xx head before the final one is read past, so room for two.
        let room = (2 * HEAD_LIMIT).saturating_sub(taps.read.len());
        let from = taps.read.len().saturating_sub(2);
        taps.read
            .extend_from_slice(bytes.get(..bytes.len().min(room)).unwrap_or_default());
        let tail = taps.read.get(from..).unwrap_or_default();
        let may_end = memchr::memmem::find(tail, b"\n\n").is_some()
            || memchr::memmem::find(tail, b"\n\r\n").is_some();
        if may_end {
            if let Some(end) = final_head_end(&taps.read) {
                taps.read.truncate(end);
                taps.head_done = true;
            }
        }
    }

    fn tap_write(&self, bytes: &[u8]) {
        if let Ok(mut taps) = self.taps.lock() {
            taps.sent.get_or_insert_with(Instant::now);
            let room = REQUEST_LIMIT.saturating_sub(taps.written.len());
            taps.written
                .extend_from_slice(bytes.get(..bytes.len().min(room)).unwrap_or_default());
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Wire<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let at_most = buf.remaining().min(READ_AT_MOST);
        let mut part = ReadBuf::new(buf.initialize_unfilled_to(at_most));
        let polled = Pin::new(&mut this.inner).poll_read(cx, &mut part);
        let read = part.filled().len();
        match polled {
            Poll::Ready(result) => {
                this.idle = None;
                if result.is_ok() {
                    buf.advance(read);
                    this.tap_read(buf.filled().get(before..).unwrap_or_default());
                }
                Poll::Ready(result)
            }
            Poll::Pending => {
                let wait = this.read_timeout;
                let idle = this
                    .idle
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(wait)));
                match idle.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        this.idle = None;
                        Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "no bytes within the read timeout",
                        )))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Wire<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &result {
            this.tap_write(buf.get(..*n).unwrap_or_default());
        }
        result
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The parser settings, the same as the HTTP client's (its defaults).
fn parser() -> httparse::ParserConfig {
    httparse::ParserConfig::default()
}

/// One complete response head at the start of `bytes`: its length and status.
fn one_head(bytes: &[u8]) -> Option<(usize, u16)> {
    let mut headers = vec![httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    match parser().parse_response(&mut response, bytes) {
        Ok(httparse::Status::Complete(len)) => Some((len, response.code.unwrap_or(0))),
        _ => None,
    }
}

/// Where the final response head lies, from its first byte to past its
/// blank line: past any 1xx heads (`100 Continue`, `103 Early Hints`) the
/// client reads and skips.
fn final_head(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut start = 0;
    loop {
        let (len, code) = one_head(bytes.get(start..)?)?;
        if !(100..200).contains(&code) || code == 101 {
            return Some((start, start + len));
        }
        start += len;
    }
}

fn final_head_end(bytes: &[u8]) -> Option<usize> {
    final_head(bytes).map(|(_, end)| end)
}

/// A response head as it came off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Head {
    pub status: u16,
    /// Header names lowercased, values as sent, in the order sent.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The status line and header lines byte for byte, less any
    /// `Transfer-Encoding` line: the body stored after the head is
    /// de-chunked, and a chunked label would make readers mis-parse it.
    pub warc_head: Vec<u8>,
}

/// The final response head among the bytes read, or `None` when they hold
/// no complete one.
pub(super) fn read_head(read: &[u8]) -> Option<Head> {
    let (start, end) = final_head(read)?;
    let raw = read.get(start..end)?;
    let mut headers = vec![httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    parser().parse_response(&mut response, raw).ok()?;
    let status = response.code?;
    let headers = response
        .headers
        .iter()
        .map(|h| (h.name.to_ascii_lowercase(), h.value.to_vec()))
        .collect();
    Some(Head {
        status,
        headers,
        warc_head: without_transfer_encoding(raw),
    })
}

/// The head's lines as sent, less those naming `Transfer-Encoding`.
fn without_transfer_encoding(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, line) in raw.split_inclusive(|&b| b == b'\n').enumerate() {
        let name = line.split(|&b| b == b':').next().unwrap_or_default();
        if i > 0 && name.trim_ascii().eq_ignore_ascii_case(b"transfer-encoding") {
            continue;
        }
        out.extend_from_slice(line);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_head_is_cut_from_the_bytes_as_sent() {
        let read = b"HTTP/1.1 200 Alles Gut\r\nX-Zeta: 1\r\nContent-TYPE: text/html\r\nTransfer-Encoding: chunked\r\nset-cookie: a=1\r\n\r\n5\r\nhello";
        let head = read_head(read).unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(
            head.warc_head,
            b"HTTP/1.1 200 Alles Gut\r\nX-Zeta: 1\r\nContent-TYPE: text/html\r\nset-cookie: a=1\r\n\r\n"
        );
        let names: Vec<&str> = head.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            ["x-zeta", "content-type", "transfer-encoding", "set-cookie"]
        );
    }

    /// A read never takes more than `READ_AT_MOST`, however much is there
    /// and however much room the reader offers, and loses no byte.
    #[tokio::test]
    async fn a_read_takes_a_bounded_part_of_what_is_there() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let sent: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let (mut far, near) = tokio::io::duplex(512 * 1024);
        far.write_all(&sent).await.unwrap();
        drop(far);
        let taps = Arc::new(Mutex::new(Taps::default()));
        let mut wire = Wire::new(near, Duration::from_secs(5), taps);
        let (mut got, mut room) = (Vec::new(), vec![0u8; 256 * 1024]);
        loop {
            let n = wire.read(&mut room).await.unwrap();
            if n == 0 {
                break;
            }
            assert!(n <= READ_AT_MOST, "one read took {n} bytes");
            got.extend_from_slice(&room[..n]);
        }
        assert_eq!(got, sent);
    }

    #[test]
    fn informational_heads_are_read_past() {
        let read = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.0 404 Nope\r\nServer: x\r\n\r\nbody";
        assert_eq!(final_head_end(read), Some(read.len() - 4));
        let head = read_head(read).unwrap();
        assert_eq!(head.status, 404);
        assert_eq!(head.warc_head, b"HTTP/1.0 404 Nope\r\nServer: x\r\n\r\n");
    }

    #[test]
    fn an_incomplete_head_is_none() {
        assert_eq!(read_head(b"HTTP/1.1 200 OK\r\nA: b\r\n"), None);
        assert_eq!(read_head(b"garbage\r\n\r\n"), None);
    }
}
