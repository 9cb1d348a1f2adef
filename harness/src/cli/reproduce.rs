//! `fpt reproduce`: expand a profile into runs, train what is not finished (in parallel
//! child processes, threads split between them), then write the report.

use std::collections::BTreeSet;
use std::io::Write;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use harness::experiment;
use harness::model::InitKind;
use harness::run_dir::{self, RunDir, RunDirError, RunResult};
use harness::run_status;
use harness::slurm::{self, Slurm, SubmitOptions};
use harness::spec::DeviceSpec;
use harness::suite::{self, Suite, SuiteOptions, SuiteRun};
use harness::task::{DataContext, Splits};

use super::usage;

#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// Which profile: smoke (CI-sized), quick (~20 min on 2 CPU cores, offline), paper (the
    /// paper's settings, for CUDA machines or a cluster), or any experiments/profiles/NAME.toml.
    #[arg(long, default_value = "quick")]
    profile: String,
    /// Only these tables of the profile (comma-separated ids, e.g. modality,architecture).
    #[arg(long, value_delimiter = ',')]
    tables: Option<Vec<String>>,
    /// Seeds per configuration (default: the profile's).
    #[arg(long)]
    seeds: Option<u64>,
    /// Runs trained at once, each in its own process with the cores split between them
    /// (default: the profile's).
    #[arg(long)]
    jobs: Option<usize>,
    /// cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: DeviceSpec,
    /// Where runs go (default: runs/<profile>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Where the report goes (default: the runs folder's report/, e.g. runs/quick/report).
    #[arg(long)]
    report_dir: Option<PathBuf>,
    /// Continue interrupted runs from their checkpoints (finished runs are always skipped).
    #[arg(long)]
    resume: bool,
    /// Use only data and weights already in the cache; never touch the network.
    #[arg(long)]
    offline: bool,
    /// The experiments folder (tables/ and profiles/; default: ./experiments, else the one
    /// this binary was built from).
    #[arg(long)]
    experiments: Option<PathBuf>,
    /// Print the runs the profile expands into, and the cells each reproduces; train nothing.
    #[arg(long)]
    dry_run: bool,
    /// Where runs train: here (local), or as one Slurm job array (slurm) on a cluster whose
    /// nodes share the output folder; follow it with `fpt status --runs DIR`.
    #[arg(long, value_enum, default_value_t = ExecutorKind::Local)]
    executor: ExecutorKind,
    /// Slurm options (with --executor slurm).
    #[command(flatten)]
    slurm: SubmitOptions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ExecutorKind {
    Local,
    Slurm,
}

pub fn run(args: ReproduceArgs, threads: Option<i32>) -> Result<()> {
    let paper = harness::reference::tables().context("the paper's reference numbers")?;
    let folder = experiment::folder(args.experiments.as_deref())?;
    // Absolute: task-pretrained inits name their source run by path, which must mean the
    // same run from any working folder (Slurm tasks, `fpt inspect`).
    let runs_dir = std::path::absolute(
        args.out
            .clone()
            .unwrap_or_else(|| Path::new("runs").join(&args.profile)),
    )
    .context("cannot resolve the output folder")?;
    let suite = suite::load(
        &folder,
        &paper,
        &SuiteOptions {
            profile: args.profile.clone(),
            seeds: args.seeds,
            tables: args.tables.clone(),
            device: args.device,
            runs_dir: runs_dir.clone(),
        },
    )?;
    if args.dry_run {
        return match print_plan(&suite, &mut std::io::stdout().lock()) {
            // `fpt reproduce --dry-run | head` is fine.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => Ok(other?),
        };
    }
    let jobs = args.jobs.unwrap_or(suite.profile.jobs);
    if jobs == 0 {
        return Err(usage("--jobs must be at least 1"));
    }
    std::fs::create_dir_all(&runs_dir)
        .with_context(|| format!("cannot create {}", runs_dir.display()))?;
    let pending = prepare(&suite, &runs_dir, args.resume)?;
    let manifest = serde_json::to_vec_pretty(&suite.manifest(args.device))?;
    run_dir::write_atomic(&runs_dir.join("suite.json"), &manifest)?;
    if args.executor == ExecutorKind::Slurm {
        return submit_to_slurm(&suite, &runs_dir, &pending, &args, threads);
    }
    if args.slurm != SubmitOptions::default() {
        return Err(usage(
            "--partition, --gres, --time, --array-parallelism and --sbatch-arg need --executor slurm",
        ));
    }
    tracing::info!(
        "profile {}: {} runs ({} to train) into {}",
        suite.profile.name,
        suite.runs.len(),
        pending.len(),
        runs_dir.display()
    );
    if !pending.is_empty() {
        prefetch(&suite, &pending, args.offline)?;
    }
    let failed = Executor {
        runs_dir: &runs_dir,
        jobs,
        threads: threads_per_job(threads, jobs),
        offline: args.offline,
    }
    .run(&suite, &pending)?;

    dump_attention(&suite, &runs_dir, args.offline);
    let report_dir = args
        .report_dir
        .clone()
        .unwrap_or_else(|| super::report::default_folder(&runs_dir));
    super::report::write(&runs_dir, &report_dir)?;
    if !failed.is_empty() {
        anyhow::bail!(
            "{} run(s) failed: {}; see train.log in each, then rerun with --resume",
            failed.len(),
            failed.join(", ")
        );
    }
    Ok(())
}

fn print_plan(suite: &Suite, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "profile {} ({} seed(s)): {} runs over tables {}",
        suite.profile.name,
        suite.seeds,
        suite.runs.len(),
        suite.tables.join(", ")
    )?;
    for run in &suite.runs {
        let cells: Vec<String> = run
            .cells
            .iter()
            .map(|c| format!("{}/{}/{}", c.cell.table, c.cell.row, c.cell.column))
            .collect();
        let after = run
            .after
            .as_ref()
            .map(|a| format!(" (after {a})"))
            .unwrap_or_default();
        writeln!(
            out,
            "  {} {} steps{after}: {}",
            run.id,
            run.spec.steps,
            cells.join(" ")
        )?;
    }
    for c in &suite.unsupported {
        writeln!(
            out,
            "  unsupported {}/{}/{}: {}",
            c.cell.table, c.cell.row, c.cell.column, c.reason
        )?;
    }
    writeln!(
        out,
        "  {} cell(s) not in this profile, {} derived, {} fixed",
        suite.not_in_profile.len(),
        suite.derived.len(),
        suite.fixed.len()
    )
}

/// Opens every run's directory (writing its spec.toml) and returns the ids still to train.
/// Fails before any training on a folder holding another spec, or an interrupted run
/// without --resume. A run another process is writing stays pending: the executor waits
/// for it.
fn prepare(suite: &Suite, runs_dir: &Path, resume: bool) -> Result<Vec<String>> {
    let mut pending = Vec::new();
    for run in &suite.runs {
        let out = runs_dir.join(&run.id);
        // A finished run is kept whatever --resume says.
        let finished = out.join(run_dir::RESULT).is_file();
        match RunDir::prepare(&out, &run.spec, resume || finished) {
            Ok(dir) if dir.read_result()?.is_some() => {}
            Ok(_) => pending.push(run.id.clone()),
            Err(RunDirError::InUse { holder, .. }) => {
                tracing::info!("{}: in use by {holder}; this process waits for it", run.id);
                pending.push(run.id.clone());
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(pending)
}

/// Submits the runs not finished and not already queued as one job array; the report is
/// written later, by `fpt report` once `fpt status` shows them done.
fn submit_to_slurm(
    suite: &Suite,
    runs_dir: &Path,
    pending: &[String],
    args: &ReproduceArgs,
    threads: Option<i32>,
) -> Result<()> {
    let slurm = Slurm::from_env();
    let dirs: Vec<PathBuf> = pending.iter().map(|id| runs_dir.join(id)).collect();
    let todo = run_status::needing_submission(&dirs, &slurm)?;
    if todo.is_empty() {
        println!(
            "nothing to submit: {} of {} runs are finished and the rest are queued or running; `fpt status --runs {}` shows them",
            suite.runs.len() - pending.len(),
            suite.runs.len(),
            runs_dir.display()
        );
        return Ok(());
    }
    if suite
        .runs
        .iter()
        .any(|r| r.after.is_some() && todo.contains(&runs_dir.join(&r.id)))
    {
        anyhow::bail!(
            "runs with a task-pretrained init need their source run finished first; run the sources (fpt reproduce --tables ...), or use --executor local"
        );
    }
    prefetch(suite, pending, args.offline)?;
    let options = SubmitOptions {
        threads: threads
            .and_then(|t| u32::try_from(t).ok())
            .and_then(NonZeroU32::new),
        offline: args.offline,
        ..args.slurm.clone()
    };
    let fpt = std::env::current_exe().context("cannot find the fpt binary")?;
    let submission = slurm::submit(&slurm, runs_dir, &todo, &fpt, &options)?;
    println!(
        "Slurm job {} runs {} of the {} runs (array tasks 0-{}).
Follow it with `fpt status --runs {}`; when all are done, `fpt report --runs {}` (the report goes to {}/report). After a failure, preemption or time-out, rerun this command with --resume: it resubmits only unfinished runs.",
        submission.job_id,
        submission.runs,
        suite.runs.len(),
        submission.runs - 1,
        runs_dir.display(),
        runs_dir.display(),
        runs_dir.display()
    );
    Ok(())
}

/// Fetches (or checks the cache for) every weights file and data set the pending runs need,
/// once, before parallel runs would each try.
fn prefetch(suite: &Suite, pending: &[String], offline: bool) -> Result<()> {
    let data = DataContext::standard(offline);
    let mut models = BTreeSet::new();
    let mut tasks = Vec::new();
    for run in suite.runs.iter().filter(|r| pending.contains(&r.id)) {
        let s = &run.spec;
        if matches!(s.init, InitKind::Pretrained | InitKind::Stats)
            && models.insert(s.model.label())
        {
            s.model.pretrained_weights(offline)?;
        }
        if !tasks.contains(&s.task) {
            tasks.push(s.task);
            s.task
                .build(&data, Splits::only(s.eval_split))
                .with_context(|| format!("loading the data of {}", s.task.name()))?;
        }
    }
    Ok(())
}

/// Threads for each of `jobs` parallel runs: the user's --threads, else the cores split.
fn threads_per_job(threads: Option<i32>, jobs: usize) -> i32 {
    threads.unwrap_or_else(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        (cores / jobs).max(1) as i32
    })
}

/// Trains runs in child processes (`fpt train --spec`), `jobs` at a time.
struct Executor<'a> {
    runs_dir: &'a Path,
    jobs: usize,
    threads: i32,
    offline: bool,
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

/// Where each pending run of one `Executor::run` stands.
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

impl Executor<'_> {
    /// Trains the pending runs, those a task-pretrained init depends on first; returns the
    /// ids of runs that failed (runs depending on a failed or diverged source are not
    /// started, and count as failed). Runs another process holds are waited for, not
    /// trained twice.
    fn run(&self, suite: &Suite, pending: &[String]) -> Result<Vec<String>> {
        let fpt = std::env::current_exe().context("cannot find the fpt binary")?;
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
        let bar = overall_bar(schedule.total as u64, self.jobs > 1);
        // Lines above the bar, or plain lines on stderr when it is hidden.
        let say = |line: String| bar.suspend(|| eprintln!("{line}"));
        while !schedule.is_over() {
            self.start_ready(&fpt, &mut schedule, &say)?;
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
    ) -> Result<()> {
        while schedule.running.0.len() < self.jobs {
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
    fn reap(&self, schedule: &mut Schedule<'_>, say: &impl Fn(String)) -> Result<usize> {
        let mut settled = 0;
        let mut i = 0;
        while i < schedule.running.0.len() {
            let Some(status) = schedule.running.0[i].1.try_wait()? else {
                i += 1;
                continue;
            };
            let (run, _) = schedule.running.0.remove(i);
            let out = self.runs_dir.join(&run.id);
            let result = run_dir::read_result(&out.join(run_dir::RESULT));
            let line = match (status.success(), result) {
                (true, Ok(Some(r))) => finished_line(&r),
                // Another process took the run between our look and the child's start.
                _ if RunDir::holder(&out)?.is_some() => {
                    schedule.held.push(run);
                    continue;
                }
                _ => {
                    schedule.failed.push(run.id.clone());
                    match self.jobs > 1 {
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
    fn recheck_held(&self, schedule: &mut Schedule<'_>, say: &impl Fn(String)) -> Result<usize> {
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
    ) -> Result<()> {
        let result = run_dir::read_result(&self.runs_dir.join(&run.id).join(run_dir::RESULT))?;
        if result.is_none_or(|r| r.diverged) {
            schedule.unusable.push(run.id.clone());
        }
        schedule.done += 1;
        say(format!(
            "[{}/{}] {}: {line}",
            schedule.done, schedule.total, run.id
        ));
        Ok(())
    }
    fn spawn(&self, fpt: &Path, run: &SuiteRun) -> Result<Child> {
        let out = self.runs_dir.join(&run.id);
        let mut command = Command::new(fpt);
        command
            .arg("--threads")
            .arg(self.threads.to_string())
            .arg("train")
            .arg("--spec")
            .arg(out.join(run_dir::SPEC))
            .arg("--out")
            .arg(&out)
            .arg("--resume")
            .stdin(Stdio::null());
        if self.offline {
            command.arg("--offline");
        }
        // One job shows its own progress bar; parallel jobs log to their run folders,
        // appending, so a retried run keeps the log of the attempt before.
        if self.jobs > 1 {
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(out.join(TRAIN_LOG))
                .with_context(|| format!("cannot write {}", out.display()))?;
            command.stdout(log.try_clone()?).stderr(log);
        } else {
            command.stdout(Stdio::null());
        }
        command
            .spawn()
            .with_context(|| format!("cannot start {}", fpt.display()))
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

/// Attention maps for the report: the first seed of each bit-task transformer run. A map
/// that cannot be made is logged, not fatal: the runs' numbers stand without it.
fn dump_attention(suite: &Suite, runs_dir: &Path, offline: bool) {
    let data = DataContext::standard(offline);
    for run in &suite.runs {
        let s = &run.spec;
        let bits = matches!(s.task.name(), "bit-xor" | "bit-memory");
        let dir = runs_dir.join(&run.id);
        let wanted = bits
            && s.seed == 0
            && !run.cells.is_empty()
            && dir.join(run_dir::RESULT).is_file()
            && !dir.join(harness::attention::FILE).is_file();
        if !wanted || !s.model.architecture().is_ok_and(|a| a.has_attention()) {
            continue;
        }
        if let Err(e) = harness::attention::dump(&dir, 0, &data) {
            tracing::warn!("no attention map for {}: {e}", run.id);
        }
    }
}
