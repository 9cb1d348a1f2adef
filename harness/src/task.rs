//! Tasks as the trainer sees them: shapes, and batches as tensors.

use datasets::synthetic::{BitMemory, BitTaskError, BitXor, FeatureBatch};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

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
}

pub const TASK_NAMES: [&str; 2] = [BitMemory::NAME, BitXor::NAME];

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("unknown task '{0}'; known tasks: {known}", known = TASK_NAMES.join(", "))]
    Unknown(String),
    #[error(transparent)]
    Shape(#[from] BitTaskError),
}

/// How the model reads a task's inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// Float features of this width per token (a Linear input layer).
    Features { dim: i64 },
}

/// What the model must look like for a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskShape {
    pub input: InputKind,
    pub seq_len: i64,
    /// The output layer reads the last `head_tokens` tokens (the reference's `ratio`).
    pub head_tokens: i64,
    /// Predictions per example and classes per prediction (Bit tasks: one 2-way
    /// prediction per bit).
    pub targets_per_example: i64,
    pub classes: i64,
}

impl TaskShape {
    /// Width of the output layer, applied to each of the last `head_tokens` tokens.
    pub fn outputs_per_token(&self) -> i64 {
        self.targets_per_example * self.classes / self.head_tokens
    }
}

/// Inputs `[B, T, D]` and targets `[B, targets_per_example]` (class ids).
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

    pub fn to_device(&self, device: Device) -> Batch {
        Batch {
            inputs: self.inputs.to_device(device),
            targets: self.targets.to_device(device),
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
    /// The task by CLI name with its paper settings, optionally overridden.
    pub fn from_name(
        name: &str,
        n: Option<usize>,
        patterns: Option<usize>,
        patch: Option<usize>,
    ) -> Result<Self, TaskError> {
        let spec = match name {
            BitMemory::NAME => {
                let p = BitMemory::paper();
                TaskSpec::BitMemory {
                    n: n.unwrap_or(p.n()),
                    patterns: patterns.unwrap_or(p.patterns()),
                    patch: patch.unwrap_or(p.patch()),
                }
            }
            BitXor::NAME => {
                let p = BitXor::paper();
                TaskSpec::BitXor {
                    n: n.unwrap_or(p.n()),
                    patterns: patterns.unwrap_or(p.patterns()),
                    patch: patch.unwrap_or(p.patch()),
                }
            }
            other => return Err(TaskError::Unknown(other.into())),
        };
        spec.build()?;
        Ok(spec)
    }

    pub fn name(&self) -> &'static str {
        match self {
            TaskSpec::BitMemory { .. } => BitMemory::NAME,
            TaskSpec::BitXor { .. } => BitXor::NAME,
        }
    }

    pub fn build(&self) -> Result<Task, TaskError> {
        Ok(match *self {
            TaskSpec::BitMemory { n, patterns, patch } => {
                Task::BitMemory(BitMemory::new(n, patterns, patch)?)
            }
            TaskSpec::BitXor { n, patterns, patch } => {
                Task::BitXor(BitXor::new(n, patterns, patch)?)
            }
        })
    }
}

/// A task ready to produce batches.
#[derive(Debug, Clone)]
pub enum Task {
    BitMemory(BitMemory),
    BitXor(BitXor),
}

/// Seed of the held-out set: one fixed set per task settings, shared by every run and seed,
/// so runs are compared on identical examples.
const HELD_OUT_SEED: u64 = 0x5EED_0FE7_A1ED;

impl Task {
    pub fn shape(&self) -> TaskShape {
        let (n, patch, tokens) = match self {
            Task::BitMemory(t) => (t.n(), t.patch(), t.tokens()),
            Task::BitXor(t) => (t.n(), t.patch(), t.tokens()),
        };
        TaskShape {
            input: InputKind::Features { dim: patch as i64 },
            seq_len: tokens as i64,
            head_tokens: (n / patch) as i64,
            targets_per_example: n as i64,
            classes: 2,
        }
    }

    fn sample(&self, rng: &mut ChaCha8Rng, batch: usize) -> Batch {
        Batch::from_features(match self {
            Task::BitMemory(t) => t.sample(rng, batch),
            Task::BitXor(t) => t.sample(rng, batch),
        })
    }

    /// The training batch of gradient step `step` for a run seeded `seed`: a pure function
    /// of both, so a resumed run sees exactly the batches an uninterrupted one would.
    pub fn train_batch(&self, seed: u64, step: u64, batch: usize) -> Batch {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(step + 1);
        self.sample(&mut rng, batch)
    }

    /// The fixed held-out set, `examples` long, and the name reports give it.
    pub fn held_out(&self, examples: usize) -> (Batch, String) {
        let mut rng = ChaCha8Rng::seed_from_u64(HELD_OUT_SEED);
        (
            self.sample(&mut rng, examples),
            format!("generated held-out set ({examples} examples, fixed seed)"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_memory_paper_shape_matches_the_reference() {
        let task = TaskSpec::from_name("bit-memory", None, None, None)
            .unwrap()
            .build()
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
            .build()
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
