//! One FPT training step (forward, backward, clipping, Adam, as `fpt train` takes it) on the
//! MNIST, CIFAR-10 and ListOps shapes for GPT-2 and MiniLM-L6, and the backbone's
//! eval-mode forward; random init and random inputs (a step costs the same as with
//! pretrained weights and real data). Samples are few: a GPT-2 step takes seconds on 2 cores.

use std::time::Duration;

use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode, Throughput,
};
use spec::model::{InitKind, ModelSource};
use spec::run::RunSpec;
use spec::task::TaskSpec;
use training::bench::StepRig;

/// (task, batch): the reference's micro-batch of 16 images; ListOps' 512 tokens per
/// example make 2 examples about as many tokens as 16 CIFAR-10 images.
const SHAPES: [(&str, usize); 3] = [("mnist", 16), ("cifar10", 16), ("listops", 2)];
const MODELS: [&str; 2] = ["gpt2", "minilm-l6"];

fn rig(model: &str, task: &str, batch: usize) -> (StepRig, u64) {
    let task = TaskSpec::from_name(task, None, None, None).expect("a built-in task");
    let tokens = task.shape().expect("shape known without data").seq_len as u64;
    let spec = RunSpec {
        init: InitKind::Random,
        batch_size: batch,
        ..RunSpec::reference(task, ModelSource::Named(model.into()))
    };
    let rig = StepRig::new(&spec, true).expect("a random-init model builds offline");
    (rig, tokens * batch as u64)
}

fn slow_group<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    group
}

fn training_step(c: &mut Criterion) {
    let mut group = slow_group(c, "fpt_step");
    for model in MODELS {
        for (task, batch) in SHAPES {
            let (mut rig, tokens) = rig(model, task, batch);
            group.throughput(Throughput::Elements(tokens));
            group.bench_function(format!("{model}/{task}/b{batch}"), |b| {
                b.iter(|| rig.step())
            });
        }
    }
    group.finish();
}

fn backbone_forward(c: &mut Criterion) {
    let mut group = slow_group(c, "forward_eval");
    for model in MODELS {
        let (rig, tokens) = rig(model, "cifar10", 16);
        group.throughput(Throughput::Elements(tokens));
        group.bench_function(format!("{model}/cifar10/b16"), |b| {
            b.iter(|| rig.forward_eval())
        });
    }
    group.finish();
}

criterion_group!(benches, training_step, backbone_forward);
criterion_main!(benches);
