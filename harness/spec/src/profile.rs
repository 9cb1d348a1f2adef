//! Profiles: `experiments/profiles/<name>.toml`. A profile says which tables (rows,
//! columns) it runs, which stand-in runs for each of the paper's models, each task's data
//! and training settings, how many seeds, and how it differs from the paper.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::architecture::Architecture;
use crate::experiment::{read_toml, select, Cell, ExperimentError, TableSpec};
use crate::reference::PaperTable;
use crate::settings::Settings;
use crate::task::TASK_NAMES;

/// A table (or some of its rows and columns) a profile runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Include {
    pub table: String,
    pub rows: Option<Vec<String>>,
    pub columns: Option<Vec<String>>,
    /// Judge these cells against the paper's numbers although their setup differs from the
    /// paper profile's, for this reason (shown with the differences beside the verdict).
    #[serde(default)]
    pub comparable: Option<String>,
    /// The paper's model -> the model these cells run, over the profile's `[models]` (e.g.
    /// a pretrained stand-in for a few cells of a profile whose other cells need none).
    #[serde(default)]
    pub models: BTreeMap<String, String>,
    /// Training settings of these cells, over their task's (e.g. fewer steps for a larger
    /// stand-in that reaches its plateau sooner).
    #[serde(default)]
    pub settings: Settings,
}

impl Include {
    fn selects(&self, paper: &PaperTable, (row, column): (&str, &str)) -> bool {
        self.table == paper.id
            && select(paper, &self.rows, &self.columns)
                .iter()
                .any(|(r, c)| r == row && c == column)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSpec {
    pub name: String,
    /// One line on what the profile runs.
    pub description: String,
    /// How it departs from the paper (models, data, steps), for reports.
    pub differences: String,
    /// Seeds per configuration.
    pub seeds: u64,
    /// Runs at once by default (threads are split between them).
    #[serde(default = "one")]
    pub jobs: usize,
    /// The paper's model -> the model this profile runs in its place.
    #[serde(default)]
    pub models: BTreeMap<String, String>,
    /// Models this profile does not run, with the reason.
    #[serde(default)]
    pub skip_models: BTreeMap<String, String>,
    /// Tasks this profile does not run, with the reason.
    #[serde(default)]
    pub skip_tasks: BTreeMap<String, String>,
    pub include: Vec<Include>,
    #[serde(default)]
    pub defaults: Settings,
    /// Per task (by the paper's column name): its data and settings.
    pub tasks: BTreeMap<String, Settings>,
}

fn one() -> usize {
    1
}

impl ProfileSpec {
    /// The model that runs for the paper's `model` in cell (row, column) of `paper`, or why
    /// none does: an include of the cell that maps the model wins over `[models]`.
    pub fn stand_in(
        &self,
        model: &str,
        paper: &PaperTable,
        cell: (&str, &str),
    ) -> Result<String, String> {
        if let Some(mapped) = self
            .including(paper, cell)
            .into_iter()
            .find_map(|i| i.models.get(model))
        {
            return Ok(mapped.clone());
        }
        if let Some(reason) = self.skip_models.get(model) {
            return Err(reason.clone());
        }
        Ok(self
            .models
            .get(model)
            .cloned()
            .unwrap_or_else(|| model.to_string()))
    }

    /// The settings of `task`, or why the profile does not run it.
    pub fn task_settings(&self, task: &str) -> Result<Settings, String> {
        if let Some(reason) = self.skip_tasks.get(task) {
            return Err(reason.clone());
        }
        self.tasks
            .get(task)
            .map(|s| s.over(&self.defaults))
            .ok_or_else(|| format!("the {} profile has no settings for {task}", self.name))
    }

    /// The settings of cell (row, column) of `paper`, a cell of `task`: an include's own
    /// settings over the task's (the first include of the cell that sets a field wins).
    pub fn cell_settings(
        &self,
        task: &str,
        paper: &PaperTable,
        cell: (&str, &str),
    ) -> Result<Settings, String> {
        let task_settings = self.task_settings(task)?;
        Ok(self
            .including(paper, cell)
            .into_iter()
            .rev()
            .fold(task_settings, |base, i| i.settings.over(&base)))
    }

    /// The includes of this profile that select cell (row, column) of `paper`.
    fn including(&self, paper: &PaperTable, cell: (&str, &str)) -> Vec<&Include> {
        self.include
            .iter()
            .filter(|i| i.selects(paper, cell))
            .collect()
    }

    /// Why this profile declares cell (row, column) of `table` comparable with the paper's
    /// setup, when one of its includes does.
    pub fn declared_comparable(&self, paper: &PaperTable, cell: (&str, &str)) -> Option<&str> {
        self.including(paper, cell)
            .into_iter()
            .find_map(|i| i.comparable.as_deref())
    }

    /// Whether an include of this profile selects cell (row, column) of `table`.
    pub fn includes(&self, paper: &PaperTable, cell: (&str, &str)) -> bool {
        !self.including(paper, cell).is_empty()
    }

    fn check(
        &self,
        tables: &BTreeMap<String, TableSpec>,
        paper: &[PaperTable],
    ) -> Result<(), String> {
        if self.seeds == 0 || self.jobs == 0 {
            return Err("seeds and jobs must be at least 1".into());
        }
        if self.defaults.task.is_some() {
            return Err("[defaults] cannot name a task; give it under [tasks.NAME]".into());
        }
        let mapped = self.include.iter().flat_map(|i| &i.models);
        for (paper_model, model) in self.models.iter().chain(mapped) {
            Architecture::named(model)
                .map_err(|e| format!("models: {paper_model} = \"{model}\": {e}"))?;
        }
        for task in self.skip_tasks.keys().chain(self.tasks.keys()) {
            if !TASK_NAMES.contains(&task.as_str()) {
                return Err(format!(
                    "unknown task '{task}'; tasks: {}",
                    TASK_NAMES.join(", ")
                ));
            }
        }
        for (name, settings) in &self.tasks {
            check_task_settings(name, settings, &self.defaults)?;
        }
        for include in &self.include {
            check_include(include, tables, paper)?;
        }
        Ok(())
    }
}

/// `[tasks.NAME]` holds a valid task of that name and positive learning rates.
fn check_task_settings(name: &str, settings: &Settings, defaults: &Settings) -> Result<(), String> {
    let task = settings
        .task
        .ok_or_else(|| format!("[tasks.{name}] needs task = {{ name = \"{name}\", ... }}"))?;
    if task.name() != name {
        return Err(format!("[tasks.{name}] holds a {} task", task.name()));
    }
    task.check().map_err(|e| format!("[tasks.{name}]: {e}"))?;
    let lrs = settings.over(defaults).lr.unwrap_or_default();
    if lrs.is_empty() || lrs.iter().any(|lr| !(lr.is_finite() && *lr > 0.0)) {
        return Err(format!(
            "[tasks.{name}]: lr must list positive learning rates"
        ));
    }
    Ok(())
}

/// An include names a table with a spec, and rows and columns that table has.
fn check_include(
    include: &Include,
    tables: &BTreeMap<String, TableSpec>,
    paper: &[PaperTable],
) -> Result<(), String> {
    if !tables.contains_key(&include.table) {
        return Err(format!(
            "include: no spec for table '{}' in experiments/tables/",
            include.table
        ));
    }
    let table = paper
        .iter()
        .find(|t| t.id == include.table)
        .expect("table specs are checked against the paper");
    for r in include.rows.iter().flatten() {
        if !table.rows.iter().any(|row| &row.id == r) {
            return Err(format!("include: table {} has no row '{r}'", table.id));
        }
    }
    for c in include.columns.iter().flatten() {
        if !table.columns.contains(c) {
            return Err(format!("include: table {} has no column '{c}'", table.id));
        }
    }
    if include.settings.task.is_some() {
        return Err(format!(
            "include: table {}: settings cannot name a task; give it under [tasks.NAME]",
            table.id
        ));
    }
    if include
        .comparable
        .as_deref()
        .is_some_and(|r| r.trim().is_empty())
    {
        return Err(format!(
            "include: table {}: comparable needs a reason (why these cells match the paper's setup)",
            table.id
        ));
    }
    Ok(())
}

/// The profiles in `<folder>/profiles/`, by name.
pub fn names(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder.join("profiles"))
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let path = e.ok()?.path();
            (path.extension()? == "toml").then(|| path.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    names.sort();
    names
}

/// The file of profile `name`.
pub fn path(folder: &Path, name: &str) -> std::path::PathBuf {
    folder.join("profiles").join(format!("{name}.toml"))
}

/// Reads and checks profile `name`.
pub fn load(
    folder: &Path,
    name: &str,
    tables: &BTreeMap<String, TableSpec>,
    paper: &[PaperTable],
) -> Result<ProfileSpec, ExperimentError> {
    let path = path(folder, name);
    if !path.is_file() {
        return Err(ExperimentError::Invalid {
            path: path.display().to_string(),
            what: "profile",
            reason: format!(
                "no such profile '{name}'; profiles: {}",
                names(folder).join(", ")
            ),
        });
    }
    let profile: ProfileSpec = read_toml(&path, "profile")?;
    let invalid = |reason: String| ExperimentError::Invalid {
        path: path.display().to_string(),
        what: "profile",
        reason,
    };
    if profile.name != name {
        return Err(invalid(format!(
            "name = \"{}\" but the file is {name}.toml",
            profile.name
        )));
    }
    profile.check(tables, paper).map_err(invalid)?;
    Ok(profile)
}

/// Cells of a table a profile includes, for listing what it leaves out.
pub fn included_cells(profile: &ProfileSpec, paper: &PaperTable) -> Vec<Cell> {
    select(paper, &None, &None)
        .into_iter()
        .filter(|(r, c)| profile.includes(paper, (r, c)))
        .collect()
}
