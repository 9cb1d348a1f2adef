//! One exclusive lock file per artifact (`<file>.lock`), so two processes (or threads) never
//! fetch the same artifact at once: the second waits, then finds the file done.
//!
//! The lock is an OS advisory lock (`flock` on Linux) held on an open handle, so it is
//! released when the holder exits, even by a crash. Lock files are left in place: removing
//! them would race with a process that has just opened one.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct ArtifactLock {
    _file: File,
}

impl ArtifactLock {
    /// Block until the lock for `target` (a cache file path) is ours.
    pub fn acquire(target: &Path) -> io::Result<Self> {
        let path = lock_path(target);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                tracing::info!(lock = %path.display(), "another fetch holds the lock; waiting");
                file.lock()?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
        Ok(Self { _file: file })
    }
}

pub fn lock_path(target: &Path) -> PathBuf {
    sibling(target, ".lock")
}

/// `target` with `suffix` appended to its file name.
pub fn sibling(target: &Path, suffix: &str) -> PathBuf {
    let mut name = target.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
