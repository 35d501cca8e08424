//! nianbao: an archival crawler for Chinese government information-disclosure
//! annual reports. See ARCHITECTURE.md for the map.
pub mod archive;
pub mod attachment;
pub mod coding;
pub mod config;
pub mod crawl;
pub mod decode;
pub mod discover;
pub mod disposition;
pub mod export;
pub mod extract;
pub mod fetch;
pub mod frontier;
pub mod integrity;
pub mod interrupt;
pub mod outcome;
pub mod pipeline;
pub mod politeness;
pub mod progress;
pub mod rebuild;
pub mod redirect_chain;
pub mod reextract;
pub mod summary;
pub mod warc;
