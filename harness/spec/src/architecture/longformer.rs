//! Longformer's hyper-parameters (HF's `LongformerConfig`): a BERT-sized RoBERTa encoder
//! whose self-attention is a sliding window, plus global attention on chosen tokens.

use serde::{Deserialize, Serialize};

use super::bert::BertConfig;
use super::encoder::EncoderConfigError;

/// `attention_window` as config.json gives it: one width for every layer, or one per layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttentionWindow {
    Every(i64),
    PerLayer(Vec<i64>),
}

/// The hyper-parameters of a Longformer, with HF's config.json field names and defaults
/// (those of BERT, which HF's `LongformerConfig` shares, plus the window and the padding
/// token that offsets RoBERTa's positions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LongformerConfig {
    #[serde(flatten)]
    pub encoder: BertConfig,
    /// Width of each layer's window, both sides together: a token sees the tokens at most
    /// `attention_window / 2` away.
    #[serde(default = "default_window")]
    pub attention_window: AttentionWindow,
    /// RoBERTa numbers positions from `pad_token_id + 1`.
    #[serde(default = "default_pad")]
    pub pad_token_id: i64,
}

fn default_window() -> AttentionWindow {
    AttentionWindow::Every(512)
}
fn default_pad() -> i64 {
    1
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LongformerConfigError {
    #[error(transparent)]
    Encoder(#[from] EncoderConfigError),
    #[error("attention_window lists {found} width(s) for {layers} layer(s): give one per layer, or a single number")]
    WindowCount { found: usize, layers: usize },
    #[error("attention_window {0} must be a positive even number (a token sees window/2 tokens each side)")]
    Window(i64),
    #[error("max_position_embeddings {max} leaves no positions after RoBERTa's offset pad_token_id + 1 = {offset}")]
    Positions { max: i64, offset: i64 },
}

impl LongformerConfig {
    /// The named sizes: `longformer-base-4096` (allenai: BERT base, windows of 512, 4,096
    /// positions after the offset) and `longformer-tiny` (gpt2-tiny's size, windows of 4,
    /// for tests).
    pub fn named(name: &str) -> Option<Self> {
        let (encoder, window, positions) = match name {
            "longformer-base-4096" => (BertConfig::sized(12, 768, 12, 3072), 512, 4098),
            "longformer-tiny" => (BertConfig::sized(3, 128, 4, 512), 4, 1026),
            _ => return None,
        };
        Some(Self {
            encoder: BertConfig {
                max_position_embeddings: positions,
                type_vocab_size: 1,
                layer_norm_eps: 1e-5,
                ..encoder
            },
            attention_window: AttentionWindow::Every(window),
            pad_token_id: default_pad(),
        })
    }

    pub const NAMES: [&'static str; 2] = ["longformer-base-4096", "longformer-tiny"];

    /// Layer `layer`'s window (both sides together).
    pub fn window(&self, layer: usize) -> i64 {
        match &self.attention_window {
            AttentionWindow::Every(w) => *w,
            AttentionWindow::PerLayer(ws) => ws[layer],
        }
    }

    /// The first position index: RoBERTa's `padding_idx + 1`.
    pub fn position_offset(&self) -> i64 {
        self.pad_token_id + 1
    }

    /// Longest sequence the position table covers, after the offset.
    pub fn max_positions(&self) -> i64 {
        self.encoder.max_position_embeddings - self.position_offset()
    }

    pub fn validate(&self) -> Result<(), LongformerConfigError> {
        self.checked_gelu().map(|_| ())
    }

    /// Validates, and gives libtorch's GELU variant for `hidden_act`.
    pub fn checked_gelu(&self) -> Result<&'static str, LongformerConfigError> {
        let gelu = self.encoder.checked_gelu()?;
        let layers = self.encoder.num_hidden_layers;
        if let AttentionWindow::PerLayer(ws) = &self.attention_window {
            if ws.len() != layers {
                return Err(LongformerConfigError::WindowCount {
                    found: ws.len(),
                    layers,
                });
            }
        }
        for layer in 0..layers {
            let w = self.window(layer);
            if w <= 0 || w % 2 != 0 {
                return Err(LongformerConfigError::Window(w));
            }
        }
        if self.max_positions() <= 0 {
            return Err(LongformerConfigError::Positions {
                max: self.encoder.max_position_embeddings,
                offset: self.position_offset(),
            });
        }
        Ok(gelu)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longformer_base_config_json_parses_with_hf_defaults() {
        // allenai/longformer-base-4096's config.json, abridged.
        let base: LongformerConfig = serde_json::from_str(
            r#"{"architectures": ["LongformerModel"], "attention_mode": "longformer",
                "attention_window": [512, 512, 512, 512, 512, 512, 512, 512, 512, 512, 512, 512],
                "bos_token_id": 0, "eos_token_id": 2, "hidden_size": 768,
                "intermediate_size": 3072, "layer_norm_eps": 1e-05,
                "max_position_embeddings": 4098, "model_type": "longformer",
                "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 1,
                "sep_token_id": 2, "type_vocab_size": 1, "vocab_size": 50265}"#,
        )
        .unwrap();
        let named = LongformerConfig::named("longformer-base-4096").unwrap();
        assert_eq!(base.encoder, named.encoder);
        assert_eq!(base.window(11), 512);
        assert_eq!(base.max_positions(), 4096);
        base.validate().unwrap();
        for name in LongformerConfig::NAMES {
            LongformerConfig::named(name).unwrap().validate().unwrap();
        }
        // It serialises back to one flat config.json object.
        let json = serde_json::to_value(&named).unwrap();
        assert_eq!(json["hidden_size"], 768);
        assert_eq!(json["attention_window"], 512);
    }

    #[test]
    fn bad_windows_say_why() {
        let bad = |window| {
            let mut c = LongformerConfig::named("longformer-tiny").unwrap();
            c.attention_window = window;
            c.validate().unwrap_err().to_string()
        };
        assert!(bad(AttentionWindow::Every(5)).contains("even"));
        assert!(bad(AttentionWindow::PerLayer(vec![4, 4])).contains("2 width(s) for 3 layer(s)"));
        assert!(bad(AttentionWindow::PerLayer(vec![4, 0, 4])).contains("attention_window 0"));
        let mut c = LongformerConfig::named("longformer-tiny").unwrap();
        c.encoder.max_position_embeddings = 2;
        assert!(c.validate().unwrap_err().to_string().contains("offset"));
    }
}
