//! What Slurm says of array tasks: squeue for jobs queued, running or recently ended, sacct
//! (where the cluster keeps accounting) for older ones.

use std::collections::{BTreeSet, HashMap};

use super::{Slurm, SlurmError};

/// One task of a job array.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskKey {
    pub job_id: String,
    pub array_task: u32,
}

/// A job state as Slurm names it (`PENDING`, `CANCELLED`, `OUT_OF_MEMORY`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobState(String);

/// What a job state means for the run inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobPhase {
    Queued,
    Running,
    Completed,
    Cancelled,
    TimedOut,
    NodeFailed,
    Failed,
}

impl JobState {
    /// From squeue's `%T` or sacct's `State` (`CANCELLED by 1000` keeps its first word).
    pub fn parse(text: &str) -> Self {
        Self(text.split_whitespace().next().unwrap_or("").to_string())
    }

    pub fn name(&self) -> &str {
        &self.0
    }

    pub fn phase(&self) -> JobPhase {
        match self.0.as_str() {
            "PENDING" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED" | "RESV_DEL_HOLD" => {
                JobPhase::Queued
            }
            "COMPLETED" => JobPhase::Completed,
            "CANCELLED" => JobPhase::Cancelled,
            "TIMEOUT" | "DEADLINE" => JobPhase::TimedOut,
            "NODE_FAIL" | "BOOT_FAIL" => JobPhase::NodeFailed,
            "FAILED" | "OUT_OF_MEMORY" | "PREEMPTED" | "SPECIAL_EXIT" | "REVOKED"
            | "LAUNCH_FAILED" => JobPhase::Failed,
            // RUNNING, CONFIGURING, COMPLETING, SUSPENDED, STOPPED, SIGNALING, STAGE_OUT,
            // RESIZING, and any state newer than this list: the job is still Slurm's.
            _ => JobPhase::Running,
        }
    }

    /// Queued or running: Slurm will still run (or is running) the task.
    pub fn is_active(&self) -> bool {
        matches!(self.phase(), JobPhase::Queued | JobPhase::Running)
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskState {
    pub state: JobState,
    pub node: Option<String>,
}

impl Slurm {
    /// The state of each of `tasks` that Slurm still knows; a task it has forgotten (ended
    /// long ago on a cluster without accounting) is absent. Fails only when squeue does.
    pub fn task_states(
        &self,
        tasks: &[TaskKey],
    ) -> Result<HashMap<TaskKey, TaskState>, SlurmError> {
        let mut states = HashMap::new();
        if tasks.is_empty() {
            return Ok(states);
        }
        let jobs = job_list(tasks.iter());
        let squeue = self.run(
            "squeue",
            [
                "--noheader",
                "--array",
                "--states=all",
                &format!("--jobs={jobs}"),
                "--format=%F|%K|%T|%N",
            ],
        );
        match squeue {
            Ok(output) => states.extend(parse_table(&output.stdout)),
            // Asked about one job only, squeue fails when it has forgotten it.
            Err(SlurmError::Rejected { stderr, .. }) if stderr.contains("Invalid job id") => {}
            Err(e) => return Err(e),
        }
        let forgotten: Vec<&TaskKey> = tasks.iter().filter(|t| !states.contains_key(t)).collect();
        if forgotten.is_empty() {
            return Ok(states);
        }
        let sacct = self.run(
            "sacct",
            [
                "--noheader",
                "--parsable2",
                "--allocations",
                &format!("--jobs={}", job_list(forgotten.into_iter())),
                "--format=JobID,State,NodeList",
            ],
        );
        match sacct {
            // Older entries first: the last line for a task is its latest state.
            Ok(output) => states.extend(parse_table(&output.stdout)),
            Err(e) => tracing::debug!("sacct gives nothing more: {e}"),
        }
        Ok(states)
    }
}

/// The distinct job ids of `tasks`, comma-separated, for --jobs.
fn job_list<'a>(tasks: impl Iterator<Item = &'a TaskKey>) -> String {
    let ids: BTreeSet<&str> = tasks.map(|t| t.job_id.as_str()).collect();
    ids.into_iter().collect::<Vec<_>>().join(",")
}

/// Lines of `job|task|state|nodes` (squeue) or `job_task|state|nodes` (sacct); lines about
/// anything but one array task (a whole pending array, a plain job) are skipped.
fn parse_table(stdout: &[u8]) -> Vec<(TaskKey, TaskState)> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.trim().split('|').collect();
            let (job_id, array_task, state, node) = match fields[..] {
                [job, task, state, node] => (job, task, state, node),
                [job_task, state, node] => {
                    let (job, task) = job_task.split_once('_')?;
                    (job, task, state, node)
                }
                _ => return None,
            };
            let key = TaskKey {
                job_id: job_id.to_string(),
                array_task: array_task.parse().ok()?,
            };
            let node = Some(node.trim())
                .filter(|n| !n.is_empty() && *n != "None assigned" && *n != "(null)")
                .map(str::to_string);
            let state = TaskState {
                state: JobState::parse(state),
                node,
            };
            Some((key, state))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(job_id: &str, array_task: u32) -> TaskKey {
        TaskKey {
            job_id: job_id.into(),
            array_task,
        }
    }

    #[test]
    fn squeue_and_sacct_lines_name_array_tasks() {
        let squeue = b"12|0|RUNNING|node1\n12|1|PENDING|\n13|N/A|RUNNING|node2\n";
        let parsed: HashMap<_, _> = parse_table(squeue).into_iter().collect();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[&key("12", 0)].node.as_deref(), Some("node1"));
        assert_eq!(parsed[&key("12", 1)].node, None);
        assert_eq!(parsed[&key("12", 1)].state.phase(), JobPhase::Queued);

        let sacct = b"12_0|CANCELLED by 0|node1\n12_[2-3]|PENDING|None assigned\n";
        let parsed = parse_table(sacct);
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].1.state.name(), "CANCELLED");
        assert_eq!(parsed[0].1.state.phase(), JobPhase::Cancelled);
    }

    #[test]
    fn unknown_states_stay_with_slurm() {
        assert!(JobState::parse("COMPLETING").is_active());
        assert!(JobState::parse("SOMETHING_NEW").is_active());
        assert!(!JobState::parse("OUT_OF_MEMORY").is_active());
        assert_eq!(JobState::parse("NODE_FAIL").phase(), JobPhase::NodeFailed);
    }

    #[test]
    fn job_list_names_each_job_once() {
        let tasks = [key("9", 0), key("10", 1), key("9", 1)];
        assert_eq!(job_list(tasks.iter()), "10,9");
    }
}
