//! The LN-LSTM's configuration, its validation and the slides' named presets.

use serde::{Deserialize, Serialize};

/// How the layer norms' gains and biases start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerNormInit {
    /// As the reference code does it: its `LayerNorm` first fills gain 1 / bias 0, then its
    /// `reset_parameters` overwrites both with `U(-1/sqrt(n), 1/sqrt(n))` (`n` the normalised
    /// width). The small random gains shrink every layer's output, which is a large part
    /// of why the slides' 12-layer LSTM without residuals collapses to chance: keep this
    /// to reproduce those rows.
    #[default]
    Reference,
    /// The usual gain 1, bias 0.
    OnesZeros,
}

/// An LN-LSTM stack on hidden states `[B, T, H]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LstmConfig {
    /// Stacked recurrent layers (the reference: 3).
    pub num_layers: usize,
    /// Width `H` of the input and hidden states (the reference: 768, GPT-2's width).
    pub hidden_size: i64,
    /// Dropout on each step's hidden state, applied inside the recurrence as the reference
    /// does (it feeds both the next step and the next layer).
    pub dropout: f64,
    /// Adds each layer's input to its output (the slides' "+ Residual Connections").
    pub residual: bool,
    /// Adds a learned position table, initialised to zeros as in the reference, to the
    /// input hidden states (the slides' "+ Positional Embeddings").
    pub learned_positions: bool,
    /// Rows of the position table; only read when `learned_positions` is set.
    pub max_positions: i64,
    pub layer_norm_init: LayerNormInit,
}

impl Default for LstmConfig {
    fn default() -> Self {
        Self {
            num_layers: 3,
            hidden_size: 768,
            dropout: 0.1,
            residual: false,
            learned_positions: false,
            max_positions: 1024,
            layer_norm_init: LayerNormInit::Reference,
        }
    }
}

/// A configuration that cannot build a model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LstmConfigError {
    #[error("LSTM num_layers is 0: use at least one layer (the reference uses 3)")]
    ZeroLayers,
    #[error(
        "LSTM hidden_size is {0}: use at least 2 (layer norm over a single feature is undefined)"
    )]
    Width(i64),
    #[error("LSTM dropout is {0}: use a probability in [0, 1) (the reference uses 0.1)")]
    Dropout(f64),
    #[error(
        "LSTM max_positions is {0} with learned_positions on: use at least 1 (the reference \
         table has 1024)"
    )]
    Positions(i64),
    #[error("unknown LSTM preset '{name}': known presets are {}", PRESETS.join(", "))]
    UnknownPreset { name: String },
}

/// Names of the presets, one per LSTM row of the slides.
pub const PRESETS: [&str; 6] = [
    "lstm",
    "lstm-128",
    "lstm-384",
    "lstm-12",
    "lstm-12-residual",
    "lstm-12-residual-positions",
];

impl LstmConfig {
    /// A slides row by name, at the reference width (768):
    /// - `lstm`: the reference's 3-layer LN-LSTM ("LSTM");
    /// - `lstm-128`: the same at gpt2-tiny's width (the smoke profile's stand-in);
    /// - `lstm-384`: the same at all-MiniLM-L6-v2's width (the quick profile's stand-in);
    /// - `lstm-12`: 12 layers ("12-Layer LSTM");
    /// - `lstm-12-residual`: + residual connections;
    /// - `lstm-12-residual-positions`: + learned positions ("LSTM*").
    pub fn preset(name: &str) -> Result<Self, LstmConfigError> {
        let base = Self::default();
        let twelve = Self {
            num_layers: 12,
            ..base.clone()
        };
        match name {
            "lstm" => Ok(base),
            "lstm-128" => Ok(Self {
                hidden_size: 128,
                ..base
            }),
            "lstm-384" => Ok(Self {
                hidden_size: 384,
                ..base
            }),
            "lstm-12" => Ok(twelve),
            "lstm-12-residual" => Ok(Self {
                residual: true,
                ..twelve
            }),
            "lstm-12-residual-positions" => Ok(Self {
                residual: true,
                learned_positions: true,
                ..twelve
            }),
            _ => Err(LstmConfigError::UnknownPreset { name: name.into() }),
        }
    }

    pub fn validate(&self) -> Result<(), LstmConfigError> {
        if self.num_layers == 0 {
            return Err(LstmConfigError::ZeroLayers);
        }
        if self.hidden_size < 2 {
            return Err(LstmConfigError::Width(self.hidden_size));
        }
        // Written so that NaN fails too.
        if !(self.dropout >= 0.0 && self.dropout < 1.0) {
            return Err(LstmConfigError::Dropout(self.dropout));
        }
        if self.learned_positions && self.max_positions < 1 {
            return Err(LstmConfigError::Positions(self.max_positions));
        }
        Ok(())
    }

    /// Parameters a model of this configuration holds: per layer two `[4H, H]` projections
    /// with biases, two layer norms over `4H` and one over `H`; plus the position table.
    pub fn parameter_count(&self) -> i64 {
        let h = self.hidden_size;
        let per_layer = 2 * (4 * h * h + 4 * h) + 2 * (2 * 4 * h) + 2 * h;
        let positions = if self.learned_positions {
            self.max_positions * h
        } else {
            0
        };
        per_layer * self.num_layers as i64 + positions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_and_distinct() {
        let configs: Vec<_> = PRESETS
            .iter()
            .map(|name| LstmConfig::preset(name).unwrap())
            .collect();
        for (name, c) in PRESETS.iter().zip(&configs) {
            c.validate().unwrap();
            let width = match *name {
                "lstm-128" => 128,
                "lstm-384" => 384,
                _ => 768,
            };
            assert_eq!(c.hidden_size, width, "{name}");
        }
        for (i, a) in configs.iter().enumerate() {
            for b in &configs[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let star = LstmConfig::preset("lstm-12-residual-positions").unwrap();
        assert!(star.residual && star.learned_positions && star.num_layers == 12);
    }

    #[test]
    fn parameter_counts_at_width_768() {
        let count = |name| LstmConfig::preset(name).unwrap().parameter_count();
        // 8 H^2 + 26 H per layer at H = 768.
        assert_eq!(count("lstm"), 3 * 4_738_560);
        assert_eq!(count("lstm-12"), 12 * 4_738_560);
        assert_eq!(count("lstm-12-residual"), 12 * 4_738_560);
        assert_eq!(
            count("lstm-12-residual-positions"),
            12 * 4_738_560 + 1024 * 768
        );
    }

    #[test]
    fn validation_names_the_problem() {
        let err = |c: LstmConfig| c.validate().unwrap_err().to_string();
        let ok = LstmConfig::default();
        assert!(err(LstmConfig {
            num_layers: 0,
            ..ok.clone()
        })
        .contains("num_layers is 0"));
        assert!(err(LstmConfig {
            hidden_size: 0,
            ..ok.clone()
        })
        .contains("hidden_size is 0"));
        for p in [1.0, -0.1, f64::NAN] {
            let msg = err(LstmConfig {
                dropout: p,
                ..ok.clone()
            });
            assert!(msg.contains("dropout") && msg.contains("[0, 1)"), "{msg}");
        }
        assert!(err(LstmConfig {
            learned_positions: true,
            max_positions: 0,
            ..ok.clone()
        })
        .contains("max_positions is 0"));
        // Without a position table its size does not matter.
        LstmConfig {
            max_positions: 0,
            ..ok
        }
        .validate()
        .unwrap();
        let msg = LstmConfig::preset("lstm-6").unwrap_err().to_string();
        assert!(
            msg.contains("'lstm-6'") && msg.contains("lstm-12-residual-positions"),
            "{msg}"
        );
    }

    #[test]
    fn deserialises_with_defaults_and_rejects_unknown_fields() {
        let c: LstmConfig =
            toml::from_str("num_layers = 12\nresidual = true\nlayer_norm_init = \"ones_zeros\"")
                .unwrap();
        assert_eq!(c.num_layers, 12);
        assert!(c.residual);
        assert_eq!(c.hidden_size, 768);
        assert_eq!(c.layer_norm_init, LayerNormInit::OnesZeros);
        let err = toml::from_str::<LstmConfig>("layers = 2").unwrap_err();
        assert!(err.to_string().contains("layers"), "{err}");
    }
}
