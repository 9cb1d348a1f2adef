//! The one error type of the crate: every variant names the file or step that failed.

use spec::run_dir::RunDirError;

use crate::reference::ReferenceError;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not valid: {reason} (rerun the run that wrote it, or delete the file)")]
    Malformed { path: String, reason: String },
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error(transparent)]
    Claims(#[from] spec::claims::ClaimError),
    /// A run directory error other than an unreadable or malformed file.
    #[error(transparent)]
    RunDir(RunDirError),
    #[error("building the {what} table failed: {reason}")]
    Frame { what: String, reason: String },
    #[error("cannot draw chart {path}: {reason}")]
    Chart { path: String, reason: String },
}

/// The run directory readers' errors, worded as the crate's own: the file named, and how to
/// get past a malformed one.
impl From<RunDirError> for ReportError {
    fn from(e: RunDirError) -> Self {
        match e {
            RunDirError::Io { path, source } => ReportError::Io { path, source },
            RunDirError::Malformed { path, reason } => ReportError::Malformed { path, reason },
            other => ReportError::RunDir(other),
        }
    }
}

impl ReportError {
    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| ReportError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    pub(crate) fn malformed(path: &std::path::Path, reason: impl Into<String>) -> Self {
        ReportError::Malformed {
            path: path.display().to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn frame(what: &str) -> impl FnOnce(polars::error::PolarsError) -> Self + '_ {
        move |e| ReportError::Frame {
            what: what.to_string(),
            reason: e.to_string(),
        }
    }
}
