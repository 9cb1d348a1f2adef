//! `cargo xtask bench`: the criterion benchmarks, and with `--compare-reference` the
//! side-by-side step times against the reference PyTorch recipe
//! (tools/reference/compare.py, which runs tools/reference/step_time.py and `fpt bench step`),
//! with `--perf-profile` where each side's step time goes (tools/reference/perf_profile.py).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, ensure, Context, Result};

use crate::libtorch::{self, venv_python};
use crate::{build_release_fpt, target_dir, wants_help, workspace_root};

/// The transformers release the reference side is pinned to.
const TRANSFORMERS: &str = "transformers==4.57.*";

const USAGE: &str = "\
cargo xtask bench [--compare-reference] [--perf-profile] [--no-criterion] [--threads N]
                  [--rounds N] [--out DIR] [-- criterion args...]

  (default)            `cargo bench -p harness` (its criterion targets): FPT steps on the MNIST, CIFAR-10 and ListOps
                       shapes (gpt2, minilm-l6), backbone forward, data parsing and hashing
  --compare-reference  then time the reference PyTorch recipe (HF transformers, installed into
                       the torch venv when missing) against `fpt bench step` on the same shapes
                       and threads, and print the ratio table (written to DIR, default
                       target/bench/)
  --perf-profile       then sample a GPT-2 MNIST-shape step of each side with `perf` (runs of
                       6 minus 1 steps, so start-up cancels out) and print where the time
                       goes: GEMM kernels, element-wise loops, LayerNorm, dropout's random
                       numbers, copies, ... (written to DIR as profile.md / profile.json)
  --no-criterion       skip the criterion benchmarks
  --threads N          threads for both sides of the comparison (default: all cores)
  --rounds N           alternations of reference and ours per configuration (default 2)
";

struct Options {
    compare: bool,
    perf_profile: bool,
    criterion: bool,
    threads: usize,
    rounds: usize,
    out: Option<PathBuf>,
    criterion_args: Vec<OsString>,
}

fn parse(args: &[OsString]) -> Result<Options> {
    let mut options = Options {
        compare: false,
        perf_profile: false,
        criterion: true,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        rounds: 2,
        out: None,
        criterion_args: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .and_then(|v| v.to_str())
                .with_context(|| format!("{name} needs a value\n\n{USAGE}"))
        };
        match arg.to_str().unwrap_or_default() {
            "--compare-reference" => options.compare = true,
            "--perf-profile" => options.perf_profile = true,
            "--no-criterion" => options.criterion = false,
            "--threads" => options.threads = positive(value("--threads")?, "--threads")?,
            "--rounds" => options.rounds = positive(value("--rounds")?, "--rounds")?,
            "--out" => options.out = Some(value("--out")?.into()),
            "--" => {
                options.criterion_args = args.cloned().collect();
                break;
            }
            other => bail!("unknown bench option '{other}'\n\n{USAGE}"),
        }
    }
    Ok(options)
}

fn positive(text: &str, name: &str) -> Result<usize> {
    match text.parse() {
        Ok(n) if n > 0 => Ok(n),
        _ => bail!("{name} takes a whole number of at least 1, got '{text}'"),
    }
}

pub fn run(args: &[OsString]) -> Result<ExitCode> {
    if wants_help(args) {
        print!("{USAGE}");
        return Ok(ExitCode::SUCCESS);
    }
    let options = parse(args)?;
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
    if options.criterion {
        let mut extra: Vec<OsString> = vec!["--".into()];
        extra.extend(options.criterion_args.iter().cloned());
        // Only the criterion targets: a bare `cargo bench` would also build every test
        // target in release mode.
        let code = crate::cargo(
            &[
                "bench", "-p", "harness", "--bench", "fpt_step", "--bench", "data",
            ],
            &extra,
        )?;
        if code != ExitCode::SUCCESS || !(options.compare || options.perf_profile) {
            return Ok(code);
        }
    }
    if options.compare || options.perf_profile {
        let reference = ReferenceTools::prepare(&options)?;
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
    fn prepare(options: &Options) -> Result<Self> {
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

fn ensure_transformers(python: &Path) -> Result<()> {
    if python_can_import(python, "transformers") {
        return Ok(());
    }
    eprintln!("xtask: installing {TRANSFORMERS} into the torch venv for the reference side");
    let status = Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            TRANSFORMERS,
        ])
        .status()
        .context("cannot run pip in the torch venv")?;
    ensure!(
        status.success() && python_can_import(python, "transformers"),
        "`pip install {TRANSFORMERS}` failed ({status}); see pip's messages above"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn options_parse_and_reject_bad_values() {
        let o = parse(&os(&[
            "--compare-reference",
            "--perf-profile",
            "--threads",
            "3",
            "--",
            "gpt2",
        ]))
        .unwrap();
        assert!(o.compare && o.perf_profile && o.criterion);
        assert_eq!((o.threads, o.rounds), (3, 2));
        assert_eq!(o.criterion_args, os(&["gpt2"]));
        assert!(parse(&os(&["--threads", "0"])).is_err());
        assert!(parse(&os(&["--rounds"])).is_err());
        assert!(parse(&os(&["--fast"])).is_err());
    }
}
