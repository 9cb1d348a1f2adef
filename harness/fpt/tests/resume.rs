//! A run folder has one writer: a run killed with SIGKILL mid-way (its lock released by the
//! OS) and resumed ends with exactly the numbers of an uninterrupted run with the same seed
//! (CPU), and a second process trying to write a run that is training is refused at once.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn train(out: &Path, resume: bool) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fpt"));
    cmd.args([
        "--threads",
        "1",
        "train",
        "--task",
        "bit-xor",
        "--model",
        "gpt2-tiny",
        "--init",
        "random",
    ])
    .args([
        "--steps",
        "400",
        "--eval-every",
        "20",
        "--seed",
        "11",
        "--out",
    ])
    .arg(out)
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    if resume {
        cmd.arg("--resume");
    }
    cmd
}

fn numbers(dir: &Path) -> (Vec<(u64, f64, f64)>, f64) {
    let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let rows = metrics
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["step"].as_u64().unwrap(),
                v["test_loss"].as_f64().unwrap(),
                v["test_accuracy"].as_f64().unwrap(),
            )
        })
        .collect();
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("result.json")).unwrap()).unwrap();
    (rows, result["test_accuracy"].as_f64().unwrap())
}

#[test]
fn killed_then_resumed_equals_uninterrupted() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    assert!(train(&whole, false).status().unwrap().success());

    let cut = tmp.path().join("cut");
    // Wait for a checkpoint and at least one more evaluation beyond it, then kill -9.
    common::kill_when(train(&cut, false).spawn().unwrap(), || {
        cut.join("checkpoint.safetensors").exists() && metrics_lines(&cut) >= 4
    });
    assert!(
        !cut.join("result.json").exists(),
        "killed too late to test anything"
    );

    // Without --resume the interrupted run is left alone, with a hint.
    let refused = train(&cut, false).stderr(Stdio::piped()).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--resume"));

    assert!(train(&cut, true).status().unwrap().success());
    assert_eq!(numbers(&cut), numbers(&whole));
    // Every step once, in order: the steps after the checkpoint that the kill cut short
    // were dropped on resume, not logged twice.
    let steps = |dir: &Path| spec::run_dir::read_steps(&dir.join("steps.jsonl")).unwrap();
    assert_eq!(steps(&cut), steps(&whole));
}

#[test]
fn a_second_writer_is_refused_and_the_first_trains_undisturbed() {
    let tmp = tempfile::tempdir().unwrap();
    let alone = tmp.path().join("alone");
    assert!(train(&alone, false).status().unwrap().success());

    let shared = tmp.path().join("shared");
    let mut first = train(&shared, false).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while metrics_lines(&shared) < 1 {
        assert!(Instant::now() < deadline, "the first run never evaluated");
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = train(&shared, true)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("is in use by process {} on host", first.id()))
            && stderr.contains("wait for it or stop it"),
        "{stderr}"
    );
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first run ended before the second was refused: the test proves nothing"
    );
    assert!(first.wait().unwrap().success());
    // Each evaluation once, and the numbers of a run that had the folder to itself.
    assert_eq!(numbers(&shared), numbers(&alone));
}

fn metrics_lines(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("metrics.jsonl")).map_or(0, |t| t.lines().count())
}
