//! Which backbone a model name or Hugging Face folder means: each architecture's
//! hyper-parameters with Hugging Face's config.json names, validated. Building one is the
//! models' job.

pub mod bert;
pub mod encoder;
pub mod gpt2;
pub mod linformer;
pub mod longformer;
pub mod lstm;
pub mod t5;
pub mod vit;

use std::path::Path;

use serde::de::DeserializeOwned;

pub use bert::BertConfig;
pub use gpt2::Gpt2Config;
pub use linformer::LinformerConfig;
pub use longformer::LongformerConfig;
pub use lstm::LstmConfig;
pub use t5::T5Config;
pub use vit::VitConfig;

/// A backbone's architecture and hyper-parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Architecture {
    Gpt2(Gpt2Config),
    Bert(BertConfig),
    Vit(VitConfig),
    /// T5's encoder stack.
    T5(T5Config),
    Longformer(LongformerConfig),
    /// An LN-LSTM (random init only: no pretrained LSTMs exist in the paper).
    Lstm(LstmConfig),
    /// A Linformer (random init only: the slides train it from scratch).
    Linformer(LinformerConfig),
}

#[derive(Debug, thiserror::Error)]
pub enum ArchitectureError {
    #[error("unknown model '{0}'; built-in models: {known} (or pass --model-dir with a Hugging Face {supported} folder)", known = known_names().join(", "), supported = HF_MODEL_TYPES.join(", "))]
    Unknown(String),
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid config.json: {reason}")]
    BadConfig { path: String, reason: String },
    #[error("{path}: model_type '{found}' is not supported; supported: {}", HF_MODEL_TYPES.join(", "))]
    Unsupported { path: String, found: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The Hugging Face `model_type`s a config.json may name.
pub const HF_MODEL_TYPES: [&str; 5] = ["gpt2", "bert", "vit", "t5", "longformer"];

/// Every built-in model name, for messages and `--help`.
pub fn known_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = Gpt2Config::NAMES.to_vec();
    names.extend(BertConfig::NAMES);
    names.extend(VitConfig::NAMES);
    names.extend(T5Config::NAMES);
    names.extend(LongformerConfig::NAMES);
    names.extend(lstm::PRESETS);
    names.extend(LinformerConfig::NAMES);
    names
}

impl Architecture {
    pub fn named(name: &str) -> Result<Self, ArchitectureError> {
        if let Some(c) = Gpt2Config::named(name) {
            return Ok(Architecture::Gpt2(c));
        }
        if let Some(c) = BertConfig::named(name) {
            return Ok(Architecture::Bert(c));
        }
        if let Some(c) = VitConfig::named(name) {
            return Ok(Architecture::Vit(c));
        }
        if let Some(c) = T5Config::named(name) {
            return Ok(Architecture::T5(c));
        }
        if let Some(c) = LongformerConfig::named(name) {
            return Ok(Architecture::Longformer(c));
        }
        if let Some(c) = LinformerConfig::named(name) {
            return Ok(Architecture::Linformer(c));
        }
        LstmConfig::preset(name)
            .map(Architecture::Lstm)
            .map_err(|_| ArchitectureError::Unknown(name.into()))
    }

    /// The architecture a Hugging Face config.json describes (`model_type` one of [`HF_MODEL_TYPES`]).
    pub fn from_hf_config(path: &Path) -> Result<Self, ArchitectureError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ArchitectureError::Io {
            path: shown.clone(),
            source,
        })?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| ArchitectureError::BadConfig {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
        fn parse<T: DeserializeOwned>(
            value: serde_json::Value,
            path: &str,
        ) -> Result<T, ArchitectureError> {
            serde_json::from_value(value).map_err(|e| ArchitectureError::BadConfig {
                path: path.into(),
                reason: e.to_string(),
            })
        }
        let arch = match value.get("model_type").and_then(|v| v.as_str()) {
            Some("gpt2") => Architecture::Gpt2(parse(value, &shown)?),
            Some("bert") => Architecture::Bert(parse(value, &shown)?),
            Some("vit") => Architecture::Vit(parse(value, &shown)?),
            Some("t5") => Architecture::T5(parse(value, &shown)?),
            Some("longformer") => Architecture::Longformer(parse(value, &shown)?),
            other => {
                return Err(ArchitectureError::Unsupported {
                    path: shown,
                    found: other.unwrap_or("(none)").into(),
                })
            }
        };
        arch.validate()?;
        Ok(arch)
    }

    pub fn validate(&self) -> Result<(), ArchitectureError> {
        let invalid = |e: &dyn std::fmt::Display| ArchitectureError::Invalid(e.to_string());
        match self {
            Architecture::Gpt2(c) => c.validate().map_err(|e| invalid(&e)),
            Architecture::Bert(c) => c.validate().map_err(|e| invalid(&e)),
            Architecture::Vit(c) => c.validate().map_err(|e| invalid(&e)),
            Architecture::T5(c) => c.validate().map_err(|e| invalid(&e)),
            Architecture::Longformer(c) => c.validate().map_err(|e| invalid(&e)),
            Architecture::Lstm(c) => c.validate().map_err(|e| invalid(&e)),
            Architecture::Linformer(c) => c.validate().map_err(|e| invalid(&e)),
        }
    }

    /// Blocks in the backbone (transformer layers or stacked LSTM layers).
    pub fn num_layers(&self) -> usize {
        match self {
            Architecture::Gpt2(c) => c.n_layer,
            Architecture::Bert(c) => c.num_hidden_layers,
            Architecture::Vit(c) => c.num_hidden_layers,
            Architecture::T5(c) => c.num_layers,
            Architecture::Longformer(c) => c.encoder.num_hidden_layers,
            Architecture::Lstm(c) => c.num_layers,
            Architecture::Linformer(c) => c.num_layers,
        }
    }

    /// The same architecture keeping only its first `layers` blocks (the slides' depth
    /// tables): a pretrained checkpoint then loads into those blocks and the rest of it is
    /// unused.
    pub fn truncated(mut self, layers: usize) -> Result<Self, ArchitectureError> {
        let have = self.num_layers();
        if layers == 0 || layers > have {
            return Err(ArchitectureError::Invalid(format!(
                "cannot keep {layers} layer(s) of a {have}-layer model; use 1 to {have}"
            )));
        }
        match &mut self {
            Architecture::Gpt2(c) => c.n_layer = layers,
            Architecture::Bert(c) => c.num_hidden_layers = layers,
            Architecture::Vit(c) => c.num_hidden_layers = layers,
            Architecture::T5(c) => c.num_layers = layers,
            Architecture::Longformer(c) => {
                // A per-layer window list keeps the kept layers' widths.
                if let longformer::AttentionWindow::PerLayer(ws) = &mut c.attention_window {
                    ws.truncate(layers);
                }
                c.encoder.num_hidden_layers = layers
            }
            Architecture::Lstm(c) => c.num_layers = layers,
            Architecture::Linformer(c) => c.num_layers = layers,
        }
        Ok(self)
    }

    /// The same architecture with every dropout probability inside it (embeddings,
    /// attention, residual; an LSTM's between layers) set to `p`.
    pub fn with_dropout(mut self, p: f64) -> Self {
        match &mut self {
            Architecture::Gpt2(c) => (c.embd_pdrop, c.attn_pdrop, c.resid_pdrop) = (p, p, p),
            Architecture::Bert(c) => {
                (c.hidden_dropout_prob, c.attention_probs_dropout_prob) = (p, p)
            }
            Architecture::Vit(c) => {
                (c.hidden_dropout_prob, c.attention_probs_dropout_prob) = (p, p)
            }
            Architecture::T5(c) => c.dropout_rate = p,
            Architecture::Longformer(c) => {
                let c = &mut c.encoder;
                (c.hidden_dropout_prob, c.attention_probs_dropout_prob) = (p, p)
            }
            Architecture::Lstm(c) => c.dropout = p,
            Architecture::Linformer(c) => (c.dropout, c.attention_dropout) = (p, p),
        }
        self
    }

    /// A Hugging Face config.json for this architecture (`model_type` and the config's
    /// fields), which `from_hf_config` and transformers' `AutoConfig` both read; `None` for
    /// the baselines (LSTM, Linformer), which have no Hugging Face class.
    pub fn hf_config(&self) -> Option<serde_json::Value> {
        let (model_type, mut fields) = match self {
            Architecture::Gpt2(c) => ("gpt2", serde_json::to_value(c)),
            Architecture::Bert(c) => ("bert", serde_json::to_value(c)),
            Architecture::Vit(c) => ("vit", serde_json::to_value(c)),
            Architecture::T5(c) => ("t5", serde_json::to_value(c)),
            Architecture::Longformer(c) => ("longformer", serde_json::to_value(c)),
            Architecture::Lstm(_) | Architecture::Linformer(_) => return None,
        };
        let fields = fields.as_mut().expect("configs serialise to JSON objects");
        fields["model_type"] = model_type.into();
        Some(fields.take())
    }

    /// Whether the backbone has token-to-token attention maps (`[T, T]` per layer) to
    /// inspect: not the LSTM, nor the Linformer, whose queries see k projected rows.
    pub fn has_attention(&self) -> bool {
        !matches!(self, Architecture::Lstm(_) | Architecture::Linformer(_))
    }

    /// Whether pretrained weights can exist for this architecture.
    pub fn has_checkpoints(&self) -> bool {
        !matches!(self, Architecture::Lstm(_) | Architecture::Linformer(_))
    }
}
