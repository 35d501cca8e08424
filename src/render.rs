//! Browser-assisted discovery: a listing page whose links only exist once
//! its scripts have run, rendered by headless Chromium and read from the
//! DOM it builds.
//!
//! Chromium runs as a child process (`--headless --dump-dom`), awaited with
//! a timeout and killed when it overruns. It may reach one host only, the
//! page's: every other request is sent to a proxy that is not there. Images
//! are not loaded. What it fetched is not archived: the links of its DOM go
//! to the frontier, and the crawl's fetcher archives the server's own bytes.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use url::Url;

/// The environment variable naming the Chromium binary, when not `chromium` on `PATH`.
pub const CHROMIUM_ENV: &str = "NIANBAO_CHROMIUM";
/// Names Chromium is installed under.
const CHROMIUM_NAMES: &[&str] = &["chromium", "chromium-browser", "google-chrome"];
/// Virtual time the page's scripts get (timers run ahead, no real wait).
const SCRIPT_BUDGET_MS: u32 = 5000;
/// The longest a render may take, start to exit.
pub const RENDER_TIMEOUT: Duration = Duration::from_secs(45);
/// A proxy address nothing listens on (the discard port on loopback):
/// requests to any host but the page's fail there.
const DEAD_PROXY: &str = "http://127.0.0.1:9";

/// Chromium processes at once: each takes a core and a few hundred MiB.
static RENDERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("rendering needs Chromium, which was not found (install the Debian package `chromium`: apt-get install chromium; or set {CHROMIUM_ENV} to its path)")]
    NotInstalled,
    #[error("Chromium {path} could not be started: {source}")]
    Start {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("Chromium did not finish rendering {url} within {}s", RENDER_TIMEOUT.as_secs())]
    Timeout { url: String },
    #[error("Chromium failed on {url}: {detail}")]
    Failed { url: String, detail: String },
}

/// The Chromium binary: `$NIANBAO_CHROMIUM`, else the first of the usual
/// names on `PATH`.
pub fn chromium() -> Result<PathBuf, RenderError> {
    if let Some(path) = std::env::var_os(CHROMIUM_ENV).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(RenderError::NotInstalled)
        };
    }
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&dirs)
        .flat_map(|dir| CHROMIUM_NAMES.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
        .ok_or(RenderError::NotInstalled)
}

/// Wait for one of the Chromium slots; held for the render.
pub async fn slot() -> Option<tokio::sync::SemaphorePermit<'static>> {
    // The semaphore is never closed.
    RENDERS.acquire().await.ok()
}

/// True when a listing page is worth rendering: it gave no report links
/// and has scripts that may build them.
pub fn worth_rendering(text: &str, candidates: usize) -> bool {
    candidates == 0 && text.to_ascii_lowercase().contains("<script")
}

/// The DOM of `url` after its scripts ran, as Chromium serialises it.
/// Chromium reaches the page's host and `also` (the source's other hosts)
/// and nothing else.
pub async fn dump_dom(url: &Url, user_agent: &str, also: &[String]) -> Result<String, RenderError> {
    let path = chromium()?;
    let profile = tempfile::tempdir().map_err(|source| RenderError::Start {
        path: path.clone(),
        source,
    })?;
    let mut reachable = vec![url.host_str().unwrap_or_default().to_string()];
    reachable.extend(also.iter().filter(|h| is_host_name(h)).cloned());
    let mut cmd = tokio::process::Command::new(&path);
    cmd.args([
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--metrics-recording-only",
        "--mute-audio",
        "--blink-settings=imagesEnabled=false",
    ])
    .arg(format!("--proxy-server={DEAD_PROXY}"))
    // `<-loopback>`: loopback hosts go through the proxy too, but the page's.
    .arg(format!(
        "--proxy-bypass-list=<-loopback>;{}",
        reachable.join(";")
    ))
    .arg(format!("--virtual-time-budget={SCRIPT_BUDGET_MS}"))
    .arg(format!("--user-agent={user_agent}"))
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .arg("--dump-dom")
    .arg(url.as_str())
    .env("HOME", profile.path())
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .kill_on_drop(true);
    let child = cmd.spawn().map_err(|source| RenderError::Start {
        path: path.clone(),
        source,
    })?;
    let output = tokio::time::timeout(RENDER_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| RenderError::Timeout {
            url: url.to_string(),
        })?
        .map_err(|e| RenderError::Failed {
            url: url.to_string(),
            detail: e.to_string(),
        })?;
    let dom = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() || dom.trim().is_empty() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let detail = stderr
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("no output")
            .to_string();
        return Err(RenderError::Failed {
            url: url.to_string(),
            detail: format!("{} ({detail})", output.status),
        });
    }
    Ok(dom)
}

/// A host name as a bypass rule may hold it: no separators or wildcards
/// that would widen the rule.
fn is_host_name(h: &str) -> bool {
    !h.is_empty()
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_empty_scripted_listings() {
        assert!(worth_rendering("<html><SCRIPT src=a.js></SCRIPT>", 0));
        assert!(!worth_rendering("<html><script></script>", 2));
        assert!(!worth_rendering("<html><p>无</p>", 0));
        assert!(is_host_name("files.example.gov.cn"));
        assert!(!is_host_name("*"));
        assert!(!is_host_name("a.cn;<-loopback>"));
    }
}
