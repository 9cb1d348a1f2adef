//! Our Longformer against Hugging Face's `LongformerModel` on the committed fixture
//! (tools/golden/make_longformer_golden.py): a random checkpoint saved as
//! `pytorch_model.bin`, as allenai/longformer-base-4096 publishes it, read by libtorch; 13
//! tokens under windows of 4 and 6, so HF pads and the window cuts attention short.

mod parity;

use std::path::Path;

use models::backbone::longformer::Longformer;
use models::backbone::{load_checkpoint, Backbone};
use models::model::pretrained_weights;
use parity::{
    assert_beyond_rounding, assert_within_rounding, config, fixture, fixture_arithmetic, tensor,
};
use spec::architecture::longformer::AttentionWindow;
use spec::architecture::{Architecture, LongformerConfig};
use spec::model::ModelSource;
use tch::nn::VarStore;
use tch::{Device, Tensor};

/// The tokens the fixture's global run gave global attention (its SOURCE.json says so).
const GLOBAL_TOKENS: i64 = 3;

/// A Longformer built from `config` with the fixture folder's weights, found as `--model-dir`
/// finds them (pytorch_model.bin), loaded over it.
fn load(dir: &Path, config: LongformerConfig) -> (VarStore, Longformer) {
    let vs = VarStore::new(Device::Cpu);
    let model = Longformer::new(&vs.root(), config).unwrap();
    let weights = pretrained_weights(&ModelSource::Dir(dir.into()), true).unwrap();
    assert_eq!(weights.file_name().unwrap(), "pytorch_model.bin");
    let report = load_checkpoint(&model, &weights, &vs.variables()).unwrap();
    assert!(report.unexpected.is_empty(), "{:?}", report.unexpected);
    assert_eq!(report.loaded, vs.variables().len());
    (vs, model)
}

fn inputs(dir: &Path) -> Tensor {
    tensor(&dir.join("inputs.safetensors"), "inputs_embeds")
}

#[test]
fn local_attention_matches_hugging_face_without_a_global_mask() {
    let dir = fixture("longformer-golden");
    let hf: LongformerConfig = config(&dir);
    let (_, model) = load(&dir, hf.clone());
    let x = inputs(&dir);
    let expected = tensor(&dir.join("expected.safetensors"), "last_hidden_state");
    let bound = fixture_arithmetic("longformer-golden");
    let ours = tch::no_grad(|| model.hf_forward(&x));
    assert_within_rounding(&ours, &expected, &bound, "longformer, local");
    // A window one token wider each side in the first layer is a different model.
    let wider = LongformerConfig {
        attention_window: AttentionWindow::PerLayer(vec![hf.window(0) + 2, hf.window(1)]),
        ..hf
    };
    let (_, wrong) = load(&dir, wider);
    let off = tch::no_grad(|| wrong.hf_forward(&x));
    assert_beyond_rounding(&off, &expected, &bound, "longformer, window + 2");
}

/// `forward_last` puts global attention on the tokens it returns: HF with a global
/// attention mask on those tokens.
#[test]
fn global_attention_on_the_head_tokens_matches_hugging_face() {
    let dir = fixture("longformer-golden");
    let (_, model) = load(&dir, config(&dir));
    let x = inputs(&dir);
    let expected = tensor(
        &dir.join("expected.safetensors"),
        "global_last_hidden_state",
    );
    let t = expected.size()[1];
    let expected = expected.narrow(1, t - GLOBAL_TOKENS, GLOBAL_TOKENS);
    let bound = fixture_arithmetic("longformer-golden");
    let ours = tch::no_grad(|| model.forward_last(&x, GLOBAL_TOKENS, false));
    assert_within_rounding(&ours, &expected, &bound, "longformer, global");
    // Without global attention, those tokens come out otherwise.
    let local = tch::no_grad(|| model.hf_forward(&x)).narrow(1, t - GLOBAL_TOKENS, GLOBAL_TOKENS);
    assert_beyond_rounding(&local, &expected, &bound, "longformer, local for global");
}

#[test]
fn the_fixture_config_json_is_read_as_longformer() {
    let dir = fixture("longformer-golden");
    let arch = Architecture::from_hf_config(&dir.join("config.json")).unwrap();
    let Architecture::Longformer(c) = arch else {
        panic!("{arch:?}")
    };
    assert_eq!((c.window(0), c.window(1)), (4, 8));
    assert_eq!(c.position_offset(), 2);
}

/// libtorch's reader crashes the process on a cut or damaged archive: the loader checks
/// the archive whole first, and says what is wrong.
#[test]
fn a_truncated_or_damaged_pytorch_checkpoint_is_a_clear_error() {
    let dir = fixture("longformer-golden");
    let bytes = std::fs::read(dir.join("pytorch_model.bin")).unwrap();
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 0x40;
    let tmp = tempfile::tempdir().unwrap();
    let vs = VarStore::new(Device::Cpu);
    let model = Longformer::new(&vs.root(), config(&dir)).unwrap();
    for (what, damaged, says) in [
        (
            "truncated",
            &bytes[..bytes.len() / 2],
            "not a whole zip archive",
        ),
        ("one bit flipped", &flipped[..], "is damaged"),
    ] {
        let file = tmp.path().join("pytorch_model.bin");
        std::fs::write(&file, damaged).unwrap();
        let err = load_checkpoint(&model, &file, &vs.variables())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cannot read PyTorch") && err.contains(says) && err.contains("Re-fetch"),
            "{what}: {err}"
        );
    }
}
