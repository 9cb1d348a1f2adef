//! Where each run of a suite stands: from its files (result.json, metrics, checkpoint) and,
//! for runs submitted to Slurm (slurm.json), from what Slurm says of their array tasks.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use datasets::lock::Holder;

use crate::slurm::{JobPhase, Slurm, SlurmError, SlurmRecord, TaskKey, TaskState};
use spec::run_dir::{self, RunDir, RunDirError, CHECKPOINT, RESULT, SPEC};

/// How many lines of a failed task's stderr a status shows.
const ERROR_TAIL_LINES: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum RunStatusError {
    #[error("cannot list runs in {}: {source}; is it the --out of `fpt reproduce`?", dir.display())]
    List {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    RunDir(#[from] RunDirError),
    #[error(transparent)]
    Slurm(#[from] SlurmError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RunState {
    /// Queued in Slurm, or never started.
    Pending,
    /// Running in Slurm, or held by a live process (its run.lock).
    Running,
    /// Has progress on disk but no result, no live Slurm task and no process holding it.
    Interrupted,
    Done,
    /// Finished, with a loss or gradient that was not finite.
    Diverged,
    /// Its Slurm task ended without a result.
    Failed,
    Cancelled,
    Timeout,
    NodeFail,
    /// Submitted to Slurm, but Slurm could not be asked about it.
    Unknown,
}

impl std::fmt::Display for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RunState::Pending => "pending",
            RunState::Running => "running",
            RunState::Interrupted => "interrupted",
            RunState::Done => "done",
            RunState::Diverged => "diverged",
            RunState::Failed => "failed",
            RunState::Cancelled => "cancelled",
            RunState::Timeout => "timeout",
            RunState::NodeFail => "node-fail",
            RunState::Unknown => "unknown",
        })
    }
}

/// One run directory's state and how far it got.
#[derive(Debug, Clone, PartialEq)]
pub struct RunStatus {
    pub dir: PathBuf,
    pub state: RunState,
    /// The process writing the run now (its run.lock), if any.
    pub holder: Option<Holder>,
    /// The Slurm array task that last took the run on, if any.
    pub slurm: Option<SlurmRecord>,
    /// What Slurm says of that task, while it still knows it.
    pub slurm_task: Option<TaskState>,
    /// The last evaluated step (all steps taken, once finished).
    pub step: Option<u64>,
    pub total_steps: u64,
    /// Test accuracy (on the spec's split), once finished.
    pub accuracy: Option<f64>,
    /// For a Slurm task that ended without a result, the last lines of its stderr and of
    /// Slurm's own log for it.
    pub error_tail: Vec<String>,
}

impl RunStatus {
    /// Whether `--resume` should submit the run again: it is not finished, and Slurm is not
    /// about to run it or running it.
    pub fn needs_submission(&self) -> bool {
        match self.state {
            RunState::Done | RunState::Diverged | RunState::Running | RunState::Unknown => false,
            RunState::Pending => self.slurm_task.is_none(),
            RunState::Interrupted
            | RunState::Failed
            | RunState::Cancelled
            | RunState::Timeout
            | RunState::NodeFail => true,
        }
    }
}

/// The statuses of every run under `runs_dir` (each folder holding spec.toml), sorted by
/// name, and why Slurm could not be asked, if it could not (its runs are then `Unknown`).
#[derive(Debug)]
pub struct Survey {
    pub runs: Vec<RunStatus>,
    pub slurm_unavailable: Option<SlurmError>,
}

pub fn survey(runs_dir: &Path, slurm: &Slurm) -> Result<Survey, RunStatusError> {
    let dirs = runs_in(runs_dir)?;
    let records = read_records(&dirs)?;
    let (tasks, slurm_unavailable) = match task_states(&records, slurm) {
        Ok(tasks) => (Some(tasks), None),
        Err(e) => (None, Some(e)),
    };
    Ok(Survey {
        runs: statuses_from(&dirs, records, tasks.as_ref())?,
        slurm_unavailable,
    })
}

/// The statuses of `run_dirs`; fails when Slurm cannot be asked about a submitted run.
pub fn statuses(run_dirs: &[PathBuf], slurm: &Slurm) -> Result<Vec<RunStatus>, RunStatusError> {
    let records = read_records(run_dirs)?;
    let tasks = task_states(&records, slurm)?;
    statuses_from(run_dirs, records, Some(&tasks))
}

/// Those of `run_dirs` to submit: not finished, and not queued or running in Slurm.
pub fn needing_submission(
    run_dirs: &[PathBuf],
    slurm: &Slurm,
) -> Result<Vec<PathBuf>, RunStatusError> {
    Ok(statuses(run_dirs, slurm)?
        .into_iter()
        .filter(RunStatus::needs_submission)
        .map(|s| s.dir)
        .collect())
}

/// `5 runs: 2 done, 1 running, 2 pending`.
pub fn summary(runs: &[RunStatus]) -> String {
    let mut counts: BTreeMap<RunState, usize> = BTreeMap::new();
    for run in runs {
        *counts.entry(run.state).or_default() += 1;
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(state, n)| format!("{n} {state}"))
        .collect();
    let noun = if runs.len() == 1 { "run" } else { "runs" };
    if parts.is_empty() {
        format!("0 {noun}")
    } else {
        format!("{} {noun}: {}", runs.len(), parts.join(", "))
    }
}

/// The folders of `runs_dir` that hold a run (a spec.toml), sorted.
fn runs_in(runs_dir: &Path) -> Result<Vec<PathBuf>, RunStatusError> {
    let list_err = |source| RunStatusError::List {
        dir: runs_dir.into(),
        source,
    };
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(runs_dir).map_err(list_err)? {
        let dir = entry.map_err(list_err)?.path();
        if dir.join(SPEC).is_file() {
            dirs.push(dir);
        }
    }
    dirs.sort();
    Ok(dirs)
}

fn read_records(dirs: &[PathBuf]) -> Result<Vec<Option<SlurmRecord>>, SlurmError> {
    dirs.iter().map(|dir| SlurmRecord::read(dir)).collect()
}

fn task_states(
    records: &[Option<SlurmRecord>],
    slurm: &Slurm,
) -> Result<HashMap<TaskKey, TaskState>, SlurmError> {
    let keys: Vec<TaskKey> = records.iter().flatten().map(task_key).collect();
    slurm.task_states(&keys)
}

fn task_key(record: &SlurmRecord) -> TaskKey {
    TaskKey {
        job_id: record.job_id.clone(),
        array_task: record.array_task,
    }
}

/// `tasks`: what Slurm knows of the submitted tasks, `None` when it could not be asked.
fn statuses_from(
    dirs: &[PathBuf],
    records: Vec<Option<SlurmRecord>>,
    tasks: Option<&HashMap<TaskKey, TaskState>>,
) -> Result<Vec<RunStatus>, RunStatusError> {
    dirs.iter()
        .zip(records)
        .map(|(dir, record)| {
            let mut status = from_files(dir)?;
            if let Some(record) = record {
                follow_slurm(&mut status, record, tasks);
            }
            Ok(status)
        })
        .collect()
}

/// The status the run's own files tell: done, diverged, running (a process holds its
/// lock), interrupted or pending.
fn from_files(dir: &Path) -> Result<RunStatus, RunStatusError> {
    let (run, spec) = RunDir::open(dir)?;
    let mut status = RunStatus {
        dir: dir.to_path_buf(),
        state: RunState::Pending,
        holder: RunDir::holder(dir)?,
        slurm: None,
        slurm_task: None,
        step: None,
        total_steps: spec.steps,
        accuracy: None,
        error_tail: Vec::new(),
    };
    if let Some(result) = run_dir::read_result(&dir.join(RESULT))? {
        status.state = if result.diverged {
            RunState::Diverged
        } else {
            RunState::Done
        };
        status.step = Some(result.steps);
        status.accuracy = Some(result.test_accuracy);
    } else {
        status.step = run.read_metrics()?.last().map(|r| r.step);
        if status.holder.is_some() {
            status.state = RunState::Running;
        } else if status.step.is_some() || dir.join(CHECKPOINT).exists() {
            status.state = RunState::Interrupted;
        }
    }
    Ok(status)
}

/// Adds what Slurm says of the run's array task; for an unfinished run, its state.
fn follow_slurm(
    status: &mut RunStatus,
    record: SlurmRecord,
    tasks: Option<&HashMap<TaskKey, TaskState>>,
) {
    status.slurm_task = tasks.and_then(|t| t.get(&task_key(&record)).cloned());
    // What the files say of a finished or held run outranks Slurm's view.
    if !matches!(
        status.state,
        RunState::Done | RunState::Diverged | RunState::Running
    ) {
        status.state = slurm_state(tasks.is_some(), status.slurm_task.as_ref());
        if !matches!(status.state, RunState::Pending | RunState::Running) {
            let logs = [
                record.log_file(&status.dir, "err"),
                record.slurm_log.clone(),
            ];
            status.error_tail = tail_lines(&logs, ERROR_TAIL_LINES);
        }
    }
    status.slurm = Some(record);
}

/// The state of an unfinished run submitted to Slurm.
fn slurm_state(asked: bool, task: Option<&TaskState>) -> RunState {
    let Some(task) = task else {
        // Slurm lists every task it has yet to finish, so a forgotten one ended without
        // a result (its cancellation or failure is simply no longer on record).
        return if asked {
            RunState::Failed
        } else {
            RunState::Unknown
        };
    };
    match task.state.phase() {
        JobPhase::Queued => RunState::Pending,
        JobPhase::Running => RunState::Running,
        // Exit 0 but no result.json: nothing the run can continue from tells us more.
        JobPhase::Completed | JobPhase::Failed => RunState::Failed,
        JobPhase::Cancelled => RunState::Cancelled,
        JobPhase::TimedOut => RunState::Timeout,
        JobPhase::NodeFailed => RunState::NodeFail,
    }
}

/// The last step a run in `dir` has logged (the last line of its steps.jsonl), cheaply: only
/// the end of the file is read. `None` before its first logged step.
pub fn latest_step(dir: &Path) -> Option<u64> {
    tail_lines(&[dir.join(run_dir::STEPS)], 1)
        .first()
        .and_then(|line| serde_json::from_str::<spec::schema::StepRecord>(line).ok())
        .map(|record| record.step)
}

/// The last `n` non-empty lines of `logs` read one after the other (from the end of each, as
/// logs can be long); a missing or unreadable log adds nothing, as a status is still worth
/// showing without it.
pub fn tail_lines(logs: &[PathBuf], n: usize) -> Vec<String> {
    const WINDOW: u64 = 16 * 1024;
    let read = |path: &Path| -> std::io::Result<String> {
        let mut file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(WINDOW)))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    let text: String = logs
        .iter()
        .map(|path| read(path).unwrap_or_default() + "\n")
        .collect();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slurm::JobState;

    fn task(state: &str) -> TaskState {
        TaskState {
            state: JobState::parse(state),
            node: None,
        }
    }

    #[test]
    fn slurm_states_map_to_run_states() {
        assert_eq!(slurm_state(true, Some(&task("PENDING"))), RunState::Pending);
        assert_eq!(slurm_state(true, Some(&task("RUNNING"))), RunState::Running);
        assert_eq!(
            slurm_state(true, Some(&task("CANCELLED"))),
            RunState::Cancelled
        );
        assert_eq!(slurm_state(true, Some(&task("TIMEOUT"))), RunState::Timeout);
        assert_eq!(
            slurm_state(true, Some(&task("NODE_FAIL"))),
            RunState::NodeFail
        );
        assert_eq!(
            slurm_state(true, Some(&task("COMPLETED"))),
            RunState::Failed
        );
        assert_eq!(slurm_state(true, None), RunState::Failed);
        assert_eq!(slurm_state(false, None), RunState::Unknown);
    }

    #[test]
    fn summary_counts_each_state_in_order() {
        let run = |state| RunStatus {
            dir: PathBuf::new(),
            state,
            holder: None,
            slurm: None,
            slurm_task: None,
            step: None,
            total_steps: 1,
            accuracy: None,
            error_tail: Vec::new(),
        };
        let runs = [
            run(RunState::Cancelled),
            run(RunState::Done),
            run(RunState::Pending),
            run(RunState::Done),
        ];
        assert_eq!(summary(&runs), "4 runs: 1 pending, 2 done, 1 cancelled");
        assert_eq!(summary(&[]), "0 runs");
        assert!(!runs[1].needs_submission());
        assert!(runs[0].needs_submission());
        assert!(runs[2].needs_submission());
    }

    #[test]
    fn tail_keeps_the_last_non_empty_lines() {
        let dir = tempfile::tempdir().unwrap();
        let [run_log, slurm_log] = ["x.err", "x.out"].map(|name| dir.path().join(name));
        std::fs::write(&run_log, "a\nb\n\nc\nd\ne\nf\n\n").unwrap();
        std::fs::write(&slurm_log, "cancelled").unwrap();
        assert_eq!(
            tail_lines(std::slice::from_ref(&run_log), 3),
            ["d", "e", "f"]
        );
        assert_eq!(tail_lines(&[run_log, slurm_log], 2), ["f", "cancelled"]);
        assert!(tail_lines(&[dir.path().join("missing.err")], 3).is_empty());
    }

    #[test]
    fn the_latest_step_is_the_last_logged_one() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(latest_step(dir.path()), None);
        let lines: String = [4, 8, 12]
            .map(|step| format!("{{\"step\":{step},\"loss\":0.5,\"grad_norm\":1.0}}\n"))
            .concat();
        std::fs::write(dir.path().join(run_dir::STEPS), lines).unwrap();
        assert_eq!(latest_step(dir.path()), Some(12));
    }
}
