//! Built-in suites: the runs each profile expands into.
//!
//! For now the bit tasks only (Bit Memory and Bit XOR on a frozen randomly initialised
//! GPT-2); the experiment files of every paper table replace this list as they arrive.

use std::fmt;
use std::str::FromStr;

use crate::freeze::FreezePolicy;
use crate::model::{InitKind, ModelSource};
use crate::optim::AdamConfig;
use crate::spec::{DeviceSpec, RunSpec};
use crate::task::{EvalSplit, TaskSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// CI-sized: gpt2-tiny, reduced Bit Memory, a few hundred steps; under a minute on 2 cores.
    Smoke,
    /// The default of `cargo xtask reproduce`: the paper's bit-task shapes on gpt2-tiny,
    /// 2 seeds, minutes on 2 cores.
    Quick,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Smoke => "smoke",
            Profile::Quick => "quick",
        }
    }

    /// How this profile departs from the paper, for reports.
    pub fn differences(self) -> &'static str {
        match self {
            Profile::Smoke => "gpt2-tiny (3 layers, 128 wide) randomly initialised instead of pretrained GPT-2; Bit Memory with 2 strings of 20 bits in patches of 5; a few hundred steps; one seed; held-out sets of generated examples",
            Profile::Quick => "gpt2-tiny (3 layers, 128 wide) randomly initialised instead of pretrained GPT-2 (pretrained backbones arrive with the model registry); the paper's Bit Memory and Bit XOR shapes; thousands rather than tens of thousands of steps; held-out sets of generated examples",
        }
    }

    pub fn default_seeds(self) -> u64 {
        match self {
            Profile::Smoke => 1,
            Profile::Quick => 2,
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        <Profile as clap::ValueEnum>::from_str(s, false)
    }
}

/// The settings one task gets within a profile.
struct Entry {
    task: TaskSpec,
    steps: u64,
    batch_size: usize,
    eval_every: u64,
    eval_examples: usize,
}

fn entries(profile: Profile) -> Vec<Entry> {
    match profile {
        Profile::Smoke => vec![
            Entry {
                task: TaskSpec::BitXor {
                    n: 5,
                    patterns: 2,
                    patch: 1,
                },
                steps: 600,
                batch_size: 32,
                eval_every: 100,
                eval_examples: 512,
            },
            Entry {
                task: TaskSpec::BitMemory {
                    n: 50,
                    patterns: 5,
                    patch: 10,
                },
                steps: 300,
                batch_size: 32,
                eval_every: 100,
                eval_examples: 256,
            },
        ],
        Profile::Quick => vec![
            Entry {
                task: TaskSpec::BitXor {
                    n: 5,
                    patterns: 2,
                    patch: 1,
                },
                steps: 2_000,
                batch_size: 32,
                eval_every: 200,
                eval_examples: 1_024,
            },
            Entry {
                task: TaskSpec::BitMemory {
                    n: 1000,
                    patterns: 5,
                    patch: 50,
                },
                steps: 2_000,
                batch_size: 32,
                eval_every: 200,
                eval_examples: 512,
            },
        ],
    }
}

/// Every run of `profile`, for seeds `0..seeds`, on `device`.
pub fn expand(profile: Profile, seeds: u64, device: DeviceSpec) -> Vec<RunSpec> {
    let mut runs = Vec::new();
    for entry in entries(profile) {
        for seed in 0..seeds {
            runs.push(RunSpec {
                profile: profile.name().into(),
                task: entry.task,
                model: ModelSource::Named("gpt2-tiny".into()),
                init: InitKind::Random,
                freeze: FreezePolicy::fpt(),
                seed,
                steps: entry.steps,
                batch_size: entry.batch_size,
                micro_batch_size: 16,
                optimizer: AdamConfig::default(),
                clip_grad_norm: 1.0,
                eval_every: entry.eval_every,
                eval_split: EvalSplit::Test,
                eval_examples: Some(entry.eval_examples),
                checkpoint_every: entry.eval_every,
                input_dropout: 0.1,
                orthogonal_gain: 1.41,
                device,
            });
        }
    }
    runs
}
