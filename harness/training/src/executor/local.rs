//! The local executor: runs train here, each in its own `fpt train --spec` child process,
//! `jobs` at a time with the cores split between them; a run whose task-pretrained init
//! depends on another waits for it, and a run another process holds (its run.lock) is
//! waited for rather than trained twice.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::{prefetch, Execution, Executor, ExecutorError};
use spec::run_dir::{self, RunDir};
use spec::schema::RunResult;
use spec::suite::{Suite, SuiteRun};

/// Trains runs here, in child processes (`fpt train --spec`), `jobs` at a time, each with
/// `threads` threads.
pub struct Local {
    /// The `fpt` binary the children run.
    pub fpt: PathBuf,
    pub jobs: usize,
    pub threads: i32,
    pub offline: bool,
}

impl Executor for Local {
    fn execute(
        &self,
        suite: &Suite,
        runs_dir: &Path,
        pending: &[String],
    ) -> Result<Execution, ExecutorError> {
        if !pending.is_empty() {
            prefetch(suite, pending, self.offline)?;
        }
        let failed = Run {
            local: self,
            runs_dir,
        }
        .train(suite, pending)?;
        Ok(Execution::Finished { failed })
    }
}

/// One [`Local::execute`]: the executor and the suite's folder.
struct Run<'a> {
    local: &'a Local,
    runs_dir: &'a Path,
}

/// Children still training; killed (and reaped) if the executor stops early on an error,
/// so no run keeps writing after `fpt reproduce` has returned.
struct Running<'a>(Vec<(&'a SuiteRun, Child)>);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        for (_, child) in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Where each pending run of one [`Local::execute`] stands.
struct Schedule<'a> {
    /// Not started, in the suite's order.
    queue: Vec<&'a SuiteRun>,
    /// Being written by another process (its run.lock is held): waited for, then taken as
    /// done or, if that process left it unfinished, trained here.
    held: Vec<&'a SuiteRun>,
    running: Running<'a>,
    failed: Vec<String>,
    /// Sources whose backbone must not be used: failed or diverged.
    unusable: Vec<String>,
    done: usize,
    total: usize,
}

impl Schedule<'_> {
    fn is_over(&self) -> bool {
        self.queue.is_empty() && self.held.is_empty() && self.running.0.is_empty()
    }

    /// Whether run `id` has not finished yet (here or in another process).
    fn is_unfinished(&self, id: &str) -> bool {
        self.queue.iter().chain(&self.held).any(|r| r.id == id)
            || self.running.0.iter().any(|(r, _)| r.id == id)
    }
}

impl Run<'_> {
    /// Trains the pending runs, those a task-pretrained init depends on first; returns the
    /// ids of runs that failed (runs depending on a failed or diverged source are not
    /// started, and count as failed). Runs another process holds are waited for, not
    /// trained twice.
    fn train(&self, suite: &Suite, pending: &[String]) -> Result<Vec<String>, ExecutorError> {
        let fpt = &self.local.fpt;
        let queue: Vec<&SuiteRun> = suite
            .runs
            .iter()
            .filter(|r| pending.contains(&r.id))
            .collect();
        let mut schedule = Schedule {
            total: queue.len(),
            queue,
            held: Vec::new(),
            running: Running(Vec::new()),
            failed: Vec::new(),
            unusable: Vec::new(),
            done: 0,
        };
        let bar = overall_bar(schedule.total as u64, self.local.jobs > 1);
        // Lines above the bar, or plain lines on stderr when it is hidden.
        let say = |line: String| bar.suspend(|| eprintln!("{line}"));
        while !schedule.is_over() {
            self.start_ready(fpt, &mut schedule, &say)?;
            std::thread::sleep(Duration::from_millis(200));
            let finished = self.reap(&mut schedule, &say)?;
            let taken = self.recheck_held(&mut schedule, &say)?;
            bar.inc((finished + taken) as u64);
        }
        bar.finish_and_clear();
        Ok(schedule.failed)
    }

    /// Starts queued runs while jobs are free: a run whose source is unfinished waits, one
    /// another process holds moves to `held`.
    fn start_ready<'s>(
        &self,
        fpt: &Path,
        schedule: &mut Schedule<'s>,
        say: &impl Fn(String),
    ) -> Result<(), ExecutorError> {
        while schedule.running.0.len() < self.local.jobs {
            let Some(i) = schedule
                .queue
                .iter()
                .position(|r| r.after.as_ref().is_none_or(|a| !schedule.is_unfinished(a)))
            else {
                break;
            };
            let run = schedule.queue.remove(i);
            if let Some(source) = run.after.as_ref().filter(|a| schedule.unusable.contains(a)) {
                schedule.failed.push(run.id.clone());
                schedule.unusable.push(run.id.clone());
                say(format!(
                    "{}: not started, its source run {source} failed or diverged",
                    run.id
                ));
                continue;
            }
            if let Some(holder) = RunDir::holder(&self.runs_dir.join(&run.id))? {
                say(format!(
                    "{}: in use by {holder}; waiting for it to finish",
                    run.id
                ));
                schedule.held.push(run);
                continue;
            }
            schedule.running.0.push((run, self.spawn(fpt, run)?));
        }
        Ok(())
    }

    /// Collects the children that ended; returns how many runs that settled.
    fn reap(
        &self,
        schedule: &mut Schedule<'_>,
        say: &impl Fn(String),
    ) -> Result<usize, ExecutorError> {
        let mut settled = 0;
        let mut i = 0;
        while i < schedule.running.0.len() {
            let waited = schedule.running.0[i].1.try_wait();
            let Some(status) = waited.map_err(|e| ExecutorError::io("waiting for a run", e))?
            else {
                i += 1;
                continue;
            };
            let (run, _) = schedule.running.0.remove(i);
            let out = self.runs_dir.join(&run.id);
            let result = run_dir::read_result(&out.join(run_dir::RESULT));
            let line = match (status.success(), result) {
                (true, Ok(Some(r))) => finished_line(&r),
                // Another process took the run between our look and the child's start: it
                // still holds it, or has finished it since.
                _ if RunDir::holder(&out)?.is_some() => {
                    schedule.held.push(run);
                    continue;
                }
                (false, Ok(Some(r))) => {
                    format!("{} (trained by another process)", finished_line(&r))
                }
                _ => {
                    schedule.failed.push(run.id.clone());
                    match self.local.jobs > 1 {
                        true => format!("FAILED ({status}); see {}", out.join(TRAIN_LOG).display()),
                        false => format!("FAILED ({status}); its log is above"),
                    }
                }
            };
            self.settle(schedule, run, &line, say)?;
            settled += 1;
        }
        Ok(settled)
    }

    /// Runs another process held and has let go of: done if it finished them, queued
    /// again (to resume here) if it did not. Returns how many settled.
    fn recheck_held(
        &self,
        schedule: &mut Schedule<'_>,
        say: &impl Fn(String),
    ) -> Result<usize, ExecutorError> {
        let mut settled = 0;
        let mut i = 0;
        while i < schedule.held.len() {
            let out = self.runs_dir.join(&schedule.held[i].id);
            if RunDir::holder(&out)?.is_some() {
                i += 1;
                continue;
            }
            let run = schedule.held.remove(i);
            match run_dir::read_result(&out.join(run_dir::RESULT)) {
                Ok(Some(r)) => {
                    let line = format!("{} (trained by another process)", finished_line(&r));
                    self.settle(schedule, run, &line, say)?;
                    settled += 1;
                }
                _ => {
                    say(format!(
                        "{}: released unfinished by the other process; resuming it here",
                        run.id
                    ));
                    schedule.queue.insert(0, run);
                }
            }
        }
        Ok(settled)
    }

    /// Counts `run` as settled, noting a source that must not be used, and says `line`.
    fn settle(
        &self,
        schedule: &mut Schedule<'_>,
        run: &SuiteRun,
        line: &str,
        say: &impl Fn(String),
    ) -> Result<(), ExecutorError> {
        // A result that cannot be read makes the run unusable as a source, not the suite fail.
        let result = run_dir::read_result(&self.runs_dir.join(&run.id).join(run_dir::RESULT));
        if result.ok().flatten().is_none_or(|r| r.diverged) {
            schedule.unusable.push(run.id.clone());
        }
        schedule.done += 1;
        say(format!(
            "[{}/{}] {}: {line}",
            schedule.done, schedule.total, run.id
        ));
        Ok(())
    }
    fn spawn(&self, fpt: &Path, run: &SuiteRun) -> Result<Child, ExecutorError> {
        let out = self.runs_dir.join(&run.id);
        let mut command = Command::new(fpt);
        command
            .arg("--threads")
            .arg(self.local.threads.to_string())
            .arg("train")
            .arg("--spec")
            .arg(out.join(run_dir::SPEC))
            .arg("--out")
            .arg(&out)
            .arg("--resume")
            .stdin(Stdio::null());
        if self.local.offline {
            command.arg("--offline");
        }
        // One job shows its own progress bar; parallel jobs log to their run folders,
        // appending, so a retried run keeps the log of the attempt before.
        if self.local.jobs > 1 {
            let log_err =
                |e| ExecutorError::io(format!("writing {}", out.join(TRAIN_LOG).display()), e);
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(out.join(TRAIN_LOG))
                .map_err(log_err)?;
            command
                .stdout(log.try_clone().map_err(log_err)?)
                .stderr(log);
        } else {
            command.stdout(Stdio::null());
        }
        command
            .spawn()
            .map_err(|e| ExecutorError::io(format!("starting {}", fpt.display()), e))
    }
}

/// `test accuracy 97.1% in 12s`, with "(diverged)" when it did.
fn finished_line(r: &RunResult) -> String {
    format!(
        "test accuracy {:.1}%{} in {:.0}s",
        100.0 * r.test_accuracy,
        if r.diverged { " (diverged)" } else { "" },
        r.wall_seconds
    )
}

/// Where a run trained by a parallel job logs.
const TRAIN_LOG: &str = "train.log";

fn overall_bar(total: u64, visible: bool) -> ProgressBar {
    if !visible || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("runs [{bar:30}] {pos}/{len} elapsed {elapsed} eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}
