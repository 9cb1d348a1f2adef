//! Which backbone a model name or Hugging Face folder means: each architecture's
//! hyper-parameters with Hugging Face's config.json names, validated. Building one is the
//! models' job.

pub mod bert;
pub mod encoder;
pub mod gpt2;
pub mod linformer;
pub mod lstm;
pub mod vit;

use std::path::Path;

use serde::de::DeserializeOwned;

pub use bert::BertConfig;
pub use gpt2::Gpt2Config;
pub use lstm::LstmConfig;
pub use vit::VitConfig;

/// A backbone's architecture and hyper-parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Architecture {
    Gpt2(Gpt2Config),
    Bert(BertConfig),
    Vit(VitConfig),
    /// An LN-LSTM (random init only: no pretrained LSTMs exist in the paper).
    Lstm(LstmConfig),
}

#[derive(Debug, thiserror::Error)]
pub enum ArchitectureError {
    #[error("unknown model '{0}'; built-in models: {known} (or pass --model-dir with a Hugging Face gpt2, bert or vit folder)", known = known_names().join(", "))]
    Unknown(String),
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid config.json: {reason}")]
    BadConfig { path: String, reason: String },
    #[error("{path}: model_type '{found}' is not supported; supported: gpt2, bert, vit")]
    Unsupported { path: String, found: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Every built-in model name, for messages and `--help`.
pub fn known_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = Gpt2Config::NAMES.to_vec();
    names.extend(BertConfig::NAMES);
    names.extend(VitConfig::NAMES);
    names.extend(lstm::PRESETS);
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
        LstmConfig::preset(name)
            .map(Architecture::Lstm)
            .map_err(|_| ArchitectureError::Unknown(name.into()))
    }

    /// The architecture a Hugging Face config.json describes (`model_type` gpt2, bert, vit).
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
            Architecture::Lstm(c) => c.validate().map_err(|e| invalid(&e)),
        }
    }

    /// Blocks in the backbone (transformer layers or stacked LSTM layers).
    pub fn num_layers(&self) -> usize {
        match self {
            Architecture::Gpt2(c) => c.n_layer,
            Architecture::Bert(c) => c.num_hidden_layers,
            Architecture::Vit(c) => c.num_hidden_layers,
            Architecture::Lstm(c) => c.num_layers,
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
            Architecture::Lstm(c) => c.num_layers = layers,
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
            Architecture::Lstm(c) => c.dropout = p,
        }
        self
    }

    /// A Hugging Face config.json for this architecture (`model_type` and the config's
    /// fields), which `from_hf_config` and transformers' `AutoConfig` both read; `None` for
    /// an LSTM, which has no Hugging Face class.
    pub fn hf_config(&self) -> Option<serde_json::Value> {
        let (model_type, mut fields) = match self {
            Architecture::Gpt2(c) => ("gpt2", serde_json::to_value(c)),
            Architecture::Bert(c) => ("bert", serde_json::to_value(c)),
            Architecture::Vit(c) => ("vit", serde_json::to_value(c)),
            Architecture::Lstm(_) => return None,
        };
        let fields = fields.as_mut().expect("configs serialise to JSON objects");
        fields["model_type"] = model_type.into();
        Some(fields.take())
    }

    /// Whether the backbone has attention layers (maps to inspect).
    pub fn has_attention(&self) -> bool {
        !matches!(self, Architecture::Lstm(_))
    }

    /// Whether pretrained weights can exist for this architecture.
    pub fn has_checkpoints(&self) -> bool {
        !matches!(self, Architecture::Lstm(_))
    }
}
