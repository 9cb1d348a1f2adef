//! The files a cached artifact keeps beside it: `<file>.lock` (one fetch at a time, see
//! [`crate::lock`]), `.part` (a resumable download), `.sha256` and `.verified` stamps.

use std::path::{Path, PathBuf};

pub fn lock_path(target: &Path) -> PathBuf {
    sibling(target, ".lock")
}

/// `target` with `suffix` appended to its file name.
pub fn sibling(target: &Path, suffix: &str) -> PathBuf {
    let mut name = target.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
