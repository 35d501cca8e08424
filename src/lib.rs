//! nianbao: an archival crawler for Chinese government information-disclosure
//! annual reports. See ARCHITECTURE.md for the map.
pub mod archive;
pub mod attachment;
pub mod config;
pub mod cookies;
pub mod crawl;
pub mod decode;
pub mod discover;
pub mod export;
pub mod extract;
pub mod fetch;
pub mod frontier;
pub mod import;
pub mod pipeline;
pub mod politeness;
pub mod progress;
pub mod reextract;
pub mod serve;
pub mod status;
pub mod summary;
pub mod warc;
pub mod writer;
