//! `Content-Encoding` undone for reading: the body stays stored as sent, and
//! a copy is inflated for decoding and extraction. gzip, deflate (zlib, and
//! the raw stream some servers send under that name), br, and several
//! codings stacked (`gzip, gzip`), undone last first. A coding that cannot be
//! read is named, never guessed around silently.

use std::io::Read;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodingError {
    #[error("Content-Encoding {0:?} is not one nianbao reads")]
    Unknown(String),
    #[error("the body is not valid {0} data")]
    Corrupt(String),
}

/// Undo the codings listed in a `Content-Encoding` value, reading at most
/// `limit` bytes of the result.
pub fn decode(value: &str, body: &[u8], limit: u64) -> Result<Vec<u8>, CodingError> {
    let codings: Vec<String> = value
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty() && c != "identity")
        .collect();
    let mut current = body.to_vec();
    for coding in codings.iter().rev() {
        current = undo(coding, &current, limit)?;
    }
    current.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(current)
}

fn undo(coding: &str, body: &[u8], limit: u64) -> Result<Vec<u8>, CodingError> {
    let corrupt = || CodingError::Corrupt(coding.to_string());
    match coding {
        "gzip" | "x-gzip" => {
            read_all(flate2::read::MultiGzDecoder::new(body), limit).ok_or_else(corrupt)
        }
        "deflate" => read_all(flate2::read::ZlibDecoder::new(body), limit)
            .or_else(|| read_all(flate2::read::DeflateDecoder::new(body), limit))
            .ok_or_else(corrupt),
        "br" => read_all(
            brotli_decompressor::Decompressor::new(body, 64 * 1024),
            limit,
        )
        .ok_or_else(corrupt),
        other => Err(CodingError::Unknown(other.to_string())),
    }
}

/// Everything a decoder yields up to `limit`; `None` when it fails before
/// yielding anything (a body cut short still gives what it had).
fn read_all(reader: impl Read, limit: u64) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match reader.take(limit).read_to_end(&mut out) {
        Ok(_) => Some(out),
        Err(_) if !out.is_empty() => Some(out),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(b: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }

    /// A brotli stream of one uncompressed meta-block (RFC 7932 §9.2):
    /// WBITS 16, ISLAST 0, MNIBBLES 4, MLEN-1, ISUNCOMPRESSED 1, the bytes,
    /// then an empty last meta-block.
    pub fn brotli_stored(data: &[u8]) -> Vec<u8> {
        assert!(!data.is_empty() && data.len() <= 1 << 16);
        let mlen = (data.len() - 1) as u32;
        // Bits LSB first: 0 (WBITS), 0 (ISLAST), 00 (MNIBBLES), 16 bits, 1.
        let bits: u32 = (mlen << 4) | (1 << 20);
        let mut out = vec![bits as u8, (bits >> 8) as u8, (bits >> 16) as u8];
        out.extend_from_slice(data);
        out.push(0b11); // ISLAST, ISLASTEMPTY
        out
    }

    #[test]
    fn each_coding_and_stacks() {
        let text = "本年新收政府信息公开申请数量".repeat(50);
        let t = text.as_bytes();
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(t).unwrap();
        let zlib = z.finish().unwrap();
        let mut r = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        r.write_all(t).unwrap();
        let raw = r.finish().unwrap();
        let br = brotli_stored(t);
        assert_eq!(decode("br", &br, 1 << 20).unwrap(), t);
        assert_eq!(decode("br, gzip", &gzip(&br), 1 << 20).unwrap(), t);
        assert_eq!(decode("gzip", &gzip(t), 1 << 20).unwrap(), t);
        assert_eq!(decode("deflate", &zlib, 1 << 20).unwrap(), t);
        assert_eq!(decode("deflate", &raw, 1 << 20).unwrap(), t);
        assert_eq!(decode("gzip, gzip", &gzip(&gzip(t)), 1 << 20).unwrap(), t);
        assert_eq!(decode("deflate, gzip", &gzip(&zlib), 1 << 20).unwrap(), t);
        assert_eq!(decode("identity", t, 1 << 20).unwrap(), t);
        assert_eq!(
            decode("zstd", t, 1 << 20),
            Err(CodingError::Unknown("zstd".into()))
        );
        assert_eq!(
            decode("br", b"\xff\xff\xff not brotli", 1 << 20),
            Err(CodingError::Corrupt("br".into()))
        );
        assert_eq!(decode("gzip", &gzip(t), 10).unwrap().len(), 10);
    }
}
