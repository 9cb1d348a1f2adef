//! Linformer self-attention: keys and values projected along the sequence to `k` rows.

use tch::{nn, nn::Module, Tensor};

use spec::architecture::linformer::{LinformerConfig, ProjectionSharing};

use super::role::LinformerParamKind;
use super::vars::Vars;
use crate::role::RoleLog;

/// The sequence-projection kernels `[max_positions, k]` one layer applies to its keys (E)
/// and values (F). Each is a handle on a variable, so a kernel shared by several layers is
/// one variable with one gradient.
#[derive(Debug)]
pub(crate) enum SequenceProjection {
    /// E = F.
    Shared(Tensor),
    Separate {
        key: Tensor,
        value: Tensor,
    },
}

/// Every layer's sequence projections, created as `config.sharing` lays them out (see the
/// module docs for their names); layer `i`'s attention sits under `attention_path(i)`.
pub(crate) fn sequence_projections<'a>(
    p: &nn::Path<'a>,
    attention_path: impl Fn(usize) -> nn::Path<'a>,
    config: &LinformerConfig,
    roles: &RoleLog<LinformerParamKind>,
) -> Vec<SequenceProjection> {
    let layers = 0..config.num_layers;
    let kernel = |path: nn::Path, layer| {
        Vars::new(roles, layer).projection_kernel(path, config.max_positions, config.k)
    };
    match config.sharing {
        ProjectionSharing::Layerwise => {
            let shared = kernel(p / "projection", None);
            layers
                .map(|_| SequenceProjection::Shared(shared.shallow_clone()))
                .collect()
        }
        ProjectionSharing::KeyValue => layers
            .map(|i| SequenceProjection::Shared(kernel(attention_path(i) / "projection", Some(i))))
            .collect(),
        ProjectionSharing::Separate => layers
            .map(|i| SequenceProjection::Separate {
                key: kernel(attention_path(i) / "projection_key", Some(i)),
                value: kernel(attention_path(i) / "projection_value", Some(i)),
            })
            .collect(),
    }
}

/// ```text
/// q = X_q W_q^T                       (the queried tokens only; no biases, as in LRA)
/// K' = (E[:T]^T X) W_k^T              [k, qkv_dim]
/// V' = (F[:T]^T X) W_v^T
/// out = merge_heads(dropout(softmax(q K'^T / sqrt(head_dim))) V') W_o^T
/// ```
/// LRA projects the keys and values after their dense layers, `E^T (X W_k^T)`; without
/// biases that is the same product, and projecting the `T` tokens down to `k` rows first
/// makes the key and value layers run on `k` rows instead of `T`. One projection serves
/// every head, since it acts along the sequence and a head is a slice of the features.
#[derive(Debug)]
pub(crate) struct LinformerAttention {
    query: nn::Linear,
    key: nn::Linear,
    value: nn::Linear,
    output: nn::Linear,
    projection: SequenceProjection,
    heads: i64,
    dropout: f64,
}

impl LinformerAttention {
    pub(crate) fn new(
        p: nn::Path,
        config: &LinformerConfig,
        vars: Vars,
        projection: SequenceProjection,
    ) -> Self {
        let (h, qkv) = (config.hidden_size, config.qkv_dim);
        Self {
            query: vars.attention_dense(&p / "query", h, qkv),
            key: vars.attention_dense(&p / "key", h, qkv),
            value: vars.attention_dense(&p / "value", h, qkv),
            output: vars.attention_dense(&p / "output", qkv, h),
            projection,
            heads: config.num_heads,
            dropout: config.attention_dropout,
        }
    }

    /// The attention output `[B, queries, H]` of the last `queries` tokens of `xs`
    /// `[B, T, H]`, whose keys and values come from all `T` tokens.
    pub(crate) fn forward(&self, xs: &Tensor, queries: i64, train: bool) -> Tensor {
        let (batch, steps, _) = xs.size3().expect("attention input is [B, T, H]");
        // [k, T] x [B, T, H] -> [B, k, H]
        let along_sequence = |kernel: &Tensor| kernel.narrow(0, 0, steps).tr().matmul(xs);
        let (keys, values) = match &self.projection {
            SequenceProjection::Shared(kernel) => {
                let rows = along_sequence(kernel);
                (self.key.forward(&rows), self.value.forward(&rows))
            }
            SequenceProjection::Separate { key: e, value: f } => (
                self.key.forward(&along_sequence(e)),
                self.value.forward(&along_sequence(f)),
            ),
        };
        let queries = self.query.forward(&xs.narrow(1, steps - queries, queries));
        let (_, tq, qkv) = queries.size3().expect("queries are [B, Tq, qkv_dim]");
        // [B, rows, qkv_dim] -> [B, heads, rows, head_dim]
        let split = |xs: &Tensor| {
            xs.reshape([batch, -1, self.heads, qkv / self.heads])
                .transpose(1, 2)
        };
        let contexts = Tensor::scaled_dot_product_attention(
            &split(&queries),
            &split(&keys),
            &split(&values),
            None::<Tensor>,
            if train { self.dropout } else { 0.0 },
            false,
            None,
            false,
        );
        self.output
            .forward(&contexts.transpose(1, 2).reshape([batch, tq, qkv]))
    }
}
