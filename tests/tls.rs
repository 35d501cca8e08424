//! Old TLS: a server that offers only TLS 1.2 with RSA key exchange (no
//! forward secrecy), as many government servers still do. rustls refuses it;
//! the fetcher falls back to native TLS for that host and archives the page.
#![allow(clippy::expect_used, clippy::unwrap_used)] // test code: a panic is a failure report

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nianbao::fetch::{Conditional, FetchConfig, Fetcher};
use url::Url;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `openssl s_server -www` on a fresh self-signed certificate for
/// 127.0.0.1, with `extra` arguments; its port.
fn s_server(tmp: &std::path::Path, extra: &[&str]) -> (Killed, u16) {
    let (key, cert) = (tmp.join("k.pem"), tmp.join("c.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("the openssl command (Debian package openssl)");
    assert!(made.success());
    let port = free_port();
    let server = Killed(
        Command::new("openssl")
            .args(["s_server", "-quiet", "-www"])
            .args(extra)
            .arg("-accept")
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "s_server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, port)
}

#[tokio::test(flavor = "multi_thread")]
async fn old_tls_falls_back_to_native_tls() {
    let tmp = tempfile::tempdir().unwrap();
    let (_server, port) = s_server(tmp.path(), &["-tls1_2", "-cipher", "AES256-SHA"]);
    let fetcher = Fetcher::new(FetchConfig::default()).unwrap();
    let url = Url::parse(&format!("https://127.0.0.1:{port}/")).unwrap();
    let fetched = fetcher.get(&url, &Conditional::default()).await.unwrap();
    assert_eq!(fetched.status, 200);
    assert!(
        String::from_utf8_lossy(&fetched.body).contains("Cipher"),
        "the s_server status page"
    );
    assert!(
        fetcher.uses_native_tls("127.0.0.1"),
        "the host is remembered"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn modern_tls_is_spoken_by_rustls_and_the_head_kept_as_served() {
    let tmp = tempfile::tempdir().unwrap();
    let (_server, port) = s_server(tmp.path(), &[]);
    let url = Url::parse(&format!("https://127.0.0.1:{port}/")).unwrap();
    let fetcher = Fetcher::new(FetchConfig::default()).unwrap();
    let fetched = fetcher.get(&url, &Conditional::default()).await.unwrap();
    assert_eq!(fetched.status, 200);
    assert!(!fetcher.uses_native_tls("127.0.0.1"), "rustls was enough");
    // s_server's own head: HTTP/1.0, a lowercase reason, one header.
    assert_eq!(
        String::from_utf8_lossy(&fetched.response_head),
        "HTTP/1.0 200 ok\r\nContent-type: text/html\r\n\r\n"
    );
    assert!(String::from_utf8_lossy(&fetched.body).contains("TLSv1.3"));

    // A self-signed certificate is refused by both stacks when asked to.
    let strict = Fetcher::new(FetchConfig {
        accept_invalid_certs: false,
        ..FetchConfig::default()
    })
    .unwrap();
    let Err(e) = strict.get(&url, &Conditional::default()).await else {
        panic!("a self-signed certificate was taken");
    };
    assert_eq!(e.kind(), "connect", "{e}");
    assert!(e.to_string().contains("TLS handshake failed"), "{e}");
}
