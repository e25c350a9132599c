//! Files that matter are replaced atomically: a temp file in the target's own folder,
//! written, synced, renamed over the target, and the folder synced. A crash leaves either
//! the old file or the new one, never half of one.
//!
//! The temp file is created with mode 0666, which the kernel masks with the umask, so what
//! lands in `--out` has the mode any new file gets (0644 under the usual umask 022), like the
//! journal (opened with `OpenOptions`) and the files `cp` or a shell redirection make.
//! tempfile's own default, 0600, suits secrets, not outputs other tools and users read.

use std::io::{BufWriter, Write};
use std::path::Path;

/// Writes `path` atomically with what `fill` writes.
pub fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = temp_in(dir)?;
    {
        let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file());
        fill(&mut w)?;
        w.flush()?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// A temp file in `dir` to be renamed over an output: mode 0666 less the umask (see above).
pub fn temp_in(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let mut b = tempfile::Builder::new();
    b.prefix(".aegis-tmp-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o666));
    }
    b.tempfile_in(dir)
}

/// Makes a rename or a new file in `dir` durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Opens `path` to read and write, creating it if missing and keeping what it holds: the
/// journal and the lock file, which persist between runs.
pub fn open_persistent(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.jsonl");
        write_atomic(&p, |w| w.write_all(b"one\n")).unwrap();
        write_atomic(&p, |w| w.write_all(b"two\n")).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two\n");
        // A failing writer leaves the old file in place.
        let err = write_atomic(&p, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("boom"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two\n");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }
}
