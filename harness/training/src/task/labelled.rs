//! Tasks over a fixed set of labelled examples (images, token sequences): epoch-shuffled
//! training batches and a fixed evaluation split.

use datasets::checksum::CheckedFile;
use datasets::vision::augment::Augmentation;
use datasets::vision::patch::PatchLayout;
use datasets::vision::ImageSet;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::{Kind, Tensor};

use spec::task::TaskShape;

use super::Batch;

/// One split's examples.
#[derive(Debug)]
pub enum Examples {
    /// Inputs computed once: `[N, T, D]` f32 features or `[N, T]` i64 token ids; labels `[N]`.
    Tensors { inputs: Tensor, labels: Tensor },
    /// Images cut into tokens batch by batch, so training batches can be augmented.
    Images {
        set: ImageSet,
        layout: PatchLayout,
        augment: Option<Augmentation>,
    },
}

impl Examples {
    /// Token ids (or features) and labels as tensors, e.g. from a tokenised text split.
    pub fn tokens(sequences: &[Vec<i64>], labels: &[i64]) -> Self {
        let len = sequences.first().map_or(0, Vec::len) as i64;
        let flat: Vec<i64> = sequences.iter().flatten().copied().collect();
        Examples::Tensors {
            inputs: Tensor::from_slice(&flat).reshape([sequences.len() as i64, len]),
            labels: Tensor::from_slice(labels),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Examples::Tensors { labels, .. } => labels.size()[0] as usize,
            Examples::Images { set, .. } => set.count,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The examples at `indices`; `rng` drives augmentation when the split has one.
    fn gather(&self, indices: &[usize], rng: &mut ChaCha8Rng) -> Batch {
        match self {
            Examples::Tensors { inputs, labels } => {
                let index =
                    Tensor::from_slice(&indices.iter().map(|&i| i as i64).collect::<Vec<_>>());
                Batch {
                    inputs: inputs.index_select(0, &index),
                    targets: labels
                        .index_select(0, &index)
                        .reshape([-1, 1])
                        .to_kind(Kind::Int64),
                }
            }
            Examples::Images {
                set,
                layout,
                augment,
            } => {
                let shape = (set.channels, set.height, set.width);
                let batch = layout
                    .batch(set, indices, |image| match augment {
                        Some(a) => a.apply(image, shape, rng),
                        None => image.to_vec(),
                    })
                    .expect("indices are within the set and the layout was checked at load");
                Batch::from_features(batch)
            }
        }
    }
}

#[derive(Debug)]
pub struct LabelledTask {
    shape: TaskShape,
    train: Examples,
    eval: Examples,
    eval_name: String,
    /// The split a learning rate is chosen on, when the run asked for it.
    validation: Option<(Examples, String)>,
    /// The files the examples were read from, and how each was checked.
    sources: Vec<CheckedFile>,
}

impl LabelledTask {
    pub fn new(shape: TaskShape, train: Examples, eval: Examples, eval_name: String) -> Self {
        Self {
            shape,
            train,
            eval,
            eval_name,
            validation: None,
            sources: Vec::new(),
        }
    }

    pub fn with_validation(self, examples: Examples, name: String) -> Self {
        Self {
            validation: Some((examples, name)),
            ..self
        }
    }

    pub fn with_sources(self, sources: Vec<CheckedFile>) -> Self {
        Self { sources, ..self }
    }

    pub fn sources(&self) -> &[CheckedFile] {
        &self.sources
    }

    pub fn shape(&self) -> TaskShape {
        self.shape
    }

    /// Step `step`'s batch: consecutive slices of a per-epoch shuffle of the training set,
    /// the shuffle and any augmentation seeded from (seed, epoch) and (seed, step).
    pub fn train_batch(&self, seed: u64, step: u64, batch: usize) -> Batch {
        let indices = self.train_indices(seed, step, batch);
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xA06_A7E);
        rng.set_stream(step + 1);
        self.train.gather(&indices, &mut rng)
    }

    /// Which training examples step `step`'s batch holds (see [`Self::train_batch`]).
    pub fn train_indices(&self, seed: u64, step: u64, batch: usize) -> Vec<usize> {
        let n = self.train.len();
        let first = step as usize * batch;
        let mut order: Option<(usize, Vec<usize>)> = None;
        (first..first + batch)
            .map(|position| {
                let epoch = position / n;
                if order.as_ref().is_none_or(|(e, _)| *e != epoch) {
                    order = Some((epoch, epoch_order(seed, epoch as u64, n)));
                }
                order.as_ref().expect("just set").1[position % n]
            })
            .collect()
    }

    /// Which training examples steps `0..steps` of batches of `batch` draw between them,
    /// ascending: a prefix of the first epoch's shuffle, or every example once the steps
    /// reach a second epoch.
    pub fn drawn_indices(&self, seed: u64, steps: u64, batch: usize) -> Vec<usize> {
        let n = self.train.len();
        let draws = (steps as usize).saturating_mul(batch);
        if draws >= n {
            return (0..n).collect();
        }
        let mut drawn = epoch_order(seed, 0, n);
        drawn.truncate(draws);
        drawn.sort_unstable();
        drawn
    }

    /// The whole training split as tensors (inputs, labels `[N]`), when it is held that
    /// way; `None` for images cut and augmented batch by batch.
    pub fn train_tensors(&self) -> Option<(&Tensor, &Tensor)> {
        match &self.train {
            Examples::Tensors { inputs, labels } => Some((inputs, labels)),
            Examples::Images { .. } => None,
        }
    }

    /// The evaluation split in order, or `limit` of its examples spread evenly over it.
    pub fn eval_set(&self, limit: Option<usize>) -> (Batch, String) {
        spread_examples(&self.eval, &self.eval_name, limit)
    }

    /// The validation split in order (or `limit` of its examples spread evenly), when loaded.
    pub fn validation_set(&self, limit: Option<usize>) -> Option<(Batch, String)> {
        let (examples, name) = self.validation.as_ref()?;
        Some(spread_examples(examples, name, limit))
    }
}

/// `limit` examples spread evenly over the split ([`super::spread`]).
fn spread_examples(examples: &Examples, name: &str, limit: Option<usize>) -> (Batch, String) {
    let n = examples.len();
    let take = limit.map_or(n, |l| l.min(n));
    let indices = super::spread(n, take);
    let name = if take < n {
        format!("{name} ({take} of {n}, spread evenly)")
    } else {
        format!("{name} ({n} examples)")
    };
    let mut unused = ChaCha8Rng::seed_from_u64(0);
    (examples.gather(&indices, &mut unused), name)
}

fn epoch_order(seed: u64, epoch: u64, n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch + 1);
    order.shuffle(&mut rng);
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use spec::task::InputKind;

    fn toy(n: usize) -> LabelledTask {
        let seqs: Vec<Vec<i64>> = (0..n as i64).map(|i| vec![i, i + 1]).collect();
        let labels: Vec<i64> = (0..n as i64).collect();
        let shape = TaskShape::classification(InputKind::Tokens { vocab: 100 }, 2, 10);
        LabelledTask::new(
            shape,
            Examples::tokens(&seqs, &labels),
            Examples::tokens(&seqs, &labels),
            "toy".into(),
        )
    }

    fn labels(b: &Batch) -> Vec<i64> {
        Vec::<i64>::try_from(b.targets.reshape([-1])).unwrap()
    }

    #[test]
    fn an_epoch_visits_every_example_once_and_batches_are_reproducible() {
        let task = toy(12);
        let mut seen: Vec<i64> = (0..3)
            .flat_map(|s| labels(&task.train_batch(5, s, 4)))
            .collect();
        seen.sort();
        assert_eq!(seen, (0..12).collect::<Vec<_>>());
        assert_eq!(
            labels(&task.train_batch(5, 7, 4)),
            labels(&task.train_batch(5, 7, 4))
        );
        assert_ne!(
            (0..3)
                .flat_map(|s| labels(&task.train_batch(5, s, 4)))
                .collect::<Vec<_>>(),
            (0..3)
                .flat_map(|s| labels(&task.train_batch(6, s, 4)))
                .collect::<Vec<_>>()
        );
        // Inputs stay paired with their labels.
        let b = task.train_batch(1, 0, 4);
        let first: Vec<i64> = Vec::<i64>::try_from(b.inputs.select(1, 0)).unwrap();
        assert_eq!(first, labels(&b));
    }

    #[test]
    fn drawn_indices_are_what_the_steps_draw() {
        let task = toy(12);
        for steps in [1, 2, 3, 4, 7] {
            let mut drawn: Vec<usize> = (0..steps)
                .flat_map(|s| task.train_indices(9, s, 5))
                .collect();
            drawn.sort_unstable();
            drawn.dedup();
            assert_eq!(task.drawn_indices(9, steps, 5), drawn, "{steps} steps");
        }
    }

    #[test]
    fn a_batch_straddling_epochs_draws_from_both() {
        let task = toy(5);
        assert_eq!(task.train_batch(0, 1, 4).len(), 4); // positions 4..8: epochs 0 and 1
    }

    #[test]
    fn eval_set_is_in_order_and_can_be_limited_to_an_even_spread() {
        let task = toy(10);
        let (all, name) = task.eval_set(None);
        assert_eq!(labels(&all), (0..10).collect::<Vec<_>>());
        assert_eq!(name, "toy (10 examples)");
        let (some, name) = task.eval_set(Some(3));
        assert_eq!(labels(&some), vec![0, 3, 6]);
        assert_eq!(name, "toy (3 of 10, spread evenly)");
    }
}
