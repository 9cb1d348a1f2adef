//! A run on disk: spec.toml, metrics.jsonl, steps.jsonl, checkpoint.safetensors,
//! result.json, tensorboard/.
//! Runs are the only state; everything else is derived from them.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datasets::lock::{FileLock, Holder, LockError};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::run::RunSpec;
use crate::schema::{
    check_version, AttentionMaps, EvalRecord, Prediction, RunResult, StepRecord, SuiteManifest,
};

pub const SPEC: &str = "spec.toml";
pub const METRICS: &str = "metrics.jsonl";
/// Every training step's loss and gradient norm, one JSON line per step.
pub const STEPS: &str = "steps.jsonl";
pub const RESULT: &str = "result.json";
/// The final evaluation's per-example predictions ([`crate::schema::Prediction`] lines).
pub const PREDICTIONS: &str = "predictions.jsonl";
pub const CHECKPOINT: &str = "checkpoint.safetensors";
/// The attention maps some runs dump ([`AttentionMaps`]).
pub const ATTENTION: &str = "attention.json";
/// A suite's manifest ([`SuiteManifest`]), in the suite's runs directory beside its runs.
pub const MANIFEST: &str = "suite.json";
/// Held (an OS lock, see [`datasets::lock`]) by the one process writing the run.
pub const LOCK: &str = "run.lock";
/// The folder of the run's TensorBoard event files (training's `tensorboard` module), one
/// file per process that trained it.
pub const TENSORBOARD: &str = "tensorboard";

#[derive(Debug, thiserror::Error)]
pub enum RunDirError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not valid: {reason}")]
    Malformed { path: String, reason: String },
    #[error("{dir} already holds a run with a different spec; choose another --out or delete it")]
    OtherSpec { dir: String },
    #[error("{dir} holds an interrupted run (checkpoint at step {step}); pass --resume to continue it, or choose another --out")]
    Interrupted { dir: String, step: u64 },
    #[error(
        "{dir} already holds a finished run; pass --resume to keep it, or choose another --out"
    )]
    Finished { dir: String },
    #[error("run {dir} is in use by {holder}; wait for it or stop it")]
    InUse { dir: String, holder: String },
    #[error(transparent)]
    Lock(Box<LockError>),
}

impl RunDirError {
    /// Whether the user's input (spec, folder) is at fault, rather than the files' state or
    /// another process.
    pub fn is_bad_input(&self) -> bool {
        !matches!(
            self,
            RunDirError::Io { .. } | RunDirError::InUse { .. } | RunDirError::Lock(_)
        )
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> RunDirError + '_ {
    move |source| RunDirError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a reader (or a
/// crash) never sees a half-written file. The temporary file is named after this process,
/// so two processes writing the same file (two `fpt reproduce` on one suite) never share it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RunDirError> {
    let tmp = path.with_extension(format!(
        "{}.{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or(""),
        std::process::id()
    ));
    fs::write(&tmp, bytes)
        .and_then(|()| fs::rename(&tmp, path))
        .map_err(io_err(path))
}

#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
    /// The run's lock, for a run opened to write ([`RunDir::prepare`]); clones share it.
    _lock: Option<Arc<FileLock>>,
}

impl RunDir {
    /// Opens `path` for `spec` to write, as its one writer: takes its lock (refusing, with
    /// the holder named, when another process has it), creates it and writes spec.toml for
    /// a new run; for an existing one checks that it is the same spec and, without
    /// `resume`, refuses to touch its progress. The lock lasts as long as the `RunDir` (and
    /// its clones) or the process.
    pub fn prepare(path: &Path, spec: &RunSpec, resume: bool) -> Result<Self, RunDirError> {
        fs::create_dir_all(path).map_err(io_err(path))?;
        let lock = FileLock::try_claim(&path.join(LOCK)).map_err(|e| match e {
            LockError::Held { holder, .. } => RunDirError::InUse {
                dir: path.display().to_string(),
                holder: holder.map_or("another process".into(), |h| h.to_string()),
            },
            other => RunDirError::Lock(Box::new(other)),
        })?;
        let dir = Self {
            path: path.to_path_buf(),
            _lock: Some(Arc::new(lock)),
        };
        let spec_text = toml::to_string(spec).expect("a run spec always serialises");
        let spec_path = dir.file(SPEC);
        match fs::read_to_string(&spec_path) {
            Ok(existing) => {
                let same = toml::from_str::<RunSpec>(&existing).is_ok_and(|s| &s == spec);
                if !same {
                    return Err(RunDirError::OtherSpec {
                        dir: path.display().to_string(),
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                write_atomic(&spec_path, spec_text.as_bytes())?
            }
            Err(e) => return Err(io_err(&spec_path)(e)),
        }
        if !resume {
            if dir.file(RESULT).exists() {
                return Err(RunDirError::Finished {
                    dir: path.display().to_string(),
                });
            }
            if dir.file(CHECKPOINT).exists() || dir.file(METRICS).exists() {
                let step = dir.read_metrics()?.last().map_or(0, |r| r.step);
                return Err(RunDirError::Interrupted {
                    dir: path.display().to_string(),
                    step,
                });
            }
        }
        Ok(dir)
    }

    /// Opens an existing run without writing to it: its folder and the spec its spec.toml
    /// holds (for reading its progress, or rebuilding its model).
    pub fn open(path: &Path) -> Result<(Self, RunSpec), RunDirError> {
        let spec_path = path.join(SPEC);
        let text = fs::read_to_string(&spec_path).map_err(io_err(&spec_path))?;
        let spec = toml::from_str(&text).map_err(|e| RunDirError::Malformed {
            path: spec_path.display().to_string(),
            reason: e.to_string(),
        })?;
        let dir = Self {
            path: path.to_path_buf(),
            _lock: None,
        };
        Ok((dir, spec))
    }

    /// The process writing the run at `path` now, if any.
    pub fn holder(path: &Path) -> Result<Option<Holder>, RunDirError> {
        FileLock::holder_of(&path.join(LOCK)).map_err(|e| RunDirError::Lock(Box::new(e)))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    pub fn append_metric(&self, record: &EvalRecord) -> Result<(), RunDirError> {
        self.append_lines(METRICS, std::slice::from_ref(record))
    }

    pub fn read_metrics(&self) -> Result<Vec<EvalRecord>, RunDirError> {
        read_metrics(&self.file(METRICS))
    }

    /// Keeps the evaluations up to `step` (those a checkpoint at `step` already saw).
    pub fn truncate_metrics(&self, step: u64) -> Result<Vec<EvalRecord>, RunDirError> {
        self.keep_lines(METRICS, |r: &EvalRecord| r.step <= step)
    }

    /// Drops every evaluation (for a run starting again from scratch, step 0's included).
    pub fn clear_metrics(&self) -> Result<(), RunDirError> {
        self.keep_lines(METRICS, |_: &EvalRecord| false).map(drop)
    }

    pub fn append_steps(&self, records: &[StepRecord]) -> Result<(), RunDirError> {
        self.append_lines(STEPS, records)
    }

    /// Keeps the steps before `step` (those a checkpoint at `step` already took).
    pub fn truncate_steps(&self, step: u64) -> Result<(), RunDirError> {
        self.keep_lines(STEPS, |r: &StepRecord| r.step < step)
            .map(drop)
    }

    fn append_lines<T: Serialize>(&self, name: &str, records: &[T]) -> Result<(), RunDirError> {
        let path = self.file(name);
        let text = json_lines(records);
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(io_err(&path))
    }

    /// Rewrites JSON-lines file `name` with only the records `keep` accepts.
    fn keep_lines<T: Serialize + DeserializeOwned>(
        &self,
        name: &str,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Vec<T>, RunDirError> {
        let path = self.file(name);
        let kept: Vec<T> = read_json_lines(&path)?.into_iter().filter(keep).collect();
        write_atomic(&path, json_lines(&kept).as_bytes())?;
        Ok(kept)
    }

    /// spec.toml as written, byte for byte (what the run's spec hash covers).
    pub fn spec_bytes(&self) -> Result<Vec<u8>, RunDirError> {
        let path = self.file(SPEC);
        fs::read(&path).map_err(io_err(&path))
    }

    pub fn write_predictions(&self, predictions: &[Prediction]) -> Result<(), RunDirError> {
        let text: String = predictions
            .iter()
            .map(|p| serde_json::to_string(p).expect("predictions serialise") + "\n")
            .collect();
        write_atomic(&self.file(PREDICTIONS), text.as_bytes())
    }

    pub fn write_result(&self, result: &RunResult) -> Result<(), RunDirError> {
        let json = serde_json::to_string_pretty(result).expect("results serialise");
        write_atomic(&self.file(RESULT), json.as_bytes())
    }

    pub fn read_result(&self) -> Result<Option<RunResult>, RunDirError> {
        read_result(&self.file(RESULT))
    }
}

/// A run's metrics.jsonl, empty when there is none yet.
pub fn read_metrics(path: &Path) -> Result<Vec<EvalRecord>, RunDirError> {
    read_json_lines(path)
}

/// A run's steps.jsonl, empty when there is none (runs from before it was written).
pub fn read_steps(path: &Path) -> Result<Vec<StepRecord>, RunDirError> {
    read_json_lines(path)
}

fn json_lines<T: Serialize>(records: &[T]) -> String {
    records
        .iter()
        .map(|r| serde_json::to_string(r).expect("run records serialise") + "\n")
        .collect()
}

/// A JSON-lines file, empty when there is none yet. A kill can leave a half-written last
/// line; it is left out, since everything before it is sound.
fn read_json_lines<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, RunDirError> {
    let Some(text) = read_optional(path)? else {
        return Ok(Vec::new());
    };
    let complete = text.rfind('\n').map_or("", |end| &text[..=end]);
    complete
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| malformed(path, format!("line {}: {e}", i + 1)))
        })
        .collect()
}

/// A run's predictions.jsonl, read one line at a time (the paper profile's Bit Memory runs
/// write tens of megabytes): each item a prediction or why its line is not one.
pub fn read_predictions(
    path: &Path,
) -> Result<impl Iterator<Item = Result<Prediction, RunDirError>> + '_, RunDirError> {
    use std::io::BufRead;
    let file = fs::File::open(path).map_err(io_err(path))?;
    Ok(std::io::BufReader::new(file)
        .lines()
        .enumerate()
        .map(move |(i, line)| {
            let line = line.map_err(io_err(path))?;
            serde_json::from_str(&line).map_err(|e| malformed(path, format!("line {}: {e}", i + 1)))
        }))
}

/// A run's result.json, `None` when the run has not finished.
pub fn read_result(path: &Path) -> Result<Option<RunResult>, RunDirError> {
    let Some(text) = read_optional(path)? else {
        return Ok(None);
    };
    let result: RunResult = parse_json(path, &text)?;
    check_version(result.schema_version).map_err(|reason| malformed(path, reason))?;
    Ok(Some(result))
}

/// A suite's suite.json, `None` when there is none.
pub fn read_manifest(path: &Path) -> Result<Option<SuiteManifest>, RunDirError> {
    let Some(text) = read_optional(path)? else {
        return Ok(None);
    };
    let manifest: SuiteManifest = parse_json(path, &text)?;
    check_version(manifest.schema_version).map_err(|reason| malformed(path, reason))?;
    Ok(Some(manifest))
}

/// A run's attention.json, `None` when none was dumped; every layer must be a
/// tokens × tokens matrix.
pub fn read_attention(path: &Path) -> Result<Option<AttentionMaps>, RunDirError> {
    let Some(text) = read_optional(path)? else {
        return Ok(None);
    };
    let maps: AttentionMaps = parse_json(path, &text)?;
    let t = maps.tokens;
    for (l, layer) in maps.layers.iter().enumerate() {
        if layer.len() != t || layer.iter().any(|row| row.len() != t) {
            return Err(malformed(
                path,
                format!("layer {l} is not {t}×{t} (tokens = {t})"),
            ));
        }
    }
    Ok(Some(maps))
}

fn read_optional(path: &Path) -> Result<Option<String>, RunDirError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path)(e)),
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, RunDirError> {
    serde_json::from_str(text).map_err(|e| malformed(path, e.to_string()))
}

fn malformed(path: &Path, reason: String) -> RunDirError {
    RunDirError::Malformed {
        path: path.display().to_string(),
        reason,
    }
}
