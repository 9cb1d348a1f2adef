//! BERT (bert-base-uncased, all-MiniLM-L6-v2, ...) as Hugging Face's `BertModel` computes it,
//! fed `inputs_embeds`.
//!
//! Variables carry HF's unprefixed names (`embeddings.position_embeddings.weight`,
//! `encoder.layer.{i}.attention.self.query.weight`, ... `encoder.layer.{i}.output.LayerNorm.bias`),
//! as in checkpoints saved from `BertModel` (all-MiniLM-L6-v2). Checkpoints saved from a
//! task model (bert-base-uncased: `bert.` prefix, LayerNorm `gamma`/`beta`) load through
//! [`checkpoint_name_map`]. The token embedding table `embeddings.word_embeddings` is not
//! created (FPT feeds `inputs_embeds`), nor the pooler; every input gets token type 0.

use spec::architecture::encoder::EncoderConfigError;
use spec::architecture::BertConfig;
use std::collections::BTreeMap;
use tch::nn;

use tch::Tensor;

use super::layers::{last_tokens, normal, queries_per_layer, LayerNorm, Linear, SelfAttention};
use spec::freeze::{ParamGroup, ParamRole};

use super::vars::{RolePath, Roles};
use super::Backbone;

/// Maps a BERT checkpoint tensor name onto our variable names: drops the `bert.` prefix of
/// task-model checkpoints (bert-base-uncased) and renames the old LayerNorm parameters
/// `gamma`/`beta` to `weight`/`bias`. Unprefixed modern names pass through unchanged.
pub fn checkpoint_name_map(name: &str) -> String {
    let name = name.strip_prefix("bert.").unwrap_or(name);
    if let Some(module) = name.strip_suffix(".LayerNorm.gamma") {
        format!("{module}.LayerNorm.weight")
    } else if let Some(module) = name.strip_suffix(".LayerNorm.beta") {
        format!("{module}.LayerNorm.bias")
    } else {
        name.to_string()
    }
}

/// HF's `BertEmbeddings` without the word embeddings (and `LongformerEmbeddings`, whose
/// positions start at RoBERTa's offset).
#[derive(Debug)]
pub(crate) struct Embeddings {
    position_embeddings: Tensor,
    token_type_embeddings: Tensor,
    layer_norm: LayerNorm,
    /// The first position's row: 0 for BERT, `pad_token_id + 1` for RoBERTa-style models.
    position_offset: i64,
}

impl Embeddings {
    pub(crate) fn new(p: RolePath, c: &BertConfig, position_offset: i64) -> Self {
        let std = normal(c.initializer_range);
        Self {
            position_embeddings: p
                .sub("position_embeddings")
                .group(ParamGroup::Positions)
                .var("weight", &[c.max_position_embeddings, c.hidden_size], std),
            // Frozen by every FPT policy, and fitting no other group.
            token_type_embeddings: p.sub("token_type_embeddings").group(ParamGroup::Other).var(
                "weight",
                &[c.type_vocab_size, c.hidden_size],
                std,
            ),
            layer_norm: LayerNorm::new(p.sub("LayerNorm"), c.hidden_size, c.layer_norm_eps),
            position_offset,
        }
    }

    pub(crate) fn forward(&self, xs: &Tensor, dropout: f64, train: bool) -> Tensor {
        let t = xs.size()[1];
        // Token type 0 everywhere, then positions from the offset, in HF's order of addition.
        let positions = self.position_embeddings.narrow(0, self.position_offset, t);
        let hs = xs + self.token_type_embeddings.get(0) + positions;
        self.layer_norm.forward(&hs).dropout(dropout, train)
    }
}

/// HF's `BertSelfOutput` and `BertOutput`: dense (with the role of `p`: attention or
/// feed-forward), dropout, residual, LayerNorm.
#[derive(Debug)]
struct Output {
    dense: Linear,
    layer_norm: LayerNorm,
}

impl Output {
    fn new(p: RolePath, d_in: i64, c: &BertConfig) -> Self {
        Self {
            dense: Linear::new(p.sub("dense"), d_in, c.hidden_size, c.initializer_range),
            layer_norm: LayerNorm::new(p.sub("LayerNorm"), c.hidden_size, c.layer_norm_eps),
        }
    }

    fn forward(&self, xs: &Tensor, residual: &Tensor, dropout: f64, train: bool) -> Tensor {
        self.layer_norm
            .forward(&(self.dense.forward(xs).dropout(dropout, train) + residual))
    }
}

/// HF's `BertLayer` (and `LongformerLayer`): `attention.self` (the self-attention module
/// `A`), `attention.output`, `intermediate`, `output`.
#[derive(Debug)]
pub(crate) struct Layer<A> {
    pub(crate) attention: A,
    attention_output: Output,
    intermediate: Linear,
    output: Output,
}

impl<A> Layer<A> {
    /// `attention` creates the self-attention module under the path it is given
    /// (`attention.self`, attention's role).
    pub(crate) fn new(p: RolePath, c: &BertConfig, attention: impl FnOnce(RolePath) -> A) -> Self {
        let (h, std) = (c.hidden_size, c.initializer_range);
        let attention_path = p.sub("attention").group(ParamGroup::Attention);
        let feed_forward = p.group(ParamGroup::FeedForward);
        Self {
            attention: attention(attention_path.sub("self")),
            attention_output: Output::new(attention_path.sub("output"), h, c),
            intermediate: Linear::new(
                feed_forward.sub("intermediate").sub("dense"),
                h,
                c.intermediate_size,
                std,
            ),
            output: Output::new(feed_forward.sub("output"), c.intermediate_size, c),
        }
    }

    /// Everything after the self-attention: its output projection and norm on `context`
    /// (with `residual`, the queried tokens' input), then the feed-forward.
    pub(crate) fn forward_after_attention(
        &self,
        context: &Tensor,
        residual: &Tensor,
        gelu: &str,
        dropout: f64,
        train: bool,
    ) -> Tensor {
        let attended = self
            .attention_output
            .forward(context, residual, dropout, train);
        let inner = self.intermediate.forward(&attended).gelu(gelu);
        self.output.forward(&inner, &attended, dropout, train)
    }
}

#[derive(Debug)]
pub struct Bert {
    config: BertConfig,
    embeddings: Embeddings,
    layers: Vec<Layer<SelfAttention>>,
    gelu: &'static str,
    roles: BTreeMap<String, ParamRole>,
}

impl Bert {
    /// Creates the variables under `p` with HF's random init; load a checkpoint over them
    /// (see [`super::load_checkpoint`]) for pretrained weights.
    pub fn new(p: &nn::Path, config: BertConfig) -> Result<Self, EncoderConfigError> {
        let gelu = config.checked_gelu()?;
        let roles = Roles::default();
        let root = RolePath::new(p.clone(), ParamGroup::Other, &roles);
        let embeddings = Embeddings::new(root.sub("embeddings"), &config, 0);
        let (h, heads, std) = (
            config.hidden_size,
            config.num_attention_heads,
            config.initializer_range,
        );
        let layers = (0..config.num_hidden_layers)
            .map(|i| {
                Layer::new(root.sub("encoder").sub("layer").block(i), &config, |p| {
                    SelfAttention::new(p, h, heads, std)
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

    pub fn config(&self) -> &BertConfig {
        &self.config
    }
}

impl Backbone for Bert {
    fn forward_last(&self, xs: &Tensor, tokens: i64, train: bool) -> Tensor {
        let c = &self.config;
        let p = c.hidden_dropout_prob;
        let mut hs = self.embeddings.forward(xs, p, train);
        let layers = queries_per_layer(self.layers.len(), xs.size()[1], tokens);
        for (layer, queries) in self.layers.iter().zip(layers) {
            let context =
                layer
                    .attention
                    .forward(&hs, queries, c.attention_probs_dropout_prob, train);
            let residual = last_tokens(&hs, queries);
            hs = layer.forward_after_attention(&context, &residual, self.gelu, p, train);
        }
        last_tokens(&hs, tokens)
    }

    fn hidden_size(&self) -> i64 {
        self.config.hidden_size
    }

    fn max_positions(&self) -> i64 {
        self.config.max_position_embeddings
    }

    fn num_layers(&self) -> usize {
        self.config.num_hidden_layers
    }

    fn role(&self, name: &str) -> Option<ParamRole> {
        self.roles.get(name).copied()
    }

    fn unused_checkpoint_tensor(&self, name: &str) -> bool {
        // word_embeddings: FPT feeds inputs_embeds. position_ids: HF's index buffer.
        // pooler, cls: the [CLS] pooler and pre-training heads.
        name == "embeddings.word_embeddings.weight"
            || name == "embeddings.position_ids"
            || name.starts_with("pooler.")
            || name.starts_with("cls.")
    }

    fn checkpoint_name(&self, name: &str) -> String {
        checkpoint_name_map(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backbone::test_support::{
        assert_forward_last_is_the_tail_of_forward, fpt_trained, layer_norm_names,
    };
    use spec::freeze::FreezePolicy;
    use tch::{nn::VarStore, Device, Kind};

    fn tiny() -> BertConfig {
        BertConfig {
            max_position_embeddings: 16,
            ..BertConfig::sized(2, 32, 4, 64)
        }
    }

    fn build(config: BertConfig) -> (VarStore, Bert) {
        let vs = VarStore::new(Device::Cpu);
        let bert = Bert::new(&vs.root(), config).unwrap();
        (vs, bert)
    }

    #[test]
    fn the_last_tokens_alone_match_the_full_forward() {
        let (_, bert) = build(tiny());
        assert_forward_last_is_the_tail_of_forward(&bert);
    }

    #[test]
    fn every_variable_has_a_role_and_fpt_trains_exactly_positions_and_layer_norms() {
        let (vs, bert) = build(tiny());
        let expected = layer_norm_names(
            &[
                "embeddings.position_embeddings.weight",
                "embeddings.LayerNorm.weight",
                "embeddings.LayerNorm.bias",
            ],
            2,
            &["attention.output.LayerNorm", "output.LayerNorm"],
        );
        assert_eq!(fpt_trained(&bert, &vs.variables()), expected);
        // Positions, token types, LayerNorm weight and bias; 16 tensors per layer.
        assert_eq!(vs.variables().len(), 4 + 2 * 16);
    }

    #[test]
    fn roles_by_name() {
        let (_, bert) = build(tiny());
        let role = |n: &str| bert.role(n).map(|r| (r.group, r.layer));
        use ParamGroup::*;
        assert_eq!(
            role("encoder.layer.1.attention.self.key.bias"),
            Some((Attention, Some(1)))
        );
        assert_eq!(
            role("encoder.layer.0.attention.output.dense.weight"),
            Some((Attention, Some(0)))
        );
        assert_eq!(
            role("encoder.layer.0.attention.output.LayerNorm.bias"),
            Some((LayerNorm, Some(0)))
        );
        assert_eq!(
            role("encoder.layer.1.intermediate.dense.weight"),
            Some((FeedForward, Some(1)))
        );
        assert_eq!(
            role("encoder.layer.1.output.dense.bias"),
            Some((FeedForward, Some(1)))
        );
        assert_eq!(
            role("embeddings.token_type_embeddings.weight"),
            Some((Other, None))
        );
        assert_eq!(role("encoder.layer.2.output.dense.bias"), None);
        assert_eq!(role("embeddings.word_embeddings.weight"), None);
        assert_eq!(role("pooler.dense.weight"), None);
        assert_eq!(role("fpt_in.weight"), None);
        // The whole-model policy trains the token types too; fpt keeps them frozen.
        let all: FreezePolicy = "all".parse().unwrap();
        let types = bert
            .role("embeddings.token_type_embeddings.weight")
            .unwrap();
        assert!(all.trains(types, 2));
        assert!(!FreezePolicy::fpt().trains(types, 2));
    }

    #[test]
    fn legacy_checkpoint_names_map_onto_ours() {
        for (file, ours) in [
            (
                "bert.embeddings.LayerNorm.gamma",
                "embeddings.LayerNorm.weight",
            ),
            (
                "bert.encoder.layer.11.output.LayerNorm.beta",
                "encoder.layer.11.output.LayerNorm.bias",
            ),
            (
                "bert.encoder.layer.0.attention.self.query.weight",
                "encoder.layer.0.attention.self.query.weight",
            ),
            (
                "encoder.layer.0.attention.output.LayerNorm.weight",
                "encoder.layer.0.attention.output.LayerNorm.weight",
            ),
            ("cls.predictions.bias", "cls.predictions.bias"),
        ] {
            assert_eq!(checkpoint_name_map(file), ours);
        }
        let (_, bert) = build(tiny());
        for unused in [
            "embeddings.word_embeddings.weight",
            "embeddings.position_ids",
            "pooler.dense.weight",
            "cls.predictions.transform.LayerNorm.weight",
        ] {
            assert!(bert.unused_checkpoint_tensor(unused), "{unused}");
        }
        assert!(!bert.unused_checkpoint_tensor("embeddings.position_embeddings.weight"));
    }

    #[test]
    fn configs_parse_with_hf_defaults_and_bad_ones_say_why() {
        // all-MiniLM-L6-v2's config.json, abridged.
        let minilm: BertConfig = serde_json::from_str(
            r#"{"architectures": ["BertModel"], "hidden_size": 384, "num_hidden_layers": 6,
                "num_attention_heads": 12, "intermediate_size": 1536, "model_type": "bert",
                "vocab_size": 30522}"#,
        )
        .unwrap();
        assert_eq!(minilm, BertConfig::named("minilm-l6").unwrap());
        for name in BertConfig::NAMES {
            BertConfig::named(name).unwrap().validate().unwrap();
        }
        let bad = |edit: fn(&mut BertConfig)| {
            let mut c = tiny();
            edit(&mut c);
            c.validate().unwrap_err().to_string()
        };
        assert!(bad(|c| c.num_attention_heads = 5).contains("not divisible"));
        assert!(bad(|c| c.hidden_act = "swish".into()).contains("'swish'"));
        assert!(bad(|c| c.hidden_dropout_prob = 1.0).contains("hidden_dropout_prob"));
        assert!(bad(|c| c.type_vocab_size = 0).contains("type_vocab_size"));
        assert!(bad(|c| c.layer_norm_eps = 0.0).contains("layer_norm_eps"));
        assert!(bad(|c| c.position_embedding_type = "relative_key".into()).contains("relative_key"));
    }

    #[test]
    fn minilm_has_hf_parameter_count_without_word_embeddings_and_pooler() {
        let (vs, _) = build(BertConfig::named("minilm-l6").unwrap());
        let total: i64 = vs.variables().values().map(|t| t.numel() as i64).sum();
        // HF BertModel(minilm config): 22,713,216 parameters, less the word embeddings
        // (30522 x 384) and the pooler (384 x 384 + 384).
        assert_eq!(total, 10_844_928);
    }

    #[test]
    fn dropout_acts_only_in_training() {
        tch::manual_seed(1);
        let (_, bert) = build(tiny());
        let x = Tensor::randn([2, 5, 32], (Kind::Float, Device::Cpu));
        let eval = || bert.forward(&x, false);
        assert!(eval().equal(&eval()));
        assert!(!bert.forward(&x, true).equal(&bert.forward(&x, true)));
        assert_eq!(eval().size(), [2, 5, 32]);
    }
}
