//! Output-only fine-tuning on cached features.
//!
//! When only the output layer trains, everything before it is a fixed function of the
//! input: the frozen body's features of the training examples can be computed once and
//! each step trains the head on them (the slides' 500-2000x speed-up). Only the examples the
//! run's steps will draw are cached: all of them once the steps cover an epoch, a fraction
//! in short runs. Both paths run the body in eval mode (dropout before a frozen head is only
//! noise), so the cached path is an optimisation with the same arithmetic, which a test
//! checks.

use tch::{Device, Tensor};

use crate::task::{to_device_async, Batch, LabelledTask, Task};
use models::model::FptModel;

/// Examples per forward pass while caching.
const CACHE_CHUNK: i64 = 256;

/// Where each step's inputs come from.
pub enum StepInputs<'a> {
    /// The task's batches, through the whole model.
    Raw(&'a Task),
    /// The body's features (`[K, head_tokens, H]`) of the K training examples the run
    /// draws, gathered by the same indices the task's batches would use.
    Cached {
        task: &'a LabelledTask,
        features: Tensor,
        labels: Tensor,
        /// Each training example's row in `features` (-1: never drawn).
        rows: Vec<i64>,
    },
}

/// The batches a run draws: `steps` of `batch` examples, seeded by `seed`.
#[derive(Debug, Clone, Copy)]
pub struct Draws {
    pub seed: u64,
    pub steps: u64,
    pub batch: usize,
}

impl<'a> StepInputs<'a> {
    /// Caches features when `cache` is asked for, only the output trains and the task
    /// holds its training split as tensors (no per-batch augmentation).
    pub fn new(
        task: &'a Task,
        model: &FptModel,
        cache: bool,
        draws: Draws,
        device: Device,
    ) -> Self {
        let Task::Labelled(labelled) = task else {
            return StepInputs::Raw(task);
        };
        match labelled.train_tensors() {
            Some((inputs, labels)) if cache && model.trains_only_output() => {
                let drawn = labelled.drawn_indices(draws.seed, draws.steps, draws.batch);
                let mut rows = vec![-1; inputs.size()[0] as usize];
                for (row, &example) in drawn.iter().enumerate() {
                    rows[example] = row as i64;
                }
                let drawn: Vec<i64> = drawn.into_iter().map(|i| i as i64).collect();
                let drawn = Tensor::from_slice(&drawn);
                let features = features_of(model, &inputs.index_select(0, &drawn), device);
                tracing::info!(
                    "output-only: cached the frozen body's features of the {} training examples \
                     (of {}) that {} steps draw",
                    features.size()[0],
                    rows.len(),
                    draws.steps
                );
                StepInputs::Cached {
                    task: labelled,
                    features,
                    labels: labels
                        .index_select(0, &drawn)
                        .reshape([-1, 1])
                        .to_device(device),
                    rows,
                }
            }
            _ => StepInputs::Raw(task),
        }
    }

    /// What evaluations feed [`Self::logits`]: `held_out` itself, or with a cache the
    /// body's features of it (computed once: the body is frozen).
    pub fn held_out(&self, model: &FptModel, held_out: &Batch) -> Batch {
        match self {
            StepInputs::Raw(_) => held_out.slice(0, held_out.len()),
            StepInputs::Cached { .. } => Batch {
                inputs: features_of(model, &held_out.inputs, held_out.targets.device()),
                targets: held_out.targets.shallow_clone(),
            },
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
                rows,
            } => {
                let indices: Vec<i64> = task
                    .train_indices(seed, step, size)
                    .into_iter()
                    .map(|i| rows[i])
                    .collect();
                assert!(
                    indices.iter().all(|&row| row >= 0),
                    "step {step} draws an example outside the cached ones: the cache was built \
                     for other draws"
                );
                let index = to_device_async(&Tensor::from_slice(&indices), device);
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

/// The frozen body's features (`[n, head_tokens, H]`, on `device`) of `inputs`, in chunks.
fn features_of(model: &FptModel, inputs: &Tensor, device: Device) -> Tensor {
    tch::no_grad(|| {
        let n = inputs.size()[0];
        let chunks: Vec<Tensor> = (0..n)
            .step_by(CACHE_CHUNK as usize)
            .map(|start| {
                let chunk = inputs.narrow(0, start, CACHE_CHUNK.min(n - start));
                model.features(&chunk.to_device(device), false)
            })
            .collect();
        Tensor::cat(&chunks, 0)
    })
}
