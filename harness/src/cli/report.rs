//! `fpt report --runs DIR --out DIR`: the report of a suite's runs (also the last step of
//! `fpt reproduce`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The suite's runs directory (the --out of `fpt reproduce`).
    #[arg(long)]
    runs: PathBuf,
    /// Where the report goes (default: reports/<the folder name of --runs>).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(args: ReportArgs) -> Result<()> {
    let out = args.out.unwrap_or_else(|| {
        let name = args
            .runs
            .file_name()
            .map_or("runs".into(), |n| n.to_owned());
        Path::new("reports").join(name)
    });
    write(&args.runs, &out)
}

/// Writes the report of the runs in `runs` into `out`, prints its tables and where it is.
/// One process at a time per suite (`runs/report.lock`): two `fpt reproduce` finishing
/// together write one after the other, and the last one's report is whole.
pub fn write(runs: &Path, out: &Path) -> Result<()> {
    let lock = runs.join("report.lock");
    let _lock = datasets::lock::FileLock::wait(&lock)
        .with_context(|| format!("cannot lock {}", lock.display()))?;
    let report = reports::write_report(runs, out)
        .with_context(|| format!("writing the report of {}", runs.display()))?;
    println!("{}", report.text);
    println!("Report: {}", report.index_html.display());
    Ok(())
}
