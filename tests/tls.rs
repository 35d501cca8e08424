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

#[tokio::test(flavor = "multi_thread")]
async fn old_tls_falls_back_to_native_tls() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, cert) = (tmp.path().join("k.pem"), tmp.path().join("c.pem"));
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
    let _server = Killed(
        Command::new("openssl")
            .args([
                "s_server",
                "-quiet",
                "-www",
                "-tls1_2",
                "-cipher",
                "AES256-SHA",
            ])
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
