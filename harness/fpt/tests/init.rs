//! The initialisations other than random: statistics-only, and a task-pretrained backbone.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use models::model::{FptModel, ModelRecipe};
use spec::freeze::FreezePolicy;
use spec::model::{InitKind, ModelSource};
use spec::task::{EvalSplit, TaskSpec};
use tch::{Device, Tensor};
use training::task::{BuildTask, DataContext, Splits};

fn golden() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gpt2-golden")
}

fn build(
    source: &ModelSource,
    init: &InitKind,
    weights: Option<&std::path::Path>,
) -> Result<FptModel, models::model::ModelError> {
    let task = TaskSpec::BitXor {
        n: 5,
        patterns: 2,
        patch: 1,
    }
    .build(&DataContext::standard(true), Splits::only(EvalSplit::Test))
    .unwrap();
    tch::manual_seed(3);
    FptModel::new(&ModelRecipe {
        source,
        layers: None,
        init,
        weights,
        freeze: &FreezePolicy::fpt(),
        shape: task.shape(),
        input_dropout: 0.1,
        backbone_dropout: None,
        orthogonal_gain: 1.41,
        device: Device::Cpu,
    })
}

#[test]
fn statistics_only_matches_each_tensors_mean_and_std_but_not_its_values() {
    let source = ModelSource::Dir(golden());
    let file = golden().join("model.safetensors");
    let model = build(&source, &InitKind::Stats, Some(&file)).unwrap();
    let pretrained: HashMap<String, Tensor> = Tensor::read_safetensors(&file)
        .unwrap()
        .into_iter()
        .collect();
    let vars = model.var_store().variables();
    let mut compared = 0;
    for (name, original) in &pretrained {
        let Some(drawn) = vars.get(name) else {
            continue;
        };
        let n = original.numel() as f64;
        let (m0, s0) = (
            original.mean(None).double_value(&[]),
            original.std(true).double_value(&[]),
        );
        let (m1, s1) = (
            drawn.mean(None).double_value(&[]),
            drawn.std(true).double_value(&[]),
        );
        // Five standard errors: a failure here is not sampling noise.
        assert!(
            (m1 - m0).abs() <= 5.0 * s0 / n.sqrt() + 1e-6,
            "{name}: mean {m1} vs {m0}"
        );
        assert!(
            (s1 - s0).abs() <= 5.0 * s0 / (2.0 * n).sqrt() + 1e-6,
            "{name}: std {s1} vs {s0}"
        );
        assert!(
            !drawn.allclose(original, 1e-6, 1e-6, false),
            "{name} kept its values"
        );
        compared += 1;
    }
    assert_eq!(
        compared,
        2 * 12 + 3,
        "every backbone tensor of the 2-layer fixture (wpe, ln_f, 12 per block)"
    );
}

#[test]
fn a_run_that_trained_its_whole_backbone_initialises_another() {
    let tmp = tempfile::tempdir().unwrap();
    let source_dir = tmp.path().join("bit-pretrained");
    let mut pretrain = common::tiny_spec(
        TaskSpec::BitMemory {
            n: 20,
            patterns: 2,
            patch: 5,
        },
        20,
        1e-3,
        0,
    );
    pretrain.freeze = "all".parse().unwrap();
    common::train_in(&source_dir, &pretrain);

    let tiny = ModelSource::Named("gpt2-tiny".into());
    let from_run = build(&tiny, &InitKind::Run(source_dir.clone()), None).unwrap();
    let random = build(&tiny, &InitKind::Random, None).unwrap();
    let saved: HashMap<String, Tensor> =
        Tensor::read_safetensors(source_dir.join("checkpoint.safetensors"))
            .unwrap()
            .into_iter()
            .collect();
    let name = "h.1.attn.c_attn.weight";
    let ours = &from_run.var_store().variables()[name];
    assert!(ours.equal(&saved[&format!("param.{name}")]));
    assert!(!ours.equal(&random.var_store().variables()[name]));

    // A run that kept its attention frozen cannot stand in for a whole backbone.
    let partial_dir = tmp.path().join("fpt-run");
    common::train_in(
        &partial_dir,
        &common::tiny_spec(
            TaskSpec::BitXor {
                n: 5,
                patterns: 2,
                patch: 1,
            },
            5,
            1e-3,
            0,
        ),
    );
    let err = build(&tiny, &InitKind::Run(partial_dir), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("--freeze all"), "{err}");
}
