//! Dataset-backed tasks end to end without the network: MNIST-format IDX files in a cache,
//! registered through a manifest, loaded offline, patched and learned; ListOps generated.

mod common;

use std::path::Path;

use datasets::registry::Registry;
use datasets::vision::idx::{encode, IdxData};
use spec::schema::DataCheck;
use spec::task::{EvalSplit, InputKind, ListOpsData, ListOpsTokens, MnistSource, TaskSpec};
use training::task::{BuildTask, DataContext, Splits};

/// A 10-class image set: class c lights pixel c of every 4x4 patch (row-major within the
/// patch) over seeded noise, so every token, the last one included, carries the label in
/// its direction: a test of the pipeline (IDX files, patching, scaling, training), not of
/// the model.
fn write_split(dir: &Path, images: &str, labels: &str, count: usize, seed: u64) {
    let mut state = seed;
    let mut noise = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 60) as u8 * 4
    };
    let mut pixels = Vec::with_capacity(count * 784);
    let mut label_bytes = Vec::with_capacity(count);
    for i in 0..count {
        let class = i % 10;
        pixels.extend((0..784).map(|p| {
            let (y, x) = (p / 28, p % 28);
            let in_patch = (y % 4) * 4 + x % 4;
            if in_patch == class {
                250
            } else {
                noise()
            }
        }));
        label_bytes.push(class as u8);
    }
    let images_idx = IdxData::Images {
        count,
        rows: 28,
        cols: 28,
        pixels,
    };
    std::fs::write(dir.join(images), encode(&images_idx)).unwrap();
    std::fs::write(dir.join(labels), encode(&IdxData::Labels(label_bytes))).unwrap();
}

fn sha256(path: &Path) -> String {
    datasets::checksum::digest_file(path)
        .unwrap()
        .sha256
        .to_string()
}

/// A cache holding the fixture under MNIST's file names, and a registry pinning their digests.
fn mnist_cache(dir: &Path) -> DataContext {
    write_split(
        dir,
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        600,
        1,
    );
    write_split(
        dir,
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        200,
        2,
    );
    let mut manifest = String::new();
    for (name, file) in [
        ("mnist-train-images", "train-images-idx3-ubyte.gz"),
        ("mnist-train-labels", "train-labels-idx1-ubyte.gz"),
        ("mnist-test-images", "t10k-images-idx3-ubyte.gz"),
        ("mnist-test-labels", "t10k-labels-idx1-ubyte.gz"),
    ] {
        manifest.push_str(&format!(
            "[[artifact]]\nname = \"{name}\"\nfile = \"{file}\"\nurls = [\"http://127.0.0.1:9/{file}\"]\nsha256 = \"{}\"\n\n",
            sha256(&dir.join(file))
        ));
    }
    let mut registry = Registry::builtin();
    registry.apply_manifest_str(&manifest, "fixture").unwrap();
    DataContext {
        registry,
        cache_dir: dir.to_path_buf(),
        offline: true,
        data_dir: None,
    }
}

#[test]
fn mnist_from_idx_files_is_patched_and_learned() {
    let cache = tempfile::tempdir().unwrap();
    let data = mnist_cache(cache.path());
    let spec = TaskSpec::Mnist {
        source: MnistSource::Idx,
    };
    let task = spec.build(&data, Splits::only(EvalSplit::Test)).unwrap();
    let shape = task.shape();
    assert_eq!(
        (shape.seq_len, shape.input, shape.classes),
        (49, InputKind::Features { dim: 16 }, 10)
    );
    let (eval, name) = task.eval_set(None);
    assert_eq!(eval.inputs.size(), [200, 49, 16]);
    assert!(name.contains("200 examples"), "{name}");
    // The run will record the four cached files, each checked against the manifest's pin.
    let files = task.data_files();
    assert_eq!(files.len(), 4);
    for file in &files {
        let path = Path::new(&file.path);
        assert_eq!(path.parent(), Some(cache.path()));
        assert_eq!(
            file.check,
            DataCheck::Published(format!("sha256 {}", sha256(path)))
        );
    }
    // Pixels are scaled to [0, 1].
    assert!(
        eval.inputs.max().double_value(&[]) <= 1.0 && eval.inputs.min().double_value(&[]) >= 0.0
    );
    // MNIST has no validation split: 10% of the training images are held out for one.
    let with_validation = spec
        .build(
            &data,
            Splits {
                eval: EvalSplit::Test,
                validation: true,
            },
        )
        .unwrap();
    let (validation, name) = with_validation.validation_set(None).unwrap();
    assert!(name.contains("held out"), "{name}");
    assert_eq!(validation.inputs.size(), [60, 49, 16]);
    assert!(task.validation_set(None).is_none());
    let (on_validation, _) = spec
        .build(&data, Splits::only(EvalSplit::Validation))
        .unwrap()
        .eval_set(None);
    assert_eq!(validation.inputs.size(), on_validation.inputs.size());
    assert!(validation.inputs.equal(&on_validation.inputs));

    let mut run = common::tiny_spec(spec, 200, 3e-3, 0);
    run.eval_examples = None;
    let dir = tempfile::tempdir().unwrap();
    let run_dir = spec::run_dir::RunDir::prepare(dir.path(), &run, false).unwrap();
    let result = training::train::train(&run, &run_dir, &data, false).unwrap();
    assert!(
        result.test_accuracy > 0.9,
        "accuracy {}",
        result.test_accuracy
    );
}

#[test]
fn a_corrupt_cached_file_is_named_offline() {
    let cache = tempfile::tempdir().unwrap();
    let data = mnist_cache(cache.path());
    std::fs::write(
        cache.path().join("t10k-labels-idx1-ubyte.gz"),
        b"\x00\x00\x08\x01\x00\x00\x00\x09",
    )
    .unwrap();
    let err = TaskSpec::Mnist {
        source: MnistSource::Idx,
    }
    .build(&data, Splits::only(EvalSplit::Test))
    .unwrap_err();
    // The message with its causes, as `fpt` prints it.
    let err = format!("{:#}", anyhow::Error::from(err));
    assert!(err.contains("t10k-labels-idx1-ubyte.gz"), "{err}");
}

#[test]
fn generated_listops_becomes_fixed_length_token_ids() {
    let spec = TaskSpec::Listops {
        data: ListOpsData::Generated {
            seed: 1,
            train: 24,
            val: 6,
            test: 6,
            trees: None,
        },
        tokens: ListOpsTokens::PaperFaithful,
        max_tokens: None,
    };
    let task = spec
        .build(
            &DataContext::standard(true),
            Splits::only(EvalSplit::Validation),
        )
        .unwrap();
    let shape = task.shape();
    assert_eq!(
        (shape.seq_len, shape.input, shape.classes),
        (512, InputKind::Tokens { vocab: 15 }, 10)
    );
    let batch = task.train_batch(0, 0, 8);
    assert_eq!(batch.inputs.size(), [8, 512]);
    let max_id = batch.inputs.max().int64_value(&[]);
    assert!(
        (1..15).contains(&max_id),
        "ids must stay in the vocabulary, got {max_id}"
    );
    let (eval, name) = task.eval_set(None);
    assert_eq!(eval.len(), 6);
    assert!(name.contains("val split"), "{name}");
}

/// Output-only runs train the head on features cached once; the uncached path (the body
/// recomputed every step, in eval mode too) must give the same numbers, whether the steps
/// cover the 600 training images (150 steps of 32) or draw only some of them (10 steps:
/// 320 cached).
#[test]
fn output_only_on_cached_features_matches_the_uncached_path() {
    let cache = tempfile::tempdir().unwrap();
    let data = mnist_cache(cache.path());
    let task = TaskSpec::Mnist {
        source: MnistSource::Idx,
    };
    let spec = |steps: u64, cache_features: bool| spec::run::RunSpec {
        freeze: "output-only".parse().unwrap(),
        eval_examples: None,
        eval_every: 25,
        cache_features,
        ..common::tiny_spec(task, steps, 1e-2, 4)
    };
    let train = |spec: &spec::run::RunSpec| {
        let dir = tempfile::tempdir().unwrap();
        let run_dir = spec::run_dir::RunDir::prepare(dir.path(), spec, false).unwrap();
        let result = training::train::train(spec, &run_dir, &data, false).unwrap();
        (result, run_dir.read_metrics().unwrap())
    };
    for steps in [150, 10] {
        let (cached, cached_metrics) = train(&spec(steps, true));
        let (uncached, uncached_metrics) = train(&spec(steps, false));
        assert!(cached.cached_features && !uncached.cached_features);
        assert!(cached.feature_cache_seconds.is_some() && uncached.feature_cache_seconds.is_none());
        // Counted work: the head alone (4HC per example: 4 x 128 x 10 x 32 per step) against
        // a step through the whole frozen body.
        assert_eq!(cached.flops_per_step, Some(4.0 * 128.0 * 10.0 * 32.0));
        assert!(uncached.flops_per_step.unwrap() > 100.0 * cached.flops_per_step.unwrap());
        assert_eq!(
            cached.trainable_params,
            10 * 128 + 10,
            "only the head trains"
        );
        if steps == 150 {
            assert!(
                cached.test_accuracy > 0.5,
                "the head learns on frozen random features: {}",
                cached.test_accuracy
            );
        }
        assert_eq!(
            cached.test_accuracy, uncached.test_accuracy,
            "{steps} steps"
        );
        assert_eq!(cached_metrics.len(), uncached_metrics.len());
        for (a, b) in cached_metrics.iter().zip(&uncached_metrics) {
            assert_eq!(a.step, b.step);
            assert!((a.test_loss - b.test_loss).abs() < 1e-4, "{a:?} vs {b:?}");
            assert_eq!(a.train_accuracy, b.train_accuracy, "{steps} steps");
        }
    }
}

/// A learning-rate sweep's runs also measure the validation split (MNIST: 10% of the
/// training images, held out); the reference's sampled-batch estimate is flagged.
#[test]
fn validation_accuracy_and_the_sampled_estimate_are_recorded() {
    let cache = tempfile::tempdir().unwrap();
    let data = mnist_cache(cache.path());
    let spec = spec::run::RunSpec {
        record_validation: true,
        eval_sampled_batches: Some(2),
        eval_examples: None,
        ..common::tiny_spec(
            TaskSpec::Mnist {
                source: MnistSource::Idx,
            },
            100,
            3e-3,
            0,
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let run_dir = spec::run_dir::RunDir::prepare(dir.path(), &spec, false).unwrap();
    let result = training::train::train(&spec, &run_dir, &data, false).unwrap();
    let validation = result.validation_accuracy.expect("validation measured");
    assert!(validation > 0.5, "{validation}");
    assert!(result.sampled_eval);
    assert!(
        result.eval_split.contains("2 random batches of 32"),
        "{}",
        result.eval_split
    );
    // 64 sampled examples per estimate: accuracies are multiples of 1/64.
    let scaled = result.test_accuracy * 64.0;
    assert!(
        (scaled - scaled.round()).abs() < 1e-9,
        "{}",
        result.test_accuracy
    );
}
