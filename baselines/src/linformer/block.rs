//! One pre-LayerNorm Linformer block, as LRA's `LinformerBlock` computes it.

use tch::{nn, nn::Module, Tensor};

use spec::architecture::linformer::LinformerConfig;

use super::attention::{LinformerAttention, SequenceProjection};
use super::vars::Vars;

/// LRA's `MlpBlock`: `dropout(Dense(dropout(gelu(Dense(x)))))`, GELU in flax's default
/// tanh approximation.
#[derive(Debug)]
struct FeedForward {
    dense_in: nn::Linear,
    dense_out: nn::Linear,
    dropout: f64,
}

impl FeedForward {
    fn forward(&self, xs: &Tensor, train: bool) -> Tensor {
        let inner = self.dense_in.forward(xs).gelu("tanh");
        self.dense_out
            .forward(&inner.dropout(self.dropout, train))
            .dropout(self.dropout, train)
    }
}

/// ```text
/// x = x + dropout(attention(ln_attention(x)))
/// x = x + mlp(ln_mlp(x))                      (the MLP drops out its own output)
/// ```
#[derive(Debug)]
pub(crate) struct Block {
    ln_attention: nn::LayerNorm,
    attention: LinformerAttention,
    ln_mlp: nn::LayerNorm,
    mlp: FeedForward,
    dropout: f64,
}

impl Block {
    /// The block under `p`, its attention (under `p / "attention"`) applying `projection`.
    pub(crate) fn new(
        p: &nn::Path,
        config: &LinformerConfig,
        vars: Vars,
        projection: SequenceProjection,
    ) -> Self {
        let (h, mlp) = (config.hidden_size, config.mlp_dim);
        Self {
            ln_attention: vars.layer_norm(p / "ln_attention", h),
            attention: LinformerAttention::new(p / "attention", config, vars, projection),
            ln_mlp: vars.layer_norm(p / "ln_mlp", h),
            mlp: FeedForward {
                dense_in: vars.feed_forward_dense(p / "mlp" / "dense_in", h, mlp),
                dense_out: vars.feed_forward_dense(p / "mlp" / "dense_out", mlp, h),
                dropout: config.dropout,
            },
            dropout: config.dropout,
        }
    }

    /// `[B, T, H]` -> the outputs `[B, queries, H]` of the last `queries` tokens: their
    /// queries attend to keys and values from all `T`; everything after attention runs on
    /// them alone.
    pub(crate) fn forward(&self, xs: &Tensor, queries: i64, train: bool) -> Tensor {
        let steps = xs.size()[1];
        let attended = self
            .attention
            .forward(&self.ln_attention.forward(xs), queries, train);
        let xs = xs.narrow(1, steps - queries, queries) + attended.dropout(self.dropout, train);
        let mlp = self.mlp.forward(&self.ln_mlp.forward(&xs), train);
        xs + mlp
    }
}
