//! One run per `--out` folder: an OS file lock on `--out/.lock` (released by the kernel when
//! the process dies, so a killed run never leaves a stale lock), holding the owner's pid for
//! the message a second run prints.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::error::RunError;

pub struct OutLock {
    _file: File,
}

impl OutLock {
    pub fn acquire(out: &Path) -> Result<Self, RunError> {
        let path = out.join(super::names::LOCK_FILE);
        let mut file = crate::outdir::atomic::open_persistent(&path)
            .map_err(|e| {
                RunError::io(&path, &e, format!(
                    "cannot create {}: {e}; make --out writable (permissions, free space) or pass another --out",
                    path.display()
                ))
            })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut owner = String::new();
                let _ = file.read_to_string(&mut owner);
                let owner = owner.trim();
                return Err(RunError::out_dir(format!(
                    "another aegis-ingest run{} is using {}: wait for it to finish, or pass a different --out",
                    if owner.is_empty() { String::new() } else { format!(" (pid {owner})") },
                    out.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(RunError::out_dir(format!(
                    "cannot lock {}: {e}; put --out on a file system that supports file locks (a local disk)",
                    path.display()
                )))
            }
        }
        let _ = file.set_len(0);
        let _ = file.seek(SeekFrom::Start(0));
        let _ = write!(file, "{}", std::process::id());
        let _ = file.flush();
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_then_free_after_drop() {
        let dir = tempfile::tempdir().unwrap();
        let first = OutLock::acquire(dir.path()).unwrap();
        let err = OutLock::acquire(dir.path()).err().unwrap().to_string();
        assert!(
            err.contains("another aegis-ingest run")
                && err.contains(&std::process::id().to_string()),
            "{err}"
        );
        drop(first);
        assert!(OutLock::acquire(dir.path()).is_ok());
    }
}
