//! Training on libtorch: task data as tensors, the feature cache of output-only runs, Adam,
//! the training loop with checkpoints and resume, its TensorBoard event files, attention
//! dumps, the benchmark rig that times the loop's own step, and the executors that run a
//! suite's runs (local child processes or a Slurm job array) behind one trait, with the
//! runs' status.

pub mod attention;
pub mod bench;
pub mod executor;
pub mod export;
pub mod feature_cache;
pub mod flops;
pub mod optim;
pub mod predictions;
pub mod run_status;
pub mod slurm;
pub mod task;
pub mod tensorboard;
pub mod train;

/// Whether `err`, one link of an error chain, is one of this crate's errors (or a models or
/// spec error) that blames what the user asked for: the binary exits 2 for those.
pub fn is_bad_input(err: &(dyn std::error::Error + 'static)) -> bool {
    models::is_bad_input(err)
        || err
            .downcast_ref::<train::TrainError>()
            .is_some_and(train::TrainError::is_bad_input)
        || err
            .downcast_ref::<task::TaskError>()
            .is_some_and(task::TaskError::is_bad_input)
        || err
            .downcast_ref::<slurm::SlurmError>()
            .is_some_and(slurm::SlurmError::is_bad_input)
        || err
            .downcast_ref::<executor::ExecutorError>()
            .is_some_and(executor::ExecutorError::is_bad_input)
        || err
            .downcast_ref::<attention::AttentionError>()
            .is_some_and(attention::AttentionError::is_bad_input)
}

/// The versions a run records: this build of fpt (and the git commit it was built from,
/// when known), tch and the libtorch it links.
pub fn versions() -> spec::schema::Versions {
    let commit = env!("FPT_GIT_COMMIT");
    spec::schema::Versions {
        fpt: env!("CARGO_PKG_VERSION").into(),
        commit: (!commit.is_empty()).then(|| commit.into()),
        tch: models::TCH_VERSION.into(),
        torch: models::TORCH_VERSION.into(),
    }
}
