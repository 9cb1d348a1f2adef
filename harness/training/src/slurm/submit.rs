//! Submitting prepared run directories as one Slurm job array.

use std::ffi::OsString;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::record::{log_stem, SlurmRecord};
use super::{Slurm, SlurmError};
use spec::run_dir::{write_atomic, RunDirError, SPEC};

/// How to ask Slurm for resources; each field left empty is the cluster's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct SubmitOptions {
    /// Slurm partition for the runs (default: the cluster's default partition).
    #[arg(long)]
    pub partition: Option<String>,
    /// Generic resources for each run, e.g. gpu:1.
    #[arg(long)]
    pub gres: Option<String>,
    /// Time limit for each run, e.g. 02:00:00 (any form sbatch --time takes).
    #[arg(long)]
    pub time: Option<String>,
    /// At most this many runs at once (the job array's %N throttle).
    #[arg(long)]
    pub array_parallelism: Option<NonZeroU32>,
    /// One more argument for sbatch, passed as it is (repeat for more), e.g.
    /// --sbatch-arg=--account=myproject.
    #[arg(long = "sbatch-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub sbatch_args: Vec<String>,
    /// Intra-op threads for each run: `fpt --threads`, and Slurm's --cpus-per-task.
    #[arg(skip)]
    pub threads: Option<NonZeroU32>,
    /// Runs use only data and weights already in the cache (`fpt train --offline`), for
    /// compute nodes without a network.
    #[arg(skip)]
    pub offline: bool,
}

/// A submitted job array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub job_id: String,
    /// How many runs (array tasks) it holds.
    pub runs: usize,
    pub script: PathBuf,
}

/// Submits `run_dirs` (each prepared by `RunDir::prepare`, so holding spec.toml) as one job
/// array whose task `i` trains `run_dirs[i]` with the `fpt` binary at `fpt`; writes the batch
/// script and run list under `<runs_dir>/slurm/` and a [`SlurmRecord`] into each run.
pub fn submit(
    slurm: &Slurm,
    runs_dir: &Path,
    run_dirs: &[PathBuf],
    fpt: &Path,
    options: &SubmitOptions,
) -> Result<Submission, SlurmError> {
    let run_list = run_list(run_dirs)?;
    let batch_dir = absolute(&runs_dir.join("slurm"))?;
    let now = SystemTime::now();
    let script = write_batch_files(&batch_dir, now, &run_list, fpt, options)?;

    let mut args = vec![
        OsString::from("--parsable"),
        format!("--job-name=fpt-{}", job_name(runs_dir)).into(),
        format!("--array={}", array_range(run_dirs.len(), options)).into(),
        // The script sends the run's output to its run directory; Slurm's own notes stay here.
        output_pattern(&batch_dir)?.into(),
    ];
    args.extend(resource_args(options));
    args.push(script.clone().into());
    let output = slurm.run("sbatch", &args)?;
    let job_id = parse_job_id(&String::from_utf8_lossy(&output.stdout))?;

    for (array_task, dir) in (0u32..).zip(run_dirs) {
        let record = SlurmRecord {
            job_id: job_id.clone(),
            array_task,
            submitted_at: humantime::format_rfc3339_seconds(now).to_string(),
            script: script.clone(),
            slurm_log: batch_dir.join(format!(
                "{}.out",
                log_stem(&job_id, &array_task.to_string())
            )),
        };
        record.write(dir).map_err(|source| SlurmError::Unrecorded {
            job_id: job_id.clone(),
            source,
        })?;
    }
    tracing::info!(
        "submitted {} runs as Slurm job array {job_id} ({})",
        run_dirs.len(),
        script.display()
    );
    Ok(Submission {
        job_id,
        runs: run_dirs.len(),
        script,
    })
}

/// The run list's text: one run directory a line, for array task `line - 1`.
fn run_list(run_dirs: &[PathBuf]) -> Result<String, SlurmError> {
    if run_dirs.is_empty() {
        return Err(SlurmError::NoRuns);
    }
    let mut list = String::new();
    for dir in run_dirs {
        if !dir.join(SPEC).is_file() {
            return Err(SlurmError::NotPrepared { dir: dir.clone() });
        }
        // Absolute, so tasks find their runs whatever folder they start in (--chdir).
        list += listable(&absolute(dir)?)?;
        list.push('\n');
    }
    Ok(list)
}

/// Writes `submit-<time>.runs` and `.sh` into `batch_dir`; returns the script's path.
fn write_batch_files(
    batch_dir: &Path,
    now: SystemTime,
    run_list: &str,
    fpt: &Path,
    options: &SubmitOptions,
) -> Result<PathBuf, SlurmError> {
    std::fs::create_dir_all(batch_dir).map_err(|source| SlurmError::NotWritable {
        source: RunDirError::Io {
            path: batch_dir.display().to_string(),
            source,
        },
    })?;
    let time = humantime::format_rfc3339_millis(now).to_string();
    let stem = format!("submit-{}", time.replace(':', "-"));
    let list_path = batch_dir.join(format!("{stem}.runs"));
    let script_path = batch_dir.join(format!("{stem}.sh"));
    let script = batch_script(listable(&list_path)?, listable(&absolute(fpt)?)?, options);
    for (path, text) in [(&list_path, run_list), (&script_path, &script)] {
        write_atomic(path, text.as_bytes()).map_err(|source| SlurmError::NotWritable { source })?;
    }
    Ok(script_path)
}

/// sbatch flags for the options' resources, the caller's own arguments last so they win.
fn resource_args(options: &SubmitOptions) -> Vec<OsString> {
    let flags = [
        ("--partition", options.partition.clone()),
        ("--gres", options.gres.clone()),
        ("--time", options.time.clone()),
        ("--cpus-per-task", options.threads.map(|t| t.to_string())),
    ];
    flags
        .into_iter()
        .filter_map(|(flag, value)| Some(format!("{flag}={}", value?).into()))
        .chain(options.sbatch_args.iter().map(OsString::from))
        .collect()
}

fn batch_script(run_list: &str, fpt: &str, options: &SubmitOptions) -> String {
    let mut fpt_flags = String::new();
    if let Some(threads) = options.threads {
        fpt_flags += &format!(" --threads {threads}");
    }
    let train_flags = if options.offline { " --offline" } else { "" };
    let log = log_stem("${SLURM_ARRAY_JOB_ID}", "${SLURM_ARRAY_TASK_ID}");
    let list = shell_quote(run_list);
    let fpt = shell_quote(fpt);
    format!(
        r#"#!/bin/bash
# Written by fpt: array task i trains the run directory on line i+1 of the run list.
set -eu
run=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" {list})
if [ -z "$run" ]; then
    echo "array task $SLURM_ARRAY_TASK_ID has no line in "{list} >&2
    exit 2
fi
# From here on the task's output goes to its run directory.
exec >>"$run/{log}.out" 2>>"$run/{log}.err"
exec {fpt}{fpt_flags} train --spec "$run/spec.toml" --out "$run" --resume{train_flags}
"#
    )
}

/// `0-(n-1)`, with `%P` when the options throttle the array.
fn array_range(runs: usize, options: &SubmitOptions) -> String {
    let throttle = options
        .array_parallelism
        .map_or(String::new(), |p| format!("%{p}"));
    format!("0-{}{throttle}", runs - 1)
}

/// sbatch's --output for the batch folder; `%` is sbatch's escape, so literal ones double.
fn output_pattern(batch_dir: &Path) -> Result<String, SlurmError> {
    let dir = listable(batch_dir)?.replace('%', "%%");
    Ok(format!("--output={dir}/{}.out", log_stem("%A", "%a")))
}

fn job_name(runs_dir: &Path) -> String {
    runs_dir
        .file_name()
        .map_or("runs".into(), |n| n.to_string_lossy().into_owned())
}

/// sbatch --parsable prints `<job id>` or `<job id>;<cluster>`.
fn parse_job_id(stdout: &str) -> Result<String, SlurmError> {
    let first = stdout.lines().next().unwrap_or("").trim();
    let id = first.split(';').next().unwrap_or("");
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SlurmError::NoJobId {
            output: stdout.into(),
        });
    }
    Ok(id.into())
}

fn absolute(path: &Path) -> Result<PathBuf, SlurmError> {
    std::path::absolute(path).map_err(|source| SlurmError::Read {
        path: path.into(),
        source,
    })
}

/// The path as one line of the run list or a word of the script.
fn listable(path: &Path) -> Result<&str, SlurmError> {
    let unlistable = |reason| SlurmError::UnlistablePath {
        path: path.into(),
        reason,
    };
    let text = path.to_str().ok_or_else(|| unlistable("it is not UTF-8"))?;
    if text.contains('\n') {
        return Err(unlistable("it contains a newline"));
    }
    Ok(text)
}

/// One shell word that stands for `text` exactly.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_id_comes_from_the_first_field_of_the_first_line() {
        assert_eq!(parse_job_id("1234\n").unwrap(), "1234");
        assert_eq!(parse_job_id("77;cluster-a\n").unwrap(), "77");
        assert!(matches!(
            parse_job_id("Submitted batch job 12\n"),
            Err(SlurmError::NoJobId { .. })
        ));
        assert!(parse_job_id("").is_err());
    }

    #[test]
    fn array_range_covers_every_run_and_throttles_when_asked() {
        let mut options = SubmitOptions::default();
        assert_eq!(array_range(1, &options), "0-0");
        options.array_parallelism = NonZeroU32::new(4);
        assert_eq!(array_range(10, &options), "0-9%4");
    }

    #[test]
    fn quoting_survives_quotes_and_spaces() {
        assert_eq!(shell_quote("/a b/it's"), r"'/a b/it'\''s'");
        let script = batch_script(
            "/runs/slurm/x.runs",
            "/bin/fpt",
            &SubmitOptions {
                threads: NonZeroU32::new(2),
                offline: true,
                ..SubmitOptions::default()
            },
        );
        assert!(script.contains(
            r#"exec '/bin/fpt' --threads 2 train --spec "$run/spec.toml" --out "$run" --resume --offline"#
        ));
        assert!(script
            .contains(r#"exec >>"$run/slurm-${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}.out""#));
    }

    #[test]
    fn percent_signs_in_the_batch_folder_are_escaped_for_sbatch() {
        assert_eq!(
            output_pattern(Path::new("/runs/100%/slurm")).unwrap(),
            "--output=/runs/100%%/slurm/slurm-%A_%a.out"
        );
        assert!(matches!(
            listable(Path::new("/runs/a\nb")),
            Err(SlurmError::UnlistablePath { .. })
        ));
    }
}
