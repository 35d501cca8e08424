//! SIGINT and SIGTERM: a crawl stops starting requests, lets those in
//! flight finish for a few seconds (then cuts them), and ends like any run:
//! summary, CDXJ indexes, lock released; the next start resumes it. A second
//! Ctrl-C ends the process at once.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long requests in flight may run after the first signal.
pub const GRACE: Duration = Duration::from_secs(3);

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

static SIGNAL: AtomicI32 = AtomicI32::new(0);
static AT: OnceLock<Instant> = OnceLock::new();
/// Wakes a scheduler waiting for events when a stop is asked for.
static WAKE: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// The signal that asked the run to stop, if one did.
pub fn requested() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        n => Some(n),
    }
}

/// The exit code for a run stopped by `signal` (128 + its number).
pub fn exit_code(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(1)
}

/// The name of a signal, for the summary.
pub fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// Ask the run to stop, as a signal would.
pub fn request(signal: i32) {
    if SIGNAL
        .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
    {
        let _ = AT.set(Instant::now());
        WAKE.notify_waiters();
    }
}

/// Resolves once a stop has been asked for.
pub async fn stop_requested() {
    let notified = WAKE.notified();
    tokio::pin!(notified);
    notified.as_mut().enable();
    if requested().is_some() {
        return;
    }
    notified.await;
}

/// Resolves when the grace period after the stop request is over (never
/// when no stop was requested).
pub async fn grace_over() {
    match AT.get() {
        Some(at) => tokio::time::sleep_until((*at + GRACE).into()).await,
        None => std::future::pending().await,
    }
}

/// Listen for SIGINT and SIGTERM (inside a tokio runtime). Without a
/// listener the default action (end at once) stays.
pub fn install() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            tracing::warn!("cannot listen for SIGINT/SIGTERM: they end the run at once");
            return;
        };
        tokio::spawn(async move {
            loop {
                let got = tokio::select! {
                    _ = int.recv() => SIGINT,
                    _ = term.recv() => SIGTERM,
                };
                if got == SIGINT && requested().is_some() {
                    eprintln!("interrupted again: stopping now");
                    std::process::exit(i32::from(exit_code(SIGINT)));
                }
                eprintln!(
                    "{}: finishing the requests in flight (at most {}s), then stopping; Ctrl-C again to stop now",
                    name(got),
                    GRACE.as_secs()
                );
                request(got);
            }
        });
    }
}
