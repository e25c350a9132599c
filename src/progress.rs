//! Progress: a consumer of the writer's counters. On a terminal, an indicatif bar with
//! documents and chunks done, rate, tokens/s, ETA and the engine serving; otherwise a
//! plain log line every few seconds; nothing with `--quiet`. Log records are printed
//! above the bar (the tracing writer suspends it), so they never tear it.

use std::io::{IsTerminal, Write};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The bar, when one is shown; the log writer consults it.
static BAR: OnceLock<Mutex<Option<ProgressBar>>> = OnceLock::new();

fn bar_slot() -> &'static Mutex<Option<ProgressBar>> {
    BAR.get_or_init(|| Mutex::new(None))
}

/// A `tracing` writer that prints above the progress bar.
pub struct LogWriter {
    buf: Vec<u8>,
}

impl Write for LogWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let buf = std::mem::take(&mut self.buf);
        let bar = bar_slot().lock().unwrap_or_else(|p| p.into_inner()).clone();
        // A log line nobody can read is dropped: a failed write must not end the task
        // that logged it.
        match bar {
            Some(b) => b.suspend(|| crate::console::write_stderr(&buf)),
            None => crate::console::write_stderr(&buf),
        }
        Ok(())
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

pub fn log_writer() -> LogWriter {
    LogWriter { buf: Vec::new() }
}

/// A snapshot of the run's counters, sent to the display.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub docs_seen: u64,
    pub docs_done: u64,
    pub chunks_total: u64,
    pub chunks_done: u64,
    pub chunks_failed: u64,
    pub chunks_resumed: u64,
    pub completion_tokens: u64,
    pub walk_finished: bool,
    pub engine: Option<&'static str>,
    /// While no engine is up: which were tried, why each failed, the time left to wait.
    pub waiting: Option<String>,
}

pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    started: Instant,
    last_line: Instant,
    interval: Duration,
    /// The last update found no engine up.
    waiting: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        let tty = std::io::stderr().is_terminal();
        let bar = (!quiet && tty).then(|| {
            let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr_with_hz(8));
            // No colour under NO_COLOR.
            let bar = if crate::console::stderr_colour() {
                "{bar:30.cyan/blue}"
            } else {
                "{bar:30}"
            };
            b.set_style(
                ProgressStyle::with_template(&format!(
                    "{{spinner}} [{{elapsed_precise}}] {bar} {{pos}}/{{len}} chunks {{msg}}"
                ))
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b.enable_steady_tick(Duration::from_millis(250));
            *bar_slot().lock().unwrap_or_else(|p| p.into_inner()) = Some(b.clone());
            b
        });
        Self {
            bar,
            plain: !quiet && !tty,
            started: Instant::now(),
            last_line: Instant::now(),
            interval: Duration::from_secs(
                std::env::var("AEGIS_PROGRESS_SECS")
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(10),
            ),
            waiting: false,
        }
    }

    fn rates(&self, s: &Snapshot) -> (f64, f64) {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let now = s.chunks_done.saturating_sub(s.chunks_resumed);
        (now as f64 / secs, s.completion_tokens as f64 / secs)
    }

    pub fn update(&mut self, s: &Snapshot) {
        if let Some(waiting) = &s.waiting {
            return self.show_waiting(waiting);
        }
        self.waiting = false;
        let (rate, tps) = self.rates(s);
        let left = s
            .chunks_total
            .saturating_sub(s.chunks_done + s.chunks_failed);
        let eta = eta_text(left, rate, s.walk_finished);
        if let Some(b) = &self.bar {
            b.set_length(s.chunks_total);
            b.set_position(s.chunks_done + s.chunks_failed);
            b.set_message(format!(
                "| docs {}/{}{} | {} | {:.0} tok/s | ETA {eta} | {}{}",
                s.docs_done,
                s.docs_seen,
                if s.walk_finished { "" } else { "+" },
                rate_text(rate),
                tps,
                s.engine.unwrap_or("no engine"),
                if s.chunks_failed > 0 {
                    format!(" | {} failed", s.chunks_failed)
                } else {
                    String::new()
                }
            ));
        } else if self.plain && self.last_line.elapsed() >= self.interval {
            self.last_line = Instant::now();
            tracing::info!(
                "progress: {}/{}{} chunks ({} resumed, {} failed), {}/{} documents, {}, {:.0} tok/s, ETA {eta}, engine {}",
                s.chunks_done + s.chunks_failed,
                s.chunks_total,
                if s.walk_finished { "" } else { "+" },
                s.chunks_resumed,
                s.chunks_failed,
                s.docs_done,
                s.docs_seen,
                rate_text(rate),
                tps,
                s.engine.unwrap_or("none available")
            );
        }
    }

    /// No engine is up: the bar says why; the plain log says it at once, then once an
    /// interval (each line with the time left, so no two are the same).
    fn show_waiting(&mut self, waiting: &str) {
        if let Some(b) = &self.bar {
            b.set_message(format!("| {waiting}"));
        } else if self.plain && (!self.waiting || self.last_line.elapsed() >= self.interval) {
            self.last_line = Instant::now();
            tracing::info!("{waiting}");
        }
        self.waiting = true;
    }

    pub fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
            *bar_slot().lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }
}

/// A rate in the unit that shows it: chunks per second, per minute, or per hour (a slow
/// model on a CPU answers a chunk every few minutes: "0.0 chunks/s" says nothing).
pub fn rate_text(per_sec: f64) -> String {
    if per_sec >= 1.0 {
        format!("{per_sec:.1} chunks/s")
    } else if per_sec * 60.0 >= 1.0 {
        format!("{:.1} chunks/min", per_sec * 60.0)
    } else if per_sec > 0.0 {
        format!("{:.1} chunks/h", per_sec * 3600.0)
    } else {
        "no chunk done yet".to_string()
    }
}

/// Time left for `left` chunks at `per_sec`: "4m10s", "2h05m", or "?" before the first
/// chunk; "+" when the walk is still finding chunks.
pub fn eta_text(left: u64, per_sec: f64, walk_finished: bool) -> String {
    if left == 0 {
        return "0s".into();
    }
    if per_sec <= 0.0 {
        return "?".into();
    }
    let secs = (left as f64 / per_sec).ceil() as u64;
    let more = if walk_finished { "" } else { "+" };
    match secs {
        0..=59 => format!("{secs}s{more}"),
        60..=3599 => format!("{}m{:02}s{more}", secs / 60, secs % 60),
        _ => format!("{}h{:02}m{more}", secs / 3600, (secs % 3600) / 60),
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error (see `console`).
pub fn print_stdout(bytes: impl AsRef<[u8]>) -> std::io::Result<()> {
    crate::console::write_stdout(bytes.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_rates_read_per_minute_or_hour_never_zero_per_second() {
        assert_eq!(rate_text(12.34), "12.3 chunks/s");
        // 24 chunks in 7 minutes: a CPU-served instruct model.
        assert_eq!(rate_text(24.0 / 420.0), "3.4 chunks/min");
        assert_eq!(rate_text(1.0 / 600.0), "6.0 chunks/h");
        assert_eq!(rate_text(0.0), "no chunk done yet");
    }

    #[test]
    fn eta_is_human_and_says_when_it_is_unknown() {
        assert_eq!(eta_text(10, 0.0, true), "?");
        assert_eq!(eta_text(0, 0.0, true), "0s");
        assert_eq!(eta_text(30, 1.0, true), "30s");
        assert_eq!(eta_text(100, 24.0 / 420.0, true), "29m10s");
        assert_eq!(eta_text(100, 24.0 / 420.0, false), "29m10s+");
        assert_eq!(eta_text(1000, 0.1, true), "2h46m");
    }
}
