//! The run configuration: a TOML file, validated once into typed values.
//!
//! Unknown keys are errors that name the key and its line, so that a typo
//! never silently falls back to a default. CLI flags override the file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::fetch::FetchConfig;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // The OS error is the source: printed once, by whoever prints the chain.
    #[error("cannot read config {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default = "default_archive")]
    archive: PathBuf,
    #[serde(default)]
    crawl: RawCrawl,
    #[serde(default)]
    sources: Vec<RawSource>,
}

fn default_archive() -> PathBuf {
    PathBuf::from("archive")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawCrawl {
    per_host_interval_ms: u64,
    max_concurrency: usize,
    obey_robots: bool,
    user_agent: String,
    connect_timeout_s: u64,
    read_timeout_s: u64,
    total_timeout_s: u64,
    max_body_mb: u64,
    max_redirects: usize,
    max_depth: u32,
    max_pages_per_source: u32,
    max_retries: u32,
    max_requests_per_second: u32,
    warc_max_file_mb: u64,
    accept_invalid_certs: bool,
    max_crawl_delay_s: u64,
    long_crawl_delay: String,
}

impl Default for RawCrawl {
    fn default() -> Self {
        Self {
            per_host_interval_ms: 1000,
            max_concurrency: 64,
            obey_robots: true,
            user_agent: concat!(
                "nianbao/",
                env!("CARGO_PKG_VERSION"),
                " (archival crawler of government information-disclosure annual reports)"
            )
            .into(),
            connect_timeout_s: 15,
            read_timeout_s: 30,
            total_timeout_s: 120,
            max_body_mb: 50,
            max_redirects: 10,
            max_depth: 4,
            max_pages_per_source: 500,
            max_retries: 3,
            max_requests_per_second: 0,
            warc_max_file_mb: 1024,
            accept_invalid_certs: true,
            max_crawl_delay_s: 60,
            long_crawl_delay: "skip".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: String,
    #[serde(default)]
    region: Option<String>,
    start: Vec<String>,
    #[serde(default)]
    allow_hosts: Vec<String>,
    #[serde(default)]
    render: bool,
}

/// Validated settings of a run.
#[derive(Debug, Clone)]
pub struct Config {
    pub archive: PathBuf,
    pub crawl: CrawlConfig,
    pub fetch: FetchConfig,
    pub sources: Vec<Source>,
}

#[derive(Debug, Clone)]
pub struct CrawlConfig {
    pub per_host_interval: Duration,
    pub max_concurrency: usize,
    pub obey_robots: bool,
    pub max_redirects: usize,
    pub max_depth: u32,
    pub max_pages_per_source: u32,
    pub max_retries: u32,
    /// Requests started per second across all hosts; 0 for no bound.
    pub max_requests_per_second: u32,
    pub warc_max_file_bytes: u64,
    /// A robots.txt `Crawl-delay` above this is reported, and the host
    /// skipped unless `obey_long_crawl_delay`.
    pub max_crawl_delay: Duration,
    pub obey_long_crawl_delay: bool,
}

/// One publishing agency and where its reports are listed.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    /// 行政区划代码, when known.
    pub region: Option<String>,
    pub start: Vec<Url>,
    /// Hosts besides those of the start URLs that links may lead to.
    pub allow_hosts: Vec<String>,
    /// Render listing pages that give no report links in headless Chromium.
    pub render: bool,
}

impl Config {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parse and validate; `path` names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| invalid(describe(text, &e)))?;
        let c = raw.crawl;
        if c.max_concurrency == 0 {
            return Err(invalid("crawl.max_concurrency must be at least 1".into()));
        }
        if c.user_agent.trim().is_empty() {
            return Err(invalid("crawl.user_agent must not be empty".into()));
        }
        let obey_long_crawl_delay = match c.long_crawl_delay.as_str() {
            "skip" => false,
            "obey" => true,
            other => {
                return Err(invalid(format!(
                    "crawl.long_crawl_delay must be \"skip\" or \"obey\", not {other:?}"
                )))
            }
        };
        let mut sources = Vec::new();
        for s in raw.sources {
            let mut start = Vec::new();
            for u in &s.start {
                let url = Url::parse(u)
                    .map_err(|e| invalid(format!("source {:?}: start URL {u:?}: {e}", s.name)))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(invalid(format!(
                        "source {:?}: start URL {u:?} is not http or https",
                        s.name
                    )));
                }
                start.push(url);
            }
            if start.is_empty() {
                return Err(invalid(format!("source {:?} has no start URL", s.name)));
            }
            sources.push(Source {
                name: s.name,
                region: s.region,
                start,
                allow_hosts: s.allow_hosts,
                render: s.render,
            });
        }
        let fetch = FetchConfig {
            user_agent: c.user_agent.clone(),
            connect_timeout: Duration::from_secs(c.connect_timeout_s.max(1)),
            read_timeout: Duration::from_secs(c.read_timeout_s.max(1)),
            total_timeout: Duration::from_secs(c.total_timeout_s.max(1)),
            max_body_bytes: c.max_body_mb.max(1) * 1024 * 1024,
            accept_invalid_certs: c.accept_invalid_certs,
        };
        Ok(Config {
            archive: raw.archive,
            crawl: CrawlConfig {
                per_host_interval: Duration::from_millis(c.per_host_interval_ms),
                max_concurrency: c.max_concurrency,
                obey_robots: c.obey_robots,
                max_redirects: c.max_redirects,
                max_depth: c.max_depth,
                max_pages_per_source: c.max_pages_per_source,
                max_retries: c.max_retries,
                max_requests_per_second: c.max_requests_per_second,
                warc_max_file_bytes: c.warc_max_file_mb.max(1) * 1024 * 1024,
                max_crawl_delay: Duration::from_secs(c.max_crawl_delay_s),
                obey_long_crawl_delay,
            },
            fetch,
            sources,
        })
    }

    /// Settings for a one-off fetch when no config file is given.
    pub fn defaults() -> Self {
        // The empty document always parses.
        Self::parse("", Path::new("<defaults>")).unwrap_or_else(|_| unreachable!())
    }
}

/// A TOML error with its line number spelled out.
fn describe(text: &str, e: &toml::de::Error) -> String {
    let line = e.span().map(|span| {
        text.bytes()
            .take(span.start)
            .filter(|b| *b == b'\n')
            .count()
            + 1
    });
    let message = e.message().to_string();
    match line {
        Some(line) => format!("line {line}: {message}"),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_names_key_and_line() {
        let text = "archive = \"a\"\n[crawl]\nper_host_interval_ms = 10\nmax_concurency = 3\n";
        let err = Config::parse(text, Path::new("x.toml"))
            .err()
            .map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains("max_concurency"), "{err}");
        assert!(err.contains("line 4"), "{err}");
    }

    #[test]
    fn shipped_configs_parse() {
        for file in ["config/nianbao.toml", "config/example.toml"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
            let config = Config::load(&path);
            assert!(config.is_ok(), "{file}: {:?}", config.err());
            let sources = config.map(|c| c.sources.len()).unwrap_or_default();
            assert!(sources >= 1, "{file} names no source");
        }
    }

    #[test]
    fn defaults_are_polite() {
        let c = Config::defaults();
        assert_eq!(c.crawl.per_host_interval, Duration::from_secs(1));
        assert!(c.crawl.obey_robots);
    }
}
