//! The Slurm executor: the runs not finished and not already queued become one job array
//! (see [`crate::slurm`]); the report is written later, by `fpt report`, once `fpt status`
//! shows them done.

use std::path::{Path, PathBuf};

use super::{prefetch, Execution, Executor, ExecutorError};
use crate::run_status;
use crate::slurm::{self, SubmitOptions};
use spec::suite::Suite;

pub struct Slurm {
    pub slurm: slurm::Slurm,
    /// The `fpt` binary the array tasks run.
    pub fpt: PathBuf,
    pub options: SubmitOptions,
}

impl Executor for Slurm {
    fn execute(
        &self,
        suite: &Suite,
        runs_dir: &Path,
        pending: &[String],
    ) -> Result<Execution, ExecutorError> {
        let dirs: Vec<PathBuf> = pending.iter().map(|id| runs_dir.join(id)).collect();
        let todo = run_status::needing_submission(&dirs, &self.slurm)?;
        if todo.is_empty() {
            return Ok(Execution::AlreadyQueued);
        }
        if suite
            .runs
            .iter()
            .any(|r| r.after.is_some() && todo.contains(&runs_dir.join(&r.id)))
        {
            return Err(ExecutorError::SourcesUnfinished);
        }
        prefetch(suite, pending, self.options.offline)?;
        let submission = slurm::submit(&self.slurm, runs_dir, &todo, &self.fpt, &self.options)?;
        Ok(Execution::Submitted {
            job_id: submission.job_id,
            runs: submission.runs,
        })
    }
}
