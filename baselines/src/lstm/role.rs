//! What each LSTM variable does, by its name, so that the harness can count (and, if
//! asked, freeze) parameters per group.

/// The kind of an LSTM parameter; the harness maps each onto one of its parameter groups.
///
/// Under the reference code's default freezing rule (by name: 'ln' trains, anything else
/// in the sequence model is frozen; its LSTM position table sits outside it and trains),
/// a random LSTM trains its `LayerNorm` and `Positions` parameters and keeps `Recurrent`
/// frozen, like FPT's attention and feed-forward blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LstmParamKind {
    /// The learned position table (`position_embeddings.weight`).
    Positions,
    /// Gains and biases of the gate and cell layer norms (`layers.{i}.ln_*`).
    LayerNorm,
    /// Input and hidden projections into the gates (`layers.{i}.i2h.*`, `layers.{i}.h2h.*`).
    Recurrent,
}

/// A parameter's kind and, inside the stack, its layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LstmParamRole {
    pub kind: LstmParamKind,
    pub layer: Option<usize>,
}

/// Path segment of the position table.
pub(crate) const POSITIONS: &str = "position_embeddings";
/// Path segment of the stacked layers.
pub(crate) const LAYERS: &str = "layers";

/// The role of variable `name` (relative to the model's root) in a stack of `num_layers`
/// layers, with or without a position table; `None` for a name the model does not own.
pub(crate) fn classify(name: &str, num_layers: usize, positions: bool) -> Option<LstmParamRole> {
    if positions && name == format!("{POSITIONS}.weight") {
        return Some(LstmParamRole {
            kind: LstmParamKind::Positions,
            layer: None,
        });
    }
    let rest = name.strip_prefix(LAYERS)?.strip_prefix('.')?;
    let (index, rest) = rest.split_once('.')?;
    let layer: usize = index.parse().ok().filter(|&i| i < num_layers)?;
    let (member, tensor) = rest.split_once('.')?;
    if tensor != "weight" && tensor != "bias" {
        return None;
    }
    let kind = match member {
        "i2h" | "h2h" => LstmParamKind::Recurrent,
        "ln_i2h" | "ln_h2h" | "ln_cell" => LstmParamKind::LayerNorm,
        _ => return None,
    };
    Some(LstmParamRole {
        kind,
        layer: Some(layer),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_name() {
        let role = |name| classify(name, 3, true);
        let at = |kind, layer| {
            Some(LstmParamRole {
                kind,
                layer: Some(layer),
            })
        };
        assert_eq!(
            role("position_embeddings.weight"),
            Some(LstmParamRole {
                kind: LstmParamKind::Positions,
                layer: None
            })
        );
        assert_eq!(role("layers.0.i2h.weight"), at(LstmParamKind::Recurrent, 0));
        assert_eq!(role("layers.2.h2h.bias"), at(LstmParamKind::Recurrent, 2));
        assert_eq!(
            role("layers.1.ln_cell.weight"),
            at(LstmParamKind::LayerNorm, 1)
        );
        assert_eq!(
            role("layers.1.ln_h2h.bias"),
            at(LstmParamKind::LayerNorm, 1)
        );
        for foreign in [
            "layers.3.i2h.weight",
            "layers.x.i2h.weight",
            "layers.0.attn.weight",
            "layers.0.i2h.scale",
            "layers0.i2h.weight",
            "input.weight",
            "position_embeddings.bias",
        ] {
            assert_eq!(role(foreign), None, "{foreign}");
        }
        assert_eq!(classify("position_embeddings.weight", 3, false), None);
    }
}
