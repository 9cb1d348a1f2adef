//! Atomic file writes: a reader never sees a half-written report file.

use std::path::{Path, PathBuf};

use crate::error::ReportError;

/// The temporary name `path` is written under before the rename; it keeps the extension,
/// since some writers (plotters' bitmap backend) choose the format by it.
pub(crate) fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".tmp-{}-{name}", std::process::id()))
}

/// Moves a finished temporary file into place.
pub(crate) fn commit(tmp: &Path, path: &Path) -> Result<(), ReportError> {
    std::fs::rename(tmp, path).map_err(ReportError::io(path))
}

/// Writes `bytes` to `path` through a temporary file in the same directory.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(ReportError::io(dir))?;
    }
    let tmp = temporary_path(path);
    std::fs::write(&tmp, bytes).map_err(ReportError::io(path))?;
    commit(&tmp, path)
}
