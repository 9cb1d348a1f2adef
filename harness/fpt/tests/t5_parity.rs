//! Our T5 encoder against Hugging Face's on the committed fixtures
//! (tools/golden/make_t5_golden.py): random T5ForConditionalGeneration checkpoints, t5-base's
//! layout, whose encoder loads and whose decoder is reported skipped.

mod parity;

use std::path::Path;

use models::backbone::t5::T5;
use models::backbone::{load_checkpoint, Backbone};
use models::weights::LoadReport;
use parity::{
    assert_beyond_rounding, assert_within_rounding, config, fixture, fixture_arithmetic,
    max_abs_diff, tensor, tensors,
};
use spec::architecture::{Architecture, T5Config};
use tch::nn::VarStore;
use tch::{Device, Tensor};

/// A T5 encoder built from `config`, with `dir`'s checkpoint loaded over it.
fn load(dir: &Path, config: T5Config) -> (VarStore, T5, LoadReport) {
    let vs = VarStore::new(Device::Cpu);
    let t5 = T5::new(&vs.root(), config).unwrap();
    let report = load_checkpoint(&t5, &dir.join("model.safetensors"), &vs.variables()).unwrap();
    (vs, t5, report)
}

fn eval(t5: &T5, x: &Tensor) -> Tensor {
    tch::no_grad(|| t5.hf_forward(x))
}

/// Both variants (ReLU, as t5-base; gated GELU, as T5 v1.1) match HF's encoder within the
/// rounding bound, and miss it with the relative buckets reaching 4 tokens further.
#[test]
fn t5_encoders_match_hugging_face_within_rounding() {
    for name in ["t5-golden", "t5-gated-golden"] {
        let dir = fixture(name);
        let hf: T5Config = config(&dir);
        let (vs, t5, report) = load(&dir, hf.clone());
        assert!(
            report.unexpected.is_empty(),
            "{name}: {:?}",
            report.unexpected
        );
        assert_eq!(report.loaded, vs.variables().len(), "{name}");
        let x = tensor(&dir.join("inputs.safetensors"), "inputs_embeds");
        let expected = tensor(&dir.join("expected.safetensors"), "last_hidden_state");
        let bound = fixture_arithmetic(name);
        assert_within_rounding(&eval(&t5, &x), &expected, &bound, name);
        let further = T5Config {
            relative_attention_max_distance: hf.relative_attention_max_distance + 4,
            ..hf
        };
        let (_, wrong, _) = load(&dir, further);
        assert_beyond_rounding(&eval(&wrong, &x), &expected, &bound, name);
        // The relative bias is a real term of the output.
        tch::no_grad(|| {
            let bias = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight";
            let _ = vs.variables()[bias].shallow_clone().zero_();
        });
        assert!(max_abs_diff(&eval(&t5, &x), &expected) > 1e-2, "{name}");
    }
}

/// The checkpoint is the whole encoder-decoder: the loader takes the encoder, and reports the
/// decoder, the shared embedding (and the separate head of the gated variant) as skipped.
#[test]
fn an_encoder_decoder_checkpoint_loads_its_encoder_and_reports_the_rest_skipped() {
    for (name, head) in [("t5-golden", false), ("t5-gated-golden", true)] {
        let dir = fixture(name);
        let file = tensors(&dir.join("model.safetensors"));
        let decoder = file.keys().filter(|n| n.starts_with("decoder.")).count();
        assert!(decoder > 0, "{name}: the fixture holds a decoder");
        let (_, _, report) = load(&dir, config(&dir));
        let summary = report.skipped_summary();
        assert!(
            summary.contains(&format!("decoder.* ({decoder})")),
            "{name}: {summary}"
        );
        assert!(summary.contains("shared.weight"), "{name}: {summary}");
        assert_eq!(
            summary.contains("lm_head.weight"),
            head,
            "{name}: {summary}"
        );
        assert_eq!(report.loaded + report.skipped.len(), file.len(), "{name}");
    }
}

/// `--model-dir` reads the fixture's config.json as a T5 (model_type t5, fields HF wrote).
#[test]
fn the_fixture_config_json_is_read_as_t5() {
    let dir = fixture("t5-gated-golden");
    let arch = Architecture::from_hf_config(&dir.join("config.json")).unwrap();
    let Architecture::T5(c) = arch else {
        panic!("{arch:?}")
    };
    assert_eq!((c.d_model, c.num_layers, c.d_kv), (32, 2, 8));
    assert_eq!(c.feed_forward_proj, "gated-gelu");
}
