//! The models on libtorch: sequence backbones that read like Hugging Face's modules (GPT-2,
//! BERT/MiniLM, ViT blocks, the LN-LSTM adapter), the FPT wrapper around them, checkpoint
//! loading, the registry of pretrained weights, the forward pass `fpt inspect` exposes for
//! parity checks, and rounding-error bounds for those checks.

pub mod backbone;
pub mod device;
pub mod hub;
pub mod inspect;
pub mod model;
pub mod numerics;
pub mod weights;
pub mod zoo;

/// The tch release these models are built with (pinned in the workspace Cargo.toml).
pub const TCH_VERSION: &str = "0.24.0";
/// The libtorch release found at build time (from its version file).
pub const TORCH_VERSION: &str = env!("FPT_TORCH_VERSION");

/// Whether `err`, one link of an error chain, is one of this crate's errors that blames what
/// the user asked for (an unknown model, a sequence longer than its positions, bad inputs
/// to inspect), or a spec error underneath: the binary exits 2 for those.
pub fn is_bad_input(err: &(dyn std::error::Error + 'static)) -> bool {
    spec::is_bad_input(err)
        || err
            .downcast_ref::<model::ModelError>()
            .is_some_and(model::ModelError::is_bad_input)
        || err.is::<inspect::InspectError>()
}
