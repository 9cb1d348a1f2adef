//! Artifacts fetched by package name with `npm pack <spec>` (npm talks to its registry).

use std::fs;
use std::path::Path;
use std::process::Command;

/// Run `npm pack <spec>` inside `scratch` (created empty) and move the single tarball it
/// writes to `dest`. Errors are sentences for the user.
pub fn pack(spec: &str, scratch: &Path, dest: &Path) -> Result<(), String> {
    let _ = fs::remove_dir_all(scratch);
    fs::create_dir_all(scratch).map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let output = Command::new("npm")
        .arg("pack")
        .arg(spec)
        .current_dir(scratch)
        .output()
        .map_err(|e| {
            format!("cannot run `npm pack {spec}`: {e}. Install Node.js and npm (e.g. `apt-get install npm`) and retry")
        });
    let result = output.and_then(|out| {
        if !out.status.success() {
            return Err(format!(
                "`npm pack {spec}` failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let tarballs: Vec<_> = fs::read_dir(scratch)
            .map_err(|e| e.to_string())?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "tgz"))
            .collect();
        match tarballs.as_slice() {
            [one] => {
                fs::rename(one, dest).map_err(|e| format!("cannot move {}: {e}", one.display()))
            }
            _ => Err(format!(
                "`npm pack {spec}` left {} tarballs in {}, expected exactly one",
                tarballs.len(),
                scratch.display()
            )),
        }
    });
    let _ = fs::remove_dir_all(scratch);
    result
}
