//! Where a suite's runs train: [`Local`] (child processes on this machine) or [`Slurm`]
//! (one job array on a cluster), behind one [`Executor`] trait, so `fpt reproduce` (and a
//! test) drives either the same way.

mod local;
mod slurm;

use std::collections::BTreeSet;
use std::path::Path;

pub use local::Local;
pub use slurm::Slurm;

use spec::model::InitKind;

use crate::run_status::RunStatusError;
use crate::slurm::SlurmError;
use crate::task::{BuildTask, DataContext, Splits, TaskError};
use models::model::ModelError;
use spec::run_dir::RunDirError;
use spec::suite::Suite;

/// Trains, or hands to a scheduler, the pending runs of a suite whose folders are prepared.
pub trait Executor {
    /// `pending`: the ids of the runs of `suite` (under `runs_dir`) not finished yet.
    fn execute(
        &self,
        suite: &Suite,
        runs_dir: &Path,
        pending: &[String],
    ) -> Result<Execution, ExecutorError>;
}

/// What an [`Executor::execute`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Execution {
    /// Every pending run trained here; the ids of those that failed (or were not started
    /// because their source run failed). The report can be written now.
    Finished { failed: Vec<String> },
    /// Submitted to a scheduler; the report waits until the runs are done.
    Submitted {
        job_id: String,
        /// Runs (array tasks) in the job.
        runs: usize,
    },
    /// Nothing to submit: every pending run is queued or running already.
    AlreadyQueued,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    RunDir(#[from] RunDirError),
    #[error(transparent)]
    RunStatus(#[from] RunStatusError),
    #[error(transparent)]
    Slurm(#[from] SlurmError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("loading the data of {task}: {source}")]
    Data {
        task: String,
        source: Box<TaskError>,
    },
    #[error("runs with a task-pretrained init need their source run finished first; run the sources (fpt reproduce --tables ...), or use --executor local")]
    SourcesUnfinished,
}

impl ExecutorError {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        ExecutorError::Io {
            what: what.into(),
            source,
        }
    }

    /// Whether what was asked is at fault (exit code 2), rather than the machine or a run.
    pub fn is_bad_input(&self) -> bool {
        match self {
            ExecutorError::Io { .. } | ExecutorError::RunStatus(_) => false,
            ExecutorError::RunDir(e) => e.is_bad_input(),
            ExecutorError::Slurm(e) => e.is_bad_input(),
            ExecutorError::Model(e) => e.is_bad_input(),
            ExecutorError::Data { source, .. } => source.is_bad_input(),
            ExecutorError::SourcesUnfinished => true,
        }
    }
}

/// Fetches (or checks the cache for) every weights file and data set the `pending` runs
/// need, once, before parallel runs would each try.
fn prefetch(suite: &Suite, pending: &[String], offline: bool) -> Result<(), ExecutorError> {
    let data = DataContext::standard(offline);
    let mut models = BTreeSet::new();
    let mut tasks = Vec::new();
    for run in suite.runs.iter().filter(|r| pending.contains(&r.id)) {
        let s = &run.spec;
        if matches!(s.init, InitKind::Pretrained | InitKind::Stats)
            && models.insert(s.model.label())
        {
            models::model::pretrained_weights(&s.model, offline)?;
        }
        if !tasks.contains(&s.task) {
            tasks.push(s.task);
            s.task
                .build(&data, Splits::only(s.eval_split))
                .map_err(|source| ExecutorError::Data {
                    task: s.task.name().into(),
                    source: Box::new(source),
                })?;
        }
    }
    Ok(())
}
