//! Kept-alive connections: at most one idle per scheme, host, port and TLS
//! stack (the crawl has one request in flight per host), so that a host's
//! next page costs no new TCP and TLS handshake. An idle connection is
//! closed by the server's keep-alive timeout or, at the latest, by the read
//! timeout of the stream under it.

use std::collections::HashMap;
use std::sync::Mutex;

use url::Url;

use super::connect::Tls;
use super::exchange::Conn;

/// Most idle connections kept, over all hosts.
const MAX_IDLE: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Key {
    scheme: String,
    host: String,
    port: u16,
    tls: Tls,
}

impl Key {
    pub fn new(url: &Url, tls: Tls) -> Self {
        Self {
            scheme: url.scheme().to_string(),
            host: url.host_str().unwrap_or_default().to_ascii_lowercase(),
            port: url.port_or_known_default().unwrap_or(0),
            tls,
        }
    }
}

#[derive(Default)]
pub(super) struct Pool {
    idle: Mutex<HashMap<Key, Conn>>,
}

impl Pool {
    /// The idle connection for `key`, if there is one that can take a
    /// request now.
    pub async fn take(&self, key: &Key) -> Option<Conn> {
        let mut conn = self.idle.lock().ok()?.remove(key)?;
        conn.ready().await.then_some(conn)
    }

    /// Keep `conn` for the next request to `key`.
    pub fn put(&self, key: Key, conn: Conn) {
        let Ok(mut idle) = self.idle.lock() else {
            return;
        };
        if idle.len() >= MAX_IDLE {
            idle.retain(|_, c| !c.is_closed());
        }
        if idle.len() < MAX_IDLE || idle.contains_key(&key) {
            idle.insert(key, conn);
        }
    }
}
