//! GPT-2 as Hugging Face's `GPT2Model` computes it, fed `inputs_embeds`.
//!
//! Variables are named exactly as in HF's safetensors files (`wpe.weight`, `h.{i}.attn.c_attn.weight`,
//! ... `ln_f.bias`) and GPT-2's "Conv1D" weights keep their `[in, out]` layout, so a HF
//! checkpoint loads without any renaming. The token embedding table `wte` is not created:
//! FPT never looks tokens up in it.

use serde::{Deserialize, Serialize};
use tch::nn::{self, Init};
use tch::Tensor;

use super::layers::{
    attend, gelu_approximation, in_weight_kind, last_tokens, normal, queries_per_layer, LayerNorm,
};
use super::{Backbone, ParamGroup, ParamRole};

/// The hyper-parameters of a GPT-2, with HF's config.json field names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gpt2Config {
    pub n_layer: usize,
    pub n_head: i64,
    pub n_embd: i64,
    pub n_positions: i64,
    #[serde(default = "default_eps")]
    pub layer_norm_epsilon: f64,
    #[serde(default = "default_dropout")]
    pub embd_pdrop: f64,
    #[serde(default = "default_dropout")]
    pub attn_pdrop: f64,
    #[serde(default = "default_dropout")]
    pub resid_pdrop: f64,
    #[serde(default = "default_activation")]
    pub activation_function: String,
    #[serde(default = "default_init_range")]
    pub initializer_range: f64,
}

fn default_eps() -> f64 {
    1e-5
}
fn default_dropout() -> f64 {
    0.1
}
fn default_activation() -> String {
    "gelu_new".into()
}
fn default_init_range() -> f64 {
    0.02
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Gpt2ConfigError {
    #[error("n_embd {n_embd} is not divisible by n_head {n_head}")]
    HeadsDoNotDivide { n_embd: i64, n_head: i64 },
    #[error("{field} must be positive, got {value}")]
    NotPositive { field: &'static str, value: i64 },
    #[error("{field} = {value} is not a probability in [0, 1)")]
    BadDropout { field: &'static str, value: f64 },
    #[error("activation_function '{0}' is not supported (gelu_new, gelu_pytorch_tanh or gelu)")]
    Activation(String),
}

impl Gpt2Config {
    fn sized(n_layer: usize, n_embd: i64, n_head: i64) -> Self {
        Self {
            n_layer,
            n_head,
            n_embd,
            n_positions: 1024,
            layer_norm_epsilon: default_eps(),
            embd_pdrop: default_dropout(),
            attn_pdrop: default_dropout(),
            resid_pdrop: default_dropout(),
            activation_function: default_activation(),
            initializer_range: default_init_range(),
        }
    }

    /// The named sizes: OpenAI's four, `gpt2-tiny` (3 layers, 128 wide) for tests and the
    /// smoke profile, and `gpt2-3layer` (the slides' 3-layer transformers trained from scratch).
    pub fn named(name: &str) -> Option<Self> {
        Some(match name {
            "gpt2" => Self::sized(12, 768, 12),
            "gpt2-medium" => Self::sized(24, 1024, 16),
            "gpt2-large" => Self::sized(36, 1280, 20),
            "gpt2-xl" => Self::sized(48, 1600, 25),
            "gpt2-tiny" => Self::sized(3, 128, 4),
            // The slides' "fully trained" transformers: GPT-2 blocks, 3 layers, 768 wide;
            // train from scratch with --init random --freeze all.
            "gpt2-3layer" => Self::sized(3, 768, 12),
            _ => return None,
        })
    }

    pub const NAMES: [&'static str; 6] = [
        "gpt2",
        "gpt2-medium",
        "gpt2-large",
        "gpt2-xl",
        "gpt2-tiny",
        "gpt2-3layer",
    ];

    pub fn validate(&self) -> Result<(), Gpt2ConfigError> {
        for (field, value) in [
            ("n_layer", self.n_layer as i64),
            ("n_head", self.n_head),
            ("n_embd", self.n_embd),
            ("n_positions", self.n_positions),
        ] {
            if value <= 0 {
                return Err(Gpt2ConfigError::NotPositive { field, value });
            }
        }
        if self.n_embd % self.n_head != 0 {
            return Err(Gpt2ConfigError::HeadsDoNotDivide {
                n_embd: self.n_embd,
                n_head: self.n_head,
            });
        }
        for (field, value) in [
            ("embd_pdrop", self.embd_pdrop),
            ("attn_pdrop", self.attn_pdrop),
            ("resid_pdrop", self.resid_pdrop),
        ] {
            if !(0.0..1.0).contains(&value) {
                return Err(Gpt2ConfigError::BadDropout { field, value });
            }
        }
        self.gelu_approximation().map(|_| ())
    }

    /// libtorch's name for the GELU variant: GPT-2's `gelu_new` is the tanh approximation.
    fn gelu_approximation(&self) -> Result<&'static str, Gpt2ConfigError> {
        gelu_approximation(&self.activation_function)
            .ok_or_else(|| Gpt2ConfigError::Activation(self.activation_function.clone()))
    }
}

/// HF's `Conv1D`: `y = x W + b` with `W` stored `[in, out]`.
#[derive(Debug)]
struct Conv1d {
    weight: Tensor,
    bias: Tensor,
}

impl Conv1d {
    fn new(p: nn::Path, d_in: i64, d_out: i64, std: f64) -> Self {
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
    fn new(p: nn::Path, c: &Gpt2Config) -> Self {
        let (h, std) = (c.n_embd, c.initializer_range);
        // HF scales the residual projections by 1/sqrt(2 n_layer) at init (GPT-2 paper, 2.3).
        let proj_std = std / (2.0 * c.n_layer as f64).sqrt();
        let attn = &p / "attn";
        let mlp = &p / "mlp";
        Self {
            ln_1: LayerNorm::new(&p / "ln_1", h, c.layer_norm_epsilon),
            c_attn: Conv1d::new(&attn / "c_attn", h, 3 * h, std),
            attn_proj: Conv1d::new(&attn / "c_proj", h, h, proj_std),
            ln_2: LayerNorm::new(&p / "ln_2", h, c.layer_norm_epsilon),
            c_fc: Conv1d::new(&mlp / "c_fc", h, 4 * h, std),
            mlp_proj: Conv1d::new(&mlp / "c_proj", 4 * h, h, proj_std),
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
}

impl Gpt2 {
    /// Creates the variables under `p` with HF's random init; load a checkpoint over them
    /// for pretrained weights.
    pub fn new(p: &nn::Path, config: Gpt2Config) -> Result<Self, Gpt2ConfigError> {
        config.validate()?;
        let gelu = config.gelu_approximation()?;
        let std = config.initializer_range;
        let wpe = (p / "wpe").var("weight", &[config.n_positions, config.n_embd], normal(std));
        let blocks = (0..config.n_layer)
            .map(|i| Block::new(p / "h" / i, &config))
            .collect();
        let ln_f = LayerNorm::new(p / "ln_f", config.n_embd, config.layer_norm_epsilon);
        Ok(Self {
            config,
            wpe,
            blocks,
            ln_f,
            gelu,
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
            true,
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
        if name.starts_with("wpe.") {
            return Some(ParamRole {
                group: ParamGroup::Positions,
                layer: None,
            });
        }
        if name.starts_with("ln_f.") {
            return Some(ParamRole {
                group: ParamGroup::LayerNorm,
                layer: None,
            });
        }
        let rest = name.strip_prefix("h.")?;
        let (index, member) = rest.split_once('.')?;
        let layer: usize = index.parse().ok().filter(|&i| i < self.config.n_layer)?;
        let group = match member.split('.').next()? {
            "ln_1" | "ln_2" => ParamGroup::LayerNorm,
            "attn" => ParamGroup::Attention,
            "mlp" => ParamGroup::FeedForward,
            _ => return None,
        };
        Some(ParamRole {
            group,
            layer: Some(layer),
        })
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
