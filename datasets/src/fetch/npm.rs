//! Artifacts fetched by package name with `npm pack <spec>` (npm talks to its registry).

use std::fs;
use std::path::Path;
use std::process::Command;

use super::package::{in_scratch, run, the_one};

/// Run `npm pack <spec>` inside `scratch` (created empty, removed afterwards) and move the
/// single tarball it writes to `dest`. Errors are sentences for the user.
pub fn pack(spec: &str, scratch: &Path, dest: &Path) -> Result<(), String> {
    let shown = format!("npm pack {spec}");
    in_scratch(scratch, |dir| {
        run(
            Command::new("npm").arg("pack").arg(spec).current_dir(dir),
            &shown,
            "Install Node.js and npm (e.g. `apt-get install npm`)",
        )?;
        let tarball = the_one(dir, "tgz", &shown)?;
        fs::rename(&tarball, dest).map_err(|e| format!("cannot move {}: {e}", tarball.display()))
    })
}
