//! Our BERT against Hugging Face's `BertModel` on the committed fixtures
//! (tools/golden/make_bert_golden.py), and the loader's errors on broken checkpoints.

mod parity;

use std::path::Path;

use models::backbone::bert::{checkpoint_name_map, Bert};
use models::backbone::Backbone;
use models::weights::{self, LoadReport};
use parity::{
    assert_within_rounding, config, fixture, fixture_arithmetic, max_abs_diff, tensor, tensors,
    write,
};
use spec::architecture::BertConfig;
use tch::nn::VarStore;
use tch::{Device, Tensor};

/// A BERT built from `dir`'s config.json, with `file` loaded over it through the rename.
fn load(dir: &Path, file: &Path) -> Result<(VarStore, Bert, LoadReport), weights::LoadError> {
    let vs = VarStore::new(Device::Cpu);
    let bert = Bert::new(&vs.root(), config::<BertConfig>(dir)).unwrap();
    let report = weights::load_into(file, &vs.variables(), checkpoint_name_map, |name| {
        bert.unused_checkpoint_tensor(name)
    })?;
    Ok((vs, bert, report))
}

fn eval(bert: &Bert, x: &Tensor) -> Tensor {
    tch::no_grad(|| bert.forward(x, false))
}

#[test]
fn bert_matches_hugging_face_within_rounding() {
    let dir = fixture("bert-golden");
    let (vs, bert, report) = load(&dir, &dir.join("model.safetensors")).unwrap();
    assert!(report.unexpected.is_empty(), "{:?}", report.unexpected);
    assert_eq!(report.loaded, vs.variables().len());
    let x = tensor(&dir.join("inputs.safetensors"), "inputs_embeds");
    let expected = tensor(&dir.join("expected.safetensors"), "last_hidden_state");
    let ours = eval(&bert, &x);
    assert_within_rounding(&ours, &expected, &fixture_arithmetic("bert-golden"), "bert");
    // The comparison is not vacuous: the output is far from the input, and the token-type
    // and position terms each move it.
    assert!(max_abs_diff(&expected, &x) > 0.1);
    for term in [
        "embeddings.token_type_embeddings.weight",
        "embeddings.position_embeddings.weight",
    ] {
        tch::no_grad(|| {
            let _ = vs.variables()[term].shallow_clone().zero_();
        });
        assert!(max_abs_diff(&eval(&bert, &x), &expected) > 1e-2, "{term}");
    }
}

#[test]
fn legacy_names_load_through_the_rename_and_give_the_same_numbers() {
    let dir = fixture("bert-legacy-golden");
    let file = dir.join("model.safetensors");
    assert!(tensors(&file).contains_key("bert.embeddings.LayerNorm.gamma"));
    let (vs, bert, report) = load(&dir, &file).unwrap();
    // cls.predictions.bias, bert.pooler.* and word embeddings are known-unused.
    assert!(report.unexpected.is_empty(), "{:?}", report.unexpected);
    assert_eq!(report.loaded, vs.variables().len());
    let x = tensor(&dir.join("inputs.safetensors"), "inputs_embeds");
    let modern = fixture("bert-golden");
    let expected = tensor(&modern.join("expected.safetensors"), "last_hidden_state");
    let bound = fixture_arithmetic("bert-golden");
    assert_within_rounding(&eval(&bert, &x), &expected, &bound, "legacy bert");
}

#[test]
fn legacy_names_without_the_rename_are_reported_missing() {
    let dir = fixture("bert-legacy-golden");
    let vs = VarStore::new(Device::Cpu);
    let _bert = Bert::new(&vs.root(), config::<BertConfig>(&dir)).unwrap();
    let err = weights::load_into(
        &dir.join("model.safetensors"),
        &vs.variables(),
        str::to_string,
        |_| false,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("lacks 36 tensor(s)") && err.contains("embeddings.LayerNorm.bias"),
        "{err}"
    );
}

#[test]
fn truncated_checkpoint_is_a_clear_error() {
    let dir = fixture("bert-golden");
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cut = tmp.path().join("model.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = load(&dir, &cut).unwrap_err().to_string();
    assert!(
        err.contains("cannot read safetensors file") && err.contains("truncated"),
        "{err}"
    );
}

#[test]
fn wrong_shape_names_the_tensor_and_both_shapes() {
    let dir = fixture("bert-golden");
    let vs = VarStore::new(Device::Cpu);
    let wider = BertConfig {
        intermediate_size: 48,
        ..config::<BertConfig>(&dir)
    };
    let bert = Bert::new(&vs.root(), wider).unwrap();
    let err = weights::load_into(
        &dir.join("model.safetensors"),
        &vs.variables(),
        checkpoint_name_map,
        |name| bert.unused_checkpoint_tensor(name),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(".intermediate.dense.") && err.contains("[64") && err.contains("[48"),
        "{err}"
    );
}

#[test]
fn missing_tensor_is_named() {
    let dir = fixture("bert-golden");
    let dropped = "encoder.layer.1.output.dense.bias";
    let kept: Vec<(String, Tensor)> = tensors(&dir.join("model.safetensors"))
        .into_iter()
        .filter(|(name, _)| name != dropped)
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("model.safetensors");
    write(&file, &kept);
    let err = load(&dir, &file).unwrap_err().to_string();
    assert!(
        err.contains("lacks 1 tensor(s)") && err.contains(dropped),
        "{err}"
    );
}
