//! The bit tasks: batches drawn from a seeded stream, a fixed generated held-out set.

use datasets::synthetic::{BitMemory, BitXor, FeatureBatch};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use spec::task::{bit_shape, TaskShape};

use super::Batch;

/// Held-out examples when a spec does not say.
pub const DEFAULT_HELD_OUT: usize = 1024;

/// Seed of the held-out set: one fixed set per task settings, shared by every run and seed,
/// so runs are compared on identical examples.
const HELD_OUT_SEED: u64 = 0x5EED_0FE7_A1ED;
/// Seed of the generated validation set (for choosing a learning rate), distinct from the
/// held-out test set's.
const VALIDATION_SEED: u64 = 0x5EED_7A11_DA7E;

#[derive(Debug, Clone)]
pub enum BitTask {
    Memory(BitMemory),
    Xor(BitXor),
}

impl BitTask {
    pub fn shape(&self) -> TaskShape {
        let (shape, tokens) = match self {
            BitTask::Memory(t) => (t.shape(), t.tokens()),
            BitTask::Xor(t) => (t.shape(), t.tokens()),
        };
        bit_shape(shape.n(), shape.patch(), tokens)
    }

    fn sample(&self, rng: &mut ChaCha8Rng, batch: usize) -> FeatureBatch {
        match self {
            BitTask::Memory(t) => t.sample(rng, batch),
            BitTask::Xor(t) => t.sample(rng, batch),
        }
    }

    pub fn train_batch(&self, seed: u64, step: u64, batch: usize) -> Batch {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(step + 1);
        Batch::from_features(self.sample(&mut rng, batch))
    }

    pub fn held_out(&self, examples: usize) -> (Batch, String) {
        self.generated_set(HELD_OUT_SEED, examples, "held-out")
    }

    pub fn validation(&self, examples: usize) -> (Batch, String) {
        self.generated_set(VALIDATION_SEED, examples, "validation")
    }

    fn generated_set(&self, seed: u64, examples: usize, which: &str) -> (Batch, String) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (
            Batch::from_features(self.sample(&mut rng, examples)),
            format!("generated {which} set ({examples} examples, fixed seed)"),
        )
    }
}
