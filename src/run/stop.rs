//! How a run stops early: signals, the stop grace deadline, and the first reason kept.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::error::ExitCode;

/// Why the run stopped early.
#[derive(Debug, Clone)]
pub(crate) enum Stop {
    Interrupted,
    Fatal(String),
    NoEngine(String),
    Journal(String),
}

/// How the run is stopped early: `stop` ends dispatching (no new requests: chunks that
/// wait for an engine, a slot or a retry end at once, so with nothing in flight the run
/// ends without waiting out the grace); `abort` abandons the requests in flight (their
/// connections close, so the engine frees their slots) and implies `stop`; `why` keeps
/// the first reason.
#[derive(Clone)]
pub(crate) struct Stopping {
    pub(crate) stop: CancellationToken,
    pub(crate) abort: CancellationToken,
    pub(crate) why: Arc<Mutex<Option<Stop>>>,
}

impl Default for Stopping {
    fn default() -> Self {
        let abort = CancellationToken::new();
        Self {
            stop: abort.child_token(),
            abort,
            why: Arc::default(),
        }
    }
}

impl Stopping {
    /// Records `why` (the first reason wins) and stops dispatching; `abandon` also ends the
    /// requests in flight.
    pub(crate) fn halt(&self, why: Stop, abandon: bool) {
        self.why
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(why);
        self.stop.cancel();
        if abandon {
            self.abort.cancel();
        }
    }

    pub(crate) fn reason(&self) -> Option<Stop> {
        self.why.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Listens for SIGINT/SIGTERM. The first stops dispatching and gives the requests in
/// flight `grace` to finish: a deadline, after which they are abandoned and the run writes
/// its outputs and exits 130. The second exits at once (the journal is consistent at every
/// instant, so nothing answered is lost).
pub(crate) fn install_signals(stopping: Stopping, grace: Duration) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut int), Ok(mut term)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) else {
                return;
            };
            for n in 0..2 {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
                if n == 0 {
                    crate::errln!("aegis-ingest: stopping: no new requests; the ones in flight get {} s to finish, then they are abandoned and the outputs are written. Press Ctrl-C again to exit at once; the checkpoint keeps all finished work.", grace.as_secs_f64());
                    stopping.halt(Stop::Interrupted, false);
                    let abort = stopping.abort.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(grace).await;
                        if !abort.is_cancelled() {
                            tracing::info!(
                                "grace period over: abandoning the requests still in flight"
                            );
                            abort.cancel();
                        }
                    });
                } else {
                    crate::errln!("aegis-ingest: exiting now; finished work is in the checkpoint. Rerun the same command to resume.");
                    std::process::exit(ExitCode::Interrupted as i32);
                }
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_ok() {
                stopping.halt(Stop::Interrupted, false);
                tokio::time::sleep(grace).await;
                stopping.abort.cancel();
            }
        }
    });
}
