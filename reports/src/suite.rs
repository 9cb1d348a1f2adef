//! suite.json: which paper table cell each run serves, written by `fpt reproduce` and read
//! as the `spec` crate's [`SuiteManifest`]; and what each metric's number counts.

use std::path::Path;

use spec::run_dir::{self, read_manifest};
use spec::schema::{CellRef, Metric, SuiteManifest};

use crate::error::ReportError;
use crate::reference::PaperTable;

/// What a metric's number counts.
pub fn unit(metric: Metric) -> Unit {
    match metric {
        Metric::TestAccuracy | Metric::TrainAccuracy => Unit::Percent,
        Metric::TrainableParams | Metric::TotalParams => Unit::Params,
        Metric::SecondsPerStep => Unit::Seconds,
        Metric::StepsToTarget { .. } => Unit::Steps,
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

/// Reads `runs_dir/suite.json`, `None` when there is none; every table and cell it names
/// must exist in the paper's tables.
pub fn load_suite(
    runs_dir: &Path,
    paper: &[PaperTable],
) -> Result<Option<SuiteManifest>, ReportError> {
    let path = runs_dir.join(run_dir::MANIFEST);
    let Some(suite) = read_manifest(&path)? else {
        return Ok(None);
    };
    check_cells(&suite, paper).map_err(|reason| ReportError::malformed(&path, reason))?;
    Ok(Some(suite))
}

fn check_cells(suite: &SuiteManifest, paper: &[PaperTable]) -> Result<(), String> {
    let table = |id: &str| paper.iter().find(|t| t.id == id);
    for id in &suite.tables {
        if table(id).is_none() {
            return Err(format!("table {id:?} is not in experiments/paper.toml"));
        }
    }
    let check = |what: &str, cell: &CellRef| -> Result<(), String> {
        let (t, r, c) = (&cell.table, &cell.row, &cell.column);
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
            check(&format!("run {:?}", run.id), &cell.cell)?;
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
        check("a derived cell", &d.cell)?;
        for part in [&d.numerator, &d.denominator] {
            check("a derived cell's part", part)?;
        }
    }
    for f in &suite.fixed {
        check("a fixed cell", &f.cell)?;
    }
    for e in suite.unsupported.iter().chain(&suite.not_in_profile) {
        check("an excluded cell", &e.cell)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use spec::schema::{CellUse, Machine, ManifestRun, SCHEMA_VERSION};

    use super::*;

    /// A suite of `tables` with one run serving `cells`.
    fn suite(tables: &[&str], cells: Vec<CellUse>) -> SuiteManifest {
        SuiteManifest {
            schema_version: SCHEMA_VERSION,
            profile: "quick".into(),
            description: String::new(),
            differences: String::new(),
            seeds: 1,
            device: "cpu".into(),
            machine: Machine {
                hostname: "host".into(),
                os: "linux".into(),
                cpu: "cpu".into(),
                cores: 2,
            },
            created: "2026-01-01T00:00:00Z".into(),
            tables: tables.iter().map(|t| t.to_string()).collect(),
            runs: vec![ManifestRun {
                id: "r".into(),
                lr: 1e-3,
                seed: 1,
                cells,
            }],
            derived: Vec::new(),
            fixed: Vec::new(),
            unsupported: Vec::new(),
            not_in_profile: Vec::new(),
            not_comparable: Vec::new(),
            declared_comparable: Vec::new(),
        }
    }

    fn load_text(name: &str, text: &str) -> Result<Option<SuiteManifest>, ReportError> {
        let dir =
            std::env::temp_dir().join(format!("fpt-reports-suite-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(run_dir::MANIFEST), text).unwrap();
        let suite = load_suite(&dir, &crate::reference::tables().unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
        suite
    }

    fn load(name: &str, suite: &SuiteManifest) -> Result<Option<SuiteManifest>, ReportError> {
        load_text(name, &serde_json::to_string(suite).unwrap())
    }

    fn error(name: &str, suite: &SuiteManifest) -> String {
        load(name, suite).unwrap_err().to_string()
    }

    #[test]
    fn metrics_read_by_kind() {
        let steps = Metric::StepsToTarget { target: 0.99 };
        let cell = CellRef::new("compute-efficiency", "fpt", "bit-xor");
        let written = suite(&["compute-efficiency"], vec![CellUse::at(&cell, steps)]);
        let read = load("kind", &written).unwrap().unwrap();
        assert_eq!(read, written);
        let metric = read.runs[0].cells[0].metric;
        assert_eq!(metric, steps);
        assert_eq!(metric.label(), "steps-to-99%");
        assert_eq!(unit(metric), Unit::Steps);
    }

    #[test]
    fn malformed_suites_are_named() {
        let err = load_text("malformed", "{\"profile\": 3}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("suite.json"), "{err}");
        let cifar100 = CellRef::new("modality", "fpt", "cifar100");
        let unknown = suite(
            &["modality"],
            vec![CellUse::at(&cifar100, Metric::TestAccuracy)],
        );
        let err = error("unknown-cell", &unknown);
        assert!(
            err.contains("suite.json") && err.contains("(modality, fpt, cifar100)"),
            "{err}"
        );
        let err = error("unknown-table", &suite(&["no-such-table"], Vec::new()));
        assert!(err.contains("\"no-such-table\""), "{err}");
        let far = Metric::StepsToTarget { target: 95.0 };
        let cell = CellRef::new("compute-efficiency", "fpt", "bit-xor");
        let err = error(
            "target",
            &suite(&["compute-efficiency"], vec![CellUse::at(&cell, far)]),
        );
        assert!(err.contains("target 95 is not in 0..1"), "{err}");
    }

    #[test]
    fn a_suite_from_a_newer_schema_is_refused_and_named() {
        let newer = SuiteManifest {
            schema_version: SCHEMA_VERSION + 1,
            ..suite(&[], Vec::new())
        };
        let err = error("newer", &newer);
        assert!(
            err.contains("suite.json") && err.contains("schema_version"),
            "{err}"
        );
    }
}
