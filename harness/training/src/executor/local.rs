//! The local executor: runs train here, each in its own `fpt train --spec` child process,
//! `jobs` at a time with the cores split between them; a run whose task-pretrained init
//! depends on another waits for it, and a run another process holds (its run.lock) is
//! waited for rather than trained twice.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

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

/// A child training one run, with its progress line.
struct Job<'a> {
    run: &'a SuiteRun,
    child: Child,
    line: ProgressBar,
}

/// Children still training; killed (and reaped) if the executor stops early on an error,
/// so no run keeps writing after `fpt reproduce` has returned.
struct Running<'a>(Vec<Job<'a>>);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        for job in &mut self.0 {
            let _ = job.child.kill();
            let _ = job.child.wait();
        }
    }
}

/// What the terminal shows while a suite trains: a line per running job (its steps) under
/// the suite's bar, counted in training steps so its ETA comes from the measured step
/// rate; all hidden when stderr is not a terminal (the per-run lines still print).
struct Progress {
    lines: MultiProgress,
    suite: ProgressBar,
    /// Steps of the runs that have settled.
    settled_steps: u64,
    started: Instant,
}

impl Progress {
    fn new(total_steps: u64) -> Self {
        let lines = match std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            true => MultiProgress::new(),
            false => MultiProgress::with_draw_target(ProgressDrawTarget::hidden()),
        };
        let suite = lines.add(ProgressBar::new(total_steps));
        suite.set_style(
            ProgressStyle::with_template(
                "suite [{bar:30}] {msg}, elapsed {elapsed}, eta {eta} (from the step rate)",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        Self {
            lines,
            suite,
            settled_steps: 0,
            started: Instant::now(),
        }
    }

    /// A line for a job starting `run`.
    fn job(&self, run: &SuiteRun) -> ProgressBar {
        let line = self.lines.add(ProgressBar::new(run.spec.steps));
        line.set_style(
            ProgressStyle::with_template("  {msg} [{bar:20}] step {pos}/{len}, {elapsed}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        line.set_message(run.id.clone());
        line
    }

    /// Prints `line` above the bars (or plainly when they are hidden).
    fn say(&self, line: &str) {
        self.lines.suspend(|| eprintln!("{line}"));
    }

    /// Moves every job's line, and the suite's bar, to the steps the runs have logged.
    fn update(&self, schedule: &Schedule<'_>, runs_dir: &Path) {
        let mut steps = self.settled_steps;
        for job in &schedule.running.0 {
            let step = crate::run_status::latest_step(&runs_dir.join(&job.run.id)).unwrap_or(0);
            job.line.set_position(step);
            steps += step;
        }
        self.suite.set_position(steps);
        self.suite
            .set_message(format!("runs {}/{}", schedule.done, schedule.total));
    }

    /// Counts `run`'s steps as done (trained here, or by another process).
    fn settle(&mut self, run: &SuiteRun) {
        self.settled_steps += run.spec.steps;
    }

    /// Removes a finished job's line and counts its run as done.
    fn end_job(&mut self, job: &Job<'_>) {
        job.line.finish_and_clear();
        self.lines.remove(&job.line);
        self.settle(job.run);
    }

    /// Clears the bars and says how long the suite took.
    fn finish(&self, schedule: &Schedule<'_>) {
        self.suite.finish_and_clear();
        let failed = match schedule.failed.len() {
            0 => String::new(),
            n => format!(", {n} failed"),
        };
        self.say(&format!(
            "suite: {} runs in {}{failed}",
            schedule.done,
            humantime::format_duration(Duration::from_secs(self.started.elapsed().as_secs()))
        ));
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
            || self.running.0.iter().any(|job| job.run.id == id)
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
        let mut progress = Progress::new(schedule.queue.iter().map(|r| r.spec.steps).sum());
        while !schedule.is_over() {
            self.start_ready(fpt, &mut schedule, &progress)?;
            std::thread::sleep(Duration::from_millis(200));
            self.reap(&mut schedule, &mut progress)?;
            self.recheck_held(&mut schedule, &mut progress)?;
            progress.update(&schedule, self.runs_dir);
        }
        progress.finish(&schedule);
        Ok(schedule.failed)
    }

    /// Starts queued runs while jobs are free: a run whose source is unfinished waits, one
    /// another process holds moves to `held`.
    fn start_ready<'s>(
        &self,
        fpt: &Path,
        schedule: &mut Schedule<'s>,
        progress: &Progress,
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
                progress.say(&format!(
                    "{}: not started, its source run {source} failed or diverged",
                    run.id
                ));
                continue;
            }
            if let Some(holder) = RunDir::holder(&self.runs_dir.join(&run.id))? {
                progress.say(&format!(
                    "{}: in use by {holder}; waiting for it to finish",
                    run.id
                ));
                schedule.held.push(run);
                continue;
            }
            let child = self.spawn(fpt, run)?;
            schedule.running.0.push(Job {
                run,
                child,
                line: progress.job(run),
            });
        }
        Ok(())
    }

    /// Collects the children that ended.
    fn reap(
        &self,
        schedule: &mut Schedule<'_>,
        progress: &mut Progress,
    ) -> Result<(), ExecutorError> {
        let mut i = 0;
        while i < schedule.running.0.len() {
            let waited = schedule.running.0[i].child.try_wait();
            let Some(status) = waited.map_err(|e| ExecutorError::io("waiting for a run", e))?
            else {
                i += 1;
                continue;
            };
            let job = schedule.running.0.remove(i);
            progress.end_job(&job);
            let run = job.run;
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
                    let log = out.join(TRAIN_LOG);
                    let tail = crate::run_status::tail_lines(std::slice::from_ref(&log), 5);
                    format!(
                        "FAILED ({status}); {} ends:\n    {}",
                        log.display(),
                        tail.join("\n    ")
                    )
                }
            };
            self.settle(schedule, run, &line, progress)?;
        }
        Ok(())
    }

    /// Runs another process held and has let go of: done if it finished them, queued
    /// again (to resume here) if it did not.
    fn recheck_held(
        &self,
        schedule: &mut Schedule<'_>,
        progress: &mut Progress,
    ) -> Result<(), ExecutorError> {
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
                    progress.settle(run);
                    self.settle(schedule, run, &line, progress)?;
                }
                _ => {
                    progress.say(&format!(
                        "{}: released unfinished by the other process; resuming it here",
                        run.id
                    ));
                    schedule.queue.insert(0, run);
                }
            }
        }
        Ok(())
    }

    /// Counts `run` as settled, noting a source that must not be used, and says `line`.
    fn settle(
        &self,
        schedule: &mut Schedule<'_>,
        run: &SuiteRun,
        line: &str,
        progress: &Progress,
    ) -> Result<(), ExecutorError> {
        // A result that cannot be read makes the run unusable as a source, not the suite fail.
        let result = run_dir::read_result(&self.runs_dir.join(&run.id).join(run_dir::RESULT));
        if result.ok().flatten().is_none_or(|r| r.diverged) {
            schedule.unusable.push(run.id.clone());
        }
        schedule.done += 1;
        progress.say(&format!(
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
        // Children log to their run folders (the terminal shows their progress lines),
        // appending, so a retried run keeps the log of the attempt before.
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
