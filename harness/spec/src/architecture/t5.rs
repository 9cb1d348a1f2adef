//! T5's encoder hyper-parameters (HF's `T5Config` fields) and the named sizes. Only the
//! encoder is built: FPT feeds `inputs_embeds` through T5's encoder stack and reads its
//! last hidden states; the decoder's fields (`num_decoder_layers`, ...) are ignored.

use serde::{Deserialize, Serialize};

/// The hyper-parameters of a T5 encoder, with HF's config.json field names and defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct T5Config {
    pub d_model: i64,
    /// Width of one attention head; the attention's inner width is `num_heads * d_kv`,
    /// which need not equal `d_model`.
    pub d_kv: i64,
    pub d_ff: i64,
    /// Encoder blocks.
    pub num_layers: usize,
    pub num_heads: i64,
    #[serde(default = "default_buckets")]
    pub relative_attention_num_buckets: i64,
    #[serde(default = "default_max_distance")]
    pub relative_attention_max_distance: i64,
    #[serde(default = "default_dropout")]
    pub dropout_rate: f64,
    #[serde(default = "default_eps")]
    pub layer_norm_epsilon: f64,
    #[serde(default = "default_initializer_factor")]
    pub initializer_factor: f64,
    /// `relu` (t5-base) or `gated-gelu` (T5 v1.1); HF's `{gated-}ACT` syntax.
    #[serde(default = "default_feed_forward")]
    pub feed_forward_proj: String,
}

fn default_buckets() -> i64 {
    32
}
fn default_max_distance() -> i64 {
    128
}
fn default_dropout() -> f64 {
    0.1
}
fn default_eps() -> f64 {
    1e-6
}
fn default_initializer_factor() -> f64 {
    1.0
}
fn default_feed_forward() -> String {
    "relu".into()
}

/// T5's feed-forward block, from `feed_forward_proj`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum T5FeedForward {
    /// `wo(relu(wi x))` (t5-base).
    Relu,
    /// `wo(gelu_new(wi_0 x) * wi_1 x)` (T5 v1.1, flan-t5).
    GatedGelu,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum T5ConfigError {
    #[error("{field} must be positive, got {value}")]
    NotPositive { field: &'static str, value: i64 },
    #[error("dropout_rate = {0} is not a probability in [0, 1)")]
    Dropout(f64),
    #[error("layer_norm_epsilon must be positive, got {0}")]
    Eps(f64),
    #[error(
        "feed_forward_proj '{0}' is not supported: use relu (t5-base) or gated-gelu (T5 v1.1)"
    )]
    FeedForward(String),
    #[error("relative_attention_num_buckets = {0}: use an even number of at least 4 (half of the buckets per direction, half of those exact)")]
    Buckets(i64),
    #[error("relative_attention_max_distance = {max_distance} must exceed the exact buckets ({exact}); T5 uses 128")]
    MaxDistance { max_distance: i64, exact: i64 },
}

impl T5Config {
    fn sized(num_layers: usize, d_model: i64, num_heads: i64, d_ff: i64) -> Self {
        Self {
            d_model,
            d_kv: d_model / num_heads,
            d_ff,
            num_layers,
            num_heads,
            relative_attention_num_buckets: default_buckets(),
            relative_attention_max_distance: default_max_distance(),
            dropout_rate: default_dropout(),
            layer_norm_epsilon: default_eps(),
            initializer_factor: default_initializer_factor(),
            feed_forward_proj: default_feed_forward(),
        }
    }

    /// The named sizes: `t5-base` (the slides' Table 17: 12 encoder blocks, 768 wide, 12
    /// heads of 64, feed-forward 3072, ReLU) and `t5-tiny` (gpt2-tiny's size: 3 blocks, 128
    /// wide, 4 heads, for tests).
    pub fn named(name: &str) -> Option<Self> {
        Some(match name {
            "t5-base" => Self::sized(12, 768, 12, 3072),
            "t5-tiny" => Self::sized(3, 128, 4, 512),
            _ => return None,
        })
    }

    pub const NAMES: [&'static str; 2] = ["t5-base", "t5-tiny"];

    /// Width of the attention's queries, keys and values: `num_heads * d_kv`.
    pub fn inner_dim(&self) -> i64 {
        self.num_heads * self.d_kv
    }

    pub fn validate(&self) -> Result<(), T5ConfigError> {
        self.feed_forward().map(|_| ())
    }

    /// Validates, and gives the feed-forward block `feed_forward_proj` names.
    pub fn feed_forward(&self) -> Result<T5FeedForward, T5ConfigError> {
        for (field, value) in [
            ("d_model", self.d_model),
            ("d_kv", self.d_kv),
            ("d_ff", self.d_ff),
            ("num_layers", self.num_layers as i64),
            ("num_heads", self.num_heads),
        ] {
            if value <= 0 {
                return Err(T5ConfigError::NotPositive { field, value });
            }
        }
        let buckets = self.relative_attention_num_buckets;
        if buckets < 4 || buckets % 2 != 0 {
            return Err(T5ConfigError::Buckets(buckets));
        }
        let exact = buckets / 4;
        if self.relative_attention_max_distance <= exact {
            return Err(T5ConfigError::MaxDistance {
                max_distance: self.relative_attention_max_distance,
                exact,
            });
        }
        if !(0.0..1.0).contains(&self.dropout_rate) {
            return Err(T5ConfigError::Dropout(self.dropout_rate));
        }
        if self.layer_norm_epsilon.is_nan() || self.layer_norm_epsilon <= 0.0 {
            return Err(T5ConfigError::Eps(self.layer_norm_epsilon));
        }
        match self.feed_forward_proj.as_str() {
            "relu" => Ok(T5FeedForward::Relu),
            // HF spells T5 v1.1's `gated-gelu` with the tanh GELU (`gelu_new`).
            "gated-gelu" | "gated-gelu_new" => Ok(T5FeedForward::GatedGelu),
            other => Err(T5ConfigError::FeedForward(other.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t5_base_config_json_parses_with_its_defaults() {
        // t5-base's config.json, abridged (decoder fields ignored).
        let base: T5Config = serde_json::from_str(
            r#"{"architectures": ["T5ForConditionalGeneration"], "d_ff": 3072, "d_kv": 64,
                "d_model": 768, "decoder_start_token_id": 0, "dropout_rate": 0.1,
                "initializer_factor": 1.0, "layer_norm_epsilon": 1e-06, "model_type": "t5",
                "n_positions": 512, "num_heads": 12, "num_layers": 12,
                "relative_attention_num_buckets": 32, "vocab_size": 32128}"#,
        )
        .unwrap();
        assert_eq!(base, T5Config::named("t5-base").unwrap());
        assert_eq!(base.feed_forward(), Ok(T5FeedForward::Relu));
        assert_eq!(base.inner_dim(), 768);
        for name in T5Config::NAMES {
            T5Config::named(name).unwrap().validate().unwrap();
        }
    }

    #[test]
    fn bad_configs_say_which_field() {
        let bad = |edit: fn(&mut T5Config)| {
            let mut c = T5Config::named("t5-tiny").unwrap();
            edit(&mut c);
            c.validate().unwrap_err().to_string()
        };
        assert!(bad(|c| c.feed_forward_proj = "gated-silu".into()).contains("'gated-silu'"));
        assert!(bad(|c| c.d_kv = 0).contains("d_kv"));
        assert!(bad(|c| c.relative_attention_num_buckets = 7).contains("even"));
        assert!(bad(|c| c.relative_attention_max_distance = 2).contains("exact buckets"));
        assert!(bad(|c| c.dropout_rate = 1.0).contains("dropout_rate"));
        assert!(bad(|c| c.layer_norm_epsilon = 0.0).contains("layer_norm_epsilon"));
        let mut gated = T5Config::named("t5-tiny").unwrap();
        gated.feed_forward_proj = "gated-gelu".into();
        assert_eq!(gated.feed_forward(), Ok(T5FeedForward::GatedGelu));
    }
}
