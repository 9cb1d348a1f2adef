//! BERT's hyper-parameters (HF's `BertConfig` fields) and the named sizes.

use serde::{Deserialize, Serialize};

use super::encoder::{EncoderConfigError, EncoderFields};

/// The hyper-parameters of a BERT, with HF's config.json field names and defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    pub hidden_size: i64,
    pub num_hidden_layers: usize,
    pub num_attention_heads: i64,
    pub intermediate_size: i64,
    #[serde(default = "default_positions")]
    pub max_position_embeddings: i64,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: i64,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_dropout")]
    pub hidden_dropout_prob: f64,
    #[serde(default = "default_dropout")]
    pub attention_probs_dropout_prob: f64,
    #[serde(default = "default_activation")]
    pub hidden_act: String,
    #[serde(default = "default_init_range")]
    pub initializer_range: f64,
    #[serde(default = "default_position_type")]
    pub position_embedding_type: String,
}

fn default_positions() -> i64 {
    512
}
fn default_type_vocab() -> i64 {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_dropout() -> f64 {
    0.1
}
fn default_activation() -> String {
    "gelu".into()
}
fn default_init_range() -> f64 {
    0.02
}
fn default_position_type() -> String {
    "absolute".into()
}

impl BertConfig {
    /// A BERT of this size with Hugging Face's defaults for every other field.
    pub fn sized(
        num_hidden_layers: usize,
        hidden_size: i64,
        num_attention_heads: i64,
        intermediate_size: i64,
    ) -> Self {
        Self {
            hidden_size,
            num_hidden_layers,
            num_attention_heads,
            intermediate_size,
            max_position_embeddings: default_positions(),
            type_vocab_size: default_type_vocab(),
            layer_norm_eps: default_eps(),
            hidden_dropout_prob: default_dropout(),
            attention_probs_dropout_prob: default_dropout(),
            hidden_act: default_activation(),
            initializer_range: default_init_range(),
            position_embedding_type: default_position_type(),
        }
    }

    /// The named sizes: `bert-base-uncased` (12 layers, 768 wide, 12 heads) and `minilm-l6`
    /// (all-MiniLM-L6-v2: 6 layers, 384 wide, 12 heads, intermediate 1536).
    pub fn named(name: &str) -> Option<Self> {
        Some(match name {
            "bert-base-uncased" => Self::sized(12, 768, 12, 3072),
            "minilm-l6" => Self::sized(6, 384, 12, 1536),
            _ => return None,
        })
    }

    pub const NAMES: [&'static str; 2] = ["bert-base-uncased", "minilm-l6"];

    pub fn validate(&self) -> Result<(), EncoderConfigError> {
        self.checked_gelu().map(|_| ())
    }

    /// Validates, and gives libtorch's GELU variant for `hidden_act`.
    pub fn checked_gelu(&self) -> Result<&'static str, EncoderConfigError> {
        if self.position_embedding_type != "absolute" {
            return Err(EncoderConfigError::Unsupported {
                field: "position_embedding_type",
                value: self.position_embedding_type.clone(),
                supported: "absolute",
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
        .validate(&[
            ("max_position_embeddings", self.max_position_embeddings),
            ("type_vocab_size", self.type_vocab_size),
        ])
    }
}
