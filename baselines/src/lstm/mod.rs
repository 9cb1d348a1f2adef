//! The LN-LSTM baseline of the reference code (kzl/universal-computation,
//! `universal_computation/models/lstm.py`, used by `fpt.py` with `model_name='lstm'`) and
//! the slides' variants: 12 layers, residual connections, learned positions.
//!
//! Variables, relative to the path the model is built under:
//! `position_embeddings.weight` `[max_positions, H]` (only with learned positions) and, per
//! layer `i`, `layers.{i}.{i2h,h2h}.{weight,bias}` (`[4H, H]`, `[4H]`) and
//! `layers.{i}.{ln_i2h,ln_h2h,ln_cell}.{weight,bias}` (`[4H]`, `[4H]`, `[H]`).

mod layer;
mod layer_norm;
mod role;

pub use role::{LstmParamKind, LstmParamRole};
/// The configuration is data (the `spec` crate), so suites and profiles read it without
/// libtorch.
pub use spec::architecture::lstm::{LayerNormInit, LstmConfig, LstmConfigError, PRESETS};

use tch::{nn, Tensor};

use std::collections::BTreeMap;

use crate::role::RoleLog;
use layer::LstmLayer;

/// A stack of LN-LSTM layers on hidden states `[B, T, H]` -> `[B, T, H]`.
#[derive(Debug)]
pub struct LnLstm {
    config: LstmConfig,
    /// `[max_positions, H]`, zeros at first as in the reference.
    positions: Option<Tensor>,
    layers: Vec<LstmLayer>,
    /// Every variable's role, by full name, as recorded when it was created.
    roles: BTreeMap<String, LstmParamRole>,
}

impl LnLstm {
    /// Creates the variables under `p` (see the module docs for their names).
    pub fn new(p: &nn::Path, config: LstmConfig) -> Result<Self, LstmConfigError> {
        config.validate()?;
        let h = config.hidden_size;
        let roles = RoleLog::default();
        let positions = config.learned_positions.then(|| {
            let path = p / "position_embeddings";
            let table = path.var("weight", &[config.max_positions, h], nn::Init::Const(0.0));
            let role = LstmParamRole {
                kind: LstmParamKind::Positions,
                layer: None,
            };
            roles.record(&path, &["weight"], role);
            table
        });
        let layers = (0..config.num_layers)
            .map(|i| LstmLayer::new(p / "layers" / i, i, h, config.layer_norm_init, &roles))
            .collect();
        Ok(Self {
            config,
            positions,
            layers,
            roles: roles.into_map(),
        })
    }

    /// Hidden states `[B, T, H]` in, every step's top-layer hidden state `[B, T, H]` out;
    /// `train` turns dropout on.
    ///
    /// # Panics
    /// If `xs` is not `[B, T, H]` with this model's `H`, or, with learned positions, if `T`
    /// exceeds the position table.
    pub fn forward(&self, xs: &Tensor, train: bool) -> Tensor {
        let (_, steps, width) = xs.size3().expect("LSTM input is [B, T, H]");
        assert_eq!(
            width, self.config.hidden_size,
            "LSTM input width {width} differs from the model's hidden_size"
        );
        let mut hs = match &self.positions {
            Some(table) => {
                assert!(
                    steps <= self.config.max_positions,
                    "sequence of {steps} steps exceeds the LSTM's {} learned positions",
                    self.config.max_positions
                );
                xs + table.narrow(0, 0, steps)
            }
            None => xs.shallow_clone(),
        };
        for layer in &self.layers {
            let out = layer.forward(&hs, self.config.dropout, train);
            hs = if self.config.residual { hs + out } else { out };
        }
        hs
    }

    pub fn config(&self) -> &LstmConfig {
        &self.config
    }

    pub fn hidden_size(&self) -> i64 {
        self.config.hidden_size
    }

    pub fn num_layers(&self) -> usize {
        self.config.num_layers
    }

    /// Longest sequence the position table covers; `None` without one (any length works).
    pub fn max_positions(&self) -> Option<i64> {
        self.positions.as_ref().map(|_| self.config.max_positions)
    }

    /// The role of one of this model's variables, by its full variable name, as recorded
    /// when it was created; `None` for a name it does not own.
    pub fn role(&self, name: &str) -> Option<LstmParamRole> {
        self.roles.get(name).copied()
    }
}
