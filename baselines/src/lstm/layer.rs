//! One LN-LSTM layer: a recurrence over time with layer-normalised gate pre-activations and
//! a layer-normalised cell, as the reference's `LayerNormLSTM` cell computes it.

use tch::{nn, nn::Module, Tensor};

use super::layer_norm::LayerNorm;
use super::role::{LstmParamKind, LstmParamRole};
use crate::role::RoleLog;
use spec::architecture::lstm::LayerNormInit;

/// Per step, with `x` the input and `h`, `c` the previous states:
/// ```text
/// pre = LN_i2h(W_ih x + b_ih) + LN_h2h(W_hh h + b_hh)        (4H: gates i, f, o, then g)
/// c'  = LN_cell(sigmoid(f) * c + sigmoid(i) * tanh(g))       (the normalised cell is carried)
/// h'  = dropout(sigmoid(o) * tanh(c'))                       (feeds the next step and layer)
/// ```
/// The gate order and where the norms and dropout sit follow the reference exactly; its
/// initial states are Xavier-normal noise drawn at every call, ours are zeros so that an
/// evaluation is deterministic.
#[derive(Debug)]
pub(crate) struct LstmLayer {
    i2h: nn::Linear,
    h2h: nn::Linear,
    ln_i2h: LayerNorm,
    ln_h2h: LayerNorm,
    ln_cell: LayerNorm,
    hidden: i64,
}

impl LstmLayer {
    /// Projections start as PyTorch's LSTM does (and the reference): weights and biases
    /// uniform in `±1/sqrt(H)`. Layer `index`'s variables are recorded in `roles`.
    pub(crate) fn new(
        p: nn::Path,
        index: usize,
        hidden: i64,
        layer_norm_init: LayerNormInit,
        roles: &RoleLog<LstmParamKind>,
    ) -> Self {
        let bound = 1.0 / (hidden as f64).sqrt();
        let uniform = nn::Init::Uniform {
            lo: -bound,
            up: bound,
        };
        let projection = nn::LinearConfig {
            ws_init: uniform,
            bs_init: Some(uniform),
            bias: true,
        };
        let gates = 4 * hidden;
        let role = |kind| LstmParamRole {
            kind,
            layer: Some(index),
        };
        // Creation order (i2h, h2h, then the norms) fixes the random draws.
        let linear = |name: &str| {
            let path = &p / name;
            let linear = nn::linear(&path, hidden, gates, projection);
            roles.record(&path, &["weight", "bias"], role(LstmParamKind::Recurrent));
            linear
        };
        let (i2h, h2h) = (linear("i2h"), linear("h2h"));
        let norm = |name: &str, dim| {
            let path = &p / name;
            let norm = LayerNorm::new(path.clone(), dim, layer_norm_init);
            roles.record(&path, &["weight", "bias"], role(LstmParamKind::LayerNorm));
            norm
        };
        Self {
            i2h,
            h2h,
            ln_i2h: norm("ln_i2h", gates),
            ln_h2h: norm("ln_h2h", gates),
            ln_cell: norm("ln_cell", hidden),
            hidden,
        }
    }

    /// `[B, T, H]` -> the hidden state after every step, `[B, T, H]`.
    pub(crate) fn forward(&self, xs: &Tensor, dropout: f64, train: bool) -> Tensor {
        let (batch, steps, _) = xs.size3().expect("LSTM input is [B, T, H]");
        let hd = self.hidden;
        // The input side of every step in one matmul, time-major so that each step below
        // reads a contiguous [B, 4H] slice.
        let from_inputs = self
            .ln_i2h
            .prepare()
            .forward(&self.i2h.forward(&xs.transpose(0, 1).contiguous()));
        let ln_h2h = self.ln_h2h.prepare();
        let ln_cell = self.ln_cell.prepare();
        let mut h = Tensor::zeros([batch, hd], (xs.kind(), xs.device()));
        let mut c = h.zeros_like();
        let mut outputs = Vec::with_capacity(steps as usize);
        for step in 0..steps {
            let pre = from_inputs.get(step) + ln_h2h.forward(&self.h2h.forward(&h));
            let sig = pre.narrow(1, 0, 3 * hd).sigmoid();
            let (i, f, o) = (
                sig.narrow(1, 0, hd),
                sig.narrow(1, hd, hd),
                sig.narrow(1, 2 * hd, hd),
            );
            let g = pre.narrow(1, 3 * hd, hd).tanh();
            c = ln_cell.forward(&(f * &c).addcmul(&i, &g));
            h = (o * c.tanh()).dropout(dropout, train);
            outputs.push(h.shallow_clone());
        }
        Tensor::stack(&outputs, 1)
    }
}
