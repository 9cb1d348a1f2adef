//! ViT blocks (ViT-B/16) as the FPT reference code uses them: the transformer's encoder
//! blocks and final LayerNorm, with FPT's own input layer in front (not the patch
//! embedding) and a learned position table of our own, up to 1024 tokens.
//!
//! Naming: variables carry the unprefixed names of Hugging Face's `ViTModel`
//! (`encoder.layer.{i}.layernorm_before.weight`, `encoder.layer.{i}.attention.attention.query.weight`,
//! `encoder.layer.{i}.attention.output.dense.*`, `encoder.layer.{i}.layernorm_after.*`,
//! `encoder.layer.{i}.intermediate.dense.*`, `encoder.layer.{i}.output.dense.*`,
//! `layernorm.*`), as in checkpoints saved from `ViTModel` (google/vit-base-patch16-224-in21k).
//! Checkpoints saved from `ViTForImageClassification` carry a `vit.` prefix, which
//! [`checkpoint_name_map`] drops. The checkpoint's patch embedding, [CLS] token, 197-entry
//! position table, pooler and classifier are not used.
//!
//! Our position table is the variable `position_embeddings` `[fpt_positions, H]` (role
//! positions), HF-initialised (normal(0, initializer_range)) and never loaded from a
//! checkpoint ([`Backbone::in_checkpoint`] is false for it).
//!
//! Two forwards: [`Backbone::forward`] (training and FPT) adds positions `0..T` to the
//! inputs, applies dropout, then [`Vit::encode`]; `encode` is the blocks and final norm
//! alone, which is what the parity test compares against HF's
//! `model.layernorm(model.encoder(x).last_hidden_state)` and what `fpt inspect forward`
//! computes for vit.

use spec::architecture::encoder::EncoderConfigError;
use spec::architecture::VitConfig;
use std::collections::BTreeMap;
use tch::nn;

use tch::Tensor;

use super::layers::{last_tokens, normal, queries_per_layer, LayerNorm, Linear, SelfAttention};
use spec::freeze::{ParamGroup, ParamRole};

use super::vars::{RolePath, Roles};
use super::Backbone;

/// The name of our position table variable.
pub const POSITIONS: &str = "position_embeddings";

/// Maps a ViT checkpoint tensor name onto our variable names: drops the `vit.` prefix of
/// task-model checkpoints (`ViTForImageClassification`); `ViTModel` names pass unchanged.
pub fn checkpoint_name_map(name: &str) -> String {
    name.strip_prefix("vit.").unwrap_or(name).to_string()
}

/// HF's `ViTLayer`: pre-LayerNorm attention and MLP, each with a residual.
#[derive(Debug)]
struct Layer {
    layernorm_before: LayerNorm,
    attention: SelfAttention,
    attention_output: Linear,
    layernorm_after: LayerNorm,
    intermediate: Linear,
    output: Linear,
}

impl Layer {
    fn new(p: RolePath, c: &VitConfig) -> Self {
        let (h, std, eps) = (c.hidden_size, c.initializer_range, c.layer_norm_eps);
        let attention = p.sub("attention").group(ParamGroup::Attention);
        let feed_forward = p.group(ParamGroup::FeedForward);
        Self {
            layernorm_before: LayerNorm::new(p.sub("layernorm_before"), h, eps),
            attention: SelfAttention::new(
                attention.sub("attention"),
                h,
                c.num_attention_heads,
                std,
            ),
            attention_output: Linear::new(attention.sub("output").sub("dense"), h, h, std),
            layernorm_after: LayerNorm::new(p.sub("layernorm_after"), h, eps),
            intermediate: Linear::new(
                feed_forward.sub("intermediate").sub("dense"),
                h,
                c.intermediate_size,
                std,
            ),
            output: Linear::new(
                feed_forward.sub("output").sub("dense"),
                c.intermediate_size,
                h,
                std,
            ),
        }
    }
}

#[derive(Debug)]
pub struct Vit {
    config: VitConfig,
    position_embeddings: Tensor,
    layers: Vec<Layer>,
    layernorm: LayerNorm,
    gelu: &'static str,
    roles: BTreeMap<String, ParamRole>,
}

impl Vit {
    /// Creates the variables under `p` with HF's random init; load a checkpoint over them
    /// (see [`super::load_checkpoint`]) for pretrained blocks.
    pub fn new(p: &nn::Path, config: VitConfig) -> Result<Self, EncoderConfigError> {
        let gelu = config.checked_gelu()?;
        let roles = Roles::default();
        let root = RolePath::new(p.clone(), ParamGroup::Other, &roles);
        let position_embeddings = root.group(ParamGroup::Positions).var(
            POSITIONS,
            &[config.fpt_positions, config.hidden_size],
            normal(config.initializer_range),
        );
        let layers = (0..config.num_hidden_layers)
            .map(|i| Layer::new(root.sub("encoder").sub("layer").block(i), &config))
            .collect();
        let layernorm = LayerNorm::new(
            root.sub("layernorm"),
            config.hidden_size,
            config.layer_norm_eps,
        );
        Ok(Self {
            config,
            position_embeddings,
            layers,
            layernorm,
            gelu,
            roles: roles.into_map(),
        })
    }

    pub fn config(&self) -> &VitConfig {
        &self.config
    }

    /// The encoder blocks and final LayerNorm on `xs` `[B, T, H]`, no positions added:
    /// HF's `model.layernorm(model.encoder(xs).last_hidden_state)`.
    pub fn encode(&self, xs: &Tensor, train: bool) -> Tensor {
        self.encode_last(xs, xs.size()[1], train)
    }

    /// The last `tokens` of [`Self::encode`], the last layer run for those alone (see
    /// [`Backbone::forward_last`]).
    fn encode_last(&self, xs: &Tensor, tokens: i64, train: bool) -> Tensor {
        let c = &self.config;
        let p = c.hidden_dropout_prob;
        let mut hs = xs.shallow_clone();
        let layers = queries_per_layer(self.layers.len(), xs.size()[1], tokens);
        for (layer, queries) in self.layers.iter().zip(layers) {
            let context = layer.attention.forward(
                &layer.layernorm_before.forward(&hs),
                queries,
                c.attention_probs_dropout_prob,
                train,
            );
            hs = layer.attention_output.forward(&context).dropout(p, train)
                + last_tokens(&hs, queries);
            let inner = layer
                .intermediate
                .forward(&layer.layernorm_after.forward(&hs))
                .gelu(self.gelu);
            hs = layer.output.forward(&inner).dropout(p, train) + &hs;
        }
        self.layernorm.forward(&last_tokens(&hs, tokens))
    }
}

impl Backbone for Vit {
    /// Adds our positions `0..T`, dropout, then [`Vit::encode`].
    fn forward_last(&self, xs: &Tensor, tokens: i64, train: bool) -> Tensor {
        let t = xs.size()[1];
        let hs = (xs + self.position_embeddings.narrow(0, 0, t))
            .dropout(self.config.hidden_dropout_prob, train);
        self.encode_last(&hs, tokens, train)
    }

    fn hf_forward(&self, xs: &Tensor) -> Tensor {
        self.encode(xs, false)
    }

    fn hidden_size(&self) -> i64 {
        self.config.hidden_size
    }

    fn max_positions(&self) -> i64 {
        self.config.fpt_positions
    }

    fn num_layers(&self) -> usize {
        self.config.num_hidden_layers
    }

    fn role(&self, name: &str) -> Option<ParamRole> {
        self.roles.get(name).copied()
    }

    fn unused_checkpoint_tensor(&self, name: &str) -> bool {
        // Patch embedding, [CLS] token, mask token and HF's own 197-entry position table
        // (FPT has its own input layer and positions); pooler and classifier heads.
        name.starts_with("embeddings.")
            || name.starts_with("pooler.")
            || name.starts_with("classifier.")
    }

    fn checkpoint_name(&self, name: &str) -> String {
        checkpoint_name_map(name)
    }

    fn in_checkpoint(&self, name: &str) -> bool {
        name != POSITIONS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backbone::test_support::{
        assert_forward_last_is_the_tail_of_forward, fpt_trained, layer_norm_names,
    };
    use tch::{nn::VarStore, Device, Kind};

    fn tiny() -> VitConfig {
        VitConfig {
            hidden_size: 32,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            intermediate_size: 64,
            fpt_positions: 16,
            ..VitConfig::named("vit-base").unwrap()
        }
    }

    fn build(config: VitConfig) -> (VarStore, Vit) {
        let vs = VarStore::new(Device::Cpu);
        let vit = Vit::new(&vs.root(), config).unwrap();
        (vs, vit)
    }

    #[test]
    fn the_last_tokens_alone_match_the_full_forward() {
        let (_, vit) = build(tiny());
        assert_forward_last_is_the_tail_of_forward(&vit);
    }

    #[test]
    fn every_variable_has_a_role_and_fpt_trains_exactly_positions_and_layer_norms() {
        let (vs, vit) = build(tiny());
        let expected = layer_norm_names(
            &[POSITIONS, "layernorm.weight", "layernorm.bias"],
            2,
            &["layernorm_before", "layernorm_after"],
        );
        assert_eq!(fpt_trained(&vit, &vs.variables()), expected);
        for name in vs.variables().keys() {
            assert_eq!(vit.in_checkpoint(name), name != POSITIONS);
        }
        assert_eq!(vs.variables().len(), 3 + 2 * 16);
    }

    #[test]
    fn roles_by_name() {
        let (_, vit) = build(tiny());
        let role = |n: &str| vit.role(n).map(|r| (r.group, r.layer));
        use ParamGroup::*;
        assert_eq!(
            role("encoder.layer.1.attention.attention.value.weight"),
            Some((Attention, Some(1)))
        );
        assert_eq!(
            role("encoder.layer.0.attention.output.dense.bias"),
            Some((Attention, Some(0)))
        );
        assert_eq!(
            role("encoder.layer.0.layernorm_after.weight"),
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
        assert_eq!(role("encoder.layer.2.output.dense.bias"), None);
        assert_eq!(role("embeddings.position_embeddings"), None);
        assert_eq!(role("fpt_out.weight"), None);
    }

    #[test]
    fn checkpoint_names_and_unused_tensors() {
        assert_eq!(
            checkpoint_name_map("vit.encoder.layer.0.layernorm_before.weight"),
            "encoder.layer.0.layernorm_before.weight"
        );
        assert_eq!(checkpoint_name_map("layernorm.bias"), "layernorm.bias");
        assert_eq!(
            checkpoint_name_map("classifier.weight"),
            "classifier.weight"
        );
        let (_, vit) = build(tiny());
        for unused in [
            "embeddings.cls_token",
            "embeddings.position_embeddings",
            "embeddings.patch_embeddings.projection.weight",
            "pooler.dense.bias",
            "classifier.weight",
        ] {
            assert!(vit.unused_checkpoint_tensor(unused), "{unused}");
        }
        assert!(!vit.unused_checkpoint_tensor("layernorm.weight"));
    }

    #[test]
    fn configs_parse_with_hf_defaults_and_bad_ones_say_why() {
        // google/vit-base-patch16-224-in21k's config.json, abridged.
        let hf: VitConfig = serde_json::from_str(
            r#"{"architectures": ["ViTModel"], "hidden_size": 768, "num_hidden_layers": 12,
                "num_attention_heads": 12, "intermediate_size": 3072, "hidden_act": "gelu",
                "hidden_dropout_prob": 0.0, "image_size": 224, "patch_size": 16,
                "model_type": "vit", "qkv_bias": true}"#,
        )
        .unwrap();
        assert_eq!(hf, VitConfig::named("vit-base").unwrap());
        hf.validate().unwrap();
        let no_bias = VitConfig {
            qkv_bias: false,
            ..tiny()
        };
        assert!(no_bias
            .validate()
            .unwrap_err()
            .to_string()
            .contains("qkv_bias"));
        let odd = VitConfig {
            num_attention_heads: 5,
            ..tiny()
        };
        assert!(odd
            .validate()
            .unwrap_err()
            .to_string()
            .contains("divisible"));
    }

    #[test]
    fn vit_base_has_hf_block_parameter_count_plus_our_positions() {
        let (vs, _) = build(VitConfig::named("vit-base").unwrap());
        let total: i64 = vs.variables().values().map(|t| t.numel() as i64).sum();
        // HF ViTModel(ViTConfig()): encoder.* and layernorm.* hold 85,056,000 parameters.
        assert_eq!(total, 85_056_000 + 1024 * 768);
    }

    #[test]
    fn forward_adds_positions_then_encodes() {
        tch::manual_seed(2);
        let (_, vit) = build(tiny());
        let x = Tensor::randn([2, 5, 32], (Kind::Float, Device::Cpu));
        let with_positions = &x + vit.position_embeddings.narrow(0, 0, 5);
        let plain = vit.forward(&x, false);
        let diff = (&plain - vit.encode(&with_positions, false))
            .abs()
            .max()
            .double_value(&[]);
        let bound = crate::numerics::Arithmetic {
            depth: vit.num_layers(),
            widest_sum: 64, // tiny(): intermediate 64, hidden 32, 5 tokens
            magnitude: plain.abs().max().double_value(&[]),
        };
        assert!(diff <= bound.fp32_tolerance(), "{diff}, {bound:?}");
        assert!(!vit
            .forward(&x, false)
            .allclose(&vit.encode(&x, false), 1e-3, 1e-3, false));
    }
}
