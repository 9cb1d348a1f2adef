//! suite.json: which paper table cell each run serves, written by `fpt reproduce`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::ReportError;
use crate::load::{parse_json, read_optional};
use crate::reference::PaperTable;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Suite {
    pub profile: String,
    #[serde(default)]
    pub description: String,
    /// How this profile departs from the paper.
    #[serde(default)]
    pub differences: String,
    #[serde(default)]
    pub seeds: u64,
    #[serde(default)]
    pub device: String,
    #[serde(default)]
    pub machine: Machine,
    #[serde(default)]
    pub created: Option<String>,
    /// Table ids of experiments/paper.toml, in report order.
    #[serde(default)]
    pub tables: Vec<String>,
    #[serde(default)]
    pub runs: Vec<SuiteRun>,
    #[serde(default)]
    pub derived: Vec<DerivedCell>,
    #[serde(default)]
    pub fixed: Vec<FixedCell>,
    #[serde(default)]
    pub unsupported: Vec<ExcludedCell>,
    #[serde(default)]
    pub not_in_profile: Vec<ExcludedCell>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Machine {
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub cpu: String,
    #[serde(default)]
    pub cores: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SuiteRun {
    /// The run's sub-directory name.
    pub id: String,
    #[serde(default)]
    pub lr: Option<f64>,
    pub seed: u64,
    #[serde(default)]
    pub cells: Vec<CellUse>,
}

/// One paper cell a run's numbers go into, and which number.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CellUse {
    pub table: String,
    pub row: String,
    pub column: String,
    pub metric: Metric,
}

impl CellUse {
    pub fn at(cell: &CellRef, metric: Metric) -> Self {
        CellUse {
            table: cell.table.clone(),
            row: cell.row.clone(),
            column: cell.column.clone(),
            metric,
        }
    }

    pub fn cell_ref(&self) -> CellRef {
        CellRef::new(&self.table, &self.row, &self.column)
    }
}

/// What a cell reads from its runs. Defined here, where suite.json is read, and written by
/// the harness's experiment specs and suite expansion with this same type.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Metric {
    /// Accuracy on the run's evaluation split.
    #[default]
    TestAccuracy,
    /// Accuracy on the last window of training batches.
    TrainAccuracy,
    TrainableParams,
    TotalParams,
    SecondsPerStep,
    /// The first evaluated step whose test accuracy reaches `target` (0..1).
    StepsToTarget {
        target: f64,
    },
}

impl Metric {
    /// The name used in the CSV files and the page.
    pub fn label(&self) -> String {
        match self {
            Metric::TestAccuracy => "test-accuracy".into(),
            Metric::TrainAccuracy => "train-accuracy".into(),
            Metric::TrainableParams => "trainable-params".into(),
            Metric::TotalParams => "total-params".into(),
            Metric::SecondsPerStep => "seconds-per-step".into(),
            Metric::StepsToTarget { target } => format!("steps-to-{}%", 100.0 * target),
        }
    }

    pub fn unit(&self) -> Unit {
        match self {
            Metric::TestAccuracy | Metric::TrainAccuracy => Unit::Percent,
            Metric::TrainableParams | Metric::TotalParams => Unit::Params,
            Metric::SecondsPerStep => Unit::Seconds,
            Metric::StepsToTarget { .. } => Unit::Steps,
        }
    }
}

/// What a cell's number counts, which decides how it is compared with the paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Accuracy in percent (ours is accuracy × 100).
    Percent,
    Steps,
    Params,
    Seconds,
    Ratio,
    /// A value given by the suite as text (e.g. a layer count).
    Text,
}

impl Unit {
    pub fn name(&self) -> &'static str {
        match self {
            Unit::Percent => "percent",
            Unit::Steps => "steps",
            Unit::Params => "params",
            Unit::Seconds => "seconds",
            Unit::Ratio => "ratio",
            Unit::Text => "text",
        }
    }

    pub fn from_name(name: &str) -> Option<Unit> {
        [
            Unit::Percent,
            Unit::Steps,
            Unit::Params,
            Unit::Seconds,
            Unit::Ratio,
            Unit::Text,
        ]
        .into_iter()
        .find(|u| u.name() == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub struct CellRef {
    pub table: String,
    pub row: String,
    pub column: String,
}

impl CellRef {
    pub fn new(table: &str, row: &str, column: &str) -> Self {
        CellRef {
            table: table.into(),
            row: row.into(),
            column: column.into(),
        }
    }
}

/// A cell that is the ratio of two other cells' aggregated values (a speed-up).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DerivedCell {
    pub table: String,
    pub row: String,
    pub column: String,
    pub numerator: CellRef,
    pub denominator: CellRef,
    /// Take this metric of the referenced cells' runs rather than the cells' own (e.g. the
    /// seconds per step of the runs behind two accuracy cells).
    #[serde(default)]
    pub metric: Option<Metric>,
}

impl DerivedCell {
    /// The cells the ratio reads: the referenced ones, or, with its own metric, the
    /// companion cells [`companion`] names.
    pub fn parts(&self) -> (CellRef, CellRef) {
        match self.metric {
            Some(metric) => (
                companion(&self.numerator, metric),
                companion(&self.denominator, metric),
            ),
            None => (self.numerator.clone(), self.denominator.clone()),
        }
    }
}

/// A cell measuring `metric` on the runs behind `cell` (not one of the paper's cells; it
/// feeds derived ratios only).
pub fn companion(cell: &CellRef, metric: Metric) -> CellRef {
    CellRef {
        column: format!("{}#{}", cell.column, metric.label()),
        ..cell.clone()
    }
}

/// A cell whose value is a fact of the profile, not a measurement (e.g. a layer count).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FixedCell {
    pub table: String,
    pub row: String,
    pub column: String,
    pub value: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// A cell the suite does not run, and why.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ExcludedCell {
    pub table: String,
    pub row: String,
    pub column: String,
    pub reason: String,
}

/// Reads `runs_dir/suite.json`, `None` when there is none; every table and cell it names
/// must exist in the paper's tables.
pub fn load_suite(runs_dir: &Path, paper: &[PaperTable]) -> Result<Option<Suite>, ReportError> {
    let path = runs_dir.join("suite.json");
    let Some(text) = read_optional(&path)? else {
        return Ok(None);
    };
    let suite: Suite = parse_json(&path, &text)?;
    check_cells(&suite, paper).map_err(|reason| ReportError::malformed(&path, reason))?;
    Ok(Some(suite))
}

fn check_cells(suite: &Suite, paper: &[PaperTable]) -> Result<(), String> {
    let table = |id: &str| paper.iter().find(|t| t.id == id);
    for id in &suite.tables {
        if table(id).is_none() {
            return Err(format!("table {id:?} is not in experiments/paper.toml"));
        }
    }
    let check = |what: &str, t: &str, r: &str, c: &str| -> Result<(), String> {
        let exists = table(t).and_then(|t| t.cell(r, c)).is_some();
        if !exists {
            return Err(format!(
                "{what} names cell ({t}, {r}, {c}), which experiments/paper.toml does not have"
            ));
        }
        if !suite.tables.iter().any(|id| id == t) {
            return Err(format!(
                "{what} names table {t:?}, which is not in the suite's \"tables\""
            ));
        }
        Ok(())
    };
    for run in &suite.runs {
        for cell in &run.cells {
            check(
                &format!("run {:?}", run.id),
                &cell.table,
                &cell.row,
                &cell.column,
            )?;
            if let Metric::StepsToTarget { target } = cell.metric {
                if !(0.0..=1.0).contains(&target) {
                    return Err(format!(
                        "run {:?}: steps-to-target target {target} is not in 0..1",
                        run.id
                    ));
                }
            }
        }
    }
    for d in &suite.derived {
        check("a derived cell", &d.table, &d.row, &d.column)?;
        for part in [&d.numerator, &d.denominator] {
            check(
                "a derived cell's part",
                &part.table,
                &part.row,
                &part.column,
            )?;
        }
    }
    for f in &suite.fixed {
        check("a fixed cell", &f.table, &f.row, &f.column)?;
    }
    for e in suite.unsupported.iter().chain(&suite.not_in_profile) {
        check("an excluded cell", &e.table, &e.row, &e.column)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Option<Suite>, ReportError> {
        let dir = std::env::temp_dir().join(format!(
            "fpt-reports-suite-{}-{}",
            std::process::id(),
            text.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("suite.json"), text).unwrap();
        let suite = load_suite(&dir, &crate::reference::tables().unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
        suite
    }

    #[test]
    fn metrics_read_by_kind() {
        let suite = load(
            r#"{"profile":"quick","tables":["compute-efficiency"],"runs":[{"id":"r","lr":0.001,"seed":1,
              "cells":[{"table":"compute-efficiency","row":"fpt","column":"bit-xor",
                        "metric":{"kind":"steps-to-target","target":0.99}}]}]}"#,
        )
        .unwrap()
        .unwrap();
        let metric = suite.runs[0].cells[0].metric;
        assert_eq!(metric, Metric::StepsToTarget { target: 0.99 });
        assert_eq!(metric.label(), "steps-to-99%");
        assert_eq!(metric.unit(), Unit::Steps);
    }

    #[test]
    fn malformed_suites_are_named() {
        let err = load("{\"profile\": 3}").unwrap_err().to_string();
        assert!(err.contains("suite.json"), "{err}");
        let err = load(r#"{"profile":"q","tables":["modality"],"runs":[{"id":"r","seed":0,
            "cells":[{"table":"modality","row":"fpt","column":"cifar100","metric":{"kind":"test-accuracy"}}]}]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("suite.json") && err.contains("(modality, fpt, cifar100)"),
            "{err}"
        );
        let err = load(r#"{"profile":"q","tables":["no-such-table"]}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"no-such-table\""), "{err}");
    }
}
