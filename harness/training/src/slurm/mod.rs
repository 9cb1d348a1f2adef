//! Runs a suite's training runs on a Slurm cluster: one job array, one array task per run,
//! each task `fpt train --spec <run>/spec.toml --out <run> --resume`. Slurm does all the
//! scheduling; the runs directory must be on a filesystem that the compute nodes share.
//!
//! What a submission leaves on disk:
//! - `<runs>/slurm/submit-<time>.sh` and `.runs`: the batch script and its run list (one run
//!   directory a line; array task `i` takes line `i + 1`);
//! - `<runs>/slurm/slurm-<job>_<task>.out`: Slurm's own output for the task: its notes on
//!   cancellations, time limits and node failures (slurmstepd writes them to the file it
//!   opened, which the script cannot redirect), and the script's errors before its run;
//! - in each run directory, `slurm.json` ([`SlurmRecord`]: job, array task, submission time)
//!   and `slurm-<job>_<task>.out` / `.err`, the task's stdout and stderr.
//!
//! `fpt reproduce --executor slurm` prepares every run directory as the local executor does
//! (`RunDir::prepare`), then submits those that still need running (neither finished nor
//! queued or running in Slurm already), so a second call, with `--resume`, resubmits only
//! what was cancelled, timed out or failed:
//!
//! ```text
//! let slurm = Slurm::from_env();
//! let todo = run_status::needing_submission(&run_dirs, &slurm)?;
//! if !todo.is_empty() {
//!     let fpt = std::env::current_exe()?;
//!     let submission = slurm::submit(&slurm, &runs_dir, &todo, &fpt, &options)?;
//!     println!("Slurm job {} runs {} runs; follow it with `fpt status --runs {}`",
//!         submission.job_id, submission.runs, runs_dir.display());
//! }
//! ```
//!
//! [`SubmitOptions`] derives `clap::Args`, so the command can flatten it into its own flags
//! (`--partition`, `--gres`, `--time`, `--array-parallelism`, `--sbatch-arg`) and set
//! `threads` from the global `--threads`.

mod client;
mod queue;
mod record;
mod submit;

use std::path::PathBuf;

pub use client::Slurm;
pub use queue::{JobPhase, JobState, TaskKey, TaskState};
pub use record::SlurmRecord;
pub use submit::{submit, Submission, SubmitOptions};

use spec::run_dir::RunDirError;

#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    #[error("`{tool}` is not on PATH: install Slurm's client commands (and set SLURM_CONF if the cluster needs it), or use --executor local")]
    NotInstalled { tool: String },
    #[error("could not run {}: {source}", program.display())]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("{tool} failed ({status}): {stderr}")]
    Rejected {
        tool: String,
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error("sbatch printed no job id: {output:?}")]
    NoJobId { output: String },
    #[error("nothing to submit: the list of runs is empty")]
    NoRuns,
    #[error("{} holds no spec.toml; only prepared run directories can be submitted", dir.display())]
    NotPrepared { dir: PathBuf },
    #[error("{} cannot go into a run list: {reason}; choose a runs directory whose path is plain UTF-8 without newlines", path.display())]
    UnlistablePath { path: PathBuf, reason: &'static str },
    #[error("{source}; the runs directory must be writable (and shared with the compute nodes)")]
    NotWritable { source: RunDirError },
    #[error("Slurm job {job_id} was submitted, but its record could not be written ({source}); `scancel {job_id}` before resubmitting")]
    Unrecorded { job_id: String, source: RunDirError },
    #[error("{} is not a valid Slurm record: {reason}", path.display())]
    MalformedRecord { path: PathBuf, reason: String },
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl SlurmError {
    /// A mistake in what was asked (exit code 2), as against Slurm or the disk failing.
    pub fn is_bad_input(&self) -> bool {
        match self {
            SlurmError::Rejected { tool, .. } => tool == "sbatch",
            SlurmError::NotInstalled { .. }
            | SlurmError::NoRuns
            | SlurmError::NotPrepared { .. }
            | SlurmError::UnlistablePath { .. }
            | SlurmError::MalformedRecord { .. } => true,
            SlurmError::Spawn { .. }
            | SlurmError::NoJobId { .. }
            | SlurmError::NotWritable { .. }
            | SlurmError::Unrecorded { .. }
            | SlurmError::Read { .. } => false,
        }
    }
}
