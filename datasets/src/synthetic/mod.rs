//! Tasks generated on the fly from a seeded random stream.

mod bits;

pub use bits::{BitMemory, BitShape, BitTaskError, BitXor};

/// A batch of float-feature sequences and integer targets, row-major.
///
/// `inputs` holds `batch * tokens * dim` values, `targets` holds `batch * targets_per_example`.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureBatch {
    pub inputs: Vec<f32>,
    pub targets: Vec<i64>,
    pub batch: usize,
    pub tokens: usize,
    pub dim: usize,
    pub targets_per_example: usize,
}
