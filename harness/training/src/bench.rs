//! Step timing: training steps as `train::train` takes them (micro-batched forward and
//! backward, gradient-norm clipping, Adam) on synthetic inputs of a task's shape, with the
//! time split into phases and the step's matmul FLOPs counted analytically.
//!
//! Inputs are random: a step's arithmetic depends on the shapes and on which weights
//! train, not on the values, so no data set needs fetching and `random` init costs what
//! `pretrained` costs.

use std::time::Instant;

use serde::Serialize;
use tch::{Device, Kind, Tensor};

use spec::run::RunSpec;
use spec::task::{InputKind, TaskShape};

use crate::flops;
use crate::optim::Adam;
use crate::task::Batch;
use crate::train::{self, TrainError};
use models::device::TchDevice;
use models::model::FptModel;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error("--steps must be at least 1")]
    NoSteps,
}

impl BenchError {
    /// Whether the user's settings are at fault rather than the machine or the network.
    pub fn is_bad_input(&self) -> bool {
        match self {
            BenchError::Train(e) => e.is_bad_input(),
            BenchError::NoSteps => true,
        }
    }
}

/// A random batch of `size` examples of `shape`, on `device`.
pub fn synthetic_batch(shape: TaskShape, size: i64, device: Device) -> Batch {
    let inputs = match shape.input {
        InputKind::Features { dim } => {
            Tensor::randn([size, shape.seq_len, dim], (Kind::Float, device))
        }
        InputKind::Tokens { vocab } => {
            Tensor::randint(vocab, [size, shape.seq_len], (Kind::Int64, device))
        }
    };
    let targets = Tensor::randint(
        shape.classes,
        [size, shape.targets_per_example],
        (Kind::Int64, device),
    );
    Batch { inputs, targets }
}

/// A model, its optimiser and one synthetic batch, ready to take training steps.
pub struct StepRig {
    model: FptModel,
    adam: Adam,
    batch: Batch,
    micro: i64,
    clip: f64,
    dropout: bool,
    device: Device,
    flops_per_step: Option<f64>,
}

impl StepRig {
    /// Builds the model `spec` describes (seeded, as a run is) and a random batch of
    /// `spec.batch_size` examples of its task's shape. Only `pretrained` and `stats` inits
    /// read a checkpoint (fetched when missing unless `offline`).
    pub fn new(spec: &RunSpec, offline: bool) -> Result<Self, BenchError> {
        spec.validate().map_err(TrainError::from)?;
        train::check_device(spec)?;
        let shape = spec.task.shape().map_err(|e| TrainError::Task(e.into()))?;
        let model = train::build_model(spec, shape, offline)?;
        let architecture = spec
            .model
            .architecture_with_layers(spec.layers)
            .map_err(|e| TrainError::Model(e.into()))?;
        let examples = spec.batch_size as i64;
        let flops_per_step = flops::step_flops_of(&architecture, shape, examples, &model, false);
        let adam = Adam::new(spec.optimizer, model.trainable());
        let device = spec.device.tch();
        Ok(Self {
            batch: synthetic_batch(shape, examples, device),
            micro: spec.micro_batch_size.min(spec.batch_size) as i64,
            clip: spec.clip_grad_norm,
            // As train.rs: when only the head trains, the body runs in eval mode.
            dropout: !model.trains_only_output(),
            model,
            adam,
            device,
            flops_per_step,
        })
    }

    pub fn model(&self) -> &FptModel {
        &self.model
    }

    pub fn flops_per_step(&self) -> Option<f64> {
        self.flops_per_step
    }

    /// One whole training step: [`Self::accumulate_gradients`] then [`Self::update`];
    /// returns the loss (waiting for the device).
    pub fn step(&mut self) -> f64 {
        let loss = self.accumulate_gradients();
        self.update();
        loss.double_value(&[])
    }

    /// Zeroes the gradients, then runs forward and backward over the batch in
    /// micro-batches as a run does ([`train::accumulate_gradients`]); returns the loss, on
    /// the device.
    pub fn accumulate_gradients(&mut self) -> Tensor {
        self.adam.zero_grad();
        let (model, dropout) = (&self.model, self.dropout);
        train::accumulate_gradients(&self.batch, self.micro, |x| model.forward(x, dropout)).0
    }

    /// Gradient-norm clipping and the Adam update on the accumulated gradients.
    pub fn update(&mut self) {
        let _ = self.adam.clip_grad_norm(self.clip);
        self.adam.step();
    }

    /// The training-mode forward pass of every micro-batch, building the autograd graph
    /// and dropping it without a backward pass: the forward share of a step.
    pub fn forward_with_graph(&self) {
        for start in (0..self.batch.len()).step_by(self.micro as usize) {
            let _ = self.micro_batch_loss(start).double_value(&[]);
        }
    }

    /// Evaluation: the whole batch forward in eval mode without gradients.
    pub fn forward_eval(&self) -> Tensor {
        tch::no_grad(|| self.model.forward(&self.batch.inputs, false))
    }

    fn micro_batch_loss(&self, start: i64) -> Tensor {
        let part = self.batch.slice(start, self.micro);
        train::loss_and_correct(
            &self.model.forward(&part.inputs, self.dropout),
            &part.targets,
        )
        .0
    }

    /// Waits for queued device work, so wall-clock times cover it.
    fn sync(&self) {
        if let Device::Cuda(index) = self.device {
            tch::Cuda::synchronize(index as i64);
        }
    }

    /// Seconds of each of `runs` calls of `f` after `warmup` untimed ones.
    fn time(&mut self, warmup: usize, runs: usize, mut f: impl FnMut(&mut Self)) -> Vec<f64> {
        for _ in 0..warmup {
            f(self);
            self.sync();
        }
        (0..runs)
            .map(|_| {
                let started = Instant::now();
                f(self);
                self.sync();
                started.elapsed().as_secs_f64()
            })
            .collect()
    }
}

/// What `fpt bench step` measures: untimed warm-up steps, then `steps` timed ones.
#[derive(Debug, Clone)]
pub struct StepBench {
    /// Model, init, freeze policy, task, batch and micro-batch sizes, optimiser, device.
    pub spec: RunSpec,
    pub warmup: usize,
    pub steps: usize,
    /// Also time a step's phases (training forward, eval forward) in passes of their own.
    pub phases: bool,
    /// Never fetch a checkpoint.
    pub offline: bool,
}

/// Timings of [`StepBench`], medians over the timed runs; one JSON line of `fpt bench step`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    pub model: String,
    pub task: String,
    pub init: String,
    pub freeze: String,
    /// fp32, or bf16 frozen matrices.
    pub frozen_precision: String,
    pub device: String,
    pub threads: i32,
    pub batch_size: usize,
    pub micro_batch_size: usize,
    pub seq_len: i64,
    pub steps: usize,
    pub warmup: usize,
    pub median_step_s: f64,
    pub min_step_s: f64,
    pub tokens_per_s: f64,
    /// Forward and backward of every micro-batch (a step without the update).
    pub gradients_s: f64,
    /// Clipping and Adam.
    pub optimizer_s: f64,
    /// Absent when [`StepBench::phases`] is off.
    #[serde(flatten)]
    pub phases: Option<Phases>,
    /// Matmul FLOPs of a step by [`flops::step_flops`]; absent for non-transformer backbones.
    pub flops_per_step: Option<f64>,
    pub gflops_per_s: Option<f64>,
    pub trainable_params: i64,
    pub total_params: i64,
    pub torch: String,
}

/// The forward passes of a step timed on their own, medians over [`StepBench::steps`] runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phases {
    /// The batch forward in eval mode without gradients.
    pub forward_s: f64,
    /// Training-mode forward of every micro-batch, with the autograd graph built.
    pub forward_train_s: f64,
    /// `gradients_s - forward_train_s`.
    pub backward_s: f64,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// Every timed step's seconds, and the medians of its two phases.
struct StepTimes {
    steps: Vec<f64>,
    gradients: f64,
    optimizer: f64,
}

/// Times `runs` whole steps after `warmup` untimed ones; the phases are timed inside the same
/// steps, so their sum is the step.
fn time_steps(rig: &mut StepRig, warmup: usize, runs: usize) -> StepTimes {
    let mut gradients = Vec::with_capacity(runs);
    let mut optimizer = Vec::with_capacity(runs);
    let steps = rig.time(warmup, runs, |rig| {
        let started = Instant::now();
        let _ = rig.accumulate_gradients();
        rig.sync();
        gradients.push(started.elapsed().as_secs_f64());
        let started = Instant::now();
        rig.update();
        rig.sync();
        optimizer.push(started.elapsed().as_secs_f64());
    });
    // The warm-up calls pushed too: keep the timed runs only.
    let timed = |mut xs: Vec<f64>| xs.split_off(warmup);
    StepTimes {
        steps,
        gradients: median(timed(gradients)),
        optimizer: median(timed(optimizer)),
    }
}

/// The forward pass alone (eval and with the graph kept); backward is the rest of the
/// `gradients` phase.
fn time_phases(rig: &mut StepRig, runs: usize, gradients: f64) -> Phases {
    let forward_train = median(rig.time(1, runs, |rig| rig.forward_with_graph()));
    Phases {
        forward_s: median(rig.time(1, runs, |rig| {
            let _ = rig.forward_eval();
        })),
        forward_train_s: forward_train,
        backward_s: gradients - forward_train,
    }
}

/// Builds the rig and times whole steps, then (when asked) the phases of a step.
pub fn bench_step(bench: &StepBench) -> Result<StepReport, BenchError> {
    if bench.steps == 0 {
        return Err(BenchError::NoSteps);
    }
    let spec = &bench.spec;
    let mut rig = StepRig::new(spec, bench.offline)?;
    let (warmup, runs) = (bench.warmup, bench.steps);
    let StepTimes {
        steps,
        gradients,
        optimizer,
    } = time_steps(&mut rig, warmup, runs);
    let phases = bench.phases.then(|| time_phases(&mut rig, runs, gradients));
    let min_step_s = steps.iter().copied().fold(f64::INFINITY, f64::min);
    let median_step_s = median(steps);
    let shape = spec.task.shape().map_err(|e| TrainError::Task(e.into()))?;
    let counts = rig.model().counts();
    Ok(StepReport {
        model: spec.model.label(),
        task: spec.task.name().into(),
        init: spec.init.to_string(),
        freeze: spec.freeze.name().into(),
        frozen_precision: spec.frozen_precision.name().into(),
        device: spec.device.to_string(),
        threads: tch::get_num_threads(),
        batch_size: spec.batch_size,
        micro_batch_size: spec.micro_batch_size.min(spec.batch_size),
        seq_len: shape.seq_len,
        steps: runs,
        warmup,
        median_step_s,
        min_step_s,
        tokens_per_s: (spec.batch_size as i64 * shape.seq_len) as f64 / median_step_s,
        gradients_s: gradients,
        optimizer_s: optimizer,
        phases,
        flops_per_step: rig.flops_per_step(),
        gflops_per_s: rig.flops_per_step().map(|f| f / median_step_s / 1e9),
        trainable_params: counts.values().map(|c| c.trainable).sum(),
        total_params: counts.values().map(|c| c.total).sum(),
        torch: models::TORCH_VERSION.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use spec::model::{InitKind, ModelSource};
    use spec::task::TaskSpec;

    fn tiny_spec(task: &str, batch: usize, micro: usize) -> RunSpec {
        RunSpec {
            init: InitKind::Random,
            batch_size: batch,
            micro_batch_size: micro,
            ..RunSpec::reference(
                TaskSpec::from_name(task, None, None, None).unwrap(),
                ModelSource::Named("gpt2-tiny".into()),
            )
        }
    }

    #[test]
    fn task_shapes_match_the_paper_without_data() {
        let shape = |name| {
            TaskSpec::from_name(name, None, None, None)
                .unwrap()
                .shape()
                .unwrap()
        };
        let mnist = shape("mnist");
        assert_eq!(
            (mnist.seq_len, mnist.input),
            (49, InputKind::Features { dim: 16 })
        );
        let cifar = shape("cifar10");
        assert_eq!(
            (cifar.seq_len, cifar.input),
            (64, InputKind::Features { dim: 48 })
        );
        let listops = shape("listops");
        assert_eq!(listops.seq_len, 512);
        assert!(matches!(listops.input, InputKind::Tokens { .. }));
    }

    #[test]
    fn report_covers_the_timed_steps_with_positive_times() {
        tch::set_num_threads(1);
        let bench = StepBench {
            spec: tiny_spec("mnist", 4, 2),
            warmup: 1,
            steps: 3,
            phases: true,
            offline: true,
        };
        let report = bench_step(&bench).unwrap();
        let phases = report.phases.clone().expect("phases were asked for");
        assert_eq!(
            (report.steps, report.batch_size, report.seq_len),
            (3, 4, 49)
        );
        assert_eq!(report.micro_batch_size, 2);
        for (name, value) in [
            ("median_step_s", report.median_step_s),
            ("min_step_s", report.min_step_s),
            ("tokens_per_s", report.tokens_per_s),
            ("forward_s", phases.forward_s),
            ("forward_train_s", phases.forward_train_s),
            ("gradients_s", report.gradients_s),
            ("optimizer_s", report.optimizer_s),
        ] {
            assert!(value > 0.0 && value.is_finite(), "{name} = {value}");
        }
        assert!(report.min_step_s <= report.median_step_s);
        assert!(report.flops_per_step.unwrap() > 0.0);
        assert!(report.trainable_params > 0 && report.trainable_params < report.total_params);
        // Without phases: the same steps, no phase fields in the JSON line.
        let steps_only = bench_step(&StepBench {
            phases: false,
            ..bench
        })
        .unwrap();
        assert!(steps_only.phases.is_none());
        let json = serde_json::to_value(&steps_only).unwrap();
        assert!(json.get("forward_s").is_none() && json.get("median_step_s").is_some());
        assert!(serde_json::to_value(&report).unwrap()["forward_train_s"].is_f64());
    }

    #[test]
    fn steps_train_the_trainable_parameters_only() {
        let mut rig = StepRig::new(&tiny_spec("listops", 2, 2), true).unwrap();
        let before: Vec<(String, Tensor)> = rig
            .model()
            .var_store()
            .variables()
            .into_iter()
            .map(|(name, t)| (name, t.detach().copy()))
            .collect();
        rig.step();
        let after = rig.model().var_store().variables();
        let trainable: Vec<&String> = rig.model().trainable().iter().map(|(n, _)| n).collect();
        assert!(!trainable.is_empty() && trainable.len() < before.len());
        for (name, old) in &before {
            let changed = !after[name].equal(old);
            if trainable.contains(&name) {
                assert!(changed, "{name} trains but did not change");
            } else {
                // No gradient at all: libtorch never computed the frozen weight's gradient.
                assert!(!changed, "frozen {name} changed");
                assert!(
                    !after[name].grad().defined(),
                    "frozen {name} has a gradient"
                );
            }
        }
    }
}
