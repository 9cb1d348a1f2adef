//! Models that are not pretrained transformers, for the paper's baseline rows (issue 4).
//!
//! - [`lstm`]: the LN-LSTM of the reference code and the slides' LSTM ablations (3 layers,
//!   12 layers, + residual connections, + learned positions).
//! - [`linformer`]: the Linformer of the Long Range Arena benchmark (LRA's CIFAR-10 model,
//!   which the slides' overfitting table cites), trained from scratch.
//!
//! Every model maps hidden states `[B, T, H]` to `[B, T, H]` and names the role of each of
//! its variables ([`VarRole`]) with a small enum of its own; the harness, which depends on
//! this crate (never the other way round), maps those roles onto its parameter groups.

pub mod linformer;
pub mod lstm;
mod role;

pub use linformer::{
    Linformer, LinformerConfig, LinformerConfigError, LinformerParamKind, LinformerParamRole,
    ProjectionSharing,
};
pub use lstm::{
    LayerNormInit, LnLstm, LstmConfig, LstmConfigError, LstmParamKind, LstmParamRole, PRESETS,
};
pub use role::VarRole;
