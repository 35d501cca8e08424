//! nianbao: an archival crawler for Chinese government information-disclosure
//! annual reports. See ARCHITECTURE.md for the map.
pub mod decode;
pub mod extract;
