//! The run directory's files as types: what the harness writes and reports read, defined
//! once. result.json ([`RunResult`]), each line of metrics.jsonl ([`EvalRecord`]),
//! attention.json ([`AttentionMaps`]) and the suite's suite.json ([`SuiteManifest`]).
//! result.json and suite.json carry a `schema_version`; a reader refuses a newer one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{GroupCount, InitKind};

/// The layout written now. Raise it when a field changes meaning or a required field is
/// added, so an older reader refuses the files instead of misreading them.
///
/// 2: suite.json lists the cells that are not comparable with the paper's setup
/// ([`SuiteManifest::not_comparable`]); a reader treats every cell of an older suite as not
/// comparable, since nobody checked.
///
/// 3: result.json's `seconds_per_step` times the gradient steps alone (feature caching is
/// `feature_cache_seconds`; before, it was included), and metrics.jsonl may hold
/// learning-curve points scored on a subset ([`EvalRecord::curve_point`]).
pub const SCHEMA_VERSION: u32 = 3;

/// The first version whose suite.json records comparability.
pub const COMPARABILITY_VERSION: u32 = 2;

/// Why a file's `schema_version` cannot be read by this build.
pub fn check_version(found: u32) -> Result<(), String> {
    if found > SCHEMA_VERSION {
        Err(format!(
            "schema_version {found} was written by a newer fpt (this one reads up to {SCHEMA_VERSION}); update fpt"
        ))
    } else {
        Ok(())
    }
}

/// One training step, a line of steps.jsonl: its batch's mean loss (dropout on) and the
/// gradient norm before clipping. Only finite steps are written: a run stops at the first
/// that is not (result.json records where).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub step: u64,
    pub loss: f64,
    pub grad_norm: f64,
}

/// One evaluation, a line of metrics.jsonl.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalRecord {
    pub step: u64,
    /// Mean training loss over the steps since the previous full evaluation (curve points
    /// do not restart it).
    pub train_loss: Option<f64>,
    /// Accuracy on the training batches since the previous evaluation (dropout on).
    pub train_accuracy: Option<f64>,
    /// JSON has no NaN: a non-finite loss is written as null and read back as NaN.
    #[serde(deserialize_with = "nan_if_null")]
    pub test_loss: f64,
    pub test_accuracy: f64,
    pub wall_seconds: f64,
    /// Examples scored (absent in metrics written before it was recorded): the sampling
    /// error of `test_accuracy` follows from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub examples: Option<u64>,
    /// A learning-curve point on `examples` examples spread evenly over the evaluated set
    /// (`curve_every`): it never sets the run's accuracy.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub curve_point: bool,
}

impl std::fmt::Display for Versions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "fpt {}", self.fpt)?;
        if let Some(commit) = &self.commit {
            let short: String = commit.chars().take(12).collect();
            write!(f, " ({short})")?;
        }
        write!(f, ", tch {}, torch {}", self.tch, self.torch)
    }
}

fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Versions {
    pub fpt: String,
    /// The harness's git commit at build time (absent outside a checkout, and in results
    /// written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub tch: String,
    pub torch: String,
}

/// result.json: the run's final numbers and how they were produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// The layout of this file ([`SCHEMA_VERSION`]; 0: written before the field existed,
    /// with the same fields).
    #[serde(default)]
    pub schema_version: u32,
    pub task: String,
    pub model: String,
    pub init: InitKind,
    pub freeze: String,
    pub seed: u64,
    pub profile: String,
    /// Adam's learning rate (absent in results written before it was recorded).
    #[serde(default)]
    pub lr: f64,
    /// Gradient steps taken (fewer than the spec's when the run diverged).
    pub steps: u64,
    /// Accuracy on `eval_split` at the last good evaluation, in 0..1.
    pub test_accuracy: f64,
    pub eval_split: String,
    /// Accuracy on the last window of training batches (dropout on); absent when the run
    /// diverged before its first evaluation.
    pub train_accuracy: Option<f64>,
    pub best_test_accuracy: f64,
    pub best_step: u64,
    /// Accuracy on the validation split at the end, when the spec asked for it (to choose
    /// a learning rate).
    #[serde(default)]
    pub validation_accuracy: Option<f64>,
    /// Whether accuracies are the reference's sampled-batch estimates rather than the
    /// whole split's.
    #[serde(default)]
    pub sampled_eval: bool,
    /// Output-only runs: whether the head trained on cached features.
    #[serde(default)]
    pub cached_features: bool,
    pub diverged: bool,
    /// The step whose loss or gradient was not finite.
    pub diverged_at_step: Option<u64>,
    pub trainable_params: i64,
    pub total_params: i64,
    pub params_by_group: BTreeMap<String, GroupCount>,
    pub wall_seconds: f64,
    /// Training time per gradient step: the steps themselves, not feature caching,
    /// evaluations or checkpoints (schema_version < 3: feature caching included).
    #[serde(default)]
    pub seconds_per_step: Option<f64>,
    /// Output-only runs on cached features: the time spent computing the frozen body's
    /// features of the drawn training examples and of the evaluated set, once per process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_cache_seconds: Option<f64>,
    /// Matmul FLOPs of one gradient step, counted from the shapes (`training::flops`);
    /// absent for LSTMs and in results written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flops_per_step: Option<f64>,
    pub device: String,
    pub threads: i32,
    pub versions: Versions,
    pub finished_at: String,
    /// Where Slurm ran it, when it ran as a Slurm job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm: Option<SlurmPlacement>,
    /// SHA-256 over the evaluated split's examples (inputs and labels as tensors: dtype,
    /// shape, bytes; under sampled-batch evaluation, the split the batches are drawn from):
    /// two arms are compared only on equal hashes. Absent in results written before it was
    /// recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_sha256: Option<String>,
    /// The data files the task was read from, each with its SHA-256 and how it was checked
    /// (a published digest, or trusted on first use: unverified). Empty for generated
    /// tasks, and in results written before it was recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_files: Vec<DataFile>,
    /// SHA-256 of the run's spec.toml as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_sha256: Option<String>,
}

/// A data file a run read (result.json's `data_files`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFile {
    pub path: String,
    pub sha256: String,
    pub check: DataCheck,
}

/// How a data file was checked before the run read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataCheck {
    /// It has this published digest (`md5 <hex>` or `sha256 <hex>`).
    Published(String),
    /// Unverified: nothing is published for it, and it has the SHA-256 recorded on its
    /// first use.
    TrustedOnFirstUse,
}

/// One line of predictions.jsonl: the final evaluation's answer on one example (on one
/// position of it, for the bit tasks), beside the label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prediction {
    /// The example's index within the evaluated split, in evaluation order.
    pub example: u64,
    /// The position within the example, for tasks that answer per token (the bit tasks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
    pub label: i64,
    pub predicted: i64,
}

/// The Slurm job (and array task) a run ran in, and the node, from Slurm's environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlurmPlacement {
    pub job_id: String,
    pub array_job_id: Option<String>,
    pub array_task_id: Option<String>,
    pub node: Option<String>,
}

impl SlurmPlacement {
    /// Read from `SLURM_JOB_ID`, `SLURM_ARRAY_JOB_ID`, `SLURM_ARRAY_TASK_ID` and
    /// `SLURMD_NODENAME`; `None` outside a Slurm job.
    pub fn from_env() -> Option<Self> {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        Some(Self {
            job_id: var("SLURM_JOB_ID")?,
            array_job_id: var("SLURM_ARRAY_JOB_ID"),
            array_task_id: var("SLURM_ARRAY_TASK_ID"),
            node: var("SLURMD_NODENAME"),
        })
    }
}

/// A table cell.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CellRef {
    pub table: String,
    pub row: String,
    pub column: String,
}

/// A cell a run serves, and what it reads from the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellUse {
    #[serde(flatten)]
    pub cell: CellRef,
    pub metric: Metric,
}

/// A cell that is the ratio of two others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DerivedCell {
    #[serde(flatten)]
    pub cell: CellRef,
    pub numerator: CellRef,
    pub denominator: CellRef,
    /// The metric to take from the referenced cells' runs, when not their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<Metric>,
}

/// A cell stating a property of the model (its layers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixedCell {
    #[serde(flatten)]
    pub cell: CellRef,
    pub value: String,
    pub note: String,
}

/// A cell that does not run here, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedCell {
    #[serde(flatten)]
    pub cell: CellRef,
    pub reason: String,
}

/// A cell whose runs do not match the paper's setup, and how they differ: it is shown beside
/// the paper's number, never judged against it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotComparableCell {
    #[serde(flatten)]
    pub cell: CellRef,
    /// One entry per difference ("minilm-l6 for gpt2", "150 of 20000 steps").
    pub reasons: Vec<String>,
}

/// A cell whose setup differs from the paper's but which its profile declares comparable,
/// with why: it is judged against the paper, the reason and differences shown beside.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeclaredComparableCell {
    #[serde(flatten)]
    pub cell: CellRef,
    pub reason: String,
    pub differences: Vec<String>,
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

impl CellUse {
    pub fn at(cell: &CellRef, metric: Metric) -> Self {
        CellUse {
            cell: cell.clone(),
            metric,
        }
    }
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

/// What a cell reads from its runs.
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
}

/// suite.json: a profile's expansion, which runs serve which paper cells, as reports read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteManifest {
    /// The layout of this file ([`SCHEMA_VERSION`]; 0: written before the field existed).
    #[serde(default)]
    pub schema_version: u32,
    pub profile: String,
    pub description: String,
    /// How this profile departs from the paper.
    pub differences: String,
    pub seeds: u64,
    pub device: String,
    pub machine: Machine,
    pub created: String,
    /// Table ids of experiments/paper.toml, in report order.
    pub tables: Vec<String>,
    pub runs: Vec<ManifestRun>,
    pub derived: Vec<DerivedCell>,
    pub fixed: Vec<FixedCell>,
    pub unsupported: Vec<SkippedCell>,
    pub not_in_profile: Vec<SkippedCell>,
    /// Cells with values whose setup is not the paper's (from version
    /// [`COMPARABILITY_VERSION`]; absent in older files, whose cells are all not comparable).
    #[serde(default)]
    pub not_comparable: Vec<NotComparableCell>,
    /// Cells that differ from the paper's setup but are judged against it, as the profile
    /// declares (`comparable = "reason"` on an include).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub declared_comparable: Vec<DeclaredComparableCell>,
}

/// One run of suite.json: its folder name and the cells it serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestRun {
    /// The run's sub-directory name.
    pub id: String,
    pub lr: f64,
    pub seed: u64,
    pub cells: Vec<CellUse>,
}

/// What machine a suite ran on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    pub hostname: String,
    pub os: String,
    pub cpu: String,
    pub cores: usize,
}

/// attention.json: per layer, the attention weights averaged over heads for one held-out
/// example (row = query token, column = key token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttentionMaps {
    pub task: String,
    pub model: String,
    /// Index of the example in the evaluation set.
    pub example: usize,
    pub tokens: usize,
    /// Per layer, `[query][key]` weights averaged over heads.
    pub layers: Vec<Vec<Vec<f64>>>,
}
