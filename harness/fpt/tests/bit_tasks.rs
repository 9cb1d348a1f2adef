//! FPT learns the bit tasks for real: a tiny frozen random GPT-2, trained end to end.

mod common;

use common::{numbers, small_bit_xor, tiny_spec, train_in};
use spec::task::TaskSpec;

#[test]
fn bit_xor_reaches_99_percent_held_out() {
    let dir = tempfile::tempdir().unwrap();
    let spec = tiny_spec(small_bit_xor(), 1000, 1e-2, 0);
    let (result, metrics) = train_in(dir.path(), &spec);
    assert!(!result.diverged);
    assert!(
        result.test_accuracy >= 0.99,
        "held-out accuracy {} after {} steps; curve {:?}",
        result.test_accuracy,
        result.steps,
        numbers(&metrics)
    );
    // It started at chance.
    assert!(metrics[0].test_accuracy < 0.6);
    // Only the FPT groups trained: input 1x128+128, positions 1024x128, 7 layer norms, output 128x2+2.
    assert_eq!(result.trainable_params, 256 + 1024 * 128 + 7 * 256 + 258);
}

#[test]
fn bit_memory_learns_beyond_copying_the_visible_bits() {
    let dir = tempfile::tempdir().unwrap();
    // 2 strings of 20 bits in patches of 5: 10 tokens, the last 4 the masked query.
    let spec = tiny_spec(
        TaskSpec::BitMemory {
            n: 20,
            patterns: 2,
            patch: 5,
        },
        800,
        1e-2,
        0,
    );
    let (result, metrics) = train_in(dir.path(), &spec);
    // Copying the unmasked half of the query and guessing the rest scores 75%; chance is 50%.
    assert!(
        result.test_accuracy > 0.9,
        "held-out accuracy {}; curve {:?}",
        result.test_accuracy,
        numbers(&metrics)
    );
}

#[test]
fn same_seed_same_numbers_and_another_seed_differs() {
    let task = small_bit_xor();
    let run = |seed| {
        let dir = tempfile::tempdir().unwrap();
        numbers(&train_in(dir.path(), &tiny_spec(task, 200, 1e-3, seed)).1)
    };
    let first = run(7);
    assert_eq!(first, run(7));
    assert_ne!(first, run(8));
}

/// Learning-curve points score an evenly spread subset of the held-out set between the full
/// evaluations; they do not disturb training (the full evaluations match a run without them)
/// and never set the run's accuracy or its best.
#[test]
fn curve_points_score_a_subset_and_never_set_the_result() {
    let plain = tiny_spec(small_bit_xor(), 60, 3e-3, 5);
    let curved = spec::run::RunSpec {
        curve_every: Some(5),
        curve_examples: Some(32),
        ..plain.clone()
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (plain_result, plain_metrics) = train_in(dir_a.path(), &plain);
    let (result, metrics) = train_in(dir_b.path(), &curved);
    let steps: Vec<u64> = metrics.iter().map(|r| r.step).collect();
    assert_eq!(steps, (0..=60).step_by(5).collect::<Vec<_>>());
    for r in &metrics {
        let full = r.step % plain.eval_every == 0 || r.step == 60;
        assert_eq!(r.curve_point, !full, "step {}", r.step);
        assert_eq!(
            r.examples,
            Some(if full { 512 } else { 32 }),
            "step {}",
            r.step
        );
    }
    let full: Vec<_> = metrics.iter().filter(|r| !r.curve_point).cloned().collect();
    assert_eq!(numbers(&full), numbers(&plain_metrics));
    assert_eq!(result.test_accuracy, plain_result.test_accuracy);
    assert_eq!(result.best_test_accuracy, plain_result.best_test_accuracy);
    assert_eq!(result.train_accuracy, plain_result.train_accuracy);
}

/// The backbones the cross-architecture and overfitting tables add, at gpt2-tiny's size,
/// trained from scratch as a whole (`--init random --freeze all`), learn Bit XOR. T5 takes a
/// smaller step and longer: it has no position table, so it must grow its relative bias to
/// find the paired bit 5 tokens back, and with Adam at 1e-3 its unscaled attention logits
/// saturate and it stays at chance (measured: seed 0 at chance through 800 steps at 1e-3;
/// at 5e-4, 94% at 600 steps and 100% from 700).
#[test]
fn t5_longformer_and_linformer_learn_bit_xor_from_scratch() {
    for (model, steps, lr) in [
        ("t5-tiny", 800, 5e-4),
        ("longformer-tiny", 300, 1e-3),
        ("linformer-tiny", 300, 1e-3),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let spec = spec::run::RunSpec {
            model: spec::model::ModelSource::Named(model.into()),
            freeze: "all".parse().unwrap(),
            ..tiny_spec(small_bit_xor(), steps, lr, 0)
        };
        let (result, metrics) = train_in(dir.path(), &spec);
        assert!(!result.diverged, "{model}");
        assert!(
            result.test_accuracy >= 0.9,
            "{model}: held-out accuracy {} after {} steps; curve {:?}",
            result.test_accuracy,
            result.steps,
            numbers(&metrics)
        );
        assert!(
            metrics[0].test_accuracy < 0.6,
            "{model} started above chance"
        );
    }
}
