//! A real HTTP/1.1 server on loopback for the tests: raw control over every
//! byte it sends (charsets, chunking, lying headers, slow bodies), and a log
//! of every request it received, with the time it arrived.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    /// `GET`, `POST`, …
    pub method: String,
    pub headers: Vec<(String, String)>,
    /// The request body (a POST's form), read by its Content-Length.
    pub body: Vec<u8>,
    pub at: Instant,
    /// The status the server answered with.
    pub status: u16,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What to answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Send the body with `Transfer-Encoding: chunked`, in this many pieces.
    pub chunks: Option<usize>,
    /// Wait this long before answering.
    pub delay: Duration,
    /// Header values sent as raw bytes (GBK from IIS, say).
    pub raw_headers: Vec<(String, Vec<u8>)>,
}

impl Reply {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        let mut headers = Vec::new();
        if !content_type.is_empty() {
            headers.push(("Content-Type".to_string(), content_type.to_string()));
        }
        Self {
            status,
            headers,
            body: body.into(),
            chunks: None,
            delay: Duration::ZERO,
            raw_headers: Vec::new(),
        }
    }

    pub fn html(body: impl Into<Vec<u8>>) -> Self {
        Self::new(200, "text/html; charset=utf-8", body)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn raw_header(mut self, name: &str, value: &[u8]) -> Self {
        self.raw_headers.push((name.to_string(), value.to_vec()));
        self
    }

    pub fn chunked(mut self, pieces: usize) -> Self {
        self.chunks = Some(pieces.max(1));
        self
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn redirect(status: u16, location: &str) -> Self {
        Self::new(status, "text/html", "").header("Location", location)
    }
}

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

/// A running server; stops when dropped with the test's runtime.
pub struct Server {
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<Seen>>>,
    handler: Arc<Handler>,
    /// The accept loop and every connection, so that `down` can close them.
    tasks: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Server {
    /// Serve fixed routes (path with query → reply); anything else is 404.
    pub async fn routes(ip: &str, routes: Vec<(&str, Reply)>) -> Server {
        let map: HashMap<String, Reply> = routes
            .into_iter()
            .map(|(p, r)| (p.to_string(), r))
            .collect();
        Self::start(ip, move |seen: &Seen| {
            map.get(&seen.path)
                .cloned()
                .unwrap_or_else(|| Reply::new(404, "text/plain", "not found"))
        })
        .await
    }

    /// Serve by a handler.
    pub async fn start(
        ip: &str,
        handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
    ) -> Server {
        let ip: IpAddr = ip.parse().expect("test IP");
        let listener = TcpListener::bind((ip, 0)).await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let server = Server {
            addr,
            log: Arc::new(Mutex::new(Vec::new())),
            handler: Arc::new(handler),
            tasks: Arc::new(Mutex::new(Vec::new())),
        };
        server.listen(listener);
        server
    }

    fn listen(&self, listener: TcpListener) {
        let handler = self.handler.clone();
        let log = self.log.clone();
        let tasks = self.tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let handler = handler.clone();
                let log = log.clone();
                let conn = tokio::spawn(async move {
                    let _ = serve(stream, handler, log).await;
                });
                tasks.lock().expect("tasks").push(conn.abort_handle());
            }
        });
        self.tasks
            .lock()
            .expect("tasks")
            .push(accept.abort_handle());
    }

    /// Close the listener and every open connection: the host is down and
    /// refuses connections until `up`.
    pub async fn down(&self) {
        let tasks: Vec<_> = self.tasks.lock().expect("tasks").drain(..).collect();
        for task in tasks {
            task.abort();
        }
        // Let the aborted tasks drop their sockets.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    /// Listen again on the same address after `down`.
    pub async fn up(&self) {
        for _ in 0..100 {
            if let Ok(listener) = TcpListener::bind(self.addr).await {
                self.listen(listener);
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("cannot listen on {} again", self.addr);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().expect("log").clone()
    }

    pub fn hits(&self, path: &str) -> usize {
        self.seen().iter().filter(|s| s.path == path).count()
    }
}

async fn serve(
    mut stream: TcpStream,
    handler: Arc<Handler>,
    log: Arc<Mutex<Vec<Seen>>>,
) -> std::io::Result<()> {
    loop {
        let mut buf = Vec::new();
        let mut byte = [0u8; 1024];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            let n = stream.read(&mut byte).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&byte[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default();
        let method = request_line.split(' ').next().unwrap_or("GET").to_string();
        let path = request_line.split(' ').nth(1).unwrap_or("/").to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = buf[head_end + 4..].to_vec();
        while body.len() < length {
            let n = stream.read(&mut byte).await?;
            if n == 0 {
                return Ok(());
            }
            body.extend_from_slice(&byte[..n]);
        }
        body.truncate(length);
        let mut seen = Seen {
            path,
            method,
            headers,
            body,
            at: Instant::now(),
            status: 0,
        };
        let reply = handler(&seen);
        seen.status = reply.status;
        log.lock().expect("log").push(seen);
        if !reply.delay.is_zero() {
            tokio::time::sleep(reply.delay).await;
        }
        stream.write_all(&encode(&reply)).await?;
        stream.flush().await?;
    }
}

fn encode(reply: &Reply) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {} X\r\n", reply.status).into_bytes();
    for (k, v) in &reply.headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    for (k, v) in &reply.raw_headers {
        out.extend_from_slice(format!("{k}: ").as_bytes());
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    }
    match reply.chunks {
        Some(pieces) => {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            let size = reply.body.len().div_ceil(pieces).max(1);
            for chunk in reply.body.chunks(size) {
                out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
        }
        None => {
            out.extend_from_slice(
                format!("Content-Length: {}\r\n\r\n", reply.body.len()).as_bytes(),
            );
            out.extend_from_slice(&reply.body);
        }
    }
    out
}

/// Encode text as GBK (GB18030) bytes, as old government sites serve it.
pub fn gbk(text: &str) -> Vec<u8> {
    encoding_rs::GB18030.encode(text).0.into_owned()
}

/// Incompressible bytes (xorshift64), NULs and all.
pub fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

/// The `nianbao crawl` command on a config, quiet and without a terminal.
pub fn crawl_command(config: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_nianbao"));
    cmd.arg("--config")
        .arg(config)
        .arg("crawl")
        .arg("--no-progress")
        .env("NIANBAO_LOG", "warn")
        .stdin(std::process::Stdio::null());
    cmd
}

/// A listing of `n` report pages (no tables in them), each answered after `delay`.
pub fn report_listing(
    n: usize,
    delay: Duration,
) -> impl Fn(&Seen) -> Reply + Send + Sync + 'static {
    move |seen| {
        match seen.path.as_str() {
        "/robots.txt" => Reply::new(404, "text/plain", "none"),
        "/nb/index.html" => {
            let items: String = (0..n)
                .map(|i| format!("<li><a href=\"r{i}.html\">第{i}区2021年政府信息公开工作年度报告</a></li>"))
                .collect();
            Reply::html(format!("<html><body><ul>{items}</ul></body></html>"))
        }
        p if p.starts_with("/nb/r") => Reply::html(format!(
            "<html><body><h1>第{p}区2021年政府信息公开工作年度报告</h1><p>本年新收政府信息公开申请数量</p></body></html>"
        ))
        .delayed(delay),
        _ => Reply::new(404, "text/plain", "not found"),
    }
    }
}

pub fn crawl_config(dir: &std::path::Path, name: &str, start: &str) -> std::path::PathBuf {
    let text = format!(
        "archive = {:?}\n[crawl]\nuser_agent = \"nianbao-test/1.0\"\ntotal_timeout_s = 60\n\
         read_timeout_s = 60\nconnect_timeout_s = 2\nper_host_interval_ms = 0\nmax_concurrency = 2\n\
         max_pages_per_source = 100\n\n[[sources]]\nname = \"{name}\"\nstart = [\"{start}\"]\n",
        dir.join("archive").display().to_string()
    );
    let path = dir.join("c.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Keep the WARC files a test wrote where CI runs independent readers
/// (warcio) on them, under `target/tmp/ci-warcs/<name>`.
pub fn keep_for_ci(dir: &std::path::Path, name: &str) {
    let keep = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("ci-warcs")
        .join(name);
    let _ = std::fs::remove_dir_all(&keep);
    std::fs::create_dir_all(&keep).expect("ci-warcs directory");
    for f in nianbao::warc::warc_files(dir).expect("WARC files") {
        if let Some(file_name) = f.file_name() {
            std::fs::copy(&f, keep.join(file_name)).expect("copy a WARC file");
        }
    }
}
