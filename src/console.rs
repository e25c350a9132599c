//! Every byte the tool prints to its own stdout and stderr goes through here, so a reader
//! that goes away (`| head -1`, a dropped ssh session, a dead log collector) can neither
//! panic the process (std's `println!`/`eprintln!` panic on a failed write: exit 101) nor
//! kill a task that must go on, such as the signal handler (a run that no longer stops on
//! SIGTERM). `clippy::print_stdout` and `clippy::print_stderr` are denied crate-wide.
//!
//! - stdout is the command's answer: a closed pipe (`BrokenPipe`) ends printing, and later
//!   lines are dropped; the command goes on and exits with its own code, its files intact.
//!   Any other write error (a full disk under `> file`) is kept, and `main` reports it.
//! - stderr carries diagnostics: a failed write is ignored, and once the reader is gone
//!   nothing more is tried.
//!
//! SIGPIPE stays ignored, as the Rust runtime sets it: a write to a closed pipe is an
//! error here, never a silent death in the middle of writing the outputs.

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static STDOUT_GONE: AtomicBool = AtomicBool::new(false);
static STDERR_GONE: AtomicBool = AtomicBool::new(false);
/// The first stdout write error that was not a closed pipe.
static STDOUT_FAILED: Mutex<Option<String>> = Mutex::new(None);

/// Writes to stdout. A closed pipe is not an error: printing stops there. Other errors are
/// returned (and kept for `stdout_failure`).
pub fn write_stdout(bytes: &[u8]) -> io::Result<()> {
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            STDOUT_GONE.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => {
            STDOUT_FAILED
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert_with(|| e.to_string());
            Err(e)
        }
        Ok(()) => Ok(()),
    }
}

/// Writes a diagnostic to stderr; a failed write is ignored.
pub fn write_stderr(bytes: &[u8]) {
    if STDERR_GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut err = io::stderr().lock();
    if let Err(e) = err.write_all(bytes).and_then(|()| err.flush()) {
        if e.kind() == io::ErrorKind::BrokenPipe {
            STDERR_GONE.store(true, Ordering::Relaxed);
        }
    }
}

/// Why stdout could not be written, other than its reader going away.
pub fn stdout_failure() -> Option<String> {
    STDOUT_FAILED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
}

/// Whether stderr may carry colour: a terminal, and `NO_COLOR` unset or empty
/// (<https://no-color.org>).
pub fn stderr_colour() -> bool {
    io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `print!` to stdout through `console::write_stdout`: a closed pipe stops printing.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        let _ = $crate::console::write_stdout(format!($($arg)*).as_bytes());
    }};
}

/// `println!` to stdout through `console::write_stdout`: a closed pipe stops printing.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        let mut line = format!($($arg)*);
        line.push('\n');
        let _ = $crate::console::write_stdout(line.as_bytes());
    }};
}

/// `eprint!` through `console::write_stderr`: never fails.
#[macro_export]
macro_rules! err {
    ($($arg:tt)*) => {
        $crate::console::write_stderr(format!($($arg)*).as_bytes())
    };
}

/// `eprintln!` through `console::write_stderr`: never fails.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {{
        let mut line = format!($($arg)*);
        line.push('\n');
        $crate::console::write_stderr(line.as_bytes());
    }};
}
