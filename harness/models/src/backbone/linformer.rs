//! The Linformer baseline (from the `baselines` crate) behind the backbone interface. It is
//! trained from scratch as a whole (`--init random --freeze all`, the slides' overfitting
//! table); its groups are the transformers' own, so any other policy also means what it
//! says (under FPT's, its positions and layer norms train).

use baselines::{Linformer, LinformerParamKind};
use tch::Tensor;

use spec::freeze::{ParamGroup, ParamRole};

use super::Backbone;

#[derive(Debug)]
pub struct LinformerBackbone(pub Linformer);

impl Backbone for LinformerBackbone {
    fn forward_last(&self, xs: &Tensor, tokens: i64, train: bool) -> Tensor {
        self.0.forward_last(xs, tokens, train)
    }

    fn hidden_size(&self) -> i64 {
        self.0.hidden_size()
    }

    fn max_positions(&self) -> i64 {
        self.0.max_positions()
    }

    fn num_layers(&self) -> usize {
        self.0.num_layers()
    }

    fn role(&self, name: &str) -> Option<ParamRole> {
        let role = self.0.role(name)?;
        let group = match role.kind {
            LinformerParamKind::Positions => ParamGroup::Positions,
            LinformerParamKind::LayerNorm => ParamGroup::LayerNorm,
            LinformerParamKind::Attention => ParamGroup::Attention,
            LinformerParamKind::FeedForward => ParamGroup::FeedForward,
        };
        Some(ParamRole {
            group,
            layer: role.layer,
        })
    }

    fn unused_checkpoint_tensor(&self, _name: &str) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backbone::test_support::{assert_forward_last_is_the_tail_of_forward, fpt_trained};
    use spec::architecture::LinformerConfig;
    use tch::{nn::VarStore, Device};

    #[test]
    fn roles_map_onto_the_transformer_groups() {
        let vs = VarStore::new(Device::Cpu);
        let config = LinformerConfig::named("linformer-tiny").unwrap();
        let model = LinformerBackbone(Linformer::new(&vs.root(), config).unwrap());
        assert_forward_last_is_the_tail_of_forward(&model);
        let trained = fpt_trained(&model, &vs.variables());
        // Positions, and per block two norms of weight and bias, plus the final norm.
        assert_eq!(trained.len(), 1 + 3 * 4 + 2);
        assert!(trained.contains(&"position_embeddings.weight".to_string()));
        let projection = model.role("layers.1.attention.projection.weight").unwrap();
        assert_eq!(
            (projection.group, projection.layer),
            (ParamGroup::Attention, Some(1))
        );
        let mlp = model.role("layers.0.mlp.dense_out.bias").unwrap();
        assert_eq!(mlp.group, ParamGroup::FeedForward);
    }
}
