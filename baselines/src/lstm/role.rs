//! The kinds of the LSTM's variables (see [`crate::role`]).

use crate::role::VarRole;

/// The kind of an LSTM parameter; the harness maps each onto one of its parameter groups.
///
/// Under the reference code's default freezing rule (by name: 'ln' trains, anything else
/// in the sequence model is frozen; its LSTM position table sits outside it and trains),
/// a random LSTM trains its `LayerNorm` and `Positions` parameters and keeps `Recurrent`
/// frozen, like FPT's attention and feed-forward blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LstmParamKind {
    /// The learned position table (`position_embeddings.weight`).
    Positions,
    /// Gains and biases of the gate and cell layer norms (`layers.{i}.ln_*`).
    LayerNorm,
    /// Input and hidden projections into the gates (`layers.{i}.i2h.*`, `layers.{i}.h2h.*`).
    Recurrent,
}

/// An LSTM parameter's kind and, inside the stack, its layer.
pub type LstmParamRole = VarRole<LstmParamKind>;
