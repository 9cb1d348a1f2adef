//! How far apart two correct fp32 computations of the same function may land, so tests
//! compare against a bound derived from the arithmetic rather than from what one machine
//! printed. CPUs differ in their kernels (AVX2, AVX-512, AMX; MKL and oneDNN pick by CPU),
//! and so in the order they sum in: the last bits differ, by an amount that grows with the
//! length of the sums, the depth of the network and the size of the numbers.

/// fp32's unit roundoff, 2^-24: the largest relative error of one rounding.
pub const F32_UNIT_ROUNDOFF: f64 = f32::EPSILON as f64 / 2.0;

/// The probabilistic constant of [`Arithmetic::fp32_tolerance`]. A sum of K terms rounded
/// in any order is off by at most λ √K u times the sum of its terms' magnitudes with
/// probability at least 1 - 2 exp(-λ²/2) when the roundings behave as independent (Higham
/// and Mary, "A New Approach to Probabilistic Rounding Error Analysis", SIAM J. Sci. Comput.
/// 2019); the worst case is K u, never seen in practice. λ = 4 gives 1 - 7e-4 per sum, and
/// typical sums sit several times lower (about √(K/3) u), which is the margin for the
/// largest of many outputs and for vectorised against scalar exp, erf, tanh and rsqrt.
const LAMBDA: f64 = 4.0;

/// The shape of a forward pass, for the bound on its rounding error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arithmetic {
    /// Blocks (transformer layers) one after the other.
    pub depth: usize,
    /// The longest sum any one output element goes through in a block: the feed-forward's
    /// inner width, the hidden width or the number of tokens attended over, whichever is
    /// largest.
    pub widest_sum: usize,
    /// The largest magnitude of the compared outputs (max |y|).
    pub magnitude: f64,
}

impl Arithmetic {
    /// The largest |a - b| between two fp32 evaluations, `a` and `b`, that differ only in the
    /// order of their sums (two CPUs, two kernels, or Hugging Face on one machine and ours
    /// on another):
    ///
    /// `tol = 2 · λ · depth · √widest_sum · u · magnitude`
    ///
    /// - one sum of K terms carries at most about λ √K u of its terms' size (see [`LAMBDA`]);
    /// - a block's output error is that of its longest sums, since its matmuls, softmax and
    ///   layer norm are each at most that long; relative to the residual stream's scale;
    /// - each block adds its own error to the residual stream, and the layer norms rescale
    ///   it rather than compound it, so the errors add up over depth;
    /// - `magnitude` sets the scale of the output (the final layer norm's gains included);
    /// - 2: both evaluations round, each in its own way.
    ///
    /// A bound on well-conditioned activations: layer norms of rows with a tiny variance
    /// amplify errors, which the random-weight fixtures here do not have. Each parity test
    /// also checks a model with one small mistake (the tanh GELU for the erf one, a wrong
    /// layer-norm epsilon) lands outside it, so the bound stays tight enough to matter.
    pub fn fp32_tolerance(&self) -> f64 {
        2.0 * LAMBDA
            * self.depth.max(1) as f64
            * (self.widest_sum.max(1) as f64).sqrt()
            * F32_UNIT_ROUNDOFF
            * self.magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_grows_with_depth_width_and_scale() {
        let base = Arithmetic {
            depth: 2,
            widest_sum: 64,
            magnitude: 1.0,
        };
        let tol = base.fp32_tolerance();
        // 2 · 4 · 2 · 8 · 2^-24
        assert!((tol - 128.0 * F32_UNIT_ROUNDOFF).abs() < 1e-20, "{tol}");
        let deeper = Arithmetic { depth: 4, ..base };
        let wider = Arithmetic {
            widest_sum: 256,
            ..base
        };
        let larger = Arithmetic {
            magnitude: 3.0,
            ..base
        };
        assert_eq!(deeper.fp32_tolerance(), 2.0 * tol);
        assert_eq!(wider.fp32_tolerance(), 2.0 * tol);
        assert_eq!(larger.fp32_tolerance(), 3.0 * tol);
    }

    /// The bound holds for a real case: one long fp32 dot product summed in two orders.
    #[test]
    fn two_summation_orders_of_one_dot_product_stay_within_the_bound() {
        let n = 4096;
        let terms: Vec<f32> = (0..n)
            .map(|i| ((i as f32 * 0.618).fract() - 0.5) * (1.0 + (i % 7) as f32))
            .collect();
        let forward: f32 = terms.iter().sum();
        let backward: f32 = terms.iter().rev().sum();
        let pairwise: f32 = terms.chunks(16).map(|c| c.iter().sum::<f32>()).sum::<f32>();
        let exact: f64 = terms.iter().map(|&t| t as f64).sum();
        let scale: f64 = terms.iter().map(|&t| t.abs() as f64).sum();
        let tol = Arithmetic {
            depth: 1,
            widest_sum: n,
            magnitude: scale,
        }
        .fp32_tolerance();
        for sum in [forward, backward, pairwise] {
            assert!((sum as f64 - exact).abs() <= tol, "{sum} vs {exact}: {tol}");
        }
    }
}
