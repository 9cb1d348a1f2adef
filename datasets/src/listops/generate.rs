//! A seeded ListOps generator implementing the LRA algorithm (`lra_benchmarks/data/listops.py`):
//!
//! - a node at depth < `max_depth` is an operator with probability `operator_probability`
//!   (a uniform draw `r <= p`), otherwise a leaf; at `max_depth` always a leaf; the root has
//!   depth 1;
//! - an operator draws its argument count uniformly in `min_args..=max_args`, generates its
//!   children first (in order), then picks the operator uniformly from MIN MAX MED SM;
//! - leaves are uniform in 0..=9;
//! - a tree is kept when `min_length < length < max_length` (exclusive, as upstream) and its
//!   text was not seen before, until `train + val + test` trees are collected; they are split
//!   in generation order.
//!
//! Upstream sets no seed, so its release cannot be regenerated bit for bit; the same seed
//! here always gives the same files (ChaCha8 stream).

use std::collections::HashSet;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::tree::{Node, Op};
use super::tsv::Example;

#[derive(Debug, Clone, PartialEq)]
pub struct GeneratorConfig {
    pub seed: u64,
    pub max_depth: usize,
    pub operator_probability: f64,
    pub min_args: usize,
    pub max_args: usize,
    pub min_length: usize,
    pub max_length: usize,
    pub train: usize,
    pub val: usize,
    pub test: usize,
}

impl Default for GeneratorConfig {
    /// The LRA settings: depth 10, p = 0.25, 2..=10 arguments, 500 < length < 2000,
    /// 96,000 / 2,000 / 2,000.
    fn default() -> Self {
        Self {
            seed: 0,
            max_depth: 10,
            operator_probability: 0.25,
            min_args: 2,
            max_args: 10,
            min_length: 500,
            max_length: 2000,
            train: 96_000,
            val: 2_000,
            test: 2_000,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GeneratorError {
    #[error("invalid ListOps generator settings: {0}")]
    Invalid(String),
    #[error("gave up after {attempts} trees without collecting {wanted} distinct ones in the length window ({have} found): widen the window or lower the counts")]
    Exhausted {
        attempts: u64,
        wanted: usize,
        have: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOpsSplits {
    pub train: Vec<Example>,
    pub val: Vec<Example>,
    pub test: Vec<Example>,
}

impl GeneratorConfig {
    fn check(&self) -> Result<(), GeneratorError> {
        let bad = |m: &str| Err(GeneratorError::Invalid(m.to_string()));
        if self.max_depth == 0 {
            return bad("max_depth must be at least 1");
        }
        if !(0.0..=1.0).contains(&self.operator_probability) {
            return bad("operator_probability must be in [0, 1]");
        }
        if self.min_args == 0 || self.min_args > self.max_args {
            return bad("need 1 <= min_args <= max_args");
        }
        if self.min_length + 1 >= self.max_length {
            return bad("the length window min_length < length < max_length is empty");
        }
        Ok(())
    }

    fn tree(&self, depth: usize, rng: &mut ChaCha8Rng) -> Node {
        let r: f64 = if depth < self.max_depth {
            rng.random()
        } else {
            1.0
        };
        if r > self.operator_probability {
            return Node::Value(rng.random_range(0..=9));
        }
        let n = rng.random_range(self.min_args..=self.max_args);
        let args = (0..n).map(|_| self.tree(depth + 1, rng)).collect();
        let op = Op::ALL[rng.random_range(0..Op::ALL.len())];
        Node::Apply(op, args)
    }
}

/// Generate the three splits. Attempts are capped (10,000 per wanted tree, plus a floor)
/// so impossible settings end with an error rather than a hang.
pub fn generate(config: &GeneratorConfig) -> Result<ListOpsSplits, GeneratorError> {
    config.check()?;
    let wanted = config.train + config.val + config.test;
    let max_attempts = (wanted as u64).saturating_mul(10_000).max(1_000_000);
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut seen = HashSet::with_capacity(wanted);
    let mut examples = Vec::with_capacity(wanted);
    let mut attempts = 0u64;
    while examples.len() < wanted {
        if attempts >= max_attempts {
            return Err(GeneratorError::Exhausted {
                attempts,
                wanted,
                have: examples.len(),
            });
        }
        attempts += 1;
        let tree = config.tree(1, &mut rng);
        let length = tree.length();
        if length <= config.min_length || length >= config.max_length {
            continue;
        }
        let source = tree.to_lra_string();
        if seen.insert(source.clone()) {
            examples.push(Example {
                source,
                target: tree.value(),
            });
        }
    }
    let test = examples.split_off(config.train + config.val);
    let val = examples.split_off(config.train);
    Ok(ListOpsSplits {
        train: examples,
        val,
        test,
    })
}

impl ListOpsSplits {
    /// Write `basic_train.tsv`, `basic_val.tsv` and `basic_test.tsv` into `dir` (created if
    /// needed), the LRA release's file names; returns their paths.
    pub fn write_dir(&self, dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
        std::fs::create_dir_all(dir)?;
        [
            ("train", &self.train),
            ("val", &self.val),
            ("test", &self.test),
        ]
        .into_iter()
        .map(|(split, examples)| {
            let path = dir.join(format!("basic_{split}.tsv"));
            super::tsv::write_tsv(&path, examples).map(|()| path)
        })
        .collect()
    }
}
