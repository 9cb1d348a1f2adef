//! T5's encoder (t5-base, T5 v1.1) as Hugging Face's `T5EncoderModel` computes it, fed
//! `inputs_embeds`.
//!
//! Variables carry `T5EncoderModel`'s names (`encoder.block.{i}.layer.0.SelfAttention.q.weight`,
//! `encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight`,
//! `encoder.block.{i}.layer.1.DenseReluDense.wi.weight`, `encoder.final_layer_norm.weight`),
//! which T5ForConditionalGeneration checkpoints (t5-base's) share: such a file loads
//! unrenamed, its decoder, shared embedding and language-model head skipped. What sets T5
//! apart from BERT: a layer norm that only rescales (no mean, no bias), pre-norm residual
//! blocks, no biases anywhere, no `1/sqrt(d)` in attention, and no position table: a learned
//! bias per head and relative-distance bucket, made by the first block and added to every
//! block's attention scores.

use spec::architecture::t5::{T5Config, T5ConfigError, T5FeedForward};
use std::collections::BTreeMap;
use tch::nn::{self, Init};
use tch::{Kind, Tensor};

use super::layers::{last_tokens, normal, queries_per_layer, record_weights, Linear};
use spec::freeze::{ParamGroup, ParamRole};

use super::vars::{RolePath, Roles};
use super::Backbone;

/// HF's `T5LayerNorm`: `weight * x / sqrt(mean(x^2) + eps)`, computed in fp32.
#[derive(Debug)]
struct T5LayerNorm {
    weight: Tensor,
    eps: f64,
}

impl T5LayerNorm {
    fn new(p: RolePath, c: &T5Config) -> Self {
        let p = p.group(ParamGroup::LayerNorm);
        Self {
            weight: p.var("weight", &[c.d_model], Init::Const(c.initializer_factor)),
            eps: c.layer_norm_epsilon,
        }
    }

    fn forward(&self, xs: &Tensor) -> Tensor {
        let variance = xs
            .to_kind(Kind::Float)
            .square()
            .mean_dim(-1, true, Kind::Float);
        &self.weight * (xs * (variance + self.eps).rsqrt()).to_kind(self.weight.kind())
    }
}

/// The relative-position bucket of each (query, key) pair, bidirectional, as HF's
/// `T5Attention._relative_position_bucket`: half the buckets for keys after the query, half
/// for keys at or before it; in each half, the first half of the buckets are exact distances
/// and the rest grow logarithmically up to `max_distance`, beyond which all share the last.
/// `[tq, tk]` for the last `tq` of `tk` tokens.
fn relative_buckets(tq: i64, tk: i64, c: &T5Config, device: tch::Device) -> Tensor {
    let options = (Kind::Int64, device);
    let query = Tensor::arange_start(tk - tq, tk, options).unsqueeze(1);
    let key = Tensor::arange(tk, options).unsqueeze(0);
    let relative = key - query;
    let half = c.relative_attention_num_buckets / 2;
    let exact = half / 2;
    let direction = relative.gt(0).to_kind(Kind::Int64) * half;
    let distance = relative.abs();
    let spread =
        (half - exact) as f64 / (c.relative_attention_max_distance as f64 / exact as f64).ln();
    // log(0) is -inf for the exact distances; `where_self` keeps those exact.
    let logarithmic = ((distance.to_kind(Kind::Float) / exact as f64).log() * spread)
        .to_kind(Kind::Int64)
        .clamp_max(half - 1 - exact)
        + exact;
    direction + distance.where_self(&distance.lt(exact), &logarithmic)
}

/// HF's `T5Attention` in the encoder: no biases, no score scaling; the first block owns the
/// relative attention bias the others reuse.
#[derive(Debug)]
struct T5Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    /// `[num_buckets, num_heads]`, block 0 only.
    relative_attention_bias: Option<Tensor>,
    heads: i64,
    d_kv: i64,
}

impl T5Attention {
    fn new(p: RolePath, c: &T5Config, has_relative_bias: bool) -> Self {
        let f = c.initializer_factor;
        let (d_model, inner) = (c.d_model, c.inner_dim());
        let attention = p.group(ParamGroup::Attention);
        let linear = |name: &str, d_in, d_out, std| {
            Linear::without_bias(attention.sub(name), d_in, d_out, std)
        };
        // HF's init: queries also take 1/sqrt(d_kv), the scaling T5 leaves out of the scores.
        let (model_std, inner_std) = (f / (d_model as f64).sqrt(), f / (inner as f64).sqrt());
        let relative_attention_bias = has_relative_bias.then(|| {
            // Used by every block: a position parameter of no single block.
            p.sub("relative_attention_bias")
                .outside_blocks()
                .group(ParamGroup::Positions)
                .var(
                    "weight",
                    &[c.relative_attention_num_buckets, c.num_heads],
                    normal(model_std),
                )
        });
        Self {
            q: linear("q", d_model, inner, model_std / (c.d_kv as f64).sqrt()),
            k: linear("k", d_model, inner, model_std),
            v: linear("v", d_model, inner, model_std),
            o: linear("o", inner, d_model, inner_std),
            relative_attention_bias,
            heads: c.num_heads,
            d_kv: c.d_kv,
        }
    }

    /// The position bias `[1, heads, tq, tk]` of the last `tq` of `tk` tokens.
    fn position_bias(&self, tq: i64, tk: i64, c: &T5Config) -> Tensor {
        let table = self
            .relative_attention_bias
            .as_ref()
            .expect("the first block owns the relative attention bias");
        let buckets = relative_buckets(tq, tk, c, table.device());
        Tensor::embedding(table, &buckets, -1, false, false)
            .permute([2, 0, 1])
            .unsqueeze(0)
    }

    /// `[B, queries, d_model]` for the last `queries` tokens of `xs`, all of whose keys
    /// and values they see, with `bias` `[1, heads, queries, T]` added to the scores.
    fn forward(
        &self,
        xs: &Tensor,
        queries: i64,
        bias: &Tensor,
        dropout: f64,
        train: bool,
    ) -> Tensor {
        let (b, t, _) = xs.size3().expect("hidden states are [B, T, H]");
        let split = |ys: Tensor, tokens: i64| {
            ys.reshape([b, tokens, self.heads, self.d_kv])
                .transpose(1, 2)
        };
        let q = split(self.q.forward(&last_tokens(xs, queries)), queries);
        let (k, v) = (split(self.k.forward(xs), t), split(self.v.forward(xs), t));
        let scores = q.matmul(&k.transpose(-2, -1)) + bias;
        let weights = scores.softmax(-1, Kind::Float).to_kind(scores.kind());
        record_weights(|| weights.shallow_clone());
        let context = weights.dropout(dropout, train).matmul(&v);
        self.o.forward(
            &context
                .transpose(1, 2)
                .reshape([b, queries, self.heads * self.d_kv]),
        )
    }
}

/// HF's `T5DenseActDense` (`wi`, ReLU, `wo`) or `T5DenseGatedActDense` (`wi_0` through the
/// tanh GELU times `wi_1`, then `wo`), by `feed_forward_proj`.
#[derive(Debug)]
enum DenseReluDense {
    Relu {
        wi: Linear,
        wo: Linear,
    },
    GatedGelu {
        wi_0: Linear,
        wi_1: Linear,
        wo: Linear,
    },
}

impl DenseReluDense {
    fn new(p: RolePath, c: &T5Config, kind: T5FeedForward) -> Self {
        let p = p.group(ParamGroup::FeedForward);
        let f = c.initializer_factor;
        let into = |name: &str| {
            Linear::without_bias(
                p.sub(name),
                c.d_model,
                c.d_ff,
                f / (c.d_model as f64).sqrt(),
            )
        };
        let wo = Linear::without_bias(p.sub("wo"), c.d_ff, c.d_model, f / (c.d_ff as f64).sqrt());
        match kind {
            T5FeedForward::Relu => Self::Relu { wi: into("wi"), wo },
            T5FeedForward::GatedGelu => Self::GatedGelu {
                wi_0: into("wi_0"),
                wi_1: into("wi_1"),
                wo,
            },
        }
    }

    fn forward(&self, xs: &Tensor, dropout: f64, train: bool) -> Tensor {
        let (inner, wo) = match self {
            Self::Relu { wi, wo } => (wi.forward(xs).relu(), wo),
            Self::GatedGelu { wi_0, wi_1, wo } => {
                (wi_0.forward(xs).gelu("tanh") * wi_1.forward(xs), wo)
            }
        };
        wo.forward(&inner.dropout(dropout, train))
    }
}

/// HF's `T5Block` in the encoder: `layer.0` (`T5LayerSelfAttention`: norm, attention,
/// residual) and `layer.1` (`T5LayerFF`: norm, feed-forward, residual).
#[derive(Debug)]
struct T5Block {
    attention_norm: T5LayerNorm,
    attention: T5Attention,
    feed_forward_norm: T5LayerNorm,
    feed_forward: DenseReluDense,
}

impl T5Block {
    fn new(p: RolePath, index: usize, c: &T5Config, kind: T5FeedForward) -> Self {
        let (attention, feed_forward) = (p.sub("layer").sub(0), p.sub("layer").sub(1));
        Self {
            attention: T5Attention::new(attention.sub("SelfAttention"), c, index == 0),
            attention_norm: T5LayerNorm::new(attention.sub("layer_norm"), c),
            feed_forward_norm: T5LayerNorm::new(feed_forward.sub("layer_norm"), c),
            feed_forward: DenseReluDense::new(feed_forward.sub("DenseReluDense"), c, kind),
        }
    }
}

/// The encoder stack (HF's `T5Stack` with `is_decoder = False`) under `encoder.`.
#[derive(Debug)]
pub struct T5 {
    config: T5Config,
    blocks: Vec<T5Block>,
    final_layer_norm: T5LayerNorm,
    roles: BTreeMap<String, ParamRole>,
}

impl T5 {
    /// Creates the variables under `p` with HF's random init; load a checkpoint over them
    /// (see [`super::load_checkpoint`]) for pretrained weights.
    pub fn new(p: &nn::Path, config: T5Config) -> Result<Self, T5ConfigError> {
        let kind = config.feed_forward()?;
        let roles = Roles::default();
        let encoder = RolePath::new(p.clone(), ParamGroup::Other, &roles).sub("encoder");
        let blocks = (0..config.num_layers)
            .map(|i| T5Block::new(encoder.sub("block").block(i), i, &config, kind))
            .collect();
        let final_layer_norm = T5LayerNorm::new(encoder.sub("final_layer_norm"), &config);
        Ok(Self {
            config,
            blocks,
            final_layer_norm,
            roles: roles.into_map(),
        })
    }
}

impl Backbone for T5 {
    fn forward_last(&self, xs: &Tensor, tokens: i64, train: bool) -> Tensor {
        let c = &self.config;
        let p = c.dropout_rate;
        let t = xs.size()[1];
        let bias = self.blocks[0].attention.position_bias(t, t, c);
        let mut hs = xs.dropout(p, train);
        for (block, queries) in
            self.blocks
                .iter()
                .zip(queries_per_layer(self.blocks.len(), t, tokens))
        {
            let rows = bias.narrow(2, t - queries, queries);
            let normed = block.attention_norm.forward(&hs);
            let attended = block.attention.forward(&normed, queries, &rows, p, train);
            hs = last_tokens(&hs, queries) + attended.dropout(p, train);
            let normed = block.feed_forward_norm.forward(&hs);
            hs = &hs
                + block
                    .feed_forward
                    .forward(&normed, p, train)
                    .dropout(p, train);
        }
        self.final_layer_norm.forward(&hs).dropout(p, train)
    }

    fn hidden_size(&self) -> i64 {
        self.config.d_model
    }

    /// Relative positions: any length works.
    fn max_positions(&self) -> i64 {
        i64::MAX
    }

    fn num_layers(&self) -> usize {
        self.config.num_layers
    }

    fn role(&self, name: &str) -> Option<ParamRole> {
        self.roles.get(name).copied()
    }

    fn unused_checkpoint_tensor(&self, name: &str) -> bool {
        // The token embeddings (FPT feeds inputs_embeds; `encoder.embed_tokens` is HF's
        // tied copy of `shared`), and the decoder and language-model head of
        // T5ForConditionalGeneration checkpoints.
        name == "shared.weight"
            || name == "encoder.embed_tokens.weight"
            || name.starts_with("decoder.")
            || name.starts_with("lm_head.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backbone::test_support::{assert_forward_last_is_the_tail_of_forward, fpt_trained};
    use tch::{nn::VarStore, Device};

    fn tiny(feed_forward_proj: &str) -> T5Config {
        T5Config {
            relative_attention_num_buckets: 8,
            relative_attention_max_distance: 16,
            feed_forward_proj: feed_forward_proj.into(),
            ..T5Config::named("t5-tiny").unwrap()
        }
    }

    fn build(config: T5Config) -> (VarStore, T5) {
        let vs = VarStore::new(Device::Cpu);
        let t5 = T5::new(&vs.root(), config).unwrap();
        (vs, t5)
    }

    /// HF's buckets for 8 buckets, max distance 16 (as `T5Attention._relative_position_bucket`
    /// prints them): keys before the query (and the query itself) in 0..4, keys after it in
    /// 4..8; distances 0 and 1 exact, then 2 + floor(2 ln(d/2) / ln 8): 2-5 -> 2, 6 and
    /// beyond -> 3, the last.
    #[test]
    fn relative_buckets_follow_hf_for_both_directions_and_the_cap() {
        let c = tiny("relu");
        let buckets = relative_buckets(1, 20, &c, Device::Cpu);
        let row: Vec<i64> = Vec::try_from(buckets.get(0)).unwrap();
        // The query is the last of 20 tokens: key j is 19 - j before it.
        let before = |d: usize| row[19 - d];
        assert_eq!(
            (0..=19).map(before).collect::<Vec<_>>(),
            [0, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3]
        );
        let first = relative_buckets(20, 20, &c, Device::Cpu).get(0);
        let after: Vec<i64> = Vec::try_from(first).unwrap();
        assert_eq!(
            after,
            [0, 5, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7]
        );
    }

    #[test]
    fn the_last_tokens_alone_match_the_full_forward() {
        for ff in ["relu", "gated-gelu"] {
            let (_, t5) = build(tiny(ff));
            assert_forward_last_is_the_tail_of_forward(&t5);
        }
    }

    #[test]
    fn fpt_trains_the_relative_bias_and_the_layer_norms_only() {
        let (vs, t5) = build(tiny("relu"));
        let mut expected = vec![
            "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight".to_string(),
            "encoder.final_layer_norm.weight".to_string(),
        ];
        for i in 0..3 {
            for l in 0..2 {
                expected.push(format!("encoder.block.{i}.layer.{l}.layer_norm.weight"));
            }
        }
        expected.sort();
        assert_eq!(fpt_trained(&t5, &vs.variables()), expected);
        let bias = t5
            .role("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight")
            .unwrap();
        assert_eq!((bias.group, bias.layer), (ParamGroup::Positions, None));
        let wo = t5
            .role("encoder.block.2.layer.1.DenseReluDense.wo.weight")
            .unwrap();
        assert_eq!((wo.group, wo.layer), (ParamGroup::FeedForward, Some(2)));
        // Per block: q, k, v, o, wi, wo, two norms; plus the bias and the final norm.
        assert_eq!(vs.variables().len(), 3 * 8 + 2);
        let (gated, _) = build(tiny("gated-gelu"));
        assert_eq!(gated.variables().len(), 3 * 9 + 2);
    }

    #[test]
    fn t5_base_has_hf_encoder_parameter_count_without_the_embeddings() {
        let (vs, _) = build(T5Config::named("t5-base").unwrap());
        let total: i64 = vs.variables().values().map(|t| t.numel() as i64).sum();
        // Per block: 4 x 768^2 attention, 2 x 768 x 3072 feed-forward, 2 x 768 norms; plus
        // the 32 x 12 relative bias and the final norm. HF's T5EncoderModel for t5-base has
        // 109,628,544, the 32,128 x 768 shared embedding included.
        assert_eq!(
            total,
            12 * (4 * 768 * 768 + 2 * 768 * 3072 + 2 * 768) + 32 * 12 + 768
        );
        assert_eq!(total + 32_128 * 768, 109_628_544);
    }

    #[test]
    fn decoder_and_embeddings_are_known_unused() {
        let (_, t5) = build(tiny("relu"));
        for name in [
            "shared.weight",
            "encoder.embed_tokens.weight",
            "decoder.block.0.layer.1.EncDecAttention.q.weight",
            "lm_head.weight",
        ] {
            assert!(t5.unused_checkpoint_tensor(name), "{name}");
        }
        assert!(!t5.unused_checkpoint_tensor("encoder.final_layer_norm.weight"));
    }
}
