//! `cargo xtask <verb>`: the developer interface of fpt-repro.
//!
//! Plain Rust with no libtorch: it first makes libtorch available (see [`libtorch`]), then
//! drives cargo and the `fpt` binary with `LIBTORCH` set, so nobody has to install or
//! export anything by hand. The verbs and their flags are declared in [`flags`]; each verb
//! has its module.

mod bench;
mod crosscheck;
mod flags;
mod gpu_bundle;
mod libtorch;
mod reproduce;
mod test;
mod tidy;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{ensure, Context, Result};
use clap::Parser;

use flags::{Verb, Xtask};

fn main() -> ExitCode {
    let outcome = match Xtask::parse().verb {
        Verb::Setup => libtorch::ensure().map(|torch| {
            println!("LIBTORCH={}", torch.root.display());
            ExitCode::SUCCESS
        }),
        Verb::Test(p) => test::run(&p.args),
        Verb::Reproduce(p) => reproduce::reproduce(&p.args),
        Verb::Fpt(p) => reproduce::run_fpt(&p.args),
        Verb::Bench(flags) => bench::run(&flags),
        Verb::GpuBundle(flags) => gpu_bundle::run(&flags),
        Verb::Crosscheck(flags) => crosscheck::run(&flags),
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

/// The workspace folder (xtask's parent). Cargo sets CARGO_MANIFEST_DIR when it runs xtask
/// (`cargo xtask`, `cargo test`), and that value is read first: the compile-time one is the
/// path of whichever checkout built the binary, and a target folder shared by checkouts at
/// other paths reuses it (cargo fingerprints paths relative to the workspace).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest_dir
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
    let code = crate::cargo(&["build", "--release", "-p", "fpt", "--bin", "fpt"], &[])?;
    ensure!(
        code == ExitCode::SUCCESS,
        "building the release fpt failed; cargo's messages above say why"
    );
    Ok(target_dir().join("release").join("fpt"))
}
