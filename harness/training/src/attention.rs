//! Attention maps of a trained run: `fpt inspect attention --run DIR` writes
//! `DIR/attention.json`, the attention weights (averaged over heads) of every layer on one
//! held-out example, which reports draw as heatmaps (the slides' diagonal patterns on the
//! bit tasks).

use std::path::Path;

use spec::schema::AttentionMaps;
use tch::Kind;

use crate::task::DataContext;
use crate::train::{self, TrainError};
use models::backbone::layers::record_attention;
use models::device::TchDevice;
use spec::run_dir::{self, RunDir, RunDirError};

#[derive(Debug, thiserror::Error)]
pub enum AttentionError {
    #[error("{0} holds no run (no spec.toml); pass a run directory")]
    NoRun(String),
    #[error("{0} has no checkpoint yet; attention maps need a trained run")]
    NotTrained(String),
    #[error("{model} has no attention layers (an LSTM); attention maps exist for transformers")]
    NoAttention { model: String },
    #[error("example {example} is outside the evaluation set ({available} examples)")]
    Example { example: usize, available: usize },
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error(transparent)]
    RunDir(#[from] RunDirError),
}

impl AttentionError {
    /// Its own cases blame the request; a training or run-folder error underneath decides.
    pub fn is_bad_input(&self) -> bool {
        match self {
            AttentionError::Train(e) => e.is_bad_input(),
            AttentionError::RunDir(e) => e.is_bad_input(),
            _ => true,
        }
    }
}

/// Computes the maps of run `dir` on evaluation example `example` and writes them to
/// `dir/attention.json`.
pub fn dump(
    dir: &Path,
    example: usize,
    data: &DataContext,
) -> Result<AttentionMaps, AttentionError> {
    if !dir.join(run_dir::SPEC).is_file() {
        return Err(AttentionError::NoRun(dir.display().to_string()));
    }
    if !dir.join(run_dir::CHECKPOINT).is_file() {
        return Err(AttentionError::NotTrained(dir.display().to_string()));
    }
    let (run, spec) = RunDir::open(dir)?;
    let (model, task) = train::trained_model(&spec, &run, data)?;
    let (set, _) = task.eval_set(Some(example + 1));
    let available = set.len() as usize;
    if example >= available {
        return Err(AttentionError::Example { example, available });
    }
    let one = set.slice(example as i64, 1).to_device(spec.device.tch());
    let (_, maps) = record_attention(|| tch::no_grad(|| model.hidden_states(&one.inputs, false)));
    if maps.is_empty() {
        return Err(AttentionError::NoAttention {
            model: spec.model.label(),
        });
    }
    let layers: Vec<Vec<Vec<f64>>> = maps
        .iter()
        .map(|m| {
            let m = m.get(0).to_kind(Kind::Double).to_device(tch::Device::Cpu);
            Vec::<Vec<f64>>::try_from(&m).expect("a [T, T] map")
        })
        .collect();
    let out = AttentionMaps {
        task: spec.task.name().into(),
        model: spec.model.label(),
        example,
        tokens: layers[0].len(),
        layers,
    };
    let json = serde_json::to_vec(&out).expect("maps serialise");
    run_dir::write_atomic(&dir.join(run_dir::ATTENTION), &json)?;
    Ok(out)
}
