//! `cargo xtask crosscheck`: our trainer against the reference one on the same batches.
//!
//! For each task, init and seed: `fpt train --export` trains our run (dropout on, the
//! reference recipe) and writes its starting point; tools/reference/train.py then trains
//! the reference code's model on the same batches with its own init (`--own-init`: the
//! pretrained checkpoint's tensors, or transformers' random init) and its own dropout
//! draws. `fpt crosscheck` compares the two sides per task and init and writes the page.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{ensure, Context, Result};

use crate::bench::ensure_transformers;
use crate::flags::CrosscheckFlags;
use crate::libtorch::{self, venv_python};
use crate::{build_release_fpt, workspace_root};

/// One pair: our run and the reference's, for one task, init and seed.
struct Pair {
    task: String,
    init: String,
    seed: u64,
    folder: PathBuf,
}

impl Pair {
    fn done(&self) -> bool {
        self.folder.join("ours/result.json").is_file()
            && self.folder.join("reference.json").is_file()
    }
}

/// What every pair runs with.
struct Tools {
    fpt: PathBuf,
    python: PathBuf,
    script: PathBuf,
    torch: libtorch::Libtorch,
}

pub fn run(flags: &CrosscheckFlags) -> Result<ExitCode> {
    ensure!(
        flags.margin.is_finite() && flags.margin > 0.0,
        "--margin must be a positive number of accuracy points, got {}",
        flags.margin
    );
    let torch = libtorch::ensure()?;
    let python = venv_python(&torch)?;
    ensure_transformers(&python)?;
    let tools = Tools {
        fpt: build_release_fpt()?,
        python,
        script: workspace_root().join("tools/reference/train.py"),
        torch,
    };
    let pairs: Vec<Pair> = flags
        .tasks
        .iter()
        .flat_map(|task| flags.inits.iter().map(move |init| (task, init)))
        .flat_map(|(task, init)| {
            (0..flags.seeds).map(move |seed| Pair {
                task: task.clone(),
                init: init.clone(),
                seed,
                folder: flags.out.join(format!("{task}-{init}-s{seed}")),
            })
        })
        .collect();
    let todo: Vec<&Pair> = pairs.iter().filter(|p| !p.done()).collect();
    eprintln!(
        "xtask: cross-check in {}: {} pairs ({} to train), {} at a time",
        flags.out.display(),
        pairs.len(),
        todo.len(),
        flags.jobs
    );
    train_all(&todo, &tools, flags)?;
    let about = format!(
        "{} on {}; {} steps at batch 16 (the reference recipe: Adam lr 1e-3, clipping 1.0, dropout 0.1), \
         {} seeds per init paired by seed, learning-curve points every {} steps on {} evaluated examples; \
         the reference initialises as the reference code does (the pretrained checkpoint, or transformers' random init).",
        flags.model,
        flags.tasks.join(", "),
        flags.steps,
        flags.seeds,
        flags.curve_every,
        flags.curve_examples
    );
    let mut report = Command::new(&tools.fpt);
    report.arg("crosscheck").arg("--dir").arg(&flags.out).args([
        "--margin",
        &flags.margin.to_string(),
        "--about",
        &about,
    ]);
    tools.torch.apply(&mut report);
    let status = report.status().context("cannot run fpt crosscheck")?;
    ensure!(
        status.success(),
        "fpt crosscheck failed ({status}); its messages above say why"
    );
    Ok(ExitCode::SUCCESS)
}

/// Trains `todo` with `flags.jobs` workers, saying when each pair finishes.
fn train_all(todo: &[&Pair], tools: &Tools, flags: &CrosscheckFlags) -> Result<()> {
    let next = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..flags.jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(pair) = todo.get(i) else { break };
                match train_pair(pair, tools, flags) {
                    Ok(()) => {
                        let done = finished.fetch_add(1, Ordering::SeqCst) + 1;
                        let elapsed = started.elapsed().as_secs_f64();
                        let left = elapsed / done as f64 * (todo.len() - done) as f64;
                        eprintln!(
                            "xtask: {}/{} {} {} seed {} done ({:.0} s elapsed, about {:.0} s left)",
                            done,
                            todo.len(),
                            pair.task,
                            pair.init,
                            pair.seed,
                            elapsed,
                            left
                        );
                    }
                    Err(e) => failures
                        .lock()
                        .expect("a worker never panics holding it")
                        .push(format!("{}: {e:#}", pair.folder.display())),
                }
            });
        }
    });
    let failures = failures.into_inner().expect("the workers have finished");
    ensure!(
        failures.is_empty(),
        "{} pair(s) failed (rerun to retry them; finished pairs are kept):\n{}",
        failures.len(),
        failures.join("\n")
    );
    Ok(())
}

/// Our run (with its export), then the reference's on that export.
fn train_pair(pair: &Pair, tools: &Tools, flags: &CrosscheckFlags) -> Result<()> {
    let (seed, steps) = (pair.seed.to_string(), flags.steps.to_string());
    let (curve_every, curve_examples) = (
        flags.curve_every.to_string(),
        flags.curve_examples.to_string(),
    );
    let export = pair.folder.join("export");
    let mut ours = Command::new(&tools.fpt);
    ours.args([
        "--threads",
        "1",
        "train",
        "--task",
        &pair.task,
        "--model",
        &flags.model,
    ])
    .args(["--init", &pair.init, "--seed", &seed, "--steps", &steps])
    .args([
        "--batch-size",
        "16",
        "--micro-batch-size",
        "16",
        "--eval-every",
        &steps,
    ])
    .args([
        "--curve-every",
        &curve_every,
        "--curve-examples",
        &curve_examples,
    ])
    .arg("--export")
    .arg(&export)
    .arg("--out")
    .arg(pair.folder.join("ours"))
    .arg("--resume");
    tools.torch.apply(&mut ours);
    quietly(&mut ours, &pair.folder.join("ours.log"))?;
    let part = pair.folder.join("reference.json.part");
    let mut reference = Command::new(&tools.python);
    reference
        .arg(&tools.script)
        .arg(&export)
        .arg("--out")
        .arg(&part)
        .args(["--threads", "1", "--own-init", "--seed", &seed])
        .args([
            "--curve-every",
            &curve_every,
            "--curve-examples",
            &curve_examples,
        ]);
    quietly(&mut reference, &pair.folder.join("reference.log"))?;
    std::fs::rename(&part, pair.folder.join("reference.json"))
        .with_context(|| format!("cannot move {} into place", part.display()))
}

/// Runs `cmd` with its output in `log`; a failure names the log's last lines.
fn quietly(cmd: &mut Command, log: &Path) -> Result<()> {
    std::fs::create_dir_all(log.parent().expect("a log lives in a pair's folder"))?;
    let file =
        std::fs::File::create(log).with_context(|| format!("cannot write {}", log.display()))?;
    let status = cmd
        .stdout(file.try_clone()?)
        .stderr(file)
        .status()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    if status.success() {
        return Ok(());
    }
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(5).collect();
    anyhow::bail!(
        "{:?} failed ({status}); {}:\n{}",
        cmd.get_program(),
        log.display(),
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    )
}
