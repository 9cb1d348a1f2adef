//! Bit Memory and Bit XOR, with the reference code's semantics (docs/reference.md section 2).
//!
//! Each example is `patterns` bit strings of length `n`, cut into tokens of `patch` bits, so
//! a model sees `patterns * n / patch` tokens of dimension `patch` and must emit one
//! two-way classification per bit of the answer (`n` targets, class 0 or 1).

use rand::{Rng, RngCore};

use super::FeatureBatch;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BitTaskError {
    #[error("{task}: {what} must be at least 1, got {value}")]
    TooSmall {
        task: &'static str,
        what: &'static str,
        value: usize,
    },
    #[error("{task}: the string length n = {n} must be a multiple of the patch size {patch}")]
    PatchDoesNotDivide {
        task: &'static str,
        n: usize,
        patch: usize,
    },
}

fn check_shape(
    task: &'static str,
    n: usize,
    patterns: usize,
    patch: usize,
) -> Result<(), BitTaskError> {
    for (what, value) in [("n", n), ("patterns", patterns), ("patch", patch)] {
        if value == 0 {
            return Err(BitTaskError::TooSmall { task, what, value });
        }
    }
    if !n.is_multiple_of(patch) {
        return Err(BitTaskError::PatchDoesNotDivide { task, n, patch });
    }
    Ok(())
}

/// The sizes shared by both bit tasks: `patterns` strings of `n` bits, `patch` bits a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitShape {
    n: usize,
    patterns: usize,
    patch: usize,
}

impl BitShape {
    fn new(
        task: &'static str,
        n: usize,
        patterns: usize,
        patch: usize,
    ) -> Result<Self, BitTaskError> {
        check_shape(task, n, patterns, patch)?;
        Ok(Self { n, patterns, patch })
    }

    pub fn n(&self) -> usize {
        self.n
    }
    pub fn patterns(&self) -> usize {
        self.patterns
    }
    pub fn patch(&self) -> usize {
        self.patch
    }
}

/// Memorise `patterns` strings of `n` bits in {-1, +1}, then reproduce the one that a query
/// shows with each bit zeroed independently with probability 1/2.
///
/// Inputs: the patterns followed by the masked query, `(patterns + 1) * n / patch` tokens.
/// Targets: the query's full pattern, bit -1 as class 0 and +1 as class 1. Copying the
/// visible bits and guessing the rest gives 75%: the random-transformer baseline's plateau.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitMemory(BitShape);

impl BitMemory {
    pub const NAME: &'static str = "bit-memory";

    /// The paper's setting: 5 strings of 1000 bits in patches of 50 (120 tokens of dim 50).
    pub fn paper() -> Self {
        Self(BitShape {
            n: 1000,
            patterns: 5,
            patch: 50,
        })
    }

    pub fn new(n: usize, patterns: usize, patch: usize) -> Result<Self, BitTaskError> {
        BitShape::new(Self::NAME, n, patterns, patch).map(Self)
    }

    pub fn shape(&self) -> BitShape {
        self.0
    }

    /// Token count of one example: the patterns plus the query, cut into patches.
    pub fn tokens(&self) -> usize {
        (self.0.patterns + 1) * self.0.n / self.0.patch
    }

    pub fn sample<R: RngCore>(&self, rng: &mut R, batch: usize) -> FeatureBatch {
        let BitShape {
            n,
            patterns: p,
            patch,
        } = self.0;
        let mut inputs = Vec::with_capacity(batch * (p + 1) * n);
        let mut targets = Vec::with_capacity(batch * n);
        for _ in 0..batch {
            let start = inputs.len();
            inputs.extend((0..p * n).map(|_| if rng.random::<bool>() { 1.0f32 } else { -1.0 }));
            let query = rng.random_range(0..p);
            let pattern = start + query * n..start + (query + 1) * n;
            for i in pattern {
                let bit = inputs[i];
                targets.push(i64::from(bit > 0.0));
                let keep = rng.random::<bool>();
                inputs.push(if keep { bit } else { 0.0 });
            }
        }
        FeatureBatch {
            inputs,
            targets,
            batch,
            tokens: self.tokens(),
            dim: patch,
            targets_per_example: n,
        }
    }
}

/// Two (or more) strings of `n` bits in {0, 1}; the answer is their bitwise XOR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitXor(BitShape);

impl BitXor {
    pub const NAME: &'static str = "bit-xor";

    /// The paper's setting: 2 strings of 5 bits, one bit per token (10 tokens of dim 1).
    pub fn paper() -> Self {
        Self(BitShape {
            n: 5,
            patterns: 2,
            patch: 1,
        })
    }

    pub fn new(n: usize, patterns: usize, patch: usize) -> Result<Self, BitTaskError> {
        BitShape::new(Self::NAME, n, patterns, patch).map(Self)
    }

    pub fn shape(&self) -> BitShape {
        self.0
    }

    pub fn tokens(&self) -> usize {
        self.0.patterns * self.0.n / self.0.patch
    }

    pub fn sample<R: RngCore>(&self, rng: &mut R, batch: usize) -> FeatureBatch {
        let BitShape {
            n,
            patterns: p,
            patch,
        } = self.0;
        let mut inputs = Vec::with_capacity(batch * p * n);
        let mut targets = Vec::with_capacity(batch * n);
        for _ in 0..batch {
            let start = inputs.len();
            inputs.extend((0..p * n).map(|_| f32::from(u8::from(rng.random::<bool>()))));
            targets.extend((0..n).map(|i| {
                let ones = (0..p).filter(|k| inputs[start + k * n + i] > 0.5).count();
                (ones % 2) as i64
            }));
        }
        FeatureBatch {
            inputs,
            targets,
            batch,
            tokens: self.tokens(),
            dim: patch,
            targets_per_example: n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn memory_query_is_a_masked_copy_of_the_target_pattern() {
        let task = BitMemory::new(20, 3, 5).unwrap();
        let b = task.sample(&mut ChaCha8Rng::seed_from_u64(7), 64);
        assert_eq!((b.tokens, b.dim, b.targets_per_example), (16, 5, 20));
        assert_eq!(b.inputs.len(), 64 * 4 * 20);
        let (mut masked, mut total) = (0, 0);
        for e in 0..64 {
            let ex = &b.inputs[e * 80..(e + 1) * 80];
            let target: Vec<f32> = b.targets[e * 20..(e + 1) * 20]
                .iter()
                .map(|&c| if c == 1 { 1.0 } else { -1.0 })
                .collect();
            // The target is one of the stored patterns ...
            assert!((0..3).any(|k| ex[k * 20..(k + 1) * 20] == target[..]));
            // ... and the query agrees with it wherever a bit is shown.
            for (q, t) in ex[60..].iter().zip(&target) {
                assert!(*q == 0.0 || q == t);
                masked += usize::from(*q == 0.0);
                total += 1;
            }
        }
        let rate = masked as f64 / total as f64;
        assert!((0.4..0.6).contains(&rate), "mask rate {rate}");
    }

    #[test]
    fn xor_targets_are_the_bitwise_xor() {
        let task = BitXor::paper();
        let b = task.sample(&mut ChaCha8Rng::seed_from_u64(1), 100);
        assert_eq!((b.tokens, b.dim), (10, 1));
        for e in 0..100 {
            let x = &b.inputs[e * 10..(e + 1) * 10];
            for i in 0..5 {
                let want = (x[i] as i64) ^ (x[5 + i] as i64);
                assert_eq!(b.targets[e * 5 + i], want);
            }
        }
    }

    #[test]
    fn same_seed_same_batch_and_different_seed_differs() {
        let task = BitMemory::new(50, 5, 10).unwrap();
        let a = task.sample(&mut ChaCha8Rng::seed_from_u64(3), 4);
        let b = task.sample(&mut ChaCha8Rng::seed_from_u64(3), 4);
        let c = task.sample(&mut ChaCha8Rng::seed_from_u64(4), 4);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn impossible_shapes_are_rejected() {
        assert_eq!(
            BitMemory::new(1000, 5, 30),
            Err(BitTaskError::PatchDoesNotDivide {
                task: "bit-memory",
                n: 1000,
                patch: 30
            })
        );
        assert!(matches!(
            BitXor::new(5, 0, 1),
            Err(BitTaskError::TooSmall {
                what: "patterns",
                ..
            })
        ));
    }
}
