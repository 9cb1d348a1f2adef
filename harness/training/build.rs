//! Links libtorch as every torch crate does (build/link_torch.rs), and records the git
//! commit this crate is built from as `FPT_GIT_COMMIT`: every run's result.json carries it.
//! It is HEAD at build time; uncommitted edits are not detected (that would rerun this
//! script on every change to any file). Outside a git checkout, or without git, it is empty.

#[path = "../../build/link_torch.rs"]
mod link_torch;

use std::path::Path;
use std::process::Command;

fn main() {
    link_torch::main();
    println!(
        "cargo:rustc-env=FPT_GIT_COMMIT={}",
        head_commit().unwrap_or_default()
    );
}

/// HEAD's commit, asking cargo to rerun this script when HEAD or the branch it names moves.
fn head_commit() -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let git_dir = git(&["rev-parse", "--absolute-git-dir"])?;
    let git_dir = Path::new(&git_dir);
    let mut watched = vec![git_dir.join("HEAD"), git_dir.join("packed-refs")];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(git_dir.join(branch));
    }
    // Only files that exist: cargo treats a missing one as changed on every build, which
    // would rebuild this crate and everything above it each time. (A branch packed away by
    // `git gc` removes its file, which reruns this once; packed-refs then exists.)
    for path in watched.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    git(&["rev-parse", "HEAD"]).filter(|c| !c.is_empty())
}
