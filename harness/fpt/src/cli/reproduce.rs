//! `fpt reproduce`: expand a profile into runs, hand what is not finished to an executor
//! (`training::executor`: local child processes with the threads split between them, or a
//! Slurm job array), then write the report.

use std::io::Write;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use datasets::data_dir::DATA_DIR_ENV;

use spec::experiment;
use spec::run::DeviceSpec;
use spec::run_dir::{self, RunDir, RunDirError};
use spec::suite::{self, Suite, SuiteOptions};
use training::executor::{self, Execution, Executor, Local};
use training::slurm::{Slurm, SubmitOptions};
use training::task::DataContext;

use super::usage;

#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// Which profile: smoke (CI-sized), quick (~30 min on 2 CPU cores, offline, 3 seeds:
    /// tests the claims that separate at its budget), extended (several hours, offline, every
    /// claim MiniLM and the offline data allow), paper (the paper's settings, for CUDA
    /// machines or a cluster), or any experiments/profiles/NAME.toml.
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
    #[arg(long, value_name = "DIR", env = DATA_DIR_ENV, help = super::DATA_DIR_HELP, long_help = super::DATA_DIR_LONG_HELP)]
    data_dir: Option<PathBuf>,
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
    if let Some(dir) = &args.data_dir {
        export_data_dir(dir)?;
    }
    let runs_dir = runs_folder(&args)?;
    let suite = load_suite(&args, &runs_dir)?;
    if args.dry_run {
        return match print_plan(&suite, &mut std::io::stdout().lock()) {
            // `fpt reproduce --dry-run | head` is fine.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => Ok(other?),
        };
    }
    let report_dir = args
        .report_dir
        .clone()
        .unwrap_or_else(|| super::report::default_folder(&runs_dir));
    // Before any training: a report folder refused after hours of runs helps no one.
    super::report::check_not_in_sources(&report_dir)?;
    let jobs = args.jobs.unwrap_or(suite.profile.jobs);
    if jobs == 0 {
        return Err(usage("--jobs must be at least 1"));
    }
    if args.executor == ExecutorKind::Local && args.slurm != SubmitOptions::default() {
        return Err(usage(
            "--partition, --gres, --time, --array-parallelism and --sbatch-arg need --executor slurm",
        ));
    }
    std::fs::create_dir_all(&runs_dir)
        .with_context(|| format!("cannot create {}", runs_dir.display()))?;
    let pending = prepare(&suite, &runs_dir, args.resume)?;
    let manifest = serde_json::to_vec_pretty(&suite.manifest(args.device))?;
    run_dir::write_atomic(&runs_dir.join(run_dir::MANIFEST), &manifest)?;
    tracing::info!(
        "profile {}: {} runs ({} to train) into {}",
        suite.profile.name,
        suite.runs.len(),
        pending.len(),
        runs_dir.display()
    );
    let execution = executor(&args, threads, jobs)?.execute(&suite, &runs_dir, &pending)?;
    let failed = match execution {
        Execution::Finished { failed } => failed,
        queued => {
            explain_queued(&queued, &suite, &runs_dir, pending.len());
            return Ok(());
        }
    };
    dump_attention(&suite, &runs_dir, args.offline);
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

/// The runs find `--data-dir` in the environment they inherit (local children and Slurm
/// jobs), as this process's prefetch and attention maps do (`DataContext::standard`): set
/// it once, absolute, before any thread or child starts.
fn export_data_dir(dir: &Path) -> Result<()> {
    std::env::set_var(DATA_DIR_ENV, super::data_dir_arg(dir)?);
    Ok(())
}

/// `--out`, or `runs/<profile>`, made absolute: task-pretrained inits name their source run
/// by path, which must mean the same run from any working folder (Slurm tasks, `fpt inspect`).
fn runs_folder(args: &ReproduceArgs) -> Result<PathBuf> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("runs").join(&args.profile));
    std::path::absolute(out).context("cannot resolve the output folder")
}

/// The profile's runs for the selected tables and seeds.
fn load_suite(args: &ReproduceArgs, runs_dir: &Path) -> Result<Suite> {
    let paper = spec::reference::tables().context("the paper's reference numbers")?;
    let folder = experiment::folder(args.experiments.as_deref())?;
    let options = SuiteOptions {
        profile: args.profile.clone(),
        seeds: args.seeds,
        tables: args.tables.clone(),
        device: args.device,
        runs_dir: runs_dir.to_path_buf(),
    };
    Ok(suite::load(&folder, &paper, &options)?)
}

/// The executor `--executor` names, with `jobs` parallel runs locally.
fn executor(args: &ReproduceArgs, threads: Option<i32>, jobs: usize) -> Result<Box<dyn Executor>> {
    let fpt = std::env::current_exe().context("cannot find the fpt binary")?;
    Ok(match args.executor {
        ExecutorKind::Local => Box::new(Local {
            fpt,
            jobs,
            threads: threads_per_job(threads, jobs),
            offline: args.offline,
        }),
        ExecutorKind::Slurm => Box::new(executor::Slurm {
            slurm: Slurm::from_env(),
            fpt,
            options: SubmitOptions {
                threads: threads
                    .and_then(|t| u32::try_from(t).ok())
                    .and_then(NonZeroU32::new),
                offline: args.offline,
                ..args.slurm.clone()
            },
        }),
    })
}

/// What to do next when the runs went to Slurm instead of finishing here.
fn explain_queued(execution: &Execution, suite: &Suite, runs_dir: &Path, pending: usize) {
    match execution {
        Execution::Submitted { job_id, runs } => println!(
            "Slurm job {job_id} runs {runs} of the {} runs (array tasks 0-{}).
Follow it with `fpt status --runs {dir}`; when all are done, `fpt report --runs {dir}` (the report goes to {dir}/report). After a failure, preemption or time-out, rerun this command with --resume: it resubmits only unfinished runs.",
            suite.runs.len(),
            runs - 1,
            dir = runs_dir.display(),
        ),
        Execution::AlreadyQueued => println!(
            "nothing to submit: {} of {} runs are finished and the rest are queued or running; `fpt status --runs {}` shows them",
            suite.runs.len() - pending,
            suite.runs.len(),
            runs_dir.display()
        ),
        Execution::Finished { .. } => {}
    }
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

/// Threads for each of `jobs` parallel runs: the user's --threads, else the cores split.
fn threads_per_job(threads: Option<i32>, jobs: usize) -> i32 {
    threads.unwrap_or_else(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        (cores / jobs).max(1) as i32
    })
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
            && !dir.join(run_dir::ATTENTION).is_file();
        if !wanted || !s.model.architecture().is_ok_and(|a| a.has_attention()) {
            continue;
        }
        if let Err(e) = training::attention::dump(&dir, 0, &data) {
            tracing::warn!("no attention map for {}: {e}", run.id);
        }
    }
}
