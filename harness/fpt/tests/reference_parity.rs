//! Trajectory parity with the reference implementation: `fpt train --export` writes a run's
//! starting point (every initial tensor, every step's batch, the evaluated examples),
//! tools/reference/train.py trains on it with PyTorch and Hugging Face transformers (the
//! paper's recipe), and the two trainings, dropout off, must agree step by step. A wrong
//! learning rate, clipping, loss scaling, position table, layer norm or freezing rule
//! shows within a few steps; one such mistake (the learning rate 10% off) is put into the
//! reference to check the bound is tight enough to see it.
//!
//! Needs the torch venv's Python (the one `cargo xtask test` sets LIBTORCH into) and the
//! pinned transformers (tools/reference/requirements.txt), which this test installs into
//! the venv when missing. Where it cannot, it prints SKIPPED with the reason; with
//! FPT_REQUIRE_REFERENCE=1 (CI) that is a failure instead.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use models::numerics::Arithmetic;

fn python_or_skip() -> Option<PathBuf> {
    let requirements = workspace().join("tools/reference/requirements.txt");
    let found = common::venv_python_with(
        "import transformers, safetensors",
        &["-r".as_ref(), requirements.as_os_str()],
    );
    common::python_or_skip(
        &found,
        "FPT_REQUIRE_REFERENCE",
        "trajectory parity with the reference",
    )
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One training's per-step losses and gradient norms, and its final accuracy.
struct Trajectory {
    losses: Vec<f64>,
    grad_norms: Vec<f64>,
    accuracy: f64,
}

/// Ours: `fpt train ARGS --export EXPORT` with every dropout off.
fn ours(args: &[&str], tmp: &Path) -> Trajectory {
    let run = tmp.join("run");
    let out = Command::new(env!("CARGO_BIN_EXE_fpt"))
        .args(["--threads", "1", "train"])
        .args(args)
        .args([
            "--input-dropout",
            "0",
            "--backbone-dropout",
            "0",
            "--export",
        ])
        .arg(tmp.join("export"))
        .arg("--out")
        .arg(&run)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let steps = spec::run_dir::read_steps(&run.join("steps.jsonl")).unwrap();
    let result = spec::run_dir::read_result(&run.join("result.json"))
        .unwrap()
        .unwrap();
    Trajectory {
        losses: steps.iter().map(|s| s.loss).collect(),
        grad_norms: steps.iter().map(|s| s.grad_norm).collect(),
        accuracy: result.test_accuracy,
    }
}

/// The reference on the same export, with `overrides` of its recipe.
fn reference(python: &Path, tmp: &Path, overrides: &[&str]) -> Trajectory {
    let out = tmp.join(format!("reference{}.json", overrides.len()));
    let mut cmd = Command::new(python);
    cmd.arg(workspace().join("tools/reference/train.py"))
        .arg(tmp.join("export"))
        .arg("--out")
        .arg(&out);
    for o in overrides {
        cmd.args(["--override", o]);
    }
    let done = cmd.output().unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
    let column = |key: &str| -> Vec<f64> {
        json["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s[key].as_f64().unwrap())
            .collect()
    };
    Trajectory {
        losses: column("loss"),
        grad_norms: column("grad_norm"),
        accuracy: json["test_accuracy"].as_f64().unwrap(),
    }
}

/// The largest distance the two trajectories may keep at step n (0-based), for a model of
/// `depth` blocks whose longest sum is `widest_sum` and whose loss is about `loss`:
///
/// `tol(n) = τ · (1 + n)`, τ = [`Arithmetic::fp32_tolerance`] of one forward pass at the
/// loss's scale.
///
/// Step 0 runs from equal weights, so its losses differ by one forward pass's rounding, τ.
/// Each step's gradient then differs by about that relative amount, and Adam's update (a
/// ratio of the gradient's moments, clipped) passes a relative error of the gradient on to
/// the update; the loss moves by no more than its own size per step at these learning
/// rates, so each step adds at most about τ more. Over a few dozen steps at lr 1e-3 the
/// divergence of nearby trajectories is far slower than that linear growth.
fn tolerance(depth: usize, widest_sum: usize, loss: f64, n: usize) -> f64 {
    let tau = Arithmetic {
        depth,
        widest_sum,
        magnitude: loss,
    }
    .fp32_tolerance();
    tau * (1 + n) as f64
}

/// The first step where the trajectories are farther apart than the bound, if any.
fn first_departure(
    a: &Trajectory,
    b: &Trajectory,
    depth: usize,
    widest_sum: usize,
) -> Option<String> {
    assert_eq!(a.losses.len(), b.losses.len());
    for (n, (la, lb)) in a.losses.iter().zip(&b.losses).enumerate() {
        let tol = tolerance(depth, widest_sum, la.abs().max(lb.abs()), n);
        // The gradient norm errs like the loss, relative to its own size.
        let (ga, gb) = (a.grad_norms[n], b.grad_norms[n]);
        let gtol = tolerance(depth, widest_sum, ga.max(gb), n);
        if (la - lb).abs() > tol || (ga - gb).abs() > gtol {
            return Some(format!(
                "step {n}: loss {la} vs {lb} (bound {tol:.2e}), grad norm {ga} vs {gb} (bound {gtol:.2e})"
            ));
        }
    }
    None
}

/// Our run and the reference's on one export agree at every step; `mistake` put into the
/// reference's recipe makes them part.
fn check(args: &[&str], depth: usize, widest_sum: usize, eval_predictions: f64, mistake: &str) {
    let Some(python) = python_or_skip() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let ours = ours(args, tmp.path());
    let theirs = reference(&python, tmp.path(), &[]);
    if let Some(departure) = first_departure(&ours, &theirs, depth, widest_sum) {
        panic!("the trajectories part at {departure}");
    }
    // Equal weights to within rounding: a prediction flips only where its logits' margin is
    // below that rounding, a vanishing share; allow one in a hundred.
    assert!(
        (ours.accuracy - theirs.accuracy).abs()
            <= (eval_predictions / 100.0).ceil() / eval_predictions,
        "final accuracy {} vs {}",
        ours.accuracy,
        theirs.accuracy
    );
    let wrong = reference(&python, tmp.path(), &[mistake]);
    assert!(
        first_departure(&ours, &wrong, depth, widest_sum).is_some(),
        "the bound is too loose to see {mistake}"
    );
}

/// gpt2-tiny (3 layers, 128 wide, feed-forward 512), random init, on Bit XOR: float
/// features through the Linear input layer, 5 predictions per example.
#[test]
fn gpt2_tiny_on_bit_xor_follows_the_reference_step_by_step() {
    let args = [
        "--task",
        "bit-xor",
        "--model",
        "gpt2-tiny",
        "--init",
        "random",
        "--steps",
        "30",
        "--batch-size",
        "16",
        "--micro-batch-size",
        "8",
        "--eval-every",
        "30",
        "--eval-examples",
        "128",
    ];
    check(&args, 3, 512, 128.0 * 5.0, "lr=0.0011");
}

/// A 2-layer all-MiniLM-L6-v2-shaped BERT (384 wide, feed-forward 1536), random init, on
/// Bit Memory: BERT's embeddings (positions, token types, layer norm) and post-norm blocks.
#[test]
fn a_two_layer_bert_on_bit_memory_follows_the_reference_step_by_step() {
    let args = [
        "--task",
        "bit-memory",
        "--n-bits",
        "20",
        "--patterns",
        "2",
        "--patch",
        "5",
        "--model",
        "minilm-l6",
        "--layers",
        "2",
        "--init",
        "random",
        "--steps",
        "20",
        "--batch-size",
        "16",
        "--micro-batch-size",
        "8",
        "--eval-every",
        "20",
        "--eval-examples",
        "64",
    ];
    check(&args, 2, 1536, 64.0 * 20.0, "clip_grad_norm=0.9");
}
