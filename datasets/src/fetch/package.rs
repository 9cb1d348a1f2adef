//! What the package-manager sources (npm, pip) share: a scratch directory that is always
//! removed, a command whose failure becomes a sentence, and the one file it must leave.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `work` in `scratch` (created empty) and removes `scratch` afterwards, whatever
/// `work` returned.
pub fn in_scratch<T>(
    scratch: &Path,
    work: impl FnOnce(&Path) -> Result<T, String>,
) -> Result<T, String> {
    let _ = fs::remove_dir_all(scratch);
    fs::create_dir_all(scratch).map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let result = work(scratch);
    let _ = fs::remove_dir_all(scratch);
    result
}

/// Runs `cmd` (shown to the user as `shown`); `install` says what to install when the
/// program itself cannot be started.
pub fn run(cmd: &mut Command, shown: &str, install: &str) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run `{shown}`: {e}. {install} and retry"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{shown}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The single file with extension `ext` that `shown` left in `dir`.
pub fn the_one(dir: &Path, ext: &str, shown: &str) -> Result<PathBuf, String> {
    let found: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(format!(
            "`{shown}` left {} .{ext} files in {}, expected exactly one",
            found.len(),
            dir.display()
        )),
    }
}
