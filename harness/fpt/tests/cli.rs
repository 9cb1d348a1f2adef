//! The `fpt` command line as a user meets it: bad input exits 2 naming what was wrong,
//! and `fpt train` produces a run directory in the design's schema.

use std::path::Path;
use std::process::{Command, Output};

fn fpt(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fpt"))
        .args(args)
        .env("FPT_HOME", std::env::temp_dir().join("fpt-cli-test-home"))
        .output()
        .unwrap()
}

fn assert_usage_error(args: &[&str], mentions: &[&str]) {
    let out = fpt(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    for m in mentions {
        assert!(stderr.contains(m), "{args:?}: '{m}' not in: {stderr}");
    }
}

const BASE: [&str; 6] = ["train", "--model", "gpt2-tiny", "--init", "random", "--out"];

fn train_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = BASE.to_vec();
    args.push(out);
    args.extend_from_slice(extra);
    args
}

#[test]
fn bad_input_exits_2_with_a_message_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let out = out.to_str().unwrap();
    let xor = ["--task", "bit-xor"];
    assert_usage_error(
        &train_args(out, &["--task", "bit-xorr"]),
        &["bit-xorr", "bit-memory"],
    );
    assert_usage_error(
        &[
            "train", "--task", "bit-xor", "--model", "gpt3", "--init", "random",
        ],
        &["gpt3", "gpt2-tiny"],
    );
    assert_usage_error(
        &train_args(out, &[&xor[..], &["--freeze", "frozen"]].concat()),
        &["frozen", "output-only"],
    );
    assert_usage_error(
        &train_args(out, &[&xor[..], &["--steps", "0"]].concat()),
        &["steps"],
    );
    assert_usage_error(
        &train_args(out, &[&xor[..], &["--steps", "-5"]].concat()),
        &["-5"],
    );
    assert_usage_error(
        &train_args(out, &[&xor[..], &["--batch-size", "0"]].concat()),
        &["batch_size"],
    );
    assert_usage_error(
        &train_args(out, &[&xor[..], &["--lr", "-0.1"]].concat()),
        &["lr", "-0.1"],
    );
    assert_usage_error(
        &train_args(out, &[&xor[..], &["--lr", "0"]].concat()),
        &["lr"],
    );
    assert_usage_error(
        &train_args(out, &[&xor[..], &["--device", "tpu"]].concat()),
        &["tpu", "cuda"],
    );
    assert_usage_error(
        &train_args(out, &["--task", "bit-memory", "--patch", "7"]),
        &["multiple of the patch size 7"],
    );
    assert_usage_error(
        &[
            "train",
            "--task",
            "bit-xor",
            "--model",
            "gpt2-tiny",
            "--out",
            out,
        ],
        &["gpt2-tiny", "--init random"],
    );
    assert_usage_error(&["reproduce", "--profile", "huge"], &["huge", "smoke"]);
    // None of these left a run directory behind.
    assert!(!std::path::Path::new(out).exists());
}

#[test]
fn train_writes_a_run_directory_in_the_design_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let args = train_args(
        out.to_str().unwrap(),
        &[
            "--task",
            "bit-xor",
            "--steps",
            "20",
            "--eval-every",
            "10",
            "--seed",
            "3",
        ],
    );
    let done = fpt(&args);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    for file in [
        "spec.toml",
        "metrics.jsonl",
        "result.json",
        "checkpoint.safetensors",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap();
    for key in [
        "task",
        "model",
        "init",
        "freeze",
        "seed",
        "steps",
        "test_accuracy",
        "eval_split",
        "train_accuracy",
        "diverged",
        "trainable_params",
        "wall_seconds",
        "device",
        "profile",
    ] {
        assert!(
            result.get(key).is_some(),
            "result.json lacks {key}: {result}"
        );
    }
    assert_eq!(result["task"], "bit-xor");
    assert_eq!(result["seed"], 3);
    assert_eq!(result["steps"], 20);
    assert_eq!(result["device"], "cpu");
    assert_eq!(result["versions"]["tch"], "0.24.0");
    // Three evaluations: steps 0, 10, 20.
    let lines = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 3);
    // The final evaluation's answers, one per example and bit position, agree with its
    // accuracy; the hashes name the examples scored and the spec as written.
    let predictions: Vec<serde_json::Value> =
        std::fs::read_to_string(out.join("predictions.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    assert!(!predictions.is_empty() && predictions.iter().all(|p| p["position"].is_u64()));
    let right = predictions
        .iter()
        .filter(|p| p["label"] == p["predicted"])
        .count();
    let accuracy = result["test_accuracy"].as_f64().unwrap();
    assert!(
        (right as f64 / predictions.len() as f64 - accuracy).abs() < 1e-9,
        "{right} of {} right, accuracy {accuracy}",
        predictions.len()
    );
    let spec_bytes = std::fs::read(out.join("spec.toml")).unwrap();
    assert_eq!(
        result["spec_sha256"].as_str().unwrap(),
        training::predictions::bytes_sha256(&spec_bytes)
    );
    assert_eq!(result["data_sha256"].as_str().unwrap().len(), 64);

    // The spec it wrote trains the same run again (`fpt train --spec`).
    let again = tmp.path().join("again");
    let spec = out.join("spec.toml");
    let rerun = fpt(&[
        "train",
        "--spec",
        spec.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    let a: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap();
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(again.join("result.json")).unwrap()).unwrap();
    assert_eq!(a["test_accuracy"], b["test_accuracy"]);

    // Training into a finished run without --resume is refused.
    let refused = fpt(&args);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--resume"));
}

#[test]
fn info_reports_versions_cuda_and_threads() {
    let out = fpt(&["--threads", "1", "info"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "tch 0.24.0",
        "torch 2.11.0",
        "cuda available:",
        "threads: 1",
    ] {
        assert!(text.contains(needle), "'{needle}' not in {text}");
    }
}

/// A report is generated output: `fpt report --out` refuses the workspace's source folders
/// (here the reports crate's own sources, also reached through `..`) before writing
/// anything, and `fpt reproduce --report-dir` refuses them before training anything.
#[test]
fn report_refuses_to_write_into_the_sources() {
    let runs = tempfile::tempdir().unwrap();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let inside = workspace.join("reports/src/generated-report");
    let sideways = workspace.join("runs/not-there/../../reports/src/generated-report");
    for out in [&inside, &sideways] {
        let run = Command::new(env!("CARGO_BIN_EXE_fpt"))
            .args(["report", "--runs"])
            .arg(runs.path())
            .arg("--out")
            .arg(out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("inside the workspace's sources (reports/)"),
            "{stderr}"
        );
    }
    let run = Command::new(env!("CARGO_BIN_EXE_fpt"))
        .args(["reproduce", "--profile", "smoke", "--out"])
        .arg(runs.path().join("suite"))
        .arg("--report-dir")
        .arg(&inside)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(
        !runs.path().join("suite").exists(),
        "nothing trained: {stderr}"
    );
    assert!(!inside.exists(), "nothing may be written there");
}
