//! ViT's hyper-parameters (HF's `ViTConfig` fields, plus our position table) and the named sizes.

use serde::{Deserialize, Serialize};

use super::encoder::{EncoderConfigError, EncoderFields};

/// The hyper-parameters of a ViT's blocks, with HF's config.json field names and defaults,
/// plus `fpt_positions` (ours: the length of our position table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VitConfig {
    pub hidden_size: i64,
    pub num_hidden_layers: usize,
    pub num_attention_heads: i64,
    pub intermediate_size: i64,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub hidden_dropout_prob: f64,
    #[serde(default)]
    pub attention_probs_dropout_prob: f64,
    #[serde(default = "default_activation")]
    pub hidden_act: String,
    #[serde(default = "default_init_range")]
    pub initializer_range: f64,
    #[serde(default = "default_qkv_bias")]
    pub qkv_bias: bool,
    /// Rows of our learned position table (not an HF field).
    #[serde(default = "default_fpt_positions")]
    pub fpt_positions: i64,
}

fn default_eps() -> f64 {
    1e-12
}
fn default_activation() -> String {
    "gelu".into()
}
fn default_init_range() -> f64 {
    0.02
}
fn default_qkv_bias() -> bool {
    true
}
fn default_fpt_positions() -> i64 {
    1024
}

impl VitConfig {
    /// The named sizes: `vit-base` (ViT-B/16: 12 layers, 768 wide, 12 heads, 3072).
    pub fn named(name: &str) -> Option<Self> {
        match name {
            "vit-base" => Some(Self {
                hidden_size: 768,
                num_hidden_layers: 12,
                num_attention_heads: 12,
                intermediate_size: 3072,
                layer_norm_eps: default_eps(),
                hidden_dropout_prob: 0.0,
                attention_probs_dropout_prob: 0.0,
                hidden_act: default_activation(),
                initializer_range: default_init_range(),
                qkv_bias: true,
                fpt_positions: default_fpt_positions(),
            }),
            _ => None,
        }
    }

    pub const NAMES: [&'static str; 1] = ["vit-base"];

    pub fn validate(&self) -> Result<(), EncoderConfigError> {
        self.checked_gelu().map(|_| ())
    }

    /// Validates, and gives libtorch's GELU variant for `hidden_act`.
    pub fn checked_gelu(&self) -> Result<&'static str, EncoderConfigError> {
        if !self.qkv_bias {
            return Err(EncoderConfigError::Unsupported {
                field: "qkv_bias",
                value: "false".into(),
                supported: "query/key/value with biases (qkv_bias = true)",
            });
        }
        EncoderFields {
            num_hidden_layers: self.num_hidden_layers,
            hidden_size: self.hidden_size,
            num_attention_heads: self.num_attention_heads,
            intermediate_size: self.intermediate_size,
            hidden_dropout_prob: self.hidden_dropout_prob,
            attention_probs_dropout_prob: self.attention_probs_dropout_prob,
            layer_norm_eps: self.layer_norm_eps,
            hidden_act: &self.hidden_act,
        }
        .validate(&[("fpt_positions", self.fpt_positions)])
    }
}
