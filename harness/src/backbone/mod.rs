//! Sequence models on hidden states, `[B, T, H] -> [B, T, H]`, whose parameters carry the
//! role the freeze policies speak of.

pub mod gpt2;

use tch::Tensor;

/// What a parameter does, in the paper's vocabulary of what to fine-tune.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamGroup {
    /// The FPT input layer (ours, not the backbone's).
    Input,
    /// Learned position embeddings.
    Positions,
    LayerNorm,
    Attention,
    FeedForward,
    /// The FPT output layer (ours, not the backbone's).
    Output,
}

impl ParamGroup {
    pub const ALL: [ParamGroup; 6] = [
        ParamGroup::Input,
        ParamGroup::Positions,
        ParamGroup::LayerNorm,
        ParamGroup::Attention,
        ParamGroup::FeedForward,
        ParamGroup::Output,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ParamGroup::Input => "input",
            ParamGroup::Positions => "positions",
            ParamGroup::LayerNorm => "layer_norm",
            ParamGroup::Attention => "attention",
            ParamGroup::FeedForward => "feed_forward",
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

pub trait Backbone: std::fmt::Debug + Send {
    /// Hidden states in, hidden states out; `train` turns dropout on.
    fn forward(&self, xs: &Tensor, train: bool) -> Tensor;
    /// Width of the hidden states.
    fn hidden_size(&self) -> i64;
    /// Longest sequence the position table covers.
    fn max_positions(&self) -> i64;
    fn num_layers(&self) -> usize;
    /// The role of one of this backbone's parameters, by its variable name; `None` for a
    /// name this backbone does not own.
    fn role(&self, name: &str) -> Option<ParamRole>;
    /// Names of checkpoint tensors this backbone knowingly does not use (e.g. GPT-2's
    /// token embeddings, since FPT feeds `inputs_embeds`).
    fn unused_checkpoint_tensor(&self, name: &str) -> bool;
}
