//! Every run directory as one polars frame (tables/runs.csv and runs.parquet).

use polars::prelude::*;
use spec::schema::RunResult;

use crate::error::ReportError;
use crate::frame::column;
use crate::load::{recorded_lr, Run};

fn field<T>(runs: &[Run], f: impl Fn(&RunResult) -> Option<T>) -> Vec<Option<T>> {
    runs.iter()
        .map(|r| r.result.as_ref().and_then(&f))
        .collect()
}

fn text(runs: &[Run], f: impl Fn(&RunResult) -> &str) -> Vec<Option<String>> {
    field(runs, |r| Some(f(r).to_string()))
}

/// One row per run directory; an unfinished run has only its id.
pub fn runs_frame(runs: &[Run]) -> Result<DataFrame, ReportError> {
    DataFrame::new_infer_height(vec![
        column("run", runs.iter().map(|r| r.id.clone()).collect::<Vec<_>>()),
        column(
            "finished",
            runs.iter().map(|r| r.result.is_some()).collect::<Vec<_>>(),
        ),
        column("task", text(runs, |r| &r.task)),
        column("model", text(runs, |r| &r.model)),
        column("init", field(runs, |r| Some(r.init.to_string()))),
        column("freeze", text(runs, |r| &r.freeze)),
        column("seed", field(runs, |r| Some(r.seed))),
        column("lr", field(runs, recorded_lr)),
        column("profile", text(runs, |r| &r.profile)),
        column("steps", field(runs, |r| Some(r.steps))),
        column("eval_split", text(runs, |r| &r.eval_split)),
        column("sampled_eval", field(runs, |r| Some(r.sampled_eval))),
        column("test_accuracy", field(runs, |r| Some(r.test_accuracy))),
        column(
            "validation_accuracy",
            field(runs, |r| r.validation_accuracy),
        ),
        column("train_accuracy", field(runs, |r| r.train_accuracy)),
        column(
            "best_test_accuracy",
            field(runs, |r| Some(r.best_test_accuracy)),
        ),
        column("best_step", field(runs, |r| Some(r.best_step))),
        column("diverged", field(runs, |r| Some(r.diverged))),
        column("diverged_at_step", field(runs, |r| r.diverged_at_step)),
        column(
            "trainable_params",
            field(runs, |r| Some(r.trainable_params)),
        ),
        column("total_params", field(runs, |r| Some(r.total_params))),
        column("wall_seconds", field(runs, |r| Some(r.wall_seconds))),
        column("seconds_per_step", field(runs, |r| r.seconds_per_step)),
        column("device", text(runs, |r| &r.device)),
        column("threads", field(runs, |r| Some(r.threads))),
        column("fpt_version", text(runs, |r| &r.versions.fpt)),
        column("tch_version", text(runs, |r| &r.versions.tch)),
        column("torch_version", text(runs, |r| &r.versions.torch)),
        column("harness_commit", field(runs, |r| r.versions.commit.clone())),
        column("data_sha256", field(runs, |r| r.data_sha256.clone())),
        column("spec_sha256", field(runs, |r| r.spec_sha256.clone())),
        column("finished_at", text(runs, |r| &r.finished_at)),
    ])
    .map_err(ReportError::frame("runs"))
}
