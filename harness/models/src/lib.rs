//! The models on libtorch: sequence backbones that read like Hugging Face's modules (GPT-2,
//! BERT/MiniLM, ViT blocks, the LN-LSTM adapter), the FPT wrapper around them, checkpoint
//! loading, the registry of pretrained weights, the forward pass `fpt inspect` exposes for
//! parity checks, and rounding-error bounds for those checks.

pub mod backbone;
pub mod device;
pub mod inspect;
pub mod model;
pub mod numerics;
pub mod weights;
pub mod zoo;

/// The tch release these models are built with (pinned in the workspace Cargo.toml).
pub const TCH_VERSION: &str = "0.24.0";
/// The libtorch release found at build time (from its version file).
pub const TORCH_VERSION: &str = env!("FPT_TORCH_VERSION");
