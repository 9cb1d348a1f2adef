//! Output-only fine-tuning on cached features.
//!
//! When only the output layer trains, everything before it is a fixed function of the
//! input: the frozen body's features of every training example can be computed once and
//! each step trains the head on them (the slides' 500-2000x speed-up). Both paths run the
//! body in eval mode (dropout before a frozen head is only noise), so the cached path is an
//! optimisation with the same arithmetic, which a test checks.

use tch::{Device, Tensor};

use crate::model::FptModel;
use crate::task::{Batch, LabelledTask, Task};

/// Examples per forward pass while caching.
const CACHE_CHUNK: i64 = 256;

/// Where each step's inputs come from.
pub enum StepInputs<'a> {
    /// The task's batches, through the whole model.
    Raw(&'a Task),
    /// The body's features of the whole training split (`[N, head_tokens, H]`), gathered
    /// by the same indices the task's batches would use.
    Cached {
        task: &'a LabelledTask,
        features: Tensor,
        labels: Tensor,
    },
}

impl<'a> StepInputs<'a> {
    /// Caches features when `cache` is asked for, only the output trains and the task
    /// holds its training split as tensors (no per-batch augmentation).
    pub fn new(task: &'a Task, model: &FptModel, cache: bool, device: Device) -> Self {
        let Task::Labelled(labelled) = task else {
            return StepInputs::Raw(task);
        };
        let tensors = labelled.train_tensors();
        match tensors {
            Some((inputs, labels)) if cache && model.trains_only_output() => {
                let features = tch::no_grad(|| {
                    let n = inputs.size()[0];
                    let chunks: Vec<Tensor> = (0..n)
                        .step_by(CACHE_CHUNK as usize)
                        .map(|start| {
                            let len = CACHE_CHUNK.min(n - start);
                            model.features(&inputs.narrow(0, start, len).to_device(device), false)
                        })
                        .collect();
                    Tensor::cat(&chunks, 0)
                });
                tracing::info!(
                    "output-only: cached the frozen body's features of {} training examples",
                    features.size()[0]
                );
                StepInputs::Cached {
                    task: labelled,
                    features,
                    labels: labels.reshape([-1, 1]).to_device(device),
                }
            }
            _ => StepInputs::Raw(task),
        }
    }

    pub fn is_cached(&self) -> bool {
        matches!(self, StepInputs::Cached { .. })
    }

    /// Step `step`'s batch: raw inputs, or cached features of the same examples.
    pub fn batch(&self, seed: u64, step: u64, size: usize, device: Device) -> Batch {
        match self {
            StepInputs::Raw(task) => task.train_batch(seed, step, size).to_device(device),
            StepInputs::Cached {
                task,
                features,
                labels,
            } => {
                let indices: Vec<i64> = task
                    .train_indices(seed, step, size)
                    .into_iter()
                    .map(|i| i as i64)
                    .collect();
                let index = Tensor::from_slice(&indices).to_device(device);
                Batch {
                    inputs: features.index_select(0, &index),
                    targets: labels.index_select(0, &index),
                }
            }
        }
    }

    /// Logits for a batch from [`Self::batch`].
    pub fn logits(&self, model: &FptModel, inputs: &Tensor, train: bool) -> Tensor {
        match self {
            StepInputs::Raw(_) => model.forward(inputs, train),
            StepInputs::Cached { .. } => model.head(inputs),
        }
    }
}
