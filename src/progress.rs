//! Progress bars on a terminal, nothing otherwise: a run from cron or a timer
//! logs through `tracing` instead. Log lines are written through [`LogWriter`],
//! which lifts the bar out of the way, so no warning breaks it.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};

/// The bar on screen, if any: log lines are printed above it.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// A bar of `len` steps, hidden when stderr is not a terminal.
pub fn bar(len: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} ({eta} left)")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    show(&bar);
    bar
}

/// The crawl's bar: pages done of the pages known (the total grows as
/// listings are read), the rate, the time left at that rate, and the page
/// being read. `done` counts what an interrupted run already did.
pub fn crawl(done: u64, known: u64) -> ProgressBar {
    let bar = ProgressBar::new(known.max(done));
    bar.set_position(done);
    bar.reset_eta();
    let style =
        ProgressStyle::with_template("{spinner} {pos}/{len} pages  {rate}  ETA {eta}  {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .with_key(
                "rate",
                |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.1} pages/s", state.per_sec());
                },
            );
    bar.set_style(style);
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    show(&bar);
    bar
}

/// Take `bar` off the screen for good; log lines go straight to stderr again.
pub fn done(bar: &ProgressBar) {
    bar.finish_and_clear();
    if let Ok(mut active) = ACTIVE.lock() {
        *active = None;
    }
}

/// Print `text` above the bar on screen (or plainly when there is none).
pub fn print_above(text: &str) {
    write_above(text.as_bytes());
}

fn show(bar: &ProgressBar) {
    if let Ok(mut active) = ACTIVE.lock() {
        *active = Some(bar.clone());
    }
}

fn write_above(bytes: &[u8]) {
    let active = ACTIVE.lock().ok().and_then(|a| a.clone());
    let write = || {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(bytes);
        let _ = err.flush();
    };
    match active {
        Some(bar) if !bar.is_finished() => bar.suspend(write),
        _ => write(),
    }
}

/// The `tracing` writer: one event is gathered, then written in one piece
/// above the bar on screen.
#[derive(Default)]
pub struct LogWriter;

/// One log event on its way to stderr.
pub struct LogLine(Vec<u8>);

impl Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            write_above(&self.0);
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogLine;

    fn make_writer(&'a self) -> LogLine {
        LogLine(Vec::new())
    }
}
