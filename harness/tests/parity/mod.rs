//! Helpers shared by the Hugging Face parity tests of the BERT and ViT backbones.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::HashMap;
use std::path::{Path, PathBuf};

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
