//! The cost of one fetch on loopback, head kept as served.
//!
//! A raw server on 127.0.0.1 answers every request with a head of H header
//! lines (mixed case) and a body of B bytes, on a kept-alive connection.
//! For each H, `nianbao`'s fetcher (the head taken from the bytes read)
//! gets the page N times in a row on its kept-alive connection; for H under
//! hyper's default of 100, so does a pooled reqwest client, for comparison.
//! Prints the mean time per fetch and the fetches per second.
//!
//!   cargo run --release --example bench_fetch -- [--fetches 2000] [--body 20000]
#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark: a panic is a failure report

use std::time::Instant;

use nianbao::fetch::{Conditional, FetchConfig, Fetcher};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn response(headers: usize, body: usize) -> Vec<u8> {
    let mut out = b"HTTP/1.1 200 Fine\r\nContent-Type: text/html\r\n".to_vec();
    for i in 0..headers.saturating_sub(2) {
        let name = if i % 2 == 0 { "X-Trace" } else { "x-TRACE" };
        out.extend_from_slice(format!("{name}-{i}: value number {i}\r\n").as_bytes());
    }
    out.extend_from_slice(format!("Content-Length: {body}\r\n\r\n").as_bytes());
    out.extend(std::iter::repeat_n(b'x', body));
    out
}

/// A server answering every request on a connection with `reply`.
async fn serve(reply: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let reply = reply.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                    while let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                        got.drain(..end + 4);
                        if s.write_all(&reply).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    format!("http://{addr}/nb/2021.html")
}

#[tokio::main]
async fn main() {
    let fetches = arg("--fetches", 2000);
    let body = arg("--body", 20_000);
    println!("{fetches} sequential fetches of a {body}-byte body on loopback");
    println!(
        "{:>8} {:>24} {:>12} {:>10}",
        "headers", "client", "µs/fetch", "fetch/s"
    );
    for headers in [10, 99, 120, 300, 1000] {
        let url = Url::parse(&serve(response(headers, body)).await).unwrap();
        let fetcher = Fetcher::new(FetchConfig::default()).unwrap();
        let started = Instant::now();
        for _ in 0..fetches {
            let f = fetcher.get(&url, &Conditional::default()).await.unwrap();
            assert_eq!(f.body.len(), body);
            assert_eq!(f.headers.len(), headers);
        }
        report(headers, "nianbao (kept alive)", fetches, started);
        if headers < 100 {
            let client = reqwest::Client::builder().no_proxy().build().unwrap();
            let started = Instant::now();
            for _ in 0..fetches {
                let r = client.get(url.clone()).send().await.unwrap();
                assert_eq!(r.bytes().await.unwrap().len(), body);
            }
            report(headers, "reqwest (pooled)", fetches, started);
        }
    }
}

fn report(headers: usize, client: &str, fetches: usize, started: Instant) {
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{headers:>8} {client:>24} {:>12.0} {:>10.0}",
        secs * 1e6 / fetches as f64,
        fetches as f64 / secs
    );
}
