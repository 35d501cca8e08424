//! The run lock: one crawl per archive at a time.
//!
//! A file `<archive>/nianbao.lock` holding the pid of the run. A lock whose
//! process is gone (or is no longer a nianbao) is stale and taken over.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

/// File name of the lock inside the archive directory.
pub const LOCK_FILE: &str = "nianbao.lock";

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another nianbao run (pid {pid}) is using this archive; it holds {path}. Wait for it to end (or remove the file if pid {pid} is not a nianbao)")]
    Held { path: PathBuf, pid: u32 },
    #[error("cannot take the run lock {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Held for the length of a run; the file is removed when dropped.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
}

impl RunLock {
    /// Take the lock of the archive in `dir`, taking over a stale one.
    pub fn acquire(dir: &Path) -> Result<Self, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let me = std::process::id();
        for _ in 0..3 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    file.write_all(format!("{me}\n").as_bytes())
                        .and_then(|()| file.sync_all())
                        .map_err(io)?;
                    return Ok(Self { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(e)),
            }
            let holder = std::fs::read_to_string(&path)
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok());
            match holder {
                Some(pid) if pid != me && is_running_nianbao(pid) => {
                    return Err(LockError::Held { path, pid });
                }
                _ => {
                    tracing::warn!(lock = %path.display(), pid = ?holder, "taking over a stale run lock");
                    match std::fs::remove_file(&path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(io(e)),
                    }
                }
            }
        }
        let pid = std::fs::read_to_string(&path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        Err(LockError::Held { path, pid })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let mine = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            == Some(std::process::id());
        if mine {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// True when `pid` is alive and looks like nianbao (a pid reused after a
/// reboot by another program does not hold the lock). Where `/proc` is
/// missing, any recorded pid is taken as alive.
fn is_running_nianbao(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if !proc.is_dir() {
        return true;
    }
    let Ok(cmdline) = std::fs::read(proc.join(pid.to_string()).join("cmdline")) else {
        return false;
    };
    let cmdline = String::from_utf8_lossy(&cmdline);
    let own = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "nianbao".into());
    cmdline.contains("nianbao") || cmdline.contains(&own)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_then_released_and_stale_taken_over() {
        let Ok(dir) = tempfile::tempdir() else { return };
        let first = RunLock::acquire(dir.path());
        assert!(first.is_ok());
        // Our own pid in the file: a second taker in this process takes over,
        // so simulate a live holder with pid 1 only when it is a nianbao.
        drop(first);
        assert!(!dir.path().join(LOCK_FILE).exists());
        std::fs::write(dir.path().join(LOCK_FILE), "4194303\n").ok();
        assert!(
            RunLock::acquire(dir.path()).is_ok(),
            "a dead pid's lock is stale"
        );
    }
}
