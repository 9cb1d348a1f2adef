//! GPT-2 as Hugging Face's `GPT2Model` computes it, fed `inputs_embeds`.
//!
//! Variables are named exactly as in HF's safetensors files (`wpe.weight`, `h.{i}.attn.c_attn.weight`,
//! ... `ln_f.bias`) and GPT-2's "Conv1D" weights keep their `[in, out]` layout, so a HF
//! checkpoint loads without any renaming. The token embedding table `wte` is not created:
//! FPT never looks tokens up in it.

use spec::architecture::gpt2::{Gpt2Config, Gpt2ConfigError};
use std::collections::BTreeMap;
use tch::nn::{self, Init};

use tch::Tensor;

use super::layers::{
    attend, in_weight_kind, last_tokens, normal, queries_per_layer, LayerNorm, Mask,
};
use spec::freeze::{ParamGroup, ParamRole};

use super::vars::{RolePath, Roles};
use super::Backbone;

/// HF's `Conv1D`: `y = x W + b` with `W` stored `[in, out]`.
#[derive(Debug)]
struct Conv1d {
    weight: Tensor,
    bias: Tensor,
}

impl Conv1d {
    fn new(p: RolePath, d_in: i64, d_out: i64, std: f64) -> Self {
        Self {
            weight: p.var("weight", &[d_in, d_out], normal(std)),
            bias: p.var("bias", &[d_out], Init::Const(0.0)),
        }
    }

    /// The layer restricted to output columns `start..start + len` (views, no copy).
    fn columns(&self, start: i64, len: i64) -> Conv1d {
        Conv1d {
            weight: self.weight.narrow(1, start, len),
            bias: self.bias.narrow(0, start, len),
        }
    }

    fn forward(&self, xs: &Tensor) -> Tensor {
        let mut shape = xs.size();
        let d_in = *shape.last().expect("input has a last dimension");
        *shape.last_mut().expect("non-empty") = self.weight.size()[1];
        in_weight_kind(xs, &self.weight, |xs| {
            self.bias
                .addmm(&xs.reshape([-1, d_in]), &self.weight)
                .reshape(shape.as_slice())
        })
    }
}

#[derive(Debug)]
struct Block {
    ln_1: LayerNorm,
    c_attn: Conv1d,
    attn_proj: Conv1d,
    ln_2: LayerNorm,
    c_fc: Conv1d,
    mlp_proj: Conv1d,
}

impl Block {
    fn new(p: RolePath, c: &Gpt2Config) -> Self {
        let (h, std) = (c.n_embd, c.initializer_range);
        // HF scales the residual projections by 1/sqrt(2 n_layer) at init (GPT-2 paper, 2.3).
        let proj_std = std / (2.0 * c.n_layer as f64).sqrt();
        let attn = p.sub("attn").group(ParamGroup::Attention);
        let mlp = p.sub("mlp").group(ParamGroup::FeedForward);
        Self {
            ln_1: LayerNorm::new(p.sub("ln_1"), h, c.layer_norm_epsilon),
            c_attn: Conv1d::new(attn.sub("c_attn"), h, 3 * h, std),
            attn_proj: Conv1d::new(attn.sub("c_proj"), h, h, proj_std),
            ln_2: LayerNorm::new(p.sub("ln_2"), h, c.layer_norm_epsilon),
            c_fc: Conv1d::new(mlp.sub("c_fc"), h, 4 * h, std),
            mlp_proj: Conv1d::new(mlp.sub("c_proj"), 4 * h, h, proj_std),
        }
    }
}

#[derive(Debug)]
pub struct Gpt2 {
    config: Gpt2Config,
    wpe: Tensor,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    gelu: &'static str,
    roles: BTreeMap<String, ParamRole>,
}

impl Gpt2 {
    /// Creates the variables under `p` with HF's random init; load a checkpoint over them
    /// for pretrained weights.
    pub fn new(p: &nn::Path, config: Gpt2Config) -> Result<Self, Gpt2ConfigError> {
        config.validate()?;
        let gelu = config.gelu_approximation()?;
        let std = config.initializer_range;
        let roles = Roles::default();
        let root = RolePath::new(p.clone(), ParamGroup::Other, &roles);
        let wpe = root.sub("wpe").group(ParamGroup::Positions).var(
            "weight",
            &[config.n_positions, config.n_embd],
            normal(std),
        );
        let blocks = (0..config.n_layer)
            .map(|i| Block::new(root.sub("h").block(i), &config))
            .collect();
        let ln_f = LayerNorm::new(root.sub("ln_f"), config.n_embd, config.layer_norm_epsilon);
        Ok(Self {
            config,
            wpe,
            blocks,
            ln_f,
            gelu,
            roles: roles.into_map(),
        })
    }

    pub fn config(&self) -> &Gpt2Config {
        &self.config
    }

    /// Attention's output `[B, queries, H]` for the last `queries` tokens of `xs`.
    fn attention(&self, block: &Block, xs: &Tensor, queries: i64, train: bool) -> Tensor {
        let h = self.config.n_embd;
        // c_attn packs q, k, v along the last dimension, in that order.
        let qkv = if queries == xs.size()[1] {
            block.c_attn.forward(xs).split(h, -1)
        } else {
            // Keys and values for every token, queries for the last ones only.
            let mut kv = block.c_attn.columns(h, 2 * h).forward(xs).split(h, -1);
            let q = block
                .c_attn
                .columns(0, h)
                .forward(&last_tokens(xs, queries));
            kv.insert(0, q);
            kv
        };
        let ys = attend(
            &qkv[0],
            &qkv[1],
            &qkv[2],
            self.config.n_head,
            self.config.attn_pdrop,
            Mask::Causal,
            train,
        );
        block.attn_proj.forward(&ys)
    }
}

impl Backbone for Gpt2 {
    fn forward_last(&self, xs: &Tensor, tokens: i64, train: bool) -> Tensor {
        let t = xs.size()[1];
        let c = &self.config;
        let mut hs = (xs + self.wpe.narrow(0, 0, t)).dropout(c.embd_pdrop, train);
        let blocks = queries_per_layer(self.blocks.len(), t, tokens);
        for (block, queries) in self.blocks.iter().zip(blocks) {
            let attn = self.attention(block, &block.ln_1.forward(&hs), queries, train);
            hs = last_tokens(&hs, queries) + attn.dropout(c.resid_pdrop, train);
            let mlp = block
                .mlp_proj
                .forward(&block.c_fc.forward(&block.ln_2.forward(&hs)).gelu(self.gelu));
            hs = &hs + mlp.dropout(c.resid_pdrop, train);
        }
        self.ln_f.forward(&last_tokens(&hs, tokens))
    }

    fn hidden_size(&self) -> i64 {
        self.config.n_embd
    }

    fn max_positions(&self) -> i64 {
        self.config.n_positions
    }

    fn num_layers(&self) -> usize {
        self.config.n_layer
    }

    fn role(&self, name: &str) -> Option<ParamRole> {
        self.roles.get(name).copied()
    }

    fn unused_checkpoint_tensor(&self, name: &str) -> bool {
        // wte: FPT feeds inputs_embeds. attn.bias / attn.masked_bias: HF's causal-mask buffers.
        name == "wte.weight" || name.ends_with(".attn.bias") || name.ends_with(".attn.masked_bias")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backbone::test_support::assert_forward_last_is_the_tail_of_forward;

    /// The causal case: the last block's queries see every earlier token's keys.
    #[test]
    fn the_last_tokens_alone_match_the_full_forward() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let gpt2 = Gpt2::new(&vs.root(), Gpt2Config::named("gpt2-tiny").unwrap()).unwrap();
        assert_forward_last_is_the_tail_of_forward(&gpt2);
    }
}
