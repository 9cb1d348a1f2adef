//! Per-configuration summaries over seeds: mean, standard error and count.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid result.json: {reason}")]
    Malformed { path: String, reason: String },
}

/// The fields of a run's result.json that reports use.
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
    pub diverged: bool,
    pub trainable_params: i64,
    pub wall_seconds: f64,
}

/// Every result.json directly inside `runs` (one sub-directory per run), in path order.
/// Directories without one (runs not finished) are skipped.
pub fn load_results(runs: &Path) -> Result<Vec<ResultRecord>, ReportError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| ReportError::Io { path, source }
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(runs)
        .map_err(io(runs))?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("result.json")))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).map_err(io(path))?;
            serde_json::from_str(&text).map_err(|e| ReportError::Malformed {
                path: path.display().to_string(),
                reason: e.to_string(),
            })
        })
        .collect()
}

/// One configuration's accuracy over its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    pub task: String,
    pub model: String,
    pub init: String,
    pub freeze: String,
    pub seeds: usize,
    pub diverged: usize,
    pub mean: f64,
    /// Standard error of the mean (sample std / sqrt(n)); 0 for a single seed.
    pub sem: f64,
    pub trainable_params: i64,
    pub steps: u64,
    /// The paper's number for this configuration's cell, as printed, with where it is from
    /// (set by the caller, who knows which paper row a configuration reproduces).
    pub paper: Option<String>,
}

pub fn summarise(results: &[ResultRecord]) -> Vec<SummaryRow> {
    let mut groups: BTreeMap<(&str, &str, &str, &str), Vec<&ResultRecord>> = BTreeMap::new();
    for r in results {
        groups
            .entry((&r.task, &r.model, &r.init, &r.freeze))
            .or_default()
            .push(r);
    }
    groups
        .into_iter()
        .map(|((task, model, init, freeze), runs)| {
            let n = runs.len() as f64;
            let mean = runs.iter().map(|r| r.test_accuracy).sum::<f64>() / n;
            let var = if runs.len() > 1 {
                runs.iter()
                    .map(|r| (r.test_accuracy - mean).powi(2))
                    .sum::<f64>()
                    / (n - 1.0)
            } else {
                0.0
            };
            SummaryRow {
                task: task.into(),
                model: model.into(),
                init: init.into(),
                freeze: freeze.into(),
                seeds: runs.len(),
                diverged: runs.iter().filter(|r| r.diverged).count(),
                mean,
                sem: (var / n).sqrt(),
                trainable_params: runs[0].trainable_params,
                steps: runs.iter().map(|r| r.steps).max().unwrap_or(0),
                paper: None,
            }
        })
        .collect()
}

/// The summary as a Markdown table, with a header saying what produced it.
pub fn render_markdown(title: &str, notes: &str, rows: &[SummaryRow]) -> String {
    let mut out = format!("# {title}\n\n{notes}\n\n");
    out.push_str("| task | model | init | freeze | test accuracy (mean ± SEM) | paper | seeds | diverged | trainable params | steps |\n");
    out.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.1}% ± {:.1} | {} | {} | {} | {} | {} |",
            r.task,
            r.model,
            r.init,
            r.freeze,
            100.0 * r.mean,
            100.0 * r.sem,
            r.paper.as_deref().unwrap_or("-"),
            r.seeds,
            r.diverged,
            r.trainable_params,
            r.steps
        );
    }
    out
}

/// Writes `summary.md` into `dir` (through a temporary file) and returns its path and text.
pub fn write_summary(
    dir: &Path,
    title: &str,
    notes: &str,
    rows: &[SummaryRow],
) -> Result<(PathBuf, String), ReportError> {
    let text = render_markdown(title, notes, rows);
    let path = dir.join("summary.md");
    let tmp = dir.join("summary.md.tmp");
    let io = |source| ReportError::Io {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    std::fs::write(&tmp, &text).map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)?;
    Ok((path, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(task: &str, seed: u64, acc: f64) -> ResultRecord {
        ResultRecord {
            task: task.into(),
            model: "gpt2-tiny".into(),
            init: "random".into(),
            freeze: "fpt".into(),
            seed,
            profile: "smoke".into(),
            steps: 10,
            test_accuracy: acc,
            eval_split: "held-out".into(),
            train_accuracy: Some(acc),
            diverged: seed == 2,
            trainable_params: 100,
            wall_seconds: 1.0,
        }
    }

    #[test]
    fn mean_and_standard_error_over_seeds() {
        let rows = summarise(&[
            record("bit-xor", 0, 0.5),
            record("bit-xor", 1, 0.7),
            record("bit-xor", 2, 0.9),
            record("bit-memory", 0, 0.8),
        ]);
        assert_eq!(rows.len(), 2);
        let xor = rows.iter().find(|r| r.task == "bit-xor").unwrap();
        assert_eq!((xor.seeds, xor.diverged), (3, 1));
        assert!((xor.mean - 0.7).abs() < 1e-12);
        // sample std 0.2, n 3
        assert!((xor.sem - 0.2 / 3f64.sqrt()).abs() < 1e-12);
        let mem = rows.iter().find(|r| r.task == "bit-memory").unwrap();
        assert_eq!(mem.sem, 0.0);
    }

    #[test]
    fn the_markdown_sets_each_row_beside_the_paper() {
        let mut rows = summarise(&[record("bit-xor", 0, 1.0), record("bit-memory", 0, 0.75)]);
        rows[1].paper = Some("100% (modality / fpt)".into());
        let text = render_markdown("t", "notes", &rows);
        assert!(
            text.contains(
                "| bit-xor | gpt2-tiny | random | fpt | 100.0% ± 0.0 | 100% (modality / fpt) |"
            ),
            "{text}"
        );
        assert!(
            text.contains("| bit-memory | gpt2-tiny | random | fpt | 75.0% ± 0.0 | - |"),
            "{text}"
        );
    }

    #[test]
    fn unfinished_runs_are_skipped_and_bad_files_named() {
        let dir = std::env::temp_dir().join(format!("fpt-reports-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("unfinished")).unwrap();
        std::fs::create_dir_all(dir.join("broken")).unwrap();
        assert!(load_results(&dir).unwrap().is_empty());
        std::fs::write(dir.join("broken/result.json"), "{\"task\": 1").unwrap();
        let err = load_results(&dir).unwrap_err().to_string();
        assert!(err.contains("broken/result.json"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
