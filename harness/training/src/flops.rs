//! Matmul FLOPs of a training step, counted from the shapes: what a step costs without a
//! clock (the benchmark rig reports them beside its timings, and every run records its
//! own, so the output-only speed-up can be given as counted work as well as measured time).

use models::model::FptModel;
use spec::architecture::Architecture;
use spec::freeze::ParamGroup;
use spec::task::{InputKind, TaskShape};

/// The sizes that decide a transformer backbone's matmul FLOPs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransformerDims {
    pub layers: f64,
    pub hidden: f64,
    /// Width of the feed-forward layer.
    pub ffn: f64,
}

impl TransformerDims {
    /// `None` for backbones that are not transformers (the LSTMs).
    pub fn of(architecture: &Architecture) -> Option<Self> {
        let dims = |layers: usize, hidden: i64, ffn: i64| TransformerDims {
            layers: layers as f64,
            hidden: hidden as f64,
            ffn: ffn as f64,
        };
        match architecture {
            Architecture::Gpt2(c) => Some(dims(c.n_layer, c.n_embd, 4 * c.n_embd)),
            Architecture::Bert(c) => Some(dims(
                c.num_hidden_layers,
                c.hidden_size,
                c.intermediate_size,
            )),
            Architecture::Vit(c) => Some(dims(
                c.num_hidden_layers,
                c.hidden_size,
                c.intermediate_size,
            )),
            // The gated variant's second input matrix and the attention's own inner width
            // (num_heads * d_kv, d_model in the named sizes) are not counted.
            Architecture::T5(c) => Some(dims(c.num_layers, c.d_model, c.d_ff)),
            // Global attention's own query/key/value projections, applied to the few tokens
            // the head reads (and keys/values of every token), are not counted.
            Architecture::Longformer(c) => Some(dims(
                c.encoder.num_hidden_layers,
                c.encoder.hidden_size,
                c.encoder.intermediate_size,
            )),
            // Attention over the k projected rows and the sequence projections themselves
            // are not counted, nor the attention's narrower inner width.
            Architecture::Linformer(c) => Some(dims(c.num_layers, c.hidden_size, c.mlp_dim)),
            Architecture::Lstm(_) => None,
        }
    }
}

/// Which parameters train, as shares of each group, for counting gradient FLOPs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainedShares {
    pub input: f64,
    pub attention: f64,
    pub feed_forward: f64,
    pub output: f64,
    /// Whether anything before the output layer trains, so that gradients flow back
    /// through the whole backbone.
    pub backbone_backward: bool,
}

impl TrainedShares {
    pub fn of(model: &FptModel) -> Self {
        let counts = model.counts();
        let share = |group| {
            counts.get(&group).map_or(0.0, |c| {
                if c.total == 0 {
                    0.0
                } else {
                    c.trainable as f64 / c.total as f64
                }
            })
        };
        Self {
            input: share(ParamGroup::Input),
            attention: share(ParamGroup::Attention),
            feed_forward: share(ParamGroup::FeedForward),
            output: share(ParamGroup::Output),
            backbone_backward: counts
                .iter()
                .any(|(group, c)| *group != ParamGroup::Output && c.trainable > 0),
        }
    }
}

/// Matmul FLOPs of one training step (forward and backward; a multiply-add counts 2) on
/// `examples` examples, with H hidden, F feed-forward width, T tokens, L blocks, D input
/// features, C outputs per head token. Keys and values are computed for every token of
/// every block; queries, attention, its output projection and the feed-forward for every
/// token of the first L - 1 blocks and only the head tokens of the last (see
/// `Backbone::forward_last`). Per token:
/// - forward: 4H² for keys and values; 4H² + 4HF + 4TH per query token (query and output
///   projections, two feed-forward layers, attention scores and mixing counted in full even
///   where causal); 2DH for a Linear input layer; 2HC per head token for the output layer;
/// - backward, when anything before the head trains: the input gradients of the same
///   (4H² for keys and values, 4H² + 4HF + 8TH per query token), plus the weight gradients
///   of the trained shares a (attention) and f (feed-forward): 4H²·a for keys and values,
///   4H²·a + 4HF·f per query token; 2DH for a trained input layer; the output layer's
///   weight (and input) gradients 2HC (each) per head token.
///
/// Element-wise work (LayerNorm, GELU, softmax, dropout, Adam) is not counted.
pub fn step_flops(
    dims: TransformerDims,
    shape: TaskShape,
    examples: i64,
    trained: TrainedShares,
) -> f64 {
    let TransformerDims {
        layers,
        hidden,
        ffn,
    } = dims;
    let t = shape.seq_len as f64;
    let n = examples as f64;
    let tokens = n * t;
    // Token rows through key/value projections, and through everything else.
    let kv_rows = tokens * layers;
    let query_rows = n * ((layers - 1.0) * t + shape.head_tokens as f64);
    let (h2, hf) = (hidden * hidden, hidden * ffn);
    let input = match shape.input {
        InputKind::Features { dim } => 2.0 * dim as f64 * hidden,
        InputKind::Tokens { .. } => 0.0,
    };
    let head = head_flops(hidden, shape, examples);
    let forward = kv_rows * 4.0 * h2
        + query_rows * (4.0 * h2 + 4.0 * hf + 4.0 * t * hidden)
        + tokens * input
        + head;
    let mut backward = head * trained.output;
    if trained.backbone_backward {
        let (a, f) = (trained.attention, trained.feed_forward);
        backward += head
            + kv_rows * (4.0 * h2 + 4.0 * h2 * a)
            + query_rows * (4.0 * h2 + 4.0 * hf + 8.0 * t * hidden + 4.0 * h2 * a + 4.0 * hf * f)
            + tokens * input * trained.input;
    }
    forward + backward
}

/// Matmul FLOPs of one step of `model` (built from `architecture`) on `examples` examples;
/// with `cached`, a step of the head alone on cached features (its forward and weight
/// gradients: 4HC per head token). `None` for backbones that are not transformers.
pub fn step_flops_of(
    architecture: &Architecture,
    shape: TaskShape,
    examples: i64,
    model: &FptModel,
    cached: bool,
) -> Option<f64> {
    let dims = TransformerDims::of(architecture)?;
    Some(match cached {
        true => head_flops(dims.hidden, shape, examples) * 2.0,
        false => step_flops(dims, shape, examples, TrainedShares::of(model)),
    })
}

/// The output layer's forward matmul FLOPs on `examples` examples: 2HC per head token.
fn head_flops(hidden: f64, shape: TaskShape, examples: i64) -> f64 {
    examples as f64 * shape.head_tokens as f64 * 2.0 * hidden * shape.outputs_per_token() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flops_count_weight_gradients_only_for_trained_weights() {
        let dims = TransformerDims {
            layers: 12.0,
            hidden: 768.0,
            ffn: 3072.0,
        };
        let shape = TaskShape::classification(InputKind::Features { dim: 16 }, 49, 10);
        let fpt = TrainedShares {
            input: 1.0,
            attention: 0.0,
            feed_forward: 0.0,
            output: 1.0,
            backbone_backward: true,
        };
        let frozen = step_flops(dims, shape, 16, fpt);
        let full = step_flops(
            dims,
            shape,
            16,
            TrainedShares {
                attention: 1.0,
                feed_forward: 1.0,
                ..fpt
            },
        );
        // GPT-2 on MNIST, batch 16: 252.2 GFLOP frozen (about twice the forward; 270.6 if
        // the last block ran on all 49 tokens), and the projections' forward once more when
        // every weight trains: keys and values on every row, the rest on 11 x 49 + 1 rows.
        assert!((frozen / 1e9 - 252.18).abs() < 0.01, "{frozen}");
        let (h2, hf) = (768.0 * 768.0, 768.0 * 3072.0);
        let projections =
            16.0 * 49.0 * 12.0 * 4.0 * h2 + 16.0 * (11.0 * 49.0 + 1.0) * (4.0 * h2 + 4.0 * hf);
        assert!((full - frozen - projections).abs() < 1.0);
    }
}
