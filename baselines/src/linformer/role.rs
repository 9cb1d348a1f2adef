//! The kinds of the Linformer's variables (see [`crate::role`]).

use crate::role::VarRole;

/// The kind of a Linformer parameter; the harness maps each onto its parameter group of
/// the same name, so the FPT policies freeze a Linformer as they freeze a transformer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinformerParamKind {
    /// The learned position table (`position_embeddings.weight`).
    Positions,
    /// Gains and biases of the block and final layer norms.
    LayerNorm,
    /// Query, key, value and output projections, and the sequence projections of keys and
    /// values (the Linformer's E and F).
    Attention,
    /// The blocks' feed-forward layers.
    FeedForward,
}

/// A Linformer parameter's kind and, inside the stack, its layer (`None` for the position
/// table, the final layer norm and a kernel every layer shares).
pub type LinformerParamRole = VarRole<LinformerParamKind>;
