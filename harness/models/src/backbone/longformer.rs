//! Longformer (allenai/longformer-base-4096) as Hugging Face's `LongformerModel` computes it,
//! fed `inputs_embeds`.
//!
//! A RoBERTa-style BERT (positions from `pad_token_id + 1`) whose self-attention is local: a
//! token sees the tokens at most `attention_window / 2` away (the window per layer, from
//! config.json), plus global attention on chosen tokens: every token sees the global
//! tokens, and the global tokens, through their own `query_global`, `key_global`,
//! `value_global` projections, see every token. FPT puts global attention on the tokens
//! its head reads (the last `tokens` of [`Backbone::forward_last`]); [`Backbone::forward`]
//! and `fpt inspect forward` use local attention only, as HF does without a
//! `global_attention_mask`.
//!
//! HF pads a sequence to a multiple of the window, with padding tokens that are masked keys
//! and whose outputs it cuts off: they change no real token's output, so this computes the
//! window on the real tokens alone, with one dense masked attention (the parity fixture's
//! length is not a multiple of its windows, so the padding path is the one compared). The
//! memory is that of full attention, which is all the sequence lengths of these tasks need.
//!
//! Variables carry `LongformerModel`'s names (`embeddings.position_embeddings.weight`,
//! `encoder.layer.{i}.attention.self.query_global.weight`, ...); a `longformer.` prefix
//! (task-model checkpoints) is dropped on load.

use spec::architecture::longformer::{LongformerConfig, LongformerConfigError};
use std::collections::BTreeMap;
use tch::{nn, Kind, Tensor};

use super::bert::{Embeddings, Layer};
use super::layers::{attend, last_tokens, queries_per_layer, Linear, Mask};
use spec::freeze::{ParamGroup, ParamRole};

use super::vars::{RolePath, Roles};
use super::Backbone;

/// HF's `LongformerSelfAttention`: local `query`, `key`, `value` and the global ones.
#[derive(Debug)]
struct LongformerSelfAttention {
    query: Linear,
    key: Linear,
    value: Linear,
    query_global: Linear,
    key_global: Linear,
    value_global: Linear,
    heads: i64,
    /// How far a token sees each side: `attention_window / 2`.
    one_sided_window: i64,
}

impl LongformerSelfAttention {
    fn new(p: RolePath, c: &LongformerConfig, layer: usize) -> Self {
        let e = &c.encoder;
        let linear = |name: &str| {
            Linear::new(
                p.sub(name),
                e.hidden_size,
                e.hidden_size,
                e.initializer_range,
            )
        };
        Self {
            query: linear("query"),
            key: linear("key"),
            value: linear("value"),
            query_global: linear("query_global"),
            key_global: linear("key_global"),
            value_global: linear("value_global"),
            heads: e.num_attention_heads,
            one_sided_window: c.window(layer) / 2,
        }
    }

    /// Which keys the local queries `first..first + count` see among `t` tokens whose last
    /// `global` are global: those within the window, and every global one (HF takes the
    /// global keys out of the window and adds them back, so each is seen once). `[count, t]`,
    /// made on `device`.
    fn local_visibility(
        &self,
        first: i64,
        count: i64,
        t: i64,
        global: i64,
        device: tch::Device,
    ) -> Tensor {
        let options = (Kind::Int64, device);
        let query = Tensor::arange_start(first, first + count, options).unsqueeze(1);
        let key = Tensor::arange(t, options).unsqueeze(0);
        let in_window = (&key - query).abs().le(self.one_sided_window);
        in_window.logical_or(&key.ge(t - global))
    }

    /// Contexts `[B, queries, H]` of the last `queries` tokens of `xs` `[B, T, H]`, the last
    /// `global` of which have global attention.
    fn forward(&self, xs: &Tensor, queries: i64, global: i64, dropout: f64, train: bool) -> Tensor {
        let t = xs.size()[1];
        let global_queries = global.min(queries);
        let local_queries = queries - global_queries;
        let mut parts = Vec::with_capacity(2);
        if local_queries > 0 {
            let first = t - queries;
            let visible = self.local_visibility(first, local_queries, t, global, xs.device());
            let q = self.query.forward(&xs.narrow(1, first, local_queries));
            let (k, v) = (self.key.forward(xs), self.value.forward(xs));
            parts.push(attend(
                &q,
                &k,
                &v,
                self.heads,
                dropout,
                Mask::Visible(&visible),
                train,
            ));
        }
        if global_queries > 0 {
            let q = self.query_global.forward(&last_tokens(xs, global_queries));
            let (k, v) = (self.key_global.forward(xs), self.value_global.forward(xs));
            parts.push(attend(&q, &k, &v, self.heads, dropout, Mask::Full, train));
        }
        Tensor::cat(&parts, 1)
    }
}

#[derive(Debug)]
pub struct Longformer {
    config: LongformerConfig,
    embeddings: Embeddings,
    layers: Vec<Layer<LongformerSelfAttention>>,
    gelu: &'static str,
    roles: BTreeMap<String, ParamRole>,
}

impl Longformer {
    /// Creates the variables under `p` with HF's random init; load a checkpoint over them
    /// (see [`super::load_checkpoint`]) for pretrained weights.
    pub fn new(p: &nn::Path, config: LongformerConfig) -> Result<Self, LongformerConfigError> {
        let gelu = config.checked_gelu()?;
        let roles = Roles::default();
        let root = RolePath::new(p.clone(), ParamGroup::Other, &roles);
        let e = &config.encoder;
        let embeddings = Embeddings::new(root.sub("embeddings"), e, config.position_offset());
        let layers = (0..e.num_hidden_layers)
            .map(|i| {
                Layer::new(root.sub("encoder").sub("layer").block(i), e, |p| {
                    LongformerSelfAttention::new(p, &config, i)
                })
            })
            .collect();
        Ok(Self {
            config,
            embeddings,
            layers,
            gelu,
            roles: roles.into_map(),
        })
    }

    /// The last `tokens` hidden states, with global attention on the last `global` tokens.
    fn run(&self, xs: &Tensor, tokens: i64, global: i64, train: bool) -> Tensor {
        let c = &self.config.encoder;
        let p = c.hidden_dropout_prob;
        let mut hs = self.embeddings.forward(xs, p, train);
        let layers = queries_per_layer(self.layers.len(), xs.size()[1], tokens);
        for (layer, queries) in self.layers.iter().zip(layers) {
            let context = layer.attention.forward(
                &hs,
                queries,
                global,
                c.attention_probs_dropout_prob,
                train,
            );
            let residual = last_tokens(&hs, queries);
            hs = layer.forward_after_attention(&context, &residual, self.gelu, p, train);
        }
        hs
    }
}

impl Backbone for Longformer {
    /// Local attention only, as HF computes it without a global attention mask.
    fn forward(&self, xs: &Tensor, train: bool) -> Tensor {
        self.run(xs, xs.size()[1], 0, train)
    }

    /// With global attention on the `tokens` the head reads.
    fn forward_last(&self, xs: &Tensor, tokens: i64, train: bool) -> Tensor {
        self.run(xs, tokens, tokens, train)
    }

    fn hidden_size(&self) -> i64 {
        self.config.encoder.hidden_size
    }

    fn max_positions(&self) -> i64 {
        self.config.max_positions()
    }

    fn num_layers(&self) -> usize {
        self.config.encoder.num_hidden_layers
    }

    fn role(&self, name: &str) -> Option<ParamRole> {
        self.roles.get(name).copied()
    }

    fn unused_checkpoint_tensor(&self, name: &str) -> bool {
        // word_embeddings: FPT feeds inputs_embeds; position_ids: HF's index buffer; the
        // pooler and a masked-LM head.
        name == "embeddings.word_embeddings.weight"
            || name == "embeddings.position_ids"
            || name.starts_with("pooler.")
            || name.starts_with("lm_head.")
    }

    fn checkpoint_name(&self, name: &str) -> String {
        name.strip_prefix("longformer.").unwrap_or(name).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backbone::test_support::{fpt_trained, layer_norm_names};
    use crate::numerics::Arithmetic;
    use tch::{nn::VarStore, Device};

    fn build(config: LongformerConfig) -> (VarStore, Longformer) {
        let vs = VarStore::new(Device::Cpu);
        let model = Longformer::new(&vs.root(), config).unwrap();
        (vs, model)
    }

    fn tiny() -> LongformerConfig {
        LongformerConfig::named("longformer-tiny").unwrap()
    }

    /// The window: with windows of 4, token 5 of 9 sees tokens 3..=7 and the global last 2.
    #[test]
    fn local_queries_see_their_window_and_the_global_tokens() {
        let (_, model) = build(tiny());
        let attention = &model.layers[0].attention;
        let seen = attention.local_visibility(5, 1, 9, 2, Device::Cpu).get(0);
        let seen: Vec<bool> = Vec::try_from(seen).unwrap();
        assert_eq!(
            seen,
            [false, false, false, true, true, true, true, true, true]
        );
        let first: Vec<bool> =
            Vec::try_from(attention.local_visibility(0, 1, 9, 0, Device::Cpu).get(0)).unwrap();
        assert_eq!(
            first,
            [true, true, true, false, false, false, false, false, false]
        );
    }

    /// The tokens with global attention go through the global projections, so their outputs
    /// differ from the local-only forward's; with every token global, the outputs do not
    /// depend on how many of them are asked for.
    #[test]
    fn global_tokens_use_their_own_projections() {
        tch::manual_seed(4);
        let (_, model) = build(tiny());
        let xs = Tensor::randn([2, 9, 128], tch::kind::FLOAT_CPU);
        let local = tch::no_grad(|| model.forward(&xs, false));
        let global = tch::no_grad(|| model.forward_last(&xs, 2, false));
        assert_eq!(global.size(), [2, 2, 128]);
        let bound = Arithmetic {
            depth: 3,
            widest_sum: 512,
            magnitude: local.abs().max().double_value(&[]),
        }
        .fp32_tolerance();
        let diff = (last_tokens(&local, 2) - &global)
            .abs()
            .max()
            .double_value(&[]);
        assert!(diff > 100.0 * bound, "{diff}");
        let all = tch::no_grad(|| model.forward_last(&xs, 9, false));
        let three = tch::no_grad(|| model.run(&xs, 3, 9, false));
        let diff = (last_tokens(&all, 3) - three).abs().max().double_value(&[]);
        assert!(diff <= bound, "{diff} > {bound}");
    }

    #[test]
    fn fpt_trains_positions_and_layer_norms_and_global_projections_are_attention() {
        let (vs, model) = build(tiny());
        let expected = layer_norm_names(
            &[
                "embeddings.position_embeddings.weight",
                "embeddings.LayerNorm.weight",
                "embeddings.LayerNorm.bias",
            ],
            3,
            &["attention.output.LayerNorm", "output.LayerNorm"],
        );
        assert_eq!(fpt_trained(&model, &vs.variables()), expected);
        let role = model
            .role("encoder.layer.2.attention.self.value_global.bias")
            .unwrap();
        assert_eq!((role.group, role.layer), (ParamGroup::Attention, Some(2)));
        // Positions, token types, embedding norm; per layer 6 projections (12 tensors) and
        // the BERT layer's other 10.
        assert_eq!(vs.variables().len(), 4 + 3 * 22);
        assert_eq!(
            model.checkpoint_name("longformer.encoder.layer.0.output.dense.bias"),
            "encoder.layer.0.output.dense.bias"
        );
        assert!(model.unused_checkpoint_tensor("lm_head.dense.weight"));
        assert_eq!(model.max_positions(), 1024);
    }
}
