//! What a run's model is: where its architecture and weights come from, how its backbone
//! starts, the precision of its frozen matrices, and its parameter counts.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::architecture::{Architecture, ArchitectureError};

/// Where a backbone's architecture (and, for `pretrained`, its weights) come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelSource {
    /// A built-in name (`gpt2`, `minilm-l6`, `lstm`, `gpt2-tiny`, ...); weights from the
    /// model cache, fetched when missing.
    Named(String),
    /// A Hugging Face style folder: config.json + model.safetensors (or pytorch_model.bin,
    /// read by libtorch, for checkpoints published only in PyTorch's format).
    Dir(PathBuf),
}

impl ModelSource {
    /// The weight files a `Dir` may hold, in the order they are looked for.
    pub const WEIGHT_FILES: [&'static str; 2] = ["model.safetensors", "pytorch_model.bin"];
}

/// How the backbone's weights are set before training.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitKind {
    /// The checkpoint's weights.
    Pretrained,
    /// The architecture's standard random init (HF's for the transformers).
    Random,
    /// Each tensor redrawn from a normal with the checkpoint tensor's mean and std.
    Stats,
    /// The backbone of a finished run that trained all of it (e.g. a transformer trained on
    /// Bit Memory with `--freeze all`: the slides' "Bit" row).
    Run(PathBuf),
}

impl InitKind {
    /// The name in run ids and reports (`run` for a task-pretrained backbone).
    pub fn name(&self) -> &'static str {
        match self {
            InitKind::Pretrained => "pretrained",
            InitKind::Random => "random",
            InitKind::Stats => "stats",
            InitKind::Run(_) => "run",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown init '{0}'; use pretrained, random, stats or run:DIR (a finished run whose whole backbone trained)")]
pub struct UnknownInit(String);

impl std::str::FromStr for InitKind {
    type Err = UnknownInit;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "pretrained" => InitKind::Pretrained,
            "random" => InitKind::Random,
            "stats" => InitKind::Stats,
            other => match other.strip_prefix("run:") {
                Some(dir) if !dir.is_empty() => InitKind::Run(dir.into()),
                _ => return Err(UnknownInit(s.into())),
            },
        })
    }
}

impl std::fmt::Display for InitKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InitKind::Run(dir) => write!(f, "run:{}", dir.display()),
            other => f.write_str(other.name()),
        }
    }
}

impl Serialize for InitKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for InitKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl ModelSource {
    /// A short name for run ids and reports.
    pub fn label(&self) -> String {
        match self {
            ModelSource::Named(name) => name.clone(),
            ModelSource::Dir(dir) => dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "model-dir".into()),
        }
    }

    pub fn architecture(&self) -> Result<Architecture, ArchitectureError> {
        Ok(match self {
            ModelSource::Named(name) => Architecture::named(name)?,
            ModelSource::Dir(dir) => Architecture::from_hf_config(&dir.join("config.json"))?,
        })
    }

    /// [`Self::architecture`] cut to its first `layers` blocks when given.
    pub fn architecture_with_layers(
        &self,
        layers: Option<usize>,
    ) -> Result<Architecture, ArchitectureError> {
        let architecture = self.architecture()?;
        Ok(match layers {
            Some(layers) => architecture.truncated(layers)?,
            None => architecture,
        })
    }
}

/// Trainable and total parameter counts of one group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCount {
    pub trainable: i64,
    pub total: i64,
}

/// The dtype the frozen attention and feed-forward matrices are kept and multiplied in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FrozenPrecision {
    /// The paper's: everything in fp32.
    #[default]
    Fp32,
    /// Frozen matrices and biases in bf16, their inputs cast to bf16 for the matmul and the
    /// results back to fp32 (norms, softmax, residuals, everything trained stay fp32): half
    /// the weight traffic, and the bf16 units of recent CPUs (AMX) and GPUs. Not the paper's
    /// arithmetic: the numbers change.
    Bf16,
}

impl FrozenPrecision {
    pub fn is_fp32(&self) -> bool {
        *self == FrozenPrecision::Fp32
    }

    pub fn name(self) -> &'static str {
        match self {
            FrozenPrecision::Fp32 => "fp32",
            FrozenPrecision::Bf16 => "bf16",
        }
    }
}

impl std::str::FromStr for FrozenPrecision {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "fp32" => Ok(FrozenPrecision::Fp32),
            "bf16" => Ok(FrozenPrecision::Bf16),
            other => Err(format!("unknown precision '{other}': fp32 or bf16")),
        }
    }
}
