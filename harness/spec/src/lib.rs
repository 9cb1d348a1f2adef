//! What a run is and what it leaves on disk, with no libtorch: the first crate of the
//! pipeline (spec -> models -> training -> runs -> reports), which every other one reads.
//!
//! - [`run`]: a run's fully resolved specification ([`RunSpec`]), its device and optimiser.
//! - [`task`], [`architecture`], [`model`], [`freeze`]: tasks, backbones, inits and what
//!   trains, as data.
//! - [`experiment`], [`profile`], [`suite`], [`reference`]: the paper's tables as experiment
//!   specs, profiles, their expansion into runs, and the paper's own numbers;
//!   [`comparability`]: which cells are set up as the paper's and may be judged against it.
//! - [`claims`]: the paper's claims as comparisons of arms of its tables (experiments/claims.toml).
//! - [`schema`] and [`run_dir`]: the run directory's files as types (defined once, read by
//!   `reports`) and reading and writing them.
//! - [`machine`]: the machine a suite runs on.

pub mod architecture;
pub mod claims;
pub mod comparability;
pub mod experiment;
pub mod freeze;
pub mod machine;
pub mod model;
pub mod profile;
pub mod reference;
pub mod run;
pub mod run_dir;
pub mod schema;
pub mod settings;
pub mod suite;
pub mod task;

pub use run::{DeviceSpec, RunSpec};

/// Whether `err`, one link of an error chain, is one of this crate's errors that blames what
/// the user asked for (a bad spec, task, table or run folder): the binary exits 2 for those.
/// The one place that knows this crate's error types.
pub fn is_bad_input(err: &(dyn std::error::Error + 'static)) -> bool {
    err.downcast_ref::<run_dir::RunDirError>()
        .is_some_and(run_dir::RunDirError::is_bad_input)
        || err.is::<run::SpecError>()
        || err.is::<task::TaskSpecError>()
        || err.is::<architecture::ArchitectureError>()
        || err.is::<experiment::ExperimentError>()
}
