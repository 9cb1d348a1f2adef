//! Our ViT blocks against Hugging Face's `ViTModel` on the committed fixture
//! (tools/golden/make_vit_golden.py): `encode` (blocks + final norm, no positions) against
//! HF's `model.layernorm(model.encoder(x))`.

mod parity;

use std::path::Path;

use models::backbone::vit::{Vit, POSITIONS};
use models::backbone::{load_checkpoint, Backbone};
use models::weights::LoadReport;
use parity::{
    assert_beyond_rounding, assert_within_rounding, config, fixture, fixture_arithmetic,
    max_abs_diff, tensor, tensors, write,
};
use spec::architecture::VitConfig;
use tch::nn::VarStore;
use tch::{Device, Tensor};

fn load(file: &Path) -> (VarStore, Vit, LoadReport) {
    let vs = VarStore::new(Device::Cpu);
    let vit = Vit::new(&vs.root(), config::<VitConfig>(&fixture("vit-golden"))).unwrap();
    let report = load_checkpoint(&vit, file, &vs.variables()).unwrap();
    (vs, vit, report)
}

fn inputs_and_expected() -> (Tensor, Tensor) {
    let dir = fixture("vit-golden");
    (
        tensor(&dir.join("inputs.safetensors"), "inputs_embeds"),
        tensor(&dir.join("expected.safetensors"), "last_hidden_state"),
    )
}

#[test]
fn vit_blocks_match_hugging_face_within_rounding() {
    let (vs, vit, report) = load(&fixture("vit-golden").join("model.safetensors"));
    assert!(report.unexpected.is_empty(), "{:?}", report.unexpected);
    // Everything but our own position table came from the file.
    assert_eq!(report.loaded, vs.variables().len() - 1);
    let (x, expected) = inputs_and_expected();
    let ours = tch::no_grad(|| vit.encode(&x, false));
    assert_within_rounding(&ours, &expected, &fixture_arithmetic("vit-golden"), "vit");
    // Not vacuous: the blocks move the input far.
    assert!(max_abs_diff(&expected, &x) > 0.1);
}

#[test]
fn our_position_table_is_kept_and_added_by_forward() {
    tch::manual_seed(7);
    let vs = VarStore::new(Device::Cpu);
    let vit = Vit::new(&vs.root(), config::<VitConfig>(&fixture("vit-golden"))).unwrap();
    let positions = vs.variables()[POSITIONS].copy();
    assert_eq!(positions.size(), [1024, vit.hidden_size()]);
    load_checkpoint(
        &vit,
        &fixture("vit-golden").join("model.safetensors"),
        &vs.variables(),
    )
    .unwrap();
    assert!(vs.variables()[POSITIONS].equal(&positions));
    let (x, expected) = inputs_and_expected();
    let t = x.size()[1];
    let (plain, shifted) = tch::no_grad(|| {
        (
            vit.forward(&x, false),
            vit.encode(&(&x + positions.narrow(0, 0, t)), false),
        )
    });
    let bound = fixture_arithmetic("vit-golden");
    assert_within_rounding(&plain, &shifted, &bound, "forward = encode(x + positions)");
    assert_beyond_rounding(&plain, &expected, &bound, "positions move the output");
}

#[test]
fn image_classification_checkpoint_loads_through_the_vit_prefix() {
    let file = fixture("vit-golden").join("model.safetensors");
    let mut renamed: Vec<(String, Tensor)> = tensors(&file)
        .into_iter()
        .map(|(name, t)| (format!("vit.{name}"), t))
        .collect();
    renamed.push((
        "classifier.weight".into(),
        Tensor::zeros([3, 32], tch::kind::FLOAT_CPU),
    ));
    let tmp = tempfile::tempdir().unwrap();
    let prefixed = tmp.path().join("model.safetensors");
    write(&prefixed, &renamed);
    let (_, vit, report) = load(&prefixed);
    assert!(report.unexpected.is_empty(), "{:?}", report.unexpected);
    let (x, expected) = inputs_and_expected();
    let ours = tch::no_grad(|| vit.encode(&x, false));
    assert_within_rounding(
        &ours,
        &expected,
        &fixture_arithmetic("vit-golden"),
        "vit. names",
    );
}
