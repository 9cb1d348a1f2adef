//! A run's fully resolved specification: everything that decides its numbers.

use serde::{Deserialize, Serialize};

use crate::freeze::FreezePolicy;
use crate::model::{FrozenPrecision, InitKind, ModelSource};
use crate::task::{EvalSplit, TaskSpec};

/// Where a run trains: `cpu`, `cuda` or `cuda:N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceSpec {
    Cpu,
    /// The CUDA device of this index.
    Cuda(usize),
}

impl DeviceSpec {
    pub fn is_cuda(&self) -> bool {
        matches!(self, DeviceSpec::Cuda(_))
    }
}

impl std::str::FromStr for DeviceSpec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "cpu" => DeviceSpec::Cpu,
            "cuda" => DeviceSpec::Cuda(0),
            other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
                Some(Ok(i)) => DeviceSpec::Cuda(i),
                _ => return Err(SpecError::Device(s.into())),
            },
        })
    }
}

impl std::fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceSpec::Cuda(i) => write!(f, "cuda:{i}"),
            DeviceSpec::Cpu => f.write_str("cpu"),
        }
    }
}

impl Serialize for DeviceSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeviceSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// Which profile produced the run (`smoke`, `quick`, `paper`, or `adhoc` for `fpt train`).
    pub profile: String,
    pub task: TaskSpec,
    pub model: ModelSource,
    /// Keep only the backbone's first N blocks (the slides' depth tables); all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<usize>,
    pub init: InitKind,
    pub freeze: FreezePolicy,
    pub seed: u64,
    pub steps: u64,
    pub batch_size: usize,
    /// Examples per forward/backward; gradients accumulate up to `batch_size`.
    pub micro_batch_size: usize,
    pub optimizer: AdamConfig,
    pub clip_grad_norm: f64,
    pub eval_every: u64,
    /// Which split evaluation reports on.
    #[serde(default)]
    pub eval_split: EvalSplit,
    /// Evaluate on N examples spread evenly over the split (all when absent); for generated
    /// tasks, the size of the generated held-out set.
    pub eval_examples: Option<usize>,
    /// Estimate accuracy as the reference code did, on this many randomly drawn batches of
    /// `batch_size` (seeded by the step), instead of the whole split; for comparison only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_sampled_batches: Option<usize>,
    /// Score a learning-curve point every N steps between the full evaluations, on
    /// `curve_examples` examples spread evenly over the evaluated set (all when absent).
    /// Curve points feed curves and steps-to-target, never the run's accuracy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve_every: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve_examples: Option<usize>,
    /// Also measure accuracy on the validation split at the end (for choosing a learning
    /// rate). Tasks without one hold out a fixed 10% of their training split for it.
    #[serde(default)]
    pub record_validation: bool,
    /// Output-only runs train the head on the frozen body's features computed once (off:
    /// recompute them every step, e.g. to check the two agree).
    #[serde(default = "yes")]
    pub cache_features: bool,
    pub checkpoint_every: u64,
    /// Read the steps' losses, accuracies and gradient norms back from the device every N
    /// steps (and before each evaluation and checkpoint), in one transfer, so a CUDA step
    /// never waits for the device; a non-finite loss is then caught up to N - 1 steps late
    /// (the run still stops, recording the step it diverged at). Absent: 1 on the CPU, where
    /// reading costs nothing, 25 on CUDA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_every: Option<u64>,
    pub input_dropout: f64,
    /// Dropout inside the backbone in place of its config's (absent: the config's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backbone_dropout: Option<f64>,
    pub orthogonal_gain: f64,
    pub device: DeviceSpec,
    /// The frozen matrices in fp32 (the paper) or bf16 (opt-in, faster; other numbers).
    #[serde(default, skip_serializing_if = "FrozenPrecision::is_fp32")]
    pub frozen_precision: FrozenPrecision,
}

/// Adam's hyper-parameters (no weight decay, as the reference).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
}

impl Default for AdamConfig {
    /// PyTorch's defaults with the reference code's learning rate.
    fn default() -> Self {
        Self {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SpecError {
    #[error("{field} must be at least 1, got {value}")]
    Zero { field: &'static str, value: u64 },
    #[error("{field} must be a positive finite number, got {value}")]
    NotPositive { field: &'static str, value: f64 },
    #[error("{field} = {value} must lie in [0, 1)")]
    NotFraction { field: &'static str, value: f64 },
    #[error("batch size {batch} is not a multiple of the micro-batch size {micro}")]
    MicroBatch { batch: usize, micro: usize },
    #[error("unknown device '{0}'; use cpu, cuda or cuda:N")]
    Device(String),
}

impl RunSpec {
    /// The reference code's recipe for `task` on `model` (pretrained, FPT policy, Adam 1e-3,
    /// batch 32 in micro-batches of 16, clipping at 1, input dropout 0.1, orthogonal input
    /// init with gain 1.41), 2000 steps evaluated every 100 on the full test split, on the
    /// CPU; callers override what they set.
    pub fn reference(task: TaskSpec, model: ModelSource) -> Self {
        Self {
            profile: "adhoc".into(),
            task,
            model,
            layers: None,
            init: InitKind::Pretrained,
            freeze: FreezePolicy::fpt(),
            seed: 0,
            steps: 2000,
            batch_size: 32,
            micro_batch_size: 16,
            optimizer: AdamConfig::default(),
            clip_grad_norm: 1.0,
            eval_every: 100,
            eval_split: EvalSplit::Test,
            eval_examples: None,
            eval_sampled_batches: None,
            curve_every: None,
            curve_examples: None,
            record_validation: false,
            cache_features: true,
            checkpoint_every: 100,
            log_every: None,
            input_dropout: 0.1,
            backbone_dropout: None,
            orthogonal_gain: 1.41,
            device: DeviceSpec::Cpu,
            frozen_precision: FrozenPrecision::Fp32,
        }
    }

    /// [`Self::log_every`], or the device's default.
    pub fn log_every(&self) -> u64 {
        self.log_every
            .unwrap_or(if self.device.is_cuda() { 25 } else { 1 })
    }

    pub fn validate(&self) -> Result<(), SpecError> {
        for (field, value) in [
            ("steps", self.steps),
            ("batch_size", self.batch_size as u64),
            ("micro_batch_size", self.micro_batch_size as u64),
            ("eval_every", self.eval_every),
            ("eval_examples", self.eval_examples.map_or(1, |n| n as u64)),
            (
                "eval_sampled_batches",
                self.eval_sampled_batches.map_or(1, |n| n as u64),
            ),
            ("curve_every", self.curve_every.unwrap_or(1)),
            (
                "curve_examples",
                self.curve_examples.map_or(1, |n| n as u64),
            ),
            ("layers", self.layers.map_or(1, |n| n as u64)),
            ("checkpoint_every", self.checkpoint_every),
            ("log_every", self.log_every.unwrap_or(1)),
        ] {
            if value == 0 {
                return Err(SpecError::Zero { field, value });
            }
        }
        let o = &self.optimizer;
        for (field, value) in [
            ("lr", o.lr),
            ("eps", o.eps),
            ("clip_grad_norm", self.clip_grad_norm),
            ("orthogonal_gain", self.orthogonal_gain),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(SpecError::NotPositive { field, value });
            }
        }
        for (field, value) in [
            ("beta1", o.beta1),
            ("beta2", o.beta2),
            ("input_dropout", self.input_dropout),
            ("backbone_dropout", self.backbone_dropout.unwrap_or(0.0)),
        ] {
            if !(0.0..1.0).contains(&value) {
                return Err(SpecError::NotFraction { field, value });
            }
        }
        if !self
            .batch_size
            .is_multiple_of(self.micro_batch_size.min(self.batch_size))
        {
            return Err(SpecError::MicroBatch {
                batch: self.batch_size,
                micro: self.micro_batch_size,
            });
        }
        Ok(())
    }

    /// A directory name that identifies the run within a suite (`-val`: it also measures
    /// the validation split, as a learning-rate sweep's runs do).
    pub fn run_id(&self) -> String {
        let layers = self.layers.map(|n| format!("-l{n}")).unwrap_or_default();
        let validation = if self.record_validation { "-val" } else { "" };
        let precision = match self.frozen_precision {
            FrozenPrecision::Fp32 => "",
            FrozenPrecision::Bf16 => "-bf16",
        };
        let dropout = self
            .backbone_dropout
            .map(|p| format!("-dropout{p}"))
            .unwrap_or_default();
        format!(
            "{}-{}{layers}-{}-{}-lr{:e}{validation}{precision}{dropout}-s{}",
            self.task.name(),
            self.model.label(),
            self.init.name(),
            self.freeze.name().replace('+', "plus-"),
            self.optimizer.lr,
            self.seed
        )
    }
}
