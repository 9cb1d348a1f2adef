//! `cargo xtask <verb>`: the developer interface of fpt-repro.
//!
//! Plain Rust with no libtorch: it first makes libtorch available (see [`libtorch`]), then
//! drives cargo and the `fpt` binary with `LIBTORCH` set, so nobody has to install or
//! export anything by hand.

mod bench;
mod gpu_bundle;
mod libtorch;
mod tidy;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, ensure, Context, Result};

const USAGE: &str = "\
cargo xtask <verb> [args...]

verbs:
  setup              make libtorch 2.11.0 available (uses $LIBTORCH if set, otherwise a Python
                     venv with torch==2.11.0 under $FPT_HOME, default ~/.cache/fpt) and print it
  test [args...]     setup, then `cargo test --workspace [args...]` (or only the
                     packages named with -p)
  reproduce [args...]
                     setup, build `fpt` in release mode, then `fpt reproduce [args...]`
                     (default: the quick profile); prints where the report is
  fpt [args...]      setup, then run the release `fpt` binary with any arguments
  bench [--compare-reference] [...]
                     criterion benchmarks; with --compare-reference, step times against the
                     reference PyTorch recipe (`cargo xtask bench --help`)
  gpu-bundle [--out DIR] [--with-weights]
                     the release `fpt` with run and smoke scripts for a CUDA machine

environment:
  LIBTORCH           an existing libtorch 2.11.0 (a folder with lib/ and include/); skips the venv
  FPT_HOME           cache root for the venv, data and weights (default ~/.cache/fpt)
  FPT_PYTHON         the Python used to create the venv (default python3)
";

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let verb = args.next().and_then(|v| v.into_string().ok());
    let rest: Vec<OsString> = args.collect();
    let outcome = match verb.as_deref() {
        Some("setup") => libtorch::ensure().map(|torch| {
            println!("LIBTORCH={}", torch.root.display());
            ExitCode::SUCCESS
        }),
        Some("test") => test(&rest),
        Some("reproduce") => reproduce(&rest),
        Some("fpt") => run_fpt(&rest),
        Some("bench") => bench::run(&rest),
        Some("gpu-bundle") => gpu_bundle::run(&rest),
        Some("-h" | "--help" | "help") | None => {
            print!("{USAGE}");
            return if verb.is_none() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
        Some(other) => {
            eprintln!("error: unknown xtask verb '{other}'\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `cargo <base> <extra>` with libtorch set up; the child's exit code becomes ours.
fn cargo(base: &[&str], extra: &[OsString]) -> Result<ExitCode> {
    let torch = libtorch::ensure()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(base).args(extra);
    torch.apply(&mut cmd);
    let status = cmd.status().context("could not start cargo")?;
    Ok(exit_code_of(status))
}

fn exit_code_of(status: std::process::ExitStatus) -> ExitCode {
    match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(c) => ExitCode::from(u8::try_from(c).unwrap_or(1)),
        None => ExitCode::FAILURE,
    }
}

/// `cargo test` over the whole workspace, or over the packages named with `-p`.
fn test(args: &[OsString]) -> Result<ExitCode> {
    // Float results depend on the CPU's kernels: say once which CPU the tests ran on.
    println!("{}", cpu_line());
    let scoped = args.iter().any(|a| {
        let a = a.to_string_lossy();
        a == "-p" || a == "--package" || a.starts_with("--package=")
    });
    // Every test binary runs even after one fails, so one run shows every failure.
    cargo(
        if scoped {
            &["test", "--no-fail-fast"]
        } else {
            &["test", "--workspace", "--no-fail-fast"]
        },
        args,
    )
}

/// `tests run on: <model>; flags avx2 avx512f ...; MKL_ENABLE_INSTRUCTIONS=...`: the CPU
/// model, the flags that choose matmul kernels, and any cap on them in the environment.
fn cpu_line() -> String {
    const FLAGS: [&str; 6] = [
        "avx2",
        "fma",
        "avx512f",
        "avx512_bf16",
        "amx_bf16",
        "amx_tile",
    ];
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |key: &str| {
        cpuinfo.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    };
    let present = field("flags").unwrap_or_default();
    let flags: Vec<&str> = FLAGS
        .into_iter()
        .filter(|f| present.split_whitespace().any(|p| p == *f))
        .collect();
    let mut line = format!(
        "tests run on: {} ({} cores); matmul flags: {}",
        field("model name").unwrap_or_else(|| "unknown CPU".into()),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        if flags.is_empty() {
            "none".into()
        } else {
            flags.join(" ")
        }
    );
    for cap in ["MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA"] {
        if let Some(value) = std::env::var_os(cap) {
            line += &format!("; {cap}={}", value.to_string_lossy());
        }
    }
    line
}

fn run_fpt(args: &[OsString]) -> Result<ExitCode> {
    let mut full: Vec<OsString> = vec!["--".into()];
    full.extend_from_slice(args);
    cargo(
        &[
            "run",
            "--release",
            "--quiet",
            "-p",
            "harness",
            "--bin",
            "fpt",
        ],
        &full,
    )
}

fn reproduce(args: &[OsString]) -> Result<ExitCode> {
    let mut full: Vec<OsString> = vec!["reproduce".into()];
    full.extend_from_slice(args);
    if !args
        .iter()
        .any(|a| a == "--profile" || a.to_string_lossy().starts_with("--profile="))
    {
        full.extend(["--profile".into(), "quick".into()]);
    }
    let code = run_fpt(&full)?;
    if code != ExitCode::SUCCESS {
        bail!("fpt reproduce failed; its messages above say why (rerun with --resume to continue)");
    }
    Ok(code)
}

/// The workspace folder (xtask's parent).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// Where cargo puts build outputs: `$CARGO_TARGET_DIR`, else the workspace's target/.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Builds the release `fpt` binary and returns its path.
pub fn build_release_fpt() -> Result<PathBuf> {
    let code = crate::cargo(
        &["build", "--release", "-p", "harness", "--bin", "fpt"],
        &[],
    )?;
    ensure!(
        code == ExitCode::SUCCESS,
        "building the release fpt failed; cargo's messages above say why"
    );
    Ok(target_dir().join("release").join("fpt"))
}

/// Whether the arguments (before any `--`) ask for help.
pub fn wants_help(args: &[OsString]) -> bool {
    args.iter()
        .take_while(|a| *a != "--")
        .any(|a| a == "-h" || a == "--help")
}
