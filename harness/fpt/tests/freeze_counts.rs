//! Trainable parameter counts of full-size GPT-2 under the freeze policies, against counts
//! worked out here from the architecture (12 layers, 768 wide, 1024 positions).

use std::collections::BTreeMap;

use models::model::{FptModel, ModelRecipe};
use spec::freeze::FreezePolicy;
use spec::freeze::ParamGroup;
use spec::model::{InitKind, ModelSource};
use spec::task::{InputKind, TaskShape};
use tch::Device;

const H: i64 = 768;
const LAYERS: i64 = 12;

/// Parameters per group, from the architecture alone.
fn expected_totals(input_dim: i64, classes: i64) -> BTreeMap<ParamGroup, i64> {
    let attention_per_layer = (H * 3 * H + 3 * H) + (H * H + H);
    let ff_per_layer = (H * 4 * H + 4 * H) + (4 * H * H + H);
    BTreeMap::from([
        (ParamGroup::Input, input_dim * H + H),
        (ParamGroup::Positions, 1024 * H),
        (ParamGroup::LayerNorm, (2 * LAYERS + 1) * 2 * H),
        (ParamGroup::Attention, LAYERS * attention_per_layer),
        (ParamGroup::FeedForward, LAYERS * ff_per_layer),
        (ParamGroup::Output, H * classes + classes),
    ])
}

fn check(input_dim: i64, seq_len: i64) {
    let shape = TaskShape {
        input: InputKind::Features { dim: input_dim },
        seq_len,
        head_tokens: 1,
        targets_per_example: 1,
        classes: 10,
    };
    let source = ModelSource::Named("gpt2".into());
    let fpt = FreezePolicy::fpt();
    let mut model = FptModel::new(&ModelRecipe {
        source: &source,
        layers: None,
        init: &InitKind::Random,
        weights: None,
        freeze: &fpt,
        shape,
        input_dropout: 0.1,
        backbone_dropout: None,
        orthogonal_gain: 1.41,
        device: Device::Cpu,
    })
    .unwrap();
    let totals = expected_totals(input_dim, 10);
    let attention_last = totals[&ParamGroup::Attention] / LAYERS;
    use ParamGroup::*;
    let cases: [(&str, &[ParamGroup], i64); 5] = [
        ("fpt", &[Input, Positions, LayerNorm, Output], 0),
        ("output-only", &[Output], 0),
        (
            "+feedforward",
            &[Input, Positions, LayerNorm, Output, FeedForward],
            0,
        ),
        (
            "+last-attention",
            &[Input, Positions, LayerNorm, Output, FeedForward],
            attention_last,
        ),
        ("all", &ParamGroup::ALL, 0),
    ];
    for (policy, groups, extra_attention) in cases {
        model.set_freeze(&policy.parse().unwrap());
        for (group, total) in &totals {
            let count = model.counts()[group];
            assert_eq!(count.total, *total, "{policy}: total of {group:?}");
            let want = if groups.contains(group) {
                *total
            } else if *group == Attention {
                extra_attention
            } else {
                0
            };
            assert_eq!(count.trainable, want, "{policy}: trainable {group:?}");
        }
        let listed: i64 = model
            .trainable()
            .iter()
            .map(|(_, t)| t.numel() as i64)
            .sum();
        let counted: i64 = model.counts().values().map(|c| c.trainable).sum();
        assert_eq!(listed, counted, "{policy}");
        for (name, t) in model.trainable() {
            assert!(t.requires_grad(), "{policy}: {name} should train");
        }
    }
}

#[test]
fn gpt2_on_the_mnist_shape() {
    check(16, 49);
}

#[test]
fn gpt2_on_the_cifar10_shape() {
    check(48, 64);
}
