//! A connection to a URL's host: name lookup, TCP (each address in turn)
//! and TLS — rustls, or the platform's native TLS for servers that speak only
//! what rustls refuses — all within the connect timeout.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use url::{Host, Url};

use super::{connect_cause, error_chain, FetchConfig, FetchError};

/// A byte stream to the server, plain or encrypted.
pub(super) trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// Which TLS stack an `https` connection uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Tls {
    Rustls,
    Native,
}

/// An open connection and the address it reached.
pub(super) struct Connected {
    pub stream: Box<dyn Io>,
    pub peer: SocketAddr,
}

/// Both TLS stacks, configured once.
pub(super) struct Connector {
    rustls: tokio_rustls::TlsConnector,
    native: tokio_native_tls::TlsConnector,
}

impl Connector {
    pub fn new(config: &FetchConfig) -> Result<Self, FetchError> {
        let native = native_tls::TlsConnector::builder()
            .danger_accept_invalid_certs(config.accept_invalid_certs)
            .danger_accept_invalid_hostnames(config.accept_invalid_certs)
            .build()
            .map_err(|e| FetchError::Client(format!("native TLS: {e}")))?;
        Ok(Self {
            rustls: tokio_rustls::TlsConnector::from(Arc::new(rustls_config(config)?)),
            native: tokio_native_tls::TlsConnector::from(native),
        })
    }

    /// Connect to `url`'s host and port, within `timeout`; `tls` is used for
    /// `https` only.
    pub async fn connect(
        &self,
        url: &Url,
        tls: Tls,
        timeout: Duration,
    ) -> Result<Connected, FetchError> {
        tokio::time::timeout(timeout, self.connect_now(url, tls))
            .await
            .map_err(|_| FetchError::Timeout {
                url: url.to_string(),
                stage: "connecting",
            })?
    }

    async fn connect_now(&self, url: &Url, tls: Tls) -> Result<Connected, FetchError> {
        let host = url.host_str().unwrap_or_default().to_string();
        let failed = |chain: String| FetchError::Connect {
            url: url.to_string(),
            detail: connect_cause(&host, &chain),
        };
        let (tcp, peer) = tcp(url).await.map_err(failed)?;
        if url.scheme() != "https" {
            return Ok(Connected {
                stream: Box::new(tcp),
                peer,
            });
        }
        let handshake =
            |e: &dyn std::error::Error| failed(format!("TLS handshake failed: {}", error_chain(e)));
        let stream: Box<dyn Io> = match tls {
            Tls::Rustls => {
                let name = server_name(url).ok_or_else(|| failed("no host name".into()))?;
                let stream = self.rustls.connect(name, tcp).await;
                Box::new(stream.map_err(|e| handshake(&e))?)
            }
            Tls::Native => {
                let domain = bare_host(url).unwrap_or_default();
                let stream = self.native.connect(&domain, tcp).await;
                Box::new(stream.map_err(|e| handshake(&e))?)
            }
        };
        Ok(Connected { stream, peer })
    }
}

/// The first address of the host that accepts a TCP connection. The error
/// text keeps the resolver's and the socket's words, which `connect_cause`
/// reads.
async fn tcp(url: &Url) -> Result<(TcpStream, SocketAddr), String> {
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs: Vec<SocketAddr> = match url.host() {
        Some(Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Some(Host::Domain(name)) => tokio::net::lookup_host((name, port))
            .await
            .map_err(|e| format!("dns error: {e}"))?
            .collect(),
        None => Vec::new(),
    };
    if addrs.is_empty() {
        return Err("dns error: failed to lookup address: no addresses".into());
    }
    let mut last = String::new();
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok((stream, addr));
            }
            Err(e) => last = format!("tcp connect error: {e}"),
        }
    }
    Err(last)
}

/// The host as a TLS server name: a DNS name (sent as SNI) or an IP address.
fn server_name(url: &Url) -> Option<ServerName<'static>> {
    match url.host()? {
        Host::Ipv4(ip) => Some(ServerName::IpAddress(IpAddr::V4(ip).into())),
        Host::Ipv6(ip) => Some(ServerName::IpAddress(IpAddr::V6(ip).into())),
        Host::Domain(name) => ServerName::try_from(name.to_string()).ok(),
    }
}

/// The host without the brackets of an IPv6 literal.
fn bare_host(url: &Url) -> Option<String> {
    Some(match url.host()? {
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => ip.to_string(),
        Host::Domain(name) => name.to_string(),
    })
}

/// rustls with the webpki roots, HTTP/1.1 by ALPN, and every certificate
/// taken when the config accepts invalid ones.
fn rustls_config(config: &FetchConfig) -> Result<rustls::ClientConfig, FetchError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| FetchError::Client(format!("rustls: {e}")))?;
    let mut tls = if config.accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate))
            .with_no_client_auth()
    } else {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tls)
}

/// Takes any certificate: an archive records what an expired or
/// mis-chained government certificate served.
#[derive(Debug)]
struct AnyCertificate;

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        use SignatureScheme::*;
        vec![
            RSA_PKCS1_SHA1,
            ECDSA_SHA1_Legacy,
            RSA_PKCS1_SHA256,
            ECDSA_NISTP256_SHA256,
            RSA_PKCS1_SHA384,
            ECDSA_NISTP384_SHA384,
            RSA_PKCS1_SHA512,
            ECDSA_NISTP521_SHA512,
            RSA_PSS_SHA256,
            RSA_PSS_SHA384,
            RSA_PSS_SHA512,
            ED25519,
            ED448,
        ]
    }
}
