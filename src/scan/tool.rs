//! The outside programs a scan is read with (`pdftoppm`, `tesseract`), run
//! to completion within a deadline: their output is read by threads that
//! report when the program closes it, the caller waits on that report with a
//! timeout, and a program past its deadline is killed and reaped.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Why a program gave nothing usable.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("{program} is not installed (Debian: apt-get install {package})")]
    Missing {
        program: &'static str,
        package: &'static str,
    },
    #[error("{program} did not finish within {secs} s")]
    TimedOut { program: &'static str, secs: u64 },
    #[error("{program} failed: {message}")]
    Failed {
        program: &'static str,
        message: String,
    },
}

/// A program, the Debian package that brings it, its arguments.
pub struct Tool {
    pub program: &'static str,
    pub package: &'static str,
}

impl Tool {
    /// Run with `args` (and `env`), and return its standard output once it
    /// has exited successfully.
    pub fn run(
        &self,
        args: &[&std::ffi::OsStr],
        env: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<Vec<u8>, ToolError> {
        let failed = |message: String| ToolError::Failed {
            program: self.program,
            message,
        };
        let mut child = Command::new(self.program)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => ToolError::Missing {
                    program: self.program,
                    package: self.package,
                },
                _ => failed(e.to_string()),
            })?;
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().map(|s| drain(s, tx.clone()));
        let err = child.stderr.take().map(|s| drain(s, tx));
        // Both pipes close when the program exits (or closes them).
        let mut closed = 0;
        let expected = usize::from(out.is_some()) + usize::from(err.is_some());
        let deadline = std::time::Instant::now() + timeout;
        while closed < expected {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(()) => closed += 1,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(ToolError::TimedOut {
                        program: self.program,
                        secs: timeout.as_secs(),
                    });
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        let status = child.wait().map_err(|e| failed(e.to_string()))?;
        let stdout = out.and_then(|h| h.join().ok()).unwrap_or_default();
        let stderr = err.and_then(|h| h.join().ok()).unwrap_or_default();
        if !status.success() {
            let message = String::from_utf8_lossy(&stderr).trim().to_string();
            return Err(failed(if message.is_empty() {
                status.to_string()
            } else {
                message
            }));
        }
        Ok(stdout)
    }
}

/// Read a pipe to its end on a thread, then say so.
fn drain(
    mut pipe: impl Read + Send + 'static,
    done: mpsc::Sender<()>,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        let _ = done.send(());
        buf
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_is_named_with_its_package() {
        let tool = Tool {
            program: "nianbao-no-such-program",
            package: "no-such-package",
        };
        let err = tool.run(&[], &[], Duration::from_secs(5)).unwrap_err();
        assert!(matches!(err, ToolError::Missing { .. }));
        assert!(err.to_string().contains("no-such-package"), "{err}");
    }

    #[test]
    fn a_slow_program_is_killed_at_its_deadline() {
        let tool = Tool {
            program: "sleep",
            package: "coreutils",
        };
        let started = std::time::Instant::now();
        let err = tool
            .run(&["30".as_ref()], &[], Duration::from_millis(300))
            .unwrap_err();
        assert!(matches!(err, ToolError::TimedOut { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
