//! What BERT's and ViT's configs share, checked one way, and HF's GELU names.

/// libtorch's `approximate` argument for one of HF's GELU names: `gelu` is the exact (erf)
/// form; `gelu_new`, `gelu_pytorch_tanh` and `gelu_fast` are the tanh approximation.
pub fn gelu_approximation(hf_name: &str) -> Option<&'static str> {
    match hf_name {
        "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Some("tanh"),
        "gelu" => Some("none"),
        _ => None,
    }
}

/// Why a BERT or ViT config cannot be built.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EncoderConfigError {
    #[error(
        "hidden_size {hidden_size} is not divisible by num_attention_heads {num_attention_heads}"
    )]
    HeadsDoNotDivide {
        hidden_size: i64,
        num_attention_heads: i64,
    },
    #[error("{field} must be positive, got {value}")]
    NotPositive { field: &'static str, value: i64 },
    #[error("{field} = {value} is not a probability in [0, 1)")]
    BadDropout { field: &'static str, value: f64 },
    #[error("layer_norm_eps must be positive, got {0}")]
    Eps(f64),
    #[error("hidden_act '{0}' is not supported (gelu, gelu_new or gelu_pytorch_tanh)")]
    Activation(String),
    #[error("{field} = {value} is not supported; this harness implements {supported}")]
    Unsupported {
        field: &'static str,
        value: String,
        supported: &'static str,
    },
}

/// The fields BERT and ViT configs share, checked the same way.
pub struct EncoderFields<'a> {
    pub num_hidden_layers: usize,
    pub hidden_size: i64,
    pub num_attention_heads: i64,
    pub intermediate_size: i64,
    pub hidden_dropout_prob: f64,
    pub attention_probs_dropout_prob: f64,
    pub layer_norm_eps: f64,
    pub hidden_act: &'a str,
}

impl EncoderFields<'_> {
    /// Checks the shared fields and `positive` (further sizes that must be > 0); returns
    /// libtorch's GELU variant for `hidden_act`.
    pub fn validate(
        &self,
        positive: &[(&'static str, i64)],
    ) -> Result<&'static str, EncoderConfigError> {
        let shared = [
            ("num_hidden_layers", self.num_hidden_layers as i64),
            ("hidden_size", self.hidden_size),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
        ];
        for &(field, value) in shared.iter().chain(positive) {
            if value <= 0 {
                return Err(EncoderConfigError::NotPositive { field, value });
            }
        }
        if self.hidden_size % self.num_attention_heads != 0 {
            return Err(EncoderConfigError::HeadsDoNotDivide {
                hidden_size: self.hidden_size,
                num_attention_heads: self.num_attention_heads,
            });
        }
        for (field, value) in [
            ("hidden_dropout_prob", self.hidden_dropout_prob),
            (
                "attention_probs_dropout_prob",
                self.attention_probs_dropout_prob,
            ),
        ] {
            if !(0.0..1.0).contains(&value) {
                return Err(EncoderConfigError::BadDropout { field, value });
            }
        }
        if self.layer_norm_eps.is_nan() || self.layer_norm_eps <= 0.0 {
            return Err(EncoderConfigError::Eps(self.layer_norm_eps));
        }
        gelu_approximation(self.hidden_act)
            .ok_or_else(|| EncoderConfigError::Activation(self.hidden_act.into()))
    }
}
