//! The reference LN-LSTM's layer norm, computed with libtorch's fused kernel.

use tch::{nn, Tensor};

use spec::architecture::lstm::LayerNormInit;

/// The reference's epsilon, added to the variance inside the square root.
const EPS: f64 = 1e-6;

/// `gain * (x - mean) / sqrt(var + 1e-6) + bias` over the last dimension, where `var` is
/// the UNBIASED variance (the reference calls `torch.var`, whose default divides by n - 1).
///
/// libtorch's fused `layer_norm` uses the biased variance `v`. With `n / (n-1) * v` in its
/// place, `(x - m) / sqrt(n/(n-1) v + eps) = sqrt((n-1)/n) (x - m) / sqrt(v + eps (n-1)/n)`,
/// so the reference's norm is the fused one with epsilon `eps (n-1)/n` and the gain scaled
/// by `sqrt((n-1)/n)`. [`LayerNorm::prepare`] does that scaling once per forward, keeping
/// each time step to one fused kernel.
#[derive(Debug)]
pub(crate) struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    dim: i64,
}

impl LayerNorm {
    pub(crate) fn new(p: nn::Path, dim: i64, init: LayerNormInit) -> Self {
        let (weight_init, bias_init) = match init {
            LayerNormInit::Reference => {
                let bound = 1.0 / (dim as f64).sqrt();
                let uniform = nn::Init::Uniform {
                    lo: -bound,
                    up: bound,
                };
                (uniform, uniform)
            }
            LayerNormInit::OnesZeros => (nn::Init::Const(1.0), nn::Init::Const(0.0)),
        };
        Self {
            weight: p.var("weight", &[dim], weight_init),
            bias: p.var("bias", &[dim], bias_init),
            dim,
        }
    }

    /// The norm ready to apply, with the variance correction folded into its gain.
    pub(crate) fn prepare(&self) -> PreparedLayerNorm<'_> {
        let n = self.dim as f64;
        let shrink = (n - 1.0) / n;
        PreparedLayerNorm {
            weight: &self.weight * shrink.sqrt(),
            bias: &self.bias,
            eps: EPS * shrink,
            dim: self.dim,
        }
    }
}

/// A [`LayerNorm`] for one forward pass (its scaled gain keeps the autograd link).
pub(crate) struct PreparedLayerNorm<'a> {
    weight: Tensor,
    bias: &'a Tensor,
    eps: f64,
    dim: i64,
}

impl PreparedLayerNorm<'_> {
    pub(crate) fn forward(&self, xs: &Tensor) -> Tensor {
        xs.layer_norm(
            [self.dim],
            Some(&self.weight),
            Some(self.bias),
            self.eps,
            true,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    /// The reference's formula, written out.
    fn reference(xs: &Tensor, weight: &Tensor, bias: &Tensor) -> Tensor {
        let mean = xs.mean_dim(-1, true, Kind::Double);
        let var = xs.var_dim(-1, true, true);
        (xs - mean) / (var + EPS).sqrt() * weight + bias
    }

    #[test]
    fn matches_the_reference_formula() {
        tch::manual_seed(0);
        for init in [LayerNormInit::Reference, LayerNormInit::OnesZeros] {
            let mut vs = nn::VarStore::new(Device::Cpu);
            vs.set_kind(Kind::Double);
            let ln = LayerNorm::new(vs.root() / "ln", 5, init);
            // Small rows too, where n/(n-1) and epsilon both matter.
            let xs = Tensor::randn([4, 3, 5], (Kind::Double, Device::Cpu)) * 1e-3;
            let ours = ln.prepare().forward(&xs);
            let theirs = reference(&xs, &ln.weight, &ln.bias);
            let diff = (ours - theirs).abs().max().double_value(&[]);
            // f64 (u = 2^-53 = 1.1e-16): two ways of normalising rows of 5 values agree to a
            // few roundings of outputs of order 1 (the gains scale them by at most ~2), so
            // 1e-12 is thousands of roundings wide, and a wrong epsilon or n/(n-1) (1e-3
            // rows: effects of order 1e-1) is far outside it.
            assert!(diff < 1e-12, "{init:?}: max difference {diff}");
        }
    }

    #[test]
    fn reference_init_is_small_and_random() {
        tch::manual_seed(1);
        let vs = nn::VarStore::new(Device::Cpu);
        let ln = LayerNorm::new(vs.root() / "ln", 3072, LayerNormInit::Reference);
        let bound = 1.0 / 3072f64.sqrt();
        for t in [&ln.weight, &ln.bias] {
            assert!(t.abs().max().double_value(&[]) <= bound);
            assert!(t.std(true).double_value(&[]) > bound / 3.0);
        }
    }
}
