//! Our GPT-2 against Hugging Face's on the committed fixture (tools/golden/make_gpt2_golden.py).

use std::path::PathBuf;
use std::process::Command;

use harness::model::ModelSource;
use tch::Tensor;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gpt2-golden")
}

fn tensor(file: &str, name: &str) -> Tensor {
    Tensor::read_safetensors(fixture().join(file))
        .unwrap()
        .into_iter()
        .find_map(|(n, t)| (n == name).then_some(t))
        .unwrap_or_else(|| panic!("{file} has no {name}"))
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.size(), b.size());
    (a - b).abs().max().double_value(&[])
}

#[test]
fn backbone_matches_hugging_face_within_1e_5() {
    let x = tensor("inputs.safetensors", "inputs_embeds");
    let expected = tensor("expected.safetensors", "last_hidden_state");
    let ours = harness::inspect::backbone_forward(&ModelSource::Dir(fixture()), &x).unwrap();
    let err = max_abs_diff(&ours, &expected);
    assert!(err < 1e-5, "max abs error {err}");
    // The comparison is not vacuous: the output is far from the input and from zero.
    assert!(max_abs_diff(&expected, &x) > 0.1);
}

#[test]
fn inspect_forward_cli_writes_the_same_numbers() {
    let out = tempfile::tempdir().unwrap();
    let out_file = out.path().join("out.safetensors");
    let status = Command::new(env!("CARGO_BIN_EXE_fpt"))
        .args(["inspect", "forward", "--model-dir"])
        .arg(fixture())
        .arg("--inputs")
        .arg(fixture().join("inputs.safetensors"))
        .arg("--out")
        .arg(&out_file)
        .status()
        .unwrap();
    assert!(status.success());
    let written = Tensor::read_safetensors(&out_file).unwrap();
    assert_eq!(written[0].0, "last_hidden_state");
    let expected = tensor("expected.safetensors", "last_hidden_state");
    assert!(max_abs_diff(&written[0].1, &expected) < 1e-5);
}
