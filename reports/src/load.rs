//! Runs on disk: one sub-directory per run with result.json, metrics.jsonl and, for some
//! runs, attention.json (the on-disk contract of docs/design.md section 4).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::ReportError;

/// A run's result.json. Fields newer than the first harness are optional, so older runs
/// still load; unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ResultRecord {
    pub task: String,
    pub model: String,
    pub init: String,
    pub freeze: String,
    pub seed: u64,
    pub profile: String,
    pub steps: u64,
    pub test_accuracy: f64,
    pub eval_split: String,
    pub train_accuracy: Option<f64>,
    #[serde(default)]
    pub best_test_accuracy: Option<f64>,
    #[serde(default)]
    pub best_step: Option<u64>,
    pub diverged: bool,
    #[serde(default)]
    pub diverged_at_step: Option<u64>,
    pub trainable_params: i64,
    #[serde(default)]
    pub total_params: Option<i64>,
    #[serde(default)]
    pub params_by_group: BTreeMap<String, GroupParams>,
    pub wall_seconds: f64,
    #[serde(default)]
    pub device: String,
    #[serde(default)]
    pub threads: Option<i32>,
    #[serde(default)]
    pub versions: Versions,
    #[serde(default)]
    pub finished_at: Option<String>,
    #[serde(default)]
    pub lr: Option<f64>,
    /// Accuracy on the validation split at the end, present when the suite selects the lr.
    #[serde(default)]
    pub validation_accuracy: Option<f64>,
    /// The evaluation was the reference code's sampled-batch estimate, not the full split.
    #[serde(default)]
    pub sampled_eval: bool,
    #[serde(default)]
    pub seconds_per_step: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GroupParams {
    pub trainable: i64,
    pub total: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub struct Versions {
    #[serde(default)]
    pub fpt: String,
    #[serde(default)]
    pub tch: String,
    #[serde(default)]
    pub torch: String,
}

/// One line of metrics.jsonl: an evaluation during training.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MetricPoint {
    pub step: u64,
    pub train_loss: Option<f64>,
    pub train_accuracy: Option<f64>,
    /// `None` when the loss was not finite (JSON has no NaN: it is written as null).
    pub test_loss: Option<f64>,
    pub test_accuracy: f64,
    pub wall_seconds: f64,
}

/// attention.json: per layer, the attention weights averaged over heads for one held-out
/// example (row = query token, column = key token).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AttentionMaps {
    pub task: String,
    pub model: String,
    pub example: u64,
    pub tokens: usize,
    pub layers: Vec<Vec<Vec<f64>>>,
}

/// One run directory. `result` is `None` while the run is unfinished.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The directory's name, which suite.json uses as the run's id.
    pub id: String,
    pub result: Option<ResultRecord>,
    pub metrics: Vec<MetricPoint>,
    pub attention: Option<AttentionMaps>,
}

/// Every run directory directly inside `runs_dir` (a folder with spec.toml or result.json),
/// by name; other files and folders (suite.json, Slurm's batch folder) are passed over.
pub fn load_runs(runs_dir: &Path) -> Result<Vec<Run>, ReportError> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(runs_dir)
        .map_err(ReportError::io(runs_dir))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.join("spec.toml").is_file() || p.join("result.json").is_file())
        .collect();
    dirs.sort();
    dirs.iter().map(|dir| load_run(dir)).collect()
}

fn load_run(dir: &Path) -> Result<Run, ReportError> {
    let id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let result_path = dir.join("result.json");
    let result = match read_optional(&result_path)? {
        Some(text) => Some(parse_json(&result_path, &text)?),
        None => None,
    };
    let metrics_path = dir.join("metrics.jsonl");
    let metrics = match read_optional(&metrics_path)? {
        Some(text) => parse_metrics(&metrics_path, &text)?,
        None => Vec::new(),
    };
    let attention_path = dir.join("attention.json");
    let attention = match read_optional(&attention_path)? {
        Some(text) => Some(parse_attention(&attention_path, &text)?),
        None => None,
    };
    Ok(Run {
        id,
        result,
        metrics,
        attention,
    })
}

/// Every finished run's result.json directly inside `runs`, in path order; unfinished runs
/// (no result.json yet) are skipped.
pub fn load_results(runs: &Path) -> Result<Vec<ResultRecord>, ReportError> {
    Ok(load_runs(runs)?
        .into_iter()
        .filter_map(|run| run.result)
        .collect())
}

pub(crate) fn read_optional(path: &Path) -> Result<Option<String>, ReportError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ReportError::io(path)(e)),
    }
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<T, ReportError> {
    serde_json::from_str(text).map_err(|e| ReportError::malformed(path, e.to_string()))
}

fn parse_metrics(path: &Path, text: &str) -> Result<Vec<MetricPoint>, ReportError> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line)
                .map_err(|e| ReportError::malformed(path, format!("line {}: {e}", i + 1)))
        })
        .collect()
}

fn parse_attention(path: &Path, text: &str) -> Result<AttentionMaps, ReportError> {
    let maps: AttentionMaps = parse_json(path, text)?;
    let t = maps.tokens;
    for (l, layer) in maps.layers.iter().enumerate() {
        if layer.len() != t || layer.iter().any(|row| row.len() != t) {
            return Err(ReportError::malformed(
                path,
                format!("layer {l} is not {t}×{t} (tokens = {t})"),
            ));
        }
    }
    Ok(maps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("fpt-reports-load-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    const RESULT: &str = r#"{"task":"bit-xor","model":"minilm-l6","init":"random","freeze":"fpt",
        "seed":0,"profile":"smoke","steps":10,"test_accuracy":0.5,"eval_split":"test",
        "train_accuracy":null,"diverged":false,"trainable_params":7,"wall_seconds":1.0,
        "some_future_field":[1,2]}"#;

    #[test]
    fn unfinished_runs_load_without_a_result_and_unknown_fields_are_ignored() {
        let dir = scratch("ok");
        std::fs::create_dir_all(dir.join("a")).unwrap();
        std::fs::create_dir_all(dir.join("b")).unwrap();
        // An unfinished run has its spec; Slurm's batch folder has none and is no run.
        std::fs::write(dir.join("b/spec.toml"), "").unwrap();
        std::fs::create_dir_all(dir.join("slurm")).unwrap();
        std::fs::write(dir.join("a/result.json"), RESULT).unwrap();
        std::fs::write(
            dir.join("a/metrics.jsonl"),
            "{\"step\":0,\"train_loss\":null,\"train_accuracy\":null,\"test_loss\":0.7,\"test_accuracy\":0.5,\"wall_seconds\":0.0}\n\n",
        )
        .unwrap();
        std::fs::write(dir.join("suite.json"), "{}").unwrap();
        let runs = load_runs(&dir).unwrap();
        assert_eq!(runs.len(), 2);
        let a = &runs[0];
        assert_eq!(a.id, "a");
        let result = a.result.as_ref().unwrap();
        assert_eq!((result.lr, result.sampled_eval), (None, false));
        assert_eq!(a.metrics.len(), 1);
        assert_eq!(runs[1].result, None);
        assert_eq!(load_results(&dir).unwrap().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn malformed_files_are_named_with_the_line() {
        let dir = scratch("bad");
        std::fs::create_dir_all(dir.join("broken")).unwrap();
        std::fs::write(dir.join("broken/result.json"), "{\"task\": 1").unwrap();
        let err = load_runs(&dir).unwrap_err().to_string();
        assert!(err.contains("broken/result.json"), "{err}");

        std::fs::write(dir.join("broken/result.json"), RESULT).unwrap();
        std::fs::write(dir.join("broken/metrics.jsonl"), "{\"step\":0}\nnot json\n").unwrap();
        let err = load_runs(&dir).unwrap_err().to_string();
        assert!(
            err.contains("broken/metrics.jsonl") && err.contains("line 1"),
            "{err}"
        );

        std::fs::remove_file(dir.join("broken/metrics.jsonl")).unwrap();
        std::fs::write(
            dir.join("broken/attention.json"),
            r#"{"task":"bit-xor","model":"m","example":0,"tokens":2,"layers":[[[1.0,0.0],[0.5]]]}"#,
        )
        .unwrap();
        let err = load_runs(&dir).unwrap_err().to_string();
        assert!(
            err.contains("broken/attention.json") && err.contains("layer 0 is not 2×2"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
