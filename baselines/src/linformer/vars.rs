//! Creating the Linformer's variables with LRA's initialisers, each recorded with its role
//! where it is made.

use tch::{nn, Tensor};

use super::role::LinformerParamKind;
use crate::role::{RoleLog, VarRole};

/// flax's `LayerNorm` epsilon, which LRA keeps.
const LAYER_NORM_EPS: f64 = 1e-6;

/// flax's `xavier_uniform` (Glorot): `U(-b, b)` with `b = sqrt(6 / (fan_in + fan_out))`.
fn xavier_uniform(fan_in: i64, fan_out: i64) -> nn::Init {
    let bound = (6.0 / (fan_in + fan_out) as f64).sqrt();
    nn::Init::Uniform {
        lo: -bound,
        up: bound,
    }
}

/// Makes the variables of one layer (or, with no layer, of the stack around the layers).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Vars<'a> {
    roles: &'a RoleLog<LinformerParamKind>,
    layer: Option<usize>,
}

impl<'a> Vars<'a> {
    pub(crate) fn new(roles: &'a RoleLog<LinformerParamKind>, layer: Option<usize>) -> Self {
        Self { roles, layer }
    }

    fn record(&self, path: &nn::Path, names: &[&str], kind: LinformerParamKind) {
        let role = VarRole {
            kind,
            layer: self.layer,
        };
        self.roles.record(path, names, role);
    }

    /// LRA's position table, `[rows, width]`, drawn from normal(0, 0.02).
    pub(crate) fn positions(&self, path: nn::Path, rows: i64, width: i64) -> Tensor {
        let init = nn::Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        };
        let table = path.var("weight", &[rows, width], init);
        self.record(&path, &["weight"], LinformerParamKind::Positions);
        table
    }

    /// A sequence-projection kernel `[rows, k]` (rows: positions), Xavier-uniform as LRA's.
    pub(crate) fn projection_kernel(&self, path: nn::Path, rows: i64, k: i64) -> Tensor {
        let kernel = path.var("weight", &[rows, k], xavier_uniform(rows, k));
        self.record(&path, &["weight"], LinformerParamKind::Attention);
        kernel
    }

    /// A query, key, value or output projection: LRA's `DenseGeneral` without bias.
    pub(crate) fn attention_dense(&self, path: nn::Path, d_in: i64, d_out: i64) -> nn::Linear {
        self.dense(path, d_in, d_out, None, LinformerParamKind::Attention)
    }

    /// A feed-forward layer: LRA's `MlpBlock` Dense, whose bias starts at normal(0, 1e-6).
    pub(crate) fn feed_forward_dense(&self, path: nn::Path, d_in: i64, d_out: i64) -> nn::Linear {
        let bias = nn::Init::Randn {
            mean: 0.0,
            stdev: 1e-6,
        };
        self.dense(
            path,
            d_in,
            d_out,
            Some(bias),
            LinformerParamKind::FeedForward,
        )
    }

    /// `y = x W^T (+ b)`, `W` `[d_out, d_in]` Xavier-uniform; a bias only with `bias_init`.
    fn dense(
        &self,
        path: nn::Path,
        d_in: i64,
        d_out: i64,
        bias_init: Option<nn::Init>,
        kind: LinformerParamKind,
    ) -> nn::Linear {
        let config = nn::LinearConfig {
            ws_init: xavier_uniform(d_in, d_out),
            bs_init: bias_init,
            bias: bias_init.is_some(),
        };
        let dense = nn::linear(&path, d_in, d_out, config);
        let names: &[&str] = if config.bias {
            &["weight", "bias"]
        } else {
            &["weight"]
        };
        self.record(&path, names, kind);
        dense
    }

    /// torch-style layer norm over the last `dim` features: gain 1, bias 0, flax's epsilon.
    pub(crate) fn layer_norm(&self, path: nn::Path, dim: i64) -> nn::LayerNorm {
        let config = nn::LayerNormConfig {
            eps: LAYER_NORM_EPS,
            ..Default::default()
        };
        let norm = nn::layer_norm(&path, vec![dim], config);
        self.record(&path, &["weight", "bias"], LinformerParamKind::LayerNorm);
        norm
    }
}
