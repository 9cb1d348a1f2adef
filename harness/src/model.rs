//! The Frozen Pretrained Transformer: input layer, backbone, output layer, and which of
//! their parameters train.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::nn::{self, Init};
use tch::{Device, Tensor};

use crate::backbone::gpt2::{Gpt2, Gpt2Config, Gpt2ConfigError};
use crate::backbone::{Backbone, ParamGroup, ParamRole};
use crate::freeze::FreezePolicy;
use crate::task::{InputKind, TaskShape};
use crate::weights::{self, LoadError, LoadReport};

/// Where a backbone's architecture (and, for `pretrained`, its weights) come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelSource {
    /// A built-in name (`gpt2`, `gpt2-tiny`, ...); weights from the cache.
    Named(String),
    /// A Hugging Face style folder: config.json + model.safetensors.
    Dir(PathBuf),
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
}

/// How the backbone's weights are set before training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum InitKind {
    /// The checkpoint's weights.
    Pretrained,
    /// The architecture's standard random init (HF's for GPT-2).
    Random,
    /// Each tensor redrawn from a normal with the checkpoint tensor's mean and std.
    Stats,
}

impl InitKind {
    pub fn name(self) -> &'static str {
        match self {
            InitKind::Pretrained => "pretrained",
            InitKind::Random => "random",
            InitKind::Stats => "stats",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("unknown model '{0}'; built-in models: {known} (or pass --model-dir with a Hugging Face GPT-2 folder)", known = Gpt2Config::NAMES.join(", "))]
    Unknown(String),
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid GPT-2 config.json: {reason}")]
    BadConfig { path: String, reason: String },
    #[error("{path}: model_type '{found}' is not supported yet; supported: gpt2")]
    Architecture { path: String, found: String },
    #[error(transparent)]
    Config(#[from] Gpt2ConfigError),
    #[error("no weights for '{model}' at {path}: {hint}")]
    NoWeights {
        model: String,
        path: String,
        hint: String,
    },
    #[error("the task needs {needed} positions but the model has {available}")]
    TooLong { needed: i64, available: i64 },
    #[error(transparent)]
    Load(#[from] LoadError),
}

/// The fpt cache root: `$FPT_HOME`, else `~/.cache/fpt`.
pub fn fpt_home() -> PathBuf {
    if let Some(home) = std::env::var_os("FPT_HOME") {
        return PathBuf::from(home);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    Path::new(&home).join(".cache").join("fpt")
}

impl ModelSource {
    pub fn config(&self) -> Result<Gpt2Config, ModelError> {
        match self {
            ModelSource::Named(name) => {
                Gpt2Config::named(name).ok_or_else(|| ModelError::Unknown(name.clone()))
            }
            ModelSource::Dir(dir) => read_hf_config(&dir.join("config.json")),
        }
    }

    /// The checkpoint file holding this model's pretrained weights.
    pub fn pretrained_weights(&self) -> Result<PathBuf, ModelError> {
        let (model, path, hint) = match self {
            ModelSource::Dir(dir) => (
                self.label(),
                dir.join("model.safetensors"),
                "the folder needs a model.safetensors beside its config.json".to_string(),
            ),
            ModelSource::Named(name) if name == "gpt2-tiny" => {
                return Err(ModelError::NoWeights {
                    model: name.clone(),
                    path: "-".into(),
                    hint: "gpt2-tiny is a test size with no pretrained weights; use --init random"
                        .into(),
                })
            }
            ModelSource::Named(name) => (
                name.clone(),
                fpt_home()
                    .join("models")
                    .join(name)
                    .join("model.safetensors"),
                "place the Hugging Face model.safetensors there, or pass --model-dir with a \
                 Hugging Face folder (config.json + model.safetensors)"
                    .to_string(),
            ),
        };
        if path.is_file() {
            Ok(path)
        } else {
            Err(ModelError::NoWeights {
                model,
                path: path.display().to_string(),
                hint,
            })
        }
    }
}

fn read_hf_config(path: &Path) -> Result<Gpt2Config, ModelError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
        path: shown.clone(),
        source,
    })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| ModelError::BadConfig {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
    let found = value
        .get("model_type")
        .and_then(|v| v.as_str())
        .unwrap_or("(none)");
    if found != "gpt2" {
        return Err(ModelError::Architecture {
            path: shown,
            found: found.into(),
        });
    }
    let config: Gpt2Config = serde_json::from_value(value).map_err(|e| ModelError::BadConfig {
        path: shown,
        reason: e.to_string(),
    })?;
    config.validate()?;
    Ok(config)
}

/// Trainable and total parameter counts of one group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCount {
    pub trainable: i64,
    pub total: i64,
}

/// What a model is built from.
#[derive(Debug, Clone)]
pub struct ModelRecipe<'a> {
    pub source: &'a ModelSource,
    pub init: InitKind,
    pub freeze: &'a FreezePolicy,
    pub shape: TaskShape,
    /// Dropout after the input layer (the reference's 0.1).
    pub input_dropout: f64,
    /// Gain of the input layer's orthogonal init (the reference's 1.41).
    pub orthogonal_gain: f64,
    pub device: Device,
}

const INPUT: &str = "fpt_in";
const OUTPUT: &str = "fpt_out";

#[derive(Debug)]
pub struct FptModel {
    vs: nn::VarStore,
    in_weight: Tensor,
    in_bias: Tensor,
    backbone: Box<dyn Backbone>,
    out_weight: Tensor,
    out_bias: Tensor,
    input_dropout: f64,
    shape: TaskShape,
    /// Trainable variables by name, in name order (the optimiser's order).
    trainable: Vec<(String, Tensor)>,
    counts: BTreeMap<ParamGroup, GroupCount>,
    load_report: Option<LoadReport>,
}

impl FptModel {
    /// Builds the model with torch's RNG as it stands: seed it first for a reproducible init.
    pub fn new(recipe: &ModelRecipe) -> Result<Self, ModelError> {
        let config = recipe.source.config()?;
        let shape = recipe.shape;
        if shape.seq_len > config.n_positions {
            return Err(ModelError::TooLong {
                needed: shape.seq_len,
                available: config.n_positions,
            });
        }
        let vs = nn::VarStore::new(recipe.device);
        let root = vs.root();
        let backbone = Gpt2::new(&root, config)?;
        let hidden = backbone.hidden_size();
        let InputKind::Features { dim } = shape.input;
        let input = &root / INPUT;
        let in_weight = input.var(
            "weight",
            &[hidden, dim],
            Init::Orthogonal {
                gain: recipe.orthogonal_gain,
            },
        );
        let in_bias = input.var("bias", &[hidden], Init::Const(0.0));
        // torch.nn.Linear's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
        let bound = 1.0 / (hidden as f64).sqrt();
        let uniform = Init::Uniform {
            lo: -bound,
            up: bound,
        };
        let output = &root / OUTPUT;
        let outputs = shape.outputs_per_token();
        let out_weight = output.var("weight", &[outputs, hidden], uniform);
        let out_bias = output.var("bias", &[outputs], uniform);
        let mut model = Self {
            vs,
            in_weight,
            in_bias,
            backbone: Box::new(backbone),
            out_weight,
            out_bias,
            input_dropout: recipe.input_dropout,
            shape,
            trainable: Vec::new(),
            counts: BTreeMap::new(),
            load_report: None,
        };
        match recipe.init {
            InitKind::Random => {}
            InitKind::Pretrained => model.load_backbone(&recipe.source.pretrained_weights()?)?,
            InitKind::Stats => {
                model.load_backbone(&recipe.source.pretrained_weights()?)?;
                model.redraw_from_statistics();
            }
        }
        model.set_freeze(recipe.freeze);
        Ok(model)
    }

    fn backbone_vars(&self) -> std::collections::HashMap<String, Tensor> {
        let mut vars = self.vs.variables();
        vars.retain(|name, _| self.backbone.role(name).is_some());
        vars
    }

    /// Loads a Hugging Face checkpoint over the backbone's variables.
    pub fn load_backbone(&mut self, file: &Path) -> Result<(), ModelError> {
        let backbone = &self.backbone;
        let report = weights::load_into(
            file,
            &self.backbone_vars(),
            |name| name.to_string(),
            |name| backbone.unused_checkpoint_tensor(name),
        )?;
        if !report.unexpected.is_empty() {
            tracing::warn!(
                "{}: {} tensor(s) not used by the model: {:?}",
                file.display(),
                report.unexpected.len(),
                report.unexpected
            );
        }
        self.load_report = Some(report);
        Ok(())
    }

    /// The statistics-only init: every backbone tensor redrawn from N(mean, std) of its
    /// current (pretrained) values; single-valued statistics (std of a constant tensor,
    /// e.g. a zero bias) stay as they were.
    fn redraw_from_statistics(&self) {
        tch::no_grad(|| {
            for (_, var) in self.backbone_vars() {
                let mean = var.mean(None).double_value(&[]);
                let std = if var.numel() > 1 {
                    var.std(true).double_value(&[])
                } else {
                    0.0
                };
                let mut var = var;
                let _ = var.normal_(mean, std);
            }
        });
    }

    fn role(&self, name: &str) -> ParamRole {
        let head = |group| ParamRole { group, layer: None };
        if name.starts_with(&format!("{INPUT}.")) {
            head(ParamGroup::Input)
        } else if name.starts_with(&format!("{OUTPUT}.")) {
            head(ParamGroup::Output)
        } else {
            self.backbone
                .role(name)
                .unwrap_or_else(|| panic!("variable '{name}' has no parameter group"))
        }
    }

    /// Marks each parameter trainable or frozen by `policy` and recounts the groups.
    pub fn set_freeze(&mut self, policy: &FreezePolicy) {
        let layers = self.backbone.num_layers();
        let mut vars: Vec<(String, Tensor)> = self.vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        self.counts.clear();
        self.trainable.clear();
        for (name, tensor) in vars {
            let role = self.role(&name);
            let trains = policy.trains(role, layers);
            let tensor = tensor.set_requires_grad(trains);
            let count = self.counts.entry(role.group).or_default();
            count.total += tensor.numel() as i64;
            if trains {
                count.trainable += tensor.numel() as i64;
                self.trainable.push((name, tensor));
            }
        }
    }

    /// Logits `[B, targets_per_example, classes]` for inputs `[B, T, D]`.
    pub fn forward(&self, xs: &Tensor, train: bool) -> Tensor {
        let b = xs.size()[0];
        let hs = xs
            .linear(&self.in_weight, Some(&self.in_bias))
            .dropout(self.input_dropout, train);
        let hs = self.backbone.forward(&hs, train);
        let s = self.shape;
        let last = hs.narrow(1, s.seq_len - s.head_tokens, s.head_tokens);
        last.linear(&self.out_weight, Some(&self.out_bias))
            .reshape([b, s.targets_per_example, s.classes])
    }

    pub fn trainable(&self) -> &[(String, Tensor)] {
        &self.trainable
    }

    pub fn counts(&self) -> &BTreeMap<ParamGroup, GroupCount> {
        &self.counts
    }

    pub fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    pub fn var_store_mut(&mut self) -> &mut nn::VarStore {
        &mut self.vs
    }

    pub fn load_report(&self) -> Option<&LoadReport> {
        self.load_report.as_ref()
    }

    pub fn backbone(&self) -> &dyn Backbone {
        self.backbone.as_ref()
    }
}
