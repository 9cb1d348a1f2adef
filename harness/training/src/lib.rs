//! Training on libtorch: task data as tensors, the feature cache of output-only runs, Adam,
//! the training loop with checkpoints and resume, attention dumps, the benchmark rig that
//! times the loop's own step, and the executors that run a suite's runs (local child
//! processes or a Slurm job array) behind one trait, with the runs' status.

pub mod attention;
pub mod bench;
pub mod executor;
pub mod feature_cache;
pub mod optim;
pub mod run_status;
pub mod slurm;
pub mod task;
pub mod train;

/// The versions a run records: this build of fpt, tch and the libtorch it links.
pub fn versions() -> spec::schema::Versions {
    spec::schema::Versions {
        fpt: env!("CARGO_PKG_VERSION").into(),
        tch: models::TCH_VERSION.into(),
        torch: models::TORCH_VERSION.into(),
    }
}
