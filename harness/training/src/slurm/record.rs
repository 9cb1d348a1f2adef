//! slurm.json in a run directory: the Slurm job array task that last took the run on.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::SlurmError;
use spec::run_dir::{write_atomic, RunDirError};

/// The run directory file that holds a [`SlurmRecord`].
pub const RECORD: &str = "slurm.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlurmRecord {
    /// The job array's id, as sbatch printed it.
    pub job_id: String,
    pub array_task: u32,
    /// RFC 3339, UTC.
    pub submitted_at: String,
    pub script: PathBuf,
    /// Slurm's own output for the task, in the batch folder: its notes on cancellations,
    /// time limits and node failures, and the script's errors before it reached the run.
    pub slurm_log: PathBuf,
}

impl SlurmRecord {
    /// The record in `run_dir`, if the run was ever submitted to Slurm.
    pub fn read(run_dir: &Path) -> Result<Option<Self>, SlurmError> {
        let path = run_dir.join(RECORD);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                serde_json::from_str(&text)
                    .map(Some)
                    .map_err(|e| SlurmError::MalformedRecord {
                        path,
                        reason: e.to_string(),
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(SlurmError::Read { path, source }),
        }
    }

    pub(crate) fn write(&self, run_dir: &Path) -> Result<(), RunDirError> {
        let json = serde_json::to_string_pretty(self).expect("a Slurm record serialises");
        write_atomic(&run_dir.join(RECORD), json.as_bytes())
    }

    /// Where the array task's stdout (`"out"`) or stderr (`"err"`) went in `run_dir`.
    pub fn log_file(&self, run_dir: &Path, stream: &str) -> PathBuf {
        let stem = log_stem(&self.job_id, &self.array_task.to_string());
        run_dir.join(format!("{stem}.{stream}"))
    }
}

/// The name, less its extension, of an array task's logs in its run directory.
pub(crate) fn log_stem(job_id: &str, array_task: &str) -> String {
    format!("slurm-{job_id}_{array_task}")
}
