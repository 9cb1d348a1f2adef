//! GPT-2's hyper-parameters (HF's `GPT2Config` fields) and the named sizes.

use serde::{Deserialize, Serialize};

use super::encoder::gelu_approximation;

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
    pub fn gelu_approximation(&self) -> Result<&'static str, Gpt2ConfigError> {
        gelu_approximation(&self.activation_function)
            .ok_or_else(|| Gpt2ConfigError::Activation(self.activation_function.clone()))
    }
}
