//! `fpt status --runs DIR`: a table of where each run of a suite stands.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use training::run_status::{self, RunStatus};
use training::slurm::Slurm;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The suite's runs directory (the --out of `fpt reproduce`).
    #[arg(long)]
    pub runs: PathBuf,
}

pub fn run(args: StatusArgs) -> Result<()> {
    let survey = run_status::survey(&args.runs, &Slurm::from_env())?;
    if let Some(why) = &survey.slurm_unavailable {
        eprintln!(
            "note: Slurm could not be asked about submitted runs ({why}); they show as unknown"
        );
    }
    let header = ["RUN", "STATE", "SLURM", "STEP", "ACCURACY", "HELD BY"].map(String::from);
    let rows: Vec<[String; 6]> = survey.runs.iter().map(row).collect();
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let line = |cells: &[String; 6]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    println!("{}", line(&header));
    for (row, status) in rows.iter().zip(&survey.runs) {
        println!("{}", line(row));
        for err in &status.error_tail {
            println!("    | {err}");
        }
    }
    println!("{}", run_status::summary(&survey.runs));
    Ok(())
}

fn row(status: &RunStatus) -> [String; 6] {
    let name = status.dir.file_name().map_or_else(
        || status.dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let slurm = status.slurm.as_ref().map_or("-".into(), |record| {
        let mut cell = format!("{}_{}", record.job_id, record.array_task);
        if let Some(task) = &status.slurm_task {
            cell += &format!(" {}", task.state);
            if let Some(node) = &task.node {
                cell += &format!(" on {node}");
            }
        }
        cell
    });
    let step = status
        .step
        .map_or("-".into(), |s| format!("{s}/{}", status.total_steps));
    let accuracy = status
        .accuracy
        .map_or("-".into(), |a| format!("{:.2}%", 100.0 * a));
    let holder = status
        .holder
        .as_ref()
        .map_or("-".into(), |h| format!("pid {} on {}", h.pid, h.host));
    [
        name,
        status.state.to_string(),
        slurm,
        step,
        accuracy,
        holder,
    ]
}
