//! The LN-LSTM baselines (from the `baselines` crate) behind the backbone interface, so
//! they train and freeze like the transformers: under the FPT policy only their layer norms
//! and position table train, as the reference code's name rule gives.

use baselines::{LnLstm, LstmParamKind};
use tch::Tensor;

use spec::freeze::{ParamGroup, ParamRole};

use super::layers::last_tokens;
use super::Backbone;

#[derive(Debug)]
pub struct Lstm(pub LnLstm);

impl Backbone for Lstm {
    /// A recurrence needs every step before the last ones: only the output is cut.
    fn forward_last(&self, xs: &Tensor, tokens: i64, train: bool) -> Tensor {
        last_tokens(&self.0.forward(xs, train), tokens)
    }

    fn hidden_size(&self) -> i64 {
        self.0.hidden_size()
    }

    /// Without a position table any length works.
    fn max_positions(&self) -> i64 {
        self.0.max_positions().unwrap_or(i64::MAX)
    }

    fn num_layers(&self) -> usize {
        self.0.num_layers()
    }

    fn role(&self, name: &str) -> Option<ParamRole> {
        let role = self.0.role(name)?;
        let group = match role.kind {
            LstmParamKind::Positions => ParamGroup::Positions,
            LstmParamKind::LayerNorm => ParamGroup::LayerNorm,
            LstmParamKind::Recurrent => ParamGroup::Recurrent,
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
