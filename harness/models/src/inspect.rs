//! `fpt inspect forward`: the backbone alone on given hidden states, for parity checks
//! against Hugging Face (`Model(inputs_embeds=x).last_hidden_state`, eval mode).

use std::path::Path;

use tch::{nn, Device, Kind, Tensor};

use crate::backbone::{self, BuildBackbone};
use spec::model::ModelSource;

use crate::model::ModelError;

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("cannot read inputs {path}: {reason}")]
    Inputs { path: String, reason: String },
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: tch::TchError },
}

/// The tensor name `inspect forward` reads.
pub const INPUT_NAME: &str = "inputs_embeds";
/// The tensor name `inspect forward` writes.
pub const OUTPUT_NAME: &str = "last_hidden_state";

/// Runs the pretrained backbone of `source` on `inputs` ([B, T, H], f32), without dropout,
/// as Hugging Face's model computes it (see [`backbone::Backbone::hf_forward`]).
pub fn backbone_forward(
    source: &ModelSource,
    inputs: &Tensor,
    offline: bool,
) -> Result<Tensor, ModelError> {
    let vs = nn::VarStore::new(Device::Cpu);
    let backbone = source
        .architecture()
        .map_err(ModelError::from)?
        .build(&vs.root())
        .map_err(ModelError::from)?;
    let weights = crate::model::pretrained_weights(source, offline)?;
    backbone::load_checkpoint(backbone.as_ref(), &weights, &vs.variables())?;
    Ok(tch::no_grad(|| backbone.hf_forward(inputs)))
}

pub fn forward_file(
    source: &ModelSource,
    inputs: &Path,
    out: &Path,
    offline: bool,
) -> Result<Vec<i64>, InspectError> {
    // A bad model name or folder is reported before the inputs are read.
    source.architecture().map_err(ModelError::from)?;
    let bad = |reason: String| InspectError::Inputs {
        path: inputs.display().to_string(),
        reason,
    };
    let tensors = Tensor::read_safetensors(inputs).map_err(|e| bad(e.to_string()))?;
    let x = tensors
        .into_iter()
        .find_map(|(name, t)| (name == INPUT_NAME).then_some(t))
        .ok_or_else(|| bad(format!("it has no tensor named '{INPUT_NAME}'")))?;
    if x.dim() != 3 {
        return Err(bad(format!(
            "'{INPUT_NAME}' must be [B, T, H], got {:?}",
            x.size()
        )));
    }
    let y = backbone_forward(source, &x.to_kind(Kind::Float), offline)?;
    let shape = y.size();
    Tensor::write_safetensors(&[(OUTPUT_NAME, y.contiguous())], out).map_err(|source| {
        InspectError::Write {
            path: out.display().to_string(),
            source,
        }
    })?;
    Ok(shape)
}
