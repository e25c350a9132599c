//! A thread with a large stack for the readers whose parsers recurse (HTML tree, PDF
//! objects); a panic there comes back as its message instead of ending the run.

/// Stack for threads that run recursive parsers (HTML tree, PDF objects).
pub(crate) const LARGE_STACK: usize = 256 * 1024 * 1024;

/// Runs `f` on a thread with a `LARGE_STACK` stack (reserved, not committed, memory);
/// a panic comes back as its message.
pub(crate) fn with_large_stack<T: Send>(f: impl FnOnce() -> T + Send) -> Result<T, String> {
    std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .name("aegis-reader".into())
            .stack_size(LARGE_STACK)
            .spawn_scoped(s, || {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
                    .map_err(|p| panic_message(p.as_ref()))
            })
            .map_err(|e| format!("cannot start a reader thread: {e}"))?;
        handle
            .join()
            .map_err(|p| panic_message(p.as_ref()))
            .and_then(|r| r)
    })
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}
