//! The FPT reproduction harness: backbones, the FPT wrapper, freeze policies, training,
//! runs on disk, suites expanded from the experiment specs, executors (local, Slurm). The
//! `fpt` binary (src/main.rs) is its CLI.

pub mod architecture;
pub mod attention;
pub mod backbone;
pub mod bench;
pub mod executor;
pub mod experiment;
pub mod feature_cache;
pub mod freeze;
pub mod inspect;
pub mod machine;
pub mod model;
pub mod numerics;
pub mod optim;
pub mod profile;
/// The paper's numbers (experiments/paper.toml) live in `reports`, which reads no harness code.
pub use reports::reference;
pub mod run_dir;
pub mod run_status;
pub mod slurm;
pub mod spec;
pub mod suite;
pub mod task;
pub mod train;
pub mod weights;
pub mod zoo;

/// The tch release this harness is built with (pinned in the workspace Cargo.toml).
pub const TCH_VERSION: &str = "0.24.0";
/// The libtorch release found at build time (from its version file).
pub const TORCH_VERSION: &str = env!("FPT_TORCH_VERSION");
