//! The Frozen Pretrained Transformer: input layer, backbone, output layer, and which of
//! their parameters train.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use spec::architecture::ArchitectureError;
use spec::freeze::{FreezePolicy, ParamGroup, ParamRole};
use spec::model::{FrozenPrecision, GroupCount, InitKind, ModelSource};
use spec::task::{InputKind, TaskShape};
use tch::nn::{self, Init};
use tch::{Device, Kind, Tensor};

use crate::backbone::vars::{RolePath, Roles};
use crate::backbone::{self, Backbone, BuildBackbone};
use crate::weights::{self, LoadError};
use crate::zoo;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Architecture(#[from] ArchitectureError),
    #[error("no pretrained weights for '{model}': {hint}")]
    NoWeights { model: String, hint: String },
    /// Its cause says which file and why; shown by the error's chain, so not repeated here.
    #[error("pretrained weights for '{model}'")]
    Fetch {
        model: String,
        source: Box<datasets::fetch::FetchError>,
    },
    #[error("the task needs {needed} positions but the model has {available}")]
    TooLong { needed: i64, available: i64 },
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A variable no module gave a role: a bug in a backbone, caught when the model is built.
    #[error("variable '{0}' has no parameter group; its backbone did not record one")]
    NoRole(String),
    #[error("run {dir} cannot initialise this backbone: {reason}")]
    Run { dir: String, reason: String },
}

impl ModelError {
    /// Whether the user's input is at fault rather than the network.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, ModelError::Fetch { .. })
    }
}

/// The fpt cache root: `$FPT_HOME`, else `~/.cache/fpt` (shared with the data cache).
pub fn fpt_home() -> PathBuf {
    datasets::fetch::FetchOptions::default_cache_dir()
}

/// The checkpoint holding `source`'s pretrained weights: a built-in model's is
/// fetched into the cache when missing (never when `offline`).
pub fn pretrained_weights(source: &ModelSource, offline: bool) -> Result<PathBuf, ModelError> {
    match source {
        ModelSource::Dir(dir) => ModelSource::WEIGHT_FILES
            .iter()
            .map(|name| dir.join(name))
            .find(|path| path.is_file())
            .ok_or_else(|| ModelError::NoWeights {
                model: source.label(),
                hint: format!(
                    "neither {} is beside its config.json",
                    ModelSource::WEIGHT_FILES.join(" nor ")
                ),
            }),
        ModelSource::Named(name) => {
            let entry = zoo::find(name).ok_or_else(|| ModelError::NoWeights {
                model: name.clone(),
                hint: format!(
                    "it has no published checkpoint (pretrained: {}); use --init random",
                    zoo::entries()
                        .iter()
                        .map(|e| e.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
            zoo::weights(&entry, offline).map_err(|source| ModelError::Fetch {
                model: name.clone(),
                source: Box::new(source),
            })
        }
    }
}

/// What a model is built from.
#[derive(Debug, Clone)]
pub struct ModelRecipe<'a> {
    pub source: &'a ModelSource,
    /// Keep only the first N blocks of the backbone.
    pub layers: Option<usize>,
    pub init: &'a InitKind,
    /// The checkpoint for `Pretrained` and `Stats` inits (see
    /// [`ModelSource::pretrained_weights`]).
    pub weights: Option<&'a Path>,
    pub freeze: &'a FreezePolicy,
    pub shape: TaskShape,
    /// Dropout after the input layer (the reference's 0.1).
    pub input_dropout: f64,
    /// Dropout inside the backbone in place of its config's, when given.
    pub backbone_dropout: Option<f64>,
    /// Gain of the input layer's orthogonal init (the reference's 1.41).
    pub orthogonal_gain: f64,
    pub device: Device,
}

const INPUT: &str = "fpt_in";

/// The reference's input layer: Linear (orthogonal init, gain 1.41) then dropout for float
/// features; an Embedding for token ids (ListOps, remote homology).
#[derive(Debug)]
enum InputLayer {
    Linear { weight: Tensor, bias: Tensor },
    Embedding { weight: Tensor },
}

impl InputLayer {
    /// The reference's input layer under `path`: a Linear with orthogonal init (`gain`) and
    /// zero bias for features, an Embedding with torch's N(0, 1) init for token ids.
    fn new(path: &RolePath, input: InputKind, hidden: i64, gain: f64) -> Self {
        match input {
            InputKind::Features { dim } => InputLayer::Linear {
                weight: path.var("weight", &[hidden, dim], Init::Orthogonal { gain }),
                bias: path.var("bias", &[hidden], Init::Const(0.0)),
            },
            InputKind::Tokens { vocab } => InputLayer::Embedding {
                weight: path.var(
                    "weight",
                    &[vocab, hidden],
                    Init::Randn {
                        mean: 0.0,
                        stdev: 1.0,
                    },
                ),
            },
        }
    }
}

/// The output head under `path`, weight then bias, with torch.nn.Linear's default init:
/// U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
fn output_head(path: &RolePath, outputs: i64, hidden: i64) -> (Tensor, Tensor) {
    let bound = 1.0 / (hidden as f64).sqrt();
    let uniform = Init::Uniform {
        lo: -bound,
        up: bound,
    };
    (
        path.var("weight", &[outputs, hidden], uniform),
        path.var("bias", &[outputs], uniform),
    )
}
const OUTPUT: &str = "fpt_out";

/// Every variable of `vs` in name order with its role: the input layer's and head's from
/// `head_roles`, the backbone's as its modules recorded them.
fn params_with_roles(
    vs: &nn::VarStore,
    backbone: &dyn Backbone,
    head_roles: BTreeMap<String, ParamRole>,
) -> Result<Vec<(String, ParamRole, Tensor)>, ModelError> {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars.into_iter()
        .map(|(name, tensor)| {
            let role = head_roles
                .get(&name)
                .copied()
                .or_else(|| backbone.role(&name));
            match role {
                Some(role) => Ok((name, role, tensor)),
                None => Err(ModelError::NoRole(name)),
            }
        })
        .collect()
}

#[derive(Debug)]
pub struct FptModel {
    vs: nn::VarStore,
    input_layer: InputLayer,
    backbone: Box<dyn Backbone>,
    out_weight: Tensor,
    out_bias: Tensor,
    input_dropout: f64,
    shape: TaskShape,
    /// Every variable with its role, in name order.
    params: Vec<(String, ParamRole, Tensor)>,
    /// Trainable variables by name, in name order (the optimiser's order).
    trainable: Vec<(String, Tensor)>,
    counts: BTreeMap<ParamGroup, GroupCount>,
}

impl FptModel {
    /// Builds the model with torch's RNG as it stands: seed it first for a reproducible init.
    pub fn new(recipe: &ModelRecipe) -> Result<Self, ModelError> {
        let shape = recipe.shape;
        let vs = nn::VarStore::new(recipe.device);
        let root = vs.root();
        let mut architecture = recipe.source.architecture_with_layers(recipe.layers)?;
        if let Some(p) = recipe.backbone_dropout {
            architecture = architecture.with_dropout(p);
        }
        let backbone = architecture.build(&root)?;
        if shape.seq_len > backbone.max_positions() {
            return Err(ModelError::TooLong {
                needed: shape.seq_len,
                available: backbone.max_positions(),
            });
        }
        let hidden = backbone.hidden_size();
        // Variables are created in this order (backbone, input, output), so a seed draws the
        // same random init every time.
        let head_roles = Roles::default();
        let input_layer = InputLayer::new(
            &RolePath::new(root.sub(INPUT), ParamGroup::Input, &head_roles),
            shape.input,
            hidden,
            recipe.orthogonal_gain,
        );
        let (out_weight, out_bias) = output_head(
            &RolePath::new(root.sub(OUTPUT), ParamGroup::Output, &head_roles),
            shape.outputs_per_token(),
            hidden,
        );
        let params = params_with_roles(&vs, backbone.as_ref(), head_roles.into_map())?;
        let mut model = Self {
            vs,
            input_layer,
            backbone,
            out_weight,
            out_bias,
            input_dropout: recipe.input_dropout,
            shape,
            params,
            trainable: Vec::new(),
            counts: BTreeMap::new(),
        };
        model.initialise(recipe)?;
        model.set_freeze(recipe.freeze);
        Ok(model)
    }

    /// Gives the backbone the recipe's init: as built (random), a checkpoint, the
    /// checkpoint's statistics, or another run's trained backbone.
    fn initialise(&mut self, recipe: &ModelRecipe) -> Result<(), ModelError> {
        let checkpoint = || {
            recipe.weights.ok_or_else(|| ModelError::NoWeights {
                model: recipe.source.label(),
                hint: "no checkpoint was given".into(),
            })
        };
        match recipe.init {
            InitKind::Random => {}
            InitKind::Pretrained => self.load_backbone(checkpoint()?)?,
            InitKind::Stats => {
                self.load_backbone(checkpoint()?)?;
                self.redraw_from_statistics();
            }
            InitKind::Run(dir) => self.load_from_run(dir)?,
        }
        Ok(())
    }

    /// The backbone's variables: all but the FPT input layer and head.
    fn backbone_vars(&self) -> std::collections::HashMap<String, Tensor> {
        self.params
            .iter()
            .filter(|(_, role, _)| !matches!(role.group, ParamGroup::Input | ParamGroup::Output))
            .map(|(name, _, tensor)| (name.clone(), tensor.shallow_clone()))
            .collect()
    }

    /// Loads a Hugging Face checkpoint over the backbone's variables.
    fn load_backbone(&self, file: &Path) -> Result<(), ModelError> {
        let report = backbone::load_checkpoint(self.backbone.as_ref(), file, &self.vs.variables())?;
        if !report.unexpected.is_empty() {
            tracing::warn!(
                "{}: {} tensor(s) not used by the model: {:?}",
                file.display(),
                report.unexpected.len(),
                report.unexpected
            );
        }
        if !report.skipped.is_empty() {
            tracing::info!(
                "{}: loaded {} tensor(s); skipped {} the backbone does not use: {}",
                file.display(),
                report.loaded,
                report.skipped.len(),
                report.skipped_summary()
            );
        }
        Ok(())
    }

    /// Takes the backbone from a finished run's checkpoint, which holds the variables that
    /// run trained: all of them are needed.
    fn load_from_run(&self, dir: &Path) -> Result<(), ModelError> {
        let file = dir.join(spec::run_dir::CHECKPOINT);
        let fail = |reason: String| ModelError::Run {
            dir: dir.display().to_string(),
            reason,
        };
        if !dir.join(spec::run_dir::RESULT).is_file() {
            return Err(fail("it has not finished (no result.json)".into()));
        }
        weights::load_into(
            &file,
            &self.backbone_vars(),
            |name| name.strip_prefix("param.").unwrap_or(name).to_string(),
            |name| !name.starts_with("param.") || name.starts_with("param.fpt_"),
        )
        .map_err(|e| match e {
            LoadError::Missing { missing, .. } => fail(format!(
                "it did not train {} of this backbone's tensors (e.g. {}); train the source run with --freeze all",
                missing.len(),
                missing[0]
            )),
            other => fail(other.to_string()),
        })?;
        Ok(())
    }

    /// The statistics-only init: every backbone tensor redrawn from N(mean, std) of its
    /// current (pretrained) values; single-valued statistics (std of a constant tensor,
    /// e.g. a zero bias) stay as they were.
    fn redraw_from_statistics(&self) {
        tch::no_grad(|| {
            for (name, var) in self.backbone_vars() {
                if !self.backbone.in_checkpoint(&name) {
                    continue;
                }
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

    /// Keeps the frozen attention and feed-forward matrices (and their biases) in
    /// `precision`; trained parameters stay fp32. Call after [`Self::set_freeze`].
    pub fn set_frozen_precision(&mut self, precision: FrozenPrecision) {
        if precision.is_fp32() {
            return;
        }
        tch::no_grad(|| {
            for (_, role, var) in &self.params {
                let matrix = matches!(role.group, ParamGroup::Attention | ParamGroup::FeedForward);
                let mut var = var.shallow_clone();
                if matrix && !var.requires_grad() {
                    var.set_data(&var.to_kind(Kind::BFloat16));
                }
            }
        });
    }

    /// Marks each parameter trainable or frozen by `policy` and recounts the groups.
    pub fn set_freeze(&mut self, policy: &FreezePolicy) {
        let layers = self.backbone.num_layers();
        self.counts.clear();
        self.trainable.clear();
        for (name, role, tensor) in &self.params {
            let role = *role;
            let trains = policy.trains(role, layers);
            let tensor = tensor.set_requires_grad(trains);
            let count = self.counts.entry(role.group).or_default();
            count.total += tensor.numel() as i64;
            if trains {
                count.trainable += tensor.numel() as i64;
                self.trainable.push((name.clone(), tensor));
            }
        }
    }

    /// Logits `[B, targets_per_example, classes]` for inputs `[B, T, D]`.
    pub fn forward(&self, xs: &Tensor, train: bool) -> Tensor {
        self.head(&self.features(xs, train))
    }

    /// What the output layer reads: the backbone's last `head_tokens` hidden states
    /// `[B, head_tokens, H]` (the backbone computes no more than those need).
    pub fn features(&self, xs: &Tensor, train: bool) -> Tensor {
        self.backbone
            .forward_last(&self.embed(xs, train), self.shape.head_tokens, train)
    }

    /// The backbone's hidden states of every token, `[B, T, H]` (for inspection).
    pub fn hidden_states(&self, xs: &Tensor, train: bool) -> Tensor {
        self.backbone.forward(&self.embed(xs, train), train)
    }

    /// The input layer: inputs `[B, T, D]` (or token ids `[B, T]`) to `[B, T, H]`.
    fn embed(&self, xs: &Tensor, train: bool) -> Tensor {
        match &self.input_layer {
            InputLayer::Linear { weight, bias } => xs
                .linear(weight, Some(bias))
                .dropout(self.input_dropout, train),
            // As the reference: no dropout after the embedding.
            InputLayer::Embedding { weight } => Tensor::embedding(weight, xs, -1, false, false),
        }
    }

    /// The output layer on [`Self::features`]: logits `[B, targets_per_example, classes]`.
    pub fn head(&self, features: &Tensor) -> Tensor {
        let s = self.shape;
        features
            .linear(&self.out_weight, Some(&self.out_bias))
            .reshape([features.size()[0], s.targets_per_example, s.classes])
    }

    /// Whether only the output layer trains, so everything before it is a fixed function
    /// of the input (its features can be cached, and dropout before it is only noise).
    pub fn trains_only_output(&self) -> bool {
        self.counts
            .iter()
            .all(|(group, c)| *group == ParamGroup::Output || c.trainable == 0)
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
}
