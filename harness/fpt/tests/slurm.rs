//! The Slurm executor: on a real single-node cluster that the tests start (installing Slurm
//! when it is missing and they run as root; otherwise they print `SKIPPED: <why>`, unless
//! FPT_REQUIRE_SLURM=1 makes that a failure), runs trained as job array tasks match the same
//! runs trained locally; and, with no cluster, fake Slurm commands check what is asked of
//! Slurm and how its answers and failures are reported.

mod common;

use std::num::NonZeroU32;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::slurm_cluster::{self, announce};
use spec::run::RunSpec;
use spec::run_dir::{self, RunDir, CHECKPOINT, RESULT};
use spec::schema::{EvalRecord, RunResult};
use spec::task::TaskSpec;
use training::run_status::{self, RunState, RunStatus};
use training::slurm::{self, Slurm, SlurmError, SlurmRecord, SubmitOptions};

const FPT: &str = env!("CARGO_BIN_EXE_fpt");

/// Tiny bit-XOR runs on gpt2-tiny (about 50 ms a step on one thread).
fn spec(steps: u64, eval_every: u64, seed: u64) -> RunSpec {
    let task = TaskSpec::from_name("bit-xor", None, None, None).unwrap();
    RunSpec {
        eval_every,
        checkpoint_every: eval_every,
        ..common::tiny_spec(task, steps, 1e-3, seed)
    }
}

/// The run directory for `spec` under `runs`, prepared as a suite prepares it.
fn prepare(runs: &Path, spec: &RunSpec) -> PathBuf {
    let dir = runs.join(spec.run_id());
    RunDir::prepare(&dir, spec, false).unwrap();
    dir
}

/// What an array task runs, run here instead: `fpt --threads 1 train --spec ... --out ...`.
fn train_locally(dir: &Path) -> Child {
    Command::new(FPT)
        .args(["--threads", "1", "train", "--spec"])
        .arg(dir.join("spec.toml"))
        .arg("--out")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn one_thread() -> SubmitOptions {
    SubmitOptions {
        threads: NonZeroU32::new(1),
        ..SubmitOptions::default()
    }
}

fn result(dir: &Path) -> RunResult {
    run_dir::read_result(&dir.join(RESULT))
        .unwrap()
        .expect("the run finished")
}

/// Everything a run computed, less what differs between two runs of one spec: timings,
/// when it finished and where.
fn numbers(dir: &Path, spec: &RunSpec) -> (RunResult, Vec<EvalRecord>) {
    let result = RunResult {
        wall_seconds: 0.0,
        seconds_per_step: None,
        finished_at: String::new(),
        slurm: None,
        ..result(dir)
    };
    let metrics = RunDir::prepare(dir, spec, true)
        .unwrap()
        .read_metrics()
        .unwrap();
    (result, common::numbers(&metrics))
}

/// Neither queued nor running.
fn settled(statuses: &[RunStatus]) -> bool {
    statuses
        .iter()
        .all(|s| !matches!(s.state, RunState::Pending | RunState::Running))
}

/// Polls the runs' statuses until `ready` holds of them (10 minutes at most).
fn wait_for(
    dirs: &[PathBuf],
    slurm: &Slurm,
    what: &str,
    ready: impl Fn(&[RunStatus]) -> bool,
) -> Vec<RunStatus> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let statuses = run_status::statuses(dirs, slurm).unwrap();
        if ready(&statuses) {
            return statuses;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {statuses:#?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn states(statuses: &[RunStatus]) -> Vec<RunState> {
    statuses.iter().map(|s| s.state).collect()
}

#[test]
fn array_tasks_train_each_run_exactly_as_a_local_run() {
    let Some(cluster) = slurm_cluster::start_or_skip() else {
        return;
    };
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let specs = [spec(40, 20, 0), spec(40, 20, 1)];
    let dirs: Vec<PathBuf> = specs.iter().map(|s| prepare(&runs, s)).collect();
    let local: Vec<PathBuf> = specs
        .iter()
        .map(|s| prepare(&tmp.path().join("local"), s))
        .collect();
    let trainings: Vec<Child> = local.iter().map(|d| train_locally(d)).collect();

    let slurm = cluster.slurm();
    let submission = slurm::submit(&slurm, &runs, &dirs, Path::new(FPT), &one_thread()).unwrap();
    assert_eq!(submission.runs, 2);
    let statuses = wait_for(&dirs, &slurm, "both runs to end", settled);
    assert_eq!(states(&statuses), [RunState::Done, RunState::Done]);
    assert_eq!(run_status::summary(&statuses), "2 runs: 2 done");
    assert!(run_status::needing_submission(&dirs, &slurm)
        .unwrap()
        .is_empty());

    for child in trainings {
        assert!(child.wait_with_output().unwrap().status.success());
    }
    for (task, ((dir, local), spec)) in dirs.iter().zip(&local).zip(&specs).enumerate() {
        let record = SlurmRecord::read(dir).unwrap().expect("slurm.json");
        assert_eq!(record.job_id, submission.job_id);
        assert_eq!(record.array_task as usize, task);
        let placement = result(dir).slurm.expect("result.json names its Slurm job");
        assert_eq!(placement.array_job_id, Some(submission.job_id.clone()));
        assert_eq!(placement.array_task_id, Some(task.to_string()));
        assert_eq!(placement.node.as_deref(), Some(cluster.node()));
        assert!(record.log_file(dir, "out").is_file());
        assert!(record.log_file(dir, "err").is_file());
        assert_eq!(numbers(dir, spec), numbers(local, spec));
    }
    announce(&format!(
        "slurm tests: two 40-step runs through Slurm (and locally) in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
}

#[test]
fn a_cancelled_task_alone_is_resubmitted_and_resumes_to_the_uninterrupted_numbers() {
    let Some(cluster) = slurm_cluster::start_or_skip() else {
        return;
    };
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let (short, long) = (spec(40, 20, 2), spec(400, 20, 3));
    let dirs = [prepare(&runs, &short), prepare(&runs, &long)];
    let victim = &dirs[1];
    let whole = prepare(&tmp.path().join("local"), &long);
    let uninterrupted = train_locally(&whole);

    let slurm = cluster.slurm();
    let first = slurm::submit(&slurm, &runs, &dirs, Path::new(FPT), &one_thread()).unwrap();
    // Cancel the long run once it has a checkpoint and has evaluated beyond it.
    let deadline = Instant::now() + Duration::from_secs(300);
    while !victim.join(CHECKPOINT).exists() || metrics_lines(victim) < 3 {
        assert!(Instant::now() < deadline, "the long run made no progress");
        std::thread::sleep(Duration::from_millis(50));
    }
    cluster.cancel(&format!("{}_1", first.job_id));
    let statuses = wait_for(&dirs, &slurm, "the cancellation", settled);
    assert_eq!(
        states(&statuses),
        [RunState::Done, RunState::Cancelled],
        "{statuses:#?}"
    );
    assert!(
        statuses[1]
            .error_tail
            .iter()
            .any(|l| l.contains("CANCELLED")),
        "Slurm's note on the cancellation: {:?}",
        statuses[1].error_tail
    );
    let reached = statuses[1].step.expect("the cancelled run evaluated");
    assert!(
        reached < long.steps,
        "cancelled too late, at step {reached}"
    );

    let again = run_status::needing_submission(&dirs, &slurm).unwrap();
    assert_eq!(again, std::slice::from_ref(victim));
    let second = slurm::submit(&slurm, &runs, &again, Path::new(FPT), &one_thread()).unwrap();
    assert_eq!(second.runs, 1);
    let statuses = wait_for(&dirs, &slurm, "the resubmitted run to end", settled);
    assert_eq!(states(&statuses), [RunState::Done, RunState::Done]);
    assert_eq!(
        SlurmRecord::read(&dirs[0]).unwrap().unwrap().job_id,
        first.job_id,
        "the finished run was left alone"
    );
    let placement = result(victim).slurm.unwrap();
    assert_eq!(placement.array_job_id, Some(second.job_id.clone()));
    assert_eq!(placement.array_task_id.as_deref(), Some("0"));

    assert!(uninterrupted.wait_with_output().unwrap().status.success());
    assert_eq!(numbers(victim, &long), numbers(&whole, &long));
    announce(&format!(
        "slurm tests: cancel, resubmit and resume of a 400-step run in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
}

fn metrics_lines(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("metrics.jsonl")).map_or(0, |t| t.lines().count())
}

/// A folder of fake Slurm commands, each a shell script.
struct FakeSlurm {
    dir: tempfile::TempDir,
}

impl FakeSlurm {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn with(self, tool: &str, script: &str) -> Self {
        let path = self.dir.path().join(tool);
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        self
    }

    fn slurm(&self) -> Slurm {
        Slurm::from_env().with_search_path(self.dir.path())
    }

    /// The arguments the fake sbatch saved, one a line.
    fn sbatch_args(&self) -> Option<Vec<String>> {
        let text = std::fs::read_to_string(self.dir.path().join("sbatch.args")).ok()?;
        Some(text.lines().map(String::from).collect())
    }
}

/// An sbatch that saves its arguments beside itself and prints `4242` as --parsable does.
const SBATCH_4242: &str = r#"printf '%s\n' "$@" > "$(dirname "$0")/sbatch.args"; echo 4242"#;

fn one_prepared_run() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let dir = prepare(&runs, &spec(40, 20, 0));
    (tmp, runs, dir)
}

#[test]
fn without_sbatch_the_error_says_to_install_slurm_or_run_locally() {
    let (_tmp, runs, dir) = one_prepared_run();
    let no_tools = FakeSlurm::new();
    let err = slurm::submit(
        &no_tools.slurm(),
        &runs,
        std::slice::from_ref(&dir),
        Path::new(FPT),
        &SubmitOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, SlurmError::NotInstalled { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("sbatch") && message.contains("--executor local"));
    assert!(SlurmRecord::read(&dir).unwrap().is_none());
}

#[test]
fn a_refused_submission_shows_what_sbatch_said() {
    let (_tmp, runs, dir) = one_prepared_run();
    let fake = FakeSlurm::new().with(
        "sbatch",
        "echo 'sbatch: error: invalid partition specified: nosuch' >&2; exit 1",
    );
    let options = SubmitOptions {
        partition: Some("nosuch".into()),
        ..SubmitOptions::default()
    };
    let err = slurm::submit(
        &fake.slurm(),
        &runs,
        std::slice::from_ref(&dir),
        Path::new(FPT),
        &options,
    )
    .unwrap_err();
    assert!(matches!(err, SlurmError::Rejected { .. }), "{err:?}");
    assert!(err
        .to_string()
        .contains("invalid partition specified: nosuch"));
    assert!(SlurmRecord::read(&dir).unwrap().is_none());
}

#[test]
fn an_unwritable_runs_directory_fails_before_sbatch_runs() {
    let (_tmp, runs, dir) = one_prepared_run();
    // Root writes through permission bits, so block the batch folder with a file instead.
    std::fs::write(runs.join("slurm"), "").unwrap();
    let fake = FakeSlurm::new().with("sbatch", SBATCH_4242);
    let err = slurm::submit(
        &fake.slurm(),
        &runs,
        &[dir],
        Path::new(FPT),
        &SubmitOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, SlurmError::NotWritable { .. }), "{err:?}");
    assert!(err.to_string().contains("must be writable"));
    assert_eq!(fake.sbatch_args(), None, "sbatch ran");
}

#[test]
fn empty_and_unprepared_run_lists_are_refused() {
    let (tmp, runs, _dir) = one_prepared_run();
    let fake = FakeSlurm::new().with("sbatch", SBATCH_4242);
    let submit = |dirs: &[PathBuf]| {
        slurm::submit(
            &fake.slurm(),
            &runs,
            dirs,
            Path::new(FPT),
            &SubmitOptions::default(),
        )
    };
    assert!(matches!(submit(&[]), Err(SlurmError::NoRuns)));
    let bare = tmp.path().join("bare");
    std::fs::create_dir(&bare).unwrap();
    assert!(matches!(
        submit(&[bare]),
        Err(SlurmError::NotPrepared { .. })
    ));
    assert_eq!(fake.sbatch_args(), None, "sbatch ran");
}

#[test]
fn sbatch_gets_one_array_with_the_options_and_statuses_follow_squeue() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let dirs = [
        prepare(&runs, &spec(40, 20, 0)),
        prepare(&runs, &spec(40, 20, 1)),
    ];
    let fake = FakeSlurm::new()
        .with("sbatch", SBATCH_4242)
        .with(
            "squeue",
            "printf '4242|0|RUNNING|node7\\n4242|1|TIMEOUT|node7\\n'",
        )
        .with(
            "sacct",
            "echo 'sacct: error: Slurm accounting storage is disabled' >&2; exit 1",
        );
    let options = SubmitOptions {
        partition: Some("gpu".into()),
        gres: Some("gpu:1".into()),
        time: Some("01:00:00".into()),
        array_parallelism: NonZeroU32::new(1),
        sbatch_args: vec!["--account=proj".into()],
        threads: NonZeroU32::new(2),
        offline: true,
    };
    let submission = slurm::submit(&fake.slurm(), &runs, &dirs, Path::new(FPT), &options).unwrap();
    assert_eq!(submission.job_id, "4242");

    let args = fake.sbatch_args().expect("sbatch ran");
    for expected in [
        "--parsable",
        "--array=0-1%1",
        "--partition=gpu",
        "--gres=gpu:1",
        "--time=01:00:00",
        "--cpus-per-task=2",
        "--account=proj",
    ] {
        assert!(
            args.iter().any(|a| a == expected),
            "{expected} not in {args:?}"
        );
    }
    assert_eq!(
        args.last().map(PathBuf::from),
        Some(submission.script.clone())
    );
    let script = std::fs::read_to_string(&submission.script).unwrap();
    assert!(script.contains(&format!("'{FPT}' --threads 2 train")));
    assert!(script.contains("--resume --offline"));
    let run_list = std::fs::read_to_string(submission.script.with_extension("runs")).unwrap();
    let listed: Vec<PathBuf> = run_list.lines().map(PathBuf::from).collect();
    assert_eq!(listed, dirs);
    for (task, dir) in dirs.iter().enumerate() {
        let record = SlurmRecord::read(dir).unwrap().unwrap();
        assert_eq!(
            (record.job_id.as_str(), record.array_task as usize),
            ("4242", task)
        );
    }

    // The timed-out task's stderr is in its run directory; its last lines come with it.
    let timed_out = SlurmRecord::read(&dirs[1]).unwrap().unwrap();
    std::fs::write(
        timed_out.log_file(&dirs[1], "err"),
        "step 20\nslurmstepd: error: *** JOB 4243 CANCELLED DUE TO TIME LIMIT ***\n",
    )
    .unwrap();
    let statuses = run_status::statuses(&dirs, &fake.slurm()).unwrap();
    assert_eq!(states(&statuses), [RunState::Running, RunState::Timeout]);
    let node = statuses[0].slurm_task.as_ref().and_then(|t| t.node.clone());
    assert_eq!(node.as_deref(), Some("node7"));
    assert_eq!(statuses[1].error_tail.len(), 2);
    assert!(statuses[1].error_tail[1].contains("TIME LIMIT"));
    assert_eq!(
        run_status::needing_submission(&dirs, &fake.slurm()).unwrap(),
        [dirs[1].clone()]
    );
    assert_eq!(
        run_status::summary(&statuses),
        "2 runs: 1 running, 1 timeout"
    );
}

/// What users run: `fpt reproduce --profile smoke --executor slurm` submits the suite as one
/// job array, `fpt status` follows it, and the results equal the local executor's.
#[test]
fn the_smoke_profile_through_slurm_equals_the_local_executor() {
    let Some(cluster) = slurm_cluster::start_or_skip() else {
        return;
    };
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let reproduce = |out: &Path, executor: &str| {
        Command::new(FPT)
            .args(["--threads", "1", "reproduce", "--profile", "smoke"])
            // One seed of the modality table: the executor, not the claims, is tested here.
            .args(["--seeds", "1", "--tables", "modality"])
            .args(["--executor", executor, "--out"])
            .arg(out)
            .arg("--report-dir")
            .arg(tmp.path().join("report"))
            .env("SLURM_CONF", cluster.conf())
            .output()
            .unwrap()
    };
    let (local, remote) = (tmp.path().join("local"), tmp.path().join("slurm"));
    let submitted = reproduce(&remote, "slurm");
    let stdout = String::from_utf8_lossy(&submitted.stdout);
    assert!(
        submitted.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&submitted.stderr)
    );
    assert!(
        stdout.contains("Slurm job") && stdout.contains("fpt status --runs"),
        "{stdout}"
    );
    let trained_here = reproduce(&local, "local");
    assert!(trained_here.status.success());

    let suite: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(remote.join("suite.json")).unwrap()).unwrap();
    let ids: Vec<String> = suite["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3);
    let dirs: Vec<PathBuf> = ids.iter().map(|id| remote.join(id)).collect();
    let slurm = cluster.slurm();
    let statuses = wait_for(&dirs, &slurm, "the smoke suite", settled);
    assert!(
        statuses.iter().all(|s| s.state == RunState::Done),
        "{statuses:#?}"
    );
    for id in &ids {
        let text = std::fs::read_to_string(remote.join(id).join("spec.toml")).unwrap();
        let spec: RunSpec = toml::from_str(&text).unwrap();
        assert_eq!(
            numbers(&remote.join(id), &spec),
            numbers(&local.join(id), &spec),
            "{id}"
        );
    }
    let status = Command::new(FPT)
        .args(["status", "--runs"])
        .arg(&remote)
        .env("SLURM_CONF", cluster.conf())
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.status.success() && table.contains("3 runs: 3 done"),
        "{table}"
    );
    // Submitting again finds nothing to do.
    let again = reproduce(&remote, "slurm");
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to submit"));
    announce(&format!(
        "slurm tests: the smoke profile through Slurm and locally in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
}
