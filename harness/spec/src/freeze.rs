//! Which parameter groups train: the paper's presets, or a custom list.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a parameter does, in the paper's vocabulary of what to fine-tune.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamGroup {
    /// The FPT input layer (ours, not the backbone's).
    Input,
    /// Learned position embeddings.
    Positions,
    LayerNorm,
    Attention,
    FeedForward,
    /// An LSTM's input-to-hidden and hidden-to-hidden projections.
    Recurrent,
    /// Backbone parameters the FPT policies keep frozen and that fit no other group
    /// (BERT's token-type embeddings).
    Other,
    /// The FPT output layer (ours, not the backbone's).
    Output,
}

impl ParamGroup {
    pub const ALL: [ParamGroup; 8] = [
        ParamGroup::Input,
        ParamGroup::Positions,
        ParamGroup::LayerNorm,
        ParamGroup::Attention,
        ParamGroup::FeedForward,
        ParamGroup::Recurrent,
        ParamGroup::Other,
        ParamGroup::Output,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ParamGroup::Input => "input",
            ParamGroup::Positions => "positions",
            ParamGroup::LayerNorm => "layer_norm",
            ParamGroup::Attention => "attention",
            ParamGroup::FeedForward => "feed_forward",
            ParamGroup::Recurrent => "recurrent",
            ParamGroup::Other => "other",
            ParamGroup::Output => "output",
        }
    }
}

/// A parameter's group and, for parameters inside a block, the block's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamRole {
    pub group: ParamGroup,
    pub layer: Option<usize>,
}

/// One thing a policy may train: a whole group, or only the last block's attention (the
/// slides' "+ Finetuning Last Attn Layer" row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Trainable {
    Group(ParamGroup),
    LastAttention,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreezePolicy {
    name: String,
    trains: BTreeSet<Trainable>,
}

/// The presets, in the order `--help` lists them, with what each trains.
pub const PRESETS: &[(&str, &str)] = &[
    (
        "fpt",
        "input, positions, layer norms, output (the paper's default)",
    ),
    ("output-only", "output layer only"),
    ("output+layernorm", "output, layer norms"),
    ("+input", "output, layer norms, input"),
    (
        "+positions",
        "output, layer norms, input, positions (= fpt)",
    ),
    ("+feedforward", "fpt + feed-forward layers"),
    ("+attention", "fpt + attention layers"),
    ("+both", "fpt + feed-forward + attention"),
    (
        "+last-attention",
        "fpt + feed-forward + the last block's attention",
    ),
    (
        "frozen-layernorm",
        "input, positions, output (layer norms frozen)",
    ),
    ("all", "every parameter (full fine-tuning)"),
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown freeze policy '{given}'; use one of: {}, or custom:GROUP,GROUP,... with groups input, positions, layer_norm, attention, feed_forward, recurrent, other, last_attention, output", names())]
pub struct UnknownPolicy {
    given: String,
}

fn names() -> String {
    PRESETS
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

impl FreezePolicy {
    pub fn fpt() -> Self {
        "fpt".parse().expect("fpt is a preset")
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether a parameter with this role trains, in a backbone of `num_layers` blocks.
    pub fn trains(&self, role: ParamRole, num_layers: usize) -> bool {
        if self.trains.contains(&Trainable::Group(role.group)) {
            return true;
        }
        role.group == ParamGroup::Attention
            && self.trains.contains(&Trainable::LastAttention)
            && role.layer == Some(num_layers.saturating_sub(1))
    }

    fn from_groups(name: &str, items: &[Trainable]) -> Self {
        Self {
            name: name.to_string(),
            trains: items.iter().copied().collect(),
        }
    }
}

impl FromStr for FreezePolicy {
    type Err = UnknownPolicy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        use ParamGroup::*;
        use Trainable::{Group as G, LastAttention};
        let fpt = [G(Input), G(Positions), G(LayerNorm), G(Output)];
        let with = |extra: &[Trainable]| [&fpt[..], extra].concat();
        let items: Vec<Trainable> = match s {
            "fpt" | "+positions" => fpt.to_vec(),
            "output-only" => vec![G(Output)],
            "output+layernorm" => vec![G(Output), G(LayerNorm)],
            "+input" => vec![G(Output), G(LayerNorm), G(Input)],
            "+feedforward" => with(&[G(FeedForward)]),
            "+attention" => with(&[G(Attention)]),
            "+both" => with(&[G(FeedForward), G(Attention)]),
            "+last-attention" => with(&[G(FeedForward), LastAttention]),
            "frozen-layernorm" => vec![G(Input), G(Positions), G(Output)],
            "all" => ParamGroup::ALL.iter().map(|&g| G(g)).collect(),
            custom => {
                let unknown = || UnknownPolicy { given: s.into() };
                let list = custom.strip_prefix("custom:").ok_or_else(unknown)?;
                list.split(',')
                    .map(|item| match item.trim() {
                        "last_attention" => Ok(LastAttention),
                        group => ParamGroup::ALL
                            .into_iter()
                            .find(|g| g.name() == group)
                            .map(G)
                            .ok_or_else(unknown),
                    })
                    .collect::<Result<_, _>>()?
            }
        };
        Ok(Self::from_groups(s, &items))
    }
}

impl fmt::Display for FreezePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl Serialize for FreezePolicy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name)
    }
}

impl<'de> Deserialize<'de> for FreezePolicy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(group: ParamGroup, layer: Option<usize>) -> ParamRole {
        ParamRole { group, layer }
    }

    #[test]
    fn presets_all_parse_and_unknown_names_say_what_is_accepted() {
        for (name, _) in PRESETS {
            assert_eq!(name.parse::<FreezePolicy>().unwrap().name(), *name);
        }
        let err = "fpt2".parse::<FreezePolicy>().unwrap_err().to_string();
        assert!(
            err.contains("'fpt2'") && err.contains("output-only"),
            "{err}"
        );
        assert!("custom:input,bogus".parse::<FreezePolicy>().is_err());
    }

    #[test]
    fn fpt_trains_exactly_input_positions_layernorm_output() {
        let p = FreezePolicy::fpt();
        for g in ParamGroup::ALL {
            let expect = !matches!(
                g,
                ParamGroup::Attention
                    | ParamGroup::FeedForward
                    | ParamGroup::Recurrent
                    | ParamGroup::Other
            );
            assert_eq!(p.trains(role(g, Some(0)), 12), expect, "{g:?}");
        }
    }

    #[test]
    fn last_attention_trains_only_the_last_block() {
        let p: FreezePolicy = "+last-attention".parse().unwrap();
        assert!(p.trains(role(ParamGroup::Attention, Some(11)), 12));
        assert!(!p.trains(role(ParamGroup::Attention, Some(10)), 12));
        assert!(p.trains(role(ParamGroup::FeedForward, Some(3)), 12));
        let custom: FreezePolicy = "custom:output,last_attention".parse().unwrap();
        assert!(custom.trains(role(ParamGroup::Attention, Some(2)), 3));
        assert!(!custom.trains(role(ParamGroup::LayerNorm, Some(2)), 3));
    }
}
