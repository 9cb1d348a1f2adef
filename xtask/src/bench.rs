//! `cargo xtask bench`: the criterion benchmarks, and with `--compare-reference` the
//! side-by-side step times against the reference PyTorch recipe
//! (tools/reference/compare.py, which runs tools/reference/step_time.py and `fpt bench step`),
//! with `--perf-profile` where each side's step time goes (tools/reference/perf_profile.py).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{ensure, Context, Result};

use crate::flags::BenchFlags;
use crate::libtorch::{self, venv_python};
use crate::{build_release_fpt, target_dir, workspace_root};

/// The transformers release the reference side is pinned to (the one line of
/// tools/reference/requirements.txt that is not a comment).
pub fn transformers_pin() -> &'static str {
    include_str!("../../tools/reference/requirements.txt")
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .expect("tools/reference/requirements.txt names transformers")
}

pub fn run(options: &BenchFlags) -> Result<ExitCode> {
    // Before anything long runs.
    if options.perf_profile {
        ensure!(
            Command::new("perf")
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success()),
            "--perf-profile needs `perf` on PATH (Debian: apt install linux-perf)"
        );
    }
    if !options.no_criterion {
        let mut extra: Vec<OsString> = vec!["--".into()];
        extra.extend(options.criterion_args.iter().cloned());
        // Only the criterion targets: a bare `cargo bench` would also build every test
        // target in release mode.
        let code = crate::cargo(
            &[
                "bench", "-p", "training", "--bench", "fpt_step", "-p", "datasets", "--bench",
                "data",
            ],
            &extra,
        )?;
        if code != ExitCode::SUCCESS || !(options.compare || options.perf_profile) {
            return Ok(code);
        }
    }
    if options.compare || options.perf_profile {
        let reference = ReferenceTools::prepare(options)?;
        if options.compare {
            reference.run("compare.py", &["--rounds", &options.rounds.to_string()])?;
        }
        if options.perf_profile {
            reference.run("perf_profile.py", &[])?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What the scripts in tools/reference run with: the torch venv's Python (HF transformers
/// installed), the release `fpt`, the thread count and the output folder.
struct ReferenceTools {
    python: PathBuf,
    fpt: PathBuf,
    threads: String,
    out: PathBuf,
}

impl ReferenceTools {
    fn prepare(options: &BenchFlags) -> Result<Self> {
        let torch = libtorch::ensure()?;
        let python = venv_python(&torch)?;
        ensure_transformers(&python)?;
        Ok(Self {
            python,
            fpt: build_release_fpt()?,
            threads: options.threads.to_string(),
            out: options
                .out
                .clone()
                .unwrap_or_else(|| target_dir().join("bench")),
        })
    }

    /// Runs tools/reference/`script` with `extra` arguments.
    fn run(&self, script: &str, extra: &[&str]) -> Result<()> {
        let script = workspace_root().join("tools/reference").join(script);
        let status = Command::new(&self.python)
            .arg(&script)
            .arg("--fpt")
            .arg(&self.fpt)
            .args(["--threads", &self.threads])
            .args(extra)
            .arg("--out")
            .arg(&self.out)
            .status()
            .with_context(|| format!("cannot run {}", self.python.display()))?;
        ensure!(
            status.success(),
            "{} failed ({status}); its messages above say why",
            script.display()
        );
        Ok(())
    }
}

fn python_can_import(python: &Path, module: &str) -> bool {
    Command::new(python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

pub fn ensure_transformers(python: &Path) -> Result<()> {
    if python_can_import(python, "transformers") {
        return Ok(());
    }
    let pin = transformers_pin();
    eprintln!("xtask: installing {pin} into the torch venv for the reference side");
    let status = Command::new(python)
        .args(["-m", "pip", "install", "--disable-pip-version-check", pin])
        .status()
        .context("cannot run pip in the torch venv")?;
    ensure!(
        status.success() && python_can_import(python, "transformers"),
        "`pip install {pin}` failed ({status}); see pip's messages above"
    );
    Ok(())
}
