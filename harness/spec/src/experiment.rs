//! Experiment specs: one TOML file per paper table under `experiments/tables/`, saying which
//! runs reproduce which of its cells, and which cells are derived from others, fixed by the
//! model, or unsupported (with the reason). Models are the paper's; a profile
//! (`experiments/profiles/`) may run stand-ins and decides steps, batch sizes and data.
//!
//! Adding a table to reproduce means adding a file here, not code.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::freeze::FreezePolicy;
use crate::reference::PaperTable;
use crate::task::TASK_NAMES;

#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid {what}: {reason}")]
    Invalid {
        path: String,
        what: &'static str,
        reason: String,
    },
    #[error(
        "no experiments folder at {0}; pass --experiments DIR (the repository's experiments/)"
    )]
    NoFolder(String),
}

pub use crate::schema::Metric;

/// How a row's backbone starts, in a table spec.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum InitSpec {
    /// `pretrained`, `random` or `stats`.
    Named(String),
    PretrainedOn(PretrainedOn),
}

/// `{ pretrained_on = "TASK" }`: the backbone of a run that first trained all of the same
/// model on this task (at the profile's settings for that task and its first learning rate).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PretrainedOn {
    pub pretrained_on: String,
}

/// Runs for a block of cells: every listed row x every listed column (all when absent).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellGroup {
    pub rows: Option<Vec<String>>,
    pub columns: Option<Vec<String>>,
    /// The task; by default the cell's column, else its row, whichever names a task.
    pub task: Option<String>,
    /// The paper's model (a profile may substitute a stand-in).
    pub model: String,
    /// Keep only the first N blocks of the model.
    pub layers: Option<usize>,
    pub init: InitSpec,
    pub freeze: FreezePolicy,
    #[serde(default)]
    pub metric: Metric,
    /// Learning rates to sweep (chosen on validation accuracy); the profile's otherwise.
    pub lr: Option<Vec<f64>>,
}

/// A cell by row and column; either defaults to the derived cell's own.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellPointer {
    pub row: Option<String>,
    pub column: Option<String>,
}

/// Cells computed as the ratio of two other cells (e.g. the speed-up rows).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DerivedGroup {
    pub rows: Option<Vec<String>>,
    pub columns: Option<Vec<String>>,
    pub numerator: CellPointer,
    pub denominator: CellPointer,
    /// Take this metric of the referenced cells' runs rather than the cells' own.
    pub metric: Option<Metric>,
}

/// Cells that state a property of the model rather than a result (e.g. its layers).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedGroup {
    pub rows: Option<Vec<String>>,
    pub columns: Option<Vec<String>>,
    /// The number of layers of this model (or of the profile's stand-in for it).
    pub layers_of: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnsupportedGroup {
    pub rows: Option<Vec<String>>,
    pub columns: Option<Vec<String>>,
    pub reason: String,
}

/// One table's spec file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    /// The table's id in experiments/paper.toml.
    pub table: String,
    pub about: String,
    #[serde(default)]
    pub cells: Vec<CellGroup>,
    #[serde(default)]
    pub derived: Vec<DerivedGroup>,
    #[serde(default)]
    pub fixed: Vec<FixedGroup>,
    #[serde(default)]
    pub unsupported: Vec<UnsupportedGroup>,
}

/// A (row, column) of a table.
pub type Cell = (String, String);

/// The cells a group's rows and columns select in `paper`, row-major.
pub fn select(
    paper: &PaperTable,
    rows: &Option<Vec<String>>,
    columns: &Option<Vec<String>>,
) -> Vec<Cell> {
    let all_rows: Vec<&String> = paper.rows.iter().map(|r| &r.id).collect();
    let rows: Vec<&String> = rows.as_ref().map_or(all_rows, |r| r.iter().collect());
    let columns: Vec<&String> = columns
        .as_ref()
        .map_or_else(|| paper.columns.iter().collect(), |c| c.iter().collect());
    rows.iter()
        .flat_map(|r| columns.iter().map(|c| ((*r).clone(), (*c).clone())))
        .collect()
}

impl CellGroup {
    /// Every cell it selects names a task, and its init, metric and learning rates are valid.
    fn check(&self, paper: &PaperTable) -> Result<(), String> {
        for (row, column) in select(paper, &self.rows, &self.columns) {
            if self.task_of((&row, &column)).is_none() {
                return Err(format!(
                    "cell ({row}, {column}) names no task; add task = \"...\" (tasks: {})",
                    TASK_NAMES.join(", ")
                ));
            }
        }
        if let Some(task) = &self.task {
            if !TASK_NAMES.contains(&task.as_str()) {
                return Err(format!("unknown task '{task}'"));
            }
        }
        match &self.init {
            InitSpec::Named(name)
                if !["pretrained", "random", "stats"].contains(&name.as_str()) =>
            {
                return Err(format!(
                    "init '{name}': use pretrained, random, stats or {{ pretrained_on = \"TASK\" }}"
                ))
            }
            InitSpec::PretrainedOn(PretrainedOn {
                pretrained_on: task,
            }) if !TASK_NAMES.contains(&task.as_str()) => {
                return Err(format!("init pretrained_on: unknown task '{task}'"))
            }
            _ => {}
        }
        if let Metric::StepsToTarget { target } = self.metric {
            if !(target > 0.0 && target <= 1.0) {
                return Err(format!(
                    "steps-to-target: target {target} must lie in (0, 1]"
                ));
            }
        }
        if self.lr.as_ref().is_some_and(|lrs| {
            lrs.is_empty() || lrs.iter().any(|lr| !(lr.is_finite() && *lr > 0.0))
        }) {
            return Err("lr must list positive learning rates".into());
        }
        Ok(())
    }

    /// The task of cell (row, column).
    pub fn task_of(&self, (row, column): (&str, &str)) -> Option<String> {
        if let Some(task) = &self.task {
            return Some(task.clone());
        }
        [column, row]
            .into_iter()
            .find(|name| TASK_NAMES.contains(name))
            .map(str::to_string)
    }
}

impl TableSpec {
    /// Checks every row and column named exists in the paper's table, every cell has a
    /// task, and inits and metrics make sense.
    fn check(&self, paper: &PaperTable) -> Result<(), String> {
        for (rows, columns) in self.selections() {
            check_selection(paper, rows, columns)?;
        }
        for g in &self.cells {
            g.check(paper)?;
        }
        for g in &self.derived {
            for p in [&g.numerator, &g.denominator] {
                check_selection(
                    paper,
                    &p.row.clone().map(|r| vec![r]),
                    &p.column.clone().map(|c| vec![c]),
                )?;
            }
        }
        Ok(())
    }

    /// The rows and columns every group of the spec selects, whatever its kind.
    fn selections(&self) -> impl Iterator<Item = (&Option<Vec<String>>, &Option<Vec<String>>)> {
        let cells = self.cells.iter().map(|g| (&g.rows, &g.columns));
        let derived = self.derived.iter().map(|g| (&g.rows, &g.columns));
        let fixed = self.fixed.iter().map(|g| (&g.rows, &g.columns));
        let unsupported = self.unsupported.iter().map(|g| (&g.rows, &g.columns));
        cells.chain(derived).chain(fixed).chain(unsupported)
    }

    /// Cells of `paper` that no group of this spec mentions.
    pub fn uncovered(&self, paper: &PaperTable) -> Vec<Cell> {
        let covered: Vec<Cell> = self
            .selections()
            .flat_map(|(rows, columns)| select(paper, rows, columns))
            .collect();
        select(paper, &None, &None)
            .into_iter()
            .filter(|c| !covered.contains(c))
            .collect()
    }
}

/// Where the experiment files are: `--experiments DIR`, else `./experiments`, else the
/// source tree's (this binary was built from it).
pub fn folder(given: Option<&Path>) -> Result<PathBuf, ExperimentError> {
    let candidates: Vec<PathBuf> = match given {
        Some(dir) => vec![dir.to_path_buf()],
        None => vec![
            PathBuf::from("experiments"),
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments"),
        ],
    };
    candidates
        .iter()
        .find(|dir| dir.join("tables").is_dir())
        .cloned()
        .ok_or_else(|| ExperimentError::NoFolder(candidates[0].display().to_string()))
}

/// Reads a TOML file into `T`, naming the file in errors.
pub fn read_toml<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &'static str,
) -> Result<T, ExperimentError> {
    let text = std::fs::read_to_string(path).map_err(|source| ExperimentError::Io {
        path: path.display().to_string(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ExperimentError::Invalid {
        path: path.display().to_string(),
        what,
        reason: e.to_string(),
    })
}

/// Every table spec in `<folder>/tables/`, keyed by table id, each checked against the
/// paper's table of that id.
pub fn load_tables(
    folder: &Path,
    paper: &[PaperTable],
) -> Result<BTreeMap<String, TableSpec>, ExperimentError> {
    let dir = folder.join("tables");
    let io = |source| ExperimentError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut specs = BTreeMap::new();
    for path in files {
        let spec: TableSpec = read_toml(&path, "table spec")?;
        let invalid = |reason: String| ExperimentError::Invalid {
            path: path.display().to_string(),
            what: "table spec",
            reason,
        };
        let table = paper.iter().find(|t| t.id == spec.table).ok_or_else(|| {
            invalid(format!(
                "table '{}' is not in experiments/paper.toml",
                spec.table
            ))
        })?;
        if path.file_stem().and_then(|s| s.to_str()) != Some(spec.table.as_str()) {
            return Err(invalid(format!(
                "the file of table '{}' must be named {}.toml",
                spec.table, spec.table
            )));
        }
        spec.check(table).map_err(invalid)?;
        specs.insert(spec.table.clone(), spec);
    }
    Ok(specs)
}
/// Every row and column named is one of the paper table's.
fn check_selection(
    paper: &PaperTable,
    rows: &Option<Vec<String>>,
    columns: &Option<Vec<String>>,
) -> Result<(), String> {
    let known_rows: Vec<&str> = paper.rows.iter().map(|r| r.id.as_str()).collect();
    for r in rows.iter().flatten() {
        if !known_rows.contains(&r.as_str()) {
            return Err(format!(
                "row '{r}' is not in the paper's table (rows: {})",
                known_rows.join(", ")
            ));
        }
    }
    for c in columns.iter().flatten() {
        if !paper.columns.contains(c) {
            return Err(format!(
                "column '{c}' is not in the paper's table (columns: {})",
                paper.columns.join(", ")
            ));
        }
    }
    Ok(())
}
