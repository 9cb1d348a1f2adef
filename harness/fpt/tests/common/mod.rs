//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses a different subset

pub mod http;
pub mod slurm_cluster;

use std::path::Path;

use spec::model::{InitKind, ModelSource};
use spec::run::AdamConfig;
use spec::run::RunSpec;
use spec::run_dir::RunDir;
use spec::schema::{EvalRecord, RunResult};
use spec::task::TaskSpec;
use training::task::DataContext;

/// Kills `child` (SIGKILL) once `ready` says so, within five minutes; fails if it ends first.
pub fn kill_when(mut child: std::process::Child, ready: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while !ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never got there"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The Python of the venv LIBTORCH lives in (`cargo xtask test` sets it to the torch
/// venv), if it lives in one.
pub fn venv_python() -> Option<std::path::PathBuf> {
    let libtorch = std::env::var_os("LIBTORCH")?;
    Path::new(&libtorch)
        .ancestors()
        .find(|d| d.join("pyvenv.cfg").is_file())
        .map(|venv| venv.join("bin/python"))
}

/// The venv's Python once `python -c check` succeeds, running `pip install ARGS` first when
/// it does not; or why there is none.
pub fn venv_python_with(
    check: &str,
    pip_install: &[&std::ffi::OsStr],
) -> Result<std::path::PathBuf, String> {
    let python = venv_python().ok_or("LIBTORCH is not set, or not inside a Python venv")?;
    let works = |python: &Path| {
        std::process::Command::new(python)
            .args(["-c", check])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if works(&python) {
        return Ok(python);
    }
    let installed = std::process::Command::new(&python)
        .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
        .args(pip_install)
        .status()
        .map_err(|e| format!("cannot run pip: {e}"))?;
    match installed.success() && works(&python) {
        true => Ok(python),
        false => Err(format!("pip install {pip_install:?} failed")),
    }
}

/// `found`'s Python, or `SKIPPED: what (why)` printed, which is a failure where the
/// environment variable `required` is 1 (CI sets it).
pub fn python_or_skip(
    found: &Result<std::path::PathBuf, String>,
    required: &str,
    what: &str,
) -> Option<std::path::PathBuf> {
    match found {
        Ok(python) => Some(python.clone()),
        Err(why) => {
            let must = std::env::var(required).is_ok_and(|v| v == "1");
            assert!(!must, "{required}=1 but {why}");
            eprintln!("SKIPPED: {what} ({why})");
            None
        }
    }
}

/// Bit XOR on two 5-bit strings, one bit per token: what gpt2-tiny learns in a few seconds.
pub fn small_bit_xor() -> TaskSpec {
    TaskSpec::BitXor {
        n: 5,
        patterns: 2,
        patch: 1,
    }
}

/// A small run on gpt2-tiny, frozen random init, FPT policy.
pub fn tiny_spec(task: TaskSpec, steps: u64, lr: f64, seed: u64) -> RunSpec {
    RunSpec {
        profile: "test".into(),
        init: InitKind::Random,
        steps,
        micro_batch_size: 32,
        optimizer: AdamConfig {
            lr,
            ..AdamConfig::default()
        },
        seed,
        eval_examples: Some(512),
        ..RunSpec::reference(task, ModelSource::Named("gpt2-tiny".into()))
    }
}

pub fn train_in(dir: &Path, spec: &RunSpec) -> (RunResult, Vec<EvalRecord>) {
    let run = RunDir::prepare(dir, spec, false).unwrap();
    let result = training::train::train(spec, &run, &DataContext::standard(true), false).unwrap();
    (result, run.read_metrics().unwrap())
}

/// Metrics with their wall-clock times zeroed, as those legitimately differ between runs.
pub fn numbers(metrics: &[EvalRecord]) -> Vec<EvalRecord> {
    metrics
        .iter()
        .map(|r| EvalRecord {
            wall_seconds: 0.0,
            ..r.clone()
        })
        .collect()
}
