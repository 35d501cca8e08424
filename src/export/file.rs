//! An export file on its way to disk: its bytes counted and digested
//! (SHA-256) as they are written, so that the manifest never reads a file
//! back. [`Behind`] does the writing and digesting on a thread of its own,
//! for a sink whose formatting alone is as long as both.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};

use super::ExportError;
use crate::import::store::hex;

/// What was written to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub bytes: u64,
    /// Lowercase hex.
    pub sha256: String,
}

/// A file written through a digest.
pub struct Digested {
    file: File,
    hasher: Sha256,
    bytes: u64,
}

impl Digested {
    pub fn create(path: &Path) -> Result<Self, ExportError> {
        let file = File::create(path).map_err(|source| io_error(path, source))?;
        Ok(Self {
            file,
            hasher: Sha256::new(),
            bytes: 0,
        })
    }

    /// Flush to the file; what was written.
    pub fn finish(mut self) -> io::Result<Written> {
        self.file.flush()?;
        Ok(Written {
            bytes: self.bytes,
            sha256: hex(&self.hasher.finalize()),
        })
    }
}

impl Write for Digested {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(buf.get(..n).unwrap_or(buf));
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

fn io_error(path: &Path, source: io::Error) -> ExportError {
    ExportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Bytes gathered before they are handed to the writing thread.
const CHUNK: usize = 256 * 1024;

/// Chunks handed over and not yet written.
const QUEUED: usize = 4;

/// A [`Digested`] file written on a thread of its own: the caller fills
/// [`Behind::buffer`] and calls [`Behind::hand_over`] after each piece; full
/// chunks go to the thread, and come back empty to be filled again.
pub struct Behind {
    path: PathBuf,
    buf: Vec<u8>,
    /// `None` once closed.
    chunks: Option<SyncSender<Vec<u8>>>,
    /// Chunks written, to be reused.
    spare: Receiver<Vec<u8>>,
    thread: Option<JoinHandle<io::Result<Written>>>,
}

impl Behind {
    pub fn create(path: &Path) -> Result<Self, ExportError> {
        let mut file = Digested::create(path)?;
        let (chunks, queue) = sync_channel::<Vec<u8>>(QUEUED);
        let (give_back, spare) = sync_channel::<Vec<u8>>(QUEUED + 2);
        let thread = std::thread::Builder::new()
            .name("export-file".into())
            .spawn(move || {
                for mut chunk in queue {
                    file.write_all(&chunk)?;
                    chunk.clear();
                    // A full return queue: the chunk is dropped instead.
                    let _ = give_back.try_send(chunk);
                }
                file.finish()
            })
            .map_err(|source| io_error(path, source))?;
        Ok(Self {
            path: path.to_path_buf(),
            buf: Vec::with_capacity(CHUNK + CHUNK / 4),
            chunks: Some(chunks),
            spare,
            thread: Some(thread),
        })
    }

    /// The chunk being filled.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Hand the chunk to the writing thread once it is full.
    pub fn hand_over(&mut self) -> Result<(), ExportError> {
        if self.buf.len() < CHUNK {
            return Ok(());
        }
        let next = self
            .spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK + CHUNK / 4));
        let full = std::mem::replace(&mut self.buf, next);
        match self.chunks.as_ref().map(|c| c.send(full)) {
            Some(Ok(())) => Ok(()),
            // The thread stopped: its error says why.
            _ => self.close().map(|_| ()),
        }
    }

    /// Write what is left and wait for the file to be flushed.
    pub fn finish(mut self) -> Result<Written, ExportError> {
        let last = std::mem::take(&mut self.buf);
        if !last.is_empty() {
            if let Some(chunks) = &self.chunks {
                // A failed send: the thread stopped, and `close` says why.
                let _ = chunks.send(last);
            }
        }
        self.close()
    }

    fn close(&mut self) -> Result<Written, ExportError> {
        self.chunks = None;
        let stopped = || io::Error::other("the thread writing the file stopped");
        let result = match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) | None => Err(stopped()),
        };
        result.map_err(|source| io_error(&self.path, source))
    }
}

impl Drop for Behind {
    /// A file given up on (a failed export) waits for its thread, so that
    /// nothing is written after the partial file is removed.
    fn drop(&mut self) {
        self.chunks = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_is_counted_and_digested() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let mut behind = Behind::create(&path).unwrap();
        let line = b"0123456789abcdef\n";
        for _ in 0..40_000 {
            behind.buffer().extend_from_slice(line);
            behind.hand_over().unwrap();
        }
        let written = behind.finish().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(written.bytes, 40_000 * line.len() as u64);
        assert_eq!(bytes.len() as u64, written.bytes);
        assert_eq!(written.sha256, hex(&Sha256::digest(&bytes)));
        // SHA-256 of the empty string, as `sha256sum` gives it.
        let empty = Digested::create(&dir.path().join("e")).unwrap();
        assert_eq!(
            empty.finish().unwrap().sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn a_full_disk_is_an_error_naming_the_file() {
        let full = Path::new("/dev/full");
        if !full.exists() {
            return;
        }
        let mut behind = Behind::create(full).unwrap();
        let mut failed = None;
        for _ in 0..64 {
            behind.buffer().extend_from_slice(&[b'x'; 64 * 1024]);
            if let Err(e) = behind.hand_over() {
                failed = Some(e);
                break;
            }
        }
        let e = match failed {
            Some(e) => e,
            None => behind.finish().unwrap_err(),
        };
        assert!(e.to_string().starts_with("/dev/full: "), "{e}");
    }
}
