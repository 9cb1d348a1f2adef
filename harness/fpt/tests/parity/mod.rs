//! Helpers shared by the Hugging Face parity tests: the committed fixtures, and the
//! rounding-error bound ours is held to (derived from the fixture's arithmetic, see
//! `models::numerics`, not from what one machine printed).
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use models::numerics::Arithmetic;
use tch::Tensor;

/// A committed fixture folder under tests/fixtures (written by tools/golden/).
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// All tensors of a safetensors file, by name.
pub fn tensors(file: &Path) -> HashMap<String, Tensor> {
    Tensor::read_safetensors(file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .into_iter()
        .collect()
}

/// One tensor of a safetensors file.
pub fn tensor(file: &Path, name: &str) -> Tensor {
    tensors(file)
        .remove(name)
        .unwrap_or_else(|| panic!("{} has no {name}", file.display()))
}

/// The fixture's config.json, deserialised as `T` (what `--model-dir` reads).
pub fn config<T: serde::de::DeserializeOwned>(dir: &Path) -> T {
    let text = std::fs::read_to_string(dir.join("config.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The arithmetic of a Hugging Face model's forward pass over `tokens` tokens, from its
/// config.json (GPT-2's, BERT/ViT/Longformer's or T5's field names), at the scale of
/// `expected`.
pub fn arithmetic(config: &serde_json::Value, tokens: i64, expected: &Tensor) -> Arithmetic {
    let field = |names: &[&str]| names.iter().find_map(|n| config[*n].as_u64());
    let depth = field(&["n_layer", "num_hidden_layers", "num_layers"]).expect("a layer count");
    let hidden = field(&["n_embd", "hidden_size", "d_model"]).expect("a hidden width");
    let inner = field(&["n_inner", "intermediate_size", "d_ff"]).unwrap_or(4 * hidden);
    Arithmetic {
        depth: depth as usize,
        widest_sum: inner.max(hidden).max(tokens as u64) as usize,
        magnitude: expected.abs().max().double_value(&[]),
    }
}

/// The arithmetic of fixture `name`'s forward pass (its config.json, inputs and output).
pub fn fixture_arithmetic(name: &str) -> Arithmetic {
    let dir = fixture(name);
    let expected = tensor(&dir.join("expected.safetensors"), "last_hidden_state");
    arithmetic(&config_json(&dir), expected.size()[1], &expected)
}

/// The fixture folder's config.json, as JSON.
pub fn config_json(dir: &Path) -> serde_json::Value {
    config(dir)
}

/// `ours` equals `expected` within the fp32 rounding bound of `arithmetic`.
pub fn assert_within_rounding(
    ours: &Tensor,
    expected: &Tensor,
    arithmetic: &Arithmetic,
    what: &str,
) {
    let (err, tol) = error_and_bound(ours, expected, arithmetic, what);
    assert!(
        err <= tol,
        "{what}: max abs error {err:.3e} over the rounding bound {tol:.3e} ({arithmetic:?})"
    );
}

/// `wrong` (a model with a deliberate small mistake) lands outside the bound: the negative
/// control that shows the bound can catch such a mistake.
pub fn assert_beyond_rounding(
    wrong: &Tensor,
    expected: &Tensor,
    arithmetic: &Arithmetic,
    what: &str,
) {
    let (err, tol) = error_and_bound(wrong, expected, arithmetic, what);
    assert!(
        err > tol,
        "{what}: a wrong model is only {err:.3e} off, inside the bound {tol:.3e}: the bound is too loose to catch it"
    );
}

/// The largest |a - b| and the rounding bound, printed (shown with --nocapture or on failure).
fn error_and_bound(a: &Tensor, b: &Tensor, arithmetic: &Arithmetic, what: &str) -> (f64, f64) {
    let (err, tol) = (max_abs_diff(a, b), arithmetic.fp32_tolerance());
    eprintln!("{what}: max abs error {err:.3e}, bound {tol:.3e}");
    (err, tol)
}

pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.size(), b.size());
    (a - b).abs().max().double_value(&[])
}

/// Writes `tensors` (made contiguous) to `file`.
pub fn write(file: &Path, tensors: &[(String, Tensor)]) {
    let owned: Vec<(&str, Tensor)> = tensors
        .iter()
        .map(|(n, t)| (n.as_str(), t.contiguous()))
        .collect();
    Tensor::write_safetensors(&owned, file).unwrap();
}
