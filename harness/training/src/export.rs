//! A run's starting point, written for another implementation to train from: the
//! backbone's Hugging Face config, every parameter as initialised, every training batch in
//! order, the evaluated examples and the recipe. tools/reference/train.py (PyTorch and
//! Hugging Face transformers) trains on exactly these, so the two trainings can be compared
//! step by step (`cargo xtask crosscheck`, the trajectory-parity test).
//!
//! Files in the export folder:
//! - `config.json`: the backbone's config.json as transformers reads it, with the run's
//!   dropout (none for an output-only run, which trains without it);
//! - `init.safetensors`: every variable of the model as the run starts (backbone tensors
//!   under Hugging Face's names, the input layer under `fpt_in.*`, the output layer under
//!   `fpt_out.*`);
//! - `batches.safetensors`: `inputs` `[steps, batch, ...]` and `targets` `[steps, batch,
//!   ...]`, the batch of each step as the run draws it;
//! - `eval.safetensors`: `inputs` and `targets` of the evaluated examples;
//! - `recipe.json`: [`Recipe`].

use std::path::Path;

use serde::Serialize;
use tch::Tensor;

use crate::task::{BuildTask, DataContext, Splits};
use crate::train::{build_model, TrainError, TORCH_RNG};
use spec::run::RunSpec;
use spec::task::InputKind;

pub const CONFIG: &str = "config.json";
pub const INIT: &str = "init.safetensors";
pub const BATCHES: &str = "batches.safetensors";
pub const EVAL: &str = "eval.safetensors";
pub const RECIPE: &str = "recipe.json";

/// How the exported run trains: what the other implementation needs beyond the tensors.
#[derive(Debug, Serialize)]
pub struct Recipe {
    pub run_id: String,
    pub seed: u64,
    pub steps: u64,
    pub batch_size: usize,
    pub micro_batch_size: usize,
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub clip_grad_norm: f64,
    pub input_dropout: f64,
    /// How the backbone started (pretrained, random, stats, run:DIR), and the input layer's
    /// orthogonal gain: what a reference needs to initialise on its own.
    pub init: String,
    pub orthogonal_gain: f64,
    /// "features" (a Linear input layer on float features) or "tokens" (an Embedding).
    pub input: &'static str,
    /// The output layer reads the last `head_tokens` hidden states...
    pub head_tokens: i64,
    /// ...and its outputs are read as `[batch, targets_per_example, classes]`.
    pub targets_per_example: i64,
    pub classes: i64,
    /// The freeze policy's name, and the variables it trains (in the optimiser's order).
    pub freeze: String,
    pub trainable: Vec<String>,
    /// The split the evaluated examples come from.
    pub eval_split: String,
}

/// Writes `spec`'s starting point into `out` (created if missing; files replaced whole).
pub fn write(spec: &RunSpec, data: &DataContext, out: &Path) -> Result<Recipe, TrainError> {
    let _rng = TORCH_RNG
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let fail = |reason: String| TrainError::Export {
        path: out.display().to_string(),
        reason,
    };
    spec.validate()?;
    let mut architecture = spec
        .model
        .architecture_with_layers(spec.layers)
        .map_err(models::model::ModelError::from)?;
    if architecture.hf_config().is_none() {
        return Err(fail(
            "an LSTM has no Hugging Face class for a reference to build".into(),
        ));
    }
    let task = spec.task.build(data, Splits::only(spec.eval_split))?;
    let shape = task.shape();
    let model = build_model(spec, shape, data.offline)?;
    // An output-only run trains without dropout (train::Session), so its export says so.
    let dropout_off = model.trains_only_output();
    if let Some(p) = spec.backbone_dropout.or(dropout_off.then_some(0.0)) {
        architecture = architecture.with_dropout(p);
    }
    let config = architecture.hf_config().expect("checked above");
    std::fs::create_dir_all(out).map_err(|e| fail(e.to_string()))?;
    let config = serde_json::to_string_pretty(&config).expect("a config serialises");
    spec::run_dir::write_atomic(&out.join(CONFIG), config.as_bytes())?;

    let mut variables: Vec<(String, Tensor)> = model.var_store().variables().into_iter().collect();
    variables.sort_by(|a, b| a.0.cmp(&b.0));
    write_tensors(out, INIT, &variables)?;

    let batches: Vec<_> = (0..spec.steps)
        .map(|step| task.train_batch(spec.seed, step, spec.batch_size))
        .collect();
    let stack = |part: fn(&crate::task::Batch) -> &Tensor| {
        Tensor::stack(&batches.iter().map(part).collect::<Vec<_>>(), 0)
    };
    write_tensors(
        out,
        BATCHES,
        &[
            ("inputs".into(), stack(|b| &b.inputs)),
            ("targets".into(), stack(|b| &b.targets)),
        ],
    )?;
    let (eval, eval_split) = task.eval_set(spec.eval_examples);
    write_tensors(
        out,
        EVAL,
        &[
            ("inputs".into(), eval.inputs.shallow_clone()),
            ("targets".into(), eval.targets.shallow_clone()),
        ],
    )?;

    let o = spec.optimizer;
    let recipe = Recipe {
        run_id: spec.run_id(),
        seed: spec.seed,
        steps: spec.steps,
        batch_size: spec.batch_size,
        micro_batch_size: spec.micro_batch_size.min(spec.batch_size),
        lr: o.lr,
        beta1: o.beta1,
        beta2: o.beta2,
        eps: o.eps,
        clip_grad_norm: spec.clip_grad_norm,
        input_dropout: if dropout_off { 0.0 } else { spec.input_dropout },
        init: spec.init.name().to_string(),
        orthogonal_gain: spec.orthogonal_gain,
        input: match shape.input {
            InputKind::Tokens { .. } => "tokens",
            InputKind::Features { .. } => "features",
        },
        head_tokens: shape.head_tokens,
        targets_per_example: shape.targets_per_example,
        classes: shape.classes,
        freeze: spec.freeze.name().to_string(),
        trainable: model.trainable().iter().map(|(n, _)| n.clone()).collect(),
        eval_split,
    };
    let json = serde_json::to_string_pretty(&recipe).expect("a recipe serialises");
    spec::run_dir::write_atomic(&out.join(RECIPE), json.as_bytes())?;
    Ok(recipe)
}

/// Writes `tensors` (on the CPU, contiguous) to `out/name` through a temporary file.
fn write_tensors(out: &Path, name: &str, tensors: &[(String, Tensor)]) -> Result<(), TrainError> {
    let cpu: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(n, t)| (n.clone(), t.to(tch::Device::Cpu).contiguous()))
        .collect();
    let part = out.join(format!("{name}.part-{}", std::process::id()));
    Tensor::write_safetensors(&cpu, &part)?;
    std::fs::rename(&part, out.join(name)).map_err(|e| TrainError::Export {
        path: out.join(name).display().to_string(),
        reason: e.to_string(),
    })
}
