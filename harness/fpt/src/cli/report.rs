//! `fpt report --runs DIR --out DIR`: the report of a suite's runs (also the last step of
//! `fpt reproduce`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

use super::usage;

/// The workspace's folders of sources and declarative data, where no report may go: a
/// report is generated output.
const SOURCE_FOLDERS: [&str; 16] = [
    ".cargo",
    ".ci",
    ".github",
    "baselines",
    "benches",
    "build",
    "ci",
    "datasets",
    "docs",
    "experiments",
    "harness",
    "reports",
    "snapshots",
    "src",
    "tools",
    "xtask",
];

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The suite's runs directory (the --out of `fpt reproduce`).
    #[arg(long)]
    runs: PathBuf,
    /// Where the report goes (default: the runs' folder's report/). Never a source folder
    /// of this workspace.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ClaimsArgs {
    /// The suite's runs directory (the --out of `fpt reproduce`, holding suite.json).
    #[arg(long)]
    runs: PathBuf,
}

/// `fpt claims`: the claims table alone, from the runs on disk (writes nothing).
#[derive(Debug, Args)]
pub struct CrosscheckArgs {
    /// The folder `cargo xtask crosscheck` filled: one `<task>-<init>-s<seed>/` per pair
    /// of runs (ours/ and reference.json).
    #[arg(long)]
    dir: PathBuf,
    /// The equivalence margin in accuracy points, fixed before the runs.
    #[arg(long, default_value_t = 3.0)]
    margin: f64,
    /// One line on how the runs were made, for the page.
    #[arg(long, default_value = "")]
    about: String,
}

pub fn crosscheck(args: CrosscheckArgs) -> Result<()> {
    if !(args.margin.is_finite() && args.margin > 0.0) {
        return Err(usage(format!(
            "--margin must be positive, got {}",
            args.margin
        )));
    }
    let comparisons = reports::crosscheck::write(&args.dir, args.margin, &args.about)
        .with_context(|| format!("cross-checking the runs in {}", args.dir.display()))?;
    if comparisons.is_empty() {
        return Err(usage(format!(
            "{} holds no finished pair with two seeds or more; run `cargo xtask crosscheck`",
            args.dir.display()
        )));
    }
    print!("{}", reports::crosscheck::text(&comparisons, args.margin));
    println!("page: {}", args.dir.join("index.html").display());
    Ok(())
}

pub fn claims(args: ClaimsArgs) -> Result<()> {
    if !args.runs.join(spec::run_dir::MANIFEST).is_file() {
        return Err(usage(format!(
            "{} holds no suite.json: claims compare the arms of a suite; pass the --out folder of `fpt reproduce`",
            args.runs.display()
        )));
    }
    let (_, text) = reports::claims_of(&args.runs)
        .with_context(|| format!("testing the claims on {}", args.runs.display()))?;
    print!("{text}");
    Ok(())
}

pub fn run(args: ReportArgs) -> Result<()> {
    let out = args.out.unwrap_or_else(|| default_folder(&args.runs));
    write(&args.runs, &out)
}

/// Where a suite's report goes unless told: `<runs>/report/`, beside the runs it is made of.
pub fn default_folder(runs: &Path) -> PathBuf {
    runs.join("report")
}

/// Refuses `out` when it lies in (or is) the workspace's sources: the workspace this
/// binary was built from, when that folder exists here.
pub fn check_not_in_sources(out: &Path) -> Result<()> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (Ok(workspace), Some(resolved)) = (workspace.canonicalize(), resolve(out)) else {
        return Ok(());
    };
    let Ok(inside) = resolved.strip_prefix(&workspace) else {
        return Ok(());
    };
    let first = inside
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    match first {
        None => Err(usage(format!(
            "{} is the workspace's root; write the report under runs/ (the default: <runs>/report) or outside the sources",
            out.display()
        ))),
        Some(top) if SOURCE_FOLDERS.contains(&top.as_str()) => Err(usage(format!(
            "{} is inside the workspace's sources ({top}/); a report is generated output: write it under runs/ (the default: <runs>/report) or outside the workspace",
            out.display()
        ))),
        Some(_) => Ok(()),
    }
}

/// `path` made absolute with `..` and symbolic links resolved, though it may not exist yet
/// (`..` is taken lexically, then its nearest existing ancestor is resolved).
fn resolve(path: &Path) -> Option<PathBuf> {
    let mut lexical = PathBuf::new();
    for part in std::path::absolute(path).ok()?.components() {
        match part {
            std::path::Component::ParentDir => {
                lexical.pop();
            }
            std::path::Component::CurDir => {}
            other => lexical.push(other),
        }
    }
    let existing = lexical.ancestors().find(|a| a.exists())?;
    let rest = lexical.strip_prefix(existing).ok()?;
    Some(existing.canonicalize().ok()?.join(rest))
}

/// Writes the report of the runs in `runs` into `out`, prints its tables and where it is.
/// One process at a time per suite (`runs/report.lock`): two `fpt reproduce` finishing
/// together write one after the other, and the last one's report is whole.
pub fn write(runs: &Path, out: &Path) -> Result<()> {
    check_not_in_sources(out)?;
    let lock = runs.join("report.lock");
    // Runs in a folder this process cannot write still get their report, unlocked.
    let _lock = datasets::lock::FileLock::wait(&lock)
        .inspect_err(|e| tracing::warn!("writing the report without {}: {e}", lock.display()))
        .ok();
    let report = reports::write_report(runs, out)
        .with_context(|| format!("writing the report of {}", runs.display()))?;
    println!("{}", report.text);
    println!("Report: {}", report.index_html.display());
    Ok(())
}
