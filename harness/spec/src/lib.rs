//! What a run is and what it leaves on disk, with no libtorch: the first crate of the
//! pipeline (spec -> models -> training -> runs -> reports), which every other one reads.
//!
//! - [`run`]: a run's fully resolved specification ([`RunSpec`]), its device and optimiser.
//! - [`task`], [`architecture`], [`model`], [`freeze`]: tasks, backbones, inits and what
//!   trains, as data.
//! - [`experiment`], [`profile`], [`suite`], [`reference`]: the paper's tables as experiment
//!   specs, profiles, their expansion into runs, and the paper's own numbers.
//! - [`schema`] and [`run_dir`]: the run directory's files as types (defined once, read by
//!   `reports`) and reading and writing them.
//! - [`machine`]: the machine a suite runs on.

pub mod architecture;
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
