//! The Linformer baseline (Wang et al. 2020) as the Long Range Arena benchmark runs it
//! (google-research/long-range-arena, `lra_benchmarks/models/linformer`): a pre-LayerNorm
//! transformer encoder whose attention projects keys and values along the sequence to `k`
//! rows, so it costs `O(T k)` rather than `O(T^2)`.
//!
//! Variables, relative to the path the model is built under (`H` the hidden size, `P`
//! `max_positions`):
//! - `position_embeddings.weight` `[P, H]`;
//! - per layer `i`: `layers.{i}.ln_attention.{weight,bias}` and `layers.{i}.ln_mlp.*`
//!   (`[H]`), `layers.{i}.attention.{query,key,value}.weight` (`[qkv_dim, H]`, no biases),
//!   `layers.{i}.attention.output.weight` (`[H, qkv_dim]`),
//!   `layers.{i}.mlp.dense_in.{weight,bias}` (`[mlp_dim, H]`, `[mlp_dim]`) and
//!   `layers.{i}.mlp.dense_out.{weight,bias}` (`[H, mlp_dim]`, `[H]`);
//! - the sequence projections, `[P, k]` each, by [`ProjectionSharing`]:
//!   `layers.{i}.attention.projection.weight` (key_value: one per layer for keys and
//!   values), `layers.{i}.attention.projection_{key,value}.weight` (separate), or one
//!   `projection.weight` beside the layers (layerwise: every layer's keys and values);
//! - `final_layer_norm.{weight,bias}` (`[H]`).

mod attention;
mod block;
mod role;
mod vars;

pub use role::{LinformerParamKind, LinformerParamRole};
/// The configuration is data (the `spec` crate), so suites and profiles read it without
/// libtorch.
pub use spec::architecture::linformer::{LinformerConfig, LinformerConfigError, ProjectionSharing};

use std::collections::BTreeMap;

use tch::{nn, nn::Module, Tensor};

use crate::role::RoleLog;
use attention::sequence_projections;
use block::Block;
use vars::Vars;

/// A Linformer encoder on hidden states `[B, T, H]` -> `[B, T, H]`.
#[derive(Debug)]
pub struct Linformer {
    config: LinformerConfig,
    /// `[max_positions, H]`, added to the input.
    positions: Tensor,
    layers: Vec<Block>,
    final_layer_norm: nn::LayerNorm,
    /// Every variable's role, by full name, as recorded when it was created.
    roles: BTreeMap<String, LinformerParamRole>,
}

impl Linformer {
    /// Creates the variables under `p` (see the module docs for their names), initialised
    /// as LRA does: Xavier-uniform dense kernels and sequence projections, normal(0, 0.02)
    /// positions, layer norms at gain 1 and bias 0.
    pub fn new(p: &nn::Path, config: LinformerConfig) -> Result<Self, LinformerConfigError> {
        config.validate()?;
        let h = config.hidden_size;
        let roles = RoleLog::default();
        let stack = Vars::new(&roles, None);
        let positions = stack.positions(p / "position_embeddings", config.max_positions, h);
        let layer_path = |i: usize| p / "layers" / i;
        let projections = sequence_projections(p, |i| layer_path(i) / "attention", &config, &roles);
        let layers = projections
            .into_iter()
            .enumerate()
            .map(|(i, projection)| {
                let vars = Vars::new(&roles, Some(i));
                Block::new(&layer_path(i), &config, vars, projection)
            })
            .collect();
        let final_layer_norm = stack.layer_norm(p / "final_layer_norm", h);
        Ok(Self {
            config,
            positions,
            layers,
            final_layer_norm,
            roles: roles.into_map(),
        })
    }

    /// Hidden states `[B, T, H]` in, `[B, T, H]` out; `train` turns dropout on.
    ///
    /// # Panics
    /// As [`Self::forward_last`].
    pub fn forward(&self, xs: &Tensor, train: bool) -> Tensor {
        let (_, steps, _) = xs.size3().expect("Linformer input is [B, T, H]");
        self.forward_last(xs, steps, train)
    }

    /// The last `tokens` outputs `[B, tokens, H]` of [`Self::forward`], computing only what
    /// they need: the last block runs its queries, attention output, feed-forward and norms
    /// on those tokens alone; its keys and values (and so every earlier block) still see all
    /// `T` tokens.
    ///
    /// # Panics
    /// If `xs` is not `[B, T, H]` with this model's `H`, if `T` exceeds
    /// [`Self::max_positions`], or if `tokens` is not in `1..=T`.
    pub fn forward_last(&self, xs: &Tensor, tokens: i64, train: bool) -> Tensor {
        let (_, steps, width) = xs.size3().expect("Linformer input is [B, T, H]");
        assert_eq!(
            width, self.config.hidden_size,
            "Linformer input width {width} differs from the model's hidden_size"
        );
        assert!(
            steps <= self.config.max_positions,
            "sequence of {steps} tokens exceeds the Linformer's {} positions",
            self.config.max_positions
        );
        assert!(
            (1..=steps).contains(&tokens),
            "cannot take the last {tokens} of {steps} tokens"
        );
        let mut hs = (xs + self.positions.narrow(0, 0, steps)).dropout(self.config.dropout, train);
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            let queries = if i == last { tokens } else { steps };
            hs = layer.forward(&hs, queries, train);
        }
        self.final_layer_norm.forward(&hs)
    }

    pub fn config(&self) -> &LinformerConfig {
        &self.config
    }

    pub fn hidden_size(&self) -> i64 {
        self.config.hidden_size
    }

    pub fn num_layers(&self) -> usize {
        self.config.num_layers
    }

    /// Longest sequence the position table and the sequence projections cover.
    pub fn max_positions(&self) -> i64 {
        self.config.max_positions
    }

    /// The role of one of this model's variables, by its full variable name, as recorded
    /// when it was created; `None` for a name it does not own.
    pub fn role(&self, name: &str) -> Option<LinformerParamRole> {
        self.roles.get(name).copied()
    }
}
