//! From runs to observations: one number of one run for one table cell, plus the layout of
//! every table the report shows (the paper's rows and columns, or, without suite.json, one
//! table of configurations by task).

use std::collections::BTreeSet;
use std::path::PathBuf;

use spec::schema::{companion, CellUse, Metric, RunResult, SuiteManifest};

use crate::load::{recorded_lr, Run};
use crate::reference::{PaperCell, PaperTable};
use crate::stats::{accuracy_sd, steps_to_target, Bound};

/// One run's value for one cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub table: String,
    pub row: String,
    pub column: String,
    pub metric: Metric,
    pub run: String,
    pub lr: Option<f64>,
    pub seed: u64,
    pub model: String,
    /// `None` while the run is unfinished, or when the run did not record the metric.
    pub value: Option<f64>,
    pub bound: Bound,
    pub validation: Option<f64>,
    pub diverged: bool,
    pub sampled: bool,
    /// The value's standard error from the evaluation's sampling (examples scored), in the
    /// value's unit; 0 when not known or not a measured accuracy or step.
    pub sampling_sd: f64,
    /// The hash of the run's evaluated split, when recorded.
    pub data_sha256: Option<String>,
    /// The run's predictions.jsonl, when it wrote one.
    pub predictions: Option<PathBuf>,
    pub finished: bool,
}

/// A row or a column of a table: its id and its label as printed.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub id: String,
    pub label: String,
}

/// A table as the report lays it out.
#[derive(Debug, Clone, PartialEq)]
pub struct TableLayout {
    pub id: String,
    pub title: String,
    pub source: Option<String>,
    pub rows: Vec<Header>,
    pub columns: Vec<Header>,
    /// The paper's cells, row-major; `None` for tables the paper does not have.
    pub paper: Option<Vec<Vec<PaperCell>>>,
}

impl TableLayout {
    fn of_paper(table: &PaperTable) -> Self {
        TableLayout {
            id: table.id.clone(),
            title: table.title.clone(),
            source: table.source.clone(),
            rows: table
                .rows
                .iter()
                .map(|r| Header {
                    id: r.id.clone(),
                    label: r.label.clone(),
                })
                .collect(),
            columns: table
                .columns
                .iter()
                .map(|c| Header {
                    id: c.clone(),
                    label: c.clone(),
                })
                .collect(),
            paper: Some(table.rows.iter().map(|r| r.cells.clone()).collect()),
        }
    }
}

/// The id of the table a report without suite.json shows.
pub const RUNS_TABLE: &str = "runs";

/// The tables of a suite, in its order.
pub fn suite_layouts(suite: &SuiteManifest, paper: &[PaperTable]) -> Vec<TableLayout> {
    suite
        .tables
        .iter()
        .filter_map(|id| paper.iter().find(|t| &t.id == id))
        .map(TableLayout::of_paper)
        .collect()
}

/// Every cell each suite run serves. Runs the suite names but that have no finished
/// directory give unfinished observations, so the cell can say how many are pending.
pub fn suite_observations(suite: &SuiteManifest, runs: &[Run]) -> Vec<Observation> {
    let mut out = Vec::new();
    for planned in &suite.runs {
        let run = runs.iter().find(|r| r.id == planned.id);
        let result = run.and_then(|r| r.result.as_ref());
        // Derived ratios with a metric of their own read companion cells of the same runs.
        let companions = suite
            .derived
            .iter()
            .filter_map(|d| d.metric.map(|m| (d, m)));
        let mut cells = planned.cells.clone();
        for (derived, metric) in companions {
            for part in [&derived.numerator, &derived.denominator] {
                let use_ = CellUse::at(&companion(part, metric), metric);
                if planned.cells.iter().any(|c| c.cell == *part) && !cells.contains(&use_) {
                    cells.push(use_);
                }
            }
        }
        for cell in &cells {
            let measured = match (run, result) {
                (Some(run), Some(result)) => measure(run, result, cell.metric),
                _ => None,
            };
            let (value, bound, sampling_sd) = measured.map_or((None, Bound::Exact, 0.0), |m| {
                (Some(m.value), m.bound, m.sampling_sd)
            });
            out.push(Observation {
                table: cell.cell.table.clone(),
                row: cell.cell.row.clone(),
                column: cell.cell.column.clone(),
                metric: cell.metric,
                run: planned.id.clone(),
                lr: Some(planned.lr),
                seed: planned.seed,
                model: result.map(|r| r.model.clone()).unwrap_or_default(),
                value,
                bound,
                validation: result.and_then(|r| r.validation_accuracy),
                diverged: result.is_some_and(|r| r.diverged),
                sampled: result.is_some_and(|r| r.sampled_eval),
                sampling_sd,
                data_sha256: result.and_then(|r| r.data_sha256.clone()),
                predictions: run.and_then(|r| r.predictions.clone()),
                finished: result.is_some(),
            });
        }
    }
    out
}

/// One run's number for one cell.
struct Measured {
    value: f64,
    bound: Bound,
    sampling_sd: f64,
}

/// A finished run's value of `metric`, with its bound and sampling error; `None` when the
/// run did not record it.
fn measure(run: &Run, result: &RunResult, metric: Metric) -> Option<Measured> {
    let exact = |value: f64| {
        Some(Measured {
            value,
            bound: Bound::Exact,
            sampling_sd: 0.0,
        })
    };
    match metric {
        Metric::TestAccuracy => {
            let last_full = run.metrics.iter().rfind(|m| !m.curve_point);
            let examples = last_full.and_then(|m| m.examples);
            Some(Measured {
                sampling_sd: 100.0 * accuracy_sd(result.test_accuracy, examples),
                ..exact(100.0 * result.test_accuracy)?
            })
        }
        Metric::TrainAccuracy => result.train_accuracy.and_then(|a| exact(100.0 * a)),
        Metric::TrainableParams => exact(result.trainable_params as f64),
        Metric::TotalParams => exact(result.total_params as f64),
        Metric::SecondsPerStep => result
            .seconds_per_step
            .or((result.steps > 0).then(|| result.wall_seconds / result.steps as f64))
            .and_then(exact),
        Metric::StepsToTarget { target } => {
            if run.metrics.is_empty() {
                return None;
            }
            let reached = steps_to_target(&run.metrics, target, result.steps);
            let (value, bound) = reached.value();
            Some(Measured {
                value,
                bound,
                sampling_sd: reached.sampling_sd(),
            })
        }
    }
}

/// The configuration a run without suite.json is grouped by.
fn configuration(result: &RunResult) -> String {
    format!("{} / {} / {}", result.model, result.init, result.freeze)
}

/// Without suite.json: one table, a row per (model, init, freeze) and a column per task,
/// holding each finished run's test accuracy.
pub fn ungrouped_runs(runs: &[Run]) -> (TableLayout, Vec<Observation>) {
    let finished: Vec<(&Run, &RunResult)> = runs
        .iter()
        .filter_map(|r| r.result.as_ref().map(|res| (r, res)))
        .collect();
    let rows: BTreeSet<String> = finished.iter().map(|(_, r)| configuration(r)).collect();
    let columns: BTreeSet<String> = finished.iter().map(|(_, r)| r.task.clone()).collect();
    let header = |s: &String| Header {
        id: s.clone(),
        label: s.clone(),
    };
    let layout = TableLayout {
        id: RUNS_TABLE.into(),
        title: "Test accuracy by configuration (no suite.json: runs are not tied to paper cells)"
            .into(),
        source: None,
        rows: rows.iter().map(header).collect(),
        columns: columns.iter().map(header).collect(),
        paper: None,
    };
    let observations = finished
        .iter()
        .map(|(run, result)| Observation {
            table: RUNS_TABLE.into(),
            row: configuration(result),
            column: result.task.clone(),
            metric: Metric::TestAccuracy,
            run: run.id.clone(),
            lr: recorded_lr(result),
            seed: result.seed,
            model: result.model.clone(),
            value: Some(100.0 * result.test_accuracy),
            bound: Bound::Exact,
            validation: result.validation_accuracy,
            diverged: result.diverged,
            sampled: result.sampled_eval,
            sampling_sd: 0.0,
            data_sha256: result.data_sha256.clone(),
            predictions: run.predictions.clone(),
            finished: true,
        })
        .collect();
    (layout, observations)
}
