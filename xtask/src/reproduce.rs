//! `cargo xtask fpt` and `cargo xtask reproduce`: the release `fpt` with libtorch set up.

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::{bail, Result};

pub fn run_fpt(args: &[OsString]) -> Result<ExitCode> {
    let mut full: Vec<OsString> = vec!["--".into()];
    full.extend_from_slice(args);
    crate::cargo(&["run", "--release", "-p", "fpt", "--bin", "fpt"], &full)
}

pub fn reproduce(args: &[OsString]) -> Result<ExitCode> {
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
