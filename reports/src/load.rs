//! Runs on disk: one sub-directory per run with result.json, metrics.jsonl and, for some
//! runs, attention.json, read as the `spec` crate's types by its readers.

use std::path::{Path, PathBuf};

use spec::run_dir::{self, read_attention, read_metrics, read_result};
use spec::schema::{AttentionMaps, EvalRecord, RunResult};

use crate::error::ReportError;

/// One run directory. `result` is `None` while the run is unfinished.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The directory's name, which suite.json uses as the run's id.
    pub id: String,
    pub result: Option<RunResult>,
    pub metrics: Vec<EvalRecord>,
    pub attention: Option<AttentionMaps>,
    /// Its predictions.jsonl, when it wrote one (read only when two runs are paired).
    pub predictions: Option<PathBuf>,
}

/// Every run directory directly inside `runs_dir` (a folder with spec.toml or result.json),
/// by name; other files and folders (suite.json, Slurm's batch folder) are passed over.
pub fn load_runs(runs_dir: &Path) -> Result<Vec<Run>, ReportError> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(runs_dir)
        .map_err(ReportError::io(runs_dir))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.join(run_dir::SPEC).is_file() || p.join(run_dir::RESULT).is_file())
        .collect();
    dirs.sort();
    dirs.iter().map(|dir| load_run(dir)).collect()
}

fn load_run(dir: &Path) -> Result<Run, ReportError> {
    let id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Run {
        id,
        result: read_result(&dir.join(run_dir::RESULT))?,
        metrics: read_metrics(&dir.join(run_dir::METRICS))?,
        attention: read_attention(&dir.join(run_dir::ATTENTION))?,
        predictions: Some(dir.join(run_dir::PREDICTIONS)).filter(|p| p.is_file()),
    })
}

/// Every finished run's result.json directly inside `runs`, in path order; unfinished runs
/// (no result.json yet) are skipped.
pub fn load_results(runs: &Path) -> Result<Vec<RunResult>, ReportError> {
    Ok(load_runs(runs)?
        .into_iter()
        .filter_map(|run| run.result)
        .collect())
}

/// The run's learning rate; `None` for a result written before it was recorded (which
/// reads as 0).
pub(crate) fn recorded_lr(result: &RunResult) -> Option<f64> {
    (result.lr > 0.0).then_some(result.lr)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use spec::model::{GroupCount, InitKind};
    use spec::schema::{Versions, SCHEMA_VERSION};

    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("fpt-reports-load-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A finished result.json's contents, for tests to adjust.
    pub(crate) fn result() -> RunResult {
        RunResult {
            schema_version: SCHEMA_VERSION,
            task: "bit-xor".into(),
            model: "minilm-l6".into(),
            init: InitKind::Random,
            freeze: "fpt".into(),
            seed: 0,
            profile: "smoke".into(),
            lr: 1e-3,
            steps: 10,
            test_accuracy: 0.5,
            eval_split: "test".into(),
            train_accuracy: None,
            best_test_accuracy: 0.5,
            best_step: 10,
            validation_accuracy: None,
            sampled_eval: false,
            cached_features: false,
            diverged: false,
            diverged_at_step: None,
            trainable_params: 7,
            total_params: 9,
            params_by_group: BTreeMap::from([(
                "output".into(),
                GroupCount {
                    trainable: 7,
                    total: 7,
                },
            )]),
            wall_seconds: 1.0,
            seconds_per_step: None,
            feature_cache_seconds: None,
            flops_per_step: None,
            device: "cpu".into(),
            threads: 1,
            versions: Versions {
                fpt: "0.1.0".into(),
                commit: None,
                tch: "0.24.0".into(),
                torch: "2.11.0".into(),
            },
            finished_at: "2026-01-01T00:00:00Z".into(),
            slurm: None,
            data_sha256: None,
            data_files: Vec::new(),
            spec_sha256: None,
        }
    }

    /// `result` as result.json, with `edit` applied to its JSON first.
    fn write_result(path: &Path, result: &RunResult, edit: impl FnOnce(&mut serde_json::Value)) {
        let mut json = serde_json::to_value(result).unwrap();
        edit(&mut json);
        std::fs::write(path, json.to_string()).unwrap();
    }

    fn metric(step: u64) -> String {
        let record = EvalRecord {
            step,
            train_loss: None,
            train_accuracy: None,
            test_loss: 0.7,
            test_accuracy: 0.5,
            wall_seconds: 0.0,
            examples: None,
            curve_point: false,
        };
        serde_json::to_string(&record).unwrap()
    }

    #[test]
    fn unfinished_runs_load_without_a_result_and_unknown_fields_are_ignored() {
        let dir = scratch("ok");
        std::fs::create_dir_all(dir.join("a")).unwrap();
        std::fs::create_dir_all(dir.join("b")).unwrap();
        // An unfinished run has its spec; Slurm's batch folder has none and is no run.
        std::fs::write(dir.join("b").join(run_dir::SPEC), "").unwrap();
        std::fs::create_dir_all(dir.join("slurm")).unwrap();
        write_result(&dir.join("a").join(run_dir::RESULT), &result(), |json| {
            json["some_future_field"] = serde_json::json!([1, 2]);
        });
        std::fs::write(
            dir.join("a").join(run_dir::METRICS),
            format!("{}\n\n", metric(0)),
        )
        .unwrap();
        std::fs::write(dir.join(run_dir::MANIFEST), "{}").unwrap();
        let runs = load_runs(&dir).unwrap();
        assert_eq!(runs.len(), 2);
        let a = &runs[0];
        assert_eq!(a.id, "a");
        assert_eq!(a.result, Some(result()));
        assert_eq!(a.metrics.len(), 1);
        assert_eq!(runs[1].result, None);
        assert_eq!(load_results(&dir).unwrap().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn malformed_files_are_named_with_the_line() {
        let dir = scratch("bad");
        let run = dir.join("broken");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(run.join(run_dir::RESULT), "{\"task\": 1").unwrap();
        let err = load_runs(&dir).unwrap_err().to_string();
        assert!(err.contains("broken/result.json"), "{err}");

        write_result(&run.join(run_dir::RESULT), &result(), |_| {});
        std::fs::write(run.join(run_dir::METRICS), "{\"step\":0}\nnot json\n").unwrap();
        let err = load_runs(&dir).unwrap_err().to_string();
        assert!(
            err.contains("broken/metrics.jsonl") && err.contains("line 1"),
            "{err}"
        );

        std::fs::remove_file(run.join(run_dir::METRICS)).unwrap();
        let maps = AttentionMaps {
            task: "bit-xor".into(),
            model: "m".into(),
            example: 0,
            tokens: 2,
            layers: vec![vec![vec![1.0, 0.0], vec![0.5]]],
        };
        let attention = serde_json::to_string(&maps).unwrap();
        std::fs::write(run.join(run_dir::ATTENTION), attention).unwrap();
        let err = load_runs(&dir).unwrap_err().to_string();
        assert!(
            err.contains("broken/attention.json") && err.contains("layer 0 is not 2×2"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_result_from_a_newer_schema_is_refused_and_named() {
        let dir = scratch("newer");
        std::fs::create_dir_all(dir.join("newer")).unwrap();
        let newer = RunResult {
            schema_version: SCHEMA_VERSION + 1,
            ..result()
        };
        write_result(&dir.join("newer").join(run_dir::RESULT), &newer, |_| {});
        let err = load_runs(&dir).unwrap_err().to_string();
        assert!(
            err.contains("newer/result.json") && err.contains("schema_version"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_lr_of_zero_is_one_not_recorded() {
        assert_eq!(recorded_lr(&result()), Some(1e-3));
        let unrecorded = RunResult {
            lr: 0.0,
            ..result()
        };
        assert_eq!(recorded_lr(&unrecorded), None);
    }
}
