//! Sequence models on hidden states, `[B, T, H] -> [B, T, H]`, whose parameters carry the
//! role the freeze policies speak of.

pub mod bert;
pub mod gpt2;
pub mod layers;
pub mod linformer;
pub mod longformer;
pub mod lstm;
pub mod t5;
pub mod vars;
pub mod vit;

use std::collections::HashMap;
use std::path::Path;

use baselines::{Linformer, LnLstm};
use spec::architecture::{Architecture, ArchitectureError};
use spec::freeze::ParamRole;
use tch::{nn, Tensor};

use crate::weights::{self, LoadError, LoadReport};

pub trait Backbone: std::fmt::Debug + Send {
    /// Hidden states in, hidden states out; `train` turns dropout on.
    fn forward(&self, xs: &Tensor, train: bool) -> Tensor {
        self.forward_last(xs, xs.size()[1], train)
    }
    /// The last `tokens` hidden states of [`Self::forward`], `[B, tokens, H]`, computing
    /// only what they need: the transformers run their last block's queries, attention
    /// output, feed-forward and norms on those tokens alone (its keys and values still come
    /// from every token), which is what the FPT head reads.
    fn forward_last(&self, xs: &Tensor, tokens: i64, train: bool) -> Tensor;
    /// What Hugging Face's model computes on `inputs_embeds` in eval mode: the parity hook
    /// of `fpt inspect forward`. The eval-mode forward, except where the harness adds to the
    /// architecture (ViT: blocks and final norm only, without our position table).
    fn hf_forward(&self, xs: &Tensor) -> Tensor {
        self.forward(xs, false)
    }
    /// Width of the hidden states.
    fn hidden_size(&self) -> i64;
    /// Longest sequence the position table covers.
    fn max_positions(&self) -> i64;
    fn num_layers(&self) -> usize;
    /// The role of one of this backbone's parameters, by its variable name, as the module
    /// that created it recorded it ([`vars::RolePath`]); `None` for a name this backbone does
    /// not own.
    fn role(&self, name: &str) -> Option<ParamRole>;
    /// Names of checkpoint tensors this backbone knowingly does not use (e.g. GPT-2's
    /// token embeddings, since FPT feeds `inputs_embeds`), after `checkpoint_name`.
    fn unused_checkpoint_tensor(&self, name: &str) -> bool;
    /// The variable name a checkpoint tensor fills: drops a task-head prefix (`bert.`,
    /// `vit.`) and maps legacy names (`LayerNorm.gamma`); the identity by default.
    fn checkpoint_name(&self, name: &str) -> String {
        name.to_string()
    }
    /// Whether variable `name` comes from a pretrained checkpoint; false for parameters
    /// this harness adds to the architecture (ViT's position table), which keep their init.
    fn in_checkpoint(&self, _name: &str) -> bool {
        true
    }
}

/// Building an architecture's backbone.
pub trait BuildBackbone {
    /// Creates the backbone's variables under `p` with the architecture's random init.
    fn build(&self, p: &nn::Path) -> Result<Box<dyn Backbone>, ArchitectureError>;
}

impl BuildBackbone for Architecture {
    fn build(&self, p: &nn::Path) -> Result<Box<dyn Backbone>, ArchitectureError> {
        let invalid = |e: &dyn std::fmt::Display| ArchitectureError::Invalid(e.to_string());
        Ok(match self {
            Architecture::Gpt2(c) => {
                Box::new(gpt2::Gpt2::new(p, c.clone()).map_err(|e| invalid(&e))?)
            }
            Architecture::Bert(c) => {
                Box::new(bert::Bert::new(p, c.clone()).map_err(|e| invalid(&e))?)
            }
            Architecture::Vit(c) => Box::new(vit::Vit::new(p, c.clone()).map_err(|e| invalid(&e))?),
            Architecture::T5(c) => Box::new(t5::T5::new(p, c.clone()).map_err(|e| invalid(&e))?),
            Architecture::Longformer(c) => {
                Box::new(longformer::Longformer::new(p, c.clone()).map_err(|e| invalid(&e))?)
            }
            Architecture::Lstm(c) => Box::new(lstm::Lstm(
                LnLstm::new(p, c.clone()).map_err(|e| invalid(&e))?,
            )),
            Architecture::Linformer(c) => Box::new(linformer::LinformerBackbone(
                Linformer::new(p, c.clone()).map_err(|e| invalid(&e))?,
            )),
        })
    }
}

/// Loads a Hugging Face checkpoint over a backbone's variables (`vars`, keyed by variable
/// name; entries the backbone does not own or that are not in checkpoints are skipped),
/// renaming with `checkpoint_name` and skipping `unused_checkpoint_tensor`s.
pub fn load_checkpoint(
    backbone: &dyn Backbone,
    file: &Path,
    vars: &HashMap<String, Tensor>,
) -> Result<LoadReport, LoadError> {
    let wanted: HashMap<String, Tensor> = vars
        .iter()
        .filter(|(name, _)| backbone.role(name).is_some() && backbone.in_checkpoint(name))
        .map(|(name, t)| (name.clone(), t.shallow_clone()))
        .collect();
    weights::load_into(
        file,
        &wanted,
        |name| backbone.checkpoint_name(name),
        |name| backbone.unused_checkpoint_tensor(name),
    )
}

/// Checks the backbone tests share.
#[cfg(test)]
pub(crate) mod test_support {
    use std::collections::HashMap;

    use tch::Tensor;

    use super::Backbone;
    use spec::freeze::FreezePolicy;

    /// The variables the FPT policy trains, sorted; panics on a variable without a role.
    pub fn fpt_trained(backbone: &dyn Backbone, vars: &HashMap<String, Tensor>) -> Vec<String> {
        let fpt = FreezePolicy::fpt();
        let mut trained: Vec<String> = vars
            .keys()
            .filter(|name| {
                let role = backbone
                    .role(name)
                    .unwrap_or_else(|| panic!("{name} has no role"));
                fpt.trains(role, backbone.num_layers())
            })
            .cloned()
            .collect();
        trained.sort();
        trained
    }

    /// `forward_last` gives the last tokens of `forward` (eval mode: no dropout), for one
    /// token, a few, and all of them, on inputs `[2, 7, hidden]`.
    pub fn assert_forward_last_is_the_tail_of_forward(backbone: &dyn Backbone) {
        tch::manual_seed(3);
        let xs = Tensor::randn([2, 7, backbone.hidden_size()], tch::kind::FLOAT_CPU);
        let full = tch::no_grad(|| backbone.forward(&xs, false));
        assert_eq!(full.size(), xs.size());
        // Fewer queries make other GEMM shapes, so other kernels: equal within rounding.
        // The widest sum is the feed-forward's, 4 x hidden in every config tested here.
        let bound = crate::numerics::Arithmetic {
            depth: backbone.num_layers(),
            widest_sum: 4 * backbone.hidden_size() as usize,
            magnitude: full.abs().max().double_value(&[]),
        };
        for tokens in [1, 3, 7] {
            let tail = tch::no_grad(|| backbone.forward_last(&xs, tokens, false));
            assert_eq!(tail.size(), [2, tokens, backbone.hidden_size()]);
            let diff = (full.narrow(1, 7 - tokens, tokens) - tail)
                .abs()
                .max()
                .double_value(&[]);
            assert!(
                diff <= bound.fp32_tolerance(),
                "{tokens} tokens: {diff}, {bound:?}"
            );
        }
    }

    /// `unlayered` plus `encoder.layer.{i}.{ln}.{weight,bias}` for every block and LayerNorm
    /// of an encoder with `layers` blocks, sorted.
    pub fn layer_norm_names(unlayered: &[&str], layers: usize, per_layer: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = unlayered.iter().map(|n| n.to_string()).collect();
        for i in 0..layers {
            for ln in per_layer {
                for p in ["weight", "bias"] {
                    names.push(format!("encoder.layer.{i}.{ln}.{p}"));
                }
            }
        }
        names.sort();
        names
    }
}
