//! The opt-in bf16 frozen body: the frozen matrices are kept in bf16, everything trained in
//! fp32; its forward stays close to the fp32 one, and it still learns.

mod common;

use common::{numbers, small_bit_xor, tiny_spec, train_in};
use spec::freeze::ParamGroup;
use spec::model::FrozenPrecision;
use spec::run::RunSpec;
use tch::Kind;

fn bit_xor(steps: u64, precision: FrozenPrecision) -> RunSpec {
    RunSpec {
        frozen_precision: precision,
        ..tiny_spec(small_bit_xor(), steps, 1e-2, 0)
    }
}

/// One model, before and after its frozen matrices go to bf16 (no second init, so tests
/// running beside it and drawing from torch's RNG cannot make the two differ).
#[test]
fn frozen_matrices_are_bf16_and_the_forward_stays_close() {
    let spec = bit_xor(1, FrozenPrecision::Fp32);
    let mut model = training::train::build_model(&spec, spec.task.shape().unwrap(), true).unwrap();
    let xs = tch::Tensor::randint(2, [4, 10, 1], tch::kind::FLOAT_CPU);
    let fp32 = tch::no_grad(|| model.forward(&xs, false));
    model.set_frozen_precision(FrozenPrecision::Bf16);
    let bf16 = tch::no_grad(|| model.forward(&xs, false));

    let trainable: Vec<&str> = model.trainable().iter().map(|(n, _)| n.as_str()).collect();
    let mut cast = 0;
    for (name, var) in model.var_store().variables() {
        let kind = var.kind();
        if trainable.contains(&name.as_str()) {
            assert_eq!(kind, Kind::Float, "{name} trains: fp32");
        } else if name.contains(".attn.") || name.contains(".mlp.") {
            assert_eq!(kind, Kind::BFloat16, "{name} is a frozen matrix");
            cast += 1;
        } else {
            assert_eq!(kind, Kind::Float, "{name}");
        }
    }
    // gpt2-tiny: 3 blocks x (c_attn, c_proj, c_fc, mlp c_proj) x (weight, bias).
    assert_eq!(cast, 3 * 4 * 2);
    assert_eq!(
        model.counts()[&ParamGroup::Attention].trainable,
        0,
        "FPT freezes attention"
    );

    assert_eq!(bf16.kind(), Kind::Float);
    let scale = fp32.abs().max().double_value(&[]);
    let diff = (&fp32 - &bf16).abs().max().double_value(&[]);
    assert!(diff > 0.0, "bf16 arithmetic differs from fp32");
    assert!(diff < 0.05 * scale, "{diff} against logits up to {scale}");
}

/// Trained alike, the bf16 body jumps to 100% between steps 600 and 800 on an Intel Xeon
/// with AMX, and so it does there with oneDNN held to AVX-512 bf16, AVX-512 or AVX2; on an
/// AMD EPYC (AVX-512 bf16, other MKL kernels) it had reached 92% at step 1,000, still
/// climbing. When the jump comes depends on rounding, so the test asserts that it learns
/// (90%; chance is 50%, the output-only ablation about 56%) with 500 steps to spare past
/// where the slowest CPU seen had crossed that, not the step it happens at.
#[test]
fn a_bf16_frozen_body_learns_bit_xor() {
    let dir = tempfile::tempdir().unwrap();
    let spec = bit_xor(1500, FrozenPrecision::Bf16);
    assert!(spec.run_id().contains("-bf16-"), "{}", spec.run_id());
    let (result, metrics) = train_in(dir.path(), &spec);
    assert!(!result.diverged);
    assert!(
        result.test_accuracy >= 0.9,
        "held-out accuracy {}; curve {:?}",
        result.test_accuracy,
        numbers(&metrics)
    );
}
