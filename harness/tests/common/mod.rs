//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::Path;

use harness::freeze::FreezePolicy;
use harness::model::{InitKind, ModelSource};
use harness::optim::AdamConfig;
use harness::run_dir::{EvalRecord, RunDir, RunResult};
use harness::spec::{DeviceSpec, RunSpec};
use harness::task::{DataContext, EvalSplit, TaskSpec};

/// A small run on gpt2-tiny, frozen random init, FPT policy.
pub fn tiny_spec(task: TaskSpec, steps: u64, lr: f64, seed: u64) -> RunSpec {
    RunSpec {
        profile: "test".into(),
        task,
        model: ModelSource::Named("gpt2-tiny".into()),
        init: InitKind::Random,
        freeze: FreezePolicy::fpt(),
        seed,
        steps,
        batch_size: 32,
        micro_batch_size: 32,
        optimizer: AdamConfig {
            lr,
            ..AdamConfig::default()
        },
        clip_grad_norm: 1.0,
        eval_every: 100,
        eval_split: EvalSplit::Test,
        eval_examples: Some(512),
        checkpoint_every: 100,
        input_dropout: 0.1,
        orthogonal_gain: 1.41,
        device: DeviceSpec(tch::Device::Cpu),
    }
}

pub fn train_in(dir: &Path, spec: &RunSpec) -> (RunResult, Vec<EvalRecord>) {
    let run = RunDir::prepare(dir, spec, false).unwrap();
    let result = harness::train::train(spec, &run, &DataContext::standard(true), false).unwrap();
    (result, run.read_metrics().unwrap())
}

/// Metrics with their wall-clock times zeroed, as those legitimately differ between runs.
pub fn numbers(metrics: &[EvalRecord]) -> Vec<EvalRecord> {
    metrics
        .iter()
        .map(|r| EvalRecord {
            wall_seconds: 0.0,
            ..r.clone()
        })
        .collect()
}
