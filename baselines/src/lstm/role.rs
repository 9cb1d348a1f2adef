//! What each LSTM variable does, recorded where the variable is created, so that the
//! harness can count (and, if asked, freeze) parameters per group without re-reading names.

use std::cell::RefCell;
use std::collections::BTreeMap;

use tch::nn;

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

/// A parameter's kind and, inside the stack, its layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LstmParamRole {
    pub kind: LstmParamKind,
    pub layer: Option<usize>,
}

/// The roles of the variables created so far, by full variable name.
#[derive(Debug, Default)]
pub(crate) struct RoleLog(RefCell<BTreeMap<String, LstmParamRole>>);

impl RoleLog {
    /// Records that the variables `names` just created under `path` play `role`.
    pub(crate) fn record(&self, path: &nn::Path, names: &[&str], role: LstmParamRole) {
        let mut roles = self.0.borrow_mut();
        for name in names {
            roles.insert(path.path(name), role);
        }
    }

    pub(crate) fn into_map(self) -> BTreeMap<String, LstmParamRole> {
        self.0.into_inner()
    }
}
