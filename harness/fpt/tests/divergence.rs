//! Non-finite losses stop a run and are recorded; reading the step losses back from the
//! device only every N steps (what CUDA runs do) changes when the host looks, not the run.

mod common;

use common::{numbers, small_bit_xor, tiny_spec, train_in};
use spec::run::AdamConfig;
use spec::run::RunSpec;

fn bit_xor(steps: u64, lr: f64, log_every: u64) -> RunSpec {
    RunSpec {
        log_every: Some(log_every),
        eval_every: 5,
        checkpoint_every: 1000,
        ..tiny_spec(small_bit_xor(), steps, lr, 0)
    }
}

#[test]
fn reading_losses_every_few_steps_gives_the_same_run() {
    let every_step = tempfile::tempdir().unwrap();
    let every_seventh = tempfile::tempdir().unwrap();
    let (a, a_metrics) = train_in(every_step.path(), &bit_xor(20, 1e-2, 1));
    let (b, b_metrics) = train_in(every_seventh.path(), &bit_xor(20, 1e-2, 7));
    assert!(!a.diverged && !b.diverged);
    assert_eq!(numbers(&a_metrics), numbers(&b_metrics));
    assert!(a_metrics.iter().skip(1).all(|m| m.train_loss.is_some()));
    assert_eq!(
        (a.test_accuracy, a.train_accuracy),
        (b.test_accuracy, b.train_accuracy)
    );
}

/// A learning rate of 1e30 overflows the weights within a few steps: the run stops at the
/// first non-finite step, says which, and keeps its evaluations from before it (all
/// finite); with reads every 4 steps it finds the same step.
#[test]
fn a_diverging_run_stops_and_records_the_step() {
    let mut found = Vec::new();
    for log_every in [1, 4] {
        let dir = tempfile::tempdir().unwrap();
        let spec = RunSpec {
            optimizer: AdamConfig {
                lr: 1e30,
                ..AdamConfig::default()
            },
            ..bit_xor(40, 1e-3, log_every)
        };
        let (result, metrics) = train_in(dir.path(), &spec);
        assert!(result.diverged, "log_every {log_every}: {result:?}");
        let at = result
            .diverged_at_step
            .expect("a diverged run names its step");
        assert!(at < 40 && result.steps == at, "{result:?}");
        assert!(!metrics.is_empty());
        for m in &metrics {
            assert!(m.step <= at, "an evaluation after the divergence: {m:?}");
            assert!(m.test_loss.is_finite(), "{m:?}");
        }
        assert!(result.test_accuracy.is_finite());
        found.push(at);
    }
    assert_eq!(found[0], found[1], "the same step, whenever it is read");
}
