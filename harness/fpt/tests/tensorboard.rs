//! Every run writes its metrics as TensorBoard event files, read back here with the
//! `tensorboard` package's own reader (tests/fixtures/tensorboard/read_events.py): their tags,
//! steps and values are those of steps.jsonl, metrics.jsonl and result.json, and a run killed
//! and resumed shows each step once per tag across its files, the steps and values of an
//! uninterrupted run.
//!
//! Needs the torch venv's Python (the one LIBTORCH is in) with `tensorboard`, which this test
//! installs from PyPI when missing. Where it cannot, it prints SKIPPED with the reason; with
//! FPT_REQUIRE_TENSORBOARD=1 (CI) that is a failure instead.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde::Deserialize;
use spec::run_dir::{read_metrics, read_steps, CHECKPOINT, METRICS, RESULT, STEPS, TENSORBOARD};
use spec::schema::{EvalRecord, StepRecord};
use training::tensorboard::tags;

/// The reader installed when the venv has none.
const TENSORBOARD_PACKAGE: &str = "tensorboard==2.21.0";

/// Each tag's (step, value) pairs, in the order read.
type Scalars = BTreeMap<String, Vec<(u64, f64)>>;

/// What read_events.py prints.
#[derive(Debug, Deserialize)]
struct View {
    files: Vec<FileView>,
    /// The folder as one log, as `tensorboard --logdir` loads it.
    folder: Scalars,
}

#[derive(Debug, Deserialize)]
struct FileView {
    name: String,
    file_version: Option<f64>,
    scalars: Scalars,
}

fn python_or_skip() -> Option<PathBuf> {
    // Looked up (and installed) once: the tests run in parallel, pip must not.
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = PYTHON.get_or_init(|| {
        common::venv_python_with(
            "import tensorboard.backend.event_processing.event_accumulator",
            &[TENSORBOARD_PACKAGE.as_ref()],
        )
    });
    common::python_or_skip(
        found,
        "FPT_REQUIRE_TENSORBOARD",
        "reading event files with TensorBoard",
    )
}

/// The run's event files as TensorBoard reads them.
fn read_view(python: &Path, run: &Path) -> View {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tensorboard/read_events.py");
    let out = Command::new(python)
        .arg(script)
        .arg(run.join(TENSORBOARD))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "read_events.py failed: {stderr}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}; stderr: {stderr}"))
}

/// `fpt train` of a small Bit XOR run, evaluated every 10 steps with learning-curve points
/// every 5, checkpointed every `checkpoint_every`.
fn train(out: &Path, checkpoint_every: u64, resume: bool) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fpt"));
    cmd.args([
        "--threads",
        "1",
        "train",
        "--task",
        "bit-xor",
        "--model",
        "gpt2-tiny",
    ])
    .args(["--init", "random", "--steps", "150", "--eval-every", "10"])
    .args([
        "--curve-every",
        "5",
        "--curve-examples",
        "64",
        "--seed",
        "11",
    ])
    .arg("--checkpoint-every")
    .arg(checkpoint_every.to_string())
    .arg("--out")
    .arg(out)
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    if resume {
        cmd.arg("--resume");
    }
    cmd
}

/// Starts the run and kills it (SIGKILL) once `ready` says so; fails if it ends first.
fn kill_when(out: &Path, checkpoint_every: u64, ready: impl Fn() -> bool) {
    common::kill_when(train(out, checkpoint_every, false).spawn().unwrap(), ready);
    assert!(
        !out.join(RESULT).exists(),
        "killed too late to test anything"
    );
}

/// The step of the last evaluation in metrics.jsonl (0 before the first).
fn last_evaluated(run: &Path) -> u64 {
    read_metrics(&run.join(METRICS))
        .unwrap()
        .last()
        .map_or(0, |r| r.step)
}

/// `tag`'s (step, value) pairs in `scalars`, values as the 32-bit floats events hold.
fn series(scalars: &Scalars, tag: &str) -> Vec<(u64, f32)> {
    scalars
        .get(tag)
        .unwrap_or_else(|| panic!("no {tag} among {:?}", scalars.keys()))
        .iter()
        .map(|&(step, value)| (step, value as f32))
        .collect()
}

/// The tags every run here writes (it measures no validation split).
fn run_tags() -> BTreeSet<String> {
    [
        tags::TRAIN_LOSS,
        tags::TRAIN_GRAD_NORM,
        tags::TRAIN_ACCURACY,
        tags::LEARNING_RATE,
        tags::STEP_SECONDS,
        tags::EVAL_ACCURACY,
        tags::EVAL_LOSS,
        tags::CURVE_ACCURACY,
    ]
    .map(String::from)
    .into()
}

/// Checks `scalars` against the run's own records: every step of steps.jsonl, every
/// evaluation and learning-curve point of metrics.jsonl, the learning rate of result.json.
fn assert_matches_records(run: &Path, scalars: &Scalars) {
    let steps = read_steps(&run.join(STEPS)).unwrap();
    let of_steps = |value: fn(&StepRecord) -> f64| -> Vec<(u64, f32)> {
        steps.iter().map(|s| (s.step, value(s) as f32)).collect()
    };
    assert_eq!(series(scalars, tags::TRAIN_LOSS), of_steps(|s| s.loss));
    assert_eq!(
        series(scalars, tags::TRAIN_GRAD_NORM),
        of_steps(|s| s.grad_norm)
    );

    let metrics = read_metrics(&run.join(METRICS)).unwrap();
    let (curve, full): (Vec<_>, Vec<_>) = metrics.iter().partition(|r| r.curve_point);
    assert_eq!(
        series(scalars, tags::EVAL_ACCURACY),
        of(&full, |r| Some(r.test_accuracy))
    );
    assert_eq!(
        series(scalars, tags::EVAL_LOSS),
        of(&full, |r| Some(r.test_loss))
    );
    assert_eq!(
        series(scalars, tags::TRAIN_ACCURACY),
        of(&full, |r| r.train_accuracy)
    );
    assert_eq!(
        series(scalars, tags::CURVE_ACCURACY),
        of(&curve, |r| Some(r.test_accuracy))
    );

    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join(RESULT)).unwrap()).unwrap();
    let lr = result["lr"].as_f64();
    assert_eq!(series(scalars, tags::LEARNING_RATE), of(&full, |_| lr));
    // Timed at every full evaluation after step 0, in plausible seconds.
    let timed = series(scalars, tags::STEP_SECONDS);
    let evaluated: Vec<u64> = full.iter().map(|r| r.step).filter(|&s| s > 0).collect();
    assert_eq!(timed.iter().map(|t| t.0).collect::<Vec<_>>(), evaluated);
    assert!(timed.iter().all(|t| t.1 > 0.0 && t.1 < 60.0), "{timed:?}");

    assert_eq!(scalars.keys().cloned().collect::<BTreeSet<_>>(), run_tags());
}

/// The (step, value) of `records` that have a `value`, as 32-bit floats.
fn of(records: &[&EvalRecord], value: impl Fn(&EvalRecord) -> Option<f64>) -> Vec<(u64, f32)> {
    records
        .iter()
        .filter_map(|r| value(r).map(|v| (r.step, v as f32)))
        .collect()
}

/// Each tag's pairs over all of `files`, in step order; fails if a step repeats for a tag.
fn union_without_repeats(files: &[FileView]) -> Scalars {
    let mut union = Scalars::new();
    for file in files {
        for (tag, pairs) in &file.scalars {
            union.entry(tag.clone()).or_default().extend(pairs);
        }
    }
    for (tag, pairs) in &mut union {
        pairs.sort_by_key(|p| p.0);
        let steps: Vec<u64> = pairs.iter().map(|p| p.0).collect();
        let mut unique = steps.clone();
        unique.dedup();
        assert_eq!(
            steps, unique,
            "{tag}: a step appears twice across the files"
        );
    }
    union
}

/// `scalars` in step order, without the step times (which differ from run to run).
fn deterministic(scalars: &Scalars) -> Scalars {
    scalars
        .iter()
        .filter(|(tag, _)| *tag != tags::STEP_SECONDS)
        .map(|(tag, pairs)| {
            let mut pairs = pairs.clone();
            pairs.sort_by_key(|p| p.0);
            (tag.clone(), pairs)
        })
        .collect()
}

#[test]
fn a_killed_and_resumed_run_shows_each_step_once_as_an_uninterrupted_run() {
    let Some(python) = python_or_skip() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    assert!(train(&whole, 50, false).status().unwrap().success());
    let uninterrupted = read_view(&python, &whole);
    assert_eq!(uninterrupted.files.len(), 1);
    assert_eq!(uninterrupted.files[0].file_version, Some(2.0));
    assert_matches_records(&whole, &uninterrupted.folder);
    assert_eq!(uninterrupted.files[0].scalars, uninterrupted.folder);

    // Killed past an evaluation after its checkpoint at 50 (and before the one at 100, all
    // going well): its file holds steps the resumed run takes again.
    let cut = tmp.path().join("cut");
    kill_when(&cut, 50, || {
        cut.join(CHECKPOINT).exists() && last_evaluated(&cut) >= 70
    });
    let killed = read_view(&python, &cut);
    assert_eq!(killed.files.len(), 1);
    assert!(train(&cut, 50, true).status().unwrap().success());
    let resumed = read_view(&python, &cut);

    // The killed process's file, then the resumed one's, which starts at the checkpoint.
    assert_eq!(resumed.files.len(), 2);
    assert_eq!(resumed.files[0].name, killed.files[0].name);
    let new = &resumed.files[1];
    assert_eq!(new.file_version, Some(2.0));
    let checkpoint = series(&new.scalars, tags::TRAIN_LOSS)[0].0;
    assert!(
        checkpoint == 50 || checkpoint == 100,
        "resumed at {checkpoint}"
    );
    let logged_past = |tag: &str| {
        series(&killed.files[0].scalars, tag)
            .iter()
            .any(|p| p.0 > checkpoint)
    };
    assert!(
        logged_past(tags::TRAIN_LOSS) && logged_past(tags::EVAL_ACCURACY),
        "the killed run logged nothing past its checkpoint at {checkpoint}: the test proves nothing"
    );
    assert!(
        series(&resumed.files[0].scalars, tags::TRAIN_LOSS)
            .iter()
            .all(|p| p.0 < checkpoint),
        "the killed process's losses from the checkpoint on were not cut"
    );

    let union = union_without_repeats(&resumed.files);
    assert_eq!(deterministic(&union), deterministic(&uninterrupted.folder));
    assert_eq!(
        deterministic(&resumed.folder),
        deterministic(&uninterrupted.folder)
    );
    assert_matches_records(&cut, &union);
}

#[test]
fn a_run_killed_before_its_first_checkpoint_starts_over_in_one_file() {
    let Some(python) = python_or_skip() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    // Checkpointed only at the end: killed after its evaluation at step 20.
    kill_when(&run, 1000, || last_evaluated(&run) >= 20);
    assert!(!run.join(CHECKPOINT).exists());
    let killed = read_view(&python, &run);
    assert_eq!(killed.files.len(), 1);
    assert!(!series(&killed.files[0].scalars, tags::EVAL_ACCURACY).is_empty());

    assert!(train(&run, 1000, true).status().unwrap().success());
    let restarted = read_view(&python, &run);
    assert_eq!(
        restarted.files.len(),
        1,
        "the killed process's file was not removed"
    );
    assert_ne!(restarted.files[0].name, killed.files[0].name);
    assert_matches_records(&run, &restarted.folder);
    // metrics.jsonl too evaluates step 0 once.
    let steps: Vec<u64> = read_metrics(&run.join(METRICS))
        .unwrap()
        .iter()
        .map(|r| r.step)
        .collect();
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "{steps:?}");
}

#[test]
fn the_validation_accuracy_is_logged_at_the_last_step() {
    let Some(python) = python_or_skip() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let spec = spec::run::RunSpec {
        record_validation: true,
        ..common::tiny_spec(common::small_bit_xor(), 30, 1e-3, 3)
    };
    let (result, _) = common::train_in(tmp.path(), &spec);
    let accuracy = result.validation_accuracy.expect("validation measured");
    let view = read_view(&python, tmp.path());
    assert_eq!(
        series(&view.folder, tags::VALIDATION_ACCURACY),
        [(30, accuracy as f32)]
    );
}
